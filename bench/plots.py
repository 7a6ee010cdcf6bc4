"""The report's plots: one function per plot kind, and where their files go.

Per problem, under ``results/plots/<suite>/`` (one sub-folder per machine when a suite ran on
several):

- ``<problem>-samples.png``: f - f* against samples seen, one line per variant at its best
  learning rate, median over seeds with a 25-75% band.
- ``<problem>-seconds.png``: the same against seconds (run time x step / steps run of the timed
  kernel, which runs every lane of the row at once).
- ``<problem>-lr.png``: final f - f* against the learning rate, median over seeds with a quartile
  band; an "x" at the top marks learning rates where a seed diverged.
"""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from bench import runs, tables
from bench.runs import Run
from bench.tables import plural, short

PLOT_KINDS = ("samples", "seconds", "lr")
PLOT_ALT = (
    "suboptimality vs samples",
    "suboptimality vs seconds",
    "final suboptimality vs learning rate",
)
# the x axis of each curve plot: label and curves column
CURVE_AXES = {
    "samples": ("samples seen (steps x batch size, log scale)", "samples"),
    "seconds": ("seconds (timed kernel, all lanes together, log scale)", "time_s"),
}


def slug(text: str) -> str:
    """A file-name-safe form of a problem or suite name.

    Examples:
        >>> slug("a b/c")
        'a-b-c'
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def plot_names(problem: str) -> list[str]:
    """File names of a problem's plots, in the order the README shows them.

    Examples:
        >>> plot_names("linear-64x3")
        ['linear-64x3-samples.png', 'linear-64x3-seconds.png', 'linear-64x3-lr.png']
    """
    return [f"{slug(problem)}-{kind}.png" for kind in PLOT_KINDS]


def plot_dir(results_dir: Path, run: Run, all_runs: list[Run]) -> Path:
    """``plots/<suite>/``; with several machines for a suite, one sub-folder per machine."""
    suite = slug(run.meta.get("suite", "suite"))
    same = [r for r in all_runs if r.meta.get("suite") == run.meta.get("suite")]
    base = Path(results_dir) / "plots" / suite
    if len(same) == 1:
        return base
    _, backend, kind, host = run.machine
    return base / slug(f"{backend}-{kind}-{host}".lower())


@dataclasses.dataclass
class _Problem:
    """What every plot of one problem of a run shares."""

    name: str
    lanes: pd.DataFrame
    best: pd.DataFrame
    labels: dict[tuple, str]
    colors: dict[tuple, str]
    floor: float
    title: str  # "<problem> (n x d)"
    where: str  # "<suite> on <device> (<backend>)"
    seeds: int


def _problem(run: Run, problem: str) -> _Problem:
    lanes = run.lanes[run.lanes["problem"].astype(str) == problem]
    best = tables.best(lanes)
    labels = _labels(best)
    n, d = int(lanes["n"].iloc[0]), int(lanes["d"].iloc[0])
    return _Problem(
        name=problem,
        lanes=lanes,
        best=best,
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
        for kind in CURVE_AXES:
            written.append(plot_curves(p, c, kind, out_dir, smooth))
    written.append(plot_lr(p, out_dir))
    return written


def plot_curves(p: _Problem, curves: pd.DataFrame, kind: str, out_dir: Path, smooth) -> Path:
    """Suboptimality against samples or seconds at each variant's best lr (``kind``)."""
    xlabel, xcol = CURVE_AXES[kind]
    fig, ax = _figure()
    start = (p.lanes["f0"] - p.lanes["f_star"]).astype(float).median()
    ax.axhline(max(start, p.floor), color="0.75", lw=1, label="start: f(w0) - f*")
    _targets(ax, p.lanes, p.floor)
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
        alpha = smooth if b.kind != "batch" else None
        x, med, q25, q75 = _median_curve(rows, xcol, alpha)
        # f - f* can be 0 or slightly negative (float rounding at the optimum): a log
        # axis cannot show it, so clip to a floor far below any target
        med, q25, q75 = (np.clip(v, p.floor, None) for v in (med, q25, q75))
        keep = x > 0  # the start (x = 0) has no place on a log axis: see the grey line
        label = f"{p.labels[key]}, lr={short(b.lr)}"
        label += "" if b.all_converged else " (none converged)"
        # a curve of one or two points (a fast batch run) is invisible as a bare line
        marker = "o" if keep.sum() <= 3 else None
        color = p.colors[key]
        ax.plot(x[keep], med[keep], color=color, lw=1.6, marker=marker, ms=4, label=label)
        ax.fill_between(x[keep], q25[keep], q75[keep], color=color, alpha=0.2, lw=0)
    smooth_note = f", EWMA alpha={short(smooth)} (not batch)" if smooth is not None else ""
    _finish(
        ax,
        xlabel,
        "f(w) - f* (log scale)",
        f"{p.title}: suboptimality at the best lr\n"
        f"{p.where}; median of {plural(p.seeds, 'seed')}, 25-75% band{smooth_note}",
    )
    return _save(fig, out_dir / f"{slug(p.name)}-{kind}.png")


