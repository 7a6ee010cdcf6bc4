"""The report's plots: one function per plot, and where their files go.

Per problem, under ``results/plots/<suite>/`` (one sub-folder per machine when a suite ran on
several):

- ``<problem>-samples.png``: f - f* against samples seen (log axes), one line per variant at its
  best learning rate, median over seeds with its bootstrap interval as the band
  (:mod:`bench.report.intervals`), up to the problem's common sample budget
  (:mod:`bench.report.budget`); the start f(w0) - f* is a horizontal line.
- ``<problem>-seconds.png``: the same against seconds (run time x step / steps run of the timed
  kernel, which runs every lane of the row at once).
- ``<problem>-lr.png``: samples to a target against the learning rate (runs with target
  ladders; early stopping cannot flatten it), else final f - f* against the rate; 2/L (a line)
  and 2/(L+mu) (a triangle on the x axis, so that neither hides the other) marked. Each line is
  drawn at the target its variant's best lr was chosen at (the tightest target every seed of
  some rate hit, named in the legend), so the circled best lr is the lowest point of its line by
  the tables' own rule. Rates where a seed missed the target (or diverged) are marked "x" in a
  strip of their own above the axes, not on the data axis.
- ``<problem>-paths.png`` and ``<problem>-success.png``, where a run has them: the paths on
  the loss's contours and the success rate against the rate (:mod:`bench.report.paths_plot`).

Per run with ladders, ``profile.png``: the performance profiles (:mod:`bench.report.profile_plot`).
Legends sit outside the axes, and f - f* <= 0 (float rounding at the optimum) is drawn at a floor
that the legend names.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from bench import entries
from bench.report import budget, ladder, paths_plot, problem_lines
from bench.report import plot_marks as marks
from bench.report.figure import figure, finish, save
from bench.report.intervals import median_ci, median_ci_rows
from bench.report.tables import plural, short
from bench.runs import Run, slug
from gdjax.metrics import ewma

# a problem's plots, named by their x axis (the end of the file name)
PLOTS = ("samples", "seconds", "lr")
PLOT_ALT = (
    "suboptimality vs samples",
    "suboptimality vs seconds",
    "learning-rate sweep",
)
# drawn where a run has them (bench.report.paths_plot), after the three above
EXTRA_PLOTS = ("paths", "success")
EXTRA_ALT = ("paths on the contours", "success rate vs learning rate")
RUN_PLOTS = "<run>"  # key of ``Run.plots`` for the plots of a whole run (not a problem name)
# the x axis of each curve plot: label and curves column
CURVE_AXES = {
    "samples": ("samples seen (steps x batch size, log scale)", "samples"),
    "seconds": ("seconds (timed kernel, all lanes together, log scale)", "time_s"),
}
#: What the bands of every plot are.
BAND = "95% bootstrap CI"
FLOOR_LABEL = "f - f* <= 0 (float rounding at the optimum) drawn here"


def plot_names(problem: str, extra: bool = False) -> list[str]:
    """File names of a problem's plots, in the order the README shows them (``extra``: with
    the paths and success plots of the non-convex problems, drawn where a run has them).

    Examples:
        >>> plot_names("linear-64x3")
        ['linear-64x3-samples.png', 'linear-64x3-seconds.png', 'linear-64x3-lr.png']
        >>> plot_names("saddle", extra=True)[3:]
        ['saddle-paths.png', 'saddle-success.png']
    """
    kinds = (*PLOTS, *EXTRA_PLOTS) if extra else PLOTS
    return [f"{slug(problem)}-{plot}.png" for plot in kinds]


def plot_dir(results_dir: Path, run: Run, all_runs: list[Run]) -> Path:
    """``plots/<suite>/``; with several machines for a suite, one sub-folder per machine."""
    suite = slug(run.meta.get("suite", "suite"))
    same = [r for r in all_runs if r.meta.get("suite") == run.meta.get("suite")]
    base = Path(results_dir) / "plots" / suite
    if len(same) == 1:
        return base
    _, backend, device, host = run.machine
    return base / slug(f"{backend}-{device}-{host}".lower())


@dataclasses.dataclass
class _Problem:
    """What every plot of one problem of a run shares."""

    name: str
    lanes: pd.DataFrame
    best: pd.DataFrame
    hits: pd.DataFrame | None  # None for a run made before target ladders
    labels: dict[tuple, str]
    colors: dict[tuple, str]
    floor: float
    title: str  # "<problem> (n x d)"
    where: str  # "<suite> on <device> (<backend>)"
    seeds: int


def _problem(run: Run, problem: str) -> _Problem:
    lanes = run.lanes[run.lanes["problem"].astype(str) == problem]
    best = entries.best(lanes)
    hits = budget.clip(run.hits(), run.lanes)  # counts within each problem's common budget
    if hits is not None:
        hits = hits[hits["problem"].astype(str) == problem]
        # the curves are drawn at the lr the README's ladder tables use, where there is one
        # (a variant may run several optimizers, and a grid's combinations: keyed by both)
        on = ["variant", "optimizer"]
        picks = ladder.best_lrs(hits).set_index(on)["lr"].dropna()
        keys = zip(best["variant"], best["optimizer"], best["lr"], strict=True)
        best = best.assign(lr=[picks.get((v, o), lr) for v, o, lr in keys])
    labels = _labels(best)
    n, d = int(lanes["n"].iloc[0]), int(lanes["d"].iloc[0])
    return _Problem(
        name=problem,
        lanes=lanes,
        best=best,
        hits=hits if hits is not None and len(hits) else None,
        labels=labels,
        colors={k: f"C{i % 10}" for i, k in enumerate(labels)},
        floor=_floor(lanes),
        title=f"{problem} ({n} x {d})",
        where=f"{run.meta.get('suite')} on {run.device} ({run.env.get('backend')})",
        seeds=int(lanes["seed"].nunique()),
    )


def plot_problem(run: Run, problem: str, out_dir: Path, smooth: float | None = None) -> list[Path]:
    """The plots of one problem of a run (curves only when the run has them).

    Returns:
        The files written, in README order.
    """
    p = _problem(run, problem)
    written = []
    curves = run.curves()
    if curves is not None:
        c = curves[curves["problem"].astype(str) == problem]
        for axis in CURVE_AXES:
            written.append(plot_curves(p, c, axis, out_dir, smooth))
    written.append(plot_lr_samples(p, out_dir) if p.hits is not None else plot_lr(p, out_dir))
    # the non-convex problems' paths and success rates, where the run has them
    extra = (
        paths_plot.plot_paths(run, problem, out_dir),
        paths_plot.plot_success(run, problem, out_dir),
    )
    return written + [f for f in extra if f is not None]


def plot_curves(p: _Problem, curves: pd.DataFrame, axis: str, out_dir: Path, smooth) -> Path:
    """Suboptimality against samples or seconds (``axis``) at each variant's best lr."""
    xlabel, xcol = CURVE_AXES[axis]
    fig, ax = figure()
    start = (p.lanes["f0"] - p.lanes["f_star"]).astype(float).median()
    norm = problem_lines.measure_of(p.lanes) == "grad_norm"  # the curves hold gradient norms (f* 0)
    start_label = "start: ||grad f(w0)||" if norm else "start: f(w0) - f*"
    ax.axhline(max(start, p.floor), color="0.75", lw=1, label=start_label)
    _targets(ax, p.lanes, p.floor, p.hits)
    clipped = False
    # compared over the budget every variant had (bench.report.budget)
    cap = budget.common(p.lanes)
    curves = curves[pd.to_numeric(curves["samples"]) <= cap]
    for b in p.best.itertuples(index=False):
        key = (b.variant, b.batch_size, b.optimizer)
        rows = curves[
            (curves["variant"].astype(str) == str(b.variant))
            & (curves["batch_size"] == b.batch_size)
            & (curves["optimizer"].astype(str) == str(b.optimizer))
            & np.isclose(curves["lr"].astype(float), b.lr, rtol=1e-9, atol=0)
        ]
        if rows.empty:
            continue
        # batch GD curves are not noisy: smoothing would only make them lag
        alpha = smooth if b.kind != "batch" else None  # the lanes' kind column: the descent
        x, med, q25, q75 = _median_curve(rows, xcol, alpha)
        # the start (x = 0) has no place on a log axis: the "start" line gives its level
        keep = x > 0
        x, med, q25, q75 = x[keep], med[keep], q25[keep], q75[keep]
        clipped |= bool((med <= p.floor).any())
        # f - f* can be 0 or slightly negative (float rounding at the optimum): a log
        # axis cannot show it, so clip to a floor far below any target (named in the legend)
        med, q25, q75 = (np.clip(v, p.floor, None) for v in (med, q25, q75))
        label = f"{p.labels[key]}, lr={short(b.lr)}"
        if p.hits is None:  # with a ladder, the tables say which targets each row reached
            label += "" if b.all_converged else " (none converged)"
        # a curve of two or three points (a fast batch run) is invisible as a bare line
        marker = "o" if len(x) <= 3 else None
        color = p.colors[key]
        ax.plot(x, med, color=color, lw=1.6, marker=marker, ms=4, label=label)
        ax.fill_between(x, q25, q75, color=color, alpha=0.2, lw=0)
    if clipped:
        ax.axhline(p.floor, color="0.6", ls="--", lw=0.8, label=FLOOR_LABEL)
    ax.set_xscale("log")
    smooth_note = f", EWMA alpha={short(smooth)} (not batch)" if smooth is not None else ""
    finish(
        ax,
        xlabel,
        "||grad f(w)|| (log scale)" if norm else "f(w) - f* (log scale)",
        f"{p.title}: {problem_lines.QUANTITY[problem_lines.measure_of(p.lanes)]} at the best lr\n"
        f"{p.where}\nmedian of {plural(p.seeds, 'seed')}, band: {BAND}{smooth_note}; "
        f"budget {cap} samples",
    )
    return save(fig, out_dir / f"{slug(p.name)}-{axis}.png")


