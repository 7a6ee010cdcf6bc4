"""Where the lanes of the non-convex problems went: leaving the saddle, ending in a well.

A run made by a suite records each problem's suite table in ``meta.json`` (``problems``); a
problem made by one of gdjax's non-convex factories (``gdjax.problems:saddle``,
``gdjax.problems.nonconvex:double_well``, ...) is known here by that factory, never by its
label, and its objective is rebuilt from the table's keywords (the double well's tilt, the
dimension of Rosenbrock) for the contours and the basins. Nothing is imported from a user's own
factory.

- **Saddle**: a lane has *left* the saddle at its stay step at relative suboptimality 0.9 (its
  loss from there on stays at or below ``f = -0.025``, so it stays outside the radius
  :func:`gdjax.problems.nonconvex.saddle_radius` of the saddle): :func:`leave_table`.
- **Double well**: a lane *ended in the global well* when its final x (the kernel's final
  parameters, ``bench.runs.read_params``) is below the barrier
  (:func:`gdjax.problems.nonconvex.double_well_barrier`): :func:`wells`.

Example:
    >>> factory_name({"factory": "gdjax.problems:saddle"}), factory_name({"source": "linear"})
    ('saddle', None)
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from bench import entries
from bench.entries import numeric
from bench.report.tables import md_table, short
from bench.runs import Run
from gdjax.problems import nonconvex

__all__ = [
    "LEAVE_TARGET",
    "barrier",
    "factory_name",
    "leave_frame",
    "leave_table",
    "objective",
    "radius",
    "wells",
    "wells_table",
]

#: The relative suboptimality whose stay count says a saddle lane left (the saddle's docstring).
LEAVE_TARGET = 0.9
# the modules whose factories are known here
_MODULES = ("gdjax.problems", "gdjax.problems.nonconvex")
_OBJECTIVES = ("saddle", "double_well", "rosenbrock", "beale")


def factory_name(table: dict) -> str | None:
    """The gdjax non-convex factory a problem's suite table names ("saddle", ...), else None."""
    module, _, name = str(table.get("factory", "")).partition(":")
    return name if module in _MODULES and name in (*_OBJECTIVES, "deep_quadratic") else None


def _table(run: Run, problem: str) -> dict:
    return run.meta.get("problems", {}).get(problem, {})


def _keyword(table: dict, name: str, function):
    """A factory keyword as the table gave it, else the factory's own default."""
    if name in table:
        return table[name]
    return inspect.signature(function).parameters[name].default


def objective(run: Run, problem: str) -> nonconvex.Objective | None:
    """The 2-D objective of a problem made by a known factory (None otherwise, and for
    Rosenbrock in more than 2 dimensions): what the contours draw."""
    table = _table(run, problem)
    name = factory_name(table)
    if name == "saddle":
        return nonconvex.SADDLE
    if name == "beale":
        return nonconvex.BEALE
    if name == "double_well":
        return nonconvex.double_well_objective(float(barrier_tilt(table)))
    if name == "rosenbrock":
        d = int(_keyword(table, "d", nonconvex.rosenbrock))
        return nonconvex.rosenbrock_objective(d) if d == 2 else None
    return None


def barrier_tilt(table: dict) -> float:
    return float(_keyword(table, "tilt", nonconvex.double_well))


def barrier(run: Run, problem: str) -> float | None:
    """The x of the double well's barrier, or None for another problem."""
    table = _table(run, problem)
    if factory_name(table) != "double_well":
        return None
    return nonconvex.double_well_barrier(barrier_tilt(table))


def radius(run: Run, problem: str) -> float | None:
    """The radius a saddle lane stays outside of from its stay step at :data:`LEAVE_TARGET`
    (from the run's own f(w0) and f*), or None for another problem."""
    if factory_name(_table(run, problem)) != "saddle":
        return None
    g = run.lanes[run.lanes["problem"].astype(str) == problem]
    f0, f_star = float(numeric(g["f0"]).iloc[0]), float(numeric(g["f_star"]).iloc[0])
    return nonconvex.saddle_radius(f_star + LEAVE_TARGET * (f0 - f_star))


# ---------------------------------------------------------------------------------- saddle


def leave_frame(hits: pd.DataFrame) -> pd.DataFrame:
    """Per entry and learning rate: how many seeds left the saddle and their median step.

    Args:
        hits: one problem's hits (one row per lane and target).

    Returns:
        Columns variant, batch_size, optimizer, lr, seeds, left, steps (the median stay step
        at :data:`LEAVE_TARGET` where every seed left, else NaN), in the order of ``hits``.
    """
    at = hits[np.isclose(hits["target"].astype(float), LEAVE_TARGET, rtol=1e-9, atol=0)]
    rows = []
    for (variant, b, opt, lr), g in at.groupby(
        ["variant", "batch_size", "optimizer", "lr"], sort=False
    ):
        stay = numeric(g["stay_step"])
        left, seeds = int(stay.notna().sum()), int(g["seed"].nunique())
        rows.append(
            {
                "variant": variant,
                "batch_size": int(b),
                "optimizer": opt,
                "lr": float(lr),
                "seeds": seeds,
                "left": left,
                "steps": float(stay.median()) if left == seeds else np.nan,
            }
        )
    columns = ["variant", "batch_size", "optimizer", "lr", "seeds", "left", "steps"]
    return pd.DataFrame(rows, columns=columns)


