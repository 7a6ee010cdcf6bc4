"""The plot of a whole run: its performance profiles (:mod:`bench.report.profiles`), samples and
seconds, one step function per variant (runs with target ladders only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.report import budget, ladder, profiles
from bench.report.figure import figure, save
from bench.runs import Run

__all__ = ["PROFILE", "plot_profile", "plot_run"]

PROFILE = "profile.png"


def plot_run(run: Run, out_dir: Path) -> list[Path]:
    """The plots of a whole run: its performance profiles (runs with target ladders only, over
    enough compared problems: ``profiles.plottable``)."""
    hits = budget.clip(run.hits(), run.lanes)  # counts within each problem's common budget
    if hits is None:
        return []
    lad = ladder.ladder(hits)
    if not profiles.plottable(lad):  # the README prints its table instead
        return []
    where = f"{run.meta.get('suite')} on {run.device} ({run.env.get('backend')})"
    path = plot_profile(lad, out_dir / PROFILE, where)
    return [path] if path is not None else []


def plot_profile(lad: pd.DataFrame, path: Path, where: str) -> Path | None:
    """Two panels, samples and seconds: each variant's profile as a step function of tau.

    Args:
        lad: ``bench.report.ladder.ladder`` rows of every problem of a run.
        path: the PNG to write (atomically).
        where: "<suite> on <device>" for the title.

    Returns:
        ``path``, or None when no problem reached any target (nothing to draw).
    """
    panels = [(on, profiles.ratios(lad, on)) for on in ("samples", "seconds")]
    if all(r.empty for _, r in panels):
        return None
    fig, axes = figure(ncols=2, width=10.5)
    handles = {}
    for ax, (on, r) in zip(axes, panels, strict=True):
        finite = r.drop(columns="target").to_numpy(np.float64)
        finite = finite[np.isfinite(finite)]
        top = max(float(finite.max()) if finite.size else 1.0, 1.0) * 2
        taus = np.geomspace(1.0, top, 400)
        rho = profiles.fractions(r, taus)
        for i, v in enumerate(rho.columns):
            (line,) = ax.step(taus, rho[v], where="post", color=f"C{i % 10}", lw=1.6, label=v)
            handles[v] = line
        ax.set_xscale("log")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlim(1.0, top)
        ax.set_xlabel(f"tau: within this factor of the best variant's {on} (log scale)")
        ax.set_ylabel("fraction of problems")
        ax.set_title(f"{on} to the tightest reached target", fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
    # the target of each problem is listed in the README (a long list here would be cut)
    fig.suptitle(f"Performance profiles, {where}", fontsize=9)
    # the legend gets a strip of its own under the panels: it never covers a step
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=4, fontsize=7)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return save(fig, path)
