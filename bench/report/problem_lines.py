"""What the report says about a problem above its tables: what its values measure (the loss's
relative suboptimality or the gradient norm), where f* came from, and the theory its curvature
gives (L, mu, the rates 2/L and 2/(L + mu)).

Example:
    >>> import pandas as pd
    >>> measure_of(pd.DataFrame({"lr": [0.1]}))
    'loss'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.entries import numeric
from bench.report.tables import short

#: What the values of one problem's tables and curves are, by :func:`measure_of`.
QUANTITY = {
    "loss": "suboptimality",
    "grad_norm": "gradient norm",
    "mixed": "suboptimality or gradient norm",
}


def measure_of(lanes: pd.DataFrame) -> str:
    """What one problem's targets measure: "loss", "grad_norm" (every lane's ``measure``) or
    "mixed" (entries of both); "loss" for runs made before the column existed.

    Example:
        >>> measure_of(pd.DataFrame({"measure": ["grad_norm", "grad_norm"]}))
        'grad_norm'
        >>> measure_of(pd.DataFrame({"lr": [0.1]}))
        'loss'
    """
    if "measure" not in lanes.columns:
        return "loss"
    kinds = set(lanes["measure"].dropna().astype(str)) or {"loss"}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def measure_lines(lanes: pd.DataFrame) -> list[str]:
    """What one problem's targets mean, where some are on the gradient norm (none otherwise:
    relative suboptimality is the default, said once under "Reading the tables")."""
    m = measure_of(lanes)
    if m == "loss":
        return []
    rule = (
        "targets on the full-data gradient norm relative to its start, "
        "||grad f(w)|| <= target x ||grad f(w0)|| (no f* used; final values are gradient norms)"
    )
    if m == "grad_norm":
        return [f"Measure: {rule}."]
    on = lanes[lanes["measure"].astype(str) == "grad_norm"]
    pairs = zip(on["variant"], on["optimizer"], strict=True)
    names = ", ".join(dict.fromkeys(f"{v}/{o}" for v, o in pairs))
    return [f"Measure: {names}: {rule}; the others: relative suboptimality."]


def f_star_lines(lanes: pd.DataFrame) -> list[str]:
    """Where one problem's f* came from, from its lanes' ``f_star_source`` (none for runs made
    before the column existed); "best found" said to be no optimum. Lanes whose targets are on
    the gradient norm use no f*: they are left out."""
    if "f_star_source" not in lanes.columns:
        return []
    if "measure" in lanes.columns:
        lanes = lanes[lanes["measure"].astype(str) != "grad_norm"]
    sources = [str(v) for v in lanes["f_star_source"].dropna().unique()]
    if not sources:
        return []
    if sources == ["best found"]:
        return [
            "f*: best found, the lowest full-data loss any lane of each entry reached (not an "
            "optimum: every target is relative to it, per entry)."
        ]
    return [f"f*: {'; '.join(sources)}."]


def theory_lines(lanes: pd.DataFrame) -> list[str]:
    """L, mu, kappa, 2/L and 2/(L+mu) of one problem; the textbook case lr = 2/L named."""
    if "L" not in lanes.columns or numeric(lanes["L"]).isna().all():
        return []
    L, mu = float(numeric(lanes["L"]).iloc[0]), float(numeric(lanes["mu"]).iloc[0])
    if not L > 0:  # a flat loss (all-zero features): 2/L is no limit at all
        return [f"Theory: L = {short(L)}: the loss has no curvature, no rate is a stability limit."]
    kappa = L / mu if mu > 0 else np.inf
    line = (
        f"Theory: L = {short(L)}, mu = {short(mu)}, kappa = L/mu = {short(kappa)}; batch GD is "
        f"stable for lr < 2/L = {short(2 / L)}, fastest at the constant rate 2/(L+mu) = "
        f"{short(2 / (L + mu))}."
    )
    lrs = numeric(lanes["lr"]).unique()
    edge = [lr for lr in lrs if np.isclose(lr, 2 / L, rtol=1e-6, atol=0)]
    if edge:
        line += (
            f" The rate lr = {short(edge[0])} is exactly 2/L: each step multiplies the error "
            "along the top eigenvector by 1 - lr L = -1, so batch GD oscillates there for ever "
            "(max_steps, not diverged; on the parabola that is the whole error)."
        )
    return [line]
