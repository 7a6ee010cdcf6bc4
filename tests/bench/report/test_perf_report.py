"""perf.md on a tiny run folder whose lanes carry the mlp workload's baseline columns: a
custom loss beside its bare program, the floor of its grid monitoring, torch and the targets."""

import json
import shutil

import pandas as pd

from bench.report import bare_report, perf_headline, perf_report

# what bench.perf.attach adds to the mlp workload's lanes (gdjax checks on an eval_every grid)
MLP = {
    "problem": "mlp",
    "run_s": 0.5,
    "jax-scan_gdjax_s": 0.44,
    "jax-scan_s": 0.4,
    "vs_jax-scan": 1.1,
    "jax-scan_max_rel_diff": 1e-7,
    "compile_cold_s": 0.9,
    "compile_warm_s": 0.3,
    "jax-scan_compile_s": 0.6,
    "compile_vs_jax-scan": 1.5,
    "jax-scan-checks_s": 0.42,
    "jax-scan-checks_max_rel_diff": 0.0,
    "jax-scan-checks_compile_s": 0.7,
    "checks_floor": 1.05,
    "torch_s": 20.0,
    "speedup_torch": 40.0,
    "speedup_torch_with_compile": 20.0 / 1.4,
    "torch_max_rel_diff": 1e-6,
}


def _section(text: str, title: str) -> str:
    """The section of perf.md under ``## title``, up to the next one."""
    return text.split(f"\n## {title}\n")[1].split("\n## ")[0]


def _cells(text: str, first: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.split("|")[1:-1]]
        for line in text.splitlines()
        if line.startswith(f"| {first}")
    ]


def test_perf_md_shows_the_mlp_beside_its_bare_program_and_torch(tiny_run, tmp_path):
    folder = tmp_path / "runs"
    dest = folder / tiny_run.name
    shutil.copytree(tiny_run, dest)
    lanes = pd.read_parquet(dest / "lanes.parquet")
    lanes["problem"] = "mlp"  # the tiny suite's one entry, booked as the perf suite's mlp
    for column, value in MLP.items():
        lanes[column] = value
    lanes.to_parquet(dest / "lanes.parquet", index=False)
    meta = json.loads((dest / "meta.json").read_text())
    assert meta["complete"]
    text = perf_report.render(folder)

    (speed,) = _cells(_section(text, "Speed"), "mlp")
    assert speed[5] == "0.90"  # the cold compile
    (header,) = _cells(_section(text, "Speed"), "workload")
    torch = header.index("vs torch")
    assert speed[torch - 1 : torch + 2] == ["2e+04", "40x", "14.3x"]

    (bare,) = _cells(_section(text, "Against a bare program"), "mlp")
    assert bare[1:7] == ["440", "400", "1.1x", "0.90", "0.60", "1.0e-07"]
    (row,) = _cells(_section(text, "The floor of grid monitoring"), "mlp")
    assert row == ["mlp", "400", "420", "1.05x", "440", "1.05x", "0.60", "0.70", "0.0e+00"]
    assert "## The floor of exact monitoring" not in text  # none monitored every step

    targets = _cells(_section(text, "Targets"), "mlp:")
    assert ["mlp: gdjax / jax-scan run time", "<= 1.2x", "1.1x", "1.05x", "met"] in targets
    assert ["mlp: cold compile / jax-scan's", "<= 2x", "1.5x", "-", "met"] in targets


def test_the_checks_floor_is_the_ceiling_of_the_bare_target_and_fails_honestly():
    slow = {**MLP, "vs_jax-scan": 1.3}
    target = perf_report._bare_targets({"mlp": slow})[0]
    assert target == ["mlp: gdjax / jax-scan run time", "<= 1.2x", "1.3x", "1.05x", "**not met**"]
    # a workload with no floor measured has no checks table
    assert bare_report.render_checks_floor([{**MLP, "jax-scan-checks_s": float("nan")}]) == []


# what bench.perf.attach adds to the sgd workload's lanes (exact monitoring, scikit-learn)
SGD = {
    "problem": "sgd",
    "run_s": 0.01,
    "compile_cold_s": 0.3,
    "compile_warm_s": 0.08,
    "jax-scan_gdjax_s": 0.01,
    "jax-scan_s": 0.005,
    "vs_jax-scan": 2.0,
    "jax-scan_max_rel_diff": 1e-7,
    "jax-scan_compile_s": 0.15,
    "compile_vs_jax-scan": 2.0,
    "jax-scan-loss_s": 0.008,
    "jax-scan-loss_max_rel_diff": 0.0,
    "jax-scan-loss_compile_s": 0.2,
    "loss_floor": 1.6,
    "numpy_s": 3.0,
    "speedup_numpy": 300.0,
    "speedup_numpy_with_compile": 3.0 / 0.31,
    "sklearn_lane_s": 0.002,
    "sklearn_lanes_timed": 3,
    "sklearn_s": 0.128,
    "speedup_sklearn": 12.8,
    "speedup_sklearn_with_compile": 0.128 / 0.31,
    "sklearn_max_rel_diff": 1e-6,
    "first_call_1_s": 0.25,
    "first_call_4_s": 0.26,
    "first_call_16_s": 0.27,
    "first_call_64_s": 0.31,
    "first_call_256_s": 0.4,
    "sklearn_crossover_lanes": 256,
    "sklearn_crossover_fit": 130.0,
    "first_call_process_cold_s": 0.32,
    "first_call_process_warm_s": 0.1,
}


