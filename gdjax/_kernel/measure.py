"""What a sweep's targets measure: the loss (``measure="loss"``, relative suboptimality) or
the full-data gradient norm (``measure="grad_norm"``).

Under ``"grad_norm"`` a target t (and ``tol``) means ``||grad f(w)|| <= t ||grad f(w0)||``,
on the same ladder, counted and booked the same way: the kernel runs the loss spec wrapped in
:class:`~gdjax.problems.losses.gradient.GradientNorm`, whose monitor is the gradient norm, with
levels made by ``Levels.of(g0, 0, ...)`` (:func:`grad_norm_monitor`). No f* is used: a problem
whose f* is the best a run finds needs no first pass. A gradient norm that is not finite, above
``divergence_factor`` times its start, or above :func:`norm_ceiling` (where its square
overflows the dtype) is a divergence.

The option itself is checked by :func:`gdjax.checks.measure`.

Example:
    >>> norm_ceiling(np.float32) > 1e18
    True
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gdjax._kernel.levels import RESOLUTION, Levels
from gdjax.problems.losses.gradient import GradientNorm

__all__ = [
    "SOURCE",
    "GradNormMonitor",
    "grad_norm_monitor",
    "norm_ceiling",
    "own_aux",
]

#: The f* source results carry under ``measure="grad_norm"`` (their f* is 0, the norm's optimum).
SOURCE = "not used (gradient norm)"


def own_aux(problem):
    """The monitor's arrays of the problem's own spec under ``measure="grad_norm"``: a
    quadratic form's (least squares, the quadratic: their optimum is closed form), else None
    (the full-data gradient needs none, and no optimum is solved for)."""
    return problem.monitor_aux() if problem.offers("monitor_gradient") else None


def norm_ceiling(dtype) -> float:
    """The largest gradient norm the monitor computes without overflow (its square's sum must
    stay finite), with a factor 2 to spare: above it a lane counts as diverged."""
    return float(np.sqrt(np.finfo(dtype).max)) / 2.0


class GradNormMonitor(NamedTuple):
    """What a kernel monitors under ``measure="grad_norm"``.

    Attributes:
        spec: the :class:`GradientNorm` spec (with its rounding scale).
        aux: its monitor's arrays (the wrapped loss's, for a quadratic form; else None).
        levels: the levels, in gradient norms (optimum 0).
        g0: the start's gradient norm (float64; the largest over the seeds' own starts).
        starts: (S,) each seed's own start's gradient norm where seeds draw their starts,
            else None.
    """

    spec: GradientNorm
    aux: Any
    levels: Levels
    g0: float
    starts: np.ndarray | None


def grad_norm_monitor(problem, spec, aux, args, *, init_given: bool) -> GradNormMonitor:
    """The monitor and levels of a sweep under ``measure="grad_norm"``, with every check of
    its levels made before running (the start's norm finite and below the divergence level,
    every level resolvable in the dtype).

    Args:
        problem: the :class:`~gdjax.problems.Problem`.
        spec, aux: the loss spec the kernel runs (the problem's, or its eigenbasis form) and
            its monitor's arrays (only a quadratic form's are kept).
        args: the checked :class:`~gdjax._kernel.plan.SweepArgs`.
        init_given: whether ``init`` was given (a start that is not finite is then its fault).

    Returns:
        A :class:`GradNormMonitor`.

    Raises:
        ValueError: naming ``init`` (or the data), ``divergence_factor``, ``tol`` or
            ``targets``.
    """
    dtype = problem.dtype
    inits = [args.init] if args.seed_inits is None else list(args.seed_inits)
    norms = np.array([problem.gradient_norm(p) for p in inits], np.float64)
    bad = np.flatnonzero(~np.isfinite(norms) | (norms > norm_ceiling(dtype)))
    if bad.size:
        where = "init" if init_given or args.seed_inits is not None else "the problem's data"
        raise ValueError(
            f"{where}: the full-data gradient norm at the initial parameters is "
            f"{norms[bad[0]]:g}, not finite or too large to square in {np.dtype(dtype).name}; "
            "start closer to the optimum, scale the data down, or use float64"
        )
    g0 = float(norms.max())
    if args.divergence_factor < 1.0:
        raise ValueError(
            f"divergence_factor {args.divergence_factor:g} puts the divergence level below the "
            "start: under measure='grad_norm' a lane diverges above divergence_factor x its "
            "starting gradient norm; use divergence_factor >= 1"
        )
    wrapped = GradientNorm(spec)
    if wrapped.quadratic:
        wrapped_aux = aux
    else:  # the full-data gradient: its rounding scales with the rows' own gradients
        wrapped_aux = None
        scales = [problem.row_gradient_scale(p) for p in inits]
        # the optimum's, where known without a reference solve of a user's loss
        if problem.offers("optimum") and not problem.offers("solve"):
            opt, _ = problem.optimum()
            if opt is not None:
                scales.append(problem.row_gradient_scale(opt))
        wrapped = GradientNorm(spec, row_scale=float(max(scales)))
    _check_resolution(wrapped, wrapped_aux, g0, args.tol, args.targets, problem.n, dtype)
    levels = Levels.of(g0, 0.0, args.tol, args.targets, args.divergence_factor, dtype)
    blowup = min(float(levels.blowup), norm_ceiling(dtype))
    levels = levels._replace(blowup=np.asarray(blowup, dtype))
    starts = None if args.seed_inits is None else norms
    return GradNormMonitor(wrapped, wrapped_aux, levels, g0, starts)


def _check_resolution(spec, aux, g0, tol, targets, n, dtype) -> None:
    """Refuse a level ``r g0`` that rounding in ``dtype`` may move the monitored norm by more
    than :data:`~gdjax._kernel.levels.RESOLUTION` of (as
    :func:`~gdjax._kernel.levels.check_resolution` does for the loss)."""
    if g0 <= 0:  # the start is stationary: every level is reached at step 0
        return
    rel = np.append(np.asarray(targets, np.float64), tol)
    levels = rel * g0
    err = np.asarray(spec.monitor_error(aux, levels, f_star=0.0, f0=g0, n=n, dtype=dtype))
    bad = np.flatnonzero(~(err <= RESOLUTION * levels))
    if bad.size == 0:
        return
    i = int(bad[-1]) if bad[-1] == len(rel) - 1 else int(bad[0])  # tol first: it sets the status
    what = "tol" if i == len(rel) - 1 else "target"
    head = f"tol {rel[i]:g}" if what == "tol" else f"target {rel[i]:g} in targets"
    raise ValueError(
        f"{head} is finer than {np.dtype(dtype).name} can resolve for the gradient norm on this "
        f"problem: rounding may move the monitored gradient norm by {err[i]:.2g} there, more "
        f"than {RESOLUTION:g} x {what} x ||grad f(w0)|| = {RESOLUTION * levels[i]:.2g}; use a "
        f"larger {what}, or float64 data (jax_enable_x64)"
    )
