"""Least squares and the one-dimensional quadratic: the losses with a closed-form optimum.

Least squares offers the quadratic view (:class:`~gdjax.problems.losses.base.QuadraticView`):
the kernel runs it in its Hessian's eigenbasis with an O(d) exact monitor.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax.numpy as jnp
import numpy as np

from gdjax.problems.losses.base import (
    QuadraticView,
    _design,
    _extremes,
    _gap_error,
    _theta,
    _unpack,
    flat,
)

__all__ = ["LeastSquares", "Quadratic"]


@dataclasses.dataclass(frozen=True)
class LeastSquares:
    """Least squares: mean((X w + b - y)^2)."""

    intercept: bool
    kind: ClassVar[str] = "linear"
    optimum_method: ClassVar[str] = "lstsq (float64)"
    # f(theta) = f* + (theta - theta*)^T M (theta - theta*), M = A^T A / n: O(d^2), not O(n d)
    cheap_monitor: ClassVar[bool] = True
    rows_are_samples: ClassVar[bool] = True
    # the monitor is the quadratic form alone: f* + gap would round the gap away when |f*| is
    # large against it (f* = 9e4 in float32 rounds to 8e-3)
    monitors_gap: ClassVar[bool] = True

    def loss(self, params, X, y):
        r = X @ params["w"] - y
        if self.intercept:
            r = r + params["b"]
        return jnp.mean(r * r)

    def init(self, d, dtype):
        p = {"w": np.zeros((d,), dtype)}
        if self.intercept:
            p["b"] = np.zeros((), dtype)
        return p

    def optimum(self, X, y):
        A = _design(X, self.intercept)
        theta, *_ = np.linalg.lstsq(A, y, rcond=None)
        r = A @ theta - y
        return _unpack(theta, X.shape[1], self.intercept), float(np.mean(r * r))

    def value(self, X, y, params):
        r = _design(X, self.intercept) @ _theta(params, self.intercept) - y
        return float(np.mean(r * r))

    # The suboptimality comes out of the quadratic form without the cancellation of f(w) - f*
    # in float32, and it costs O(d^2) per evaluation: cheap enough to track at every step.
    def gap(self, X, y, params, opt_params) -> float:
        """``f(params) - f*`` in float64 without forming f: ``mean((A (theta - theta*))^2)``
        (the residual at the optimum is orthogonal to the columns of A), so it does not
        cancel against a large f*."""
        del y
        delta = _theta(params, self.intercept) - _theta(opt_params, self.intercept)
        r = _design(X, self.intercept) @ delta
        return float(np.mean(r * r))

    def monitor_aux(self, X, y, opt_params, f_star, dtype):
        del y, f_star  # the gap needs no f*
        theta_star = np.concatenate([np.ravel(opt_params[k]) for k in sorted(opt_params)])
        return {"M": np.asarray(self.moment(X), dtype), "theta_star": np.asarray(theta_star, dtype)}

    def monitor(self, params, X, y, aux):
        """The gap ``f(params) - f* = delta^T M delta`` (``monitors_gap``), >= 0."""
        del X, y  # the sufficient statistics in aux stand for the data
        delta = flat(params) - aux["theta_star"]
        return delta @ (aux["M"] @ delta)

    def monitor_error(self, aux, gaps, *, f_star, f0, n, dtype):
        """The rounding error of the monitored gap where it is ``gaps``, in float64.

        The gap ``delta^T M delta`` has no term of size |f*|: what limits it is theta*, which
        the kernel holds rounded to ``dtype`` (as it holds its iterates): ``delta`` is off by
        ``e``, up to one ulp of each coordinate, ``|e| <= eps |theta*|``. At a true gap g the
        monitored one is ``(delta + e)^T M (delta + e)``, off by at most ``2 sqrt(g F) + F``
        with ``F = (eps |theta*|)^T |M| (eps |theta*|)``, the gap of the rounding itself. The
        quadratic form's own rounding is relative to the gap, a few eps, and left out.

        Example:
            >>> aux = {"M": np.eye(2), "theta_star": np.array([1.0, -1.0])}
            >>> e = LeastSquares(False).monitor_error(aux, [0.0, 1.0], f_star=9e4, f0=9e4 + 2,
            ...                                       n=8, dtype=np.float32)
            >>> F = 2 * float(np.finfo(np.float32).eps) ** 2
            >>> bool(np.allclose(e, [F, 2 * np.sqrt(F) + F]))
            True
        """
        del f_star, f0, n
        e = float(np.finfo(dtype).eps) * np.abs(np.asarray(aux["theta_star"], np.float64))
        floor = float(e @ np.abs(np.asarray(aux["M"], np.float64)) @ e)
        return _gap_error(np.asarray(gaps, np.float64), floor)

    def monitor_gradient(self, params, X, y, aux):
        """The full-data gradient from the quadratic form, ``2 M (theta - theta*)`` (flat, in
        :func:`flat`'s order): O(d^2), exact every step (the ``"grad_norm"`` measure,
        :mod:`gdjax.problems.losses.gradient`)."""
        del X, y
        return 2.0 * (aux["M"] @ (flat(params) - aux["theta_star"]))

    def gradient_error(self, aux, levels, *, dtype):
        """How far rounding in ``dtype`` may move the norm of :meth:`monitor_gradient` where
        the true norm is ``levels``, in float64.

        Two terms. theta* is held rounded, off by ``e``, ``|e| <= eps |theta*|``: the gradient
        is off by ``2 M e``, at most ``2 || |M| e ||``. The product ``M delta`` of the rounded M
        rounds by at most ``(p + 2) u |M| |delta|`` per entry (u = eps / 2), and where the
        gradient's norm is g, ``||delta|| <= g / (2 lam_min)`` (lam_min: M's smallest
        eigenvalue): at most ``(p + 2) u || |M| ||_2 g / (2 lam_min)``, infinite where M is
        singular (the eigenbasis form has no such term: its product is diagonal).

        Example:
            >>> aux = {"M": np.diag([2.0, 1.0]), "theta_star": np.array([0.0, 0.0])}
            >>> e = LeastSquares(False).gradient_error(aux, [1.0], dtype=np.float32)
            >>> bool(np.isclose(e[0], 4 * float(np.finfo(np.float32).eps) / 2 * 2 / 2))
            True
        """
        M = np.asarray(aux["M"], np.float64)
        eps = float(np.finfo(dtype).eps)
        e = eps * np.abs(np.asarray(aux["theta_star"], np.float64))
        floor = 2.0 * float(np.linalg.norm(np.abs(M) @ e))
        lam_min = float(np.linalg.eigvalsh(M)[0]) if M.size else 1.0
        if lam_min <= 0.0:
            return np.full(np.shape(levels), np.inf)
        p = M.shape[0]
        slope = (p + 2) * eps / 2 * float(np.linalg.norm(np.abs(M), 2)) / (2.0 * lam_min)
        return floor + slope * np.asarray(levels, np.float64)

    def quadratic_view(self, X) -> QuadraticView:
        """The capability that makes least squares fast: the loss as a quadratic form (the
        kernel's eigenbasis and O(d) monitor, :mod:`gdjax.theory`'s exact step counts)."""
        return QuadraticView(np.asarray(X, np.float64), self.intercept)

    def moment(self, X) -> np.ndarray:
        """``A^T A / n`` in float64, rows and columns in the order of :func:`flat`.

        The Hessian of the loss is twice this matrix.
        """
        return self.quadratic_view(X).moment()

    def curvature(self, X, y, opt_params):
        del y, opt_params  # the Hessian of least squares does not depend on where it is taken
        return _extremes(2.0 * self.moment(X))


@dataclasses.dataclass(frozen=True)
class Quadratic:
    """f(x) = a x^2 + b x + c in one scalar parameter.

    A quadratic has no data set; its single data row holds the coefficients (a, b, c). That
    makes an epoch one step, and keeps the coefficients out of the compiled program's
    constants, so every parabola shares one compile.

    Like least squares it is monitored as its gap ``a (x - x*)^2`` (``monitors_gap``): the
    loss itself cancels terms far larger than the gap (a x^2 and b x against c), so in the
    problem's dtype ``a x^2 + b x + c`` may round to f* while x is still far from x*.
    """

    kind: ClassVar[str] = "quadratic"
    optimum_method: ClassVar[str] = "closed form"
    cheap_monitor: ClassVar[bool] = True
    monitors_gap: ClassVar[bool] = True
    rows_are_samples: ClassVar[bool] = False  # its one row holds (a, b, c): every batch is that row

    def loss(self, params, X, y):
        del y
        a, b, c = X[0, 0], X[0, 1], X[0, 2]
        x = params["x"]
        return a * x * x + b * x + c

    def init(self, d, dtype):
        del d
        return {"x": np.zeros((), dtype)}

    def optimum(self, X, y):
        del y
        a, b, c = X[0]
        return {"x": np.float64(-b / (2 * a))}, float(c - b * b / (4 * a))

    def value(self, X, y, params):
        """The loss in float64, as f* + a (x - x*)^2 (which rounds less than a x^2 + b x + c)."""
        opt, f_star = self.optimum(X, y)
        return f_star + self.gap(X, y, params, opt)

    def gap(self, X, y, params, opt_params) -> float:
        """``f(x) - f* = a (x - x*)^2`` in float64, with no cancellation against f*."""
        del y
        d = float(np.asarray(params["x"], np.float64)) - float(opt_params["x"])
        return float(X[0][0]) * d * d

    def monitor_aux(self, X, y, opt_params, f_star, dtype):
        del y, f_star  # the gap needs no f*
        return {"a": np.asarray(X[0][0], dtype), "x_star": np.asarray(opt_params["x"], dtype)}

    def monitor(self, params, X, y, aux):
        """The gap ``f(x) - f* = a (x - x*)^2`` (``monitors_gap``), >= 0."""
        del X, y  # a and x* in aux stand for the coefficients
        d = params["x"] - aux["x_star"]
        return aux["a"] * d * d

    def monitor_error(self, aux, gaps, *, f_star, f0, n, dtype):
        """The rounding error of the monitored gap where it is ``gaps``, in float64: x* held
        in ``dtype`` is off by up to ``eps |x*|``, so, as for least squares, the gap is off by
        at most ``2 sqrt(g F) + F`` with ``F = a (eps x*)^2``.

        Example:
            >>> aux = {"a": np.float32(1.0), "x_star": np.float32(1e4)}
            >>> e = Quadratic().monitor_error(aux, [0.0], f_star=0.0, f0=9e2, n=1,
            ...                               dtype=np.float32)
            >>> bool(np.isclose(e[0], (float(np.finfo(np.float32).eps) * 1e4) ** 2))
            True
        """
        del f_star, f0, n
        e = float(np.finfo(dtype).eps) * abs(float(aux["x_star"]))
        return _gap_error(np.asarray(gaps, np.float64), float(aux["a"]) * e * e)

    def monitor_gradient(self, params, X, y, aux):
        """The gradient ``2 a (x - x*)``, exact every step (the ``"grad_norm"`` measure)."""
        del X, y
        return 2.0 * aux["a"] * (params["x"] - aux["x_star"])

    def gradient_error(self, aux, levels, *, dtype):
        """The rounding of :meth:`monitor_gradient` where its magnitude is ``levels``: x* held
        in ``dtype`` is off by up to ``eps |x*|``, ``2 a eps |x*|``, and the product rounds by
        a few u of the gradient itself (3u: two products and a difference).

        Example:
            >>> aux = {"a": np.float32(1.0), "x_star": np.float32(0.0)}
            >>> Quadratic().gradient_error(aux, [0.0], dtype=np.float32).tolist()
            [0.0]
        """
        eps = float(np.finfo(dtype).eps)
        floor = 2.0 * abs(float(aux["a"])) * eps * abs(float(aux["x_star"]))
        return floor + 1.5 * eps * np.asarray(levels, np.float64)

    def curvature(self, X, y, opt_params):
        del y, opt_params
        two_a = 2.0 * float(X[0][0])
        return two_a, two_a
