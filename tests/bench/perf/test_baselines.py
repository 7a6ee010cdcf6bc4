"""The baselines: each loop against gdjax, the bare program against a NumPy loop and gdjax's
lanes, and what ``attach.attach`` adds to a perf run's lanes."""

import gc

import numpy as np
import pytest

import gdjax
from bench.perf import attach, baselines, loops
from bench.run import entry_run, suites
from tests.reference import flat_params, gd_loop


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["linear", "logistic", "softmax"])
@pytest.mark.parametrize("batch_size", [None, 1, 16])
def test_baseline_loops_match_gdjax(kind, batch_size):
    make = {
        "linear": gdjax.problems.make_linear,
        "logistic": gdjax.problems.make_logistic,
        "softmax": lambda n, d: gdjax.problems.make_softmax(n, d, 3),
    }[kind]
    p = make(96, 4)
    r = gdjax.run(p, lr=0.05, batch_size=batch_size, epochs=3, seed=2, early_stop=False)
    rows = loops.step_rows(p.n, batch_size or p.n, 3, True, 2)
    names = ["numpy", "jax-loop"] + (["torch"] if loops.torch_available() else [])
    for name in names:
        params = loops.LOOPS[name](p, 0.05, rows, 3)
        for k in r.params:
            np.testing.assert_allclose(
                np.asarray(params[k]), r.params[k], rtol=2e-4, atol=2e-5, err_msg=name
            )


def _attached(lrs, names, problem=None, **settings):
    """A minibatch-16 entry on linear 128x4 (or ``problem``), run once, with the baselines
    ``names`` attached."""
    entry, problem, lanes, kernel = _ran(lrs, names, problem, **settings)
    return attach.attach(entry, problem, kernel, lanes)


def _ran(lrs, names, problem=None, **settings):
    """The entry of :func:`_attached`, run once: ``(entry, problem, lanes, kernel)``."""
    from bench import envinfo

    problem = problem or gdjax.problems.make_linear(128, 4)
    entry = suites.Entry(
        suite="t",
        problem="p",
        variant="minibatch-16",
        batch_size=16,
        optimizer="sgd",
        settings={
            **suites.DEFAULT_SETTINGS,
            "lrs": lrs,
            "epochs": 2,
            "early_stop": False,
            "baselines": names,
            "seeds": [0],
            **settings,
        },
    )
    lanes, _, _, kernel = entry_run.run_entry(entry, problem, envinfo.describe(), repeats=1)
    return entry, problem, lanes, kernel


@pytest.mark.slow
def test_baselines_attach_adds_ratios_and_cross_checks():
    out = _attached([0.01, 0.1, 1e4], ["numpy", "jax-loop", "single"], baseline_lanes=2)
    for name in ("numpy", "jax-loop", "single"):
        assert out[f"{name}_lanes_timed"].iloc[0] == 2  # the diverged lane is not timed
        assert out[f"{name}_max_rel_diff"].iloc[0] < 1e-4
        np.testing.assert_allclose(out[f"speedup_{name}"], out[f"{name}_s"] / out["run_s"])
        np.testing.assert_allclose(out[f"{name}_s"], out[f"{name}_lane_s"] * 3)
    assert out["compile_cold_s"].iloc[0] > 0


def test_baseline_loops_are_timed_with_the_heap_frozen(monkeypatch):
    seen = []
    numpy_loop = loops.LOOPS["numpy"]

    def probe(*args):
        seen.append(gc.get_freeze_count())
        return numpy_loop(*args)

    monkeypatch.setitem(loops.LOOPS, "numpy", probe)
    _attached([0.01, 0.1], ["numpy"], baseline_lanes=2)
    # each lane: its untimed warm-up as usual, then its timed run with the heap frozen
    assert len(seen) == 4 and seen[0::2] == [0, 0] and all(c > 0 for c in seen[1::2]), seen
    assert gc.get_freeze_count() == 0


@pytest.mark.slow
def test_bare_program_seed_split_and_monitoring_cost_are_measured():
    lrs = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 1e4]
    out = _attached(lrs, ["jax-scan", "seeds", "monitoring"]).iloc[0]
    # the bare program does the same arithmetic: its final losses are gdjax's
    assert out["jax-scan_max_rel_diff"] < 1e-5
    # each ratio pairs gdjax's kernel with the other program, timed in turn
    assert out["vs_jax-scan"] == pytest.approx(out["jax-scan_gdjax_s"] / out["jax-scan_s"])
    assert out["compile_vs_jax-scan"] == pytest.approx(
        out["compile_cold_s"] / out["jax-scan_compile_s"]
    )
    assert out["seeds4_vs_one_seed"] == pytest.approx(out["seeds4_s"] / out["seeds4_gdjax_s"])
    assert out["exact_monitor_cost"] == pytest.approx(
        out["grid_monitor_gdjax_s"] / out["grid_monitor_s"]
    )
    # and jax-scan's own split, on the same lanes and rows
    assert out["seeds4_floor"] > 0 and out["seeds4_floor_max_rel_diff"] < 1e-5
    for paired in ("jax-scan_gdjax_s", "seeds4_gdjax_s", "grid_monitor_gdjax_s"):
        assert 0 < out[paired] < 60
    # least squares is monitored exactly: jax-scan + loss, timed in the same rounds
    assert out["jax-scan-loss_max_rel_diff"] < 1e-5
    assert out["loss_floor"] == pytest.approx(out["jax-scan-loss_s"] / out["jax-scan_s"])
    assert out["jax-scan-loss_compile_s"] > 0


