"""Problems: data + loss + initial parameters + the float64 optimum f*.

A :class:`Problem` couples a data set with a *loss spec*: a small, hashable object that knows the
loss, the shape of the parameters and how to find the optimum in float64. The spec is a static
argument of the compiled kernels, so two problems of the same kind and shapes share one compile.

Every loss is a mean over the rows (plus an L2 penalty for the classification losses), so the
gradient of a mini-batch is an unbiased estimate of the full gradient whatever the batch size.

Example:
    >>> import gdjax
    >>> p = gdjax.problems.make_linear(100, 3, seed=0)
    >>> params, f_star = p.optimum()
    >>> round(float(p.loss(params)), 6) == round(f_star, 6)
    True
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Params = Any  # a pytree of arrays: {"w": ..., "b": ...} or {"x": ...}

__all__ = [
    "Problem",
    "linear",
    "logistic",
    "make_linear",
    "make_logistic",
    "make_softmax",
    "quadratic",
    "softmax",
    "textbook",
]

#: The textbook setups :func:`textbook` builds.
TEXTBOOK = ("y2x", "parabola", "noisy-line", "y4-3x")


# --------------------------------------------------------------------------------------------
# Loss specs: hashable (they are static arguments of jit), pure, no data inside.
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _LinearSpec:
    """Least squares: mean((X w + b - y)^2)."""

    intercept: bool

    def loss(self, params, X, y):
        r = X @ params["w"] - y
        if self.intercept:
            r = r + params["b"]
        return jnp.mean(r * r)

    def init(self, d, dtype):
        p = {"w": jnp.zeros((d,), dtype)}
        if self.intercept:
            p["b"] = jnp.zeros((), dtype)
        return p

    def optimum(self, X, y):
        A = _design(X, self.intercept)
        theta, *_ = np.linalg.lstsq(A, y, rcond=None)
        r = A @ theta - y
        return _unpack(theta, X.shape[1], self.intercept), float(np.mean(r * r))

    # The full-data loss of least squares is exactly f* + (theta - theta*)^T H (theta - theta*),
    # with H = A^T A / n. Monitoring it costs O(d^2) per evaluation instead of O(n d), and the
    # suboptimality comes out without the cancellation of f(w) - f* in float32.
    def monitor_aux(self, X, y, opt_params, f_star, dtype):
        A = _design(X, self.intercept)
        theta_star = np.concatenate([np.ravel(opt_params[k]) for k in sorted(opt_params)])
        # sorted keys: "b" before "w"; keep the same order in _flat below
        order = _key_order(X.shape[1], self.intercept)
        H = (A.T @ A)[np.ix_(order, order)] / A.shape[0]
        return {
            "H": jnp.asarray(H, dtype),
            "theta_star": jnp.asarray(theta_star, dtype),
            "f_star": jnp.asarray(f_star, dtype),
        }

    def monitor(self, params, X, y, aux):
        del X, y  # the sufficient statistics in aux stand for the data
        delta = _flat(params) - aux["theta_star"]
        return aux["f_star"] + delta @ (aux["H"] @ delta)


@dataclasses.dataclass(frozen=True)
class _QuadraticSpec:
    """f(x) = a x^2 + b x + c in one scalar parameter.

    A quadratic has no data set; its single data row holds the coefficients (a, b, c). That
    makes an epoch one step, and keeps the coefficients out of the compiled program's
    constants, so every parabola shares one compile.
    """

    def loss(self, params, X, y):
        del y
        a, b, c = X[0, 0], X[0, 1], X[0, 2]
        x = params["x"]
        return a * x * x + b * x + c

    def init(self, d, dtype):
        del d
        return {"x": jnp.zeros((), dtype)}

    def optimum(self, X, y):
        del y
        a, b, c = X[0]
        return {"x": np.float64(-b / (2 * a))}, float(c - b * b / (4 * a))

    def monitor_aux(self, X, y, opt_params, f_star, dtype):
        return None

    def monitor(self, params, X, y, aux):
        del aux
        return self.loss(params, X, y)


@dataclasses.dataclass(frozen=True)
class _LogisticSpec:
    """Mean binary cross-entropy on y in {0, 1} plus (l2 / 2) ||w||^2 (the intercept is free)."""

    intercept: bool
    l2: float

    def loss(self, params, X, y):
        z = X @ params["w"]
        if self.intercept:
            z = z + params["b"]
        w = params["w"]
        return jnp.mean(jax.nn.softplus(z) - y * z) + 0.5 * self.l2 * jnp.sum(w * w)

    def init(self, d, dtype):
        return _LinearSpec(self.intercept).init(d, dtype)

    def optimum(self, X, y):
        A = _design(X, self.intercept)
        n, p = A.shape
        pen = np.full(p, self.l2)
        if self.intercept:
            pen[-1] = 0.0

        def value(theta):
            z = A @ theta
            return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(pen * theta**2))

        def grad_hess(theta):
            s = _sigmoid(A @ theta)
            g = A.T @ (s - y) / n + pen * theta
            H = (A.T * (s * (1 - s))) @ A / n + np.diag(pen)
            return g, H

        theta = _newton(value, grad_hess, np.zeros(p))
        return _unpack(theta, X.shape[1], self.intercept), value(theta)

    def monitor_aux(self, X, y, opt_params, f_star, dtype):
        return None

    def monitor(self, params, X, y, aux):
        del aux
        return self.loss(params, X, y)


@dataclasses.dataclass(frozen=True)
class _SoftmaxSpec:
    """Mean softmax cross-entropy on integer labels plus (l2 / 2) ||W||^2."""

    num_classes: int
    intercept: bool
    l2: float

    def loss(self, params, X, y):
        Z = X @ params["w"]
        if self.intercept:
            Z = Z + params["b"]
        picked = jnp.take_along_axis(Z, y[:, None].astype(jnp.int32), axis=1)[:, 0]
        W = params["w"]
        return jnp.mean(jax.nn.logsumexp(Z, axis=1) - picked) + 0.5 * self.l2 * jnp.sum(W * W)

    def init(self, d, dtype):
        k = self.num_classes
        p = {"w": jnp.zeros((d, k), dtype)}
        if self.intercept:
            p["b"] = jnp.zeros((k,), dtype)
        return p

    def optimum(self, X, y):
        A = _design(X, self.intercept)
        n, q = A.shape
        k = self.num_classes
        Y = np.eye(k)[y.astype(np.int64)]
        pen = np.full((q, k), self.l2)
        if self.intercept:
            pen[-1] = 0.0
        pen = pen.ravel()

        def probs(theta):
            Z = A @ theta.reshape(q, k)
            Z = Z - Z.max(axis=1, keepdims=True)
            P = np.exp(Z)
            return Z, P / P.sum(axis=1, keepdims=True)

        def value(theta):
            Z, _ = probs(theta)
            lse = np.log(np.exp(Z).sum(axis=1))
            return float(np.mean(lse - (Z * Y).sum(axis=1)) + 0.5 * np.sum(pen * theta**2))

        def grad_hess(theta):
            _, P = probs(theta)
            g = (A.T @ (P - Y) / n).ravel() + pen * theta
            # H[(j,c),(j',c')] = sum_i a_ij a_ij' (p_ic [c = c'] - p_ic p_ic') / n
            H = np.empty((q, k, q, k))
            for c in range(k):
                for c2 in range(c, k):
                    wts = P[:, c] * ((c == c2) - P[:, c2])
                    block = (A.T * wts) @ A / n
                    H[:, c, :, c2] = block
                    H[:, c2, :, c] = block.T
            H = H.reshape(q * k, q * k) + np.diag(pen)
            return g, H

        theta = _newton(value, grad_hess, np.zeros(q * k))
        T = theta.reshape(q, k)
        params = {"w": T[: X.shape[1]]}
        if self.intercept:
            params["b"] = T[-1]
        return params, value(theta)

    def monitor_aux(self, X, y, opt_params, f_star, dtype):
        return None

    def monitor(self, params, X, y, aux):
        del aux
        return self.loss(params, X, y)


# --------------------------------------------------------------------------------------------
# The Problem
# --------------------------------------------------------------------------------------------


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
    spec: Any
    X: jax.Array = dataclasses.field(repr=False)
    y: jax.Array = dataclasses.field(repr=False)
    _cache: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

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

    def optimum(self) -> tuple[Params, float]:
        """The minimiser and the minimum f*, computed in float64 with NumPy (cached).

        Least squares uses ``numpy.linalg.lstsq``; logistic and softmax use damped Newton's method
        to a gradient norm near machine precision.

        Returns:
            ``(params, f_star)``: params as float64 NumPy arrays, f_star a Python float.
        """
        if "optimum" not in self._cache:
            X = np.asarray(self.X, np.float64)
            y = np.asarray(self.y, np.float64)
            self._cache["optimum"] = self.spec.optimum(X, y)
        return self._cache["optimum"]

    def monitor_aux(self):
        """Arrays the cheap full-data loss of this problem needs (None for most problems)."""
        if "aux" not in self._cache:
            params, f_star = self.optimum()
            X = np.asarray(self.X, np.float64)
            y = np.asarray(self.y, np.float64)
            self._cache["aux"] = self.spec.monitor_aux(X, y, params, f_star, self.dtype)
        return self._cache["aux"]

    def full_loss(self, params: Params) -> jax.Array:
        """The full-data loss as the kernels monitor it (exactly :meth:`loss`, maybe cheaper)."""
        return self.spec.monitor(params, self.X, self.y, self.monitor_aux())


# --------------------------------------------------------------------------------------------
# Constructors
# --------------------------------------------------------------------------------------------


def linear(X, y, *, intercept: bool = True, name: str = "linear") -> Problem:
    """Least-squares regression: ``mean((X w + b - y)^2)``.

    Args:
        X: features, shape (n, d), finite numbers.
        y: targets, shape (n,), finite numbers.
        intercept: fit a bias ``b`` as well as the weights ``w``.
        name: label for reports.

    Returns:
        A :class:`Problem` with params ``{"w": (d,), "b": ()}`` (no ``"b"`` without intercept).

    Example:
        >>> p = linear([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0], intercept=False)
        >>> round(float(p.optimum()[0]["w"][0]), 6)
        2.0
    """
    X, y = _check_data(X, y)
    return Problem(name, _LinearSpec(bool(intercept)), X, y.astype(X.dtype))


def quadratic(a: float, b: float, c: float, *, dtype=None, name: str = "quadratic") -> Problem:
    """The scalar parabola ``f(x) = a x^2 + b x + c`` with ``a > 0``.

    It has no data: its one "row" holds (a, b, c), so an epoch is one step, every batch size is
    batch gradient descent, and parabolas with other coefficients reuse the compiled kernel.

    Args:
        a: curvature, finite and > 0.
        b: linear coefficient, finite.
        c: constant, finite.
        dtype: floating dtype (default: JAX's default float).
        name: label for reports.

    Returns:
        A :class:`Problem` with params ``{"x": ()}``.

    Example:
        >>> quadratic(1.0, -5.0, 5.0).optimum()[1]
        -1.25
    """
    for arg, v in (("a", a), ("b", b), ("c", c)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise TypeError(f"quadratic: {arg} must be a real number, got {type(v).__name__}")
        if not math.isfinite(v):
            raise ValueError(f"quadratic: {arg} must be finite, got {v}")
    if a <= 0:
        raise ValueError(f"quadratic: a must be > 0 for a minimum to exist, got a={a}")
    dtype = _float_dtype(dtype)
    X = jnp.asarray([[a, b, c]], dtype)
    y = jnp.zeros((1,), dtype)
    return Problem(name, _QuadraticSpec(), X, y)


def logistic(X, y, *, intercept: bool = True, l2: float = 1e-2, name: str = "logistic") -> Problem:
    """L2-regularised logistic regression: mean binary cross-entropy + ``l2/2 ||w||^2``.

    Args:
        X: features, shape (n, d), finite numbers.
        y: labels in {0, 1}, shape (n,).
        intercept: fit a bias ``b`` (not penalised).
        l2: penalty strength, >= 0; > 0 guarantees the optimum exists on separable data.
        name: label for reports.

    Returns:
        A :class:`Problem` with params ``{"w": (d,), "b": ()}``.

    Example:
        >>> p = logistic([[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1])
        >>> p.optimum()[1] < 0.7
        True
    """
    X, y = _check_data(X, y)
    labels = np.asarray(y)
    if not np.all((labels == 0) | (labels == 1)):
        bad = labels[(labels != 0) & (labels != 1)][0]
        raise ValueError(f"logistic: labels y must be 0 or 1, found {bad}")
    _check_l2(l2, "logistic")
    return Problem(name, _LogisticSpec(bool(intercept), float(l2)), X, y.astype(X.dtype))


def softmax(
    X,
    y,
    *,
    num_classes: int | None = None,
    intercept: bool = True,
    l2: float = 1e-2,
    name: str = "softmax",
) -> Problem:
    """L2-regularised multinomial logistic regression on integer labels 0..num_classes-1.

    Args:
        X: features, shape (n, d), finite numbers.
        y: integer class labels, shape (n,).
        num_classes: number of classes (default: max label + 1); every label must be below it.
        intercept: fit a bias per class (not penalised).
        l2: penalty strength on the weights, >= 0.
        name: label for reports.

    Returns:
        A :class:`Problem` with params ``{"w": (d, k), "b": (k,)}``.

    Example:
        >>> p = softmax([[0.0], [1.0], [2.0]], [0, 1, 2])
        >>> p.init_params()["w"].shape
        (1, 3)
    """
    X, y = _check_data(X, y)
    labels = np.asarray(y)
    if not np.all(labels == np.round(labels)):
        raise ValueError("softmax: labels y must be integers")
    if labels.min() < 0:
        raise ValueError(f"softmax: labels y must be >= 0, found {labels.min():g}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"softmax: num_classes must be an int, got {type(num_classes).__name__}")
    if num_classes < 2:
        raise ValueError(f"softmax: num_classes must be >= 2, got {num_classes}")
    if labels.max() >= num_classes:
        raise ValueError(
            f"softmax: label {labels.max():g} out of range for num_classes={num_classes}"
        )
    _check_l2(l2, "softmax")
    spec = _SoftmaxSpec(int(num_classes), bool(intercept), float(l2))
    return Problem(name, spec, X, jnp.asarray(labels.astype(np.int32)))


def make_linear(
    n: int, d: int, *, noise: float = 0.1, seed: int = 0, intercept: bool = True, dtype=None
) -> Problem:
    """Synthetic least squares: X ~ N(0, 1), w* ~ N(0, 1), y = X w* + noise * N(0, 1).

    Args:
        n: rows, >= 1.
        d: features, >= 1.
        noise: standard deviation of the label noise, >= 0.
        seed: NumPy seed of the data.
        intercept: fit a bias as well.
        dtype: floating dtype (default: JAX's default float).

    Returns:
        A :class:`Problem` named ``linear-{n}x{d}``.

    Example:
        >>> make_linear(8192, 32).X.shape
        (8192, 32)
    """
    _check_size(n, "n"), _check_size(d, "d"), _check_seed(seed)
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)):
        raise TypeError(f"noise must be a real number, got {type(noise).__name__}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be finite and >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    y = X @ w + noise * rng.standard_normal(n)
    dt = _float_dtype(dtype)
    return linear(np.asarray(X, dt), np.asarray(y, dt), intercept=intercept, name=f"linear-{n}x{d}")


def make_logistic(
    n: int, d: int, *, seed: int = 0, intercept: bool = True, l2: float = 1e-2, dtype=None
) -> Problem:
    """Synthetic logistic regression: X ~ N(0, 1), logits X w* with std 2, y ~ Bernoulli.

    Args:
        n: rows, >= 1.
        d: features, >= 1.
        seed: NumPy seed of the data.
        intercept: fit a bias as well.
        l2: penalty strength.
        dtype: floating dtype (default: JAX's default float).

    Returns:
        A :class:`Problem` named ``logistic-{n}x{d}``.

    Example:
        >>> make_logistic(1000, 5).n
        1000
    """
    _check_size(n, "n"), _check_size(d, "d"), _check_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) * (2.0 / np.sqrt(d))
    y = (rng.random(n) < _sigmoid(X @ w)).astype(np.float64)
    dt = _float_dtype(dtype)
    return logistic(np.asarray(X, dt), y, intercept=intercept, l2=l2, name=f"logistic-{n}x{d}")


def make_softmax(
    n: int,
    d: int,
    num_classes: int = 3,
    *,
    seed: int = 0,
    intercept: bool = True,
    l2: float = 1e-2,
    dtype=None,
) -> Problem:
    """Synthetic multinomial data: X ~ N(0, 1), logits X W* with std 2, y ~ Categorical.

    Args:
        n: rows, >= 1.
        d: features, >= 1.
        num_classes: classes, >= 2.
        seed: NumPy seed of the data.
        intercept: fit a bias per class.
        l2: penalty strength.
        dtype: floating dtype (default: JAX's default float).

    Returns:
        A :class:`Problem` named ``softmax-{n}x{d}x{num_classes}``.

    Example:
        >>> make_softmax(300, 4, 3).init_params()["w"].shape
        (4, 3)
    """
    _check_size(n, "n"), _check_size(d, "d"), _check_size(num_classes, "num_classes")
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, num_classes)) * (2.0 / np.sqrt(d))
    Z = X @ W
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (rng.random((n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
    y = np.minimum(y, num_classes - 1)
    dt = _float_dtype(dtype)
    return softmax(
        np.asarray(X, dt),
        y,
        num_classes=num_classes,
        intercept=intercept,
        l2=l2,
        name=f"softmax-{n}x{d}x{num_classes}",
    )


def textbook(name: str, *, seed: int = 0, dtype=None) -> Problem:
    """The classic teaching setups, as problems.

    - ``"y2x"``: y = 2x on x = (1, 2, 3), no intercept (the textbook starts from w = 1:
      pass ``init=1.0``).
    - ``"parabola"``: f(x) = x^2 - 5x + 5 (the textbook starts from x = 7, ``init=7.0``; there
      lr 1.0 oscillates for ever).
    - ``"noisy-line"``: y = 2.5 x + 4 + N(0, 1), x ~ U[0, 15], 100 points, with intercept.
    - ``"y4-3x"``: X = 2 U(0, 1), 100 x 1, y = 4 + 3 X + N(0, 1), with intercept.

    Args:
        name: one of :data:`TEXTBOOK`.
        seed: NumPy seed of the random setups.
        dtype: floating dtype (default: JAX's default float).

    Returns:
        A :class:`Problem` named after the setup.

    Example:
        >>> textbook("parabola").optimum()[1]
        -1.25
    """
    dt = _float_dtype(dtype)
    rng = np.random.default_rng(seed)
    if name == "y2x":
        x = np.array([[1.0], [2.0], [3.0]], dt)
        return linear(x, 2 * x[:, 0], intercept=False, name=name)
    if name == "parabola":
        return quadratic(1.0, -5.0, 5.0, dtype=dt, name=name)
    if name == "noisy-line":
        x = rng.uniform(0, 15, 100)
        y = 2.5 * x + 4 + rng.standard_normal(100)
        return linear(np.asarray(x[:, None], dt), np.asarray(y, dt), name=name)
    if name == "y4-3x":
        X = 2 * rng.random((100, 1))
        y = 4 + 3 * X[:, 0] + rng.standard_normal(100)
        return linear(np.asarray(X, dt), np.asarray(y, dt), name=name)
    raise ValueError(f"unknown textbook setup name={name!r}; choose one of {list(TEXTBOOK)}")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _float_dtype(dtype):
    """The requested floating dtype, or JAX's default float (float64 only with x64 on)."""
    if dtype is None:
        return jnp.asarray(0.0).dtype
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating dtype, got {dtype!r}") from None
    if not np.issubdtype(dt, np.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dt}")
    if jax.dtypes.canonicalize_dtype(dt) != dt:
        raise ValueError(
            f"dtype {dt} needs JAX's 64-bit mode: set JAX_ENABLE_X64=1 "
            "(or jax.config.update('jax_enable_x64', True), or bench run --x64)"
        )
    return dt


def _check_data(X, y):
    """Validate X (n, d) and y (n,) before any tracing; return JAX arrays."""
    Xn = _as_numeric(X, "X")
    yn = _as_numeric(y, "y")
    if Xn.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), got shape {Xn.shape}")
    if yn.ndim != 1:
        raise ValueError(f"y must be 1-D (n,), got shape {yn.shape}")
    if Xn.shape[0] != yn.shape[0]:
        raise ValueError(f"X and y disagree on n: X has {Xn.shape[0]} rows, y has {yn.shape[0]}")
    if Xn.shape[0] == 0 or Xn.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column, got shape {Xn.shape}")
    for arg, a in (("X", Xn), ("y", yn)):
        if not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))[0]
            raise ValueError(
                f"{arg} contains NaN or inf (first at index {tuple(int(i) for i in bad)})"
            )
    dt = Xn.dtype if np.issubdtype(Xn.dtype, np.floating) else np.float64
    dt = jax.dtypes.canonicalize_dtype(dt)
    return jnp.asarray(Xn, dt), jnp.asarray(yn)


def _as_numeric(a, arg):
    try:
        out = np.asarray(a)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{arg} must be an array of numbers: {e}") from None
    if out.dtype == object or not (
        np.issubdtype(out.dtype, np.number) or np.issubdtype(out.dtype, np.bool_)
    ):
        raise TypeError(f"{arg} must be an array of numbers, got dtype {out.dtype}")
    if np.iscomplexobj(out):
        raise TypeError(f"{arg} must be real, got dtype {out.dtype}")
    return out


def _check_l2(l2, where):
    if isinstance(l2, bool) or not isinstance(l2, (int, float, np.floating, np.integer)):
        raise TypeError(f"{where}: l2 must be a real number, got {type(l2).__name__}")
    if not (math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"{where}: l2 must be finite and >= 0, got {l2}")


def _check_size(v, arg):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{arg} must be an int, got {type(v).__name__}")
    if v < 1:
        raise ValueError(f"{arg} must be >= 1, got {v}")


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")


def _design(X, intercept):
    return np.hstack([X, np.ones((X.shape[0], 1))]) if intercept else X


def _unpack(theta, d, intercept):
    params = {"w": np.asarray(theta[:d])}
    if intercept:
        params["b"] = np.float64(theta[d])
    return params


def _key_order(d, intercept):
    """Columns of the design [X, 1] in the order of _flat: sorted keys, "b" before "w"."""
    return [d, *range(d)] if intercept else list(range(d))


def _flat(params):
    return jnp.concatenate([jnp.ravel(params[k]) for k in sorted(params)])


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _newton(value, grad_hess, theta, max_iter=100):
    """Damped Newton's method in float64 until the gradient stops shrinking (machine precision)."""
    f = value(theta)
    for _ in range(max_iter):
        g, H = grad_hess(theta)
        gnorm = np.linalg.norm(g)
        if gnorm <= 1e-14 * max(1.0, abs(f)):
            break
        # lstsq, not solve: softmax intercepts are defined only up to a common shift (H singular)
        step = np.linalg.lstsq(H, g, rcond=None)[0]
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
    return theta
