"""The loss protocol: what every loss must have, and the capabilities a loss may offer.

A *loss spec* is a small, hashable object (a static argument of the compiled kernels, so two
problems of the same kind and shapes share one compile) that holds no data.

Every loss has:

- ``kind``: its name (``"linear"`` for least squares, ``"quadratic"``, ``"logistic"``,
  ``"softmax"``, ``"custom"``); only reports and the loss's own module read it;
- ``loss(params, *data)``: the loss in JAX, a mean over rows (plus an L2 penalty for the
  classification losses), so a mini-batch gradient is an unbiased estimate of the full one.
  ``data`` are the problem's data arguments (:attr:`gdjax.Problem.data`): ``X, y`` for the
  shipped losses (below, their methods name them so), one pytree for a user's own loss
  (:mod:`gdjax.problems.losses.custom`); every leaf has the rows first, and the kernel
  gathers a step's rows from each;
- ``init(d, dtype)``: the initial parameters (zeros of the right shapes for the shipped
  losses);
- ``value(*data, params)``: the loss in float64 (the kernel's start, f(w0));
- ``optimum_method``: how f* is known (:class:`FStarSource`), said wherever f* is used.

The shipped losses offer these capabilities as well (a user's loss some of them):

- ``optimum(X, y)``: the minimiser and f* in float64 with NumPy (lstsq, or Newton's method);
  ``solve(*data)`` where the solve has more to report: ``(params, f*, FStarSource)``;
- ``curvature(X, y, opt_params)``: ``(L, mu)``, the extreme eigenvalues of the loss Hessian in
  float64 (exact for least squares and the quadratic, at the optimum for logistic and softmax);
- ``monitor_aux`` / ``monitor``: the full-data loss as the kernel tracks it, and ``cheap_monitor``,
  whether that costs O(d^2) instead of a pass over the data (then it is tracked every step);
  ``monitors_gap`` states what ``monitor`` returns: the loss f(params) (False), or the gap
  f(params) - f* computed without forming f (True: least squares' quadratic form, which does not
  cancel against a large f* in float32). The kernel's levels are offset to match and the host
  adds f* back, in float64, to every loss it reports (:func:`as_loss`); ``monitor_error``: how
  far rounding in the problem's dtype may move the monitored value at a given gap, so that a
  level it cannot resolve is refused before running. :class:`FullPassMonitor` is the default.
  A gap monitor comes with ``gap(X, y, params, opt_params)``, ``f(params) - f*`` in float64
  computed without forming f, from which the levels are made.
- ``rows_are_samples``: whether the data's rows are samples to batch over (True, the default),
  or hold the loss's own constants (False: the quadratic's one row of coefficients), so that
  every batch size is batch gradient descent.
- ``quadratic_view(X)`` (least squares only): the loss as a quadratic form in the flat
  parameters (:class:`QuadraticView`), from which the kernel runs in the Hessian's eigenbasis
  with an O(d) exact monitor and :mod:`gdjax.theory` predicts batch GD's step counts. A loss
  without it simply lacks those fast paths (:func:`offers`).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "FStarSource",
    "FullPassMonitor",
    "LossSpec",
    "QuadraticView",
    "as_loss",
    "flat",
    "offers",
]

Params = Any  # a pytree of arrays: {"w": ..., "b": ...} or {"x": ...}


class LossSpec(Protocol):
    """What the kernels and the harness may ask of a loss (see the module docstring).
    ``*data`` stands for the problem's data arguments: ``X, y`` for the shipped losses."""

    kind: ClassVar[str]
    optimum_method: ClassVar[str]
    cheap_monitor: ClassVar[bool]
    monitors_gap: ClassVar[bool]  # monitor returns f - f* (True) or f (False)
    rows_are_samples: ClassVar[bool]  # False: every batch size is batch GD

    def loss(self, params: Params, *data) -> jax.Array: ...

    def init(self, d: int, dtype) -> Params: ...

    def optimum(self, *data) -> tuple[Params, float]: ...

    def value(self, *data_and_params) -> float: ...

    def monitor_aux(self, *data_optimum_dtype) -> Any: ...  # data, opt_params, f_star, dtype

    def monitor(self, params: Params, *data_and_aux) -> jax.Array: ...

    def monitor_error(self, aux, gaps, *, f_star: float, f0: float, n: int, dtype) -> Any: ...

    def curvature(self, *data_and_optimum) -> tuple[float, float]: ...


class FStarSource(NamedTuple):
    """Where a problem's f* came from (:attr:`gdjax.Problem.f_star_source`).

    Attributes:
        method: "lstsq (float64)", "closed form", "Newton (float64)" (the shipped losses),
            "given" (a number the user knows), "L-BFGS (float64)" (a reference solve of a
            user's loss) or "best found" (the lowest full-data loss a run reached: not an
            optimum).
        grad_norm: the gradient norm a reference solve reached (None elsewhere).
        iterations: its iterations.
        seconds: its wall time on the host.
        reached: whether it reached the gradient norm it was asked for (False: it stopped at
            its iteration limit, and f* may be well above the optimum).

    Example:
        >>> FStarSource("L-BFGS (float64)", 3.2e-10, 41, 0.52, True).label
        'L-BFGS (float64), |grad| 3.2e-10 after 41 iterations, 0.52 s'
        >>> FStarSource("L-BFGS (float64)", 4e-4, 10000, 1.7, False).label
        'L-BFGS (float64), |grad| 0.0004 after 10000 iterations, 1.70 s (iteration limit)'
        >>> FStarSource("best found").label
        'best found'
    """

    method: str
    grad_norm: float | None = None
    iterations: int | None = None
    seconds: float | None = None
    reached: bool | None = None

    @property
    def label(self) -> str:
        """One line for tables: the method, and what a solve reached."""
        if self.grad_norm is None:
            return self.method
        limit = " (iteration limit)" if self.reached is False else ""
        return (
            f"{self.method}, |grad| {self.grad_norm:.2g} after {self.iterations} iterations, "
            f"{self.seconds:.2f} s{limit}"
        )


