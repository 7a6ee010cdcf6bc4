"""perf.md on a tiny run folder whose lanes carry the mlp workload's baseline columns: a
custom loss beside its bare program, the floor of its grid monitoring, torch and the targets."""

import json
import shutil

import pandas as pd

from bench.report import bare_report, perf_report

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
