"""Fuzz the argument checks and the problem constructors (hypothesis, derandomized).

Property: every input ends in a correct value or a ``TypeError`` / ``ValueError`` whose message
names the argument; never another exception and never a silently wrong value.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gdjax
from gdjax import checks, memory
from gdjax._kernel import plan as sweep_args
from tests.fuzzing import fuzz

pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")

FUZZ = fuzz(150)
CLEAR = (TypeError, ValueError)

# what users pass, right and wrong: Python, NumPy and JAX numbers, 0-d and 1-d arrays, and junk
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(max_magnitude=10),
    st.text(max_size=4),
    st.binary(max_size=3),
    st.sampled_from([np.bool_(True), np.int8(-3), np.uint64(2**64 - 1), np.float32(0.5)]),
    st.sampled_from([np.float16(1e-7), np.float64(1e-320), np.int64(2**40), np.longdouble(0.25)]),
    st.builds(np.array, st.floats(-1e3, 1e3)),
    st.builds(np.array, st.integers(-5, 5)),
    st.builds(np.array, st.booleans()),
    st.sampled_from([jnp.array(3), jnp.array(0.5), jnp.array(True), jnp.array(-1)]),
    # ml_dtypes' numbers: kind "V" to NumPy, numbers all the same
    st.sampled_from([ml_dtypes.bfloat16(0.5), ml_dtypes.float8_e4m3fn(2.0), ml_dtypes.int4(3)]),
    st.sampled_from([jnp.array(0.25, jnp.bfloat16), np.array(1.5, ml_dtypes.bfloat16)]),
    st.sampled_from([ml_dtypes.bfloat16("inf"), ml_dtypes.bfloat16("nan"), np.float16(0.1)]),
    st.builds(ml_dtypes.bfloat16, st.floats(-1e3, 1e3)),
    st.sampled_from([np.timedelta64(3, "s"), np.datetime64("2024-01-01"), np.str_("1")]),
    st.sampled_from([{"a": 1}, [], (), [1, 2], {1}, object(), slice(1), Ellipsis]),
)
anything = st.one_of(
    scalar,
    st.lists(scalar, max_size=4),
    st.tuples(scalar, scalar),
    hnp.arrays(
        st.sampled_from([np.float64, np.float32, np.int64, np.uint32, np.bool_, np.int8]),
        hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
    ),
)


def _names(exc: Exception, *names: str) -> bool:
    return any(n in str(exc) for n in names)


REFUSED = object()


def _outcome(call, *names: str):
    """``call()``'s value, or REFUSED after a TypeError/ValueError that names one of ``names``.

    Any other exception propagates and fails the test.
    """
    try:
        return call()
    except CLEAR as e:
        assert _names(e, *names), f"message does not name {names}: {e}"
        return REFUSED


@FUZZ
@given(v=anything, lo=st.integers(-3, 3), span=st.none() | st.integers(0, 5))
def test_integer(v, lo, span):
    hi = None if span is None else lo + span
    out = _outcome(lambda: checks.integer(v, "epochs", lo=lo, hi=hi), "epochs")
    if out is REFUSED:
        return
    assert type(out) is int and out == int(np.asarray(v)) and lo <= out
    assert hi is None or out <= hi
    assert not isinstance(v, (bool, np.bool_, float, np.floating))


# the dtypes of numbers, by name (independent of checks.is_real_dtype)
NUMBER_DTYPES = {"bfloat16", "float8_e4m3fn", "int4", "float16", "float32", "float64"}
NUMBER_DTYPES |= {"float128", "int8", "int32", "int64", "uint8", "uint32", "uint64"}


def _number_like(v) -> bool:
    """A Python int or float, or a scalar or 0-d array of a number dtype: never a type error."""
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (int, float)):
        return True
    if isinstance(v, (np.ndarray, jax.Array, np.generic)) and np.ndim(v) == 0:
        return np.dtype(v.dtype).name in NUMBER_DTYPES
    return False


@FUZZ
@given(v=anything, lo=st.sampled_from([-math.inf, 0.0, 1.0]), strict=st.booleans())
def test_real(v, lo, strict):
    try:
        out = checks.real(v, "l2", lo=lo, strict=strict)
    except TypeError as e:  # only what is no number at all
        assert "l2" in str(e) and not _number_like(v), (v, e)
        return
    except ValueError as e:
        assert "l2" in str(e)
        return
    assert type(out) is float and math.isfinite(out)
    assert out > lo if strict else out >= lo
    assert out == float(np.asarray(v)) and not isinstance(v, (bool, np.bool_))


@FUZZ
@given(v=anything)
def test_boolean(v):
    out = _outcome(lambda: checks.boolean(v, "shuffle"), "shuffle")
    if out is REFUSED:
        return
    assert type(out) is bool and np.asarray(v).dtype == np.bool_ and out == bool(v)


@FUZZ
@given(v=anything)
def test_tol(v):
    out = _outcome(lambda: checks.tol(v), "tol")
    if out is REFUSED:
        return
    assert 0 < out < 1 and out == float(np.asarray(v))


@FUZZ
@given(v=anything)
def test_lrs(v):
    out = _outcome(lambda: checks.lrs(v), "lr")
    if out is REFUSED:
        return
    assert out.dtype == np.float64 and out.ndim == 1 and out.size >= 1
    assert np.all(np.isfinite(out)) and np.all(out > 0)
    assert out.size == np.size(np.asarray(v, dtype=object))


@FUZZ
@given(v=anything)
def test_seeds(v):
    out = _outcome(lambda: checks.seeds(v), "seed")
    if out is REFUSED:
        return
    assert out.dtype == np.int64 and out.ndim == 1 and out.size >= 1
    assert np.all((out >= 0) & (out < 2**32))
    assert out.tolist() == [int(x) for x in np.ravel(np.asarray(v, dtype=object))]


@FUZZ
@given(v=anything)
def test_targets(v):
    out = _outcome(lambda: checks.targets(v), "target")
    if out is REFUSED:
        return
    assert out.dtype == np.float64 and out.size >= 1
    assert np.all((out > 0) & (out < 1)) and np.all(np.diff(out) < 0)  # sorted, no duplicates


@FUZZ
@given(v=anything)
def test_schedule(v):
    out = _outcome(lambda: checks.schedule(v), "schedule")
    if out is REFUSED:
        return
    assert out in checks.SCHEDULES


@FUZZ
@given(epochs=anything | st.integers(1, 2**33), spe=st.integers(-1, 2**32))
def test_steps(epochs, spe):
    out = _outcome(lambda: checks.steps(epochs, spe), "epochs", "steps_per_epoch")
    if out is REFUSED:
        return
    assert out == int(np.asarray(epochs)) * spe <= checks.INT32_MAX


@FUZZ
@given(
    lanes=st.integers(-1, 2**40),
    params=st.integers(-1, 2**30),
    evals=st.integers(-1, 2**20),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_lanes_memory(lanes, params, evals, dtype):
    out = _outcome(
        lambda: memory.check_lanes(lanes, params, evals, dtype),
        *("num_lanes", "num_params", "num_evals", "GiB"),
    )
    if out is REFUSED:
        return
    assert out == lanes * (memory.PARAM_COPIES * params + evals) * np.dtype(dtype).itemsize


@FUZZ
@given(v=anything | st.text(max_size=12), dtype=st.sampled_from([np.float32, np.float64]))
def test_fits_dtype(v, dtype):
    arr = _outcome(lambda: checks.lrs(v), "lr")
    if arr is REFUSED or _outcome(lambda: checks.fits_dtype(arr, "lr", dtype), "lr") is REFUSED:
        return
    info = np.finfo(dtype)
    assert np.all(arr <= info.max) and np.all(arr >= info.smallest_normal)
    assert np.all(np.isfinite(arr.astype(dtype))) and np.all(arr.astype(dtype) > 0)


@FUZZ
@given(v=anything)
def test_float_dtype(v):
    out = _outcome(lambda: checks.float_dtype(v), "dtype")
    if out is REFUSED:
        return
    assert np.issubdtype(out, np.floating) and jax.dtypes.canonicalize_dtype(out) == out


TEMPLATE = {"w": jnp.zeros(2, jnp.float32), "b": jnp.zeros((), jnp.float32)}


@FUZZ
@given(
    v=anything
    | st.fixed_dictionaries({"w": anything, "b": anything})
    | st.fixed_dictionaries({"w": st.lists(st.floats(), min_size=2, max_size=2), "b": st.floats()})
)
def test_init_params(v):
    out = _outcome(lambda: sweep_args.init_params(v, TEMPLATE), "init")
    if out is REFUSED:
        return
    assert jax.tree.structure(out) == jax.tree.structure(TEMPLATE)
    for k, t in TEMPLATE.items():
        assert out[k].shape == t.shape and out[k].dtype == t.dtype
        assert np.all(np.isfinite(np.asarray(out[k])))  # never an inf made by the conversion


# --------------------------------------------------------------------------------------------
# Problem constructors
# --------------------------------------------------------------------------------------------

data_dtype = st.sampled_from(
    [np.float64, np.float32, np.float16, np.int64, np.uint64, np.int32, np.bool_, np.int8]
)
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e6, 1e6),
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from([0, 1, 2, 2**31, 2**32 + 1, 1e39, -1e39, 1e-50]),
)


def _array(dtype, shape):
    return hnp.arrays(dtype, shape, elements=values.filter(lambda x: _fits(x, dtype)))


def _fits(x, dtype) -> bool:
    try:
        with np.errstate(all="ignore"):
            return np.asarray(x).astype(dtype).item() == x or np.dtype(dtype).kind == "f"
    except (OverflowError, ValueError, TypeError):
        return False


@st.composite
def xy(draw):
    n = draw(st.integers(0, 4))
    d = draw(st.integers(0, 3))
    X = draw(_array(draw(data_dtype), (n, d)))
    shape_y = draw(st.sampled_from([(n,), (n,), (n + 1,), (n, 1)]))
    y = draw(_array(draw(data_dtype), shape_y))
    return X, y


def _x_dtype(X) -> np.dtype:
    dt = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
    return np.dtype(jax.dtypes.canonicalize_dtype(dt))


@FUZZ
@given(data=xy(), intercept=st.booleans() | st.integers(0, 1))
def test_linear(data, intercept):
    X, y = data
    p = _outcome(lambda: gdjax.problems.linear(X, y, intercept=intercept), "X", "y", "intercept")
    if p is REFUSED:
        return
    dt = _x_dtype(X)
    assert p.dtype == dt and isinstance(intercept, bool)
    np.testing.assert_array_equal(np.asarray(p.X), X.astype(dt))
    with np.errstate(over="ignore"):
        want = y.astype(np.float64).astype(dt)  # via float64: an int64 must not wrap
    np.testing.assert_array_equal(np.asarray(p.y), want)
    assert np.all(np.isfinite(np.asarray(p.X))) and np.all(np.isfinite(np.asarray(p.y)))


@FUZZ
@given(data=xy(), l2=scalar)
def test_logistic(data, l2):
    X, y = data
    p = _outcome(lambda: gdjax.problems.logistic(X, y, l2=l2), "X", "y", "l2")
    if p is REFUSED:
        return
    assert set(np.unique(np.asarray(p.y)).tolist()) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.asarray(p.y), y.astype(np.float64))  # no wrapped label
    assert p.spec.l2 == float(np.asarray(l2)) >= 0


@FUZZ
@given(data=xy(), k=st.none() | st.integers(-1, 12_000) | scalar)
def test_softmax(data, k):
    X, y = data
    p = _outcome(
        lambda: gdjax.problems.softmax(X, y, num_classes=k), "X", "y", "label", "num_classes"
    )
    if p is REFUSED:
        return
    labels = np.asarray(p.y)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels.astype(np.float64), y.astype(np.float64))
    assert 2 <= p.spec.num_classes <= gdjax.problems.MAX_CLASSES
    assert labels.max() < p.spec.num_classes


@FUZZ
@given(a=scalar, b=scalar, c=scalar)
def test_quadratic(a, b, c):
    p = _outcome(lambda: gdjax.problems.quadratic(a, b, c), "a", "b", "c", "coefficients")
    if p is REFUSED:
        return
    coef = np.asarray(p.X)[0]
    assert coef[0] > 0 and np.all(np.isfinite(coef))
    # b or c below the dtype's smallest normal may flush to 0 (a shift far below resolution)
    tiny = float(np.finfo(p.dtype).smallest_normal)
    np.testing.assert_allclose(coef, [float(a), float(b), float(c)], rtol=1e-3, atol=tiny)


@FUZZ
@given(
    maker=st.sampled_from(["make_linear", "make_logistic", "make_softmax"]),
    n=scalar | st.integers(-1, 40) | st.just(10**12),
    d=scalar | st.integers(-1, 4),
    seed=scalar | st.integers(-1, 2**33),
    cond=st.none() | scalar | st.floats(0.5, 100),
)
def test_makers(maker, n, d, seed, cond):
    p = _outcome(
        lambda: getattr(gdjax.problems, maker)(n, d, seed=seed, cond=cond),
        "n",
        "d",
        "seed",
        "cond",
        "GiB",
        "num_classes",
    )
    if p is REFUSED:
        return
    assert (p.n, p.d) == (int(np.asarray(n)), int(np.asarray(d)))
    assert np.all(np.isfinite(np.asarray(p.X)))


# --------------------------------------------------------------------------------------------
# gdjax.run: each example may compile, so only a handful, on a one-row parabola
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parabola():
    return gdjax.problems.quadratic(1.0, -2.0, 0.0)


@settings(FUZZ, max_examples=8)
@given(
    lr=st.sampled_from([0.1, 0.5, 1e-50, 1e39, -1.0, np.float32(0.25), jnp.array(0.3), "0.1"]),
    tol=st.sampled_from([1e-3, 0.5, jnp.array(0.01), "x", None]),
    init=st.sampled_from([None, 3.0, np.array(2.0), 1e39, float("nan"), True]),
    shuffle=st.sampled_from([True, np.bool_(False), 1]),
)
def test_run(parabola, lr, tol, init, shuffle):
    r = _outcome(
        lambda: gdjax.run(parabola, lr=lr, tol=tol, init=init, shuffle=shuffle, epochs=5),
        *("lr", "tol", "init", "shuffle"),
    )
    if r is REFUSED:
        return
    assert r.status in ("converged", "diverged", "max_steps")
    x0 = 0.0 if init is None else float(np.asarray(init))
    # one step of gradient descent on x^2 - 2x from x0: x0 - lr (2 x0 - 2)
    lr_ = float(np.asarray(lr))
    x1 = x0 - lr_ * (2 * x0 - 2)
    np.testing.assert_allclose(r.losses[:2], [x0**2 - 2 * x0, x1**2 - 2 * x1], rtol=1e-5)