class QuadraticView(NamedTuple):
    """A loss that is a quadratic form in its flat parameters theta (:func:`flat`'s order):
    ``f(theta) = f* + (theta - theta*)^T M (theta - theta*)``, with ``M = A^T A / n`` and ``A``
    the design (a column of ones for the intercept). Cheap to make: it computes on demand.

    Attributes:
        X: the data, float64 (n, d).
        intercept: whether the design has a column of ones.
    """

    X: np.ndarray
    intercept: bool

    def design(self) -> np.ndarray:
        """``A`` in float64, columns in the order of :func:`flat`."""
        A = _design(self.X, self.intercept)
        return A[:, _key_order(self.X.shape[1], self.intercept)]

    def moment(self) -> np.ndarray:
        """``M = A^T A / n`` in float64, rows and columns in the order of :func:`flat`: half the
        Hessian."""
        A = _design(self.X, self.intercept)
        order = _key_order(self.X.shape[1], self.intercept)
        return (A.T @ A)[np.ix_(order, order)] / A.shape[0]


def offers(spec, capability: str) -> bool:
    """Whether a loss spec offers an optional capability (a method such as ``"quadratic_view"``).

    Example:
        >>> from gdjax.problems.losses import LeastSquares, Logistic
        >>> offers(LeastSquares(True), "quadratic_view")
        True
        >>> offers(Logistic(True, 0.0), "quadratic_view")
        False
    """
    return callable(getattr(spec, capability, None))


class FullPassMonitor:
    """The monitored loss is the loss itself over all the data (a pass, O(n d)): the default
    monitor of a loss that offers no cheaper one."""

    cheap_monitor: ClassVar[bool] = False
    monitors_gap: ClassVar[bool] = False
    rows_are_samples: ClassVar[bool] = True

    def monitor_aux(self, *data_optimum_dtype):
        """None: the loss itself needs nothing (arguments: the data, the optimum's parameters,
        f*, the dtype)."""
        del data_optimum_dtype
        return None

    def monitor(self, params, *data_and_aux):
        """The loss over every row (arguments: the data, then the monitor's aux)."""
        *data, _ = data_and_aux
        return self.loss(params, *data)

    def monitor_error(self, aux, gaps, *, f_star, f0, n, dtype):
        """The rounding error of the monitored loss where it is ``f* + gaps``, in float64.

        A loss of magnitude s computed in ``dtype`` (unit roundoff u = eps / 2) rounds by a
        few u s in each row's terms, and by at most u s log2(n) in the mean over n rows (the
        bound of a pairwise sum, the tree XLA reduces by): ``u max(|f*|, |f0|) (log2(n) + 4)``,
        whatever the gap. (Measured on the default suite's float32 problems: about eps s.)

        Example:
            >>> from gdjax.problems.losses import Logistic
            >>> e = Logistic(True, 0.0).monitor_error(None, [1e-3], f_star=0.5, f0=0.7,
            ...                                       n=1024, dtype=np.float32)
            >>> float(e[0]) == float(np.finfo(np.float32).eps) / 2 * 0.7 * 14
            True
        """
        del aux
        u = float(np.finfo(dtype).eps) / 2
        scale = u * max(abs(f_star), abs(f0)) * (np.log2(max(n, 1)) + 4.0)
        return np.full(np.shape(gaps), scale)


def as_loss(spec, monitored, f_star: float) -> np.ndarray:
    """The loss that values of ``spec.monitor`` stand for: themselves, or, for a monitor of the
    gap (``spec.monitors_gap``), ``f* + gap`` in float64 (the gap's dtype could not hold the sum
    without rounding the gap away).

    Example:
        >>> from gdjax.problems.losses import LeastSquares, Logistic
        >>> as_loss(LeastSquares(False), np.float32(0.5), 9e4).item()
        90000.5
        >>> as_loss(Logistic(True, 0.0), np.float32(0.5), 0.25).item()
        0.5
    """
    if not spec.monitors_gap:
        return np.asarray(monitored)
    return np.asarray(monitored, np.float64) + f_star


def _gap_error(gaps: np.ndarray, floor: float) -> np.ndarray:
    """How far a gap ``(delta + e)^T M (delta + e)`` may be from ``delta^T M delta = gaps``
    when the rounding ``e`` has a gap of its own of at most ``floor`` (Cauchy-Schwarz in M)."""
    return 2.0 * np.sqrt(np.maximum(gaps, 0.0) * floor) + floor


def flat(params) -> jax.Array:
    """Parameters as one vector, keys in sorted order ("b" before "w")."""
    return jnp.concatenate([jnp.ravel(params[k]) for k in sorted(params)])


def _extremes(H) -> tuple[float, float]:
    eig = np.linalg.eigvalsh(H)
    return float(eig[-1]), float(eig[0])


def _design(X, intercept):
    return np.hstack([X, np.ones((X.shape[0], 1))]) if intercept else X


def _theta(params, intercept):
    """Parameters {"w": (d,), "b": ()} as the float64 vector of the design [X, 1]."""
    w = np.asarray(params["w"], np.float64)
    return np.append(w, np.float64(params["b"])) if intercept else w


def _unpack(theta, d, intercept):
    params = {"w": np.asarray(theta[:d])}
    if intercept:
        params["b"] = np.float64(theta[d])
    return params


def _key_order(d, intercept):
    """Columns of the design [X, 1] in the order of flat(): sorted keys, "b" before "w"."""
    return [d, *range(d)] if intercept else list(range(d))
