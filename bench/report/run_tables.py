"""The tables of a run's README section per problem: convergence at the best lr of each entry,
lanes by status over the whole grid, and the speed ratios the baselines added.
"""

from __future__ import annotations

import pandas as pd

from bench import entries
from bench.report import problem_lines
from bench.report.tables import md_table, short


def edge(lanes: pd.DataFrame, b) -> bool:
    """Whether the best lr of an entry is the smallest or largest of its grid (extend the grid)."""
    e = lanes[
        (lanes["variant"].astype(str) == str(b.variant))
        & (lanes["batch_size"] == b.batch_size)
        & (lanes["optimizer"].astype(str) == str(b.optimizer))
    ]
    lrs = e["lr"].astype(float)
    return lrs.nunique() > 1 and b.lr in (lrs.min(), lrs.max())


def convergence_table(best: pd.DataFrame, lanes: pd.DataFrame) -> str:
    header = [
        "variant",
        "batch",
        "optimizer",
        "best lr",
        "steps",
        "epochs",
        "samples",
        "seconds to target",
        {"loss": "final subopt", "grad_norm": "final grad norm"}.get(
            problem_lines.measure_of(lanes), "final subopt / grad norm"
        ),
        "converged",
        "diverged",
        "max_steps",
        "compile s",
        "run s",
    ]
    rows = []
    for b in best.itertuples(index=False):
        ok = bool(b.all_converged)
        lr = short(b.lr) + (" (grid edge)" if ok and edge(lanes, b) else "")
        lr += "" if ok else " (none converged)"
        rows.append(
            [
                str(b.variant),
                str(b.batch_size),
                str(b.optimizer),
                lr,
                entries.count_text(b.steps_to_target) if ok else "-",
                short(b.epochs_to_target) if ok else "-",
                entries.count_text(b.samples_to_target) if ok else "-",
                short(b.time_to_target_s) if ok else "-",
                short(b.final_subopt),
                str(b.converged),
                str(b.diverged),
                str(b.max_steps),
                short(b.compile_s) + (" (cached)" if cache_hit(lanes, b) else ""),
                short(b.run_s),
            ]
        )
    return md_table(header, rows, right=set(range(3, len(header))) | {1})


def status_table(best: pd.DataFrame, lanes: pd.DataFrame) -> str:
    """Lane counts by status (at tol, over the whole grid) and the kernel's times, per row."""
    header = ["variant", "batch", "optimizer", "converged", "diverged", "max_steps"]
    header += ["compile s", "run s [min, max]"]
    rows = [
        [
            str(b.variant),
            str(b.batch_size),
            str(b.optimizer),
            str(b.converged),
            str(b.diverged),
            str(b.max_steps),
            short(b.compile_s) + (" (cached)" if cache_hit(lanes, b) else ""),
            short(b.run_s) + run_range(lanes, b),
        ]
        for b in best.itertuples(index=False)
    ]
    return md_table(header, rows, right=set(range(3, len(header))) | {1})


def run_range(lanes: pd.DataFrame, b) -> str:
    """`` [min, max]`` of the timed runs of a row's kernel (one kernel runs every seed: its time
    has no spread over seeds, but over repeats), empty for runs that did not record them."""
    if "run_s_min" not in lanes.columns or "run_s_max" not in lanes.columns:
        return ""
    rows = lanes[(lanes["variant"] == b.variant) & (lanes["optimizer"] == b.optimizer)]
    lo = pd.to_numeric(rows["run_s_min"], errors="coerce").min()
    hi = pd.to_numeric(rows["run_s_max"], errors="coerce").max()
    if pd.isna(lo) or pd.isna(hi):
        return ""
    return f" [{short(lo)}, {short(hi)}]"


def cache_hit(lanes: pd.DataFrame, b) -> bool:
    """Whether JAX's persistent compilation cache served this row's kernel."""
    if "compile_cache_hit" not in lanes.columns:
        return False
    rows = lanes[(lanes["variant"] == b.variant) & (lanes["optimizer"] == b.optimizer)]
    return bool(rows["compile_cache_hit"].astype(bool).any())


def perf_table(lanes: pd.DataFrame, cols: list[str]) -> str:
    header = ["problem", "variant", "batch", "optimizer", "lanes", "run_s", *cols]
    rows = []
    # the lanes of one run: one suite, so its entries are told apart by the rest of the key
    for key, g in lanes.groupby(entries.ENTRY[1:], sort=False):
        med = [short(pd.to_numeric(g[c], errors="coerce").median()) for c in ["run_s", *cols]]
        rows.append([*(str(k) for k in key), str(int(g["lanes"].iloc[0])), *med])
    return md_table(header, rows, right=set(range(4, len(header))) | {2})
