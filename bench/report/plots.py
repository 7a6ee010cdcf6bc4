"""The report's plots: one function per plot, and where their files go.

Per problem, under ``results/plots/<suite>/`` (one sub-folder per machine when a suite ran on
several):

- ``<problem>-samples.png``: f - f* against samples seen, one line per variant at its best
  learning rate, median over seeds with a 25-75% band, from step 0 (a symlog axis: linear
  below the first step's samples, so the start has a place).
- ``<problem>-seconds.png``: the same against seconds (run time x step / steps run of the timed
  kernel, which runs every lane of the row at once).
- ``<problem>-lr.png``: samples to a target against the learning rate (runs with target
  ladders; early stopping cannot flatten it), else final f - f* against the rate; 2/L marked.

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
from bench.report import ladder
from bench.report.figure import figure, finish, save
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
RUN_PLOTS = "<run>"  # key of ``Run.plots`` for the plots of a whole run (not a problem name)
# the x axis of each curve plot: label and curves column
CURVE_AXES = {
    "samples": ("samples seen (steps x batch size; symlog: linear up to the 1st step)", "samples"),
    "seconds": ("seconds (timed kernel, all lanes together; symlog)", "time_s"),
}
FLOOR_LABEL = "f - f* <= 0 (float rounding at the optimum) drawn here"


def plot_names(problem: str) -> list[str]:
    """File names of a problem's plots, in the order the README shows them.

    Examples:
        >>> plot_names("linear-64x3")
        ['linear-64x3-samples.png', 'linear-64x3-seconds.png', 'linear-64x3-lr.png']
    """
    return [f"{slug(problem)}-{plot}.png" for plot in PLOTS]


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
    hits = run.hits()
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
    return written


def plot_curves(p: _Problem, curves: pd.DataFrame, axis: str, out_dir: Path, smooth) -> Path:
    """Suboptimality against samples or seconds (``axis``) at each variant's best lr."""
    xlabel, xcol = CURVE_AXES[axis]
    fig, ax = figure()
    start = (p.lanes["f0"] - p.lanes["f_star"]).astype(float).median()
    norm = ladder.measure_of(p.lanes) == "grad_norm"  # the curves hold gradient norms (f* 0)
    start_label = "start: ||grad f(w0)||" if norm else "start: f(w0) - f*"
    ax.axhline(max(start, p.floor), color="0.75", lw=1, label=start_label)
    _targets(ax, p.lanes, p.floor, p.hits)
    clipped, first_x = False, []
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
        clipped |= bool((med <= p.floor).any())
        # f - f* can be 0 or slightly negative (float rounding at the optimum): a log
        # axis cannot show it, so clip to a floor far below any target (named in the legend)
        med, q25, q75 = (np.clip(v, p.floor, None) for v in (med, q25, q75))
        first_x += [v for v in x if v > 0][:1]
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
    # symlog: step 0 (x = 0) is drawn; linear below the smallest first step, log above it
    ax.set_xscale("symlog", linthresh=min(first_x) if first_x else 1.0, linscale=1.0)
    ax.set_xlim(left=0)  # nothing is negative: no mirrored half-axis
    smooth_note = f", EWMA alpha={short(smooth)} (not batch)" if smooth is not None else ""
    finish(
        ax,
        xlabel,
        "||grad f(w)|| (log scale)" if norm else "f(w) - f* (log scale)",
        f"{p.title}: {ladder.QUANTITY[ladder.measure_of(p.lanes)]} at the best lr\n"
        f"{p.where}; median of {plural(p.seeds, 'seed')}, 25-75% band{smooth_note}",
    )
    return save(fig, out_dir / f"{slug(p.name)}-{axis}.png")


def plot_lr_samples(p: _Problem, out_dir: Path) -> Path:
    """Samples to one target against the learning rate, one line per variant, 2/L marked.

    The target is the tightest one that every variant reached (on every seed at some rate),
    else the loosest of the ladder: one target for every line, so the lines compare.
    """
    fig, ax = figure()
    reached = ladder.best_lrs(p.hits)["reached_target"]
    target = float(reached.max()) if reached.notna().all() else float(p.hits["target"].max())
    missed = drawn = False
    for b in p.best.itertuples(index=False):
        key = (b.variant, b.batch_size, b.optimizer)
        h = p.hits[(p.hits["variant"] == b.variant) & np.isclose(p.hits["target"], target)]
        lrs, med, q25, q75, miss = _samples_by_lr(h)
        color = p.colors[key]
        ax.plot(lrs, med, "o-", color=color, ms=3, lw=1.4, label=p.labels[key])
        ax.fill_between(lrs, q25, q75, color=color, alpha=0.2, lw=0)
        if np.isclose(lrs, b.lr, rtol=1e-9, atol=0).any():
            at = np.isclose(lrs, b.lr, rtol=1e-9, atol=0)
            ax.plot(lrs[at], med[at], "o", mfc="none", mec=color, ms=9, mew=1.5)
        if miss.any():
            _top_marks(ax, lrs[miss], color)
            missed = True
        drawn |= bool(np.isfinite(med).any())
    if not drawn:
        # no rate reached the target on every seed (the normal result of a short budget): the
        # line at the budget gives the log axis a range, and says why there is no curve
        budget = float((p.lanes["steps"].astype(float) * p.lanes["batch_size"]).max())
        ax.axhline(budget, color="0.45", ls="--", lw=1, label="sample budget: no lr got there")
    _lr_keys(ax, p, "best lr (README tables)", "x: a seed missed the target" if missed else None)
    finish(
        ax,
        "learning rate (log scale)",
        f"samples to {short(target)} x (f0 - f*), first-hit",
        f"{p.title}: samples to target {short(target)} vs learning rate\n"
        f"{p.where}; median of {plural(p.seeds, 'seed')}, 25-75% band",
    )
    return save(fig, out_dir / f"{slug(p.name)}-lr.png")