def _perf_md(tiny_run, tmp_path, columns: dict) -> str:
    folder = tmp_path / "runs"
    dest = folder / tiny_run.name
    shutil.copytree(tiny_run, dest)
    lanes = pd.read_parquet(dest / "lanes.parquet")
    for column, value in columns.items():
        lanes[column] = value
    lanes.to_parquet(dest / "lanes.parquet", index=False)
    return perf_report.render(folder)


def test_the_headline_comes_first_in_at_most_8_columns(tiny_run, tmp_path):
    text = _perf_md(tiny_run, tmp_path, SGD)
    assert text.index("## Headline") < text.index("## Speed")
    headline = _section(text, "Headline")
    (header,) = _cells(headline, "workload")
    assert len(header) <= perf_headline.HEADLINE_COLUMNS
    assert "per-lane Python loops" in headline and "scaled to 64 lanes" in headline
    (row,) = _cells(headline, "sgd")
    assert row[1:3] == ["10", "0.31"]  # steady ms, run + cold compile s
    # jax-scan: 5 ms / 10 ms steady, (5 + 150) / (10 + 300) ms on the first call
    assert row[header.index("vs jax-scan")] == "0.5x / 0.5x"
    assert row[header.index("vs scikit-learn")] == "12.8x / 0.413x"
    assert row[header.index("vs torch")] == "-"  # not measured


def test_scikit_learn_and_the_first_call_rows_with_their_goals(tiny_run, tmp_path):
    text = _perf_md(tiny_run, tmp_path, SGD)
    section = _section(text, "scikit-learn and the first call")
    assert ["64", "0.310", "0.128", "0.413x"] in _cells(section, "64")
    assert "from 256 lanes (measured)" in section and "at 130 lanes" in section
    assert ["cache cold", "0.320", "0.4x"] in _cells(section, "cache")
    assert ["cache warm", "0.100", "1.28x"] in _cells(section, "cache")
    targets = _cells(_section(text, "Targets"), "sgd:")
    warm = "sgd: new process's first call, cache warm, vs scikit-learn's 64 fits"
    cold = "sgd: new process's first call, cache cold, vs scikit-learn's 64 fits"
    rows = {r[0]: r for r in targets}
    assert rows[warm][1:3] == [">= 1x", "1.28x"] and rows[warm][4] == "met"
    assert rows[cold][1:3] == [">= 0.5x", "0.4x"] and rows[cold][4] == "**not met**"
    # exact monitoring is measured against its floor, jax-scan + loss: 10 / 8 ms
    exact = ["sgd: gdjax / (jax-scan + loss) run time", "<= 1.1x", "1.25x", "1x", "**not met**"]
    assert exact in targets
    assert not [r for r in targets if r[0] == "sgd: gdjax / jax-scan run time"]
    assert ["sgd: cold compile / jax-scan's", "<= 2x", "2x", "-", "met"] in targets


def test_a_profile_over_too_few_compared_problems_is_a_table_not_a_plot(tmp_path):
    from bench.report import profile_plot, profiles, readme

    # the perf suite's shape: each problem run by its own variant, so no ratio compares two
    lad = pd.DataFrame(
        {
            "problem": ["a", "b", "c", "d"],
            "variant": ["v1", "v2", "v3", "v4"],
            "target": [1e-3] * 4,
            "first_samples": [10.0, 20.0, 30.0, 40.0],
            "first_seconds": [1.0, 2.0, 3.0, 4.0],
        }
    )
    assert profiles.compared_problems(lad) == 0 and not profiles.plottable(lad)
    text = "\n".join(readme._profile_table(lad))
    assert "Performance profile not drawn: 0 problems" in text
    assert "| a | 0.001 | 1 | inf | inf | inf |" in text
    # four problems that two variants both ran: drawn
    both = pd.concat([lad, lad.assign(variant="v0", first_samples=15.0, first_seconds=1.5)])
    assert profiles.compared_problems(both) == 4 and profiles.plottable(both)
    assert readme._profile_table(both) == []
    assert profile_plot.plot_profile(both, tmp_path / "p.png", "t") is not None
