"""Marks of the learning-rate plots (:mod:`bench.report.plots`): the strip above the axes where
rates that missed a target (or diverged) are marked, off the data axis; 2/L and 2/(L+mu), drawn so
that neither hides the other; the legend keys of the best-lr circle and the strip's "x".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report.tables import short


def strip(ax, marks: list[tuple[np.ndarray, str]], what: str):
    """A thin strip above the axes (sharing their x axis) with an "x" at each rate where a seed
    ``what`` (missed, diverged): off the data axis, so that no mark reads as a value."""
    strip = ax.inset_axes([0.0, 1.02, 1.0, 0.08], sharex=ax)
    strip.set_facecolor("0.94")
    strip.set_ylim(0, 1)
    strip.set_yticks([])
    strip.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    for i, (lrs, color) in enumerate(marks):
        # one row per line, so that two variants missing at the same rate are both seen
        y = (i + 1) / (len(marks) + 1)
        strip.plot(lrs, np.full(len(lrs), y), "x", color=color, ms=5, mew=1.5, clip_on=False)
    strip.text(-0.01, 0.5, what, transform=strip.transAxes, ha="right", va="center", fontsize=7)
    return strip


def title_above(ax, above) -> None:
    """Lift the title above the strip, where there is one."""
    if above is not None:
        ax.set_title(ax.get_title(), fontsize=9, pad=24)
        ax.figure.tight_layout()


def lr_keys(ax, lanes: pd.DataFrame, best: str, cross: str | None) -> None:
    """What both learning-rate plots end with: legend keys for the best-lr circle and the strip's
    "x" (when drawn), and the 2/L and 2/(L+mu) marks."""
    ax.plot([], [], "o", mfc="none", mec="0.3", ms=9, label=best)
    if cross is not None:
        ax.plot([], [], "x", color="0.3", ms=6, mew=1.5, label=cross)
    rate_marks(ax, lanes)


def rate_marks(ax, lanes: pd.DataFrame) -> None:
    """2/L (batch GD's stability limit) as a vertical line and 2/(L+mu) (the best constant rate)
    as a triangle on the x axis, where L is known: with a large kappa the two nearly coincide,
    and two lines would hide each other; the legend gives both values."""
    if "L" not in lanes.columns:
        return
    L = pd.to_numeric(lanes["L"], errors="coerce").dropna()
    mu = pd.to_numeric(lanes["mu"], errors="coerce").dropna()
    if L.empty or not L.iloc[0] > 0:  # no curvature recorded (an older run)
        return
    L = float(L.iloc[0])
    ax.axvline(2 / L, color="0.2", ls="--", lw=1, label=f"2/L = {short(2 / L)}: stability limit")
    if len(mu):
        best = 2 / (L + float(mu.iloc[0]))
        ax.plot(
            [best],
            [0.0],
            "^",
            color="0.1",
            ms=8,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            zorder=5,
            label=f"2/(L+mu) = {short(best)}: best constant rate",
        )
