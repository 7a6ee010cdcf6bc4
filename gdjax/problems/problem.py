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
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gdjax.problems.losses import FStarSource, LossSpec, QuadraticView, gradient, offers

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
        data: the loss's data, as the arguments its spec takes after the parameters, each a
            pytree of arrays whose leading axis is the rows: ``(X, y)`` for the shipped losses
            (X of shape (n, d) in a floating dtype: float32, or float64 with x64 on; y of
            shape (n,)), ``(data,)`` for :func:`~gdjax.problems.custom` (the user's pytree).
            The kernel gathers a step's rows from every leaf.
    """

    name: str
    spec: LossSpec
    data: tuple = dataclasses.field(repr=False)

    @property
    def X(self) -> jax.Array:
        """The features, (n, d): the first data argument of a loss that takes ``(X, y)``."""
        return self._xy()[0]

    @property
    def y(self) -> jax.Array:
        """The targets, (n,): the second data argument of a loss that takes ``(X, y)``."""
        return self._xy()[1]

    def _xy(self):
        if len(self.data) != 2:
            raise AttributeError(
                f"problem {self.name!r} has no X and y: its loss takes one pytree of data, "
                "problem.data[0]"
            )
        return self.data

    @property
    def kind(self) -> str:
        """The loss: "linear", "quadratic", "logistic" or "softmax"."""
        return self.spec.kind

    @property
    def n(self) -> int:
        """Number of rows (the leading axis of every leaf of the data)."""
        return int(jax.tree.leaves(self.data)[0].shape[0])

    @property
    def d(self) -> int:
        """Number of features: the columns of X; for a problem whose data is a pytree
        (:func:`~gdjax.problems.custom`), the scalars in one row over every leaf."""
        if len(self.data) == 2:
            return int(self.X.shape[1])
        return sum(math.prod(a.shape[1:]) for a in jax.tree.leaves(self.data))

    @property
    def dtype(self):
        """The floating dtype everything about this problem runs in: X's, or that of the
        parameters of a loss that states its own (``spec.dtype``: a custom loss)."""
        own = getattr(self.spec, "dtype", None)
        return self.X.dtype if own is None else own

    @property
    def num_params(self) -> int:
        """Scalars in one lane's parameters."""
        return sum(int(np.size(v)) for v in jax.tree.leaves(self.init_params()))

    def init_params(self, seed: int | None = None) -> Params:
        """The initial parameters: zeros for the shipped losses; a custom loss's own, drawn for
        ``seed`` where they are a function of a key (:attr:`per_seed_start`).

        Args:
            seed: the sweep's seed (None: the start every seed shares, or seed 0's draw).

        Returns:
            A pytree of arrays in :attr:`dtype`.
        """
        if seed is not None and self.per_seed_start:
            return self.spec.draw(seed)
        return self.spec.init(self.d, self.dtype)

    @property
    def per_seed_start(self) -> bool:
        """Whether every seed draws its own initial parameters (a custom loss's ``init`` that
        is a function of a key), so that f(w0) differs between seeds; False where every seed
        shares one start (a pytree ``init``, the shipped losses' zeros).

        Example:
            >>> import gdjax, numpy as np
            >>> def loss(params, x):
            ...     return (params["a"] ** 2).sum() + 0 * x.sum()
            >>> x = np.zeros((4, 1))
            >>> gdjax.problems.custom(loss, x, init={"a": np.ones(2)}, f_star=0.0).per_seed_start
            False
        """
        # every custom loss offers draw(); only an init that is a function of a key differs
        return self.offers("draw") and bool(self.spec.per_seed)

    @property
    def f_star_source(self) -> FStarSource:
        """Where f* comes from (solves for it, cached, where that is how it is known):
        ``.label`` says it in one line for tables.

        Example:
            >>> import gdjax
            >>> gdjax.problems.make_logistic(64, 2).f_star_source.label
            'Newton (float64)'
        """
        if not self.offers("optimum"):
            return FStarSource(self.spec.optimum_method)
        return self._solution[2]

    def flops(self, batch_size: int) -> tuple[float, float] | None:
        """XLA's measured flops of one lane's full-data check and of one step on
        ``batch_size`` rows, ``(check, step)``, where the loss offers a measurement (a custom
        loss: compiled for it, cached); None for the shipped losses, whose cost is known."""
        if not self.offers("flops"):
            return None
        cache = self.__dict__.setdefault("_flops", {})
        if batch_size not in cache:
            cache[batch_size] = self.spec.flops(self.init_params(), *self.data, batch_size)
        return cache[batch_size]

    def loss(self, params: Params, *data) -> jax.Array:
        """The loss at ``params`` on rows of the data; all of it when ``data`` is omitted.

        Args:
            params: a pytree like :meth:`init_params`.
            *data: rows to evaluate on, structured like :attr:`data` (X and y for the shipped
                losses; default: all of them).

        Returns:
            A scalar array.
        """
        return self.spec.loss(params, *(data or self.data))

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

    def gradient_norm(self, params: Params) -> float:
        """``||grad f(params)||_2`` over all the data, in float64 (the ``measure="grad_norm"``
        of a sweep is relative to it at the start).

        Example:
            >>> import gdjax
            >>> p = gdjax.problems.quadratic(1.0, -4.0, 0.0)  # f'(x) = 2x - 4
            >>> p.gradient_norm({"x": 0.0})
            4.0
        """
        return gradient.gradient_norm(self.spec.loss, self._float64_data, params)

    def row_gradient_scale(self, params: Params) -> float:
        """The mean over rows of the norm of each row's loss gradient at ``params``, in float64:
        the scale of the terms the full-data gradient sums, which bounds its rounding
        (:mod:`gdjax.problems.losses.gradient`)."""
        return gradient.mean_row_gradient_norm(self.spec.loss, self._float64_data, params)

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
    def _float64_data(self) -> tuple:
        # floating leaves in float64; integer ones (labels) stay integers, which a loss may
        # index with (softmax's solves cast its labels to int64 themselves)
        def cast(a):
            a = np.asarray(a)
            return a.astype(np.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a

        return tuple(jax.tree.map(cast, d) for d in self.data)

    @functools.cached_property
    def _solution(self) -> tuple[Params, float, FStarSource]:
        if not self.offers("optimum"):
            raise ValueError(
                f"problem {self.name!r} has no optimum before a run: its f* is the best "
                "full-data loss a run finds (f_star='best'); read it from the result's f_star"
            )
        if self.offers("solve"):  # a solve with more to report (a reference solve's record)
            return self.spec.solve(*self._float64_data)
        params, f_star = self.spec.optimum(*self._float64_data)
        return params, f_star, FStarSource(self.spec.optimum_method)

    @functools.cached_property
    def _optimum(self) -> tuple[Params, float]:
        return self._solution[:2]

    @functools.cached_property
    def _curvature(self) -> tuple[float, float]:
        if not self.offers("curvature"):
            raise ValueError(
                f"problem {self.name!r} offers no curvature (a custom loss offers it with a "
                "reference f* and few enough parameters: gdjax.problems.losses.custom)"
            )
        return self.spec.curvature(*self._float64_data, self._optimum[0])

    @functools.cached_property
    def _monitor_aux(self):
        if not self.offers("optimum"):  # f* is found by the run: the monitor needs no optimum
            return self.spec.monitor_aux(*self._float64_data, None, None, self.dtype)
        params, f_star = self._optimum
        return self.spec.monitor_aux(*self._float64_data, params, f_star, self.dtype)

    def optimum(self) -> tuple[Params, float]:
        """The minimiser and the minimum f*, computed in float64 with NumPy (cached).

        Least squares uses ``numpy.linalg.lstsq``; logistic and softmax use damped Newton's method
        to a gradient norm near machine precision; a custom loss its ``f_star``: a number given
        (params None), or a float64 reference solve (:attr:`f_star_source` says which).

        Returns:
            ``(params, f_star)``: params as float64 NumPy arrays, f_star a Python float.

        Raises:
            ValueError: a custom loss whose f* is the best a run finds (``f_star="best"``).
        """
        return self._optimum

    def curvature(self) -> tuple[float, float]:
        """``(L, mu)``: the largest and smallest eigenvalue of the loss Hessian, in float64.

        Exact for least squares and the quadratic (their Hessian is constant); taken at the
        optimum for logistic and softmax, and estimated there by Lanczos for a custom loss
        that offers it (``problem.offers("curvature")``). Batch GD is stable for
        ``lr < 2 / L`` and fastest at ``2 / (L + mu)``; ``L / mu`` is the condition number.

        Raises:
            ValueError: the loss offers no curvature.

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
        value = self.spec.monitor(params, *self.data, self.monitor_aux())
        if self.spec.monitors_gap:
            return value + jnp.asarray(self.optimum()[1], value.dtype)
        return value


# --------------------------------------------------------------------------------------------
# Constructors
# --------------------------------------------------------------------------------------------
