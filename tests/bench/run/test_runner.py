"""The harness: suite parsing and errors, the smoke suite end to end, resume after a kill,
baselines against gdjax, sharding over two (forced host) devices, committed results."""

import gc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

import gdjax
from bench import cli, runs
from bench.perf import baselines, loops
from bench.report import perf_report
from bench.report import readme as report
from bench.run import runner, suites, timing
from tests.reference import flat_params, gd_loop

ROOT = Path(__file__).resolve().parents[3]
LANE_COLUMNS = (
    "suite problem n d variant batch_size optimizer lr seed epochs steps dtype status "
    "steps_to_target epochs_to_target samples_to_target time_to_target_s final_loss f_star "
    "final_subopt compile_s run_s run_s_min run_s_max lanes backend device_kind device_count "
    "jax_version jaxlib_version optax_version x64 host git_sha timestamp"
).split()


def _script_prints_ok(script: str, env: dict) -> None:
    """Run ``python -c script`` from the repository root; it must exit 0 and print "ok"."""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"


def _bench(*args, **kwargs):
    """``python -m bench ...`` in a fresh process, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


@pytest.mark.parametrize("name", suites.available())
def test_shipped_suites_parse(name):
    s = suites.load(name)
    assert s.entries
    for e in s.entries:
        assert e.settings["lrs"] and all(lr > 0 for lr in e.settings["lrs"])


CONDITIONED = [f"{k}-2048x32-cond{c}" for k in ("linear", "logistic") for c in ("1e2", "1e4")]


def test_default_suite_covers_every_variant_on_every_problem():
    s = suites.load("default")
    descents = {(e.problem, e.descent) for e in s.entries}
    problems = {e.problem for e in s.entries}
    assert problems == {*CONDITIONED, "softmax-2048x32x5", "diabetes", "breast_cancer", "digits"}
    for p in problems:
        assert {k for q, k in descents if q == p} == {"batch", "stochastic", "mini-batch"}
    for e in s.entries:  # the whole ladder is measured: no lane stops above its tightest rung
        assert list(e.settings["targets"]) == [1e-1, 1e-2, 1e-3, 1e-4]
        assert e.settings["tol"] == 1e-4


def test_default_suite_compares_constant_and_decaying_rates_on_conditioned_problems():
    s = suites.load("default")
    for p in CONDITIONED:
        seen = {
            (e.descent, e.settings.get("schedule") or "constant")
            for e in s.entries
            if e.problem == p
        }
        assert {
            ("stochastic", "constant"),
            ("stochastic", "inverse_time"),
            ("mini-batch", "constant"),
            ("mini-batch", "cosine"),
        } <= seen, p


def test_perf_suite_matches_the_standard_workloads():
    s = {e.problem: e for e in suites.load("perf").entries}
    want = {
        "minibatch": (32, 5, 1e-3, 1.0),
        "sgd": (1, 2, 1e-4, 1e-1),
        "fullbatch": (None, 100, 1e-3, 1.0),
        "logistic-minibatch": (64, 5, 1e-3, 1.0),
    }
    for name, (b, epochs, lo, hi) in want.items():
        e = s[name]
        assert (e.batch_size, e.settings["epochs"]) == (b, epochs)
        lrs = e.settings["lrs"]
        assert len(lrs) == 64 and lrs[0] == pytest.approx(lo) and lrs[-1] == pytest.approx(hi)
        assert e.settings["seeds"] == [0]


GOOD = """
name = "t"
[defaults]
epochs = 1
lrs = [0.1]
[[problems]]
name = "p"
source = "linear"
n = 16
d = 2
[[variants]]
name = "batch"
"""


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD + "speed = 3\n", "unknown field 'speed'"),
        (GOOD.replace('source = "linear"', 'source = "parquet"'), "unknown source 'parquet'"),
        (GOOD.replace("n = 16\n", ""), "needs field 'n'"),
        (GOOD.replace("lrs = [0.1]", "lrs = [-0.1]"), "learning rate must be a number > 0"),
        (GOOD.replace("epochs = 1", "epochs = 0"), "epochs must be an int >= 1"),
        (GOOD + 'optimizer = "lbfgs"\n', "unknown optimizer 'lbfgs'"),
        (GOOD.replace('name = "p"', 'name = "p"\nvariants = ["sgd"]'), "unknown variant 'sgd'"),
        (GOOD + 'baselines = ["numpy"]\n', "baselines need early_stop = false"),
        (GOOD.replace("[defaults]", "[defaults"), "malformed TOML"),
        (GOOD + 'batch_size = "half"\n', 'batch_size must be "all"'),
        (GOOD.replace("[defaults]", "[defaults]\nseeds = [0.5]"), "seeds must be a non-empty list"),
        (GOOD.replace("[defaults]", '[defaults]\ntol = "x"'), "tol must be a number"),
        (GOOD.replace("[defaults]", "[defaults]\nshuffle = 1"), "shuffle must be true or false"),
        (GOOD.replace("lrs = [0.1]", "lrs = {}"), "lrs.geomspace must be"),
        (GOOD.replace("lrs = [0.1]", 'lrs = { geomspace = ["a", 1, 3] }'), "geomspace must be"),
        (GOOD.replace("[defaults]", "[defaults]\noptimizer = 3"), "optimizer must be a name"),
        (GOOD.replace("n = 16", 'n = "a"'), "n must be an int"),
        (GOOD.replace('name = "p"', 'name = "a/b"'), "name must be letters"),
        (GOOD.replace("d = 2", 'd = 2\ndtype = "int32"'), "dtype must be"),
        (GOOD.replace("[defaults]", '[defaults]\ninit = "a"'), "init must be a number"),
        (
            "problems = 3\n" + GOOD[GOOD.index("[defaults]") : GOOD.index("[[problems]]")],
            "arrays of tables",
        ),
    ],
)
def test_bad_suite_is_one_line_and_exit_code_2(tmp_path, capsys, text, message):
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(suites.SuiteError, match=message):
        suites.load(str(path))
    assert cli.main(["run", "--suite", str(path), "--out", str(tmp_path), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert message.split("'")[0] in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_only_leaves_the_run_unfinished_and_resume_completes_it(tmp_path):
    suite = tmp_path / "two.toml"
    suite.write_text(GOOD + 'epochs = 2\n[[variants]]\nname = "mini"\nbatch_size = 4\n')
    s = suites.load(str(suite))
    quiet = dict(progress=False, log=lambda m: None)
    run = runner.run_suite(s, tmp_path / "runs", repeats=1, only="mini", **quiet)
    meta = json.loads((run / "meta.json").read_text())
    assert not meta["complete"] and meta["only"] == "mini"
    with pytest.raises(FileNotFoundError):  # a partial run is no result to report
        runs.discover(tmp_path / "runs")
    again = runner.run_suite(s, tmp_path / "runs", repeats=1, resume=True, **quiet)
    assert again == run and json.loads((run / "meta.json").read_text())["complete"]
    assert len(pd.read_csv(run / "lanes.csv")) == 2


def test_resume_refuses_another_suite_definition_or_software(tmp_path):
    from bench import envinfo

    env = envinfo.describe()
    meta = {"suite": "a", "suite_hash": "h1", "env": dict(env)}
    runs.check_resumable(meta, "a", "h1", env, tmp_path)  # the same: fine
    with pytest.raises(runs.RunFolderError, match="a run of suite 'a', not 'b'"):
        runs.check_resumable(meta, "b", "h1", env, tmp_path)
    with pytest.raises(runs.RunFolderError, match="another definition of suite 'a'"):
        runs.check_resumable(meta, "a", "h2", env, tmp_path)
    with pytest.raises(runs.RunFolderError, match="x64"):
        other = {**meta, "env": {**env, "x64": not env["x64"]}}
        runs.check_resumable(other, "a", "h1", env, tmp_path)


def test_an_entry_fingerprint_changes_with_its_problem(tmp_path):
    """So the suite hash changes too, and --resume refuses a folder of the old definition."""
    path = tmp_path / "t.toml"
    path.write_text(GOOD)
    before = suites.load(str(path)).entries[0].fingerprint()
    path.write_text(GOOD.replace("n = 16", "n = 32"))
    assert suites.load(str(path)).entries[0].fingerprint() != before


@pytest.mark.slow
def test_unknown_suite_name_from_the_command_line():
    proc = _bench("run", "--suite", "nonesuch", "--out", "/tmp/never")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: unknown suite 'nonesuch'")
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_smoke_suite_end_to_end(tmp_path):
    out = tmp_path / "runs"
    proc = _bench(
        "run", "--suite", "smoke", "--out", str(out), "--cache-dir", str(tmp_path / "cache")
    )
    assert proc.returncode == 0, proc.stderr
    (run,) = out.iterdir()
    assert run.name.startswith("smoke__cpu-cpu__")
    lanes = pd.read_parquet(run / "lanes.parquet")
    assert set(LANE_COLUMNS) <= set(lanes.columns)
    pd.testing.assert_frame_equal(
        pd.read_csv(run / "lanes.csv")[["lr", "final_loss"]], lanes[["lr", "final_loss"]]
    )
    suite = suites.load("smoke")
    assert len(lanes) == sum(
        len(e.settings["lrs"]) * len(e.settings["seeds"]) for e in suite.entries
    )
    assert set(lanes["status"]) <= {"converged", "diverged", "max_steps"}
    conv = lanes[lanes.status == "converged"]
    assert conv["samples_to_target"].notna().all()
    assert lanes.loc[lanes.status != "converged", "steps_to_target"].isna().all()
    np.testing.assert_allclose(
        conv["time_to_target_s"].astype(float),
        conv["run_s"] * conv["steps_to_target"].astype(float) / conv["steps_run"],
    )
    assert (lanes["run_s_min"] <= lanes["run_s"]).all() and (
        lanes["run_s"] <= lanes["run_s_max"]
    ).all()
    curves = pd.read_parquet(run / "curves.parquet")
    assert {"step", "epoch", "samples", "loss", "subopt"} <= set(curves.columns)
    meta = json.loads((run / "meta.json").read_text())
    assert meta["complete"] and meta["env"]["backend"] == "cpu"
    assert "problem" in proc.stdout and "saved 82 lanes" in proc.stdout  # summary table
    written = report.write(out, tmp_path / "results")
    assert (tmp_path / "results" / "README.md") in written
    assert any(p.suffix == ".png" for p in written)


RESUMABLE = """
name = "resumable"
[defaults]
seeds = [0]
epochs = 3
repeats = 1
lrs = [0.01, 0.1]
[[variants]]
name = "minibatch-8"
batch_size = 8
"""


def _poll(predicate, seconds: float = 240.0):
    """Wait until ``predicate()`` is truthy (a generous deadline: the machine may be busy)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    return predicate()


