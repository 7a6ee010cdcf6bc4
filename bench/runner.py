"""Run a suite: build each entry's kernel, time it, turn lanes into rows, save as it goes.

Layout of one run (``OUT/<suite>__<backend>-<device>__<timestamp>/``)::

    meta.json                  suite, machine, entries done; "complete" once all are
    parts/<entry>.lanes.parquet, parts/<entry>.curves.parquet, parts/<entry>.json (marker, last)
    lanes.parquet, lanes.csv   one row per lane (written after every entry)
    curves.parquet, curves.csv.gz  one row per (lane, evaluation)

Every finished entry is written (temp file, then rename) before the next starts, so a killed run
loses at most the entry in progress; ``--resume`` finds the newest unfinished run of the same
suite and machine and skips every entry whose part is there with the same definition.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

import gdjax
from bench import envinfo, tables, timing
from bench.suites import Entry, Suite


def slug(text: str) -> str:
    """File-name-safe form of a device kind or name."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()


def run_prefix(suite: str, env: dict) -> str:
    """Leading part of a run folder name: suite, backend and device."""
    return f"{suite}__{env['backend']}-{slug(env['device_kind'])}"


def find_resumable(out: Path, suite: str, env: dict) -> Path | None:
    """The newest unfinished run folder of this suite on this backend and device, if any."""
    prefix = run_prefix(suite, env) + "__"
    for d in sorted(out.glob(prefix + "*"), reverse=True):
        meta = d / "meta.json"
        if not meta.is_file():
            continue
        m = json.loads(meta.read_text())
        if m.get("complete"):
            continue
        try:  # the folder name says suite, backend and device; the rest must match too
            check_resumable(m, suite, env, d)
        except ValueError:
            continue
        return d
    return None


def check_resumable(old_meta: dict, suite: str, env: dict, run_dir: Path) -> None:
    """Refuse to add to a run folder of another suite, machine or software stack.

    Raises:
        ValueError: naming what differs.
    """
    if old_meta.get("suite") != suite:
        raise ValueError(
            f"--resume {run_dir}: a run of suite {old_meta.get('suite')!r}, not {suite!r}"
        )
    old_env = old_meta.get("env", {})
    for k in (
        "backend",
        "device_kind",
        "device_count",
        "host",
        "x64",
        "jax_version",
        "jaxlib_version",
        "optax_version",
    ):
        if old_env.get(k) != env.get(k):
            raise ValueError(
                f"--resume {run_dir}: it ran with {k} = {old_env.get(k)!r}, this is "
                f"{env.get(k)!r}; its rows would not be comparable: start a new run"
            )


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda p: p.write_text(json.dumps(obj, indent=2, default=str) + "\n"))


