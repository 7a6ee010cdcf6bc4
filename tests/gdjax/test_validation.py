"""Bad input gets a ValueError or TypeError naming the argument, before any tracing."""

import jax
import jax.numpy as jnp
import ml_dtypes
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
        (lambda: gdjax.problems.quadratic(0.0, 1.0, 1.0), ValueError, "a must be finite and > 0"),
        (lambda: gdjax.problems.quadratic(-1.0, 1.0, 1.0), ValueError, "a must be finite and > 0"),
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
        (dict(lr=0.1, optimizer="rmsprp"), ValueError, "unknown optimizer 'rmsprp'"),
        (dict(lr=0.1, optimizer=None), TypeError, "optimizer must be a name"),
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


# --------------------------------------------------------------------------------------------
# gdjax.checks, called directly: each bad value once, by class
# --------------------------------------------------------------------------------------------

from gdjax import checks, memory  # noqa: E402
from gdjax._kernel import plan as sweep_args  # noqa: E402

BIG = float(np.finfo(np.float32).max) * 10  # fine in float64, inf in float32


@pytest.mark.parametrize(
    "call, exc, match",
    [
        # wrong type
        (lambda: checks.integer(True, "epochs", lo=1), TypeError, "epochs must be an int"),
        (lambda: checks.integer(2.0, "epochs", lo=1), TypeError, "epochs must be an int"),
        (lambda: checks.integer(np.array([2]), "epochs", lo=1), TypeError, "epochs"),
        (lambda: checks.real("0.1", "tol", lo=0.0), TypeError, "tol must be a real number"),
        (lambda: checks.real(np.bool_(True), "tol", lo=0.0), TypeError, "tol"),
        (lambda: checks.real(1 + 0j, "tol", lo=0.0), TypeError, "tol"),
        (lambda: checks.boolean(1, "shuffle"), TypeError, "shuffle must be a bool"),
        (lambda: checks.boolean(0, "early_stop"), TypeError, "early_stop must be a bool"),
        (lambda: checks.boolean("True", "shuffle"), TypeError, "shuffle must be a bool"),
        (lambda: checks.boolean(np.array(1), "shuffle"), TypeError, "shuffle must be a bool"),
        (lambda: checks.float_dtype("int32"), TypeError, "dtype must be a floating"),
        (lambda: checks.float_dtype("no-such-dtype"), TypeError, "dtype must be a floating"),
        (lambda: checks.numeric_array(["a"], "X"), TypeError, "X must be an array of numbers"),
        (lambda: checks.numeric_array([1j], "X"), TypeError, "X must be real"),
        (lambda: checks.numeric_array(np.array([1], "m8[s]"), "X"), TypeError, "X must be"),
        (lambda: checks.lrs("0.1"), TypeError, "lrs must be a sequence"),
        (lambda: checks.lrs([0.1, True]), TypeError, "lr must be a real number"),
        (lambda: checks.lrs([0.1, None]), TypeError, "lr must be a real number"),
        (lambda: checks.seeds([0, 1.0]), TypeError, "seed must be an int"),
        (lambda: checks.seeds(np.array([0.0, 1.0])), TypeError, "seed must be an int"),
        (lambda: checks.seeds("01"), TypeError, "seeds must be a sequence"),
        (lambda: checks.seeds({"a": 1}), TypeError, "seeds must be a sequence"),
        (lambda: checks.seeds({1, 2}), TypeError, "seeds must be a sequence"),
        (lambda: checks.targets({0.1}), TypeError, "targets must be a sequence"),
        (lambda: checks.tol("1e-3"), TypeError, "tol must be a real number"),
        (lambda: checks.targets("0.1"), TypeError, "targets must be a sequence"),
        (lambda: checks.targets([0.1, "0.01"]), TypeError, "target must be a real number"),
        (lambda: checks.schedule(None), TypeError, "schedule must be a string"),
        (lambda: checks.steps(2.0, 3), TypeError, "epochs must be an int"),
        (lambda: sweep_args.init_params(True, {"x": np.zeros(())}), TypeError, "init must be"),
        (lambda: sweep_args.init_params({"x": "a"}, {"x": np.zeros(())}), TypeError, "init"),
        # out of range
        (lambda: checks.integer(0, "epochs", lo=1), ValueError, "epochs must be >= 1"),
        (lambda: checks.seed(2**32), ValueError, "seed must be <= 4294967295"),
        (lambda: checks.seed(-1), ValueError, "seed must be >= 0"),
        (lambda: checks.real(10**400, "l2", lo=0.0), ValueError, "l2 must be finite"),
        (lambda: checks.lrs([]), ValueError, "lrs must be a non-empty"),
        (lambda: checks.lrs(np.ones((2, 2))), ValueError, "1-D"),
        (lambda: checks.lrs([0.1, 0.0]), ValueError, "lr must be finite and > 0"),
        (lambda: checks.lrs([float("nan")]), ValueError, "lr must be finite"),
        (lambda: checks.seeds([]), ValueError, "seeds must not be empty"),
        (lambda: checks.seeds(np.zeros((2, 2), int)), ValueError, "seeds must be 1-D"),
        (lambda: checks.tol(0.0), ValueError, "tol must be finite and > 0 and < 1"),
        (lambda: checks.tol(1.0), ValueError, "tol must be finite and > 0 and < 1"),
        (lambda: checks.tol(-1e-3), ValueError, "tol must be"),
        (lambda: checks.tol(2.0), ValueError, "tol must be"),
        (lambda: checks.tol(float("inf")), ValueError, "tol must be"),
        (lambda: checks.targets([]), ValueError, "targets must be a non-empty"),
        (lambda: checks.targets([[0.1]]), ValueError, "targets must be a non-empty 1-D"),
        (lambda: checks.targets([0.1, 1.0]), ValueError, "target must be finite and > 0"),
        (lambda: checks.targets([0.0]), ValueError, "target must be"),
        (lambda: checks.targets([0.1, 0.01, 0.1]), ValueError, "must not repeat a value, got 0.1"),
        (lambda: checks.schedule("linear"), ValueError, "unknown schedule 'linear'; choose"),
        (lambda: checks.steps(0, 3), ValueError, "epochs must be >= 1"),
        (lambda: checks.steps(2**31, 1), ValueError, "epochs=2147483648 x 1 steps per epoch"),
        (lambda: checks.steps(2**20, 2**12), ValueError, "use at most epochs=524287"),
        (lambda: memory.check_lanes(0, 3, 3, np.float32), ValueError, "num_lanes must be >= 1"),
        (lambda: sweep_args.init_params(np.nan, {"x": np.zeros(())}), ValueError, "init must be"),
        (
            lambda: sweep_args.init_params({"x": np.zeros(3)}, {"x": np.zeros(2)}),
            ValueError,
            "shape",
        ),
        # memory, with the size in the message
        (
            lambda: memory.check_array((2**40, 2**10), np.float64, "X"),
            ValueError,
            r"X of .* 8388608\.0 GiB",
        ),
        (lambda: memory.check_lanes(2**20, 2**20, 1, np.float32), ValueError, r"\d+\.\d GiB"),
    ],
)
def test_bad_check_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize(
    "call, match",
    [
        # float64 values that overflow float32, and positive values that underflow there
        (lambda: checks.fits_dtype(np.array([BIG]), "lr", np.float32), "lr .* overflows .*float32"),
        (lambda: checks.fits_dtype(np.array([1e-50]), "lr", np.float32), "lr 1e-50 underflows"),
        # a subnormal: nonzero in float32 but flushed to 0 by XLA on CPU
        (lambda: checks.fits_dtype(np.array([1e-40]), "lr", np.float32), "underflows"),
        (lambda: checks.fits_dtype(np.array([1e-320]), "lr", np.float64), "underflows .*float64"),
        (lambda: checks.data([[BIG]], [1.0]), r"X value .* at index \(0, 0\) overflows float32"),
        (lambda: checks.data([[1.0]], [BIG]), r"y value .* at index \(0,\) overflows float32"),
        (lambda: sweep_args.init_params(BIG, {"x": jnp.zeros(())}), "init .* overflows .*float32"),
        (
            lambda: sweep_args.init_params({"w": np.array([BIG])}, {"w": jnp.zeros(1)}),
            r"init\['w'\] has values that overflow the parameters' dtype float32",
        ),
        (lambda: gdjax.problems.quadratic(1e-50, 1.0, 1.0), "quadratic: a 1e-50 underflows"),
        (lambda: gdjax.problems.quadratic(1.0, BIG, 1.0), "overflows float32"),
        (lambda: gdjax.problems.linear([[1.0]], [BIG]), "y value .* overflows float32"),
    ],
)
def test_dtype_overflow_and_underflow(call, match):
    if jax.config.jax_enable_x64:
        pytest.skip("float64 values only overflow float32 with x64 off")
    with pytest.raises(ValueError, match=match):
        call()


