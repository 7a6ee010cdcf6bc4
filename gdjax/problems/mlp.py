"""A small multi-layer perceptron classifier as a custom problem (:func:`gdjax.problems.custom`).

``mlp(X, y, hidden=(32,), activation="relu")``: the layers ``h <- act(h W + b)`` then a linear
read-out, the mean softmax cross-entropy over the rows, plus ``l2 / 2`` times the squared
weights (not the biases). Each seed draws its own initial weights (He's normal for ReLU,
Glorot's for tanh and the others; biases 0) from ``jax.random.key(seed)``, and its own rows.
A network has no closed-form optimum: f* is the lowest full-data loss the run reaches ("best
found") unless given.

Example:
    >>> import gdjax
    >>> X = np.random.default_rng(0).normal(size=(64, 4))
    >>> p = mlp(X, (X[:, 0] > 0).astype(int), hidden=(8,))
    >>> [a.shape for a in p.init_params(0)["W"]]
    [(4, 8), (8, 2)]
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import checks
from gdjax.problems._custom import custom
from gdjax.problems.constructors import MAX_CLASSES

__all__ = ["ACTIVATIONS", "MLPInit", "MLPLoss", "forward", "mlp"]

#: The hidden layers' activation functions, by name.
ACTIVATIONS = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "softplus": jax.nn.softplus,
    "gelu": jax.nn.gelu,
}


def forward(params, x, activation: str = "relu"):
    """The logits of the rows ``x``: every layer but the last through the activation.

    Args:
        params: ``{"W": [W0, W1, ...], "b": [b0, b1, ...]}``.
        x: (rows, features).
        activation: a key of :data:`ACTIVATIONS`.

    Returns:
        (rows, classes).
    """
    act = ACTIVATIONS[activation]
    h = x
    for W, b in zip(params["W"][:-1], params["b"][:-1], strict=True):
        h = act(h @ W + b)
    return h @ params["W"][-1] + params["b"][-1]


def _check_hidden(hidden) -> tuple[int, ...]:
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if not isinstance(hidden, (tuple, list)):
        raise TypeError(f"hidden must be a tuple of layer sizes, got {type(hidden).__name__}")
    return tuple(checks.integer(h, "hidden: a layer size", lo=1) for h in hidden)


def _check_activation(activation) -> str:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    return activation


def mlp(
    X,
    y,
    *,
    hidden=(32,),
    activation: str = "relu",
    l2: float = 0.0,
    f_star="best",
    dtype=None,
    name: str = "mlp",
):
    """A multi-layer perceptron classifier on (X, y).

    Args:
        X: features, (n, d), finite numbers.
        y: integer class labels in [0, classes), (n,).
        hidden: the hidden layers' sizes, each >= 1 (``()``: softmax regression).
        activation: one of :data:`ACTIVATIONS`.
        l2: the weights' penalty, >= 0.
        f_star: as :func:`gdjax.problems.custom` takes it (default "best": the lowest full-data
            loss the run reaches, labelled "best found").
        dtype: floating dtype (default: X's, as :func:`gdjax.checks.data` makes it).
        name: label for reports.

    Returns:
        A :class:`~gdjax.problems.Problem` whose data is ``{"x": X, "y": one-hot labels}`` and
        whose parameters are ``{"W": [...], "b": [...]}``, drawn per seed.

    Raises:
        TypeError, ValueError: bad data, a layer size < 1, an unknown activation, a negative l2.
    """

    hidden = _check_hidden(hidden)
    activation = _check_activation(activation)
    l2 = checks.l2(l2, "mlp")
    X, labels = checks.data(X, y)
    labels = np.asarray(labels, np.float64)
    if not np.all(labels == np.round(labels)) or labels.min() < 0:
        raise ValueError("mlp: labels y must be integers >= 0")
    classes = max(int(labels.max()) + 1, 2)
    if classes > MAX_CLASSES:
        raise ValueError(f"mlp: labels y imply {classes} classes, more than {MAX_CLASSES}")
    dtype = X.dtype if dtype is None else checks.float_dtype(dtype)
    onehot = np.eye(classes)[labels.astype(np.int64)]
    data = {"x": checks.in_dtype(X, dtype, "X"), "y": checks.in_dtype(onehot, dtype, "y")}
    sizes = (int(X.shape[1]), *hidden, classes)
    return custom(
        MLPLoss(activation, l2), data, init=MLPInit(sizes, activation), f_star=f_star, name=name
    )


@dataclasses.dataclass(frozen=True)
class MLPLoss:
    """The network's loss, ``loss(params, batch)``: a value, so that two networks of the same
    activation and penalty (and shapes) share one compiled kernel."""

    activation: str
    l2: float

    def __call__(self, params, batch):
        logits = forward(params, batch["x"], self.activation)
        nll = -jnp.mean(jnp.sum(batch["y"] * jax.nn.log_softmax(logits), axis=-1))
        return nll + 0.5 * self.l2 * sum(jnp.sum(W**2) for W in params["W"])


@dataclasses.dataclass(frozen=True)
class MLPInit:
    """The initial parameters of a seed's key: He's normal weights for ReLU (Glorot's for the
    other activations), zero biases."""

    sizes: tuple[int, ...]
    activation: str

    def __call__(self, key):
        keys = jax.random.split(key, len(self.sizes) - 1)
        W, b = [], []
        for k, fan_in, fan_out in zip(keys, self.sizes[:-1], self.sizes[1:], strict=True):
            var = 2.0 / fan_in if self.activation == "relu" else 2.0 / (fan_in + fan_out)
            W.append(np.sqrt(var) * jax.random.normal(k, (fan_in, fan_out)))
            b.append(jnp.zeros((fan_out,)))
        return {"W": W, "b": b}