def run_entry(entry: Entry, problem, env: dict, repeats: int, sharding=None):
    """Compile, time and evaluate one entry.

    Returns:
        ``(lanes, curves, kernel)``: two DataFrames and the entry's ``gdjax`` kernel.
    """
    s = entry.settings
    kernel = entry.kernel(problem, sharding=sharding)
    t = timing.time_kernel(kernel, repeats)
    res = kernel.to_result(t.output)
    lanes = res.to_frame()
    seconds_per_step = t.run_s / max(res.steps_run, 1)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    keys = {
        "suite": entry.suite,
        "problem": entry.problem,
        "variant": entry.variant,
        "kind": entry.kind,
        "batch_size": res.batch_size,
        "optimizer": entry.optimizer,
    }
    lanes = lanes.drop(columns=["batch_size", "optimizer"])
    meta_cols = {
        **keys,
        "n": problem.n,
        "d": problem.d,
        "epochs": s["epochs"],
        "steps": res.total_steps,
        "steps_per_epoch": res.steps_per_epoch,
        "eval_every": s["eval_every"],
        "exact": kernel.config.exact,
        "tol": s["tol"],
        "dtype": str(problem.dtype),
    }
    lanes = pd.concat([pd.DataFrame(meta_cols, index=lanes.index), lanes], axis=1)
    lanes["time_to_target_s"] = lanes["steps_to_target"].astype("Float64") * seconds_per_step
    lanes["f_star"] = res.f_star
    lanes["f0"] = res.f0
    lanes["steps_run"] = res.steps_run
    lanes["compile_s"] = t.compile_s
    lanes["run_s"] = t.run_s
    lanes["run_s_min"] = t.run_s_min
    lanes["run_s_max"] = t.run_s_max
    lanes["repeats"] = t.repeats
    lanes["compile_cache_hit"] = t.cache_hit
    try:
        cost = kernel.step_cost()
    except Exception:  # cost analysis is optional on some backends
        cost = {}
    lanes["flops_per_step"] = cost.get("flops", np.nan)
    lanes["bytes_per_step"] = cost.get("bytes accessed", np.nan)
    lanes["gflops"] = lanes["flops_per_step"] * res.steps_run / t.run_s / 1e9
    lanes["gbytes_s"] = lanes["bytes_per_step"] * res.steps_run / t.run_s / 1e9
    lanes["lanes"] = res.num_lanes
    for k in (
        "backend",
        "device_kind",
        "device_count",
        "jax_version",
        "jaxlib_version",
        "optax_version",
        "x64",
        "host",
        "cpu",
        "git_sha",
    ):
        lanes[k] = env[k]
    lanes["timestamp"] = stamp
    curves = res.curves()
    curves.insert(0, "optimizer", entry.optimizer)
    curves.insert(0, "batch_size", res.batch_size)
    curves.insert(0, "variant", entry.variant)
    curves.insert(0, "problem", entry.problem)
    curves.insert(0, "suite", entry.suite)
    curves["time_s"] = curves["step"] * seconds_per_step
    return lanes, curves, kernel


