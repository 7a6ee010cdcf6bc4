"""Float64 answers for a loss gdjax knows nothing about but its JAX code: a reference solve of
f* by L-BFGS (:func:`lbfgs`) and the Hessian's extreme eigenvalues by Lanczos (:func:`lanczos`).

Both run on the host, under 64-bit mode for their own block (:func:`gdjax.x64`), on the full
data in float64: what :mod:`gdjax.problems.losses.custom` offers as its optimum and curvature.

Example:
    >>> import numpy as np
    >>> H = np.diag([1.0, 2.0, 5.0])
    >>> [round(v, 9) for v in lanczos(lambda v: H @ v, 3)]
    [5.0, 1.0]
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from gdjax.config import x64
from gdjax.problems.losses.base import FStarSource

__all__ = [
    "GRAD_TOL",
    "LANCZOS_STEPS",
    "MAX_ITER",
    "as_float64",
    "hvp_extremes",
    "lanczos",
    "lbfgs",
]

#: A reference solve stops once the gradient's norm is at most this times
#: ``max(1, |grad f(w0)|)``: f - f* is then about |grad|^2 / (2 mu), far below any target.
GRAD_TOL = 1e-9
#: Most L-BFGS iterations of a reference solve; one that stops there says its gradient norm.
MAX_ITER = 10_000
#: Lanczos steps of the curvature estimate: exact (to rounding) up to this many parameters.
LANCZOS_STEPS = 64


def as_float64(tree):
    """Floating leaves as float64 JAX arrays (call under 64-bit mode); others unchanged."""

    def cast(a):
        a = jnp.asarray(a)
        return a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a

    return jax.tree.map(cast, tree)


def lbfgs(fn: Callable, data, start, *, grad_tol: float = GRAD_TOL, max_iter: int = MAX_ITER):
    """Minimise ``fn(params, data)`` from ``start`` in float64 by L-BFGS (optax, with its
    zoom line search), to a gradient norm of ``grad_tol x max(1, |grad f(start)|)``.

    A non-convex loss gets a stationary point near ``start``: a reference, not a global
    optimum (a run may go below it; its relative suboptimality is then negative).

    Args:
        fn: the loss, ``fn(params, data) -> scalar``.
        data: the full data (any pytree; floating leaves are cast to float64).
        start: the initial parameters (a pytree).
        grad_tol: the relative gradient norm to stop at.
        max_iter: the most iterations.

    Returns:
        ``(params, f_star, source)``: params as float64 NumPy arrays, f* a float, and the
        :class:`~gdjax.problems.losses.FStarSource` (gradient norm, iterations, seconds).

    Example:
        >>> import numpy as np
        >>> fn = lambda p, d: jnp.mean((d["x"] * p["w"] - d["y"]) ** 2)
        >>> d = {"x": np.array([1.0, 2.0]), "y": np.array([2.0, 4.0])}
        >>> params, f_star, source = lbfgs(fn, d, {"w": np.zeros(())})
        >>> round(float(params["w"]), 9), f_star < 1e-15, source.method
        (2.0, True, 'L-BFGS (float64)')
    """
    t0 = time.perf_counter()
    with x64():
        data, start = as_float64(data), as_float64(start)
        params, state, value, gnorm, stop = _lbfgs_run(fn, data, start, grad_tol, max_iter)
        count = int(optax.tree.get(state, "count"))
        params = jax.tree.map(np.asarray, params)
        value, gnorm, reached = float(value), float(gnorm), bool(gnorm <= stop)
    seconds = time.perf_counter() - t0
    source = FStarSource("L-BFGS (float64)", gnorm, count, seconds, reached)
    return params, value, source


def _lbfgs_run(fn, data, start, grad_tol, max_iter):
    def f(p):
        return fn(p, data)

    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(f)

    @jax.jit
    def solve(params):
        gnorm0 = optax.tree.norm(jax.grad(f)(params))
        stop = grad_tol * jnp.maximum(1.0, gnorm0)

        def step(carry):
            params, state = carry
            value, grad = value_and_grad(params, state=state)
            updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=f)
            return optax.apply_updates(params, updates), state

        def going(carry):
            _, state = carry
            count = optax.tree.get(state, "count")
            gnorm = optax.tree.norm(optax.tree.get(state, "grad"))
            return (count == 0) | ((count < max_iter) & (gnorm > stop) & jnp.isfinite(gnorm))

        params, state = jax.lax.while_loop(going, step, (params, opt.init(params)))
        value, grad = jax.value_and_grad(f)(params)
        return params, state, value, optax.tree.norm(grad), stop

    return solve(start)


def hvp_extremes(fn: Callable, data, params, steps: int = LANCZOS_STEPS) -> tuple[float, float]:
    """``(L, mu)`` of the Hessian of ``fn(., data)`` at ``params``, in float64, by Lanczos on
    Hessian-vector products (``jax.jvp`` of ``jax.grad``): see :func:`lanczos`."""
    with x64():
        data, params = as_float64(data), as_float64(params)
        flat, unravel = ravel_pytree(params)

        def grad(v):
            return ravel_pytree(jax.grad(fn)(unravel(v), data))[0]

        hvp = jax.jit(lambda u: jax.jvp(grad, (flat,), (u,))[1])
        return lanczos(lambda u: np.asarray(hvp(jnp.asarray(u))), flat.size, steps)


def lanczos(matvec: Callable, size: int, steps: int = LANCZOS_STEPS) -> tuple[float, float]:
    """The largest and smallest Ritz values of a symmetric operator after ``min(size, steps)``
    Lanczos steps, with full reorthogonalisation, from a fixed random start (reproducible).

    With ``size <= steps`` they are its extreme eigenvalues (to rounding). Beyond, the largest
    converges first (L is accurate); the smallest is an upper bound on the smallest eigenvalue
    (mu may be overestimated, so L / mu underestimates the condition number).

    Args:
        matvec: ``v -> H v`` on float64 vectors of length ``size``.
        size: the operator's dimension.
        steps: the most Lanczos steps.

    Returns:
        ``(largest, smallest)`` as floats.
    """
    m = min(size, steps)
    q = np.random.default_rng(0).standard_normal(size)
    q /= np.linalg.norm(q)
    Q = np.zeros((m, size))
    alpha, beta = [], []
    for j in range(m):
        Q[j] = q
        w = np.asarray(matvec(q), np.float64)
        alpha.append(float(q @ w))
        for _ in range(2):  # Gram-Schmidt twice: orthogonal to rounding
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = float(np.linalg.norm(w))
        if j == m - 1 or b <= 1e-12 * max(1.0, max(abs(a) for a in alpha)):
            break  # the Krylov space is invariant: its Ritz values are eigenvalues
        beta.append(b)
        q = w / b
    k = len(alpha)
    T = np.diag(alpha) + np.diag(beta[: k - 1], 1) + np.diag(beta[: k - 1], -1)
    eig = np.linalg.eigvalsh(T)
    return float(eig[-1]), float(eig[0])
