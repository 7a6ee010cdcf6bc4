"""The shipped suites say what they promise; a bad suite file is one line and exit code 2."""

import pytest

from bench import cli
from bench.run import suites
from tests.bench.run.minimal_suite import GOOD


@pytest.mark.parametrize("name", suites.available())
def test_shipped_suites_parse(name):
    s = suites.load(name)
    assert s.entries
    for e in s.entries:
        assert e.settings["lrs"] and all(lr > 0 for lr in e.settings["lrs"])


CONDITIONED = [f"{k}-2048x32-cond{c}" for k in ("linear", "logistic") for c in ("1e2", "1e4")]


def test_default_suite_covers_every_variant_on_every_problem():
    s = suites.load("default")
    descents = {(e.problem, e.descent) for e in s.entries}
    problems = {e.problem for e in s.entries}
    assert problems == {*CONDITIONED, "softmax-2048x32x5", "diabetes", "breast_cancer", "digits"}
    for p in problems:
        assert {k for q, k in descents if q == p} == {"batch", "stochastic", "mini-batch"}
    for e in s.entries:  # the whole ladder is measured: no lane stops above its tightest rung
        assert list(e.settings["targets"]) == [1e-1, 1e-2, 1e-3, 1e-4]
        assert e.settings["tol"] == 1e-4


def test_default_suite_compares_constant_and_decaying_rates_on_conditioned_problems():
    s = suites.load("default")
    for p in CONDITIONED:
        seen = {
            (e.descent, e.settings.get("schedule") or "constant")
            for e in s.entries
            if e.problem == p
        }
        assert {
            ("stochastic", "constant"),
            ("stochastic", "inverse_time"),
            ("mini-batch", "constant"),
            ("mini-batch", "cosine"),
        } <= seen, p


def test_perf_suite_matches_the_standard_workloads():
    s = {e.problem: e for e in suites.load("perf").entries}
    want = {
        "minibatch": (32, 5, 1e-3, 1.0),
        "sgd": (1, 2, 1e-4, 1e-1),
        "fullbatch": (None, 100, 1e-3, 1.0),
        "logistic-minibatch": (64, 5, 1e-3, 1.0),
    }
    for name, (b, epochs, lo, hi) in want.items():
        e = s[name]
        assert (e.batch_size, e.settings["epochs"]) == (b, epochs)
        lrs = e.settings["lrs"]
        assert len(lrs) == 64 and lrs[0] == pytest.approx(lo) and lrs[-1] == pytest.approx(hi)
        assert e.settings["seeds"] == [0]


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD + "speed = 3\n", "unknown field 'speed'"),
        (GOOD.replace('source = "linear"', 'source = "parquet"'), "unknown source 'parquet'"),
        (GOOD.replace("n = 16\n", ""), "needs field 'n'"),
        (GOOD.replace("lrs = [0.1]", "lrs = [-0.1]"), "learning rate must be a number > 0"),
        (GOOD.replace("epochs = 1", "epochs = 0"), "epochs must be an int >= 1"),
        (GOOD + 'optimizer = "rmsprp"\n', "unknown optimizer 'rmsprp'"),
        (GOOD.replace('name = "p"', 'name = "p"\nvariants = ["sgd"]'), "unknown variant 'sgd'"),
        (GOOD + 'baselines = ["numpy"]\n', "baselines need early_stop = false"),
        (GOOD + 'measure = "gradient"\n', "measure must be one of loss, grad_norm"),
        (
            GOOD + 'measure = "grad_norm"\nearly_stop = false\nbaselines = ["numpy"]\n',
            'baselines need measure = "loss"',
        ),
        (GOOD.replace("[defaults]", "[defaults"), "malformed TOML"),
        (GOOD + 'batch_size = "half"\n', 'batch_size must be "all"'),
        (GOOD.replace("[defaults]", "[defaults]\nseeds = [0.5]"), "seeds must be a non-empty list"),
        (GOOD.replace("[defaults]", '[defaults]\ntol = "x"'), "tol must be a number"),
        (GOOD.replace("[defaults]", "[defaults]\nshuffle = 1"), "shuffle must be true or false"),
        (GOOD.replace("lrs = [0.1]", "lrs = {}"), "lrs.geomspace must be"),
        (GOOD.replace("lrs = [0.1]", 'lrs = { geomspace = ["a", 1, 3] }'), "geomspace must be"),
        (GOOD.replace("[defaults]", "[defaults]\noptimizer = 3"), "optimizer must be a name"),
        (GOOD.replace("n = 16", 'n = "a"'), "n must be an int"),
        (GOOD.replace('name = "p"', 'name = "a/b"'), "name must be letters"),
        (GOOD.replace("d = 2", 'd = 2\ndtype = "int32"'), "dtype must be"),
        (GOOD.replace("[defaults]", '[defaults]\ninit = "a"'), "init must be a number"),
        (
            "problems = 3\n" + GOOD[GOOD.index("[defaults]") : GOOD.index("[[problems]]")],
            "arrays of tables",
        ),
    ],
)
def test_bad_suite_is_one_line_and_exit_code_2(tmp_path, capsys, text, message):
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(suites.SuiteError, match=message):
        suites.load(str(path))
    assert cli.main(["run", "--suite", str(path), "--out", str(tmp_path), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert message.split("'")[0] in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
