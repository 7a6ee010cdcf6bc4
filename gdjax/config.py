"""Scoped JAX configuration: 64-bit mode for a block, restored afterwards.

JAX's ``jax_enable_x64`` is process-global; flipping it for good inside a library call (or a test)
would change every later computation. :func:`x64` sets it for a ``with`` block only.

Example:
    >>> import jax, gdjax
    >>> before = jax.config.jax_enable_x64
    >>> with gdjax.x64():
    ...     p = gdjax.problems.make_linear(16, 2)
    >>> str(p.dtype), jax.config.jax_enable_x64 == before
    ('float64', True)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax

__all__ = ["x64"]


@contextlib.contextmanager
def x64(enabled: bool = True) -> Iterator[None]:
    """Run the block with JAX's 64-bit mode ``enabled``, then restore the previous setting.

    Args:
        enabled: the setting inside the block.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {type(enabled).__name__}")
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", enabled)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)
