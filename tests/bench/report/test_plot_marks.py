"""The learning-rate plots' marks: the missed strip sits off the data axes, and 2/L and
2/(L+mu) are drawn as different kinds of mark (neither hides the other)."""

import numpy as np
import pandas as pd

from bench.report import plot_marks
from bench.report.figure import figure


def test_strip_is_above_the_axes_and_shares_x():
    fig, ax = figure()
    ax.set_xscale("log")
    ax.plot([1e-3, 1.0], [10.0, 100.0])
    s = plot_marks.strip(ax, [(np.array([1e-2, 1e-1]), "C0")], "missed")
    fig.draw_without_rendering()  # places the inset
    # in figure coordinates, the strip starts above the data axes' top edge, as wide as they are
    assert s.get_position().y0 >= ax.get_position().y1
    assert np.isclose(s.get_position().width, ax.get_position().width)
    assert s.get_xscale() == "log" and s.get_xlim() == ax.get_xlim()
    # the data axes hold no "x" mark
    assert all(line.get_marker() != "x" for line in ax.get_lines())


def test_rate_marks_are_a_line_and_a_triangle():
    _, ax = figure()
    plot_marks.rate_marks(ax, pd.DataFrame({"L": [2.0], "mu": [2e-4]}))
    labels = {line.get_label(): line for line in ax.get_lines()}
    two_l = next(v for k, v in labels.items() if k.startswith("2/L = 1"))
    best = next(v for k, v in labels.items() if k.startswith("2/(L+mu) = 1"))
    assert two_l.get_linestyle() == "--" and best.get_marker() == "^"
