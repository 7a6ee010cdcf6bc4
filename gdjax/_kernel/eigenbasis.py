"""Least squares in the eigenbasis of its Hessian: the same iterates, monitored in O(d) a step.

Exact monitoring checks ``f(theta) - f* = (theta - theta*)^T M (theta - theta*)`` after every
step, ``M = A^T A / n`` (``A`` the design, with a column of ones for the intercept). In the
coordinates ``z = Q^T theta`` of the eigenvectors ``M = Q diag(lam) Q^T`` the same number is
``sum(lam * (z - z*)^2)``: O(d) instead of O(d^2), as cheap as the step itself.

Plain SGD, heavy-ball momentum and Nesterov commute with an orthogonal change of coordinates:
their update is a linear combination of gradients with scalar weights, and the gradient of
``mean((A Q z - y)^2)`` is ``Q^T`` times the gradient in ``theta``. Run on the rotated data
``A Q``, they take exactly the rotated steps; only rounding differs. Adam scales each
coordinate separately, so it is not rotated (see :data:`ROTATABLE`).

The rotation is computed once, in float64, from the same moment matrix the monitor uses.

Example:
    >>> import numpy as np, gdjax
    >>> p = gdjax.problems.make_linear(256, 3)
    >>> basis = Eigenbasis.of(p)
    >>> theta = {"b": np.float64(0.5), "w": np.array([1.0, -2.0, 3.0])}
    >>> back = basis.params(basis.coords(theta))
    >>> bool(np.allclose(back["w"], theta["w"])), round(float(back["b"]), 12)
    (True, 0.5)
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from gdjax._kernel import fused
from gdjax.problems.losses import LeastSquares
from gdjax.problems.losses.base import _design, _gap_error, _key_order

__all__ = ["ROTATABLE", "DiagonalLeastSquares", "Eigenbasis"]

#: Optimizers whose steps commute with a rotation of the parameters (see the module docstring).
ROTATABLE = frozenset({"sgd", "momentum", "nesterov"})


@dataclasses.dataclass(frozen=True)
class DiagonalLeastSquares(LeastSquares):
    """Least squares on data whose moment matrix is diagonal: the data rotated by
    :class:`Eigenbasis`, one parameter vector ``{"w": z}``, no intercept (the column of ones
    is rotated in with the rest).

    Its monitor is the gap ``sum(lam * (z - z*)^2)`` (``f - f*``, as least squares'):
    O(d), as cheap as the step it follows.
    """

    intercept: bool = False

    def monitor(self, params, X, y, aux):
        del X, y
        delta = params["w"] - aux["theta_star"]
        # one kernel a step, not two, where the parameters are more than 32 (gdjax._kernel.fused)
        return fused.sum0(aux["lam"] * delta * delta)

    def monitor_error(self, aux, gaps, *, f_star, f0, n, dtype):
        """As :meth:`LeastSquares.monitor_error`, in the eigenbasis, where the kernel holds
        z* and its iterates: ``F = sum(lam (eps |z*|)^2)``."""
        del f_star, f0, n
        e = float(np.finfo(dtype).eps) * np.abs(np.asarray(aux["theta_star"], np.float64))
        floor = float(np.sum(np.asarray(aux["lam"], np.float64) * e * e))
        return _gap_error(np.asarray(gaps, np.float64), floor)

    def monitor_gradient(self, params, X, y, aux):
        """The full-data gradient in the eigenbasis, ``2 lam (z - z*)``: O(d), and of the same
        norm as the gradient in the original coordinates (``Q`` is orthogonal)."""
        del X, y
        return 2.0 * aux["lam"] * (params["w"] - aux["theta_star"])

    def gradient_error(self, aux, levels, *, dtype):
        """The rounding of :meth:`monitor_gradient`'s norm where it is ``levels``: z* held
        rounded moves it by at most ``2 || lam eps |z*| ||``; each entry's own arithmetic (a
        difference and two products) by 3u of itself, u = eps / 2 (a diagonal product: no
        sum, so no term in the condition number as the unrotated form has)."""
        eps = float(np.finfo(dtype).eps)
        lam = np.asarray(aux["lam"], np.float64)
        e = eps * np.abs(np.asarray(aux["theta_star"], np.float64))
        floor = 2.0 * float(np.linalg.norm(lam * e))
        return floor + 1.5 * eps * np.asarray(levels, np.float64)


class Eigenbasis(NamedTuple):
    """The orthonormal eigenvectors of a least-squares problem's moment matrix.

    Attributes:
        Q: (p, p) float64, columns are eigenvectors; rows in the order of
            :func:`gdjax.problems.losses.flat` ("b" first when there is an intercept).
        lam: (p,) float64 eigenvalues (the Hessian's are twice these).
        d: features of the original problem.
        intercept: whether the original problem fits a bias.
    """

    Q: np.ndarray
    lam: np.ndarray
    d: int
    intercept: bool

    @classmethod
    def of(cls, problem) -> Eigenbasis:
        """The eigenbasis of a least-squares :class:`~gdjax.problems.Problem`.

        Args:
            problem: a problem whose loss offers a quadratic view (least squares).

        Returns:
            An :class:`Eigenbasis`.
        """
        view = problem.quadratic_view()
        if view is None:
            raise ValueError(
                f"problem must be least squares (a quadratic view), got {problem.kind!r}"
            )
        lam, Q = np.linalg.eigh(view.moment())
        # an eigenvector's sign is arbitrary: fix it (largest entry positive), so that every
        # process of a multi-host run, whatever its LAPACK, rotates the data alike
        big = np.argmax(np.abs(Q), axis=0)
        Q = Q * np.sign(Q[big, np.arange(Q.shape[1])])
        return cls(Q, np.maximum(lam, 0.0), problem.d, problem.spec.intercept)

    def design(self, X) -> np.ndarray:
        """The rotated design ``A Q`` in float64, columns in the order of :func:`flat`."""
        A = _design(np.asarray(X, np.float64), self.intercept)
        return A[:, _key_order(self.d, self.intercept)] @ self.Q

    def coords(self, params) -> np.ndarray:
        """``z = Q^T theta`` (float64) of original parameters ``{"w": ..., "b": ...}``."""
        theta = [np.ravel(np.asarray(params[k], np.float64)) for k in sorted(params)]
        return self.Q.T @ np.concatenate(theta)

    def params(self, z) -> dict:
        """Original parameters ``{"w": ..., "b": ...}`` of coordinates ``z``, lanes first.

        Args:
            z: (..., p) coordinates (any leading axes, e.g. seeds and learning rates).

        Returns:
            ``w`` of shape (..., d) and, with an intercept, ``b`` of shape (...,), in z's dtype.
        """
        z = np.asarray(z)
        theta = (z.astype(np.float64) @ self.Q.T).astype(z.dtype)
        if not self.intercept:
            return {"w": theta}
        return {"b": theta[..., 0], "w": theta[..., 1:]}

    def kernel_data(self, problem, init) -> tuple:
        """What the kernel takes in place of the problem's: ``(X, spec, aux, init)``.

        Args:
            problem: the least-squares problem this basis belongs to.
            init: its initial parameters.

        Returns:
            The rotated data in the problem's dtype, a :class:`DiagonalLeastSquares`, the
            monitor's ``{"lam", "theta_star"}`` and the rotated initial parameters.
        """
        dtype = problem.dtype
        params, _ = problem.optimum()
        # NumPy casts: jnp.asarray(float64, float32) compiles a convert for each shape
        aux = {
            "lam": np.asarray(self.lam, dtype),
            "theta_star": np.asarray(self.coords(params), dtype),
        }
        X = np.asarray(problem.quadratic_view().design() @ self.Q, dtype)
        return X, DiagonalLeastSquares(), aux, {"w": np.asarray(self.coords(init), dtype)}
