"""Scaling over devices: the same sweeps with their lanes sharded over 1, 2, ... devices.

``python -m bench scaling --suite perf --devices 1 2`` runs every entry of the suite once per
device count, each in a fresh process (on a CPU the devices are made with
``XLA_FLAGS=--xla_force_host_platform_device_count=K``, which splits the host's cores; on a GPU
or TPU host the first K real devices are used). It checks that every device count gives the same
losses as one device and saves ``scaling.csv`` in a run folder of its own.

Several processes (``bench.run.hosts``): every process runs the same command, and each device count
K is then K devices per process, the lanes sharded over all of them; the table lists the total.
Each device count's workers join on a port of their own (PORT, PORT+1, ...), so the workers of
one count never meet the coordinator of the last. Only the process whose workers are process 0
saves the table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from bench import envinfo, runs
from bench.entries import relative_difference
from bench.errors import UserError
from bench.run import suites, timing


def worker(
    suite_name: str, devices: int, repeats: int, only: str | None, choices: dict | None = None
) -> list[dict]:
    """Time every entry with its lanes sharded over the first ``devices`` devices (in-process).

    Args:
        suite_name: suite name or path.
        devices: devices to use; with several processes, per process.
        repeats: timed calls per kernel (0: the suite's own).
        only: run only the entries this pattern names (whole fields: ``bench.run.suites.select``).
        choices: the kernel's choices for every entry (``Suite.with_choices``: precision, ...).

    Returns:
        One dict per entry: its keys, the total ``devices``, the kernel's choices, the times and
        the final losses.

    Raises:
        UserError: fewer devices than asked for.
    """
    import jax

    import gdjax

    mesh = _first_devices(jax.devices(), devices)
    sharding = gdjax.devices.lane_sharding(mesh)
    suite = suites.load(suite_name).with_choices(**(choices or {}))
    rows = []
    for e in suites.select(suite, only):
        s = e.settings
        problem = suite.builders[e.problem]()
        kernel = e.kernel(problem, sharding=sharding if len(mesh) > 1 else None)
        t = timing.time_kernel(kernel, repeats or s["repeats"])
        res = kernel.to_result(t.output)
        rows.append(
            {
                "problem": e.problem,
                "variant": e.variant,
                "optimizer": e.optimizer,
                "lanes": res.num_lanes,
                "devices": len(mesh),
                "processes": jax.process_count(),
                "precision": kernel.config.precision,
                "chunk": kernel.config.chunk,
                "unroll": kernel.config.unroll,
                "compile_s": t.compile_s,
                "run_s": t.run_s,
                "run_s_min": t.run_s_min,
                "run_s_max": t.run_s_max,
                "final_losses": res.to_frame()["final_loss"].tolist(),
            }
        )
    return rows


def _first_devices(available: list, k: int) -> list:
    """The first ``k`` devices of every process (of this one alone without jax.distributed)."""
    by_process: dict[int, list] = {}
    for d in available:
        by_process.setdefault(d.process_index, []).append(d)
    short = {p: len(ds) for p, ds in by_process.items() if len(ds) < k}
    if short:
        raise UserError(f"asked for {k} devices per process; these have fewer: {short}")
    return [d for p in sorted(by_process) for d in by_process[p][:k]]


def _process_flags(processes: dict | None, index: int) -> list[str]:
    """The worker's flags for the ``index``-th device count: its own port (see module doc)."""
    if not processes:  # one process, or a cluster the worker detects by itself
        return []
    host, _, port = processes["coordinator_address"].rpartition(":")
    flags = ["--coordinator", f"{host}:{int(port) + index}"]
    flags += ["--num-processes", str(processes["num_processes"])]
    if "process_id" in processes:
        flags += ["--process-id", str(processes["process_id"])]
    return flags


def run(
    suite_name: str,
    device_counts: list[int],
    out: Path,
    repeats: int | None = None,
    only: str | None = None,
    log=print,
    processes: dict | None = None,
    choices: dict | None = None,
) -> Path | None:
    """Run :func:`worker` in a fresh process per device count and save the comparison.

    Args:
        suite_name: suite name or path.
        device_counts: devices per worker (per process, with several).
        out: folder of run folders.
        repeats: timed calls per kernel (None: the suite's own).
        only: run only the entries this pattern names (whole fields: ``bench.run.suites.select``).
        log: where one-line messages go.
        processes: ``bench.run.hosts.settings(...)``: how the workers join (None: they do not,
            ``{}``: they detect the cluster).
        choices: the kernel's choices for every entry (``Suite.with_choices``), given to each
            worker as its command-line flags.

    Returns:
        The folder holding ``scaling.csv`` and ``meta.json``; None where the workers were not
        process 0 (nothing saved, nothing printed).
    """
    import jax

    twice = sorted({k for i, k in enumerate(device_counts) if k in device_counts[:i]})
    if twice:  # each count is one row per entry: a repeated one has no single reference row
        raise UserError(f"--devices lists {twice[0]} twice: give each device count once")
    choices = {k: v for k, v in (choices or {}).items() if v is not None}
    # fail fast on a bad suite; the folder takes its name
    suite = suites.load(suite_name).with_choices(**choices)
    suite.validate()
    chosen = suites.select(suite, only)  # before any worker starts: a pattern that names nothing
    env = envinfo.describe()
    cpu = jax.default_backend() == "cpu"
    # known from the flags; under a detected cluster, from the first worker's reply
    results, lead = [], (processes or {}).get("process_id", 0) == 0
    if only is not None and lead:
        keys = ", ".join(e.key for e in chosen)
        log(f"--only {only!r}: {len(chosen)} of {len(suite.entries)} entries: {keys}")
    for i, k in enumerate(device_counts):
        if lead:
            log(f"scaling: {k} device(s){' per process' if processes is not None else ''} ...")
        cmd = _worker_command(suite_name, k, repeats, only) + _process_flags(processes, i)
        cmd += [a for k_, v in choices.items() for a in (f"--{k_}", str(v))]
        reply = _run_worker(cmd, _worker_env(k, cpu), k)
        lead = reply["process"] == 0
        results += reply["rows"]
    if not lead:
        return None
    df = pd.DataFrame(results)
    if df.empty:
        raise UserError(f"no entry of suite {suite.name!r} ran (check --only)")
    df = against_first_count(df)
    folder = runs.write_scaling(
        out,
        suite.name,
        env,
        df,
        {
            "device_counts": device_counts,
            "processes": int(df.processes.iloc[0]),
            "forced_host_devices": cpu,
            "complete": True,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    log(df.to_string(index=False))
    log(f"saved {folder / 'scaling.csv'}")
    return folder


def _worker_command(suite_name: str, devices: int, repeats: int | None, only: str | None):
    """The command line of one worker (``python -m bench _scaling-worker ...``)."""
    cmd = [sys.executable, "-m", "bench", "_scaling-worker", "--suite", suite_name]
    cmd += ["--devices", str(devices), "--repeats", str(repeats or 0)]
    return cmd + (["--only", only] if only else [])


def _worker_env(devices: int, cpu: bool) -> dict:
    """The worker's environment: on CPU, XLA is told to make ``devices`` host devices."""
    env = dict(os.environ)
    if cpu:
        flags = env.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}".strip()
    return env


def _run_worker(cmd: list[str], env: dict, devices: int) -> dict:
    """Run one worker; its reply (the last line of its output, JSON)."""
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        if proc.returncode == 2:  # the worker's own user error, already one line
            raise UserError(f"scaling worker for {devices} device(s): {last}")
        raise RuntimeError(f"scaling worker for {devices} device(s) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def against_first_count(df: pd.DataFrame) -> pd.DataFrame:
    """Each row against its entry at the first device count: the largest relative difference of
    final losses (inf where lanes diverged at one count and not the other) and the speedup.
    The per-lane final losses are dropped."""
    first = df.devices == df.devices.iloc[0]  # the first count (a total with several processes)
    one = {
        (r.problem, r.variant, r.optimizer): np.asarray(r.final_losses)
        for r in df[first].itertuples()
    }

    def diff(r):
        ref = one[(r.problem, r.variant, r.optimizer)]
        a = np.asarray(r.final_losses)
        finite = np.isfinite(ref) & np.isfinite(a)
        same_status = np.array_equal(np.isfinite(ref), np.isfinite(a))
        rel = relative_difference(a[finite], ref[finite])
        return (
            float(rel.max()) if same_status and finite.any() else (0.0 if same_status else np.inf)
        )

    df["max_rel_diff_vs_first"] = [diff(r) for r in df.itertuples()]
    base = df[first].set_index(["problem", "variant", "optimizer"])
    df["speedup_vs_first"] = [
        base.loc[(r.problem, r.variant, r.optimizer), "run_s"] / r.run_s for r in df.itertuples()
    ]
    return df.drop(columns=["final_losses"])