def plot_lr(p: _Problem, out_dir: Path) -> Path:
    """Final suboptimality against the learning rate, one line per variant."""
    fig, ax = _figure()
    _targets(ax, p.lanes, p.floor)
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
            # diverged: off the chart; an "x" at the top of the axis, x in data, y in axes units
            ax.plot(
                lrs[bad],
                np.full(int(bad.sum()), 0.97),
                "x",
                color=color,
                ms=7,
                mew=1.8,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
            )
            diverged = True
    ax.plot([], [], "o", mfc="none", mec="0.3", ms=9, label="best lr")
    if diverged:
        ax.plot([], [], "x", color="0.3", ms=7, mew=1.8, label="x: a seed diverged (off the chart)")
    _finish(
        ax,
        "learning rate (log scale)",
        "final f(w) - f* (log scale)",
        f"{p.title}: final suboptimality vs learning rate\n"
        f"{p.where}; median of {plural(p.seeds, 'seed')} without diverged ones, 25-75% band",
    )
    return _save(fig, out_dir / f"{slug(p.name)}-lr.png")


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


def ewma(values: np.ndarray, alpha: float) -> np.ndarray:
    """EWMA skipping NaN (pandas' ``ewm``), NaN where the input is NaN.

    Examples:
        >>> ewma(np.array([1.0, np.nan, 3.0]), 0.5).tolist()
        [1.0, nan, 2.0]
    """
    s = pd.Series(values, dtype=np.float64)
    return s.ewm(alpha=alpha, adjust=False, ignore_na=True).mean().where(s.notna()).to_numpy()


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


def _figure():
    """A figure and its axes, without pyplot (no global backend switch, nothing left open)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2))
    return fig, fig.subplots()


def _finish(ax, xlabel: str, ylabel: str, title: str) -> None:
    """Log axes, labels, title, grid and legend: what every plot ends with."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.figure.tight_layout()


def _save(fig, path: Path) -> Path:
    """Save the figure as PNG atomically; returns ``path``."""
    from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation

    for ax in fig.axes:
        # a log axis shorter than ~2 decades labels its minor ticks 2..9, which run into each
        # other: label only 2 and 5 there, and no minor tick on longer axes
        lo, hi = ax.get_xlim()
        short_axis = lo > 0 and np.log10(hi / lo) < 2
        sci = LogFormatterSciNotation(labelOnlyBase=False)

        def minor(v, pos, short_axis=short_axis, sci=sci):
            mantissa = round(v / 10 ** np.floor(np.log10(v)), 6) if v > 0 else 0
            return sci(v, pos) if short_axis and mantissa in (2, 5) else ""

        ax.xaxis.set_minor_formatter(FuncFormatter(minor))
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})  # no date or version
    runs.atomic_write(path, lambda p: p.write_bytes(buf.getvalue()))
    return path


def _labels(best: pd.DataFrame) -> dict[tuple, str]:
    several = best["optimizer"].nunique() > 1
    out = {}
    for b in best.itertuples(index=False):
        label = f"{b.variant}, b={b.batch_size}"
        label += f", {b.optimizer}" if several else ""
        out[(b.variant, b.batch_size, b.optimizer)] = label
    return out


def _targets(ax, g: pd.DataFrame, floor: float) -> None:
    """A dotted line at each distinct target level tol x (f0 - f*) of a problem."""
    levels = (g["tol"] * (g["f0"] - g["f_star"])).astype(float)
    for i, level in enumerate(sorted({float(v) for v in levels if np.isfinite(v)})):
        ax.axhline(
            max(level, floor),
            color="0.45",
            ls=":",
            lw=1,
            label="target: tol x (f0 - f*)" if i == 0 else None,
        )
