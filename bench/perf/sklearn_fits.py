"""The peer users pick for per-sample SGD on linear models: scikit-learn's ``SGDRegressor`` and
``SGDClassifier`` (Cython), one fit per learning rate, as a baseline of gdjax's sweeps.

Only where scikit-learn runs the same algorithm: per-sample (batch 1), constant-rate SGD on
least squares and on L2-regularised logistic regression, from zero, over the same rows in the
same order (gdjax's own permutations, one ``partial_fit`` per epoch with ``shuffle=False``).
The learning rates are matched to the losses' scalings:

- least squares: gdjax's loss is ``mean((x.w + b - y)^2)``, scikit-learn's ``squared_error`` is
  half of that, so its gradient is half gdjax's: ``eta0 = 2 lr``;
- logistic: scikit-learn's ``log_loss`` on labels -1/+1 is gdjax's binary cross-entropy on 0/1,
  and its penalty ``alpha ||w||^2 / 2`` is gdjax's ``l2 ||w||^2 / 2``: ``eta0 = lr``,
  ``alpha = l2`` (neither penalises the intercept).

The fits' final parameters equal gdjax's for the same lane to float64 rounding
(``tests/bench/perf/test_sklearn_fits.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MISSING", "applies", "available", "sklearn_loop"]

#: Why the scikit-learn baseline is skipped where it is not installed.
MISSING = "scikit-learn is not installed (pip install -e '.[bench]')"


def available() -> bool:
    """Whether scikit-learn can be imported."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def applies(problem, batch_size: int) -> bool:
    """Whether scikit-learn runs the same algorithm: per-sample SGD on least squares or
    logistic regression."""
    return batch_size == 1 and problem.spec.kind in ("linear", "logistic")


def sklearn_loop(problem, lr: float, rows, epochs: int) -> dict:
    """One scikit-learn fit of ``epochs`` passes over ``rows`` (gdjax's permutations, one array
    of shape (steps, 1) per epoch, :func:`bench.perf.loops.step_rows`).

    Args:
        problem: a least-squares or logistic problem (:func:`applies`).
        lr: gdjax's learning rate (matched to scikit-learn's scaling, see the module docstring).
        rows: the rows of every step, per epoch.
        epochs: passes (``len(rows)``).

    Returns:
        The final parameters as gdjax names them: ``{"w": (d,), "b": ()}`` (no ``"b"`` without
        an intercept), float64.
    """
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    spec = problem.spec
    X = np.asarray(problem.X, np.float64)
    y = np.asarray(problem.y, np.float64)
    common = dict(
        learning_rate="constant",
        shuffle=False,
        fit_intercept=spec.intercept,
        average=False,
    )
    if spec.kind == "linear":
        model = SGDRegressor(loss="squared_error", penalty=None, eta0=2.0 * lr, **common)
        fit_kwargs = {}
    else:
        alpha = float(spec.l2)
        penalty = "l2" if alpha > 0 else None
        model = SGDClassifier(loss="log_loss", penalty=penalty, alpha=alpha, eta0=lr, **common)
        fit_kwargs = {"classes": np.array([0.0, 1.0])}
    # partial_fit starts from zero, as gdjax does, and makes one pass over the rows given, in
    # their order (shuffle=False): one call per epoch, on that epoch's permutation
    for order in rows[:epochs]:
        idx = order[:, 0]
        model.partial_fit(X[idx], y[idx], **fit_kwargs)
    w = np.ravel(model.coef_).astype(np.float64)
    out = {"w": w}
    if spec.intercept:
        out["b"] = np.float64(np.ravel(model.intercept_)[0])
    return out