def plot_lr_samples(p: _Problem, out_dir: Path) -> Path:
    """Samples to a target against the learning rate, one line per variant, 2/L marked.

    Each variant's line is drawn at the target its best lr was chosen at (the tightest target
    every seed of some rate hit, :func:`bench.report.ladder.best_lrs`), named in its legend entry;
    the circle marks the best lr, the lowest point of that line (ties: the smaller rate). A
    variant that reached no target is drawn at the loosest one, with no circle.
    """
    fig, ax = figure()
    ax.set_xscale("log")
    picks = ladder.best_lrs(p.hits).set_index(["variant", "optimizer"])["reached_target"]
    loosest = float(p.hits["target"].max())
    missed, drawn, strip = [], False, None
    for b in p.best.itertuples(index=False):
        key = (b.variant, b.batch_size, b.optimizer)
        target = picks.get((b.variant, b.optimizer), np.nan)
        target = loosest if pd.isna(target) else float(target)
        h = p.hits[
            (p.hits["variant"] == b.variant)
            & (p.hits["optimizer"] == b.optimizer)
            & np.isclose(p.hits["target"], target)
        ]
        lrs, med, lo, hi, miss = _samples_by_lr(h)
        color = p.colors[key]
        label = f"{p.labels[key]}: to {short(target)}"
        ax.plot(lrs, med, "o-", color=color, ms=3, lw=1.4, label=label)
        ax.fill_between(lrs, lo, hi, color=color, alpha=0.2, lw=0)
        at = np.isclose(lrs, b.lr, rtol=1e-9, atol=0)
        if at.any():
            ax.plot(lrs[at], med[at], "o", mfc="none", mec=color, ms=9, mew=1.5)
        if miss.any():
            missed.append((lrs[miss], color))
        drawn |= bool(np.isfinite(med).any())
    if not drawn:
        # no rate reached a target on every seed (the normal result of a short budget): the
        # line at the budget gives the log axis a range, and says why there is no curve
        ax.axhline(budget.common(p.lanes), color="0.45", ls="--", lw=1, label=NO_TARGET)
    if missed:
        strip = marks.strip(ax, missed, "missed")
    marks.lr_keys(
        ax, p.lanes, BEST_RULE, "x (strip above): a seed missed the target" if missed else None
    )
    finish(
        ax,
        "learning rate (log scale)",
        "samples to the target x (f0 - f*), first-hit",
        f"{p.title}: samples to target vs learning rate\n"
        f"{p.where}\nmedian of {plural(p.seeds, 'seed')}, band: {BAND}",
    )
    marks.title_above(ax, strip)
    return save(fig, out_dir / f"{slug(p.name)}-lr.png")


