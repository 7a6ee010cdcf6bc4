"""Success rates: the fraction of seeds that reached each target, at a row's best learning rate
and over its whole grid (learning rates x seeds).

A lane *reached* a target when its first-hit count exists (``first_step``, see
:mod:`gdjax.metrics`). The best rate is the ladder's (:func:`bench.report.ladder.best_lrs`): the
same rate as the row's samples and seconds.

Example:
    >>> hits = pd.DataFrame({"suite": "s", "problem": "p", "variant": "v", "batch_size": 1,
    ...     "optimizer": "sgd", "lr": [0.1, 0.1, 1.0, 1.0], "seed": [0, 1, 0, 1],
    ...     "target": 0.1, "first_step": pd.array([3, 4, None, 5], dtype="Int64"),
    ...     "first_samples": [3, 4, None, 5]})
    >>> frame = success(hits)
    >>> frame[["lr", "at_best", "over_grid"]].to_numpy().tolist()
    [[0.1, 1.0, 0.75]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.entries import ENTRY, numeric
from bench.report import ladder, landscape
from bench.report.tables import md_table, short
from bench.runs import Run

__all__ = ["by_rate", "problem_lines", "shown", "success", "success_table"]


def shown(run) -> bool:
    """Whether the report gives a run's success rates (tables and plots): runs with one of
    gdjax's non-convex problems at least, known by the suite tables the run recorded
    (``meta.json``'s ``problems``, :func:`bench.report.landscape.factory_name`), where seeds
    part ways (noise, a start between basins) and "did it get there" is the question; the
    other suites' reports keep their shape."""
    return any(landscape.factory_name(t) for t in run.meta.get("problems", {}).values())


def success(hits: pd.DataFrame) -> pd.DataFrame:
    """Per entry and target: the fraction of seeds that reached it at the best rate, and of
    lanes over the whole grid.

    Returns:
        One row per (entry, target): the entry keys, lr (the best rate; NaN: none), target,
        at_best (NaN without a best rate), over_grid.
    """
    rows = []
    best = ladder.best_lrs(hits)
    for b in best.itertuples(index=False):
        g = hits
        for k in ENTRY:
            g = g[g[k] == getattr(b, k)]
        for target, t in g.groupby("target", sort=True):
            got = numeric(t["first_step"]).notna()
            at = np.isclose(t["lr"].astype(float), b.lr, rtol=1e-9, atol=0)
            rows.append(
                {
                    **{k: getattr(b, k) for k in ENTRY},
                    "lr": b.lr,
                    "target": float(target),
                    "at_best": float(got[at].mean()) if at.any() else np.nan,
                    "over_grid": float(got.mean()),
                }
            )
    return pd.DataFrame(rows, columns=[*ENTRY, "lr", "target", "at_best", "over_grid"])


def by_rate(hits: pd.DataFrame) -> pd.DataFrame:
    """Per entry, rate and target: the fraction of seeds that reached the target (the
    success-rate plot)."""
    got = hits.assign(reached=numeric(hits["first_step"]).notna())
    keys = [*ENTRY, "lr", "target"]
    return got.groupby(keys, sort=False)["reached"].mean().reset_index()


def success_table(hits: pd.DataFrame) -> str:
    """One problem's success rates: a row per entry, ``at best lr / over the grid`` per target."""
    frame = success(hits)
    targets = sorted(frame["target"].unique(), reverse=True)
    header = ["variant", "optimizer", "best lr", *(short(t) for t in targets)]
    rows = []
    for key, g in frame.groupby(ENTRY, sort=False):
        by_target = {r.target: r for r in g.itertuples(index=False)}
        cells = [
            f"{short(by_target[t].at_best, 2)} / {short(by_target[t].over_grid, 2)}"
            if t in by_target
            else "-"
            for t in targets
        ]
        lr = g["lr"].iloc[0]
        rows.append([str(key[2]), str(key[4]), ladder.best_lr_text(lr), *cells])
    return md_table(header, rows, right=set(range(2, len(header))))


# ---------------------------------------------------------------------------------- README


def problem_lines(run: Run, problem: str, hits: pd.DataFrame | None) -> list[str]:
    """One problem's success rates, and the saddle's or the double well's own table: the
    README's lines after the problem's ladder tables (none for a run made before them)."""
    if hits is None or hits.empty or not shown(run):
        return []
    out = [
        "Success rate to each target, the fraction of seeds that hit it (first-hit): at the "
        "row's best lr / over the whole grid (learning rates x seeds):",
        "",
        success_table(hits),
        "",
    ]
    r = landscape.radius(run, problem)
    if r is not None and np.isclose(hits["target"].astype(float), landscape.LEAVE_TARGET).any():
        out += [
            f"Steps to leave the saddle, by batch size: a lane has left at its stay-below step "
            f"at {short(landscape.LEAVE_TARGET)}, from which its loss stays at or below "
            f"f* + {short(landscape.LEAVE_TARGET)} (f(w0) - f*), so it stays outside the radius "
            f"{r:.4f} of the saddle (f is above that level everywhere inside it) through its "
            "last step. Median over seeds per rate; `(k/n)`: only k of n seeds left; `-`: "
            "none did:",
            "",
            landscape.leave_table(hits),
            "",
        ]
    x_b = landscape.barrier(run, problem)
    params = run.params()
    if x_b is not None and params is not None:
        p = params[params["problem"].astype(str) == problem]
        if len(p):
            out += [
                f"Where the lanes ended: lanes whose final x lies below the barrier x = "
                f"{x_b:.4f}, in the global well, of the lanes at each rate (seeds) and over "
                "the whole grid (the kernel's final parameters; `(d div)`: d lanes diverged, "
                "frozen where their loss blew up, in no well):",
                "",
                landscape.wells_table(
                    landscape.wells(p, x_b, run.lanes[run.lanes["problem"].astype(str) == problem])
                ),
                "",
            ]
    return out
