"""Bad input gets a ValueError or TypeError naming the argument, before any tracing."""

import numpy as np
import pytest

import gdjax

X = np.arange(12.0).reshape(6, 2)
Y = np.arange(6.0)


@pytest.fixture(scope="module")
def lin():
    return gdjax.problems.linear(X, Y)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: gdjax.problems.linear(X, Y[:5]), ValueError, "X and y"),
        (lambda: gdjax.problems.linear(X[:, 0], Y), ValueError, "X must be 2-D"),
        (lambda: gdjax.problems.linear(X, X), ValueError, "y must be 1-D"),
        (lambda: gdjax.problems.linear(np.where(X > 5, np.nan, X), Y), ValueError, "X contains"),
        (lambda: gdjax.problems.linear(X, np.append(Y[:5], np.inf)), ValueError, "y contains"),
        (lambda: gdjax.problems.linear([["a", "b"]], [1.0]), TypeError, "X must be"),
        (lambda: gdjax.problems.logistic(X, Y), ValueError, "labels y must be 0 or 1"),
        (lambda: gdjax.problems.logistic(X, np.zeros(6), l2=-1.0), ValueError, "l2"),
        (lambda: gdjax.problems.softmax(X, Y, num_classes=3), ValueError, "out of range"),
        (lambda: gdjax.problems.softmax(X, Y - 1), ValueError, ">= 0"),
        (lambda: gdjax.problems.softmax(X, Y + 0.5), ValueError, "integers"),
        (lambda: gdjax.problems.quadratic(0.0, 1.0, 1.0), ValueError, "a must be > 0"),
        (lambda: gdjax.problems.quadratic(-1.0, 1.0, 1.0), ValueError, "a must be > 0"),
        (lambda: gdjax.problems.quadratic(1.0, float("nan"), 1.0), ValueError, "b must be"),
        (lambda: gdjax.problems.make_linear(0, 3), ValueError, "n must be"),
        (lambda: gdjax.problems.make_linear(10, 2.5), TypeError, "d must be"),
        (lambda: gdjax.problems.make_linear(10, 2, noise="a"), TypeError, "noise must be"),
        (lambda: gdjax.problems.make_linear(10, 2, noise=-1.0), ValueError, "noise must be"),
        (lambda: gdjax.problems.make_linear(10, 2, seed=-1), ValueError, "seed must be"),
        (lambda: gdjax.problems.make_logistic(10, 2, seed=1.5), TypeError, "seed must be"),
        (lambda: gdjax.problems.make_linear(10, 2, dtype="int32"), TypeError, "dtype"),
        (lambda: gdjax.problems.make_linear(10, 2, dtype="float64"), ValueError, "64-bit mode"),
    ],
)
def test_bad_problem_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(lr=0.0), ValueError, "lr must be finite and > 0"),
        (dict(lr=-0.1), ValueError, "lr must be"),
        (dict(lr=float("nan")), ValueError, "lr must be"),
        (dict(lr=float("inf")), ValueError, "lr must be"),
        (dict(lr="0.1"), TypeError, "lr must be"),
        (dict(lr=[0.1, 0.2]), TypeError, "lr must be a single number"),
        (dict(lr=0.1, batch_size=0), ValueError, "batch_size must be >= 1"),
        (dict(lr=0.1, batch_size=7), ValueError, "batch_size must be <= n = 6"),
        (dict(lr=0.1, batch_size=2.0), TypeError, "batch_size must be an int"),
        (dict(lr=0.1, batch_size=True), TypeError, "batch_size must be an int"),
        (dict(lr=0.1, epochs=0), ValueError, "epochs must be >= 1"),
        (dict(lr=0.1, epochs=1.5), TypeError, "epochs must be an int"),
        (dict(lr=0.1, optimizer="rmsprop"), ValueError, "unknown optimizer 'rmsprop'"),
        (dict(lr=0.1, optimizer=None), TypeError, "optimizer must be a string"),
        (dict(lr=0.1, tol=-1.0), ValueError, "tol must be"),
        (dict(lr=0.1, eval_every=0), ValueError, "eval_every must be"),
        (dict(lr=0.1, seed=-1), ValueError, "seed must be"),
        (dict(lr=0.1, divergence_factor=0.0), ValueError, "divergence_factor"),
        (dict(lr=0.1, init=float("nan")), ValueError, "init must be finite"),
        (dict(lr=0.1, init={"w": np.zeros(3), "b": 0.0}), ValueError, r"init\['w'\]"),
        (dict(lr=0.1, init={"w": np.zeros(2)}), ValueError, "init must be"),
        (dict(lr=0.1, shuffle="yes"), TypeError, "shuffle must be a bool"),
        (dict(lr=0.1, init=1 + 2j), TypeError, "init must be real"),
        (dict(lr=1e39), ValueError, "overflows"),
    ],
)
def test_bad_run_input(lin, kwargs, exc, match):
    kwargs.setdefault("epochs", 2)
    with pytest.raises(exc, match=match):
        gdjax.run(lin, **kwargs)


@pytest.mark.parametrize(
    "lrs, exc, match",
    [
        ([], ValueError, "lrs must be a non-empty"),
        ([0.1, -1.0], ValueError, "lr must be"),
        ("0.1", TypeError, "lrs must be a sequence"),
        (np.ones((2, 2)), ValueError, "1-D"),
    ],
)
def test_bad_sweep_lrs(lin, lrs, exc, match):
    with pytest.raises(exc, match=match):
        gdjax.sweep(lin, lrs=lrs, epochs=1)


@pytest.mark.parametrize("seeds", [None, 1.0, "0"])
def test_bad_seeds_name_the_argument(lin, seeds):
    with pytest.raises(TypeError, match="seed"):
        gdjax.sweep(lin, lrs=[0.1], seeds=seeds, epochs=1)


def test_bad_problem_type():
    with pytest.raises(TypeError, match="problem must be a gdjax Problem"):
        gdjax.run("linear", lr=0.1, epochs=1)


def test_init_pytree_and_float_are_accepted(lin):
    a = gdjax.run(lin, lr=0.001, epochs=2, init={"w": np.ones(2), "b": 1.0})
    b = gdjax.run(lin, lr=0.001, epochs=2, init=1.0)
    c = gdjax.run(lin, lr=0.001, epochs=2, init=np.array(1.0))  # a 0-d array is a number
    np.testing.assert_allclose(a.losses, b.losses)
    np.testing.assert_allclose(c.losses, b.losses)
