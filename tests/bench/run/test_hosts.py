"""Hosts joined by jax.distributed: two local processes share one sweep's lanes, and one run."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gdjax
from bench import cli, runs
from bench.report import compare
from bench.run import hosts
from tests.conftest import TINY_SUITE

ROOT = Path(__file__).resolve().parents[3]
WORKER = """
import json, sys
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2,
                           process_id=int(sys.argv[2]))
import numpy as np, gdjax
assert jax.process_count() == 2 and len(jax.devices()) == 2 and len(jax.local_devices()) == 1
p = gdjax.problems.make_logistic(256, 4, seed=1)
res = gdjax.sweep(p, lrs=np.geomspace(0.01, 100.0, 8), seeds=[0, 1], batch_size=16, epochs=3,
                  sharding=gdjax.devices.lane_sharding())
print(json.dumps({"losses": np.nan_to_num(res.losses, nan=-1.0).tolist(),
                  "status": res.status.tolist()}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_share_the_lanes_and_both_get_the_whole_result():
    address = f"127.0.0.1:{_free_port()}"
    outs = _two(lambda i: ["-c", WORKER, address, str(i)])
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert results[0] == results[1]  # one program, its lanes gathered: the same bits on both
    problem = gdjax.problems.make_logistic(256, 4, seed=1)
    lrs = np.geomspace(0.01, 100.0, 8)
    one = gdjax.sweep(problem, lrs=lrs, seeds=[0, 1], batch_size=16, epochs=3)
    np.testing.assert_array_equal(results[0]["status"], one.status)
    # Two processes run another program than one (the lanes split over two devices), so the
    # rounding differs. Only lanes whose steps cannot amplify it are compared closely: on every
    # batch the loss is (l2)-strongly convex and at most L-smooth with L = max row |a|^2 / 4 + l2,
    # so a step with lr <= 2 / L is non-expansive and a difference in rounding stays one. Larger
    # rates are chaotic (lr = 100 moved by 2e-3 between the two programs on this machine kind):
    # what they promise is their status (checked above) and a finite loss.
    A = np.hstack([np.asarray(problem.X, np.float64), np.ones((problem.n, 1))])
    smooth = float((A * A).sum(axis=1).max()) / 4 + problem.spec.l2
    calm = np.broadcast_to(lrs <= 2 / smooth, one.status.shape)
    assert 2 <= calm[0].sum() < len(lrs)  # both kinds of lane are in the test
    two = np.asarray(results[0]["losses"])
    np.testing.assert_allclose(
        two[calm], np.nan_to_num(one.losses, nan=-1.0)[calm], rtol=2e-6, atol=1e-7
    )
    assert np.isfinite(two[~calm]).all()


def _two(argv, timeout: float = 300) -> list[tuple[str, str]]:
    """Run ``python *argv(i)`` as processes i = 0 and 1, one CPU device each; both must succeed.

    Returns:
        Each process's (stdout, stderr).
    """
    # one device per process, and no inherited cluster that jax would try to join instead
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS" and not k.startswith("SLURM_")}
    env["JAX_PLATFORMS"] = "cpu"
    procs = [
        subprocess.Popen(
            [sys.executable, *argv(i)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        outs = [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:  # a process left waiting for its peer must not outlive the test
            if p.poll() is None:
                p.kill()
                p.wait()
    for i, (p, (_, err)) in enumerate(zip(procs, outs, strict=True)):
        assert p.returncode == 0, f"process {i}:\n{err[-3000:]}"
    return outs


def _two_processes(args: list[str], address: str) -> list[tuple[str, str]]:
    """``python -m bench ARGS`` as processes 0 and 1 of two joined at ``address``."""
    flags = ["--coordinator", address, "--num-processes", "2"]
    return _two(lambda i: ["-m", "bench", *args, *flags, "--process-id", str(i)])


LANE_KEYS = ["problem", "variant", "batch_size", "optimizer", "lr", "seed"]


@pytest.mark.slow
def test_bench_run_over_two_processes_writes_one_run_equal_to_one_process(tmp_path, tiny_run):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_SUITE)
    out = tmp_path / "runs"
    args = ["run", "--suite", str(suite), "--out", str(out), "--no-progress", "--no-cache"]
    outs = _two_processes(args, f"127.0.0.1:{_free_port()}")
    # only process 0 reports (gloo's own connection line goes to stdout too: not ours)
    assert "saved 14 lanes" in outs[0][0]
    assert "lanes" not in outs[1][0] and "saved" not in outs[1][0], outs[1][0]
    folders = runs.run_folders(out)
    assert len(folders) == 1, folders  # process 1 made no folder of its own
    assert runs.is_complete(folders[0])
    assert runs.read_meta(folders[0])["env"]["device_count"] == 2
    two = runs.read_lanes(folders[0]).sort_values(LANE_KEYS).reset_index(drop=True)
    one = runs.read_lanes(tiny_run).sort_values(LANE_KEYS).reset_index(drop=True)
    assert (two["device_count"] == 2).all()
    # 4 and 3 learning rates x 2 seeds: the 3 were padded to 4 over the two devices
    assert len(two) == len(one) == 14
    pd.testing.assert_frame_equal(two[LANE_KEYS], one[LANE_KEYS])
    assert two["status"].tolist() == one["status"].tolist()
    assert two["status"].nunique() > 1  # the tiny suite has lanes that converge and some not
    pd.testing.assert_series_equal(two["steps_to_target"], one["steps_to_target"])
    np.testing.assert_allclose(two["final_loss"], one["final_loss"], rtol=2e-6, atol=1e-7)
    # bench compare sets the two runs (1 device, 2 devices) side by side and finds them agreeing
    text = compare.render(compare.load([tiny_run, folders[0]]))
    assert "14 lanes matched, 0 unmatched; 0 disagreements" in text, text
    summary, _ = compare.disagreements(compare.load([tiny_run, folders[0]]))
    assert summary["max_rel_loss"].iloc[0] <= 2e-6


@pytest.mark.slow
def test_bench_scaling_over_two_processes_saves_one_table(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_SUITE)
    out = tmp_path / "runs"
    args = ["scaling", "--suite", str(suite), "--out", str(out), "--devices", "1", "2"]
    outs = _two_processes([*args, "--repeats", "1", "--only", "minibatch-8"], _free_port_pair())
    assert "saved" in outs[0][0] and "saved" not in outs[1][0]
    folders = runs.run_folders(out)
    assert len(folders) == 1, folders  # process 1 saved nothing
    table = pd.read_csv(folders[0] / "scaling.csv")
    # 1 and 2 devices per process: 2 and 4 in all; 3 learning rates padded to 4 over 4 devices
    assert table["devices"].tolist() == [2, 4] and (table["processes"] == 2).all()
    assert (table["lanes"] == 6).all()
    assert table["max_rel_diff_vs_first"].max() <= 1e-6
    assert runs.read_meta(folders[0])["processes"] == 2


def _free_port_pair() -> str:
    """``127.0.0.1:PORT`` with PORT and PORT+1 free (scaling joins once per device count)."""
    for _ in range(50):
        port = _free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return f"127.0.0.1:{port}"
    raise RuntimeError("no two adjacent free ports on loopback")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--process-id", "1"], "need --num-processes"),
        (["--num-processes", "2", "--process-id", "0"], "needs --coordinator"),
        (["--coordinator", "10.0.0.1:99", "--num-processes", "2"], "needs --process-id"),
        (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"], "in 0..1, got 2"),
        (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "-1"], "got -1"),
        (["--coordinator", "10.0.0.1", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
        (["--coordinator", "h:0", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
        (["--coordinator", "h:1", "--num-processes", "0", "--process-id", "0"], ">= 1, got 0"),
    ],
)
def test_bad_process_flags_are_one_line_user_errors(flags, message, capsys, monkeypatch):
    for k in list(os.environ):
        if k.startswith("SLURM_") or k == "OMPI_MCA_orte_hnp_uri":
            monkeypatch.delenv(k)
    assert cli.main(["run", "--suite", "tiny", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


SLURM = {
    "SLURM_JOB_ID": "7",
    "SLURM_STEP_NODELIST": "node[1-2]",
    "SLURM_NTASKS": "2",
    "SLURM_PROCID": "1",
    "SLURM_LOCALID": "0",
}


@pytest.mark.parametrize(
    ("environ", "cluster"),
    [
        ({}, None),
        (SLURM, "slurm"),
        ({**SLURM, "SLURM_NTASKS": "1"}, None),  # one task: nobody to join
        ({k: v for k, v in SLURM.items() if k != "SLURM_STEP_NODELIST"}, None),  # sbatch, no srun
        ({"OMPI_MCA_orte_hnp_uri": "1.0;tcp://10.0.0.1:4000"}, "open mpi"),
    ],
)
def test_a_cluster_is_detected_from_its_environment(environ, cluster):
    assert hosts.detected_cluster(environ) == cluster
    joined = hosts.settings(coordinator=None, num_processes=None, process_id=None, environ=environ)
    assert joined == (None if cluster is None else {})  # {}: initialize() detects the rest


def test_the_process_id_may_come_from_the_cluster():
    kw = hosts.settings(coordinator="h:1", num_processes=2, process_id=None, environ=SLURM)
    assert kw == {"coordinator_address": "h:1", "num_processes": 2}