def combine(run_dir: Path, keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate the saved parts of ``keys`` (in suite order) and write the run's tables."""
    parts = run_dir / "parts"
    done = [k for k in keys if (parts / f"{k}.json").is_file()]
    if not done:
        return pd.DataFrame(), pd.DataFrame()
    lanes = pd.concat(
        [pd.read_parquet(parts / f"{k}.lanes.parquet") for k in done], ignore_index=True
    )
    curves = pd.concat(
        [pd.read_parquet(parts / f"{k}.curves.parquet") for k in done], ignore_index=True
    )
    atomic_write(run_dir / "lanes.parquet", lambda p: lanes.to_parquet(p, index=False))
    atomic_write(run_dir / "lanes.csv", lambda p: lanes.to_csv(p, index=False))
    atomic_write(run_dir / "curves.parquet", lambda p: curves.to_parquet(p, index=False))
    atomic_write(
        run_dir / "curves.csv.gz",
        lambda p: curves.to_csv(p, index=False, compression={"method": "gzip", "mtime": 0}),
    )
    return lanes, curves


def run_suite(
    suite: Suite,
    out: Path,
    *,
    repeats: int | None = None,
    resume: bool | Path = False,
    progress: bool = True,
    only: str | None = None,
    extra: Callable | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Run every entry of a suite, saving each as it finishes.

    Args:
        suite: from ``bench.suites.load``.
        out: folder that holds run folders.
        repeats: timed repeats per kernel (default: the suite's setting).
        resume: True to continue the newest unfinished run of this suite and machine, or the
            path of a run folder to continue.
        progress: show a progress bar over entries.
        only: run only entries whose key contains this text.
        extra: ``extra(entry, problem, kernel, lanes) -> lanes`` adds columns (baselines).
        log: where one-line messages go.

    Returns:
        The run folder.
    """
    env = envinfo.describe()
    out = Path(out)
    entries = suite.entries  # the run is complete when all of them are done
    chosen = [e for e in entries if only is None or only in e.key]
    if not chosen:
        raise ValueError(f"no entry of suite {suite.name!r} matches --only {only!r}")
    run_dir = None
    if isinstance(resume, Path):
        run_dir = resume
        if not (run_dir / "meta.json").is_file():
            raise ValueError(f"--resume {run_dir}: not a run folder (no meta.json)")
    elif resume:
        run_dir = find_resumable(out, suite.name, env)
        if run_dir is None:
            log(f"nothing to resume for suite {suite.name!r} in {out}; starting a new run")
    if run_dir is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        run_dir = out / f"{run_prefix(suite.name, env)}__{stamp}"
    parts = run_dir / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    meta = {
        "wall_s": 0.0,
        "suite": suite.name,
        "description": suite.description,
        "suite_file": str(suite.path),
        "entries": [e.key for e in entries],
        "only": only,
        "env": env,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": False,
    }
    if (run_dir / "meta.json").is_file():
        old = json.loads((run_dir / "meta.json").read_text())
        check_resumable(old, suite.name, env, run_dir)
        meta["started"] = old.get("started")
        meta["wall_s"] = old.get("wall_s", 0.0)
        if "roofline" in old:
            meta["roofline"] = old["roofline"]
    if any(e.settings["baselines"] for e in chosen) and "roofline" not in meta:
        from bench import roofline

        log("measuring this machine's GEMM and copy rates (roofline)...")
        meta["roofline"] = roofline.measure()
    write_json(run_dir / "meta.json", meta)

    def done(e: Entry) -> bool:
        marker = parts / f"{e.key}.json"
        return (
            marker.is_file()
            and json.loads(marker.read_text()).get("fingerprint") == e.fingerprint()
        )

    todo = [e for e in chosen if not done(e)]
    if len(todo) < len(chosen):
        log(f"resuming {run_dir}: {len(chosen) - len(todo)} of {len(chosen)} entries already done")
    bar = _progress(len(chosen), initial=len(chosen) - len(todo), enabled=progress)
    problems: dict[str, object] = {}
    sharding = gdjax.devices.lane_sharding() if env["device_count"] > 1 else None
    t_start = time.perf_counter()
    try:
        for e in todo:
            bar.set_description(f"{e.problem} {e.variant}")
            if e.problem not in problems:
                problems = {e.problem: suite.builders[e.problem]()}  # keep one in memory
            problem = problems[e.problem]
            use = (
                sharding
                if sharding is not None and len(e.settings["lrs"]) % env["device_count"] == 0
                else None
            )
            lanes, curves, kernel = run_entry(
                e, problem, env, repeats or e.settings["repeats"], use
            )
            if extra is not None:
                lanes = extra(e, problem, kernel, lanes)
            for name, df in (("lanes", lanes), ("curves", curves)):
                atomic_write(parts / f"{e.key}.{name}.parquet", partial(df.to_parquet, index=False))
            write_json(parts / f"{e.key}.json", {"fingerprint": e.fingerprint(), "key": e.key})
            combine(run_dir, [x.key for x in entries])
            bar.write(tables.entry_line(lanes))
            bar.update(1)
    finally:
        bar.close()
        # summed over sessions, so a resumed run reports all the time it took
        meta["wall_s"] = round(meta["wall_s"] + time.perf_counter() - t_start, 3)
        write_json(run_dir / "meta.json", meta)
    lanes, _ = combine(run_dir, [x.key for x in entries])
    missing = [e.key for e in entries if not done(e)]
    meta["complete"] = not missing
    if not missing:
        meta["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_json(run_dir / "meta.json", meta)
    if len(lanes):
        log("")
        log(tables.summary(lanes).to_string(index=False))
    log(f"\nsaved {len(lanes)} lanes of {len(entries) - len(missing)} entries in {run_dir}")
    if missing:
        log(
            f"{len(missing)} of {len(entries)} entries of the suite are not run yet (--only): "
            "the run is not complete; finish it with --resume"
        )
    return run_dir


class _NoBar:
    def __init__(self):
        self.n = 0

    def set_description(self, text):
        del text

    def write(self, text):
        print(text, flush=True)

    def update(self, k):
        self.n += k

    def close(self):
        pass


def _progress(total: int, initial: int, enabled: bool):
    if not enabled:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    # disable=None: no bar when stderr is not a terminal (CI logs stay readable)
    return tqdm(total=total, initial=initial, unit="entry", dynamic_ncols=True, disable=None)
