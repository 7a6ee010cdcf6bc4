"""What a run's losses are compared with, and what is refused before running.

:class:`Levels` holds f(w0), f* and the target ladder as the kernel compares them;
:func:`check_start` refuses a start or optimum the run's dtype cannot hold, and
:func:`check_resolution` a level its rounding cannot resolve (see :mod:`gdjax.metrics`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from gdjax import metrics

__all__ = ["RESOLUTION", "Levels", "check_resolution", "check_start"]

#: A level is refused when rounding in the run's dtype may move the monitored value there by
#: more than this fraction of its distance from the optimum, ``level x (f0 - f*)``: a lane
#: booked at a level is then truly within 1.25 times it.
RESOLUTION = 0.25


class Levels(NamedTuple):
    """What a loss is compared with, arguments of the kernel: losses, not ratios.

    Computed once on the host in float64 (:meth:`of`), then cast to the problem's dtype: the
    kernel compiles none of it, ``f0 - f*`` does not cancel in float32, and a loss is compared
    with a level as it is (``f <= f* + target (f0 - f*)``), not divided first: no kernel makes
    the ratio.

    Every field is in the units of what the kernel monitors: the loss f, or, for a monitor of
    the gap (``spec.monitors_gap``), ``f - f*``. Then the optimum is 0 and every level is
    ``target (f0 - f*)`` itself: nothing of size |f*| enters the comparison, which float32
    could not resolve when |f*| is large against ``f0 - f*``.
    """

    f0: jax.Array  # the monitored value at the initial parameters
    f_star: jax.Array  # the monitored value at the optimum: f*, or 0 for a gap
    denom: jax.Array  # f(w0) - f*, at least the smallest normal number
    blowup: jax.Array  # above this is a divergence: f* + the factor x the problem's scale
    ladder: jax.Array  # the value at each target, then at tol: f* + level x denom
    # the level of each column of Booking.crossings: the ladder, tol again in the halting
    # column (unused), the ladder (made here: in the kernel it would be a kernel of its own)
    columns: jax.Array

    @classmethod
    def of(
        cls,
        f0: float,
        f_star: float,
        tol: float,
        targets,
        divergence_factor: float,
        dtype,
        gap: bool = False,
        gap0: float | None = None,
    ):
        """The levels of a run that starts at ``f0``, as arrays of ``dtype``.

        Args:
            f0, f_star: the loss at the start and at the optimum, float64.
            tol, targets, divergence_factor: as :func:`gdjax.sweep` takes them.
            dtype: the problem's dtype.
            gap: the monitor returns ``f - f*`` rather than f: every level is offset by -f*.
            gap0: ``f0 - f*`` as the loss computes it without cancellation
                (:meth:`gdjax.Problem.gap`); None: ``f0 - f_star``.

        Example:
            >>> lv = Levels.of(3.0, 1.0, 1e-3, [0.1], 1e4, np.float32)
            >>> float(lv.denom), float(lv.blowup), lv.ladder.tolist()
            (2.0, 20001.0, [1.2000000476837158, 1.0019999742507935])
            >>> gap = Levels.of(9e4 + 3.0, 9e4, 1e-3, [0.1], 1e4, np.float32, gap=True)
            >>> float(gap.f0), float(gap.f_star), gap.ladder.tolist()  # f* + 3e-3 would round
            (3.0, 0.0, [0.30000001192092896, 0.003000000026077032])
        """
        # when the start is already optimal, relative suboptimality is 0, not 0/0
        gap0 = f0 - f_star if gap0 is None else gap0
        denom = max(gap0, float(np.finfo(dtype).tiny))
        base = 0.0 if gap else f_star  # what the monitor reads at the optimum
        start = max(gap0, 0.0) if gap else f0
        # Diverged means far worse than the start on the problem's own scale. Relative to
        # f0 - f* alone, a start next to the optimum would make SGD noise count as divergence.
        blowup = base + divergence_factor * max(denom, abs(f_star))
        # past the dtype's largest number no finite loss can exceed it: only a non-finite loss
        # is a divergence then, as it would be with an infinite level (which the cast would make,
        # with an overflow warning)
        blowup = min(blowup, float(np.finfo(dtype).max))
        ladder = base + np.append(np.asarray(targets, np.float64), tol) * denom
        columns = np.concatenate([ladder, ladder[-1:], ladder])
        # NumPy arrays, transferred with the kernel's other arguments (jnp.asarray(v, dtype)
        # would compile a convert for each)
        values = (start, base, denom, blowup, ladder, columns)
        return cls(*(np.asarray(v, dtype) for v in values))

    def at_start(self, f0=None) -> tuple[np.ndarray, np.ndarray]:
        """Status and the levels reached at step 0 (never a divergence: no start is above
        ``blowup``), in the levels' dtype like the kernel.

        Args:
            f0: (lanes,) each lane's monitored value at step 0; None: ``self.f0``.

        Returns:
            ``(status, reached)``: status codes shaped like ``f0``, and ``reached``, shaped
            like ``f0`` plus (K + 1,), bool.
        """
        f0 = self.f0 if f0 is None else np.asarray(f0, self.f0.dtype)
        reached = f0[..., None] <= self.ladder
        return np.where(reached[..., -1], metrics.CONVERGED, metrics.RUNNING), reached


def check_start(
    f0: float,
    f_star: float,
    divergence_factor: float,
    dtype,
    init_given: bool,
    gap0: float | None = None,
):
    """Refuse a run whose start or optimum the dtype cannot hold, or whose start is already a
    divergence: each would book every lane at step 0 (converged with loss inf, or diverged),
    or never move it.

    Args:
        f0, f_star: the loss at the start and the optimum, float64.
        divergence_factor: as :func:`gdjax.sweep` takes it.
        dtype: the problem's dtype.
        init_given: whether ``init`` was given (then a start that overflows is its fault, else
            the data's).
        gap0: ``f0 - f*`` without cancellation (:meth:`gdjax.Problem.gap`); None: computed.

    Raises:
        ValueError: naming ``init``, the problem's data, or ``divergence_factor``.

    Example:
        >>> check_start(3.0, 1.0, 1e4, np.float32, False)
        >>> check_start(3.0, 1.0, 0.5, np.float32, False)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: divergence_factor 0.5 puts the divergence level below the start: ...
    """
    name = np.dtype(dtype).name
    top = float(np.finfo(dtype).max)
    if not (np.isfinite(f_star) and abs(f_star) <= top):
        raise ValueError(
            f"the problem's data: its optimum f* = {f_star:g} is not finite in {name}; "
            "scale X or y down, or use float64 data (jax_enable_x64)"
        )
    if not (np.isfinite(f0) and abs(f0) <= top):
        where = "init" if init_given else "the problem's data"
        raise ValueError(
            f"{where}: the loss at the initial parameters, f(w0) = {f0:g}, is not finite in "
            f"{name}; start closer to the optimum, scale the data down, or use float64"
        )
    gap = f0 - f_star if gap0 is None else gap0
    limit = divergence_factor * max(gap, abs(f_star))
    if gap > limit:
        need = gap / max(gap, abs(f_star))
        raise ValueError(
            f"divergence_factor {divergence_factor:g} puts the divergence level below the "
            f"start: f(w0) - f* = {gap:.6g} > divergence_factor x max(f(w0) - f*, |f*|) = "
            f"{limit:.6g}, so no lane could take a step; use divergence_factor >= {need:.6g}"
        )


def check_resolution(spec, aux, *, f0, f_star, tol, targets, n, dtype, gap0=None) -> None:
    """Refuse a ``tol`` or target that the run's dtype cannot resolve on this problem.

    The rule: a level (relative suboptimality) r sits at the gap ``g = r (f0 - f*)`` above the
    optimum; rounding in ``dtype`` may move the monitored value there by
    ``spec.monitor_error(aux, g)`` (for a full loss, ``u max(|f*|, |f0|) (log2(n) + 4)``, u
    the unit roundoff: a few ulps, and the depth of the sum over rows; for a gap monitor,
    what the rounding of theta* does to the quadratic form). The level is refused when that
    is more than :data:`RESOLUTION` x g: a lane booked there could be anywhere from below it
    to far above it.

    Args:
        spec: the loss spec the kernel monitors with; aux: its monitor's arrays.
        f0, f_star: the loss at the start and the optimum, float64.
        tol, targets: as :func:`gdjax.sweep` takes them (checked).
        n: rows of the data; dtype: the problem's dtype.
        gap0: ``f0 - f*`` without cancellation (:meth:`gdjax.Problem.gap`); None: computed.

    Raises:
        ValueError: naming ``tol`` or ``targets``, with the error and the level's gap.

    Example:
        >>> from gdjax.problems.losses import Logistic
        >>> spec = Logistic(True, 0.0)
        >>> check_resolution(spec, None, f0=0.7, f_star=0.5, tol=1e-4, targets=[0.1], n=100,
        ...                  dtype=np.float32)
        >>> check_resolution(spec, None, f0=0.7, f_star=0.5, tol=1e-7, targets=[0.1], n=100,
        ...                  dtype=np.float32)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: tol 1e-07 is finer than float32 can resolve on this problem: ...
    """
    denom = f0 - f_star if gap0 is None else gap0
    if denom <= 0:  # the start is optimal: every level is reached at step 0, nothing to resolve
        return
    rel = np.append(np.asarray(targets, np.float64), tol)
    gaps = rel * denom
    err = np.asarray(spec.monitor_error(aux, gaps, f_star=f_star, f0=f0, n=n, dtype=dtype))
    bad = np.flatnonzero(err > RESOLUTION * gaps)
    if bad.size == 0:
        return
    i = int(bad[-1]) if bad[-1] == len(rel) - 1 else int(bad[0])  # tol first: it sets the status
    what = "tol" if i == len(rel) - 1 else "target"
    head = f"tol {rel[i]:g}" if what == "tol" else f"target {rel[i]:g} in targets"
    raise ValueError(
        f"{head} is finer than {np.dtype(dtype).name} can resolve on this "
        f"problem: rounding may move the monitored loss by {err[i]:.2g} there, more than "
        f"{RESOLUTION:g} x its gap {what} x (f0 - f*) = {gaps[i]:.2g}; use a larger {what}, or "
        "float64 data (jax_enable_x64)"
    )


def check_levels(problem, spec, aux, init, *, tol, targets, divergence_factor, init_given):
    """Every check of a run's levels, made before running: the start and the optimum in the
    dtype's range (:func:`check_start`) and every level resolvable (:func:`check_resolution`).
    Solves for the optimum (cached on the problem).

    Args:
        problem: the :class:`~gdjax.problems.Problem`.
        spec, aux: the loss spec and monitor arrays the kernel runs with (in the eigenbasis,
            its own).
        init: the checked initial parameters.
        tol, targets, divergence_factor: checked, as :func:`gdjax.sweep` takes them.
        init_given: whether ``init`` was given.

    Returns:
        ``(f_star, f0, gap0)``: the optimum, the loss at ``init`` and ``f0 - f*`` without
        cancellation (:meth:`~gdjax.problems.Problem.gap`), float64.

    Raises:
        ValueError: as :func:`check_start` and :func:`check_resolution`.
    """
    _, f_star = problem.optimum()
    f0 = problem.value(init)
    gap0 = problem.gap(init)
    dtype = problem.dtype
    check_start(f0, f_star, divergence_factor, dtype, init_given=init_given, gap0=gap0)
    check_resolution(
        spec,
        aux,
        f0=f0,
        f_star=f_star,
        tol=tol,
        targets=targets,
        n=problem.n,
        dtype=dtype,
        gap0=gap0,
    )
    return f_star, f0, gap0
