"""bench.run.suites: the schema, its error messages, Suite.validate and the new run settings."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import gdjax
from bench.perf import loops
from bench.run import suites
from tests.bench.run.minimal_suite import GOOD


def _write(tmp_path, text, name="t.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _defaults(extra: str) -> str:
    return GOOD.replace("[defaults]", "[defaults]\n" + extra)


def _problem(extra: str) -> str:
    return GOOD.replace('name = "p"', 'name = "p"\n' + extra)


def _source(body: str) -> str:
    return GOOD.replace('source = "linear"\nn = 16\nd = 2', body)


# Each: (document, the whole location and field the message must name). Checked by load.
BAD_DOCUMENTS = [
    # wrong type
    (_defaults('tol = "x"'), r"t\.toml: \[defaults\]: tol must be a number in \(0, 1\)"),
    (_defaults("tol = true"), r"\[defaults\]: tol must be a number"),
    (_defaults("epochs = 1.5").replace("epochs = 1\n", ""), r"epochs must be an int >= 1"),
    (_defaults("shuffle = 1"), r"\[defaults\]: shuffle must be true or false, got 1"),
    (_defaults("early_stop = 0"), r"early_stop must be true or false, got 0"),
    (_defaults("seeds = [0.5]"), r"seeds must be a non-empty list of ints"),
    (_defaults('seeds = ["0"]'), r"seeds must be a non-empty list of ints"),
    (_defaults('seeds = "0"'), r"seeds must be a non-empty list of ints"),
    (_defaults('init = "a"'), r"init must be a number"),
    (_defaults("init = 1979-05-27"), r"init must be a number"),
    (_defaults("optimizer = 3"), r"optimizer must be a name"),
    (_defaults("optimizer = []"), r"optimizer must be a name, a table .* or a non-empty list"),
    (_defaults("baselines = 3"), r"\[defaults\]: baselines must be a list of names"),
    (_defaults('targets = "0.1"'), r"targets must be a non-empty list"),
    (_defaults("targets = 0.1"), r"targets must be a non-empty list"),
    (_defaults("schedule = 1"), r"schedule must be a string"),
    (_defaults("eval_every = 2.0"), r"eval_every must be an int >= 1"),
    (_defaults("defaults = 1"), r"\[defaults\]: unknown field 'defaults'"),
    (GOOD.replace("[defaults]\n", "defaults = 3\n[x]\n"), r"unknown field 'x'|defaults"),
    (GOOD.replace("n = 16", 'n = "a"'), r"problems\[0\] \(p\): n must be an int >= 1, got 'a'"),
    (GOOD.replace("n = 16", "n = 16.0"), r"n must be an int"),
    (GOOD.replace("n = 16", "n = true"), r"n must be an int"),
    (_problem("intercept = 1"), r"problems\[0\] \(p\): intercept must be true or false"),
    (_problem('noise = "loud"'), r"noise must be a number >= 0"),
    (_problem("dtype = 32"), r'dtype must be "float32" or "float64"'),
    (_problem('dtype = "int32"'), r'dtype must be "float32" or "float64"'),
    (_source('source = "csv"\npath = 3\ntarget = "y"'), r"path must be a file path"),
    (_source('source = "csv"\npath = "a.csv"\ntarget = 1.5'), r"target must be a column name"),
    (_source('source = "quadratic"\na = "1"\nb = 0\nc = 0'), r"a must be a number > 0"),
    (GOOD.replace('name = "batch"', "name = 3"), r"variants\[0\]: name must be letters"),
    (GOOD + "batch_size = 2.0\n", r'batch_size must be "all" or an int >= 1'),
    (GOOD + 'batch_size = "half"\n', r'variants\[0\] \(batch\): batch_size must be "all"'),
    ("problems = 3\n[defaults]\nepochs = 1\nlrs = [0.1]\n", r"must be arrays of tables"),
    ("problems = [1, 2]\n", r"must be arrays of tables"),
    (GOOD.replace('name = "t"', "name = 5"), r"t\.toml: name must be letters"),
    (GOOD.replace('name = "t"', 'description = 5\nname = "t"'), r"description must be a string"),
    # out of range
    (_defaults("tol = 0.0"), r"\[defaults\]: tol must be a number in \(0, 1\)"),
    (_defaults("tol = 1.0"), r"tol must be a number in \(0, 1\)"),
    (_defaults("tol = -1e-3"), r"tol must be a number in \(0, 1\)"),
    (_defaults("tol = inf"), r"tol must be a number in \(0, 1\)"),
    (_defaults("tol = nan"), r"tol must be a number in \(0, 1\)"),
    (GOOD.replace("epochs = 1", "epochs = 0"), r"epochs must be an int >= 1"),
    (GOOD.replace("lrs = [0.1]", "lrs = [-0.1]"), r"every learning rate must be a number > 0"),
    (GOOD.replace("lrs = [0.1]", "lrs = [0.1, nan]"), r"every learning rate must be a number > 0"),
    (GOOD.replace("lrs = [0.1]", "lrs = []"), r"lrs must be a non-empty list"),
    (GOOD.replace("lrs = [0.1]", "lrs = {}"), r"lrs\.geomspace must be"),
    (GOOD.replace("lrs = [0.1]", 'lrs = { geomspace = ["a", 1, 3] }'), r"geomspace must be"),
    (GOOD.replace("lrs = [0.1]", "lrs = { geomspace = [0, 1, 3] }"), r"geomspace must be"),
    (GOOD.replace("lrs = [0.1]", "lrs = { geomspace = [1e-3, 1, 10000000000] }"), r"100000"),
    (GOOD.replace("lrs = [0.1]", "lrs = { geomspace = [1e-3, 1, 3], x = 1 }"), r"geomspace"),
    (_defaults("seeds = []"), r"seeds must be a non-empty list"),
    (_defaults("seeds = [-1]"), r"seeds must be a non-empty list of ints in \[0, 2\*\*32\)"),
    (_defaults("seeds = [4294967296]"), r"seeds must be"),
    (_defaults("divergence_factor = 0"), r"divergence_factor must be a number > 0"),
    (_defaults("repeats = 0"), r"repeats must be an int >= 1"),
    (_defaults("baseline_lanes = -2"), r"baseline_lanes must be an int >= 1"),
    (_defaults("targets = []"), r"targets must be a non-empty list of distinct numbers"),
    (_defaults("targets = [0.1, 1.5]"), r"targets must be"),
    (_defaults("targets = [0.1, 0.1]"), r"targets must be .*distinct"),
    (_defaults("init = inf"), r"init must be a number"),
    (GOOD.replace("n = 16", "n = 0"), r"n must be an int >= 1"),
    (_source('source = "softmax"\nn = 16\nd = 2\nclasses = 1'), r"classes must be an int in"),
    (_source('source = "softmax"\nn = 16\nd = 2\nclasses = 10001'), r"classes must be an int in"),
    (_problem("seed = -1"), r"seed must be an int in \[0, 2\*\*32\)"),
    (_source('source = "quadratic"\na = 0\nb = 0\nc = 0'), r"a must be a number > 0"),
    (_source('source = "quadratic"\na = 1\nb = inf\nc = 0'), r"b must be a number"),
    (GOOD + "batch_size = 0\n", r'batch_size must be "all" or an int >= 1'),
    # bad names and choices
    (GOOD.replace('name = "t"', 'name = "a/b"'), r"t\.toml: name must be letters"),
    (GOOD.replace('name = "t"', 'name = ".."'), r"name must be letters"),
    (GOOD.replace('name = "t"', 'name = ".hidden"'), r"name must be letters"),
    (GOOD.replace('name = "t"', 'name = "a..b"'), r"name must be letters"),
    (GOOD.replace('name = "t"', 'name = ""'), r"name must be letters"),
    (GOOD.replace('name = "t"', f'name = "{"a" * 101}"'), r"name must be letters"),
    (GOOD.replace('name = "p"', 'name = "a/b"'), r"problems\[0\]: name must be letters"),
    (GOOD.replace('name = "batch"', 'name = "../b"'), r"variants\[0\]: name must be letters"),
    (GOOD.replace('source = "linear"', 'source = "parquet"'), r"unknown source 'parquet'"),
    (GOOD.replace('source = "linear"', "source = 1"), r"unknown source 1"),
    (_defaults('optimizer = "rmsprp"'), r"\[defaults\]: unknown optimizer 'rmsprp'.*'rmsprop'"),
    (_defaults('optimizer = ["sgd", "x"]'), r"unknown optimizer 'x'"),
    (_defaults('baselines = ["gpu"]'), r"unknown baseline 'gpu'"),
    (_defaults('schedule = "linear"'), r"unknown schedule 'linear'; choose one of constant"),
    (_source('source = "dataset"\ndataset = "iris"'), r"unknown dataset 'iris'"),
    (_source('source = "textbook"\nsetup = "y3x"'), r"unknown textbook setup 'y3x'"),
    (_source('source = "csv"\npath = "a.csv"\ntarget = 0\nkind = "poisson"'), r"unknown kind"),
    (_problem('variants = ["sgd"]'), r"problems\[0\] \(p\): unknown variant 'sgd'"),
    (_problem("variants = []"), r"variants must be a non-empty list of distinct variant names"),
    (GOOD + '[[variants]]\nname = "batch"\n', r"variants\[1\] \(batch\): duplicate variant"),
    # entry keys (problem__variant__optimizer) unique by construction: no label holds "__",
    # and no list names an optimizer or a variant twice
    (GOOD.replace('name = "p"', 'name = "a__b"'), r"problems\[0\]: name must be .*'__'"),
    (GOOD.replace('name = "batch"', 'name = "b__c"'), r"variants\[0\]: name must be .*'__'"),
    (GOOD.replace('name = "t"', 'name = "t__u"'), r"t\.toml: name must be .*'__'"),
    (GOOD.replace('name = "p"', 'name = "a_"'), r"problems\[0\]: name must be .*trailing '_'"),
    (GOOD.replace('name = "batch"', 'name = "_b"'), r"variants\[0\]: name must be .*'_'"),
    (_defaults('optimizer = ["sgd", "adam", "sgd"]'), r"optimizer lists 'sgd' twice"),
    (_problem('variants = ["batch", "batch"]'), r"variants must be .*distinct"),
    (
        GOOD.replace(
            "[[variants]]", '[[problems]]\nname = "p"\nsource = "linear"\nn=4\nd=1\n[[variants]]'
        ),
        r"problems\[1\] \(p\): duplicate problem name 'p'",
    ),
    # names alike but for case share a parts file on a case-insensitive disk (macOS, Windows)
    (
        GOOD.replace(
            "[[variants]]", '[[problems]]\nname = "P"\nsource = "linear"\nn=4\nd=1\n[[variants]]'
        ),
        r"problems\[1\] \(P\): duplicate problem name 'P' \(as 'p'\)",
    ),
    (
        GOOD + '[[variants]]\nname = "Batch"\nbatch_size = 1\n',
        r"variants\[1\] \(Batch\): duplicate variant name 'Batch' \(as 'batch'\)",
    ),
    # missing and unknown fields, structure
    (GOOD + "speed = 3\n", r"variants\[0\] \(batch\): unknown field 'speed'"),
    (_problem("l2 = 0.1"), r"problems\[0\] \(p\): unknown field 'l2' for source 'linear'"),
    (GOOD.replace("n = 16\n", ""), r"problems\[0\] \(p\): source 'linear' needs field 'n'"),
    (GOOD.replace('source = "linear"\n', ""), r"problems\[0\] \(p\): missing field 'source'"),
    (GOOD.replace('name = "p"\n', ""), r"problems\[0\]: missing field 'name'"),
    (GOOD.replace('name = "batch"\n', "batch_size = 1\n"), r"variants\[0\]: missing field"),
    (GOOD.replace("epochs = 1\n", ""), r"x variant 'batch': needs epochs"),
    (GOOD.replace("lrs = [0.1]\n", ""), r"x variant 'batch': needs lrs"),
    (_defaults('baselines = ["numpy"]'), r"baselines need early_stop = false"),
    (GOOD[: GOOD.index("[[problems]]")], r"missing field 'problems'"),
    (GOOD[: GOOD.index("[[variants]]")], r"no entries"),
    (GOOD.replace("[defaults]", "[defaults"), r"t\.toml: malformed TOML"),
    (GOOD + "name = 'x'\n", r"malformed TOML"),
    # the csv source's own fields
    (
        _source('source = "csv"\npath = "d.csv"\ntarget = "y"\ndelimiter = ";;"'),
        r"t\.toml: problems\[0\] \(p\): delimiter must be one character other than a quote",
    ),
    (
        _source('source = "csv"\npath = "d.csv"\ntarget = "y"\ndelimiter = "\\n"'),
        r"problems\[0\] \(p\): delimiter must be one character",
    ),
    (
        _source('source = "csv"\npath = "d.csv"\ntarget = "y"\nintercept = "no"'),
        r"problems\[0\] \(p\): intercept must be true or false",
    ),
    (
        _source('source = "csv"\npath = "d.csv"\ntarget = "y"\nfeatures = []'),
        r"problems\[0\] \(p\): features must be a non-empty list of distinct column names",
    ),
    (
        _source('source = "csv"\npath = "d.csv"\ntarget = "y"\nfeatures = ["a", "a"]'),
        r"features must be a non-empty list of distinct",
    ),
    (
        _source('source = "csv"\npath = "d.csv"\ntarget = "y"\nfeatures = "a"'),
        r"features must be a non-empty list",
    ),
    (
        _source('source = "csv"\npath = "d.csv"\ntarget = "y"\nfeatures = [1.5]'),
        r"features must be a non-empty list",
    ),
]


@pytest.mark.parametrize(("text", "match"), BAD_DOCUMENTS)
def test_bad_document_names_file_table_and_field(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(suites.SuiteError, match=match) as e:
        suites.load(str(path))
    msg = str(e.value)
    assert msg.startswith("t.toml: ") and "\n" not in msg
    assert e.value.path == path


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "t.toml"
    path.write_bytes(
        GOOD.replace('name = "t"', 'name = "t"\ndescription = "caf\xe9"').encode("latin-1")
    )
    with pytest.raises(suites.SuiteError, match=r"t\.toml: not UTF-8 text"):
        suites.load(str(path))


def test_file_name_is_the_default_name_and_must_be_a_label(tmp_path):
    text = GOOD.replace('name = "t"\n', "")
    assert suites.load(str(_write(tmp_path, text, "mine.toml"))).name == "mine"
    with pytest.raises(suites.SuiteError, match=r"set name = \.\.\..*name must be letters"):
        suites.load(str(_write(tmp_path, text, "my suite.toml")))


# Each: (document, message). load accepts them; validate, which builds the data, refuses.
BAD_DATA = [
    (
        GOOD + "batch_size = 17\n",
        r"problems\[0\] \(p\) x variant 'batch': batch_size must be <= n = 16",
    ),
    (
        _source('source = "csv"\npath = "missing.csv"\ntarget = "y"'),
        r"problems\[0\] \(p\): .*missing\.csv",
    ),
    (
        _source('source = "csv"\npath = "bad.csv"\ntarget = "y"'),
        r"bad\.csv line 3, column 'y': 'x'",
    ),
    (
        _source('source = "csv"\npath = "latin.csv"\ntarget = "y"'),
        r"latin\.csv line 2: .*encoding=",
    ),
    (_source('source = "csv"\npath = "good.csv"\ntarget = "z"'), r"no column named target='z'"),
    (
        _source('source = "csv"\npath = "good.csv"\ntarget = "y"\nfeatures = ["w"]'),
        r"problems\[0\] \(p\): .*good\.csv: no column named features column 'w'",
    ),
    (
        _source('source = "csv"\npath = "good.csv"\ntarget = "y"\nfeatures = ["x", "y"]'),
        r"good\.csv: features include the target, column 'y'",
    ),
    (_source('source = "csv"\npath = "good.csv"\ntarget = "y"\nkind = "logistic"'), r"0 or 1"),
    (GOOD.replace("lrs = [0.1]", "lrs = [1e-50]"), r"x variant 'batch': lr 1e-50 underflows"),
    (GOOD.replace("lrs = [0.1]", "lrs = [1e39]"), r"x variant 'batch': lr 1e\+39 overflows"),
    (_defaults("init = 1e39"), r"init 1e\+39 overflows"),
    (GOOD.replace("epochs = 1", "epochs = 2000000000") + "batch_size = 1\n", r"int32"),
    (GOOD.replace("n = 16", "n = 100000000000"), r"GiB"),
    (
        _defaults("seeds = [0, 1, 2, 3]").replace("epochs = 1", "epochs = 1000000000")
        + "batch_size = 8\n",
        r"the sampling plan of shape \(2000000000, 4, 8\) in int32 needs 238\.4 GiB",
    ),
    (
        GOOD.replace("lrs = [0.1]", "lrs = { geomspace = [1e-3, 1, 100000] }")
        .replace("[defaults]", "[defaults]\nseeds = " + str(list(range(4000))))
        .replace("d = 2", "d = 1000"),
        r"lanes .* GiB",
    ),
]


@pytest.mark.parametrize(("text", "match"), BAD_DATA)
def test_validate_refuses_bad_data_before_any_entry_runs(tmp_path, text, match):
    if "1e39" in text and jax.config.jax_enable_x64:
        pytest.skip("overflow is float32's")
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n3,x\n")
    (tmp_path / "good.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "latin.csv").write_bytes("x,y\n1,caf\xe9\n".encode("latin-1"))
    suite = suites.load(str(_write(tmp_path, text)))
    with pytest.raises(suites.SuiteError, match=r"^t\.toml: .*" + match):
        suite.validate()


def test_validate_refuses_every_size_that_build_refuses(tmp_path, monkeypatch):
    # validate once sized the lanes alone: the chunk losses of exact monitoring and the
    # rotated copy of the design went unchecked until the entry's own build, mid-run
    text = GOOD.replace("n = 16", "n = 4096").replace("d = 2", "d = 31") + "batch_size = 1\n"
    suite = suites.load(str(_write(tmp_path, text)))
    (entry,) = suite.entries
    problem = suite.builders["p"]()
    # 3 MiB: the two float64 copies of the rotated design take 2 MiB, over half of it
    monkeypatch.setattr(gdjax.memory, "_machine_bytes", lambda: 3 * 2**20)
    with pytest.raises(ValueError, match="the data rotated into the eigenbasis") as built:
        entry.kernel(problem)
    with pytest.raises(suites.SuiteError, match="the data rotated into the eigenbasis") as checked:
        suite.validate()
    assert str(built.value) in str(checked.value)
    # the lanes: their curves, and with exact monitoring a chunk of losses and the crossings
    p = gdjax.problems.make_linear(256, 4)
    evals = gdjax._kernel.config.DEFAULT_EVALS + 1
    curves = gdjax.memory.check_lanes(128, 5, evals, np.float32)  # larger than the data
    monkeypatch.setattr(gdjax.memory, "_machine_bytes", lambda: 2 * curves)
    args = dict(lrs=np.geomspace(1e-3, 1, 64), seeds=[0, 1], epochs=64)
    gdjax.check(p, **args, exact=False)  # the curves alone fit
    with pytest.raises(ValueError, match=r"128 lanes x \(\d x 5 parameters \+ 156 evaluations"):
        gdjax.check(p, **args)  # 129 points, 16 losses a chunk, 2 x 4 + 3 crossings
    text = (
        _defaults("seeds = [0, 1]")
        .replace("epochs = 1", "epochs = 64")
        .replace("lrs = [0.1]", "lrs = { geomspace = [1e-3, 1, 64] }")
        .replace("n = 16", "n = 256")
        .replace("d = 2", "d = 4")
    )
    suite = suites.load(str(_write(tmp_path, text)))
    with pytest.raises(suites.SuiteError, match=r"128 lanes"):
        suite.validate()


@pytest.mark.parametrize("name", suites.available())
def test_shipped_suites_validate(name):
    suites.load(name).validate(unsupported=loops.unsupported)  # as bench run validates


def test_the_perf_suite_has_a_custom_loss_with_every_baseline():
    suite = suites.load("perf")
    (entry,) = [e for e in suite.entries if e.problem == "mlp"]
    problem = suite.builders["mlp"]()
    assert problem.kind == "custom" and not problem.per_seed_start
    # every baseline but scikit-learn's, which fits linear models only (the sgd workload's)
    every = set(suites.BASELINES) - {"sklearn"}
    assert entry.plain_sgd and set(entry.settings["baselines"]) == every
    assert all(loops.unsupported(problem, b) is None for b in every)
    (sgd,) = [e for e in suite.entries if e.problem == "sgd"]
    assert set(sgd.settings["baselines"]) == set(suites.BASELINES)


def test_csv_path_is_relative_to_the_suite_file(tmp_path, monkeypatch):
    sub = tmp_path / "suites"
    sub.mkdir()
    (sub / "data.csv").write_bytes("x,y\n1,2\n2,4.5\n3,5\n".encode("cp1252"))
    text = _source('source = "csv"\npath = "data.csv"\ntarget = "y"\nencoding = "cp1252"')
    monkeypatch.chdir(tmp_path)  # not the suite's folder
    suite = suites.load(str(_write(sub, text)))
    suite.validate()
    assert suite.builders["p"]().n == 3


def test_targets_and_schedule_reach_build_only_when_set(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(gdjax, "build", lambda problem, **kw: seen.append(kw))
    plain = suites.load(str(_write(tmp_path, GOOD))).entries[0]
    plain.kernel(None)
    assert "targets" not in seen[-1] and "schedule" not in seen[-1]
    text = _defaults('targets = [1e-3, 0.1, 1e-2]\nschedule = "cosine"')
    entry = suites.load(str(_write(tmp_path, text))).entries[0]
    entry.kernel(None)
    assert seen[-1]["targets"] == [0.1, 1e-2, 1e-3] and seen[-1]["schedule"] == "cosine"
    assert entry.fingerprint() != plain.fingerprint()


def test_fingerprint_of_a_suite_without_the_new_settings_is_unchanged():
    # the fingerprint a resumed run compares against: adding targets/schedule to the
    # settings must not make every finished entry of an older run look different
    e = suites.Entry("t", "p", "v", None, "sgd", {"lrs": [0.1], "targets": None, "schedule": None})
    old = suites.Entry("t", "p", "v", None, "sgd", {"lrs": [0.1]})
    assert e.fingerprint() == old.fingerprint()


def test_settings_merge_and_locations(tmp_path):
    text = _defaults("tol = 0.5\nseeds = [1, 2]") + "tol = 0.25\n"
    text = text.replace('name = "p"', 'name = "p"\ntol = 0.125')
    e = suites.load(str(_write(tmp_path, text))).entries[0]
    assert e.settings["tol"] == 0.125 and e.settings["seeds"] == [1, 2]
    assert e.settings["schedule"] is None and e.settings["targets"] is None


@pytest.mark.parametrize(
    "name, ok",
    [
        ("linear-4096x32", True),
        ("a.b_c-1", True),
        ("a/b", False),
        ("..", False),
        (".x", False),
        ("a..b", False),
        ("a b", False),
        ("", False),
        ("\u00e9", False),
    ],
)
def test_label(name, ok):
    if ok:
        assert suites.label(name) == name
    else:
        with pytest.raises(ValueError, match="is not a label"):
            suites.label(name)


@pytest.mark.parametrize("source", ["linear", "logistic", "softmax"])
def test_cond_reaches_the_synthetic_problem(tmp_path, source):
    """``cond = K`` builds the problem gdjax.problems.make_* builds with cond=K."""
    text = GOOD.replace('source = "linear"', f'source = "{source}"\ncond = 100.0')
    suite = suites.load(str(_write(tmp_path, text)))
    made = suite.builders["p"]()
    make = getattr(gdjax.problems, f"make_{source}")
    want = make(16, 2, cond=100.0) if source != "softmax" else make(16, 2, 3, cond=100.0)
    assert made.curvature() == pytest.approx(want.curvature())
    if source == "linear":
        L, mu = made.curvature()
        assert L / mu == pytest.approx(100.0)


def test_cond_needs_more_rows_than_columns(tmp_path):
    text = GOOD.replace("n = 16", "n = 2\ncond = 10.0")
    with pytest.raises(suites.SuiteError, match=r"cond needs n >= d \+ 1"):
        suites.load(str(_write(tmp_path, text))).validate()
    with pytest.raises(suites.SuiteError, match="cond must be a number >= 1"):
        suites.load(str(_write(tmp_path, GOOD.replace("n = 16", "n = 16\ncond = 0.5"))))


# names where a piece of text hides in other names: what a substring match would confuse
ONLY_SUITE = """
name = "o"
[defaults]
epochs = 1
lrs = [0.1]
optimizer = ["sgd", "nesterov"]
[[problems]]
name = "linear"
source = "linear"
n = 16
d = 2
[[problems]]
name = "linear-sgd"
source = "linear"
n = 16
d = 2
[[variants]]
name = "batch"
[[variants]]
name = "minibatch"
batch_size = 4
"""


@pytest.mark.parametrize(
    ("only", "keys"),
    [
        ("sgd", ["linear__batch__sgd", "linear__minibatch__sgd", "linear-sgd__batch__sgd",
                 "linear-sgd__minibatch__sgd"]),
        ("batch", ["linear__batch__sgd", "linear__batch__nesterov", "linear-sgd__batch__sgd",
                   "linear-sgd__batch__nesterov"]),
        ("linear__batch", ["linear__batch__sgd", "linear__batch__nesterov"]),
        ("batch__sgd", ["linear__batch__sgd", "linear-sgd__batch__sgd"]),
        ("linear-sgd__minibatch__nesterov", ["linear-sgd__minibatch__nesterov"]),
        ("*-sgd__*batch", ["linear-sgd__batch__sgd", "linear-sgd__batch__nesterov",
                           "linear-sgd__minibatch__sgd", "linear-sgd__minibatch__nesterov"]),
        (None, None),  # every entry
    ],
)  # fmt: skip
def test_only_names_whole_fields(tmp_path, only, keys):
    suite = suites.load(str(_write(tmp_path, ONLY_SUITE)))
    want = keys if keys is not None else [e.key for e in suite.entries]
    assert [e.key for e in suites.select(suite, only)] == want


@pytest.mark.parametrize("only", ["gd", "mini", "linear-", "ear__batch", "batch__sgd__x__y", ""])
def test_only_that_names_no_whole_field_is_refused(tmp_path, only):
    suite = suites.load(str(_write(tmp_path, ONLY_SUITE)))
    with pytest.raises(suites.UserError, match=r"matches --only .* whole fields"):
        suites.select(suite, only)


def test_a_utf8_file_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "t.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    suite = suites.load(str(path))
    assert suite.name == "t" and [e.variant for e in suite.entries] == ["batch"]


def test_any_batch_size_on_the_quadratic_runs_as_batch_gd(tmp_path):
    """The quadratic's one row holds its coefficients: batch_size = 32 is batch GD, accepted
    by validate, and every saved row says what ran (batch_size 1 = n, kind batch)."""
    from bench import envinfo
    from bench.run import entry_run

    text = (
        _source('source = "quadratic"\na = 1\nb = -2\nc = 0')
        + '\n[[variants]]\nname = "minibatch-32"\nbatch_size = 32\n'
    )
    suite = suites.load(str(_write(tmp_path, text)))
    suite.validate()
    problem = suite.builders["p"]()
    for entry in suite.entries:
        lanes, curves, hits, _ = entry_run.run_entry(entry, problem, envinfo.describe(), repeats=1)
        for frame in (lanes, curves, hits):
            assert set(frame["batch_size"]) == {1}, entry.variant
        assert set(lanes["kind"]) == set(hits["kind"]) == {"batch"}


def test_csv_delimiter_features_and_intercept_reach_the_problem(tmp_path):
    (tmp_path / "d.csv").write_text("id;x1;x2;y\nA;1;5;2\nB;2;6;4.5\nC;3;8;5\n")
    text = _source(
        'source = "csv"\npath = "d.csv"\ntarget = "y"\ndelimiter = ";"\n'
        'features = ["x2", 1]\nintercept = false'
    )
    suite = suites.load(str(_write(tmp_path, text)))
    suite.validate()
    p = suite.builders["p"]()
    np.testing.assert_array_equal(np.asarray(p.X), [[5, 1], [6, 2], [8, 3]])  # x2, then x1
    np.testing.assert_array_equal(np.asarray(p.y), [2, 4.5, 5])
    assert "b" not in p.init_params()  # no intercept


@pytest.mark.parametrize(
    ("body", "extra", "match"),
    [
        # float32 cannot resolve 1e-9 of a logistic loss: refused by the level checks
        ('source = "logistic"\nn = 64\nd = 3', "tol = 1e-9", r"tol 1e-09 is finer than float32"),
        # a start whose loss overflows float32
        ('source = "linear"\nn = 16\nd = 2', "init = 1e20", r"init: the loss at the initial"),
    ],
)
def test_validate_refuses_what_build_would_before_anything_runs(tmp_path, body, extra, match):
    """The checks that need the optimum (resolution, range) are made by validate too: a run
    never stops halfway, with a traceback, on an entry that build refuses."""
    suite = suites.load(str(_write(tmp_path, _defaults(extra).replace(GOOD_SOURCE, body))))
    with pytest.raises(suites.SuiteError, match=match) as e:
        suite.validate()
    assert "\n" not in str(e.value)


GOOD_SOURCE = 'source = "linear"\nn = 16\nd = 2'
