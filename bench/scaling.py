"""Scaling over devices: the same sweeps with their lanes sharded over 1, 2, ... devices.

``python -m bench scaling --suite perf --devices 1 2`` runs every entry of the suite once per
device count, each in a fresh process (on a CPU the devices are made with
``XLA_FLAGS=--xla_force_host_platform_device_count=K``, which splits the host's cores; on a GPU
or TPU host the first K real devices are used). It checks that every device count gives the same
losses as one device and saves ``scaling.csv`` in a run folder of its own.
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

from bench import envinfo, runs, suites, timing
from bench.errors import UserError


def worker(suite_name: str, devices: int, repeats: int, only: str | None) -> list[dict]:
    """Time every entry with its lanes sharded over the first ``devices`` devices (in-process)."""
    import jax

    import gdjax

    available = jax.devices()
    if len(available) < devices:
        raise UserError(f"asked for {devices} devices, {len(available)} available")
    sharding = gdjax.devices.lane_sharding(available[:devices])
    suite = suites.load(suite_name)
    rows = []
    for e in suite.entries:
        if only and only not in e.key:
            continue
        s = e.settings
        problem = suite.builders[e.problem]()
        kernel = e.kernel(problem, sharding=sharding if devices > 1 else None)
        t = timing.time_kernel(kernel, repeats or s["repeats"])
        res = kernel.to_result(t.output)
        rows.append(
            {
                "problem": e.problem,
                "variant": e.variant,
                "optimizer": e.optimizer,
                "lanes": res.num_lanes,
                "devices": devices,
                "compile_s": t.compile_s,
                "run_s": t.run_s,
                "run_s_min": t.run_s_min,
                "run_s_max": t.run_s_max,
                "final_losses": res.to_frame()["final_loss"].tolist(),
            }
        )
    return rows


def run(
    suite_name: str,
    device_counts: list[int],
    out: Path,
    repeats: int | None = None,
    only: str | None = None,
    log=print,
) -> Path:
    """Run :func:`worker` in a fresh process per device count and save the comparison.

    Returns:
        The folder holding ``scaling.csv`` and ``meta.json``.
    """
    import jax

    label = suites.load(suite_name).name  # fail fast on a bad suite; the folder takes its name
    env = envinfo.describe()
    cpu = jax.default_backend() == "cpu"
    results = []
    for k in device_counts:
        child_env = dict(os.environ)
        if cpu:
            flags = child_env.get("XLA_FLAGS", "")
            child_env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={k}".strip()
        cmd = [
            sys.executable,
            "-m",
            "bench",
            "_scaling-worker",
            "--suite",
            suite_name,
            "--devices",
            str(k),
            "--repeats",
            str(repeats or 0),
        ]
        if only:
            cmd += ["--only", only]
        log(f"scaling: {k} device(s) ...")
        proc = subprocess.run(cmd, env=child_env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            if proc.returncode == 2:  # the worker's own user error, already one line
                raise UserError(f"scaling worker for {k} device(s): {last}")
            raise RuntimeError(f"scaling worker for {k} device(s) failed:\n{proc.stderr[-3000:]}")
        results += json.loads(proc.stdout.strip().splitlines()[-1])
    df = pd.DataFrame(results)
    if df.empty:
        raise UserError(f"no entry of suite {label!r} ran (check --only)")
    one = {
        (r.problem, r.variant, r.optimizer): np.asarray(r.final_losses)
        for r in df[df.devices == device_counts[0]].itertuples()
    }

    def diff(r):
        ref = one[(r.problem, r.variant, r.optimizer)]
        a = np.asarray(r.final_losses)
        finite = np.isfinite(ref) & np.isfinite(a)
        same_status = np.array_equal(np.isfinite(ref), np.isfinite(a))
        rel = np.abs(a[finite] - ref[finite]) / np.maximum(np.abs(ref[finite]), 1e-30)
        return (
            float(rel.max()) if same_status and finite.any() else (0.0 if same_status else np.inf)
        )

    df["max_rel_diff_vs_first"] = [diff(r) for r in df.itertuples()]
    base = df[df.devices == device_counts[0]].set_index(["problem", "variant", "optimizer"])
    df["speedup_vs_first"] = [
        base.loc[(r.problem, r.variant, r.optimizer), "run_s"] / r.run_s for r in df.itertuples()
    ]
    df = df.drop(columns=["final_losses"])
    folder = runs.write_scaling(
        out,
        label,
        env,
        df,
        {
            "device_counts": device_counts,
            "forced_host_devices": cpu,
            "complete": True,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    log(df.to_string(index=False))
    log(f"saved {folder / 'scaling.csv'}")
    return folder
