"""The long table of steps to each target, one row per (lane, target): what
:meth:`gdjax.SweepResult.hits` and :meth:`gdjax.Result.hits` return.

A count is either exact to the step, with its *resolution* (the true step lies in
``(step - resolution, step]``), or read at the evaluation grid's checks: then it has no
resolution (missing). See :mod:`gdjax.result`.

Example:
    >>> h = hits_frame([0.1], [0], [0.5], [[3]], [[2]], [[4]], [[3]], batch_size=2,
    ...                steps_per_epoch=5, step_s=None)
    >>> h[["first_step", "first_resolution", "first_samples"]].values.tolist()
    [[3, 1, 6]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["count", "hits_frame"]


def count(values) -> pd.arrays.IntegerArray:
    """Step counts as nullable integers: a level not reached has no count, not a -1 or a 0."""
    v = np.asarray(values, np.int64)
    return pd.arrays.IntegerArray(np.where(v < 0, 0, v), mask=v < 0)


def hits_frame(
    lrs,
    seeds,
    targets,
    first,
    first_lo,
    stay,
    stay_lo,
    *,
    batch_size,
    steps_per_epoch,
    step_s,
    exact=True,
) -> pd.DataFrame:
    """The long table of steps to each target: one row per (lane, target).

    Args:
        lrs, seeds: per lane, (N,).
        targets: the ladder, (K,).
        first, stay: per lane and target, (N, K); -1 where not reached.
        first_lo, stay_lo: the lower ends of their brackets, (N, K); -1 where there is none
            (not reached, or read at checks: :func:`gdjax._kernel.booking.lower_ends`).
        batch_size, steps_per_epoch: to turn steps into samples and epochs.
        step_s: seconds per step of the timed kernel, or None (then the seconds are NaN).
        exact: whether the loss was checked after every step (else at the evaluation grid).

    Returns:
        Columns lr, seed, target, then for ``first`` and ``stay``: ``*_step``,
        ``*_resolution`` (missing where the count has no bracket), ``*_epochs``,
        ``*_samples``, ``*_seconds``; then ``exact``.
    """
    N, K = np.shape(first)
    out = {
        "lr": np.repeat(np.asarray(lrs, np.float64), K),
        "seed": np.repeat(np.asarray(seeds), K),
        "target": np.tile(np.asarray(targets, np.float64), N),
    }
    for name, hi, lo in (("first", first, first_lo), ("stay", stay, stay_lo)):
        hi, lo = np.ravel(hi).astype(np.int64), np.ravel(lo).astype(np.int64)
        steps = np.where(hi >= 0, hi, np.nan)
        out[f"{name}_step"] = count(hi)
        out[f"{name}_resolution"] = count(np.where((hi >= 0) & (lo >= 0), hi - lo, -1))
        out[f"{name}_epochs"] = steps / steps_per_epoch
        out[f"{name}_samples"] = count(np.where(hi >= 0, hi * batch_size, -1))
        out[f"{name}_seconds"] = steps * (np.nan if step_s is None else step_s)
    out["exact"] = np.full(N * K, bool(exact))
    return pd.DataFrame(out)
