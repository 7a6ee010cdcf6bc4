"""The metrics, defined once: status, steps to a target, suboptimality; EWMA smoothing.

**Relative suboptimality** is ``(f(w_t) - f*) / (f(w_0) - f*)``: 1 at the start, 0 at the optimum,
with f* the float64 optimum of the problem.

Every lane ends with exactly one **status**:

- ``converged``: its relative suboptimality reached ``tol`` at a checked step (with early stop
  the lane is frozen there);
- ``diverged``: its loss became non-finite, or ``f - f* > divergence_factor * max(f(w_0) - f*,
  |f*|)``: far worse than the start, on the problem's own scale (measured against the start
  alone, ordinary SGD noise next to a start at the optimum would count as divergence);
- ``max_steps``: neither, when the steps ran out (a slow lane, or one oscillating for ever).

**Steps to a target** (one per lane and target of the ladder, in the same kernel run):

- ``first_step``: the first checked step at or below the target;
- ``stay_step``: the first checked step from which the lane stays at or below the target through
  the last step it ran (missing if it ended above);
- how each was read. **Exact** (``exact=True``): the full-data loss was checked after every
  step, so the count is the true step, with **resolution** 1 (0 at step 0): the true step lies
  in ``(step - resolution, step]``. This is the default where the check is cheap (least squares,
  the quadratic) or affordable (:func:`gdjax._kernel.cost.exact_affordable`). **Read at checks**
  (``exact=False``): the loss was checked only on the evaluation grid (every step early on,
  then a constant factor apart, or every ``eval_every`` steps), and the count is the first such
  check at or below the target. It has no resolution (missing): between two checks a noisy
  (stochastic, mini-batch) lane can dip below a level and come back, so the true first step can
  lie anywhere before the check, and the true stay step after it. "Not reached" there means
  not seen at a check. A count on the grid's first, every-step stretch is still exact.

**The gradient-norm measure** (``measure="grad_norm"`` in :func:`gdjax.sweep`): where f* is
unknown or only best found, ``tol`` and the targets are set on the full-data gradient norm
relative to its start instead, ``||grad f(w_t)|| / ||grad f(w_0)||`` (1 at the start, 0 at a
stationary point), and everything above holds with it in place of relative suboptimality: the
same statuses (*diverged*: the norm is not finite or above ``divergence_factor *
||grad f(w_0)||``), the same first and stay steps, exact or read at checks. No f* is used. The
result's losses are then gradient norms, with f* 0, so :func:`relative_suboptimality` of them is
the relative gradient norm.

Epochs to a target are steps / steps per epoch, samples are steps x batch size (the fair axis
between variants), seconds are run time x steps / steps run (the lanes share one kernel).

Example:
    >>> import numpy as np
    >>> relative_suboptimality(np.array([3.0, 2.0, 1.5]), f_star=1.0, f0=3.0).tolist()
    [1.0, 0.5, 0.25]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "CONVERGED",
    "DIVERGED",
    "RUNNING",
    "STATUS_NAMES",
    "ewma",
    "relative_suboptimality",
    "status_name",
]

RUNNING = 0  # still moving; at the end of the run this means max_steps
CONVERGED = 1
DIVERGED = 2
STATUS_NAMES = {RUNNING: "max_steps", CONVERGED: "converged", DIVERGED: "diverged"}


def status_name(code: int) -> str:
    """The public name of a status code: "converged", "diverged" or "max_steps"."""
    return STATUS_NAMES[int(code)]


def relative_suboptimality(losses, f_star: float, f0: float) -> np.ndarray:
    """``(f - f*) / (f0 - f*)``: 1 at the start, 0 at the optimum.

    Args:
        losses: full-data losses.
        f_star: the optimum.
        f0: the loss at the initial parameters.

    Returns:
        An array like ``losses`` (float64).
    """
    denom = max(float(f0) - float(f_star), np.finfo(np.float64).tiny)
    return (np.asarray(losses, np.float64) - float(f_star)) / denom


def ewma(values, alpha: float = 0.1) -> np.ndarray:
    """Exponentially weighted moving average, skipping NaN (for noisy SGD curves).

    ``y_t = alpha x_t + (1 - alpha) y_{t-1}``, started at the first value: pandas'
    ``Series.ewm(alpha=alpha, adjust=False, ignore_na=True)``.

    Args:
        values: a 1-D sequence.
        alpha: weight of the newest value, in (0, 1]; 1 returns the values unchanged.

    Returns:
        The smoothed values (float64), NaN where the input is NaN.

    Example:
        >>> ewma([1.0, 3.0], alpha=0.5).tolist()
        [1.0, 2.0]
    """
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    x = pd.Series(np.asarray(values, np.float64))
    out = x.ewm(alpha=alpha, adjust=False, ignore_na=True).mean().to_numpy()
    return np.where(np.isnan(x.to_numpy()), np.nan, out)
