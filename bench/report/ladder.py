"""The target ladder of a run, as tables: samples and seconds to each target, theory, winners.

Every number here comes from a run's hits (``bench.runs.read_hits``: one row per lane and
target, see :mod:`gdjax.metrics` for what ``first_step``, ``stay_step`` and the resolution mean)
and its lanes (for L and mu). The **best learning rate** of an entry (problem x variant x
optimizer) is chosen once and used for every target of its row:

1. the *reached* target is the tightest target of the ladder that every seed of at least one
   learning rate hit (first-hit);
2. among the learning rates whose every seed hit it, the best is the one with the fewest median
   samples to it; ties go to the smaller rate.

An entry that reached no target on every seed has no best rate (its row says so). The rule
lives in :func:`bench.entries.best_rate`; :func:`entry_line`, the CLI's line per entry, shows
the same best rate and the same ``(k/n)`` seed marks as the report's tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench import entries
from bench.entries import ENTRY, numeric
from bench.report.intervals import median_ci
from bench.report.tables import md_table, short

#: The best-lr cell of an entry that has no best rate (the CLI line says the same).
NO_BEST = "(no target on every seed)"

# the columns of ``ladder``: per entry and target, medians over seeds at the best lr
LADDER_COLUMNS = [*ENTRY, "schedule", "lr", "target", "seeds", "reached", "stayed"]
LADDER_COLUMNS += ["first_samples", "first_seconds", "stay_samples", "stay_seconds"]
LADDER_COLUMNS += ["at_checks", "exact"]
# the interval of each median (``bench.report.intervals``): ``<column>_lo`` and ``<column>_hi``
MEDIANS = ["first_samples", "first_seconds", "stay_samples", "stay_seconds"]
LADDER_COLUMNS += [f"{c}_{end}" for c in MEDIANS for end in ("lo", "hi")]


def read_at_checks(steps: pd.Series, resolution: pd.Series) -> pd.Series:
    """Which counts were read at a grid's checks, not exact to the step: a count with no
    resolution, or (runs made before counts on a grid lost their brackets) one above 1.

    Example:
        >>> s = pd.Series([5, 9, None, 0], dtype="Int64")
        >>> read_at_checks(s, pd.Series([1, None, None, 0], dtype="Int64")).tolist()
        [False, True, False, False]
    """
    res = numeric(resolution)
    return numeric(steps).notna() & ~(res <= 1)


def best_lrs(hits: pd.DataFrame) -> pd.DataFrame:
    """Each entry's best learning rate and the tightest target it reached (module docstring).

    Args:
        hits: one row per (lane, target), as ``bench.runs.read_hits`` returns.

    Returns:
        One row per entry, in the order of ``hits``: the entry keys, schedule, lr (NaN when no
        target was reached on every seed of any rate), reached_target (NaN likewise) and seeds.
    """
    rows = []
    for key, g in hits.groupby(ENTRY, sort=False):
        seeds = int(g["seed"].nunique())
        hit = g[numeric(g["first_step"]).notna()]
        per = hit.groupby(["lr", "target"]).agg(
            n=("seed", "nunique"), samples=("first_samples", lambda s: numeric(s).median())
        )
        lr, target = entries.best_rate(per.reset_index(), seeds)
        rows.append(
            {
                **dict(zip(ENTRY, key, strict=True)),
                "schedule": str(g["schedule"].iloc[0]) if "schedule" in g else "constant",
                "lr": lr,
                "reached_target": target,
                "seeds": seeds,
            }
        )
    return pd.DataFrame(rows)


def ladder(hits: pd.DataFrame) -> pd.DataFrame:
    """Samples and seconds to every target at each entry's best learning rate.

    A median is given only when every seed got there (``reached`` or ``stayed`` equals
    ``seeds``); otherwise it is NaN and the counts say how many did.

    Args:
        hits: one row per (lane, target).

    Returns:
        One row per (entry, target), columns ``LADDER_COLUMNS``. ``at_checks`` is how many of
        the seeds' first and stay counts were read at the checks of a grid (no bracket: the
        true count may lie before or after, :mod:`gdjax.metrics`), 0 when every count is exact
        to the step; ``exact`` whether every lane's loss was checked after every step.
    """
    rows = []
    for b in best_lrs(hits).itertuples(index=False):
        g = hits
        for k in ENTRY:
            g = g[g[k] == getattr(b, k)]
        for target, t in g.groupby("target", sort=True):
            at = t[np.isclose(t["lr"].astype(float), b.lr, rtol=1e-9, atol=0)]
            first, stay = numeric(at["first_step"]), numeric(at["stay_step"])
            reached, stayed = int(first.notna().sum()), int(stay.notna().sum())
            every = reached == b.seeds and reached > 0
            stays = stayed == b.seeds and stayed > 0
            at_checks = int(
                read_at_checks(at["first_step"], at["first_resolution"]).sum()
                + read_at_checks(at["stay_step"], at["stay_resolution"]).sum()
            )
            row = {
                **{k: getattr(b, k) for k in ENTRY},
                "schedule": b.schedule,
                "lr": b.lr,
                "target": float(target),
                "seeds": b.seeds,
                "reached": reached,
                "stayed": stayed,
                "at_checks": at_checks,
                "exact": bool(at["exact"].astype(bool).all()) if len(at) else False,
            }
            for c in MEDIANS:  # a median (and its interval) only where every seed got there
                ok = every if c.startswith("first") else stays
                v = numeric(at[c]).dropna().to_numpy(np.float64)
                med, lo, hi = median_ci(v) if ok else (np.nan,) * 3
                row |= {c: med, f"{c}_lo": lo, f"{c}_hi": hi}
            rows.append(row)
    return pd.DataFrame(rows, columns=LADDER_COLUMNS)


def winners(lad: pd.DataFrame, on: str) -> pd.DataFrame:
    """Which variant wins each (problem, target): the fewest median ``first_<on>``.

    Args:
        lad: ``ladder`` rows (several problems allowed).
        on: "samples" or "seconds".

    Returns:
        One row per (problem, target) that some variant reached on every seed: problem, target,
        variant, value. Ties go to the variant listed first.
    """
    col = f"first_{on}"
    rows = []
    for (problem, target), g in lad.groupby(["problem", "target"], sort=False):
        g = g[g[col].notna()]
        if len(g):
            w = g.sort_values(col, kind="stable").iloc[0]
            rows.append(
                {"problem": problem, "target": target, "variant": w["variant"], "value": w[col]}
            )
    return pd.DataFrame(rows, columns=["problem", "target", "variant", "value"])


# ---------------------------------------------------------------------------------- text


def compact(v, digits: int = 3) -> str:
    """A count or a time in few characters: "-" when missing, ``1.23e4`` from 10 000 up.

    Examples:
        >>> compact(832), compact(12288), compact(0.0123), compact(2.5e-05), compact(None)
        ('832', '1.23e4', '0.0123', '2.5e-5', '-')
    """
    if v is None or pd.isna(v):
        return "-"
    v = float(v)
    if abs(v) >= 1e4 or 0 < abs(v) < 1e-3:
        mantissa, exp = f"{v:.{digits - 1}e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exp)}"
    if float(v).is_integer():
        return f"{v:.0f}"
    return short(v, digits)


def resolution_text(lad_rows: pd.DataFrame) -> str:
    """How an entry's row was counted: "exact" when every count is exact to the step, "at
    checks" when some were read at a grid's checks (no bracket), "-" when there are none.

    Example:
        >>> rows = pd.DataFrame({"reached": [2, 1], "stayed": [2, 0], "at_checks": [0, 1]})
        >>> resolution_text(rows), resolution_text(rows.iloc[:1])
        ('at checks', 'exact')
    """
    if lad_rows["at_checks"].sum() > 0:
        return "at checks"
    return "exact" if (lad_rows["reached"] + lad_rows["stayed"]).sum() > 0 else "-"


def count_cell(value, got: int, seeds: int, lo=None, hi=None) -> str:
    """A median count where every seed has one, with its interval ``[lo, hi]`` where given and
    not a single point, else ``(k/n)`` (:func:`bench.entries.seeds_mark`).

    Examples:
        >>> count_cell(832.0, 5, 5, 640.0, 1024.0), count_cell(832.0, 5, 5, 832.0, 832.0)
        ('832 [640, 1024]', '832')
        >>> count_cell(float("nan"), 2, 5)
        '(2/5)'
    """
    if pd.isna(value):
        return entries.seeds_mark(got, seeds)
    return compact(value) + interval_text(lo, hi, value)


def interval_text(lo, hi, value=None) -> str:
    """`` [lo, hi]`` (compact numbers); empty where the interval is missing or one point equal
    to ``value`` (every seed gave the same count).

    Example:
        >>> interval_text(0.5, 2.0), interval_text(3.0, 3.0, 3.0), interval_text(None, None)
        (' [0.5, 2]', '', '')
    """
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return ""
    if lo == hi and (value is None or lo == value):
        return ""
    return f" [{compact(lo)}, {compact(hi)}]"


def cell(r, on: str) -> str:
    """``first [lo, hi] / stay [lo, hi]`` for one target (median over seeds and its interval);
    ``(k/n)`` where only some seeds got there."""
    first = count_cell(
        getattr(r, f"first_{on}"),
        r.reached,
        r.seeds,
        getattr(r, f"first_{on}_lo", None),
        getattr(r, f"first_{on}_hi", None),
    )
    stay = count_cell(
        getattr(r, f"stay_{on}"),
        r.stayed,
        r.seeds,
        getattr(r, f"stay_{on}_lo", None),
        getattr(r, f"stay_{on}_hi", None),
    )
    return f"{first} / {stay}"


def best_lr_text(lr) -> str:
    """The best-lr cell: the rate, or :data:`NO_BEST`."""
    return short(lr) if not pd.isna(lr) else NO_BEST


def entry_line(lanes: pd.DataFrame, hits: pd.DataFrame) -> str:
    """A one-line summary of one entry (printed as each entry finishes): its lane counts at
    tol, and the report's best lr and first-hit samples to each target, ``(k/n)`` marks and all.

    Args:
        lanes: the entry's lane rows.
        hits: the entry's hits (one row per lane and target).
    """
    b = entries.best(lanes).iloc[0]
    lad = ladder(hits).sort_values("target", ascending=False)
    lr = lad["lr"].iloc[0] if len(lad) else np.nan
    to = ", ".join(
        f"{short(r.target)}: {count_cell(r.first_samples, r.reached, r.seeds)}"
        for r in lad.itertuples(index=False)
    )
    target = f"best lr {best_lr_text(lr)}" + (f", samples to {to}" if not pd.isna(lr) else "")
    return (
        f"{b['problem']:<22} {b['variant']:<14} {b['optimizer']:<8} {b['lanes']:>4} lanes "
        f"{b['converged']:>4} conv {b['diverged']:>4} div {b['max_steps']:>4} max | {target} | "
        f"compile {b['compile_s']:.2f} s, run {b['run_s'] * 1e3:.1f} ms"
    )


def ladder_table(lad: pd.DataFrame, on: str) -> str:
    """The markdown table of one problem: a row per variant, a ``first / stay`` cell per target.

    Args:
        lad: ``ladder`` rows of one problem.
        on: "samples" or "seconds".
    """
    targets = sorted(lad["target"].unique(), reverse=True)
    header = ["variant", "schedule", "best lr", *(f"{short(t)}" for t in targets), "resolution"]
    rows = []
    for key, g in lad.groupby(ENTRY, sort=False):
        first = g.iloc[0]
        lr = best_lr_text(first["lr"])
        by_target = {r.target: r for r in g.itertuples(index=False)}
        cells = [cell(by_target[t], on) if t in by_target else "-" for t in targets]
        rows.append([str(key[2]), str(first["schedule"]), lr, *cells, resolution_text(g)])
    return md_table(header, rows, right=set(range(2, len(header) - 1)))


def predicted_table(hits: pd.DataFrame, lad: pd.DataFrame) -> str | None:
    """Batch GD on least squares: steps to each target predicted from the spectrum beside the
    measured ones, at the batch row's best lr (None where there is no prediction)."""
    if "predicted_first_step" not in hits.columns:
        return None
    pred = hits[numeric(hits["predicted_first_step"]).notna()]
    rows = []
    for key, g in lad.groupby(ENTRY, sort=False):
        lr = g["lr"].iloc[0]
        p = pred[(pred["variant"] == key[2]) & np.isclose(pred["lr"].astype(float), lr, atol=0)]
        for target, t in sorted(p.groupby("target"), key=lambda kv: -kv[0]):
            steps = numeric(hits.loc[t.index, "first_step"])
            if steps.notna().all() and len(steps):
                med, lo, hi = median_ci(steps.to_numpy(np.float64))
                measured = compact(med) + interval_text(lo, hi, med)
            else:
                measured = entries.seeds_mark(int(steps.notna().sum()), len(steps))
            predicted = numeric(t["predicted_first_step"]).median()
            rows.append([str(key[2]), short(lr), short(target), compact(predicted), measured])
    if not rows:
        return None
    header = ["variant", "lr", "target", "predicted steps", "measured steps"]
    return md_table(header, rows, right={1, 2, 3, 4})


