"""The MLP problem against a NumPy float64 backprop loop on the same rows, and its bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

import gdjax


def numpy_mlp_sgd(X, Y, W, b, lr, l2, steps, batch):
    """Plain SGD on rows in order: tanh hidden layers, softmax cross-entropy, l2/2 |W|^2."""
    W = [w.copy() for w in W]
    b = [v.copy() for v in b]
    n = len(X)
    for t in range(steps):
        rows = slice((t % (n // batch)) * batch, (t % (n // batch) + 1) * batch)
        x, y = X[rows], Y[rows]
        hs = [x]
        for w, v in zip(W[:-1], b[:-1], strict=True):
            hs.append(np.tanh(hs[-1] @ w + v))
        logits = hs[-1] @ W[-1] + b[-1]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        delta = (p - y) / len(x)
        for i in range(len(W) - 1, -1, -1):
            gW = hs[i].T @ delta + l2 * W[i]
            gb = delta.sum(0)
            if i:
                delta = (delta @ W[i].T) * (1 - hs[i] ** 2)
            W[i] -= lr * gW
            b[i] -= lr * gb
    return W, b


@pytest.mark.parametrize("batch", [None, 16])
def test_parameters_match_a_numpy_loop_in_float64(batch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5))
    y = rng.integers(0, 3, 64)
    with gdjax.x64():
        p = gdjax.problems.mlp(X, y, hidden=(7, 4), activation="tanh", l2=1e-3, f_star=0.0)
        start = p.init_params(0)
        r = gdjax.run(p, lr=0.3, batch_size=batch, epochs=6, shuffle=False, early_stop=False)
    b = 64 if batch is None else batch
    W, bias = numpy_mlp_sgd(
        X,
        np.eye(3)[y],
        [np.asarray(w) for w in start["W"]],
        [np.asarray(v) for v in start["b"]],
        0.3,
        1e-3,
        6 * (64 // b),  # every step of every epoch: no early stop
        b,
    )
    for got, want in zip(r.params["W"] + r.params["b"], W + bias, strict=True):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)


def test_each_seed_draws_its_own_start():
    X = np.random.default_rng(0).standard_normal((32, 3))
    p = gdjax.problems.mlp(X, (X[:, 0] > 0).astype(int), hidden=(4,))
    a, b = p.init_params(0), p.init_params(1)
    assert not np.allclose(np.asarray(a["W"][0]), np.asarray(b["W"][0]))
    assert [w.shape for w in a["W"]] == [(3, 4), (4, 2)]
    assert p.f_star_source.label == "best found"


@pytest.mark.parametrize(
    "kwargs, err, words",
    [
        ({"hidden": (0,)}, ValueError, "hidden"),
        ({"hidden": (4, -1)}, ValueError, "hidden"),
        ({"hidden": "4"}, TypeError, "hidden"),
        ({"activation": "swish2"}, ValueError, "unknown activation 'swish2'"),
        ({"l2": -1.0}, ValueError, "l2"),
    ],
)
def test_bad_input_names_the_argument(kwargs, err, words):
    X = np.zeros((8, 2))
    with pytest.raises(err, match=words):
        gdjax.problems.mlp(X, np.arange(8) % 2, **kwargs)


def test_bad_labels():
    with pytest.raises(ValueError, match="labels y must be integers"):
        gdjax.problems.mlp(np.zeros((4, 2)), [0.5, 1, 0, 1])
