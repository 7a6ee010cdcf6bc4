"""A suite with ``measure = "grad_norm"``: its lane rows carry the measure, and the README's
headings say gradient norm where they would say suboptimality."""

import pandas as pd

from bench.report import readme as report
from bench.run import runner, suites

SUITE = """
name = "gn"
description = "Gradient-norm targets on one small least-squares problem (tests)."

[defaults]
seeds = [0, 1]
tol = 1e-2
repeats = 1
measure = "grad_norm"

[[problems]]
name = "linear-64x3"
source = "linear"
n = 64
d = 3

[[variants]]
name = "batch"
batch_size = "all"
epochs = 60
lrs = [0.1, 0.3]

[[variants]]
name = "minibatch-8"
batch_size = 8
epochs = 6
lrs = [0.05, 0.2]
measure = "loss"
"""


def test_lane_rows_carry_the_measure_and_the_readme_says_gradient_norm(tmp_path):
    (tmp_path / "gn.toml").write_text(SUITE)
    suite = suites.load(str(tmp_path / "gn.toml"))
    assert [e.settings["measure"] for e in suite.entries] == ["grad_norm", "loss"]
    run = runner.run_suite(suite, tmp_path / "runs", repeats=1, progress=False, log=lambda s: 0)
    lanes = pd.read_parquet(run / "lanes.parquet")
    by = lanes.groupby("variant")["measure"].unique().to_dict()
    assert list(by["batch"]) == ["grad_norm"] and list(by["minibatch-8"]) == ["loss"]
    assert (lanes.loc[lanes["variant"] == "batch", "f_star"] == 0.0).all()
    report.write(tmp_path / "runs", tmp_path / "results")
    text = (tmp_path / "results" / "README.md").read_text()
    assert "Samples to each target (gradient norm where the measure line says)" in text
    assert "Measure: batch/sgd: targets on the full-data gradient norm" in text
    assert "f*: lstsq (float64)." in text  # the loss entry's f*, not the gradient norm's
    # the spectrum predicts steps to a suboptimality: none for gradient-norm targets
    assert "predicted from the spectrum" not in text
    tex = (tmp_path / "results" / "tables" / "gn" / "linear-64x3-samples.tex").read_text()
    assert "relative suboptimality or gradient norm, depending on the variant" in tex

    # all of a problem's entries on the gradient norm: the headings say so outright
    only = SUITE.replace('measure = "loss"\n', "")
    (tmp_path / "only.toml").write_text(only.replace('name = "gn"', 'name = "only"'))
    suite = suites.load(str(tmp_path / "only.toml"))
    runner.run_suite(suite, tmp_path / "runs2", repeats=1, progress=False, log=lambda s: 0)
    report.write(tmp_path / "runs2", tmp_path / "results2")
    text = (tmp_path / "results2" / "README.md").read_text()
    assert "Samples to each gradient-norm target, first-hit / stay-below:" in text
    assert "(relative gradient norm)" in text and "f*:" not in text
    tex = (tmp_path / "results2" / "tables" / "only" / "linear-64x3-seconds.tex").read_text()
    assert "(gradient norm relative to its start $10^{" in tex
