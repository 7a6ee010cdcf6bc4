"""The cost model of monitoring: whether a sweep checks the full-data loss after every step
(exact counts) or on its evaluation grid (counts read at checks), when ``exact`` is not given.

Example:
    >>> import gdjax
    >>> exact_affordable(gdjax.problems.make_linear(4096, 16), 1, 10**6, 64)  # cheap monitor
    True
"""

from __future__ import annotations

import jax
import numpy as np

from gdjax.problems import Problem

__all__ = ["CHECK_BUDGET_FLOPS", "CHECK_STEP_RATIO", "exact_affordable"]

#: Most flops a step's full-data check may cost per flop of the step itself for
#: :func:`exact_affordable` (so that exact monitoring at most about doubles the step's work).
CHECK_STEP_RATIO = 1.0
#: Most flops the full-data checks of a whole run (every step, every lane) may cost, whatever
#: their ratio to the steps, for :func:`exact_affordable`: small problems are always exact.
CHECK_BUDGET_FLOPS = 2.0**28


def exact_affordable(
    problem: Problem, batch_size: int, total_steps: int, lanes: int, measure: str = "loss"
) -> bool:
    """Whether a sweep checks the full-data loss (or, under ``measure="grad_norm"``, the
    full-data gradient norm) after every step when ``exact`` is not given.

    A loss with a cheap exact monitor (least squares, the quadratic: O(d^2), or O(d) in the
    eigenbasis) is always checked every step. For the others (logistic, softmax, a custom loss)
    the check is a pass over all n rows, about ``2 n P`` flops a lane (P parameters: the
    product of the data with them), where a step costs about ``4 b P`` (its forward and backward
    products over b rows): the check costs ``n / 2b`` steps. It is made every step when

    - it costs at most :data:`CHECK_STEP_RATIO` steps (``n <= 2 b``: batch GD and batches of
      half the data), so exact monitoring at most about doubles the run's arithmetic and its
      seconds to a target still say what the variant costs; or
    - all the run's checks together cost at most :data:`CHECK_BUDGET_FLOPS` (``total_steps x
      lanes x 2 n P``): a small problem or a short run, where they take well under the
      kernel's compile time.

    A loss that offers a measurement (a custom loss: ``problem.flops``) is costed by XLA's
    cost analysis of its compiled check and step instead of ``2 n P`` and ``4 b P``: its
    arithmetic per row is its own.

    Under ``measure="grad_norm"`` the check is a gradient over all n rows (a forward and a
    backward pass, about three passes of the loss): the step's cost scaled by ``n / b``
    (``4 n P``, or the measured step's flops times ``n / b``), so that only batch GD, or a small
    run, is checked every step. The quadratic forms give their gradient as cheaply as their
    gap and are always checked every step.

    Elsewhere (stochastic and small-batch runs on thousands of rows) every step's check would
    multiply the run time tens of times (a pass over the data against one row's gradient), and
    the seconds to a target would time the monitor, not the variant: the loss is checked on the
    evaluation grid, and its counts are reported as read at those checks, without a bracket
    (:mod:`gdjax.metrics`). Pass ``exact=True`` to pay for exact counts anyway.

    Args:
        problem: the problem.
        batch_size: rows per step.
        total_steps: steps in the run.
        lanes: configs (learning rates x hyperparameter combinations) x seeds.
        measure: "loss" or "grad_norm": what is checked.

    Returns:
        True to check every step.

    Example:
        >>> import gdjax
        >>> p = gdjax.problems.make_logistic(2048, 32)
        >>> exact_affordable(p, 2048, 500, 48), exact_affordable(p, 1, 6144, 48)
        (True, False)
        >>> exact_affordable(gdjax.problems.make_logistic(300, 5), 16, 540, 1)
        True
        >>> [exact_affordable(p, b, 500, 48, "grad_norm") for b in (2048, 1024)]
        [True, False]
    """
    if problem.spec.cheap_monitor:
        return True
    measured = problem.flops(batch_size)
    if measured is None:  # the shipped losses: products of the data with the parameters
        num_params = sum(int(np.size(v)) for v in jax.tree.leaves(problem.init_params()))
        check = 2.0 * problem.n * num_params
        step = 4.0 * batch_size * num_params
    else:
        check, step = measured
    if measure == "grad_norm":  # a gradient over n rows, as a step is over b
        check = step * problem.n / batch_size
    run = check * float(total_steps) * lanes
    return check <= CHECK_STEP_RATIO * step or run <= CHECK_BUDGET_FLOPS
