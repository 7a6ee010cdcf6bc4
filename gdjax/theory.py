"""Theory beside measurement: stability limits and exact batch-GD step counts from the spectrum.

For a loss with Hessian eigenvalues in [mu, L] (``problem.curvature()``), batch gradient descent
with a constant rate ``a`` is stable for ``a < 2 / L`` and contracts fastest at ``2 / (L + mu)``.

On least squares the whole trajectory is known in closed form. With ``M = A^T A / n`` (the
Hessian is 2M), eigenpairs ``(lambda_i, v_i)`` and ``c_i = v_i . (theta_0 - theta*)``::

    f(theta_t) - f* = sum_i lambda_i (1 - 2 a lambda_i)^(2t) c_i^2

so the first step at which the relative suboptimality reaches a target can be predicted exactly
and set beside the measured count.

Example:
    >>> import gdjax
    >>> p = gdjax.problems.textbook("parabola")
    >>> stability_limit(p), best_constant_lr(p)
    (1.0, 0.5)
"""

from __future__ import annotations

import numpy as np

from gdjax import checks
from gdjax._kernel import plan
from gdjax.problems import Problem

__all__ = ["batch_gd_steps", "best_constant_lr", "stability_limit"]


def stability_limit(problem: Problem) -> float:
    """``2 / L``: batch GD with a constant rate at or above it does not converge.

    Raises:
        ValueError: the loss has no curvature (L = 0: no rate is too large).
    """
    L, _ = _curvature(problem)
    return 2.0 / L


def best_constant_lr(problem: Problem) -> float:
    """``2 / (L + mu)``: the constant rate with the fastest worst-case contraction.

    Raises:
        ValueError: the loss has no curvature (L = 0: every rate leaves it where it is).
    """
    L, mu = _curvature(problem)
    return 2.0 / (L + mu)


def _curvature(problem: Problem) -> tuple[float, float]:
    L, mu = problem.curvature()
    if not L > 0:  # a flat loss: all-zero features, no intercept
        raise ValueError(
            f"problem {problem.name!r} has no curvature (L = {L:g}): its loss is flat, so no "
            "learning rate is a stability limit or a best rate"
        )
    return L, mu


def batch_gd_steps(problem: Problem, lr: float, targets, *, max_steps: int, init=None) -> list:
    """The exact step count of batch GD on least squares to each target, from the spectrum.

    Args:
        problem: a least-squares problem (one whose loss offers a quadratic view).
        lr: the constant learning rate.
        targets: relative suboptimalities in (0, 1).
        max_steps: the budget: counts beyond it are None.
        init: the starting parameters as in ``gdjax.run`` (default zeros).

    Returns:
        One entry per target: the first step t <= max_steps with relative suboptimality <= the
        target, or None.

    Example:
        >>> import gdjax
        >>> p = gdjax.problems.make_linear(200, 3, cond=10.0)
        >>> batch_gd_steps(p, 0.5, [1e-1, 1e-3], max_steps=500)
        [1, 13]
    """
    view = problem.quadratic_view()
    if view is None:
        raise ValueError(f"batch_gd_steps needs a least-squares problem, got kind {problem.kind!r}")
    lr = checks.real(lr, "lr", lo=0.0, strict=True)
    levels = [checks.real(t, "target", lo=0.0, hi=1.0, strict=True) for t in np.ravel(targets)]
    max_steps = checks.integer(max_steps, "max_steps", lo=0)
    M = view.moment()
    opt, _ = problem.optimum()
    theta_star = np.concatenate([np.ravel(opt[k]) for k in sorted(opt)])
    start = plan.init_params(init, problem.init_params())
    theta0 = np.concatenate([np.ravel(np.asarray(start[k], np.float64)) for k in sorted(start)])
    lam, V = np.linalg.eigh(M)
    weight = lam * (V.T @ (theta0 - theta_star)) ** 2  # lambda_i c_i^2
    gap0 = weight.sum()
    factor = (1.0 - 2.0 * lr * lam) ** 2
    out: list = [None] * len(levels)
    gap = weight.copy()
    for t in range(max_steps + 1):
        rel = gap.sum() / gap0 if gap0 > 0 else 0.0
        for k, level in enumerate(levels):
            if out[k] is None and rel <= level:
                out[k] = t
        if all(v is not None for v in out) or not rel < 1e300:  # done, or diverging
            break
        with np.errstate(over="ignore"):
            gap *= factor
    return out