#: The rule of the circled best lr, said in the legend (the tables' rule, bench.entries).
BEST_RULE = "best lr: fewest median samples to the line's target"
NO_TARGET = "sample budget: no lr got there"


def _samples_by_lr(h: pd.DataFrame):
    """Per lr: median first-hit samples and its bootstrap interval (NaN unless every seed got
    there), and whether a seed missed."""
    lrs, med, lo, hi, miss = [], [], [], [], []
    for lr, g in h.groupby("lr", sort=True):
        v = pd.to_numeric(g["first_samples"], errors="coerce").astype(float)
        ok = v.notna().all()
        m = median_ci(v.to_numpy()) if ok else (np.nan,) * 3
        lrs.append(float(lr))
        med.append(m[0])
        lo.append(m[1])
        hi.append(m[2])
        miss.append(not ok)
    as_float = (np.asarray(v, float) for v in (lrs, med, lo, hi))
    return (*as_float, np.asarray(miss, bool))


def plot_lr(p: _Problem, out_dir: Path) -> Path:
    """Final suboptimality against the learning rate, one line per variant (runs without
    target ladders, whose early stopping leaves every converged rate at about tol)."""
    fig, ax = figure()
    ax.set_xscale("log")
    _targets(ax, p.lanes, p.floor, None)
    diverged = []
    for b in p.best.itertuples(index=False):
        key = (b.variant, b.batch_size, b.optimizer)
        e = p.lanes[
            (p.lanes["variant"].astype(str) == str(b.variant))
            & (p.lanes["batch_size"] == b.batch_size)
            & (p.lanes["optimizer"].astype(str) == str(b.optimizer))
        ]
        lrs, med, q25, q75, bad = _final_by_lr(e)
        med, q25, q75 = (np.clip(v, p.floor, None) for v in (med, q25, q75))
        color = p.colors[key]
        ax.plot(lrs, med, "o-", color=color, ms=3, lw=1.4, label=p.labels[key])
        ax.fill_between(lrs, q25, q75, color=color, alpha=0.2, lw=0)
        ax.plot([b.lr], [max(b.final_subopt, p.floor)], "o", mfc="none", mec=color, ms=9, mew=1.5)
        if bad.any():
            diverged.append((lrs[bad], color))  # off the chart: in the strip above it
    strip = marks.strip(ax, diverged, "diverged") if diverged else None
    rule = "best lr: fewest median samples to tol, all seeds converged"
    marks.lr_keys(ax, p.lanes, rule, "x (strip above): a seed diverged" if diverged else None)
    finish(
        ax,
        "learning rate (log scale)",
        "final f(w) - f* (log scale)",
        f"{p.title}: final suboptimality vs learning rate\n"
        f"{p.where}\nmedian of {plural(p.seeds, 'seed')} without diverged ones, band: {BAND}",
    )
    marks.title_above(ax, strip)
    return save(fig, out_dir / f"{slug(p.name)}-lr.png")


