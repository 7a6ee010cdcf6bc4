"""Logistic and softmax regression: the classification losses, and their float64 Newton solves."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from gdjax.problems.losses.base import FullPassMonitor, _design, _extremes, _theta, _unpack
from gdjax.problems.losses.least_squares import LeastSquares

__all__ = ["Logistic", "Softmax"]

#: Largest (features + intercept) x classes for which softmax's float64 solves build the dense
#: Hessian (32 MiB): above it, its size grows as the square and its solve as the cube, and
#: Newton's steps and the curvature use Hessian-vector products instead.
DENSE_HESSIAN_MAX = 2048

#: Entries of the row block a dense softmax Hessian is accumulated over (float64: 32 MiB).
_ROW_BLOCK = 2**22


@dataclasses.dataclass(frozen=True)
class Logistic(FullPassMonitor):
    """Mean binary cross-entropy on y in {0, 1} plus (l2 / 2) ||w||^2 (the intercept is free)."""

    intercept: bool
    l2: float
    kind: ClassVar[str] = "logistic"
    optimum_method: ClassVar[str] = "Newton (float64)"
    cheap_monitor: ClassVar[bool] = False  # a pass over the data

    def loss(self, params, X, y):
        z = X @ params["w"]
        if self.intercept:
            z = z + params["b"]
        w = params["w"]
        return jnp.mean(jax.nn.softplus(z) - y * z) + 0.5 * self.l2 * jnp.sum(w * w)

    def init(self, d, dtype):
        return LeastSquares(self.intercept).init(d, dtype)

    def _penalty(self, p):
        pen = np.full(p, self.l2)
        if self.intercept:
            pen[-1] = 0.0
        return pen

    def _hessian(self, A, theta, pen):
        s = _sigmoid(A @ theta)
        return (A.T * (s * (1 - s))) @ A / A.shape[0] + np.diag(pen)

    def _value(self, A, y, theta, pen):
        z = A @ theta
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(pen * theta**2))

    def optimum(self, X, y):
        A = _design(X, self.intercept)
        n, p = A.shape
        pen = self._penalty(p)

        def value(theta):
            return self._value(A, y, theta, pen)

        def grad_step(theta):
            g = A.T @ (_sigmoid(A @ theta) - y) / n + pen * theta
            return g, _lstsq_step(self._hessian(A, theta, pen), g)

        theta = _newton(value, grad_step, np.zeros(p))
        return _unpack(theta, X.shape[1], self.intercept), value(theta)

    def value(self, X, y, params):
        A = _design(X, self.intercept)
        return self._value(A, y, _theta(params, self.intercept), self._penalty(A.shape[1]))

    def curvature(self, X, y, opt_params):
        del y
        A = _design(np.asarray(X, np.float64), self.intercept)
        theta = np.concatenate([np.ravel(opt_params["w"]), np.ravel(opt_params.get("b", []))])
        return _extremes(self._hessian(A, theta, self._penalty(A.shape[1])))


@dataclasses.dataclass(frozen=True)
class Softmax(FullPassMonitor):
    """Mean softmax cross-entropy on integer labels plus (l2 / 2) ||W||^2."""

    num_classes: int
    intercept: bool
    l2: float
    kind: ClassVar[str] = "softmax"
    optimum_method: ClassVar[str] = "Newton (float64)"
    cheap_monitor: ClassVar[bool] = False  # a pass over the data

    def loss(self, params, X, y):
        # Each row's own logit by a one-hot mask: the gradient of a gather is a scatter, four
        # more kernels in every step (and a longer compile).
        def own(Z, labels):
            one_hot = labels[:, None] == jnp.arange(self.num_classes, dtype=labels.dtype)
            return jnp.sum(jnp.where(one_hot, Z, 0.0), axis=1)

        return self._loss(params, X, y, own)

    def monitor(self, params, X, y, aux):
        # No gradient here: a gather reads each row's own logit, where the mask would write
        # out all n x k of them again (measured slower on digits' full pass).
        del aux

        def own(Z, labels):
            return jnp.take_along_axis(Z, labels[:, None], axis=1)[:, 0]

        return self._loss(params, X, y, own)

    def _loss(self, params, X, y, own):
        Z = X @ params["w"]
        if self.intercept:
            Z = Z + params["b"]
        W = params["w"]
        nll = jax.nn.logsumexp(Z, axis=1) - own(Z, y.astype(jnp.int32))
        return jnp.mean(nll) + 0.5 * self.l2 * jnp.sum(W * W)

    def init(self, d, dtype):
        k = self.num_classes
        p = {"w": np.zeros((d, k), dtype)}
        if self.intercept:
            p["b"] = np.zeros((k,), dtype)
        return p

    def _penalty(self, q):
        pen = np.full((q, self.num_classes), self.l2)
        if self.intercept:
            pen[-1] = 0.0
        return pen.ravel()

    def _probs(self, A, theta):
        Z = A @ theta.reshape(A.shape[1], self.num_classes)
        Z = Z - Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        return Z, P / P.sum(axis=1, keepdims=True)

    def _hessian(self, A, theta, pen):
        n, q = A.shape
        k = self.num_classes
        _, P = self._probs(A, theta)
        # H[(j,c),(j',c')] = sum_i a_ij a_ij' (p_ic [c = c'] - p_ic p_ic') / n: the diagonal
        # blocks A^T diag(p_c) A, less the Gram matrix of the rows a_i (x) p_i, built over
        # blocks of rows so that no n x (q k) array is made
        H = np.zeros((q * k, q * k))
        D = np.zeros((k, q, q))
        step = max(1, _ROW_BLOCK // (q * k))
        for i in range(0, n, step):
            a, p = A[i : i + step], P[i : i + step]
            B = (a[:, :, None] * p[:, None, :]).reshape(len(a), q * k)
            H -= B.T @ B
            D += np.einsum("ic,ij,il->cjl", p, a, a)
        H4 = H.reshape(q, k, q, k)
        classes = np.arange(k)
        H4[:, classes, :, classes] += D
        return H / n + np.diag(pen)

    def _hvp(self, A, P, pen, v):
        """The Hessian at probabilities P times v, without the Hessian: O(n q k)."""
        V = v.reshape(A.shape[1], self.num_classes)
        PZ = P * (A @ V)
        R = PZ - P * PZ.sum(axis=1, keepdims=True)
        return (A.T @ R).ravel() / A.shape[0] + pen * v

    def _value(self, A, Y, theta, pen):
        Z, _ = self._probs(A, theta)
        lse = np.log(np.exp(Z).sum(axis=1))
        return float(np.mean(lse - (Z * Y).sum(axis=1)) + 0.5 * np.sum(pen * theta**2))

    def optimum(self, X, y):
        A = _design(X, self.intercept)
        n, q = A.shape
        Y = np.eye(self.num_classes)[y.astype(np.int64)]
        pen = self._penalty(q)

        def value(theta):
            return self._value(A, Y, theta, pen)

        dense = q * self.num_classes <= DENSE_HESSIAN_MAX

        def grad_step(theta):
            _, P = self._probs(A, theta)
            g = (A.T @ (P - Y) / n).ravel() + pen * theta
            if dense:
                return g, _lstsq_step(self._hessian(A, theta, pen), g)
            # an inexact Newton step, to the residual min(1/2, sqrt|g|) |g|: still superlinear
            gnorm = float(np.linalg.norm(g))
            return g, _cg(lambda v: self._hvp(A, P, pen, v), g, min(0.5, np.sqrt(gnorm)) * gnorm)

        theta = _newton(value, grad_step, np.zeros(q * self.num_classes))
        T = theta.reshape(q, self.num_classes)
        params = {"w": T[: X.shape[1]]}
        if self.intercept:
            params["b"] = T[-1]
        return params, value(theta)

    def _theta(self, params):
        """Parameters as the float64 vector of the (features + intercept) x classes weights."""
        T = np.asarray(params["w"], np.float64)
        if self.intercept:
            T = np.vstack([T, np.asarray(params["b"], np.float64)[None, :]])
        return T.ravel()

    def value(self, X, y, params):
        A = _design(X, self.intercept)
        Y = np.eye(self.num_classes)[np.asarray(y).astype(np.int64)]
        return self._value(A, Y, self._theta(params), self._penalty(A.shape[1]))

    def curvature(self, X, y, opt_params):
        """At the optimum. With an intercept the Hessian is singular along a common shift of the
        per-class biases (softmax is invariant to it), so mu is the smallest eigenvalue on the
        complement of that direction."""
        del y
        A = _design(np.asarray(X, np.float64), self.intercept)
        q, k = A.shape[1], self.num_classes
        theta, pen = self._theta(opt_params), self._penalty(q)
        shift = np.zeros((q, k))
        if self.intercept:
            shift[-1] = 1.0 / np.sqrt(k)
        if q * k <= DENSE_HESSIAN_MAX:
            H = self._hessian(A, theta, pen)
            if self.intercept:
                # project out the flat direction: an orthonormal basis of its complement
                basis = np.linalg.svd(shift.reshape(1, -1))[2][1:]
                H = basis @ H @ basis.T
            return _extremes(H)
        _, P = self._probs(A, theta)
        u = shift.ravel()

        def hvp(v):  # on the complement of the flat direction (u = 0 without an intercept)
            v = v - u * (u @ v)
            Hv = self._hvp(A, P, pen, v)
            return Hv - u * (u @ Hv)

        return _extremes_matrix_free(hvp, q * k, flat=self.intercept)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _lstsq_step(H, g):
    # lstsq, not solve: softmax intercepts are defined only up to a common shift (H singular)
    return np.linalg.lstsq(H, g, rcond=None)[0]


def _cg(hvp, g, tol):
    """Conjugate gradients for H x = g from x = 0, to a residual <= tol.

    Stops early on a direction of no curvature (the common shift of softmax's intercepts): the
    iterate so far is still a descent direction for a positive semi-definite H.
    """
    x = np.zeros_like(g)
    r = g.copy()
    d = r.copy()
    rr = float(r @ r)
    for _ in range(2 * g.size):
        if np.sqrt(rr) <= tol:
            break
        Hd = hvp(d)
        dHd = float(d @ Hd)
        if not dHd > 0:
            break
        alpha = rr / dHd
        x += alpha * d
        r -= alpha * Hd
        rr, rr_old = float(r @ r), rr
        d = r + (rr / rr_old) * d
    return x


def _extremes_matrix_free(hvp, size, flat):
    """(largest, smallest) eigenvalue of a symmetric PSD operator by Lanczos (ARPACK).

    ``flat``: the operator is zero along one known direction (projected out by ``hvp``); the
    smallest eigenvalue is then the second smallest of the operator.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    if size <= 64:  # too small for ARPACK's restarts to pay: the matrix, column by column
        H = np.stack([hvp(e) for e in np.eye(size)])
        eig = np.linalg.eigvalsh((H + H.T) / 2)
        return float(eig[-1]), float(eig[int(flat)])
    # ncv: a longer Krylov basis than ARPACK's default needs fewer products for clustered ends
    opts = {"which": "LA", "v0": np.ones(size), "tol": 1e-10, "ncv": 20}  # v0: reproducible
    op = LinearOperator((size, size), matvec=hvp, dtype=np.float64)
    top = float(eigsh(op, k=1, return_eigenvectors=False, **opts)[0])
    # the smallest eigenvalues of H are the largest of top * I - H, where Lanczos converges
    shifted = LinearOperator((size, size), matvec=lambda v: top * v - hvp(v), dtype=np.float64)
    low = eigsh(shifted, k=1 + int(flat), return_eigenvectors=False, **opts)
    return top, float(top - np.sort(low)[0])


def _newton(value, grad_step, theta, max_iter=100):
    """Damped Newton's method in float64 until the gradient stops shrinking (machine precision).

    ``grad_step(theta)`` returns the gradient g and the Newton step H^-1 g (exact, or inexact
    from conjugate gradients).
    """
    f = value(theta)
    g, step = grad_step(theta)
    for _ in range(max_iter):
        gnorm = np.linalg.norm(g)
        if gnorm <= 1e-14 * max(1.0, abs(f)):
            break
        if g @ step <= 1e-10 * max(1.0, abs(f)):
            # a predicted decrease that float64 f barely resolves: a line search on f would
            # follow rounding noise. This close, full Newton steps converge; keep them while
            # the gradient shrinks
            cand = theta - step
            g_c, step_c = grad_step(cand)
            if not np.linalg.norm(g_c) < gnorm:
                break
            theta, f, g, step = cand, value(cand), g_c, step_c
            continue
        t = 1.0
        while t > 1e-10:
            cand = theta - t * step
            fc = value(cand)
            if fc <= f - 1e-4 * t * (g @ step) or (fc <= f and t < 1.0):
                break
            t *= 0.5
        else:
            break  # no decrease possible: we are at the optimum up to rounding
        if fc >= f and gnorm < 1e-10:
            break
        theta, f = cand, fc
        g, step = grad_step(theta)
    return theta
