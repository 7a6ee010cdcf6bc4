"""The full-data gradient norm as what a run monitors: the ``measure="grad_norm"`` of a sweep.

:class:`GradientNorm` wraps any loss spec: its steps are the wrapped loss's (``jax.grad`` over a
step's rows, as always), but its monitor returns ``||grad f(w)||_2`` over all the data instead
of f(w). The kernel, its levels and its booking are unchanged: the levels are made with the
start's gradient norm as ``f0`` and 0 as the optimum (``Levels.of(g0, 0, ...)``), so a target
t means ``||grad f(w)|| <= t ||grad f(w0)||``. No f* is needed.

Where it is cheap the gradient comes from a loss's own capability, ``monitor_gradient``:
least squares' quadratic form gives ``2 M (theta - theta*)`` in O(d^2), and in the Hessian's
eigenbasis ``2 lam (z - z*)`` in O(d); the quadratic ``2 a (x - x*)``. Those stay exact every
step (``cheap_monitor``). Every other loss is monitored by ``jax.grad`` of its loss over all
rows: a forward and a backward pass, about three times a full-data loss
(:func:`gdjax._kernel.cost.exact_affordable` costs it so).

Rounding (:meth:`GradientNorm.monitor_error`): a loss's ``gradient_error`` where it offers
one; otherwise the full gradient is a mean of per-row gradients, whose pairwise sum in a dtype
of unit roundoff u rounds each entry by at most u log2(n) times the mean of the rows' |entries|,
and each row's own arithmetic by a few u: ``u (log2(n) + 4) s``, s the mean per-row gradient
norm (:func:`mean_row_gradient_norm`), the larger of its values at the start and, where the
optimum's parameters are known without a reference solve, at the optimum (there the per-row
gradients no longer cancel to zero). The norm itself adds at most a few tens of u of itself.

Example:
    >>> import numpy as np
    >>> from gdjax.problems.losses import LeastSquares
    >>> spec = GradientNorm(LeastSquares(False))
    >>> X, y = np.array([[1.0], [2.0]]), np.array([2.0, 4.0])
    >>> aux = {"M": np.array([[2.5]]), "theta_star": np.array([2.0])}
    >>> float(spec.monitor({"w": np.array([1.0])}, X, y, aux))  # |2 * 2.5 * (1 - 2)|
    5.0
    >>> gradient_norm(LeastSquares(False).loss, (X, y), {"w": np.array([1.0])})
    5.0
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from gdjax.config import x64
from gdjax.problems.losses.base import offers

__all__ = ["NORM_ULPS", "GradientNorm", "gradient_norm", "mean_row_gradient_norm"]

#: Units of roundoff the norm of a gradient adds to itself (its squares' pairwise sum over up
#: to 2**40 entries, and the square root): counted in every :meth:`GradientNorm.monitor_error`.
NORM_ULPS = 24

#: Float64 entries of the per-row gradients :func:`mean_row_gradient_norm` holds at once.
_BLOCK_ENTRIES = 1 << 22


@dataclasses.dataclass(frozen=True)
class GradientNorm:
    """A loss spec whose monitor is the norm of the full-data gradient (see the module).

    Attributes:
        base: the wrapped loss spec (its loss makes every step).
        row_scale: the mean per-row gradient norm its rounding is bounded by (float64, made on
            the host; not part of the comparison, so that it changes no compiled program).
    """

    base: Any
    row_scale: float = dataclasses.field(compare=False, default=math.nan)
    monitors_gap: ClassVar[bool] = False  # the norm itself; its optimum is 0

    @property
    def kind(self) -> str:
        return self.base.kind

    @property
    def optimum_method(self) -> str:
        return self.base.optimum_method

    @property
    def cheap_monitor(self) -> bool:
        """The wrapped loss's: the quadratic forms give their gradient as cheaply as their gap."""
        return self.base.cheap_monitor

    @property
    def rows_are_samples(self) -> bool:
        return self.base.rows_are_samples

    @property
    def quadratic(self) -> bool:
        """Whether the gradient comes from the wrapped loss's quadratic form (with its aux)."""
        return offers(self.base, "monitor_gradient")

    def loss(self, params, *data):
        return self.base.loss(params, *data)

    def init(self, d, dtype):
        return self.base.init(d, dtype)

    def monitor_aux(self, *data_optimum_dtype):
        """The wrapped loss's aux where its gradient comes from its quadratic form, else None."""
        return self.base.monitor_aux(*data_optimum_dtype) if self.quadratic else None

    def monitor(self, params, *data_and_aux):
        """``||grad f(params)||_2`` over all the data (arguments: the data, then the aux)."""
        if self.quadratic:
            g = self.base.monitor_gradient(params, *data_and_aux)
            return jnp.sqrt(jnp.sum(g * g))
        *data, _ = data_and_aux
        grads = jax.tree.leaves(jax.grad(self.base.loss)(params, *data))
        return jnp.sqrt(sum(jnp.sum(g * g) for g in grads))

    def monitor_error(self, aux, levels, *, f_star, f0, n, dtype):
        """How far rounding in ``dtype`` may move the monitored norm where it truly is
        ``levels`` (float64): the wrapped loss's ``gradient_error``, or
        ``u (log2(n) + 4) row_scale`` (see the module); plus :data:`NORM_ULPS` u of itself.

        Example:
            >>> from gdjax.problems.losses import Logistic
            >>> spec = GradientNorm(Logistic(True, 0.0), row_scale=0.5)
            >>> e = spec.monitor_error(None, [0.0], f_star=0.0, f0=1.0, n=1024,
            ...                        dtype=np.float32)
            >>> float(e[0]) == float(np.finfo(np.float32).eps) / 2 * 14 * 0.5
            True
        """
        del f_star, f0
        levels = np.asarray(levels, np.float64)
        u = float(np.finfo(dtype).eps) / 2
        own = NORM_ULPS * u * levels
        if self.quadratic:
            return self.base.gradient_error(aux, levels, dtype=dtype) + own
        return u * (np.log2(max(n, 1)) + 4.0) * self.row_scale + own