def winners_frame(lad: pd.DataFrame) -> pd.DataFrame:
    """Per problem (rows) and target (columns): ``samples winner / seconds winner`` ("-": no
    variant got there on every seed)."""
    by_samples, by_seconds = winners(lad, "samples"), winners(lad, "seconds")
    targets = sorted(lad["target"].unique(), reverse=True)
    rows = []
    for problem in dict.fromkeys(lad["problem"]):
        row = {"problem": str(problem)}
        for t in targets:
            a = by_samples[(by_samples["problem"] == problem) & (by_samples["target"] == t)]
            b = by_seconds[(by_seconds["problem"] == problem) & (by_seconds["target"] == t)]
            wa = a["variant"].iloc[0] if len(a) else "-"
            wb = b["variant"].iloc[0] if len(b) else "-"
            row[short(t)] = f"{wa} / {wb}"
        rows.append(row)
    return pd.DataFrame(rows)


def win_counts(lad: pd.DataFrame, on: str) -> str:
    """How many (problem, target) pairs each variant wins, most first: ``"a 3, b 1"``.

    Examples:
        >>> lad = pd.DataFrame({"problem": ["p", "p", "q"], "target": [0.1, 0.1, 0.1],
        ...     "variant": ["a", "b", "b"], "first_samples": [1.0, 2.0, 5.0]})
        >>> win_counts(lad, "samples")
        'a 1, b 1'
    """
    counts = winners(lad, on)["variant"].value_counts(sort=False)
    order = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return ", ".join(f"{v} {k}" for v, k in order) or "-"


def winners_table(lad: pd.DataFrame) -> str | None:
    """``winners_frame`` as markdown; None when no variant reached any target."""
    if winners(lad, "samples").empty:
        return None
    frame = winners_frame(lad)
    return md_table(list(frame.columns), frame.to_numpy().tolist(), right=set())
