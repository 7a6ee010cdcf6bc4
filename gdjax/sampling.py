"""Which rows each step sees: full batch, one sample, or a mini-batch.

Steps are numbered 0, 1, 2, ... An epoch is ``n // batch_size`` steps over one permutation of the
rows; the remainder is dropped, since a ragged last batch would change shapes (a recompile) and
scale its update differently. With ``shuffle=False`` the rows are taken in order, the textbook loop.

The permutation of epoch ``e`` for seed ``s`` is ``epoch_permutation(key(s), e, n)``. It is public
so that an independent reference implementation can replay exactly the rows gdjax used.

:func:`plan` draws the rows of every step of a run at once, before the run: the kernel then reads
them as the input of its scan, with no branch and no permutation carried through its steps (the
way a hand-written ``jit(vmap(scan))`` program and the NumPy baselines take their rows).

Example:
    >>> import jax
    >>> steps_per_epoch(10, 3)
    3
    >>> epoch_permutation(jax.random.key(0), 0, 5).shape
    (5,)
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

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


def epoch_permutation(key: jax.Array, epoch, n: int) -> jax.Array:
    """The row order of one epoch: a uniformly random permutation of ``range(n)``.

    A shuffle is a sort by random keys. ``jax.random.permutation`` sorts (key, value) pairs, which
    XLA's CPU backend does through a generic comparator, ~1 ms per 8192 rows: more than the
    whole epoch of a mini-batch sweep. Here each random key carries its row index in its low
    bits, so the sort is a single-operand uint32 sort (XLA's fast path, 5-7x quicker), and the
    index is read back from the sorted keys. Rows whose random high bits tie keep their order;
    as in ``jax.random.permutation``, enough rounds are composed that ties are unlikely
    (about 1 / n) to bias the result.

    Args:
        key: the PRNG key of the seed (``jax.random.key(seed)``).
        epoch: epoch index (a Python or traced integer).
        n: rows in the data set, < 2**31.

    Returns:
        An int32 array of shape (n,).
    """
    index_bits = max(1, (n - 1).bit_length())
    random_bits = 32 - index_bits
    if random_bits < 1:
        raise ValueError(f"n must be < 2**31 rows, got {n}")
    rounds = max(1, math.ceil(3 * index_bits / random_bits))
    bits = jax.random.bits(jax.random.fold_in(key, epoch), (rounds, n), jnp.uint32)
    mask = jnp.uint32((1 << index_bits) - 1)
    rows = jnp.arange(n, dtype=jnp.uint32)
    order = rows
    for r in range(rounds):
        order = order[jnp.sort((bits[r] & ~mask) | rows) & mask]
    return order.astype(jnp.int32)


def batch_rows(perm: jax.Array, step_in_epoch, batch_size: int) -> jax.Array:
    """Row indices of one step: the ``step_in_epoch``-th slice of ``perm`` (batch_size long).

    Args:
        perm: the permutation of the epoch, shape (..., n).
        step_in_epoch: step index within the epoch (traced integer).
        batch_size: rows per step.

    Returns:
        Indices of shape (..., batch_size).
    """
    return jax.lax.dynamic_slice_in_dim(perm, step_in_epoch * batch_size, batch_size, axis=-1)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def plan(seeds: jax.Array, n: int, batch_size: int, epochs: int) -> jax.Array:
    """The shuffled rows of every step of a run, for every seed: shape (steps, seeds, batch).

    Step ``t`` of seed ``s`` reads ``plan[t, s]``: the ``t % spe``-th slice of
    ``epoch_permutation(key(s), t // spe, n)``, with ``spe = n // batch_size`` (the remainder of
    each permutation is dropped).

    Args:
        seeds: (S,) uint32 sampling seeds.
        n: rows in the data set.
        batch_size: rows per step.
        epochs: passes over the data.

    Returns:
        An int32 array of shape (epochs * spe, S, batch_size).

    Example:
        >>> import jax.numpy as jnp
        >>> plan(jnp.asarray([0, 1], jnp.uint32), 10, 3, 2).shape
        (6, 2, 3)
    """
    spe = steps_per_epoch(n, batch_size)
    keys = jax.vmap(jax.random.key)(seeds)
    epoch_ids = jnp.arange(epochs)
    perms = jax.vmap(lambda e: jax.vmap(lambda k: epoch_permutation(k, e, n))(keys))(epoch_ids)
    rows = perms[:, :, : spe * batch_size].reshape(epochs, len(seeds), spe, batch_size)
    return rows.transpose(0, 2, 1, 3).reshape(epochs * spe, len(seeds), batch_size)
