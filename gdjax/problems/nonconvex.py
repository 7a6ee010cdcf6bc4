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
import functools
import math
from collections.abc import Callable
from typing import ClassVar

import jax.numpy as jnp
import numpy as np

from gdjax import checks
from gdjax.problems import noisy
from gdjax.problems._custom import custom
from gdjax.problems.losses.custom import GivenOptimum

__all__ = [
    "BEALE",
    "SADDLE",
    "KnownOptimum",
    "NoisyLoss",
    "Objective",
    "beale",
    "deep_quadratic",
    "double_well",
    "double_well_barrier",
    "noisy_problem",
    "rosenbrock",
    "saddle",
    "saddle_radius",
]


@dataclasses.dataclass(frozen=True, eq=False)
class Objective:
    """A deterministic objective with a known optimum (compared by identity: a static part of
    the compiled kernels, so each is made once, :func:`functools.cache`).

    Attributes:
        name: its name.
        f: ``f(w)``, written with ``jnp`` so that it runs on NumPy float64 arrays too (the
            references of the tests and the host's float64 values).
        w_star: a global minimiser, float64.
        f_star: ``f(w_star)``, float64.
        start: the usual initial point, float64.
        hessian: ``H(w)`` in float64 at a point (closed form), for the curvature at the optimum.
        twins: the other global minimisers, where ``w_star`` is not the only one (the saddle's
            (0, -1)), float64.
    """

    name: str
    f: Callable
    w_star: np.ndarray
    f_star: float
    start: np.ndarray
    hessian: Callable
    twins: tuple = ()

    @property
    def minimisers(self) -> np.ndarray:
        """Every known global minimiser, ``w_star`` first: (count, dim) float64."""
        return np.stack([self.w_star, *self.twins])

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
    "saddle",
    _saddle,
    np.array([0.0, 1.0]),
    -0.25,
    np.zeros(2),
    _saddle_hessian,
    twins=(np.array([0.0, -1.0]),),
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


@functools.cache
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


@functools.cache
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


@functools.cache
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


@dataclasses.dataclass(frozen=True)
class KnownOptimum(GivenOptimum):
    """A custom loss whose minimiser and curvature are known in closed form (the objectives
    here): ``optimum()`` gives the parameters as well as f*, so theory and the gap of the
    parameters are available as for the shipped losses."""

    objective: Objective | None = dataclasses.field(compare=False, default=None)
    optimum_method: ClassVar[str] = "closed form"

    def optimum(self, batch):
        del batch
        return {"w": self.objective.w_star.copy()}, self.objective.f_star

    def curvature(self, batch, opt_params):
        """``(L, mu)`` of the objective's Hessian at its minimiser, float64 (the noise term is
        linear: it adds nothing)."""
        del batch, opt_params
        return self.objective.curvature()


def noisy_problem(objective: Objective, *, n=1024, noise=1.0, seed=0, init=None, name=None):
    """``objective`` made stochastic by ``n`` noise rows of scale ``noise`` (drawn with
    ``seed``), as a custom problem with its known f* and minimiser, starting at ``init``.

    Args:
        objective: an :class:`Objective`.
        n: noise rows, a power of two in [2, 2048] (:func:`gdjax.problems.noisy.check_rows`).
        noise: the scale s of the noise term, a finite number >= 0.
        seed: the draw of the noise rows (the sweep's seeds draw the batches).
        init: the start, a sequence of ``objective.dim`` finite numbers; None: the usual one.
        name: a label (default: the objective's name).

    Returns:
        A :class:`~gdjax.problems.Problem` with parameters ``{"w": (dim,)}`` and data
        ``{"z": (n, dim)}``, in JAX's default float.
    """

    n = noisy.check_rows(n)
    scale = noisy.check_noise(noise)
    seed = checks.seed(seed)
    start = objective.start if init is None else _start(init, objective.dim)
    dtype = checks.float_dtype(None)
    rows = noisy.noise_rows(n, objective.dim, seed=seed, dtype=dtype)
    problem = custom(
        NoisyLoss(objective, scale),
        {"z": rows},
        init={"w": start},
        f_star=objective.f_star,
        name=objective.name if name is None else name,
    )
    known = KnownOptimum(**_fields(problem.spec), objective=objective)
    return dataclasses.replace(problem, spec=known)


def _fields(spec) -> dict:
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}


