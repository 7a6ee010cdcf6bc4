"""The constructors of :class:`~gdjax.problems.Problem`: from data, from synthetic data of a
chosen size and condition number, and the textbook setups.

Every loss is a mean over the rows (plus an L2 penalty for the classification losses), so the
gradient of a mini-batch is an unbiased estimate of the full gradient whatever the batch size.

Example:
    >>> import gdjax
    >>> p = gdjax.problems.linear([[1.0], [2.0]], [2.0, 4.0], intercept=False)
    >>> p.n, p.d
    (2, 1)
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from gdjax import checks, memory
from gdjax.problems import synthetic
from gdjax.problems.losses import LeastSquares, Logistic, Quadratic, Softmax
from gdjax.problems.problem import Problem

__all__ = [
    "MAX_CLASSES",
    "TEXTBOOK",
    "linear",
    "logistic",
    "make_linear",
    "make_logistic",
    "make_softmax",
    "quadratic",
    "softmax",
    "textbook",
]
TEXTBOOK = ("y2x", "parabola", "noisy-line", "y4-3x")

#: Largest number of classes a label vector may imply (a stray label like 10**6 would
#: otherwise allocate a weight matrix of a million columns).
MAX_CLASSES = 10_000
#: Rows x classes float64 arrays that softmax's solve of f* holds at once.
SOLVE_COPIES = 6


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
    X, y = checks.data(X, y)
    spec = LeastSquares(checks.boolean(intercept, "intercept"))
    return Problem(_name(name), spec, (X, y))  # checks.data gave y in X's dtype


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
    a = checks.real(a, "quadratic: a", lo=0.0, strict=True)
    b = checks.real(b, "quadratic: b", lo=-np.inf)
    c = checks.real(c, "quadratic: c", lo=-np.inf)
    dtype = checks.float_dtype(dtype)
    checks.fits_dtype([a], "quadratic: a", dtype)  # a that rounds to 0 leaves no minimum
    coef = np.array([[a, b, c]])
    X = checks.in_dtype(coef, dtype, "quadratic: coefficients")
    return Problem(_name(name), Quadratic(), (X, jnp.zeros((1,), dtype)))


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
    X, y = checks.data(X, y, labels=(0, 1))  # on the values given: 1e-300 is no 0 in float32
    labels = np.asarray(y)
    if not np.all((labels == 0) | (labels == 1)):
        bad = labels[(labels != 0) & (labels != 1)][0]
        raise ValueError(f"logistic: labels y must be 0 or 1, found {bad}")
    spec = Logistic(checks.boolean(intercept, "intercept"), checks.l2(l2, "logistic"))
    return Problem(_name(name), spec, (X, y))


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
        num_classes: number of classes, 2..10000 (default: max label + 1); every label must be
            below it.
        intercept: fit a bias per class (not penalised).
        l2: penalty strength on the weights, >= 0.
        name: label for reports.

    Returns:
        A :class:`Problem` with params ``{"w": (d, k), "b": (k,)}``.

    Raises:
        ValueError: bad data or labels; a class with no rows when ``intercept`` (its bias
            would fall for ever: no finite optimum); or the float64 solve of f* (a few n x k
            arrays) would need more than half of this machine's memory.

    Example:
        >>> p = softmax([[0.0], [1.0], [2.0]], [0, 1, 2])
        >>> p.init_params()["w"].shape
        (1, 3)
    """
    Xj, _ = checks.data(X, np.zeros(np.shape(X)[:1]))
    labels = checks.numeric_array(y, "y")
    if labels.shape != (Xj.shape[0],):
        raise ValueError(
            f"y must have shape ({Xj.shape[0]},) like the rows of X, got {labels.shape}"
        )
    if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
        raise ValueError("softmax: labels y must be integers")
    if labels.min() < 0:
        raise ValueError(f"softmax: labels y must be >= 0, found {labels.min():g}")
    if labels.max() >= MAX_CLASSES:
        top = int(labels.max())  # a Python int: no wrap-around for int64's largest label
        raise ValueError(
            f"softmax: label {top} would make {top + 1} classes, more than {MAX_CLASSES}; "
            "relabel the classes 0..k-1"
        )
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    k = checks.integer(num_classes, "softmax: num_classes", lo=2, hi=MAX_CLASSES)
    if labels.max() >= k:
        raise ValueError(f"softmax: label {labels.max():g} out of range for num_classes={k}")
    intercept = checks.boolean(intercept, "intercept")
    missing = np.setdiff1d(np.arange(k), labels)
    if intercept and len(missing):
        # the loss falls for ever as that class's bias (unpenalised) goes to -inf
        raise ValueError(
            f"softmax: no row of y has label {int(missing[0])} of num_classes={k}"
            + (f" (nor {len(missing) - 1} other labels)" if len(missing) > 1 else "")
            + ": that class's bias has no finite optimum; use fewer classes, more rows, or "
            "intercept=False"
        )
    # the float64 solve of f* keeps a few rows x classes arrays (probabilities, one-hot labels,
    # Hessian-vector products): refused here, when a suite is checked, not halfway through it
    n = Xj.shape[0]
    memory.check_array((SOLVE_COPIES, n, k), np.float64, "softmax's float64 solve of f*")
    spec = Softmax(k, intercept, checks.l2(l2, "softmax"))
    return Problem(_name(name), spec, (Xj, jnp.asarray(labels.astype(np.int32))))


