"""Matplotlib without pyplot: a figure, the common finish of a log-log panel, an atomic PNG save."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from bench import runs


def figure(ncols: int = 1, width: float = 8.6):
    """A figure and its axes, without pyplot (no global backend switch, nothing left open).

    Args:
        ncols: axes side by side.
        width: inches; the default leaves a strip on the right for the legend.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 4.2))
    return fig, fig.subplots(ncols=ncols)


def finish(ax, xlabel: str, ylabel: str, title: str) -> None:
    """Log axes (unless set before), labels, title, grid, and the legend outside the axes."""
    if ax.get_xscale() == "linear":
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    # outside, to the right: a legend inside the axes covers some curve on some problem
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    ax.figure.tight_layout()


def save(fig, path: Path) -> Path:
    """Save the figure as PNG atomically; returns ``path``."""
    from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation

    for ax in fig.axes:
        if ax.get_xscale() != "log":
            continue
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
