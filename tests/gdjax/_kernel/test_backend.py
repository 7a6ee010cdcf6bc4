"""Per-backend choices: the matmul precision in the program, chunk length and unroll."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from gdjax._kernel import backend, config


def _kernel(**kw):
    p = gdjax.problems.make_linear(256, 4, seed=2)
    return gdjax.build(p, lrs=[0.01, 0.1], batch_size=16, epochs=3, **kw)


def test_xla_cpu_computes_full_float32_at_every_precision():
    # why no precision annotates a CPU program: XLA:CPU ignores it (bitwise the same products)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((257, 129)).astype(np.float32)
    b = rng.standard_normal((129, 65)).astype(np.float32)
    out = [
        np.asarray(jax.jit(lambda x, y, p=p: jnp.matmul(x, y, precision=p))(a, b))
        for p in ("highest", "default", "bfloat16")
    ]
    if jax.default_backend() != "cpu":
        pytest.skip("a CPU property")
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])
    # and it is full float32: against float64, far below bfloat16's (or TF32's) rounding
    ref = a.astype(np.float64) @ b.astype(np.float64)
    assert np.max(np.abs(out[0] - ref) / (np.abs(a) @ np.abs(b))) < 1e-6


def test_on_cpu_every_precision_lowers_to_the_same_program():
    texts = {p: _kernel(precision=p).lower().as_text() for p in backend.PRECISIONS}
    assert "precision = [HIGHEST" not in texts["highest"]
    assert texts["highest"] == texts["default"] == texts["high"]


def test_on_other_backends_the_precision_is_in_the_program(monkeypatch):
    # lowering only: the CPU lowers what a GPU would be given, with the products annotated
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert backend.annotation("highest") == "highest"
    assert backend.annotation("default") is None
    highest = _kernel(precision="highest").lower().as_text()
    default = _kernel(precision="default").lower().as_text()
    assert "precision = [HIGHEST, HIGHEST]" in highest
    assert "HIGHEST" not in default


def test_a_global_precision_does_not_leak_into_a_cpu_program():
    plain = _kernel().lower().as_text()
    with jax.default_matmul_precision("bfloat16"):
        assert _kernel().lower().as_text() == plain


@pytest.mark.parametrize(
    "kw, error, match",
    [
        ({"precision": "tf32"}, ValueError, "precision must be one of highest, high, default"),
        ({"precision": None}, TypeError, "precision must be a string"),
        ({"chunk": 0}, ValueError, "chunk"),
        ({"unroll": 2.5}, TypeError, "unroll"),
        ({"unroll": -1}, ValueError, "unroll"),
    ],
)
def test_bad_choices_are_refused_naming_the_argument(kw, error, match):
    p = gdjax.problems.make_linear(64, 2)
    with pytest.raises(error, match=match):
        gdjax.check(p, lrs=[0.1], epochs=2, **kw)


def test_defaults_are_todays_on_cpu_and_stated_for_gpus():
    assert backend.choices("cpu") == (config.MAX_CHUNK, 1)
    assert backend.choices("tpu") == backend.choices("cpu")  # not named: the CPU's
    gpu = backend.choices("gpu")
    assert gpu.max_chunk > config.MAX_CHUNK and gpu.unroll > 1
    assert config.chunk_length(100_000, gpu.max_chunk) == 1000  # a divisor near 1/16 of the run
    a = gdjax.check(gdjax.problems.make_linear(512, 4), lrs=[0.1], batch_size=1, epochs=8)
    assert (a.precision, a.chunk, a.unroll) == ("highest", config.MAX_CHUNK // 5 * 4, 1)
    assert a.chunk == config.chunk_length(a.total_steps)


def test_grid_monitoring_has_no_chunks():
    p = gdjax.problems.make_logistic(128, 3)
    a = gdjax.check(p, lrs=[0.1], batch_size=8, epochs=2, exact=False, chunk=64, unroll=4)
    assert (a.chunk, a.unroll) == (1, 1)


@pytest.mark.parametrize("early_stop", [True, False])
def test_chunk_and_unroll_change_the_program_not_the_lanes(early_stop):
    p = gdjax.problems.make_linear(512, 4, seed=3)
    kw = dict(lrs=np.geomspace(1e-3, 0.5, 6), seeds=[0, 1], batch_size=8, epochs=4)
    kw["early_stop"] = early_stop
    ref = gdjax.build(p, **kw)
    other = gdjax.build(p, chunk=24, unroll=3, **kw)  # 256 steps: padded to 11 chunks
    assert (ref.config.chunk, ref.config.unroll) == (16, 1)
    assert (other.config.chunk, other.config.unroll) == (24, 3)
    a, b = ref.to_result(ref.execute()), other.to_result(other.execute())
    fa, fb = a.to_frame(), b.to_frame()
    for col in ("status", "steps_to_target", "last_step"):
        assert fa[col].tolist() == fb[col].tolist(), col
    np.testing.assert_allclose(fb["final_loss"], fa["final_loss"], rtol=1e-6)
    ha, hb = a.hits(), b.hits()
    for col in ("first_step", "stay_step"):
        assert ha[col].tolist() == hb[col].tolist(), col


def test_a_chunk_longer_than_the_run_is_the_run():
    a = gdjax.check(gdjax.problems.make_linear(64, 2), lrs=[0.1], epochs=3, chunk=1000)
    assert a.chunk == a.total_steps == 3
