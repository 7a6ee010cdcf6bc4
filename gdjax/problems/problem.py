"""Problem: data + loss + initial parameters + the float64 optimum f*.

A :class:`Problem` couples a data set with a loss spec (:mod:`gdjax.problems.losses`): a small,
hashable object that knows the loss, the shape of the parameters and how to find the optimum
in float64. The spec is a static argument of the compiled kernels, so two problems of the same
kind and shapes share one compile. The constructors live in :mod:`gdjax.problems.constructors`.

Example:
    >>> import gdjax
    >>> p = gdjax.problems.make_linear(100, 3, seed=0)
    >>> params, f_star = p.optimum()
    >>> round(float(p.loss(params)), 6) == round(f_star, 6)
    True
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gdjax.problems.losses import LossSpec, QuadraticView, offers

Params = Any  # a pytree of arrays: {"w": ..., "b": ...} or {"x": ...}

__all__ = ["Params", "Problem"]


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """A data set with a loss, initial parameters and a float64 optimum.

    Build one with :func:`linear`, :func:`logistic`, :func:`softmax`, :func:`quadratic` or the
    synthetic makers; do not call the constructor directly.

    Attributes:
        name: a short label used in reports.
        spec: the hashable loss spec (a static argument of the compiled kernels).
        X: data, shape (n, d), a floating dtype (float32, or float64 with x64 on).
        y: targets, shape (n,).
    """

    name: str
    spec: LossSpec
    X: jax.Array = dataclasses.field(repr=False)
    y: jax.Array = dataclasses.field(repr=False)

    @property
    def kind(self) -> str:
        """The loss: "linear", "quadratic", "logistic" or "softmax"."""
        return self.spec.kind

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        """Number of features (columns of X)."""
        return int(self.X.shape[1])

    @property
    def dtype(self):
        """The floating dtype everything about this problem runs in."""
        return self.X.dtype

    def init_params(self) -> Params:
        """Zero parameters of the right shapes and dtype."""
        return self.spec.init(self.d, self.dtype)

    def loss(self, params: Params, X=None, y=None) -> jax.Array:
        """The loss at ``params`` on (X, y); the full data when X and y are omitted.

        Args:
            params: a pytree like :meth:`init_params`.
            X: rows to evaluate on (default: all of them).
            y: their targets (default: all of them).

        Returns:
            A scalar array.
        """
        X = self.X if X is None else X
        y = self.y if y is None else y
        return self.spec.loss(params, X, y)

    def offers(self, capability: str) -> bool:
        """Whether this problem's loss offers an optional capability, e.g. ``"quadratic_view"``
        (:mod:`gdjax.problems.losses.base`).

        Example:
            >>> import gdjax
            >>> gdjax.problems.make_linear(64, 3).offers("quadratic_view")
            True
            >>> gdjax.problems.make_logistic(64, 3).offers("quadratic_view")
            False
        """
        return offers(self.spec, capability)

    def quadratic_view(self) -> QuadraticView | None:
        """The loss as a quadratic form in float64 where its spec offers one (least squares),
        else None."""
        if not self.offers("quadratic_view"):
            return None
        return self.spec.quadratic_view(self._float64_data[0])

    def value(self, params: Params) -> float:
        """The full-data loss at ``params`` in float64 with NumPy (no compile).

        Example:
            >>> import gdjax
            >>> p = gdjax.problems.make_linear(64, 3)
            >>> abs(p.value(p.init_params()) - float(p.loss(p.init_params()))) < 1e-5
            True
        """
        return self.spec.value(*self._float64_data, params)

    def gap(self, params: Params) -> float:
        """``f(params) - f*`` in float64: from the loss's own gap where its monitor is one
        (``spec.monitors_gap``: no cancellation against a large f*), else ``value - f*``.

        Example:
            >>> import gdjax
            >>> p = gdjax.problems.make_linear(64, 3)
            >>> abs(p.gap(p.init_params()) - (p.value(p.init_params()) - p.optimum()[1])) < 1e-9
            True
        """
        opt, f_star = self.optimum()
        if self.spec.monitors_gap:
            return self.spec.gap(*self._float64_data, params, opt)
        return self.value(params) - f_star

    # cached_property stores in the instance's __dict__, which a frozen dataclass allows: the
    # float64 solves run once per problem, and dataclasses.replace gives a fresh cache.
    @functools.cached_property
    def _float64_data(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.X, np.float64), np.asarray(self.y, np.float64)

    @functools.cached_property
    def _optimum(self) -> tuple[Params, float]:
        return self.spec.optimum(*self._float64_data)

    @functools.cached_property
    def _curvature(self) -> tuple[float, float]:
        return self.spec.curvature(*self._float64_data, self._optimum[0])

    @functools.cached_property
    def _monitor_aux(self):
        params, f_star = self._optimum
        return self.spec.monitor_aux(*self._float64_data, params, f_star, self.dtype)

    def optimum(self) -> tuple[Params, float]:
        """The minimiser and the minimum f*, computed in float64 with NumPy (cached).

        Least squares uses ``numpy.linalg.lstsq``; logistic and softmax use damped Newton's method
        to a gradient norm near machine precision.

        Returns:
            ``(params, f_star)``: params as float64 NumPy arrays, f_star a Python float.
        """
        return self._optimum

    def curvature(self) -> tuple[float, float]:
        """``(L, mu)``: the largest and smallest eigenvalue of the loss Hessian, in float64.

        Exact for least squares and the quadratic (their Hessian is constant); taken at the
        optimum for logistic and softmax. Batch GD is stable for ``lr < 2 / L`` and fastest at
        ``2 / (L + mu)``; ``L / mu`` is the condition number.

        Example:
            >>> import gdjax  # the parabola x^2 - 5x + 5: f'' = 2, so lr = 1.0 is 2 / L
            >>> gdjax.problems.textbook("parabola").curvature()
            (2.0, 2.0)
        """
        return self._curvature

    def monitor_aux(self):
        """Arrays the cheap full-data loss of this problem needs (None for most problems)."""
        return self._monitor_aux

    def full_loss(self, params: Params) -> jax.Array:
        """The full-data loss as the kernels monitor it (exactly :meth:`loss`, maybe cheaper):
        a monitor of the gap f - f* (``spec.monitors_gap``) gets f* added back, in the
        problem's dtype."""
        value = self.spec.monitor(params, self.X, self.y, self.monitor_aux())
        if self.spec.monitors_gap:
            return value + jnp.asarray(self.optimum()[1], value.dtype)
        return value


# --------------------------------------------------------------------------------------------
# Constructors
# --------------------------------------------------------------------------------------------