def make_linear(
    n: int,
    d: int,
    *,
    noise: float = 0.1,
    seed: int = 0,
    intercept: bool = True,
    cond: float | None = None,
    dtype=None,
) -> Problem:
    """Synthetic least squares: y = X w* + noise * N(0, 1), w* ~ N(0, 1).

    Args:
        n: rows, >= 1 (>= d + 1 with ``cond``).
        d: features, >= 1.
        noise: standard deviation of the label noise, >= 0.
        seed: NumPy seed of the data.
        intercept: fit a bias as well.
        cond: None: X ~ N(0, 1). K >= 1: centred X whose loss Hessian (intercept included) has
            condition number K exactly (see :mod:`gdjax.problems.synthetic`); at most
            ``synthetic.max_cond(dtype)`` (about 4.5e12 in float64, 7e10 in float32).
        dtype: floating dtype (default: JAX's default float).

    Returns:
        A :class:`Problem` named ``linear-{n}x{d}`` (``-cond{K}`` appended with ``cond``).

    Example:
        >>> make_linear(8192, 32).X.shape
        (8192, 32)
        >>> L, mu = make_linear(500, 4, cond=100.0).curvature()
        >>> round(L / mu, 6)
        100.0
    """
    n, d, seed, cond, dt = _synthetic_args(n, d, seed, cond, dtype)
    noise = checks.real(noise, "noise", lo=0.0)
    X, y = synthetic.linear_data(n, d, noise=noise, seed=seed, cond=cond)
    return linear(
        np.asarray(X, dt), np.asarray(y, dt), intercept=intercept, name=_label("linear", n, d, cond)
    )


def make_logistic(
    n: int,
    d: int,
    *,
    seed: int = 0,
    intercept: bool = True,
    l2: float = 1e-2,
    cond: float | None = None,
    dtype=None,
) -> Problem:
    """Synthetic logistic regression: logits X w* with std about 2, y ~ Bernoulli.

    Args:
        n: rows, >= 1 (>= d + 1 with ``cond``).
        d: features, >= 1.
        seed: NumPy seed of the data.
        intercept: fit a bias as well.
        l2: penalty strength.
        cond: None: X ~ N(0, 1). K >= 1: centred X whose covariance has condition number K,
            at most ``synthetic.max_cond(dtype)``.
        dtype: floating dtype (default: JAX's default float).

    Returns:
        A :class:`Problem` named ``logistic-{n}x{d}`` (``-cond{K}`` appended with ``cond``).

    Example:
        >>> make_logistic(1000, 5).n
        1000
    """
    n, d, seed, cond, dt = _synthetic_args(n, d, seed, cond, dtype)
    X, y = synthetic.logistic_data(n, d, seed=seed, cond=cond)
    name = _label("logistic", n, d, cond)
    return logistic(np.asarray(X, dt), y, intercept=intercept, l2=l2, name=name)


