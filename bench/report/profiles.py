"""Performance profiles (Dolan and More, 2002; the way AlgoPerf scores submissions) of a run.

For each problem p and variant v, the ratio ``r(p, v) = cost(p, v) / min_v' cost(p, v')``, where
the cost is the median samples (or seconds) to the problem's **tightest reached target**: the
tightest target of the ladder that at least one variant hit on every seed at its best learning
rate (``bench.report.ladder``). A variant that did not reach it, or did not run on the problem, has
ratio infinity. The profile of v is ``rho_v(tau) = |{p : r(p, v) <= tau}| / |P|``: the fraction of
problems it solves within a factor tau of the best variant. ``rho_v(1)`` is how often v wins; the
height at large tau is how often it gets there at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: A profile is drawn only over at least this many problems that compare two variants or more;
#: below it, every line is a step at 1/|P| (each variant wins its own problems): a table says
#: the same without looking like a result.
MIN_PROFILE_PROBLEMS = 4


def compared_problems(lad: pd.DataFrame) -> int:
    """How many problems at least two variants ran (so that a ratio between them means something).

    Example:
        >>> lad = pd.DataFrame({"problem": ["p", "p", "q"], "variant": ["a", "b", "a"]})
        >>> compared_problems(lad)
        1
    """
    return int((lad.groupby("problem")["variant"].nunique() >= 2).sum())


def plottable(lad: pd.DataFrame) -> bool:
    """Whether a run's profile is worth a plot (:data:`MIN_PROFILE_PROBLEMS`)."""
    return compared_problems(lad) >= MIN_PROFILE_PROBLEMS


def ratios(lad: pd.DataFrame, on: str) -> pd.DataFrame:
    """Each variant's cost relative to the best, per problem, at the tightest reached target.

    Args:
        lad: ``bench.report.ladder.ladder`` rows of one or more problems.
        on: "samples" or "seconds" (first-hit medians).

    Returns:
        Index: problem (those where some variant reached a target); columns: "target" (the
        tightest reached one) and one per variant (ratio >= 1, inf where not reached).

    Examples:
        >>> lad = pd.DataFrame({"problem": ["p", "p"], "variant": ["a", "b"],
        ...     "target": [0.1, 0.1], "first_samples": [10.0, 30.0]})
        >>> ratios(lad, "samples").to_dict("records")
        [{'target': 0.1, 'a': 1.0, 'b': 3.0}]
    """
    col = f"first_{on}"
    variants = list(dict.fromkeys(lad["variant"].astype(str)))
    rows = {}
    for problem, g in lad.groupby("problem", sort=False):
        done = g[g[col].notna()]
        if done.empty:
            continue
        target = float(done["target"].min())
        at = done[done["target"] == target]
        cost = dict(zip(at["variant"].astype(str), at[col].astype(float), strict=True))
        # a cost of 0 (a problem solved at the start) would make every ratio inf or NaN
        best = max(min(cost.values()), np.finfo(np.float64).tiny)
        rows[problem] = {"target": target, **{v: cost.get(v, np.inf) / best for v in variants}}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["target", *variants])


def fractions(r: pd.DataFrame, taus: np.ndarray) -> pd.DataFrame:
    """``rho_v(tau)``: per variant, the fraction of problems with ratio <= tau.

    Args:
        r: ``ratios`` output.
        taus: factors >= 1.

    Returns:
        Index: tau; one column per variant.

    Examples:
        >>> r = pd.DataFrame({"target": [0.1, 0.1], "a": [1.0, 4.0], "b": [2.0, 1.0]})
        >>> fractions(r, np.array([1.0, 2.0, 4.0])).to_dict("list")
        {'a': [0.5, 0.5, 1.0], 'b': [0.5, 1.0, 1.0]}
    """
    variants = [c for c in r.columns if c != "target"]
    n = max(len(r), 1)
    return pd.DataFrame(
        {v: [(r[v].to_numpy() <= t).sum() / n for t in taus] for v in variants},
        index=pd.Index(taus, name="tau"),
    )
