"""An entry's lanes summed up: the entry key, medians per learning rate, the best learning rate.

The best learning rate of a (problem, variant, optimizer) is the one whose seeds all converged in
the fewest samples (median over seeds); when no learning rate converged on every seed, it is the
one with the smallest median final suboptimality, and the table says "not converged".

Both stages read lanes: the runner prints ``entry_line`` as each entry finishes and ``summary`` at
the end; the report builds its tables on ``per_lr`` and ``best``. So this sits below both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.runs import ENTRY_COLUMNS

ENTRY = ENTRY_COLUMNS
#: Baselines timed lane by lane: a perf run's lanes carry ``<name>_s``, ``speedup_<name>``,
#: ``speedup_<name>_with_compile`` and ``<name>_max_rel_diff`` for each (bench.perf.baselines).
LANE_BASELINES = ("numpy", "torch", "jax-loop", "single")
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


def best(lanes: pd.DataFrame) -> pd.DataFrame:
    """One row per entry at its best learning rate, with lane counts over the whole grid.

    Returns:
        Columns: entry keys, n, d, lr (best), all_converged (bool), the to-target medians,
        final_subopt, lanes, converged, diverged, max_steps (over all lanes), compile_s, run_s.
    """
    table = per_lr(lanes)
    out = []
    for key, g in table.groupby(ENTRY, sort=False):
        ok = g[g["converged"] == g["seeds"]]
        if len(ok):
            pick = ok.sort_values(["samples_to_target", "lr"], kind="stable").iloc[0]
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
                "all_converged": bool(len(ok)),
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


def entry_line(lanes: pd.DataFrame) -> str:
    """A one-line summary of one entry's lanes (printed as each entry finishes)."""
    b = best(lanes).iloc[0]
    if b["all_converged"]:
        target = f"best lr {b['lr']:.3g}: {b['samples_to_target']:.0f} samples to target"
    else:
        target = f"none converged on every seed (best lr {b['lr']:.3g})"
    return (
        f"{b['problem']:<22} {b['variant']:<14} {b['optimizer']:<8} {b['lanes']:>4} lanes "
        f"{b['converged']:>4} conv {b['diverged']:>4} div {b['max_steps']:>4} max | {target} | "
        f"compile {b['compile_s']:.2f} s, run {b['run_s'] * 1e3:.1f} ms"
    )


def summary(lanes: pd.DataFrame) -> pd.DataFrame:
    """The final console table of a run: one row per entry."""
    b = best(lanes)
    return pd.DataFrame(
        {
            "problem": b["problem"],
            "variant": b["variant"],
            "opt": b["optimizer"],
            "best lr": b["lr"].map("{:.3g}".format),
            "steps": b["steps_to_target"].map(count_text),
            "epochs": b["epochs_to_target"].map(lambda v: "-" if pd.isna(v) else f"{v:.3g}"),
            "samples": b["samples_to_target"].map(count_text),
            "conv/div/max": [
                f"{c}/{d}/{m}"
                for c, d, m in zip(b["converged"], b["diverged"], b["max_steps"], strict=True)
            ],
            "compile s": b["compile_s"].map("{:.2f}".format),
            "run ms": (b["run_s"] * 1e3).map("{:.1f}".format),
        }
    )


def count_text(v) -> str:
    """A count, or the median of two counts (which may end in .5); "-" when missing."""
    if pd.isna(v):
        return "-"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def problems(lanes: pd.DataFrame) -> list[str]:
    """Problems in the order they appear in the lanes."""
    return list(dict.fromkeys(lanes["problem"].astype(str)))