def _final_by_lr(e: pd.DataFrame):
    """Per lr: median of the final suboptimality of the seeds that did not diverge and its
    bootstrap interval, and whether any seed diverged."""
    lrs, med, q25, q75, bad = [], [], [], [], []
    for lr, g in e.groupby("lr", sort=True):
        live = g.loc[g["status"] != "diverged", "final_subopt"].astype(float)
        live = live[np.isfinite(live)]
        lrs.append(float(lr))
        m = median_ci(live.to_numpy()) if len(live) else (np.nan,) * 3
        med.append(m[0])
        q25.append(m[1])
        q75.append(m[2])
        bad.append(bool((g["status"] == "diverged").any()))
    as_float = (np.asarray(v, float) for v in (lrs, med, q25, q75))
    return (*as_float, np.asarray(bad, bool))


def _floor(lanes: pd.DataFrame) -> float:
    """Smallest suboptimality drawn on a log axis: 1e-12 of the problem's initial gap."""
    gap = (pd.to_numeric(lanes["f0"]) - pd.to_numeric(lanes["f_star"])).abs().max()
    return max(float(gap) * 1e-12 if np.isfinite(gap) else 0.0, np.finfo(np.float64).tiny)


def _median_curve(rows: pd.DataFrame, x: str, smooth: float | None):
    """Median over seeds of one entry at one lr, against column ``x``, and its bootstrap
    interval (NaN at points where a seed has no finite value).

    A lane that stopped early (converged, frozen) keeps its last value up to the entry's last
    evaluated step, as its parameters do; non-finite values (a diverging lane) are left out.
    """
    xs = rows.drop_duplicates("step").set_index("step")[x].sort_index()
    grid = xs.index.to_numpy()
    cols = {}
    for seed, g in rows.groupby("seed", sort=True):
        g = g.sort_values("step")
        y = g["subopt"].to_numpy(np.float64)
        if smooth is not None:
            y = ewma(y, smooth)
        s = pd.Series(y, index=g["step"].to_numpy()).reindex(grid)
        last = g["step"].iloc[-1]
        s[grid > last] = y[-1]
        cols[seed] = s
    wide = pd.DataFrame(cols).replace([np.inf, -np.inf], np.nan)
    _, lo, hi = median_ci_rows(wide.to_numpy(np.float64))
    return xs.to_numpy(np.float64), wide.median(axis=1).to_numpy(), lo, hi


def _labels(best: pd.DataFrame) -> dict[tuple, str]:
    several = best["optimizer"].nunique() > 1
    out = {}
    for b in best.itertuples(index=False):
        label = f"{b.variant}, b={b.batch_size}"
        label += f", {b.optimizer}" if several else ""
        out[(b.variant, b.batch_size, b.optimizer)] = label
    return out


def _targets(ax, g: pd.DataFrame, floor: float, hits: pd.DataFrame | None) -> None:
    """A dotted line at each target level of a problem: the ladder's targets where the run has
    them, else tol; each level is target x (f0 - f*)."""
    gap = float((g["f0"] - g["f_star"]).astype(float).median())
    rel = sorted(set(hits["target"].astype(float))) if hits is not None else list(g["tol"])
    levels = sorted({float(t) * gap for t in rel if np.isfinite(float(t) * gap)})
    label = "targets: t x (f0 - f*)" if hits is not None else "target: tol x (f0 - f*)"
    for i, level in enumerate(levels):
        ax.axhline(max(level, floor), color="0.45", ls=":", lw=1, label=label if i == 0 else None)