def fastest_leave(frame: pd.DataFrame) -> pd.DataFrame:
    """Per entry (by batch size, smallest first): the rate whose every seed left in the fewest
    median steps (ties: the smaller rate); lr and steps NaN where no rate's seeds all left; and
    the lanes that left over the whole grid (``left``, of ``lanes``)."""
    rows = []
    for (variant, b, opt), g in frame.groupby(["variant", "batch_size", "optimizer"], sort=False):
        ok = g[g["steps"].notna()].sort_values(["steps", "lr"], kind="stable")
        best = ok.iloc[0] if len(ok) else None
        rows.append(
            {
                "variant": variant,
                "batch_size": b,
                "optimizer": opt,
                "lr": best["lr"] if best is not None else np.nan,
                "steps": best["steps"] if best is not None else np.nan,
                "left": int(g["left"].sum()),
                "lanes": int(g["seeds"].sum()),
            }
        )
    return pd.DataFrame(rows).sort_values("batch_size", kind="stable").reset_index(drop=True)


def leave_table(hits: pd.DataFrame) -> str:
    """The saddle's table: per variant (by batch size), the median steps to leave at each rate
    (``(k/n)``: only k of n seeds left; ``-``: none), and the fastest rate's."""
    frame = leave_frame(hits)
    lrs = sorted(frame["lr"].unique())
    fastest = fastest_leave(frame).set_index(["variant", "optimizer"])
    header = ["variant", "batch", "optimizer", *(f"lr {short(lr)}" for lr in lrs)]
    header += ["fastest: steps (lr)", "lanes that left"]
    rows = []
    for (variant, b, opt), g in sorted(
        frame.groupby(["variant", "batch_size", "optimizer"], sort=False), key=lambda kv: kv[0][1]
    ):
        by_lr = {r.lr: r for r in g.itertuples(index=False)}
        cells = []
        for lr in lrs:
            r = by_lr.get(lr)
            if r is None:
                cells.append("")
            elif not pd.isna(r.steps):
                cells.append(f"{r.steps:g}")
            else:
                cells.append(entries.seeds_mark(r.left, r.seeds) if r.left else "-")
        f = fastest.loc[(variant, opt)]
        best = f"{f['steps']:g} ({short(f['lr'])})" if not pd.isna(f["steps"]) else "never"
        rows.append(
            [str(variant), str(b), str(opt), *cells, best, f"{int(f['left'])}/{int(f['lanes'])}"]
        )
    return md_table(header, rows, right=set(range(1, len(header))) - {2})


# ---------------------------------------------------------------------------------- double well


def wells(params: pd.DataFrame, x_barrier: float, lanes: pd.DataFrame) -> pd.DataFrame:
    """Per entry and rate: the lanes whose final x is below the barrier (the global well).

    Args:
        params: one problem's params rows (``bench.runs.read_params``); the final rows
            (``final``) hold the kernel's final parameters, ``p0`` = x.
        x_barrier: :func:`barrier`.
        lanes: the problem's lanes (their status: a diverged lane is frozen where its loss
            blew up, anywhere: it ended in no well).

    Returns:
        Columns variant, batch_size, optimizer, lr, lanes, in_global (final x below the
        barrier), local (final x above it), lost (diverged), in the order of ``params``.
    """
    on = ["variant", "optimizer", "lr", "seed"]
    status = lanes[[*on, "status"]].astype({"variant": str, "optimizer": str})
    final = params[params["final"].astype(bool)].astype({"variant": str, "optimizer": str})
    final = final.merge(status, on=on, how="left", validate="one_to_one")
    rows = []
    for (variant, b, opt, lr), g in final.groupby(
        ["variant", "batch_size", "optimizer", "lr"], sort=False
    ):
        x = numeric(g["p0"]).to_numpy(np.float64)
        finite = np.isfinite(x) & (g["status"] != "diverged").to_numpy()
        rows.append(
            {
                "variant": variant,
                "batch_size": int(b),
                "optimizer": opt,
                "lr": float(lr),
                "lanes": len(x),
                "in_global": int((finite & (x < x_barrier)).sum()),
                "local": int((finite & (x >= x_barrier)).sum()),
                "lost": int((~finite).sum()),
            }
        )
    columns = ["variant", "batch_size", "optimizer", "lr", "lanes", "in_global", "local", "lost"]
    return pd.DataFrame(rows, columns=columns)


def wells_table(frame: pd.DataFrame) -> str:
    """The double well's table: per variant, the lanes in the global well at each rate
    (``k/n``; "(d div)": d of them diverged) and over the whole grid."""
    lrs = sorted(frame["lr"].unique())
    header = ["variant", "batch", "optimizer", *(f"lr {short(lr)}" for lr in lrs), "all rates"]
    rows = []
    for (variant, b, opt), g in frame.groupby(["variant", "batch_size", "optimizer"], sort=False):
        by_lr = {r.lr: r for r in g.itertuples(index=False)}
        cells = []
        for lr in lrs:
            r = by_lr.get(lr)
            lost = f" ({r.lost} div)" if r is not None and r.lost else ""
            cells.append("" if r is None else f"{r.in_global}/{r.lanes}{lost}")
        total = f"{int(g['in_global'].sum())}/{int(g['lanes'].sum())}"
        rows.append([str(variant), str(b), str(opt), *cells, total])
    return md_table(header, rows, right=set(range(1, len(header))) - {2})