def test_lr_that_underflows_float32_is_refused_by_run(lin):
    # the kernel itself must refuse it: today build checks overflow, the lead's build calls
    # checks.fits_dtype; either way a 1e-50 lr never runs as 0 in float32
    if jax.config.jax_enable_x64:
        pytest.skip("x64 on: the problem is float64")
    with pytest.raises(ValueError, match="lr"):
        checks.fits_dtype(checks.lrs([1e-50]), "lr", lin.dtype)


@pytest.mark.parametrize(
    "labels, kind, match",
    [
        # int64 labels past int32 would wrap when JAX stores them without x64: 2**32 + 1 -> 1
        (
            np.array([0, 2**32 + 1], np.int64),
            "logistic",
            "must be 0 or 1, found 4294967297",
        ),
        (np.array([0, 2**31], np.int64), "softmax", "more than 10000"),
        (np.array([0, 2**63 - 1], np.int64), "softmax", "more than 10000"),
        (np.array([0, 2**64 - 1], np.uint64), "softmax", "more than 10000"),
        (np.array([0.0, 1e300]), "softmax", "more than 10000"),
        # a label that float32 would round to 0
        (np.array([0.0, 1e-300]), "logistic", "must be 0 or 1, found 1e-300"),
        (np.array([1.0, 1 + 1e-12]), "logistic", "must be 0 or 1, found 1.000000000001"),
        # one stray label makes an absurd class count
        (np.array([0, 1, 2, 10_000]), "softmax", "label 10000 would make 10001 classes"),
        (np.array([0, 1, 2, 10**6]), "softmax", "relabel the classes"),
    ],
)
def test_labels_that_would_wrap_or_explode_the_class_count(labels, kind, match):
    X = np.ones((len(labels), 1))
    with pytest.raises(ValueError, match=match):
        getattr(gdjax.problems, kind)(X, labels)