@pytest.mark.slow
def test_killed_run_resumes_and_skips_finished_entries(tmp_path):
    """SIGKILL once an entry is marked, wherever the other entries are: the tables hold exactly
    the marked entries, and --resume runs only the others."""
    text = RESUMABLE + "".join(
        f'[[problems]]\nname = "p{i}"\nsource = "linear"\nn = {64 + i}\nd = 3\n' for i in range(6)
    )
    suite = tmp_path / "resumable.toml"
    suite.write_text(text)
    out = tmp_path / "runs"
    args = ["run", "--suite", str(suite), "--out", str(out), "--no-cache", "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def an_entry_saved():
        # the marker commits the entry; meta.json's wall time is saved right after it
        metas = list(out.glob("*/meta.json"))
        marked = list(out.glob("*/parts/*.json"))
        return marked and metas and json.loads(metas[0].read_text()).get("wall_s", 0) > 0

    try:
        assert _poll(an_entry_saved), "no entry finished in time"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (run,) = out.iterdir()
    done = runs.markers(run)
    assert 1 <= len(done) <= 6  # how many finished depends on the scheduler: any count is fine
    before = {k: (run / "parts" / f"{k}.json").stat().st_mtime_ns for k in done}
    # every marked entry is in the combined tables; the readers give exactly the marked ones
    raw = pd.read_csv(run / "lanes.csv", on_bad_lines="skip")
    assert set(done) <= set(runs.entry_keys(raw))
    assert set(runs.entry_keys(runs.read_lanes(run))) == set(done)
    assert set(runs.entry_keys(runs.read_curves(run))) == set(done)
    wall_killed = json.loads((run / "meta.json").read_text())["wall_s"]
    assert wall_killed > 0  # saved after every entry, so the killed session's time is kept

    resumed = _bench(*args, "--resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    if len(done) < 6:
        assert f"{len(done)} of 6 entries already done" in resumed.stdout
    assert list(out.iterdir()) == [run]
    for key, mtime in before.items():
        assert (run / "parts" / f"{key}.json").stat().st_mtime_ns == mtime, f"{key} ran again"
    lanes = pd.read_csv(run / "lanes.csv")
    assert sorted(lanes["problem"].unique()) == [f"p{i}" for i in range(6)]
    assert len(lanes) == 12  # no entry twice
    same = ["problem", "lr", "seed", "final_loss"]
    pd.testing.assert_frame_equal(pd.read_parquet(run / "lanes.parquet")[same], lanes[same])
    assert len(runs.read_curves(run).groupby(["problem", "lr"])) == 12
    meta = json.loads((run / "meta.json").read_text())
    assert meta["complete"] and meta["wall_s"] >= wall_killed
    if len(done) < 6:  # the resumed session ran entries: its time is added
        assert meta["wall_s"] > wall_killed


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
    return baselines.attach(entry, problem, kernel, lanes)


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
    lanes, _, _, kernel = runner.run_entry(entry, problem, envinfo.describe(), repeats=1)
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
    out = baselines.attach(entry, problem, kernel, lanes).iloc[0]
    assert out["vs_jax-scan"] > 0 and out["seeds4_vs_one_seed"] > 0  # the rest is measured
    assert "loss_floor" not in out and "seeds4_floor" not in out
    note = out["baseline_note"]
    assert "jax-scan + loss: its rows" in note and "jax-scan's seed split: its rows" in note


@pytest.mark.slow
def test_no_loss_floor_without_exact_monitoring():
    # large enough that checking every step is not affordable (gdjax.sweep_args.exact_affordable)
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
        both = fn(problem.X, problem.y, init, lrs, rows)
        for k in (0, 1):
            alone = fn(problem.X, problem.y, init, lrs[k], rows[:, k])
            np.testing.assert_allclose(both["w"][k], alone["w"], rtol=1e-6)
        assert not np.allclose(both["w"][0], both["w"][1])  # same rates, the rows differ


def test_bare_program_matches_a_numpy_loop():
    problem = gdjax.problems.make_linear(64, 3)
    rows = loops.step_rows(64, 8, 2, True, 0)
    fn = baselines.bare_program(problem.spec, 16)
    lrs = np.asarray([0.01, 0.1], np.float32)
    params = fn(problem.X, problem.y, problem.init_params(), lrs, np.concatenate(rows))
    for i, lr in enumerate(lrs):
        ref = loops.numpy_loop(problem, float(lr), rows, 2)
        np.testing.assert_allclose(params["w"][i], ref["w"], rtol=1e-4, atol=1e-5)


def test_bare_program_with_loss_records_every_steps_full_data_loss():
    # in the eigenbasis, against a float64 loop in the original coordinates
    problem = gdjax.problems.make_linear(64, 3, seed=2)
    basis = gdjax.eigenbasis.Eigenbasis.of(problem)
    X, spec, aux, init = basis.kernel_data(problem, problem.init_params())
    rows = np.concatenate(loops.step_rows(64, 8, 2, True, 0))
    lrs = np.asarray([0.01, 0.3], np.float32)
    params, losses = baselines.bare_program(spec, 16, monitored=True)(
        X, problem.y, init, lrs, rows, aux
    )
    assert losses.shape == (2, 16)
    losses = gdjax.losses.as_loss(spec, losses, problem.optimum()[1])  # the monitor's gaps
    for i, lr in enumerate(lrs):
        theta, ref = gd_loop("linear", problem.X, problem.y, lr=float(lr), b=8, epochs=2)
        np.testing.assert_allclose(losses[i], ref[1:], rtol=2e-5)
        back = flat_params(basis.params(np.asarray(params["w"][i], np.float64)))
        np.testing.assert_allclose(back, theta, rtol=1e-4, atol=1e-6)


SHARDED = """
import jax, numpy as np, gdjax
assert len(jax.devices()) == 2
p = gdjax.problems.make_logistic(256, 4, seed=1)
for num_lrs in (8, 7):  # 7 does not split over 2 devices: padded to 8, the copy dropped
    kw = dict(lrs=np.geomspace(0.01, 100.0, num_lrs), seeds=[0, 1], batch_size=16, epochs=3)
    one = gdjax.sweep(p, **kw)
    k = gdjax.build(p, sharding=gdjax.devices.lane_sharding(), **kw)
    assert k.args.lrs.shape == (8,), k.args.lrs.shape
    out = k.call()
    assert len(out.losses.sharding.device_set) == 2, out.losses.sharding
    two = k.to_result(out)
    assert two.status.shape == one.status.shape == (2, num_lrs)
    assert (one.status == two.status).all()
    np.testing.assert_array_equal(two.first_step, one.first_step)
    # 4 lanes a device multiply in narrower GEMMs than 8: the last bits may differ, and lanes
    # with lr up to 100 blow them up along the run (4e-12 seen); statuses and steps are exact
    np.testing.assert_allclose(two.losses, one.losses, rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(two.final_loss, one.final_loss, rtol=1e-10)
    assert two.steps_run == one.steps_run
print("ok")
"""


@pytest.mark.slow
def test_lanes_shard_over_two_host_devices_with_identical_results_padded_or_not():
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_ENABLE_X64": "1",
    }
    _script_prints_ok(SHARDED, env)


def test_env_command_names_the_machine(capsys):
    assert cli.main(["env"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backend"] == jax.default_backend() and info["device_count"] >= 1
    assert {"jax_version", "jaxlib_version", "optax_version", "host", "git_sha"} <= set(info)


@pytest.mark.slow
def test_committed_results_regenerate_identically():
    results = ROOT / "results"
    readme = results / "README.md"
    assert readme.is_file(), "results/README.md is missing: run python -m bench report"
    assert report.readme_text(results / "runs", results) == readme.read_text(), (
        "results/README.md differs from what the committed runs give: run python -m bench report"
    )
    perf = perf_report.render(results / "runs")
    if perf is not None or (results / "perf.md").exists():
        assert perf == (results / "perf.md").read_text(), "results/perf.md is stale"
    # --no-plots rewrites the tables and keeps the plots already drawn
    copy = Path(tempfile.mkdtemp()) / "results"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("runs"))
    report.write(results / "runs", copy, plots=False)
    assert (copy / "README.md").read_text() == readme.read_text()
    # every plot the README embeds is committed
    for link in re.findall(r"\]\((plots/[^)]+\.png)\)", readme.read_text()):
        assert (results / link).is_file(), link


COLD_COMPILE = """
import tempfile, jax, jax.numpy as jnp
from bench.run import timing
HIT = "/jax/compilation_cache/cache_hits"
def compile_once():
    jax.clear_caches()
    with timing.cache_events() as events:
        jax.jit(lambda x: jnp.sin(x) * 2.0 + 1.0).lower(1.0).compile()
    return events
with timing.compilation_cache(tempfile.mkdtemp()):
    compile_once()  # stored
    warm = compile_once()
    for _ in range(2):  # the second must not read what the first may have stored
        with timing.no_persistent_cache():
            cold = compile_once()
        assert HIT not in cold, cold
    again = compile_once()
assert HIT in warm and HIT in again, (warm, again)
print("ok")
"""


@pytest.mark.slow
def test_a_cold_compile_never_reads_the_persistent_cache():
    # JAX memoizes whether the cache is in use at the first compile: switching the option
    # off afterwards alone still read and wrote the cache, under a key of its own, so a
    # "cold" compile read what an earlier cold compile had stored (0.04 s, not 0.15)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    _script_prints_ok(COLD_COMPILE, env)


def test_timed_sections_keep_the_heap_out_of_the_garbage_collector():
    # a full collection walks every live object: 81-114 ms of a 0.3-0.5 s compile in 4 of the
    # default suite's 33, set off by the trace's garbage but paid for the harness's heap
    seen = []

    def probe():
        seen.append(gc.get_freeze_count())
        return jax.numpy.zeros(())

    assert gc.get_freeze_count() == 0
    timing.time_calls(probe, repeats=2, min_time=0.0)
    timing.time_alternating([probe, probe], repeats=2, min_time=0.0)
    k = gdjax.build(gdjax.problems.make_linear(64, 2), lrs=[0.1], epochs=1)
    lower = k.lower
    k_lower = lambda: (seen.append(gc.get_freeze_count()), lower())[1]  # noqa: E731
    timing.cold_compile(k_lower)
    # the warm-up calls run as usual; every timed one saw the heap frozen
    assert seen[0] == 0 and seen[3] == 0 and seen[4] == 0
    timed = seen[1:3] + seen[5:]
    assert len(timed) == 7 and all(c > 0 for c in timed), seen
    assert gc.get_freeze_count() == 0  # and it is given back
    seen.clear()
    timing.compile_kernel(types.SimpleNamespace(lower=k_lower))
    assert len(seen) == 1 and seen[0] > 0, seen
    with pytest.raises(RuntimeError), timing.frozen_heap():
        raise RuntimeError("inside the block")
    assert gc.get_freeze_count() == 0  # given back on an exception too
    # a heap the caller froze stays frozen
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with timing.frozen_heap():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