def _start(init, dim: int) -> np.ndarray:
    w = checks.numeric_array(init, "init")
    if w.shape != (dim,):
        raise ValueError(f"init must be {dim} numbers (the start), got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("init contains NaN or inf")
    return w.astype(np.float64)


def saddle(*, n=1024, noise=1.0, seed=0, init=None, name="saddle"):
    """``x^2 + y^4/4 - y^2/2`` with noise rows: a strict saddle at the origin (f = 0) between the
    minima (0, +-1) (f* = -1/4), started at the saddle by default.

    There batch GD's gradient is exactly 0 (the noise rows average to exactly 0): it never
    moves. A mini-batch's gradient there is the noise of its rows, of size about
    ``noise / sqrt(b)``: stochastic lanes leave. A lane that stays at or below the level of
    relative suboptimality 0.9 (f <= -0.025) stays outside the radius 0.2265 of the saddle
    (:func:`saddle_radius`; ``y^2/2 - y^4/4 >= 0.025`` there): the stay count at that target
    is a step from which it has left the saddle for good.

    Args:
        n, noise, seed, init, name: as :func:`noisy_problem` takes them.

    Returns:
        A :class:`~gdjax.problems.Problem`.

    Example:
        >>> import gdjax
        >>> p = saddle(n=64)
        >>> r = gdjax.run(p, lr=0.1, epochs=50)  # batch GD at the saddle
        >>> r.status, float(r.params["w"][0]), float(r.params["w"][1])
        ('max_steps', 0.0, 0.0)
    """
    return noisy_problem(SADDLE, n=n, noise=noise, seed=seed, init=init, name=name)


def saddle_radius(level: float) -> float:
    """The radius around :func:`saddle`'s saddle point inside which ``f > level``, for a level in
    (-1/4, 0): every point at or below the level lies at least this far from the saddle.

    ``f >= y^4/4 - y^2/2``, which decreases in ``|y|`` up to 1 and equals the level at
    ``y^2 = 1 - sqrt(1 + 4 level)``; the bound is tight on the y axis.

    Args:
        level: a loss value in (-1/4, 0).

    Returns:
        The radius, float64.

    Example:
        >>> round(saddle_radius(-0.025), 4)  # relative suboptimality 0.9 from the saddle
        0.2265
    """
    level = checks.real(level, "level", lo=-math.inf)
    if not -0.25 < level < 0:
        raise ValueError(f"level must be in (-1/4, 0) (between f* and the saddle), got {level}")
    return math.sqrt(1.0 - math.sqrt(1.0 + 4.0 * level))


def double_well(*, tilt=0.25, n=1024, noise=1.0, seed=0, init=None, name="double_well"):
    """``(x^2 - 1)^2 + tilt x + y^2`` with noise rows: two minima, the global one at x < 0 (for
    tilt > 0), started by default at (0.9, 0.5) in the other (shallow) one's basin. Batch GD
    ends in the shallow minimum; a lane ended in the global well when its final x is below the
    barrier (:func:`double_well_barrier`).

    Args:
        tilt: how much deeper the global well is, a number in (0, 1) (the two wells exist for
            ``|tilt| < 8 / sqrt(27)``; below 1 they are well apart).
        n, noise, seed, init, name: as :func:`noisy_problem` takes them.
    """
    tilt = checks.real(tilt, "tilt", lo=0.0, strict=True)
    if tilt >= 1.0:
        raise ValueError(f"tilt must be < 1 (two wells well apart), got {tilt}")
    objective = double_well_objective(tilt)
    return noisy_problem(objective, n=n, noise=noise, seed=seed, init=init, name=name)


def rosenbrock(*, d=2, n=1024, noise=1.0, seed=0, init=None, name="rosenbrock"):
    """The d-dimensional Rosenbrock function with noise rows: f* = 0 at the ones vector, from
    (-1.2, 1, -1.2, ...).

    Args:
        d: dimensions, an int in [2, 1000].
        n, noise, seed, init, name: as :func:`noisy_problem` takes them.
    """
    d = checks.integer(d, "d", lo=2, hi=1000)
    objective = rosenbrock_objective(d)
    return noisy_problem(objective, n=n, noise=noise, seed=seed, init=init, name=name)


def beale(*, n=1024, noise=1.0, seed=0, init=None, name="beale"):
    """Beale's function with noise rows: f* = 0 at (3, 1/2), from (1, 1)."""
    return noisy_problem(BEALE, n=n, noise=noise, seed=seed, init=init, name=name)


def deep_quadratic(*, n=1024, noise=1.0, seed=0, init=None, name="deep_quadratic"):
    """DeepOBS's deep quadratic with noise rows: ``w^T H w / 2`` in 100 dimensions, 90 of H's
    eigenvalues in (0, 1) and 10 in (30, 60) (drawn with ``seed``, as the noise is); f* = 0 at 0,
    from the ones vector; its curvature (L, mu) is H's extreme eigenvalues, exactly."""
    objective = deep_quadratic_objective(checks.seed(seed))
    return noisy_problem(objective, n=n, noise=noise, seed=seed, init=init, name=name)