def make_softmax(
    n: int,
    d: int,
    num_classes: int = 3,
    *,
    seed: int = 0,
    intercept: bool = True,
    l2: float = 1e-2,
    cond: float | None = None,
    dtype=None,
) -> Problem:
    """Synthetic multinomial data: logits X W* with std about 2, y ~ Categorical.

    Args:
        n: rows, >= 1 (>= d + 1 with ``cond``).
        d: features, >= 1.
        num_classes: classes, 2..10000; with ``intercept``, every class must draw rows (too
            few rows for the classes is refused: see :func:`softmax`).
        seed: NumPy seed of the data.
        intercept: fit a bias per class.
        l2: penalty strength.
        cond: None: X ~ N(0, 1). K >= 1: centred X whose covariance has condition number K,
            at most ``synthetic.max_cond(dtype)``.
        dtype: floating dtype (default: JAX's default float).

    Returns:
        A :class:`Problem` named ``softmax-{n}x{d}x{num_classes}`` (``-cond{K}`` with ``cond``).

    Example:
        >>> make_softmax(300, 4, 3).init_params()["w"].shape
        (4, 3)
    """
    k = checks.integer(num_classes, "num_classes", lo=2, hi=MAX_CLASSES)
    n, d, seed, cond, dt = _synthetic_args(n, d, seed, cond, dtype, extra=k)
    X, y = synthetic.softmax_data(n, d, k, seed=seed, cond=cond)
    name = _label("softmax", n, d, cond, k)
    return softmax(np.asarray(X, dt), y, num_classes=k, intercept=intercept, l2=l2, name=name)


def textbook(name: str, *, seed: int = 0, dtype=None) -> Problem:
    """The classic teaching setups, as problems.

    - ``"y2x"``: y = 2x on x = (1, 2, 3), no intercept (the textbook starts from w = 1:
      pass ``init=1.0``).
    - ``"parabola"``: f(x) = x^2 - 5x + 5 (the textbook starts from x = 7, ``init=7.0``). Its
      Hessian is 2, so lr = 1.0 is exactly the stability limit 2 / L: it oscillates for ever.
    - ``"noisy-line"``: y = 2.5 x + 4 + N(0, 1), x ~ U[0, 15], 100 points, with intercept.
    - ``"y4-3x"``: X = 2 U(0, 1), 100 x 1, y = 4 + 3 X + N(0, 1), with intercept.

    The two random setups draw from streams of their own (the same ``seed`` gives them
    independent noise).

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
    if name not in TEXTBOOK:
        raise ValueError(f"unknown textbook setup name={name!r}; choose one of {list(TEXTBOOK)}")
    dt = checks.float_dtype(dtype)
    # one stream per setup: [seed, setup index], so noisy-line and y4-3x never share a draw
    rng = np.random.default_rng([checks.seed(seed), TEXTBOOK.index(name)])
    if name == "y2x":
        x = np.array([[1.0], [2.0], [3.0]], dt)
        return linear(x, 2 * x[:, 0], intercept=False, name=name)
    if name == "parabola":
        return quadratic(1.0, -5.0, 5.0, dtype=dt, name=name)
    if name == "noisy-line":
        x = rng.uniform(0, 15, 100)
        y = 2.5 * x + 4 + rng.standard_normal(100)
        return linear(np.asarray(x[:, None], dt), np.asarray(y, dt), name=name)
    X = 2 * rng.random((100, 1))
    y = 4 + 3 * X[:, 0] + rng.standard_normal(100)
    return linear(np.asarray(X, dt), np.asarray(y, dt), name=name)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _name(name) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    return name


def _synthetic_args(n, d, seed, cond, dtype, extra=1):
    n, d = checks.size(n, "n"), checks.size(d, "d")
    seed = checks.seed(seed)
    dt = checks.float_dtype(dtype)
    if cond is not None:
        cond = checks.real(cond, "cond", lo=1.0)
        if n < d + 1:
            raise ValueError(f"cond needs n >= d + 1 rows, got n={n}, d={d}")
        top = synthetic.max_cond(dt)
        if cond > top:  # its smallest eigenvalue would be rounding: 7e15 or mu <= 0 for 1e20
            raise ValueError(
                f"cond {cond:g} is more than {dt.name} data and float64 solves can deliver "
                f"(at most {top:.2g}, see gdjax.problems.synthetic.max_cond)"
            )
    memory.check_array((n, d, extra), np.float64, "the synthetic data")
    return n, d, seed, cond, dt


def _label(kind, n, d, cond, k=None) -> str:
    name = f"{kind}-{n}x{d}" + ("" if k is None else f"x{k}")
    return name if cond is None else f"{name}-cond{cond:g}"
