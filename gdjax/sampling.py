"""Which rows each step sees: full batch, one sample, or a mini-batch.

Steps are numbered 0, 1, 2, ... An epoch is ``n // batch_size`` steps over one permutation of the
rows; the remainder is dropped, since a ragged last batch would change shapes (a recompile) and
scale its update differently. With ``shuffle=False`` the rows are taken in order, the textbook loop.

The permutation of epoch ``e`` for seed ``s`` is ``epoch_permutation(s, e, n)``, drawn by NumPy's
PCG64 generator: deterministic on every platform, and public so that an independent reference
implementation can replay exactly the rows gdjax used.

:func:`plan` draws the rows of every step of a run at once, before the run: the kernel then reads
them as the input of its scan, with no branch and no permutation carried through its steps (the
way a hand-written ``jit(vmap(scan))`` program and the NumPy baselines take their rows).

Example:
    >>> steps_per_epoch(10, 3)
    3
    >>> epoch_permutation(0, 0, 5).shape
    (5,)
"""

from __future__ import annotations

import numpy as np

__all__ = ["batch_rows", "epoch_permutation", "plan", "steps_per_epoch"]


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Number of steps in one epoch: ``n // batch_size`` (at least 1).

    Args:
        n: rows in the data set.
        batch_size: rows per step, 1 <= batch_size <= n.

    Returns:
        The number of whole batches in the data.
    """
    return max(1, n // batch_size)


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The row order of one epoch: a uniformly random permutation of ``range(n)``.

    Drawn on the host by NumPy (``default_rng([seed, epoch]).permutation(n)``), not by a JAX
    program: the plan is data for the kernel, and a JAX shuffle would be one more program to
    compile before a user's first sweep (on a small problem, longer than the sweep).

    Args:
        seed: the sampling seed, >= 0.
        epoch: epoch index, >= 0.
        n: rows in the data set, < 2**31.

    Returns:
        An int32 array of shape (n,).
    """
    if n >= 2**31:
        raise ValueError(f"n must be < 2**31 rows, got {n}")
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n).astype(np.int32)


def batch_rows(perm: np.ndarray, step_in_epoch: int, batch_size: int) -> np.ndarray:
    """Row indices of one step: the ``step_in_epoch``-th slice of ``perm`` (batch_size long).

    Args:
        perm: the permutation of the epoch, shape (..., n).
        step_in_epoch: step index within the epoch.
        batch_size: rows per step.

    Returns:
        Indices of shape (..., batch_size).
    """
    start = step_in_epoch * batch_size
    return perm[..., start : start + batch_size]


def plan(seeds, n: int, batch_size: int, epochs: int) -> np.ndarray:
    """The shuffled rows of every step of a run, for every seed: shape (steps, seeds, batch).

    Step ``t`` of seed ``s`` reads ``plan[t, s]``: the ``t % spe``-th slice of
    ``epoch_permutation(s, t // spe, n)``, with ``spe = n // batch_size`` (the remainder of
    each permutation is dropped).

    Args:
        seeds: (S,) sampling seeds.
        n: rows in the data set.
        batch_size: rows per step.
        epochs: passes over the data.

    Returns:
        An int32 array of shape (epochs * spe, S, batch_size).

    Example:
        >>> plan([0, 1], 10, 3, 2).shape
        (6, 2, 3)
    """
    spe = steps_per_epoch(n, batch_size)
    seeds = np.asarray(seeds).reshape(-1)
    rows = np.empty((epochs, spe, len(seeds), batch_size), np.int32)
    for e in range(epochs):
        for j, s in enumerate(seeds):
            perm = epoch_permutation(s, e, n)[: spe * batch_size]
            rows[e, :, j] = perm.reshape(spe, batch_size)
    return rows.reshape(epochs * spe, len(seeds), batch_size)