def _as_float64(tree):
    def cast(a):
        a = np.asarray(a)
        return a.astype(np.float64) if np.issubdtype(a.dtype, np.floating) else a

    return jax.tree.map(cast, tree)


def gradient_norm(loss, data: tuple, params) -> float:
    """``||grad loss(params, *data)||_2`` in float64, over all of ``data``.

    Args:
        loss: ``loss(params, *data)``, a mean over rows.
        data: the data arguments (their floating leaves are computed in float64).
        params: a pytree of arrays.

    Returns:
        A Python float.
    """
    with x64():
        return float(_full_norm(loss)(_as_float64(params), *_as_float64(data)))


def mean_row_gradient_norm(loss, data: tuple, params) -> float:
    """The mean over rows of ``||grad loss(params, row)||_2``, in float64: the scale of the
    terms the full gradient sums (its rounding's, :meth:`GradientNorm.monitor_error`).

    Computed in blocks of rows (each row's gradient is a vector of every parameter).

    Example:
        >>> loss = lambda p, X, y: jnp.mean((X @ p - y) ** 2)
        >>> X, y = np.array([[1.0], [-1.0]]), np.array([0.0, 0.0])
        >>> mean_row_gradient_norm(loss, (X, y), np.array([1.0]))  # rows: 2 and -2 cancel
        2.0
    """
    with x64():
        params = _as_float64(params)
        data = _as_float64(data)
        n = int(jax.tree.leaves(data)[0].shape[0])
        size = max(1, sum(int(np.size(p)) for p in jax.tree.leaves(params)))
        block = max(1, min(n, _BLOCK_ENTRIES // size))

        total = 0.0
        for i in range(0, n, block):
            rows = jax.tree.map(lambda a, i=i: a[i : i + block], data)
            total += float(np.sum(np.asarray(_row_norms(loss)(params, *rows))))
        return total / n


def _norm(tree):
    return jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree.leaves(tree)))


# compiled once per loss (and shapes): a second sweep of the same problem compiles nothing
@functools.lru_cache(maxsize=64)
def _full_norm(loss):
    return jax.jit(lambda params, *data: _norm(jax.grad(loss)(params, *data)))


@functools.lru_cache(maxsize=64)
def _row_norms(loss):
    def row_norm(params, *row):
        one = jax.tree.map(lambda a: a[None], row)  # a batch of one row
        return _norm(jax.grad(loss)(params, *one))

    return jax.jit(lambda params, *rows: jax.vmap(lambda *row: row_norm(params, *row))(*rows))
