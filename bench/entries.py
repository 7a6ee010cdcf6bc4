"""An entry's lanes summed up: the entry key, medians per learning rate, the best learning rate.

The best learning rate of a (problem, variant, optimizer) is decided by :func:`best_rate`, the
one home of the rule, for the CLI and the report alike: the tightest target that every seed of
some rate reached, and among those rates the fewest median samples to it (ties: the smaller
rate). On lanes alone (:func:`best`) the one target is ``tol`` (converged); when no learning rate
converged on every seed, :func:`best` falls back to the smallest median final suboptimality, and
the table says "not converged". A count that only some seeds have is marked ``(k/n)``
(:func:`seeds_mark`).

Both stages read lanes: the report builds its tables on ``per_lr``, ``best`` and ``best_rate``,
and the CLI prints the report's line for each entry as the run goes. So this sits below both.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.runs import ENTRY_COLUMNS

ENTRY = ENTRY_COLUMNS
#: Baselines timed lane by lane: a perf run's lanes carry ``<name>_s``, ``speedup_<name>``,
#: ``speedup_<name>_with_compile`` and ``<name>_max_rel_diff`` for each (bench.perf.attach).
LANE_BASELINES = ("numpy", "torch", "jax-loop", "single", "sklearn")
#: Baselines timed as whole sweeps in turn with gdjax; the perf report gives them their own section.
SWEEP_BASELINES = ("jax-scan", "seeds", "monitoring")
TARGETS = ["steps_to_target", "epochs_to_target", "samples_to_target", "time_to_target_s"]


def numeric(column: pd.Series) -> pd.Series:
    """A lane column as float64; text and missing values become NaN.

    Example:
        >>> numeric(pd.Series(["1.5", None, "x"])).tolist()
        [1.5, nan, nan]
    """
    return pd.to_numeric(column, errors="coerce").astype("float64")


def relative_difference(values, reference, floor: float = 1e-30) -> np.ndarray:
    """``|values - reference| / max(|reference|, floor)``, elementwise (float64).

    The one rule by which the harness compares final losses (a baseline's with gdjax's, a run's
    with another's, a device count's with the first). Callers choose which lanes count (finite,
    not diverged); ``floor`` only keeps a zero reference from dividing by zero.

    Example:
        >>> relative_difference([1.1, 2.0], [1.0, 2.0]).round(12).tolist()
        [0.1, 0.0]
    """
    values, reference = np.asarray(values, np.float64), np.asarray(reference, np.float64)
    return np.abs(values - reference) / np.maximum(np.abs(reference), floor)


def per_lr(lanes: pd.DataFrame) -> pd.DataFrame:
    """One row per (entry, learning rate): status counts and medians over seeds.

    Returns:
        Columns: the entry keys, lr, seeds, converged, diverged, max_steps, the median of each
        to-target column over converged seeds, and final_subopt median / q25 / q75.
    """
    rows = []
    for key, g in lanes.groupby([*ENTRY, "lr"], sort=False):
        row = dict(zip([*ENTRY, "lr"], key, strict=True))
        st = g["status"]
        row.update(
            seeds=len(g),
            converged=int((st == "converged").sum()),
            diverged=int((st == "diverged").sum()),
            max_steps=int((st == "max_steps").sum()),
        )
        for c in TARGETS:
            v = numeric(g[c]).dropna()
            row[c] = float(v.median()) if len(v) else np.nan
        # diverged lanes end at inf (or NaN): they count as +inf, the worst possible value
        sub = np.sort(numeric(g["final_subopt"]).fillna(np.inf).to_numpy())
        row["final_subopt"] = _quantile(sub, 0.5)
        row["final_subopt_q25"] = _quantile(sub, 0.25)
        row["final_subopt_q75"] = _quantile(sub, 0.75)
        rows.append(row)
    return pd.DataFrame(rows)


def _quantile(sorted_values: np.ndarray, q: float) -> float:
    """Linear-interpolated quantile that treats +inf as a value (numpy gives NaN for inf - inf)."""
    pos = q * (len(sorted_values) - 1)
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    a, b = sorted_values[lo], sorted_values[hi]
    if lo == hi or a == b:
        return float(a)
    return float(a + (b - a) * (pos - lo))


def best_rate(per: pd.DataFrame, seeds: int) -> tuple[float, float]:
    """An entry's best learning rate and the target it is best at (the module's rule).

    Args:
        per: one row per (learning rate, target): ``lr``, ``target``, ``n`` (the seeds that
            reached the target) and ``samples`` (their median samples to it).
        seeds: the entry's number of seeds.

    Returns:
        ``(lr, target)``; both NaN when no rate reached any target on every seed.

    Example:
        >>> per = pd.DataFrame({"lr": [0.1, 0.3, 0.3], "target": [0.1, 0.1, 0.01],
        ...                     "n": [2, 2, 1], "samples": [40.0, 20.0, 90.0]})
        >>> best_rate(per, 2), best_rate(per, 3)
        ((0.3, 0.1), (nan, nan))
    """
    full = per[per["n"] == seeds]
    if not len(full):
        return math.nan, math.nan
    target = float(full["target"].min())
    pick = full[full["target"] == target].sort_values(["samples", "lr"], kind="stable")
    return float(pick["lr"].iloc[0]), target


def seeds_mark(got: int, seeds: int) -> str:
    """What a cell says where not every seed has a count: ``(k/n)`` seeds got there, "-" none.

    Example:
        >>> seeds_mark(3, 5), seeds_mark(0, 5)
        ('(3/5)', '-')
    """
    return "-" if got == 0 else f"({got}/{seeds})"


def best(lanes: pd.DataFrame) -> pd.DataFrame:
    """One row per entry at its best learning rate, with lane counts over the whole grid.

    Returns:
        Columns: entry keys, n, d, lr (best), all_converged (bool), the to-target medians,
        final_subopt, lanes, converged, diverged, max_steps (over all lanes), compile_s, run_s.
    """
    table = per_lr(lanes)
    out = []
    for key, g in table.groupby(ENTRY, sort=False):
        # one target, tol: converged lanes reached it
        per = pd.DataFrame(
            {"lr": g["lr"], "target": 0.0, "n": g["converged"], "samples": g["samples_to_target"]}
        )
        lr, _ = best_rate(per, int(g["seeds"].max()))
        ok = not math.isnan(lr)
        if ok:
            pick = g[g["lr"] == lr].iloc[0]
        else:
            live = g[g["diverged"] < g["seeds"]]
            pick = (live if len(live) else g).sort_values("final_subopt", kind="stable").iloc[0]
        lane_rows = lanes
        for k, v in zip(ENTRY, key, strict=True):
            lane_rows = lane_rows[lane_rows[k] == v]
        first = lane_rows.iloc[0]
        out.append(
            {
                **dict(zip(ENTRY, key, strict=True)),
                "kind": first["kind"],
                "n": int(first["n"]),
                "d": int(first["d"]),
                "lr": float(pick["lr"]),
                "all_converged": ok,
                **{c: float(pick[c]) for c in TARGETS},
                "final_subopt": float(pick["final_subopt"]),
                "lanes": len(lane_rows),
                "converged": int((lane_rows["status"] == "converged").sum()),
                "diverged": int((lane_rows["status"] == "diverged").sum()),
                "max_steps": int((lane_rows["status"] == "max_steps").sum()),
                "compile_s": float(first["compile_s"]),
                "run_s": float(first["run_s"]),
            }
        )
    return pd.DataFrame(out)


def count_text(v) -> str:
    """A count, or the median of two counts (which may end in .5); "-" when missing."""
    if pd.isna(v):
        return "-"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def problems(lanes: pd.DataFrame) -> list[str]:
    """Problems in the order they appear in the lanes."""
    return list(dict.fromkeys(lanes["problem"].astype(str)))
