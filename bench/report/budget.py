"""The sample budget of a problem, and the comparison made over it.

A suite gives each problem's variants one sample budget (steps x batch size: a batch step reads
all n rows, a stochastic step one), stated above the problem's tables. Where a suite file gives
its variants different budgets (still allowed), the report compares them over the **common
budget**: the smallest budget any variant of the problem had. A target first hit after the common
budget counts as not reached, for every variant alike, in the tables, the winners and the
performance profiles; the curves are drawn up to it. So no variant is scored as failing because it
had less budget than another, and none wins because it had more. The tables then carry a warning.

Example:
    >>> lanes = pd.DataFrame({"problem": ["p", "p"], "variant": ["a", "b"],
    ...     "optimizer": ["sgd", "sgd"], "batch_size": [1, 8], "steps": [80, 20], "n": [8, 8],
    ...     "epochs": [10, 20]})
    >>> budgets(lanes)
    {'a/sgd': 80, 'b/sgd': 160}
    >>> common(lanes)
    80
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report.tables import plural

# the columns of a hit row that one count (first-hit or stay-below) fills
_FIRST = ["first_step", "first_resolution", "first_epochs", "first_samples", "first_seconds"]
_STAY = ["stay_step", "stay_resolution", "stay_epochs", "stay_samples", "stay_seconds"]


def budgets(lanes: pd.DataFrame) -> dict[str, int]:
    """Each entry's sample budget (its steps x batch size), keyed ``variant/optimizer``.

    Args:
        lanes: the lane rows of one problem.
    """
    out = {}
    for (variant, opt), e in lanes.groupby(["variant", "optimizer"], sort=False):
        samples = pd.to_numeric(e["steps"]) * pd.to_numeric(e["batch_size"])
        out[f"{variant}/{opt}"] = int(samples.max())
    return out


def common(lanes: pd.DataFrame) -> int:
    """The sample budget every variant of one problem had: the smallest entry budget."""
    return min(budgets(lanes).values())


def clip(hits: pd.DataFrame | None, lanes: pd.DataFrame) -> pd.DataFrame | None:
    """The hits as if every run had stopped at its problem's common budget: a first-hit or
    stay-below count beyond it is dropped (not reached).

    A stay-below count within the budget is kept: the lane stayed below from there to the end of
    its own run, so through the common budget too.

    Args:
        hits: one row per (lane, target), or None (a run without ladders: returned as is).
        lanes: the run's lanes (for each problem's budgets).

    Example:
        >>> lanes = pd.DataFrame({"problem": ["p", "p"], "variant": ["a", "b"],
        ...     "optimizer": ["sgd", "sgd"], "batch_size": [1, 1], "steps": [10, 50]})
        >>> hits = pd.DataFrame({"problem": ["p", "p"], "variant": ["a", "b"],
        ...     "first_step": [4, 30], "first_samples": [4.0, 30.0], "stay_step": [9, 40],
        ...     "stay_samples": [9.0, 40.0]})
        >>> clip(hits, lanes)["first_samples"].tolist()
        [4.0, nan]
    """
    if hits is None:
        return None
    hits = hits.copy()
    for problem, g in lanes.groupby("problem", sort=False):
        cap = common(g)
        here = hits["problem"].astype(str) == str(problem)
        for cols in (_FIRST, _STAY):
            over = here & (pd.to_numeric(hits[cols[3]], errors="coerce") > cap)
            for c in cols:
                if c in hits.columns:
                    if hits[c].dtype.kind in "iub":
                        hits[c] = hits[c].astype("Float64" if c != "exact" else object)
                    hits.loc[over, c] = np.nan
    return hits


def line(lanes: pd.DataFrame) -> str:
    """The budget sentence above one problem's tables; a warning where the budgets differ.

    Example:
        >>> lanes = pd.DataFrame({"problem": ["p"] * 2, "variant": ["a", "b"],
        ...     "optimizer": ["sgd"] * 2, "batch_size": [1, 8], "steps": [16, 2], "n": [8, 8]})
        >>> line(lanes)
        'Budget: 16 samples (2 epochs of 8 rows) for every variant.'
    """
    b = budgets(lanes)
    n = int(pd.to_numeric(lanes["n"]).max()) if "n" in lanes.columns else 0
    cap = min(b.values())
    epochs = f" ({plural(cap // n, 'epoch')} of {n} rows)" if n and cap % n == 0 else ""
    if len(set(b.values())) == 1:
        return f"Budget: {cap} samples{epochs} for every variant."
    each = "; ".join(f"{k} {v}" for k, v in b.items())
    return (
        f"**Warning: unequal budgets** ({each} samples). Tables, curves and profiles compare "
        f"over the common budget of {cap} samples{epochs}: a target reached later counts as "
        "not reached."
    )
