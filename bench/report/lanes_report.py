"""``results/perf.md``'s lanes table: one workload at 64, 256, 1024, ... lanes, gdjax against its
bare program, with the achieved rates beside this machine's roofline.

It reads the newest lane-scaling folder of the perf run's host (``python -m bench scaling
--lanes``, :mod:`bench.perf.lane_scaling`) through ``bench.runs``; no folder, no section.

Example:
    >>> render_lanes(Path("/nonexistent"), "host")
    []
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import runs
from bench.report.tables import md_table, ms, number_text, times

__all__ = ["GOAL", "render_lanes"]

GOAL = 1.2  # gdjax / bare program at every lane count (issue 24): a target, not a measurement

HEADER = [
    "lanes",
    "gdjax ms",
    "bare ms",
    "gdjax / bare",
    "GFLOP/s",
    "GB/s",
    "MFLOP/step",
    "MB/step",
    "% of GEMM roof",
]


def render_lanes(runs_dir: Path, host: str | None) -> list[str]:
    """The lanes section of perf.md: its prose, table and goal line; [] without a folder.

    Args:
        runs_dir: the folder of run folders the report reads.
        host: the perf run's host: only a lane scaling of the same machine sits beside it.

    Returns:
        The section's lines.
    """
    found = runs.newest_lane_scaling(runs_dir, host)
    if found is None:
        return []
    meta, table = found
    roof = meta.get("roofline") or {}
    first = table.iloc[0]
    out = [
        "",
        "## Scaling over lanes",
        "",
        f"`{meta.get('entry')}` ({first['n']} x {first['d']}, batch {first['batch_size']}, "
        f"{first['steps']} steps, every step run) at each lane count: one seed and that many "
        "learning rates (the suite's own at its count, else as many spread geometrically over "
        "their range). gdjax's compiled kernel with its booking and the bare `jit(vmap(scan))` "
        "program of the same arithmetic (`bench/perf/baselines.py`) are called in turn, one call "
        "of each per round, medians. Flops and bytes of one step come from XLA's cost analysis "
        "of gdjax's step (every lane, its monitoring included; bytes count every operand read, "
        "cache hits included); achieved = per step x steps / gdjax's median. "
        + _roof_line(roof)
        + f"Made by `python -m bench scaling --lanes` ({meta.get('finished')}).",
        "",
    ]
    rows = [_row(r, roof) for r in table.to_dict("records")]
    out.append(md_table(HEADER, rows, set(range(len(HEADER)))))
    out += ["", _goal_line(table)]
    return out


def _roof_line(roof: dict) -> str:
    if not roof:
        return ""
    return (
        f"The roof: float32 GEMM {roof['gemm_gflops']:.4g} GFLOP/s and copy "
        f"{roof['copy_gbs']:.4g} GB/s, measured in the same command "
        "(`bench/run/roofline.py`; the copy rate is from memory, so bytes that stay in cache "
        "may move faster: only the GEMM rate is a ceiling). "
    )


def _row(r: dict, roof: dict) -> list[str]:
    gemm = roof.get("gemm_gflops", float("nan"))
    return [
        str(r["lanes"]),
        ms(r["gdjax_s"]),
        ms(r["bare_s"]),
        times(r["gdjax_vs_bare"]),
        number_text(r["gflops"]),
        number_text(r["gbytes_s"]),
        number_text(r.get("flops_per_step", float("nan")) / 1e6),
        number_text(r.get("bytes_per_step", float("nan")) / 1e6),
        number_text(100 * r["gflops"] / gemm, ".3g"),
    ]


def _goal_line(table: pd.DataFrame) -> str:
    """The goal, met or its measured limit (the worst lane count)."""
    worst = table.loc[table["gdjax_vs_bare"].idxmax()]
    limit = f"{times(worst['gdjax_vs_bare'])} at {worst['lanes']} lanes"
    if (table["gdjax_vs_bare"] <= GOAL).all():
        verdict = f"met (the worst, {limit})"
    else:
        verdict = f"**not met**: the measured limit is {limit}"
    return f"Goal: gdjax within {GOAL:g}x of the bare program at every lane count: {verdict}."
