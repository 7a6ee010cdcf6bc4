"""Two plots of the non-convex problems: the paths on the loss's contours, and success rates.

- ``<problem>-paths.png`` (2-D problems of gdjax's non-convex factories whose run recorded
  trajectories, ``bench.runs.read_params``): the contours of f, and per variant at its best
  learning rate (the ladder's; without one, the middle rate of its grid, said in the legend)
  each seed's path as a thin line and the *median path* as a thick one: the path of the medoid
  seed, the one whose path is closest to all the others' (summed distance over the evaluation
  points). An elementwise median of paths that split between two minima (the saddle's) would be
  a path no lane took; the medoid is a real one.
- ``<problem>-success.png`` (runs that record their problems): per target, the fraction of
  seeds that reached it against the learning rate, one line per variant.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pandas as pd

from bench.entries import ENTRY
from bench.report import ladder, landscape, success
from bench.report.figure import figure, save
from bench.report.tables import short
from bench.runs import Run, slug

__all__ = ["medoid", "plot_paths", "plot_success"]


def medoid(paths: np.ndarray) -> int:
    """The index of the path closest to all the others: the smallest summed Euclidean distance
    over the points they share (paths padded with NaN past their end).

    Args:
        paths: (seeds, points, 2).

    Example:
        >>> p = np.array([[[0, 0], [1, 1]], [[0, 0], [1, 2]], [[0, 0], [5, 5]]], float)
        >>> medoid(p)
        1
    """
    diff = paths[:, None] - paths[None, :]
    dist = np.sqrt((diff**2).sum(-1))
    total = np.nansum(dist, axis=(1, 2))
    return int(np.argmin(total))


def _lanes_paths(rows: pd.DataFrame) -> np.ndarray:
    """(seeds, points, 2) from one rate's params rows (points past a lane's stop: NaN)."""
    path = rows[~rows["final"].astype(bool)]
    steps = np.sort(path["step"].unique())
    out = np.full((path["seed"].nunique(), len(steps), 2), np.nan)
    for i, (_, g) in enumerate(path.groupby("seed", sort=True)):
        at = np.searchsorted(steps, g["step"].to_numpy())
        out[i, at, 0], out[i, at, 1] = g["p0"].to_numpy(), g["p1"].to_numpy()
    return out


def _rate(hits: pd.DataFrame, entry_params: pd.DataFrame, key) -> tuple[float, bool]:
    """The rate a variant's paths are drawn at: its best (ladder) rate, else its grid's
    middle one (False: not a best rate)."""
    best = ladder.best_lrs(hits) if hits is not None and len(hits) else None
    if best is not None:
        same = (best[ENTRY] == pd.Series(key, index=ENTRY)).all(axis=1)
        lr = best.loc[same, "lr"]
        if len(lr) and not pd.isna(lr.iloc[0]):
            return float(lr.iloc[0]), True
    lrs = np.sort(entry_params["lr"].unique())
    return float(lrs[len(lrs) // 2]), False


def _box(points: np.ndarray, marks: np.ndarray) -> tuple[tuple, tuple]:
    """Axis limits around the paths' central points and the marks (start, optimum)."""
    pts = points[np.all(np.isfinite(points), axis=1)]
    both = np.concatenate([pts, marks]) if len(pts) else marks
    lo = np.minimum(np.quantile(both, 0.01, axis=0), marks.min(axis=0))
    hi = np.maximum(np.quantile(both, 0.99, axis=0), marks.max(axis=0))
    pad = np.maximum((hi - lo) * 0.12, 0.1)
    return (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])