@pytest.mark.slow
def test_floors_whose_rows_would_not_fit_are_skipped_with_a_note(monkeypatch):
    lrs = [0.01, 0.02, 0.05, 0.1]
    entry, problem, lanes, kernel = _ran(lrs, ["jax-scan", "seeds"], epochs=20)
    # jax-scan + loss gathers 160 steps x 16 rows x 5 columns (51 KB) ahead, the seed split 4x
    monkeypatch.setattr(gdjax.memory, "_machine_bytes", lambda: 90_000)  # gdjax needs 41 KB
    out = attach.attach(entry, problem, kernel, lanes).iloc[0]
    assert out["vs_jax-scan"] > 0 and out["seeds4_vs_one_seed"] > 0  # the rest is measured
    assert "loss_floor" not in out and "seeds4_floor" not in out
    note = out["baseline_note"]
    assert "jax-scan + loss: its rows" in note and "jax-scan's seed split: its rows" in note


@pytest.mark.slow
def test_no_loss_floor_without_exact_monitoring():
    # large enough that checking every step is not affordable (gdjax._kernel.cost.exact_affordable)
    out = _attached([0.01, 0.1], ["jax-scan"], gdjax.problems.make_logistic(8192, 16)).iloc[0]
    assert not out["exact"]
    assert out["jax-scan_max_rel_diff"] < 1e-5
    assert "loss_floor" not in out and "jax-scan-loss_s" not in out


def test_bare_program_runs_each_seed_on_its_own_rows():
    problem = gdjax.problems.make_linear(64, 3)
    rows = np.stack([np.concatenate(loops.step_rows(64, 8, 2, True, k)) for k in (0, 1)], 1)
    lrs = np.array([[0.01, 0.1], [0.01, 0.1]], np.float32)
    init = problem.init_params()
    for gathered in (False, True):
        fn = baselines.bare_program(problem.spec, 16, gathered=gathered)
        both = fn(problem.data, init, lrs, rows)
        for k in (0, 1):
            alone = fn(problem.data, init, lrs[k], rows[:, k])
            np.testing.assert_allclose(both["w"][k], alone["w"], rtol=1e-6)
        assert not np.allclose(both["w"][0], both["w"][1])  # same rates, the rows differ


def test_bare_program_matches_a_numpy_loop():
    problem = gdjax.problems.make_linear(64, 3)
    rows = loops.step_rows(64, 8, 2, True, 0)
    fn = baselines.bare_program(problem.spec, 16)
    lrs = np.asarray([0.01, 0.1], np.float32)
    params = fn(problem.data, problem.init_params(), lrs, np.concatenate(rows))
    for i, lr in enumerate(lrs):
        ref = loops.numpy_loop(problem, float(lr), rows, 2)
        np.testing.assert_allclose(params["w"][i], ref["w"], rtol=1e-4, atol=1e-5)


def test_bare_program_with_loss_records_every_steps_full_data_loss():
    # in the eigenbasis, against a float64 loop in the original coordinates
    problem = gdjax.problems.make_linear(64, 3, seed=2)
    basis = gdjax._kernel.eigenbasis.Eigenbasis.of(problem)
    X, spec, aux, init = basis.kernel_data(problem, problem.init_params())
    rows = np.concatenate(loops.step_rows(64, 8, 2, True, 0))
    lrs = np.asarray([0.01, 0.3], np.float32)
    params, losses = baselines.bare_program(spec, 16, monitored=True)(
        (X, problem.y), init, lrs, rows, aux
    )
    assert losses.shape == (2, 16)
    losses = gdjax.problems.losses.as_loss(spec, losses, problem.optimum()[1])  # the monitor's gaps
    for i, lr in enumerate(lrs):
        theta, ref = gd_loop("linear", problem.X, problem.y, lr=float(lr), b=8, epochs=2)
        np.testing.assert_allclose(losses[i], ref[1:], rtol=2e-5)
        back = flat_params(basis.params(np.asarray(params["w"][i], np.float64)))
        np.testing.assert_allclose(back, theta, rtol=1e-4, atol=1e-6)


def test_missing_torch_is_said_once_per_run(tmp_path, monkeypatch, capsys):
    """Without torch, `bench run` says once for the whole run (not only in a column of the
    lanes) that the torch baseline is skipped, and how to install it."""
    from bench import cli, runs
    from tests.conftest import TINY_SUITE

    text = TINY_SUITE.replace("[defaults]", '[defaults]\nbaselines = ["torch"]\nearly_stop = false')
    (tmp_path / "tiny.toml").write_text(text)
    monkeypatch.setattr(loops, "torch_available", lambda: False)
    out = tmp_path / "runs"
    argv = ["run", "--suite", str(tmp_path / "tiny.toml"), "--out", str(out), "--no-cache"]
    assert cli.main([*argv, "--no-progress"]) == 0
    said = capsys.readouterr().out.splitlines()
    torch_lines = [s for s in said if "install" in s]
    assert torch_lines == [
        "torch baseline skipped: torch is not installed (pip install -e '.[torch]')"
    ]
    (run_dir,) = runs.run_folders(out)
    assert set(runs.read_lanes(run_dir)["baseline_note"]) == {loops.TORCH_MISSING}
