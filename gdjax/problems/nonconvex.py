"""Non-convex test problems: a saddle, a double well, Rosenbrock, Beale and a deep quadratic.

Each is a function ``f`` of one parameter vector ``w`` (``{"w": (dim,)}``) with a known optimum,
made stochastic by noise rows (:mod:`gdjax.problems.noisy`): the loss on a batch is
``f(w) + mean_i z_i . (s w)``, the full-data loss is exactly ``f``. Built on
:func:`gdjax.problems.custom`, with f* given (known in closed form, or solved in float64 here).

- :func:`saddle`: ``x^2 + y^4/4 - y^2/2``, a strict saddle at the origin between the minima
  (0, +-1), f* = -1/4; by default it *starts at the saddle*, where batch GD's gradient is exactly
  0: it never moves, while stochastic lanes leave it.
- :func:`double_well`: ``(x^2 - 1)^2 + tilt x + y^2``: two minima of different depth (the
  global one at x < 0 for tilt > 0); by default it starts in the shallow one's basin.
- :func:`rosenbrock`: ``sum 100 (w[i+1] - w[i]^2)^2 + (1 - w[i])^2``, f* = 0 at the ones vector,
  from (-1.2, 1, -1.2, 1, ...).
- :func:`beale`: ``(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2``, f* = 0 at
  (3, 1/2), from (1, 1).
- :func:`deep_quadratic`: DeepOBS's ``quadratic_deep``: ``w^T H w / 2`` in 100 dimensions with 90
  eigenvalues of H in (0, 1) and 10 in (30, 60), in a random orthonormal basis; f* = 0 at 0,
  curvature known exactly.

Example:
    >>> float(SADDLE.f(np.zeros(2))), SADDLE.f_star
    (0.0, -0.25)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

__all__ = ["BEALE", "SADDLE", "Objective", "double_well_objective", "rosenbrock_objective"]


@dataclasses.dataclass(frozen=True)
class Objective:
    """A deterministic objective with a known optimum.

    Attributes:
        name: its name.
        f: ``f(w)``, written with ``jnp`` so that it runs on NumPy float64 arrays too (the
            references of the tests and the host's float64 values).
        w_star: a global minimiser, float64.
        f_star: ``f(w_star)``, float64.
        start: the usual initial point, float64.
        hessian: ``H(w)`` in float64 at a point (closed form), for the curvature at the optimum.
    """

    name: str
    f: Callable
    w_star: np.ndarray
    f_star: float
    start: np.ndarray
    hessian: Callable

    @property
    def dim(self) -> int:
        """The parameters' size."""
        return int(self.w_star.shape[0])

    def curvature(self) -> tuple[float, float]:
        """``(L, mu)``: the extreme eigenvalues of the Hessian at the optimum, float64."""
        eig = np.linalg.eigvalsh(self.hessian(self.w_star))
        return float(eig[-1]), float(eig[0])


def _saddle(w):
    x, y = w[0], w[1]
    return x**2 + y**4 / 4 - y**2 / 2


def _saddle_hessian(w):
    return np.array([[2.0, 0.0], [0.0, 3.0 * w[1] ** 2 - 1.0]])


SADDLE = Objective(
    "saddle", _saddle, np.array([0.0, 1.0]), -0.25, np.zeros(2), _saddle_hessian
)


def _beale(w):
    x, y = w[0], w[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _beale_hessian(w):
    x, y = float(w[0]), float(w[1])
    H = np.zeros((2, 2))
    for c, k in ((1.5, 1), (2.25, 2), (2.625, 3)):
        r = c - x + x * y**k
        dr = np.array([-1.0 + y**k, k * x * y ** (k - 1)])  # (dr/dx, dr/dy)
        d2 = np.array([[0.0, k * y ** (k - 1)], [k * y ** (k - 1), k * (k - 1) * x * y ** (k - 2)]])
        H += 2.0 * (np.outer(dr, dr) + r * d2)
    return H


BEALE = Objective("beale", _beale, np.array([3.0, 0.5]), 0.0, np.array([1.0, 1.0]), _beale_hessian)


def double_well_objective(tilt: float) -> Objective:
    """``(x^2 - 1)^2 + tilt x + y^2``: the global minimum at x < 0 (tilt > 0), found in float64
    from the roots of ``4x^3 - 4x + tilt``; the start (0.9, 0.5) lies in the other (shallow)
    minimum's basin.

    Example:
        >>> o = double_well_objective(0.25)
        >>> round(float(o.w_star[0]), 4), round(o.f_star, 4)
        (-1.0299, -0.2538)
    """

    def f(w):
        x, y = w[0], w[1]
        return (x**2 - 1) ** 2 + tilt * x + y**2

    crit = np.sort(np.roots([4.0, 0.0, -4.0, tilt]).real)  # minimum, barrier, minimum
    x_star = crit[0] if tilt >= 0 else crit[-1]
    w_star = np.array([x_star, 0.0])

    def hessian(w):
        return np.array([[12.0 * w[0] ** 2 - 4.0, 0.0], [0.0, 2.0]])

    return Objective("double_well", f, w_star, float(f(w_star)), np.array([0.9, 0.5]), hessian)


def double_well_barrier(tilt: float) -> float:
    """The x of the barrier between the two wells (the middle root of ``4x^3 - 4x + tilt``): a
    lane that ends at x below it ended in the global (deeper, for tilt > 0) well."""
    return float(np.sort(np.roots([4.0, 0.0, -4.0, tilt]).real)[1])


def rosenbrock_objective(d: int) -> Objective:
    """The d-dimensional Rosenbrock function, f* = 0 at the ones vector, from (-1.2, 1, ...).

    Example:
        >>> o = rosenbrock_objective(2)
        >>> round(float(o.f(o.start)), 6), o.curvature()[0] > 1000
        (24.2, True)
    """

    def f(w):
        return (100.0 * (w[1:] - w[:-1] ** 2) ** 2 + (1.0 - w[:-1]) ** 2).sum()

    def hessian(w):
        w = np.asarray(w, np.float64)
        H = np.zeros((d, d))
        for i in range(d - 1):
            H[i, i] += 1200.0 * w[i] ** 2 - 400.0 * w[i + 1] + 2.0
            H[i + 1, i + 1] += 200.0
            H[i, i + 1] = H[i + 1, i] = -400.0 * w[i]
        return H

    start = np.where(np.arange(d) % 2 == 0, -1.2, 1.0)
    return Objective("rosenbrock", f, np.ones(d), 0.0, start, hessian)


def deep_quadratic_objective(seed: int = 0, dim: int = 100, big: int = 10) -> Objective:
    """DeepOBS's deep quadratic: ``w^T H w / 2``, H with ``dim - big`` eigenvalues uniform in
    (0, 1) and ``big`` in (30, 60), in a random orthonormal basis (``seed``); f* = 0 at 0, from
    the ones vector.

    Example:
        >>> o = deep_quadratic_objective()
        >>> L, mu = o.curvature()
        >>> 30 < L < 60, 0 < mu < 1
        (True, True)
    """
    rng = np.random.default_rng(seed)
    eig = np.concatenate([rng.uniform(0.0, 1.0, dim - big), rng.uniform(30.0, 60.0, big)])
    Q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    H = (Q * eig) @ Q.T
    H = (H + H.T) / 2  # symmetric to the last bit

    def f(w):
        Hw = jnp.asarray(H, w.dtype) if isinstance(w, jnp.ndarray) else H
        return 0.5 * w @ (Hw @ w)

    return Objective("deep_quadratic", f, np.zeros(dim), 0.0, np.ones(dim), lambda w: H)


@dataclasses.dataclass(frozen=True)
class NoisyLoss:
    """``f(w) + mean_i z_i . (s w)`` on a batch of noise rows ``z`` (:mod:`gdjax.problems.noisy`):
    a value, so that problems of the same objective, scale and shapes share one compile.

    The scale multiplies ``w`` rather than the rows' mean: the gradient of the noise term is then
    ``s`` times the rows' exact mean (0 over all the rows), never a sum of rounded products.
    """

    objective: Objective
    scale: float

    def __call__(self, params, batch):
        w = params["w"]
        return self.objective.f(w) + jnp.mean(batch["z"] @ (self.scale * w))


def noisy_problem(objective: Objective, *, n, noise, seed, init, dtype, name):
    """``objective`` made stochastic by ``n`` noise rows of scale ``noise`` (drawn with ``seed``),
    as a custom problem with its known f*, starting at ``init`` (None: the objective's usual
    start)."""
    from gdjax.problems import custom  # the custom-problem API, on which this is built

    n = noisy.check_rows(n)
    scale = noisy.check_noise(noise)
    dtype = checks.float_dtype(dtype)
    start = objective.start if init is None else _start(init, objective.dim)
    rows = noisy.noise_rows(n, objective.dim, seed=seed, dtype=dtype)
    data = {"z": checks.in_dtype(rows, dtype, "noise rows")}
    w0 = {"w": checks.in_dtype(start, dtype, "init")}
    return custom(
        NoisyLoss(objective, scale), data, init=w0, f_star=objective.f_star, name=_name(name)
    )
