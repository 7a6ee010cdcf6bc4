"""Starts and optima a run finds for itself: each seed's own f(w0) where seeds draw their
starts (:func:`seed_starts`), and f* as the best loss a run reaches (``f_star="best"``).

An f* that is the best found is not known before running, and the kernel needs its levels
before running. So :func:`gdjax.build` runs the same compiled program twice (levels are traced
arguments: no second compile): a first pass with levels that no loss reaches
(:func:`first_pass_levels`: no lane converges, a lane stops only on a non-finite loss), whose
lowest full-data loss at any check of any lane is f* (:func:`best_found`); then the kernel it
returns, booked against that f*, as for any other.
"""

from __future__ import annotations

import numpy as np

from gdjax._kernel.levels import Levels, check_resolution, check_start

__all__ = ["best_found", "check_best", "first_pass_levels", "seed_starts"]


def seed_starts(problem, seed_inits) -> np.ndarray | None:
    """(S,) float64 each seed's f(w0) where each draws its start, else None.

    Raises:
        ValueError: naming ``init``, where a seed's start has a loss that is not finite.
    """
    if seed_inits is None:
        return None
    f0 = np.array([problem.value(p) for p in seed_inits], np.float64)
    bad = np.flatnonzero(~np.isfinite(f0))
    if bad.size:
        raise ValueError(
            f"init: the loss at the initial parameters drawn for the sweep's seed number "
            f"{int(bad[0])} is {f0[bad[0]]}: it must be finite"
        )
    return f0


def first_pass_levels(f0: float, num_targets: int, dtype) -> Levels:
    """Levels no loss reaches (-inf) and a divergence level of the dtype's largest number:
    in the first pass no lane converges, and a lane stops only on a non-finite loss."""
    never = np.full(num_targets + 1, -np.inf)
    columns = np.concatenate([never, never[-1:], never])
    top = float(np.finfo(dtype).max)
    values = (f0, -np.inf, 1.0, top, never, columns)
    return Levels(*(np.asarray(v, dtype) for v in values))


def best_found(out) -> float:
    """The lowest finite full-data loss of a first pass's booked output
    (:class:`~gdjax._kernel.booking.KernelOutput`): over every lane's curve (f(w0) first)
    and the step where it stopped, in float64. With grid monitoring those are its checks;
    with exact monitoring the loss of every step was checked, but only the curve's points and
    the last step come back: f* is the lowest of those."""
    values = np.concatenate(
        [
            np.ravel(np.asarray(out.losses, np.float64)),
            np.ravel(np.asarray(out.final_loss, np.float64)),
        ]
    )
    return float(np.min(values[np.isfinite(values)]))


def check_best(problem, spec, aux, f0: float, f_star: float, args) -> None:
    """The checks of :func:`gdjax._kernel.levels.check_levels`, against the best found: made
    after the first pass, before the booked one."""
    check_start(f0, f_star, args.divergence_factor, problem.dtype, init_given=False)
    check_resolution(
        spec,
        aux,
        f0=f0,
        f_star=f_star,
        tol=args.tol,
        targets=args.targets,
        n=problem.n,
        dtype=problem.dtype,
    )
