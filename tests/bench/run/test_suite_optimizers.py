"""Suite files with any optax optimizer, fixed keywords and hyperparameter grids: parsing, the
errors (file, table, field), the CLI's one line, and the runner's rows per combination."""

from __future__ import annotations

import pytest

from bench import cli, runs
from bench.run import runner, suites
from tests.bench.run.minimal_suite import GOOD


def _write(tmp_path, text, name="t.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _variant(extra: str) -> str:
    return GOOD.replace('name = "batch"', 'name = "batch"\n' + extra)


def test_optax_names_tables_and_grids_become_entries(tmp_path):
    text = _variant(
        'optimizer = ["rmsprop", { name = "rmsprop", decay = 0.5 }, '
        '{ name = "momentum", momentum = 0.8, label = "heavy" }]\n'
    )
    suite = suites.load(str(_write(tmp_path, text)))
    assert [e.optimizer for e in suite.entries] == ["rmsprop", "rmsprop-decay0.5", "heavy"]
    args = [e.sweep_args()["optimizer"] for e in suite.entries]
    assert args == [
        "rmsprop",
        {"name": "rmsprop", "decay": 0.5},
        {"name": "momentum", "momentum": 0.8},
    ]
    assert [e.key for e in suite.entries][1] == "p__batch__rmsprop-decay0.5"
    suite.validate()
    grid = suites.load(
        str(
            _write(
                tmp_path,
                _variant('optimizer = "momentum"\nhyperparams = { momentum = [0.5, 0.9] }\n'),
            )
        )
    )
    (e,) = grid.entries
    assert e.sweep_args()["hyperparams"] == {"momentum": [0.5, 0.9]}
    grid.validate()


def test_entries_without_the_new_fields_keep_their_fingerprint():
    # resumed runs of unchanged suites keep their parts: unset settings stay out of the hash
    e = suites.load("smoke").entries[0]
    assert "hyperparams" not in e.sweep_args() and e.sweep_args()["optimizer"] == "sgd"
    assert e.fingerprint() == e.__class__(**{**e.__dict__}).fingerprint()
    assert "optimizer_table" not in e.settings


BAD = [
    (
        _variant('optimizer = "rmsprp"'),
        r"variants\[0\] \(batch\): unknown optimizer 'rmsprp'.*'rmsprop'",
    ),
    (
        _variant('optimizer = "scale_by_adam"'),
        r"variants\[0\] \(batch\): optimizer 'scale_by_adam' .*first parameter",
    ),
    (
        _variant("optimizer = { decay = 0.5 }"),
        r"variants\[0\] \(batch\): an optimizer table needs name",
    ),
    (
        _variant('optimizer = { name = "rmsprop", decai = 0.5 }'),
        r"optimizer: .*no keyword 'decai'.*'decay'",
    ),
    (_variant('optimizer = { name = "rmsprop", decay = "x y" }'), r"makes no label.*label = "),
    (
        _variant('optimizer = ["rmsprop", { name = "rmsprop", label = "rmsprop" }]'),
        r"lists 'rmsprop' twice",
    ),
    (_variant("hyperparams = [0.5]"), r"variants\[0\] \(batch\): hyperparams must be a table"),
    (_variant("hyperparams = { momentum = [] }"), r"hyperparams\.momentum must be .*non-empty"),
    (_variant('hyperparams = { momentum = ["a"] }'), r"hyperparams\.momentum must hold numbers"),
    (_variant("hyperparams = { momentum = [nan] }"), r"hyperparams\.momentum must be finite"),
    (
        _variant("hyperparams = { momentum = [0.5] }"),
        r"problems\[0\] \(p\) x variant 'batch': hyperparams: optimizer 'sgd' takes no keyword",
    ),
    (
        _variant('optimizer = { name = "rmsprop", decay = 0.5 }\nhyperparams = { decay = [0.9] }'),
        r"x variant 'batch': hyperparams\['decay'\] is also a fixed keyword",
    ),
]


@pytest.mark.parametrize(("text", "match"), BAD)
def test_bad_optimizers_and_grids_name_file_table_and_field(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(suites.SuiteError, match=match) as e:
        suites.load(str(path))
    msg = str(e.value)
    assert msg.startswith("t.toml: ") and "\n" not in msg


def test_what_needs_the_data_is_refused_by_validate(tmp_path):
    # the keyword exists, but optax needs it as a Python value: found on the problem's params
    text = _variant(
        'optimizer = "adafactor"\nhyperparams = { min_dim_size_to_factor = [1, 2] }'
    ).replace('source = "linear"\nn = 16\nd = 2', 'source = "softmax"\nn = 16\nd = 4\nclasses = 4')
    suite = suites.load(str(_write(tmp_path, text)))
    with pytest.raises(
        suites.SuiteError, match=r"t\.toml: problems\[0\] \(p\) x variant 'batch': .*fixed keyword"
    ):
        suite.validate()


def test_the_cli_says_a_bad_optimizer_in_one_line_and_exits_2(tmp_path, capsys):
    path = _write(tmp_path, _variant('optimizer = "rmsprp"'))
    assert cli.main(["run", "--suite", str(path), "--no-cache", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        "error: t.toml: variants[0] (batch): unknown optimizer"
    )


def test_a_grid_runs_in_one_entry_with_a_row_per_combination(tmp_path):
    text = _variant(
        'optimizer = "rmsprop"\nhyperparams = { decay = [0.5, 0.9] }\n'
        "lrs = [0.01, 0.1]\nseeds = [0, 1]\n"
    )
    suite = suites.load(str(_write(tmp_path, text)))
    run_dir = runner.run_suite(
        suite, tmp_path / "runs", repeats=1, progress=False, log=lambda s: None
    )
    lanes = runs.read_lanes(run_dir)
    assert len(lanes) == 8  # seeds x lrs x decays, one kernel
    assert set(lanes["optimizer"]) == {"rmsprop[decay=0.5]", "rmsprop[decay=0.9]"}
    assert (
        lanes["decay"].map({0.5: "rmsprop[decay=0.5]", 0.9: "rmsprop[decay=0.9]"})
        == lanes["optimizer"]
    ).all()
    assert set(runs.entry_keys(lanes)) == {"p__batch__rmsprop"}
    hits, curves = runs.read_hits(run_dir), runs.read_curves(run_dir)
    for frame in (hits, curves):
        assert "decay" in frame.columns
        assert (
            frame["optimizer"] == "rmsprop[decay=" + frame["decay"].map("{:g}".format) + "]"
        ).all()
    # each combination is summed up on its own (its own best lr)
    assert len(runner.summary(lanes, hits).splitlines()) == 2


def test_theory_and_baselines_go_by_what_runs_not_by_the_label(tmp_path):
    text = _variant('optimizer = [{ name = "rmsprop", label = "sgd" }, "momentum"]')
    disguised, momentum = suites.load(str(_write(tmp_path, text))).entries
    assert (disguised.optimizer, disguised.plain_sgd) == ("sgd", False)
    assert not momentum.plain_sgd
    (table,) = suites.load(str(_write(tmp_path, _variant('optimizer = { name = "sgd" }')))).entries
    assert (table.optimizer, table.plain_sgd) == ("sgd", True)