def test_int64_targets_past_int32_do_not_wrap():
    y = np.array([2**32 + 1, 1], np.int64)
    p = gdjax.problems.linear(np.ones((2, 1)), y)
    np.testing.assert_allclose(np.asarray(p.y, np.float64), y.astype(np.float64), rtol=1e-6)


def test_softmax_accepts_the_largest_class_count():
    # intercept=False: a class with no rows has no finite bias (refused), but finite weights
    p = gdjax.problems.softmax(
        np.ones((2, 1)), [0, gdjax.problems.MAX_CLASSES - 1], intercept=False
    )
    assert p.spec.num_classes == gdjax.problems.MAX_CLASSES


@pytest.mark.parametrize(
    "call, want",
    [
        # what numerical users pass: 0-d arrays as numbers, integer arrays as seeds
        (lambda: checks.integer(np.array(3), "epochs", lo=1), 3),
        (lambda: checks.integer(jnp.array(3), "epochs", lo=1), 3),
        (lambda: checks.integer(np.uint8(3), "epochs", lo=1), 3),
        (lambda: checks.real(jnp.array(0.5), "tol", lo=0.0), 0.5),
        (lambda: checks.real(np.array(2), "l2", lo=0.0), 2.0),
        (lambda: checks.tol(np.float32(0.5)), 0.5),
        (lambda: checks.boolean(np.bool_(False), "shuffle"), False),
        (lambda: checks.boolean(np.array(True), "shuffle"), True),
        (lambda: checks.boolean(jnp.array(True), "shuffle"), True),
        (lambda: checks.seeds(jnp.arange(3)).tolist(), [0, 1, 2]),
        (lambda: checks.seeds(np.arange(2, dtype=np.uint32)).tolist(), [0, 1]),
        (lambda: checks.seeds(jnp.array(7)).tolist(), [7]),
        (lambda: checks.seeds((np.int64(4), 5)).tolist(), [4, 5]),
        (lambda: checks.lrs(jnp.array([0.5, 0.25])).tolist(), [0.5, 0.25]),
        (lambda: checks.lrs(np.array(0.5)).tolist(), [0.5]),
        (lambda: checks.lrs([jnp.array(0.5), np.float32(0.25), 1]).tolist(), [0.5, 0.25, 1.0]),
        (lambda: checks.targets(np.array([1e-2, 0.5])).tolist(), [0.5, 1e-2]),
        (lambda: checks.targets(0.1).tolist(), [0.1]),
        (lambda: checks.steps(np.int64(3), 7), 21),
        (lambda: checks.steps(1, checks.INT32_MAX), checks.INT32_MAX),
        (lambda: checks.schedule("inverse_time"), "inverse_time"),
        (lambda: memory.check_lanes(2, 3, 4, np.float64), 2 * (4 * 3 + 4) * 8),
        (lambda: float(sweep_args.init_params(jnp.array(2.0), {"x": jnp.zeros(())})["x"]), 2.0),
        # ml_dtypes' numbers (NumPy kind "V", outside its number tree) and float16
        (lambda: checks.real(jnp.array(0.5, jnp.bfloat16), "tol", lo=0.0), 0.5),
        (lambda: checks.real(ml_dtypes.bfloat16(0.25), "l2", lo=0.0), 0.25),
        (lambda: checks.real(np.array(2.0, ml_dtypes.float8_e4m3fn), "l2", lo=0.0), 2.0),
        (lambda: checks.real(np.float16(0.5), "l2", lo=0.0), 0.5),
        (lambda: checks.tol(jnp.array(0.5, jnp.bfloat16)), 0.5),
        (lambda: checks.integer(ml_dtypes.int4(3), "epochs", lo=1), 3),
        (lambda: checks.lrs(jnp.array([0.5, 0.25], jnp.bfloat16)).tolist(), [0.5, 0.25]),
        (lambda: checks.lrs(ml_dtypes.bfloat16(0.5)).tolist(), [0.5]),
        (lambda: checks.targets([ml_dtypes.bfloat16(0.5), np.float16(0.25)]).tolist(), [0.5, 0.25]),
        (
            lambda: float(sweep_args.init_params(ml_dtypes.bfloat16(2), {"x": jnp.zeros(())})["x"]),
            2.0,
        ),
        (
            lambda: sweep_args.init_params(
                {"x": np.array(1.5, ml_dtypes.bfloat16)}, {"x": jnp.zeros(())}
            )["x"].item(),
            1.5,
        ),
        (
            lambda: gdjax.problems.quadratic(jnp.array(1, jnp.bfloat16), 0, 0).curvature(),
            (2.0, 2.0),
        ),
    ],
)
def test_numbers_users_pass_are_accepted(call, want):
    assert call() == want


