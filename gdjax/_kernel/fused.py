"""Reductions along axis 0 written so that XLA's CPU backend compiles them into one kernel.

XLA's CPU backend rewrites a reduction over more than 32 elements into two kernels, a
reduce-window over blocks of 32 and a reduce of the blocks. Each kernel costs compile time
and, inside a loop, a launch every iteration. Written as a few
reductions of at most 32 elements combined elementwise, the same reduction stays one kernel.
Beyond :data:`MAX_PIECES` pieces XLA no longer fuses them (8 pieces made 6 kernels, 16 made
22, measured on jax 0.10.2), so longer axes keep the plain reduction.

Example:
    >>> import jax.numpy as jnp
    >>> float(sum0(jnp.arange(70.0))), int(max0(jnp.arange(70)))
    (2415.0, 69)
"""

from __future__ import annotations

import functools

import jax.numpy as jnp

__all__ = ["MAX_PIECES", "PIECE", "any0", "max0", "min0", "sum0"]

PIECE = 32  # the longest reduction XLA's CPU backend leaves in one kernel
MAX_PIECES = 5  # the most pieces that still fuse into one kernel


def _by_pieces(x, reduce, combine):
    n = x.shape[0]
    if n <= PIECE or n > PIECE * MAX_PIECES:
        return reduce(x, axis=0)
    parts = [reduce(x[i : i + PIECE], axis=0) for i in range(0, n, PIECE)]
    return functools.reduce(combine, parts)


def sum0(x):
    """``jnp.sum(x, axis=0)``, in one kernel where it can be."""
    return _by_pieces(x, jnp.sum, jnp.add)


def max0(x):
    """``jnp.max(x, axis=0)``, in one kernel where it can be."""
    return _by_pieces(x, jnp.max, jnp.maximum)


def min0(x):
    """``jnp.min(x, axis=0)``, in one kernel where it can be."""
    return _by_pieces(x, jnp.min, jnp.minimum)


def any0(x):
    """``jnp.any(x, axis=0)``, in one kernel where it can be."""
    return _by_pieces(x, jnp.any, jnp.logical_or)
