"""A suite's problem from Python (``source = "python"``): its factory and keyword arguments, a
run end to end, and every error naming the file, the table and the field."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import gdjax
from bench.perf import loops
from bench.run import runner, suites
from bench.run.suite_model import SuiteError


def tiny_problem(rows: int = 16, f_star="best"):
    """A factory: least squares on ``rows`` rows, as a custom loss (dict data)."""
    x = np.linspace(-1.0, 1.0, rows)

    def loss(params, batch):
        return jnp.mean((batch["x"] * params["w"] - batch["y"]) ** 2)

    data = {"x": x, "y": 2.0 * x}
    return gdjax.problems.custom(loss, data, init={"w": np.zeros(())}, f_star=f_star)


def not_a_problem(**kwargs):
    del kwargs
    return 3


SUITE = """
name = "py"
[defaults]
epochs = 3
lrs = [0.1, 0.5]
seeds = [0, 1]
repeats = 1
[[problems]]
name = "p"
source = "python"
factory = "FACTORY"
rows = 24
[[variants]]
name = "batch"
batch_size = "all"
[[variants]]
name = "minibatch-4"
batch_size = 4
"""


def _suite(tmp_path, text):
    path = tmp_path / "py.toml"
    path.write_text(text)
    return suites.load(str(path))


def test_a_python_problem_gets_its_keyword_arguments_and_runs(tmp_path):
    s = _suite(tmp_path, SUITE.replace("FACTORY", f"{__name__}:tiny_problem"))
    s.validate()
    problem = s.builders["p"]()
    assert problem.name == "p" and problem.n == 24  # rows = 24 reached the factory
    folder = runner.run_suite(s, tmp_path / "runs", repeats=1, progress=False, log=lambda m: None)
    lanes = pd.read_parquet(next(folder.rglob("lanes*.parquet")))
    assert set(lanes["f_star_source"]) == {"best found"}
    assert lanes["L"].isna().all()  # no curvature offered: theory is left out
    assert set(lanes["status"]) <= {"converged", "max_steps", "diverged"}


def test_the_shipped_custom_suite_names_the_readme_network():
    s = suites.load("custom")
    assert {e.problem for e in s.entries} == {"digits-mlp"}
    problem = s.builders["digits-mlp"]()
    assert problem.num_params == 64 * 32 + 32 + 32 * 10 + 10
    assert problem.f_star_source.label == "best found"


@pytest.mark.parametrize(
    "factory, extra, match",
    [
        (
            "no_such_module_xyz:f",
            "",
            r"problems\[0\] \(p\): factory 'no_such_module_xyz:f'.*"
            "does not import",
        ),
        ("bench.examples.mlp:nothere", "", r"problems\[0\] \(p\).*has no function 'nothere'"),
        ("bench.examples.mlp", "", r'problems\[0\] \(p\).*factory must be a "package'),
        (f"{__name__}:tiny_problem", 'dtype = "float32"', "dtype is the factory's own"),
    ],
)
def test_bad_factories_are_refused_when_the_suite_loads(tmp_path, factory, extra, match):
    text = SUITE.replace("FACTORY", factory).replace("rows = 24", f"rows = 24\n{extra}")
    with pytest.raises(SuiteError, match=rf"py\.toml: {match}" if "problems" in match else match):
        _suite(tmp_path, text)


@pytest.mark.parametrize(
    "factory, extra, match",
    [
        (f"{__name__}:not_a_problem", "", "returned int, not a gdjax Problem"),
        (f"{__name__}:tiny_problem", "width = 3", "unexpected keyword argument 'width'"),
        (f"{__name__}:tiny_problem", 'f_star = "optimal"', "f_star must be a number"),
        (
            f"{__name__}:tiny_problem",
            'baselines = ["numpy"]\nearly_stop = false',
            "x variant 'batch': baseline numpy: this custom loss is not written for numpy",
        ),
    ],
)
def test_bad_factory_results_are_refused_before_any_entry_runs(tmp_path, factory, extra, match):
    text = SUITE.replace("FACTORY", factory).replace("rows = 24", f"rows = 24\n{extra}")
    s = _suite(tmp_path, text)
    with pytest.raises(SuiteError, match=rf"py\.toml: problems\[0\] \(p\).*{match}"):
        s.validate(unsupported=loops.unsupported)  # as bench run validates