def test_targets_returns_sorted_float64():
    out = checks.targets([1e-4, 1e-1, 1e-3, 1e-2])
    assert out.dtype == np.float64 and out.tolist() == [1e-1, 1e-2, 1e-3, 1e-4]


def _mesh_sharding(devices, axes, spec):
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    grid = np.array(devices).reshape([len(devices)] + [1] * (len(axes) - 1))
    return NamedSharding(Mesh(grid, axes), PartitionSpec(*spec))


@pytest.mark.parametrize(
    "make, exc, match",
    [
        (lambda d: "foo", TypeError, "sharding must be a jax.sharding.Sharding"),
        (lambda d: [d], TypeError, "sharding must be a jax.sharding.Sharding"),
        (
            lambda d: _mesh_sharding([d, d], ("lanes",), ("lanes",)),
            ValueError,
            "sharding: its mesh lists device .* more than once",
        ),
        (
            lambda d: _mesh_sharding([d], ("x", "y"), ("x", "y")),
            ValueError,
            "sharding must split a 1-D axis",
        ),
    ],
    ids=["string", "list", "repeated-device", "two-axes"],
)
def test_bad_sharding_is_refused_before_tracing(lin, make, exc, match):
    with pytest.raises(exc, match=match):
        gdjax.build(lin, lrs=[0.1, 0.2], epochs=1, sharding=make(jax.devices()[0]))


@pytest.mark.parametrize(
    "devices, exc, match",
    [
        (lambda d: [d, d], ValueError, "devices lists device .* more than once"),
        (lambda d: ["cpu"], TypeError, "devices must be JAX devices"),
    ],
)
def test_lane_sharding_refuses_repeated_or_foreign_devices(devices, exc, match):
    with pytest.raises(exc, match=match):
        gdjax.devices.lane_sharding(devices(jax.devices()[0]))


@pytest.mark.parametrize("fn", ["stability_limit", "best_constant_lr"])
def test_theory_of_a_flat_loss_says_so(fn):
    flat = gdjax.problems.linear(np.zeros((5, 2)), np.arange(5.0), intercept=False)
    assert flat.curvature() == (0.0, 0.0)
    with pytest.raises(ValueError, match="has no curvature \\(L = 0\\)"):
        getattr(gdjax.theory, fn)(flat)


def test_report_theory_line_of_a_flat_loss():
    import pandas as pd

    from bench.report import problem_lines

    lanes = pd.DataFrame({"L": [0.0], "mu": [0.0], "lr": [0.1]})
    assert problem_lines.theory_lines(lanes) == [
        "Theory: L = 0: the loss has no curvature, no rate is a stability limit."
    ]


@pytest.mark.parametrize("call", ["run", "sweep", "build"])
def test_a_float64_problem_outside_x64_is_refused_not_run_in_float32(call):
    with gdjax.x64():
        p = gdjax.problems.make_linear(64, 2)
    assert str(p.dtype) == "float64" and not jax.config.jax_enable_x64
    kwargs = {"lr": 0.1} if call == "run" else {"lrs": [0.1]}
    with pytest.raises(ValueError, match=r"holds float64 data .* sweep it inside gdjax\.x64"):
        getattr(gdjax, call)(p, epochs=2, **kwargs)
    with gdjax.x64():  # where it was made, it runs in float64
        assert gdjax.run(p, lr=0.1, epochs=2).losses.dtype == np.float64


@pytest.mark.parametrize("dtype", [",", b",", "f4,f4"])
def test_a_dtype_string_numpy_parses_as_a_record_is_a_type_error(dtype):
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        checks.float_dtype(dtype)