def _samples_by_lr(h: pd.DataFrame):
    """Per lr: median and quartiles of first-hit samples (NaN unless every seed got there),
    and whether a seed missed."""
    lrs, med, q25, q75, miss = [], [], [], [], []
    for lr, g in h.groupby("lr", sort=True):
        v = pd.to_numeric(g["first_samples"], errors="coerce").astype(float)
        ok = v.notna().all()
        lrs.append(float(lr))
        med.append(v.median() if ok else np.nan)
        q25.append(v.quantile(0.25) if ok else np.nan)
        q75.append(v.quantile(0.75) if ok else np.nan)
        miss.append(not ok)
    as_float = (np.asarray(v, float) for v in (lrs, med, q25, q75))
    return (*as_float, np.asarray(miss, bool))


def _top_marks(ax, lrs: np.ndarray, color: str) -> None:
    """An "x" at the top of the axes at each of these rates: x in data, y in axes units."""
    ax.plot(
        lrs,
        np.full(len(lrs), 0.97),
        "x",
        color=color,
        ms=7,
        mew=1.8,
        transform=ax.get_xaxis_transform(),
        clip_on=False,
    )


def _lr_keys(ax, p: _Problem, best: str, cross: str | None) -> None:
    """What both learning-rate plots end with: legend keys for the best-lr circle and the top
    "x" (when drawn), and the 2/L and 2/(L+mu) lines."""
    ax.plot([], [], "o", mfc="none", mec="0.3", ms=9, label=best)
    if cross is not None:
        ax.plot([], [], "x", color="0.3", ms=7, mew=1.8, label=cross)
    _rate_marks(ax, p.lanes)


def _rate_marks(ax, lanes: pd.DataFrame) -> None:
    """Vertical lines at 2/L (batch GD's stability limit) and 2/(L+mu), where L is known."""
    if "L" not in lanes.columns:
        return
    L = pd.to_numeric(lanes["L"], errors="coerce").dropna()
    mu = pd.to_numeric(lanes["mu"], errors="coerce").dropna()
    if L.empty or not L.iloc[0] > 0:  # no curvature recorded (an older run)
        return
    L = float(L.iloc[0])
    ax.axvline(2 / L, color="0.2", ls="--", lw=1, label="2/L: batch GD stability limit")
    if len(mu):
        best = 2 / (L + float(mu.iloc[0]))
        ax.axvline(best, color="0.2", ls=":", lw=1, label="2/(L+mu): best constant rate")


def plot_lr(p: _Problem, out_dir: Path) -> Path:
    """Final suboptimality against the learning rate, one line per variant (runs without
    target ladders, whose early stopping leaves every converged rate at about tol)."""
    fig, ax = figure()
    _targets(ax, p.lanes, p.floor, None)
    diverged = False
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
            _top_marks(ax, lrs[bad], color)  # diverged: off the chart
            diverged = True
    _lr_keys(ax, p, "best lr", "x: a seed diverged (off the chart)" if diverged else None)
    finish(
        ax,
        "learning rate (log scale)",
        "final f(w) - f* (log scale)",
        f"{p.title}: final suboptimality vs learning rate\n"
        f"{p.where}; median of {plural(p.seeds, 'seed')} without diverged ones, 25-75% band",
    )
    return save(fig, out_dir / f"{slug(p.name)}-lr.png")


def _final_by_lr(e: pd.DataFrame):
    """Per lr: median and quartiles of the final suboptimality of the seeds that did not
    diverge, and whether any seed diverged."""
    lrs, med, q25, q75, bad = [], [], [], [], []
    for lr, g in e.groupby("lr", sort=True):
        live = g.loc[g["status"] != "diverged", "final_subopt"].astype(float)
        live = live[np.isfinite(live)]
        lrs.append(float(lr))
        med.append(live.median() if len(live) else np.nan)
        q25.append(live.quantile(0.25) if len(live) else np.nan)
        q75.append(live.quantile(0.75) if len(live) else np.nan)
        bad.append(bool((g["status"] == "diverged").any()))
    as_float = (np.asarray(v, float) for v in (lrs, med, q25, q75))
    return (*as_float, np.asarray(bad, bool))


def _floor(lanes: pd.DataFrame) -> float:
    """Smallest suboptimality drawn on a log axis: 1e-12 of the problem's initial gap."""
    gap = (pd.to_numeric(lanes["f0"]) - pd.to_numeric(lanes["f_star"])).abs().max()
    return max(float(gap) * 1e-12 if np.isfinite(gap) else 0.0, np.finfo(np.float64).tiny)


def _median_curve(rows: pd.DataFrame, x: str, smooth: float | None):
    """Median and quartiles over seeds of one entry at one lr, against column ``x``.

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
    return (
        xs.to_numpy(np.float64),
        wide.median(axis=1).to_numpy(),
        wide.quantile(0.25, axis=1).to_numpy(),
        wide.quantile(0.75, axis=1).to_numpy(),
    )


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
