"""The baselines on a custom loss (the perf suite's ``mlp`` workload, a small network on
digits): the bare program, its checks, and the network written again in NumPy and PyTorch,
against gdjax's lanes."""

import numpy as np
import pytest

import gdjax
from bench import envinfo
from bench.examples.mlp import digits_mlp
from bench.perf import attach, baselines, loops, twins
from bench.run import entry_run, suites

LRS = [0.05, 0.5]


@pytest.fixture(scope="module")
def mlp():
    return digits_mlp(hidden=4, init_seed=0)


def _sweep(problem, epochs=1, batch_size=64, **kw):
    return gdjax.sweep(
        problem, lrs=LRS, batch_size=batch_size, epochs=epochs, early_stop=False, seeds=[0], **kw
    )


@pytest.mark.slow
def test_the_loops_written_apart_and_the_bare_program_give_gdjaxs_parameters(mlp):
    # float32, 28 steps of 64 rows: the same rows, the same start, gradients of their own
    rows = loops.step_rows(mlp.n, 64, 1, True, 0)
    ref = _sweep(mlp)
    bare = baselines.bare_program(mlp.spec, 28)(
        mlp.data, mlp.init_params(), np.asarray(LRS, np.float32), np.concatenate(rows)
    )
    names = ["numpy", "jax-loop"] + (["torch"] if loops.torch_available() else [])
    for i, lr in enumerate(LRS):
        for name in names:
            params = loops.LOOPS[name](mlp, lr, rows, 1)
            for k, v in ref.params.items():
                np.testing.assert_allclose(
                    np.asarray(params[k]), v[0, i], rtol=2e-4, atol=2e-6, err_msg=name
                )
        for k, v in ref.params.items():
            np.testing.assert_allclose(bare[k][i], v[0, i], rtol=2e-5, atol=1e-7, err_msg=k)


@pytest.mark.slow
def test_the_numpy_gradient_of_the_network_is_jaxs_in_float64():
    # the hand-written backpropagation against jax.grad, to float64 rounding
    import jax

    with gdjax.x64():
        p = digits_mlp(hidden=4, init_seed=0)
        X, y = np.asarray(p.data[0]["image"])[:50], np.asarray(p.data[0]["label"])[:50]
        params = {k: np.asarray(v) for k, v in p.init_params().items()}
        want = jax.grad(p.spec.loss)(params, {"image": X, "label": y})
        got = twins._mlp_numpy_grads(params, X, y)
        for k in params:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-14)


@pytest.mark.slow
def test_batch_gd_runs_every_row_in_the_loops_written_apart(mlp):
    ref = _sweep(mlp, epochs=3, batch_size=None)
    for name in ["numpy"] + (["torch"] if loops.torch_available() else []):
        params = loops.LOOPS[name](mlp, LRS[1], [], 3)
        for k, v in ref.params.items():
            np.testing.assert_allclose(params[k], v[0, 1], rtol=2e-4, atol=2e-6, err_msg=name)


def _entry(settings):
    return suites.Entry(
        suite="t",
        problem="mlp",
        variant="minibatch-64",
        batch_size=64,
        optimizer="sgd",
        settings={
            **suites.DEFAULT_SETTINGS,
            "lrs": LRS,
            "epochs": 2,
            "early_stop": False,
            "seeds": [0],
            **settings,
        },
    )


def test_the_checks_floor_checks_where_gdjax_does(mlp):
    # 56 steps, checked every 20: at 20, 40 and 56, as gdjax's grid (two lanes of this small
    # network could afford a check every step: exact=False, as a larger sweep decides)
    entry = _entry({"eval_every": 20})
    kernel = entry.kernel(mlp, exact=False)
    assert not kernel.config.exact and kernel.config.eval_steps == (0, 20, 40, 56)
    result = kernel.to_result(kernel.execute())
    lanes = result.to_frame()
    floor = baselines.jax_scan_checks(mlp, kernel, lanes, entry)
    params, checks = floor.call()
    np.testing.assert_allclose(checks, result.losses[0, :, 1:], rtol=1e-5)
    assert floor.max_rel_diff((params, checks)) < 1e-5
    # no floor on the default geometric grid
    plain = _entry({})
    assert baselines.jax_scan_checks(mlp, plain.kernel(mlp, exact=False), lanes, plain) is None
    assert baselines.jax_scan_checks(mlp, entry.kernel(mlp, exact=True), lanes, entry) is None


@pytest.mark.slow
def test_attach_times_the_mlp_beside_its_bare_program_and_loops():
    # 16 hidden units: their full-data check every step is not affordable, as in the perf suite
    mlp = digits_mlp(hidden=16, init_seed=0)
    names = ["jax-scan", "numpy", "jax-loop", "single", "seeds", "monitoring"]
    names += ["torch"] if loops.torch_available() else []
    lrs = [0.02, 0.05, 0.1, 0.5]  # a multiple of 4: the seed split
    settings = {"lrs": lrs, "eval_every": 28, "baselines": names, "baseline_lanes": 1}
    entry = _entry({**settings, "repeats": 1})
    lanes, _, _, kernel = entry_run.run_entry(entry, mlp, envinfo.describe(), repeats=1)
    assert not kernel.config.exact
    out = attach.attach(entry, mlp, kernel, lanes).iloc[0]
    for name in ("jax-scan", "jax-scan-checks", "numpy", "jax-loop", "single", "seeds4_floor"):
        assert out[f"{name}_max_rel_diff"] < 2e-5, name
    assert out["vs_jax-scan"] > 0 and out["checks_floor"] > 0 and out["seeds4_vs_one_seed"] > 0
    assert out["compile_vs_jax-scan"] == pytest.approx(
        out["compile_cold_s"] / out["jax-scan_compile_s"]
    )
    assert "baseline_note" not in out  # every baseline ran (monitoring: none to time, grid)


def test_which_baselines_run_on_a_custom_loss(mlp):
    def square(params, x):
        return ((x @ params["w"]) ** 2).mean()

    x = np.ones((8, 2))
    other = gdjax.problems.custom(square, x, init={"w": np.ones(2)}, f_star=0.0)
    drawn = digits_mlp(hidden=4)  # each seed draws its start
    for name in (b for b in suites.BASELINES if b != "sklearn"):  # linear models only
        assert loops.unsupported(mlp, name) is None, name
        assert (loops.unsupported(other, name) is None) == (name in loops.ANY_LOSS), name
    assert loops.unsupported(mlp, "sklearn").startswith("sklearn: ")
    assert loops.unsupported(other, "torch") == (
        "torch: this custom loss is not written for torch (bench/perf/twins.py)"
    )
    assert "draws one per seed" in loops.unsupported(drawn, "numpy")
    assert loops.unsupported(drawn, "jax-scan") is None
    assert twins.twin(other) is None and sorted(twins.twin(mlp)) == ["numpy", "torch"]