def plot_paths(run: Run, problem: str, out_dir: Path) -> Path | None:
    """The contour plot of one 2-D problem with its variants' paths (None where there is no
    such problem or no trajectory)."""
    obj = landscape.objective(run, problem)
    params = run.params()
    if obj is None or params is None:
        return None
    params = params[params["problem"].astype(str) == problem]
    if params.empty or "p1" not in params or params["p1"].isna().all():
        return None
    hits = run.hits()
    hits = hits[hits["problem"].astype(str) == problem] if hits is not None else None
    fig, ax = figure(width=8.6)
    drawn, everything = [], []
    for i, (key, e) in enumerate(params.groupby(ENTRY, sort=False)):
        lr, is_best = _rate(hits, e, key)
        paths = _lanes_paths(e[np.isclose(e["lr"].astype(float), lr, rtol=1e-9, atol=0)])
        drawn.append((key, lr, is_best, paths, f"C{i % 10}"))
        everything.append(paths.reshape(-1, 2))
    marks = np.concatenate([obj.start[None], obj.minimisers])
    (x0, x1), (y0, y1) = _box(np.concatenate(everything), marks)
    gx, gy = np.meshgrid(np.linspace(x0, x1, 160), np.linspace(y0, y1, 160))
    f = jax.jit(jax.vmap(obj.f))(np.stack([gx.ravel(), gy.ravel()], axis=1))
    z = np.asarray(f, np.float64).reshape(gx.shape) - obj.f_star
    # log-spaced levels of f - f*: the valleys (Rosenbrock's, Beale's) are where the paths go
    levels = np.geomspace(max(np.quantile(z, 0.01), 1e-3), max(z.max(), 1e-2), 14)
    ax.contour(gx, gy, np.maximum(z, 1e-12), levels=levels, colors="0.6", linewidths=0.6)
    for key, lr, is_best, paths, color in drawn:
        for s in range(paths.shape[0]):
            ax.plot(paths[s, :, 0], paths[s, :, 1], color=color, lw=0.4, alpha=0.25)
        m = paths[medoid(paths)]
        m = m[np.all(np.isfinite(m), axis=1)]
        rate = f"lr {short(lr)}" + ("" if is_best else ", no best lr: mid-grid")
        ax.plot(m[:, 0], m[:, 1], color=color, lw=1.3, alpha=0.9, label=f"{key[2]} ({rate})")
        if len(m):  # where the median path ended (a batch lane at the saddle never moves)
            ax.plot(*m[-1], "o", color=color, ms=6, mec="k", mew=0.6)
    ax.plot(*obj.start, "k^", ms=7, label="start")
    best = obj.minimisers
    label = "global minimum" if len(best) == 1 else "global minima"
    ax.plot(best[:, 0], best[:, 1], "k*", ms=11, ls="none", label=label)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("w[0]")
    ax.set_ylabel("w[1]")
    seeds = int(params["seed"].nunique())
    ax.set_title(
        f"{problem}: contours of f - f* (log levels); bold: median (medoid) path of "
        f"{seeds} seeds, dot at its end; faint: each seed\n{run.meta.get('suite')} on "
        f"{run.device}",
        fontsize=8,
    )
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.tight_layout()
    return save(fig, Path(out_dir) / f"{slug(problem)}-paths.png")


def plot_success(run: Run, problem: str, out_dir: Path) -> Path | None:
    """Success rate against the learning rate, one panel per target (None without hits)."""
    hits = run.hits()
    if hits is None or not success.shown(run):
        return None
    hits = hits[hits["problem"].astype(str) == problem]
    if hits.empty:
        return None
    frame = success.by_rate(hits)
    targets = sorted(frame["target"].unique(), reverse=True)
    fig, axes = figure(ncols=len(targets), width=2.6 * len(targets) + 1.6)
    axes = np.atleast_1d(axes)
    for ax, target in zip(axes, targets, strict=True):
        t = frame[frame["target"] == target]
        for i, (key, g) in enumerate(t.groupby(ENTRY, sort=False)):
            g = g.sort_values("lr")
            ax.plot(g["lr"], g["reached"], "o-", color=f"C{i % 10}", ms=3, label=str(key[2]))
        ax.set_xscale("log")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("learning rate")
        ax.set_title(f"target {short(target)}", fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("fraction of seeds reaching it")
    axes[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.suptitle(f"{problem}: success rate against the learning rate", fontsize=9)
    fig.tight_layout()
    return save(fig, Path(out_dir) / f"{slug(problem)}-success.png")
