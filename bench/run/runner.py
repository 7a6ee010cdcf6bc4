"""Run a suite: build each entry's kernel, time it, turn lanes into rows, save as it goes.

The run folder (its layout, exclusive creation, the marker written last, resuming) belongs to
``bench.runs``; this module only decides what to run and hands each finished entry to it, so a
killed run loses at most the entry in progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

import gdjax
from bench import entries, envinfo, runs
from bench.errors import UserError
from bench.run import hosts, suites, timing
from bench.run.suites import Entry, Suite

# the machine every lane row names (``bench.envinfo.describe``)
ENV_COLUMNS = (
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
)


def run_entry(entry: Entry, problem, env: dict, repeats: int, sharding=None):
    """Compile, time and evaluate one entry.

    Returns:
        ``(lanes, curves, hits, kernel)``: three DataFrames (one row per lane, per lane and
        curve point, per lane and target) and the entry's ``gdjax`` kernel.
    """
    kernel = entry.kernel(problem, sharding=sharding)
    t = timing.time_kernel(kernel, repeats)
    res = kernel.to_result(t.output, run_s=t.run_s)
    keys = {
        "suite": entry.suite,
        "problem": entry.problem,
        "variant": entry.variant,
        # the column keeps its name: published runs are read as written. What ran: every
        # batch size of a problem whose rows are not samples (the quadratic) is batch GD, and
        # the result says so with batch_size n
        "kind": "batch" if res.batch_size == problem.n else entry.descent,
        "batch_size": res.batch_size,
        "optimizer": entry.optimizer,
        "schedule": res.schedule,
    }
    lanes = lane_rows(entry, problem, kernel, res, t, keys, env)
    curves = curve_rows(entry, res, seconds_per_step=t.run_s / max(res.steps_run, 1))
    hits = res.hits()
    for i, (k, v) in enumerate(keys.items()):
        hits.insert(i, k, v)
    hits["predicted_first_step"] = predicted_steps(entry, problem, hits, res.total_steps)
    return lanes, curves, hits, kernel


def lane_rows(entry: Entry, problem, kernel, res, t, keys: dict, env: dict) -> pd.DataFrame:
    """One row per lane: the entry's keys and settings, the result, its times and the machine."""
    s = entry.settings
    lanes = res.to_frame().drop(columns=["batch_size", "optimizer", "schedule", "exact"])
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
    seconds_per_step = t.run_s / max(res.steps_run, 1)
    lanes["time_to_target_s"] = lanes["steps_to_target"].astype("Float64") * seconds_per_step
    # theory beside measurement: the Hessian's extreme eigenvalues (float64)
    L, mu = problem.curvature()
    lanes["L"], lanes["mu"] = L, mu
    lanes["f_star"] = res.f_star
    lanes["f0"] = res.f0
    lanes["steps_run"] = res.steps_run
    lanes["compile_s"] = t.compile_s
    lanes["run_s"] = t.run_s
    lanes["run_s_min"] = t.run_s_min
    lanes["run_s_max"] = t.run_s_max
    lanes["repeats"] = t.repeats
    lanes["compile_cache_hit"] = t.cache_hit
    cost = step_cost(kernel)
    lanes["flops_per_step"] = cost.get("flops", np.nan)
    lanes["bytes_per_step"] = cost.get("bytes accessed", np.nan)
    lanes["gflops"] = lanes["flops_per_step"] * res.steps_run / t.run_s / 1e9
    lanes["gbytes_s"] = lanes["bytes_per_step"] * res.steps_run / t.run_s / 1e9
    lanes["lanes"] = res.num_lanes
    for k in ENV_COLUMNS:
        lanes[k] = env[k]
    lanes["timestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return lanes


def step_cost(kernel) -> dict:
    """XLA's cost analysis of one step (``{}`` where the backend has none: its columns are NaN)."""
    try:
        return kernel.step_cost()
    except NotImplementedError:  # jax's documented answer of a backend without cost analysis
        return {}


def curve_rows(entry: Entry, res, seconds_per_step: float) -> pd.DataFrame:
    """One row per lane and curve point, keyed like the lanes, with the seconds axis."""
    curves = res.curves()
    curves.insert(0, "optimizer", entry.optimizer)
    curves.insert(0, "batch_size", res.batch_size)
    curves.insert(0, "variant", entry.variant)
    curves.insert(0, "problem", entry.problem)
    curves.insert(0, "suite", entry.suite)
    curves["time_s"] = curves["step"] * seconds_per_step
    return curves


def predicted_steps(entry: Entry, problem, hits: pd.DataFrame, budget: int) -> pd.array:
    """For batch GD with plain SGD at a constant rate on least squares, the first step to each
    target predicted exactly from the spectrum (``gdjax.theory``); missing elsewhere."""
    s = entry.settings
    plain = (
        entry.batch_size is None
        and problem.offers("quadratic_view")
        and entry.optimizer == "sgd"
        # None: the suite set no schedule (the library's default, constant)
        and (s.get("schedule") or "constant") == "constant"
    )
    out = pd.array([pd.NA] * len(hits), dtype="Int64")
    if not plain:
        return out
    for lr, rows in hits.groupby("lr", sort=False):
        steps = gdjax.theory.batch_gd_steps(
            problem, float(lr), rows["target"].to_numpy(), max_steps=budget, init=s["init"]
        )
        out[rows.index.to_numpy()] = pd.array(steps, dtype="Int64")
    return out


def plain_line(lanes: pd.DataFrame, hits: pd.DataFrame) -> str:
    """An entry's line with what the run knows without a report: its lane counts at tol and
    its times. The CLI prints the report's line instead (``bench.report.ladder.entry_line``,
    with the report's best lr), passed in as ``describe``: the run stage names no best lr of
    its own.

    Args:
        lanes: the entry's lane rows.
        hits: the entry's hits (unused here; ``describe`` functions take them).
    """
    del hits
    first = lanes.iloc[0]
    status = lanes["status"].value_counts()
    counts = " ".join(f"{status.get(s, 0):>4} {s[:4]}" for s in ("converged", "diverged"))
    return (
        f"{first['problem']:<22} {first['variant']:<14} {first['optimizer']:<8} "
        f"{len(lanes):>4} lanes {counts} {status.get('max_steps', 0):>4} max | "
        f"compile {first['compile_s']:.2f} s, run {first['run_s'] * 1e3:.1f} ms"
    )


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
    describe: Callable[[pd.DataFrame, pd.DataFrame], str] = plain_line,
) -> Path:
    """Run every entry of a suite, saving each as it finishes.

    Args:
        suite: from ``bench.run.suites.load``.
        out: folder that holds run folders.
        repeats: timed repeats per kernel (default: the suite's setting).
        resume: True to continue the newest unfinished run of this suite and machine, or the
            path of a run folder to continue; False always makes a new folder.
        progress: show a progress bar over entries.
        only: run only the entries this pattern names (whole fields: ``bench.run.suites.select``).
        extra: ``extra(entry, problem, kernel, lanes) -> lanes`` adds columns (baselines).
        log: where one-line messages go.
        describe: ``describe(lanes, hits) -> str``, the line printed as each entry finishes
            and in the closing summary (the CLI passes the report's, with its best lr).

    Returns:
        The run folder; None on a process other than 0 of several (``bench.run.hosts``), which
        runs the same kernels and writes nothing.

    Raises:
        UserError: ``--only`` matches nothing, ``repeats`` < 1.
        RunFolderError: the folder to resume is not one of this suite, machine and software.
    """
    if repeats is not None and repeats < 1:
        raise UserError(f"--repeats must be >= 1, got {repeats}")
    env = envinfo.describe()
    chosen = suites.select(suite, only)
    if only is not None and hosts.is_lead():  # what a pattern matched, before anything runs
        log(
            f"--only {only!r}: {len(chosen)} of {len(suite.entries)} entries: "
            + ", ".join(e.key for e in chosen)
        )
    kw = dict(env=env, repeats=repeats, total=len(chosen), describe=describe)
    if not hosts.is_lead():
        # the same kernels as process 0, in its order; no folder, no bar, no baselines (their
        # columns would be thrown away: only process 0's lanes are saved)
        todo = hosts.share_plan(chosen, None)
        run_entries(suite, todo, None, {"wall_s": 0.0}, extra=None, progress=False, **kw)
        return None
    planned = False
    try:
        run_dir, new = choose_run_dir(suite, Path(out), env, resume, log)
        # held for the whole session: a second process can neither resume nor write this folder
        with runs.session_lock(run_dir):
            meta = start_session(suite, run_dir, env, only, new)
            done = runs.markers(run_dir)
            todo = [e for e in chosen if done.get(e.key, {}).get("fingerprint") != e.fingerprint()]
            planned = True  # from here on the others have the plan (or the broadcast failed)
            todo = hosts.share_plan(chosen, todo)
            if any(e.settings["baselines"] for e in chosen) and "roofline" not in meta:
                from bench.run import roofline

                log("measuring this machine's GEMM and copy rates (roofline)...")
                meta["roofline"] = roofline.measure()
            runs.write_meta(run_dir, meta)
            if len(todo) < len(chosen):
                skipped = len(chosen) - len(todo)
                log(f"resuming {run_dir}: {skipped} of {len(chosen)} entries already done")
            run_entries(suite, todo, run_dir, meta, extra=extra, progress=progress, **kw)
            return finish_run(suite, run_dir, meta, log, describe)
    except BaseException:
        if not planned:  # the other processes wait for the plan: tell them there is none
            hosts.share_plan(chosen, None)
        raise


def choose_run_dir(
    suite: Suite, out: Path, env: dict, resume: bool | Path, log
) -> tuple[Path, bool]:
    """The folder to resume (given, or the newest unfinished one), else a new empty one.

    Returns:
        ``(folder, new)``.
    """
    if isinstance(resume, Path):
        runs.read_meta(resume)  # a run folder, or one line saying why not
        return resume, False
    if resume:
        found = runs.find_resumable(out, suite.name, env)
        if found is not None:
            return found, False
        log(f"nothing to resume for suite {suite.name!r} in {out}; starting a new run")
    return runs.create(out, runs.run_prefix(suite.name, env)), True


def start_session(suite: Suite, run_dir: Path, env: dict, only: str | None, new: bool) -> dict:
    """The session's meta; a folder to resume is checked and made consistent first."""
    definition = runs.suite_hash((e.key, e.fingerprint()) for e in suite.entries)
    meta = {
        "wall_s": 0.0,
        "suite": suite.name,
        "suite_hash": definition,
        "description": suite.description,
        "suite_file": runs.suite_file_label(suite.path),
        "entries": [e.key for e in suite.entries],
        "only": only,
        "env": env,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": False,
    }
    if new:
        return meta
    old = runs.read_meta(run_dir)
    runs.check_resumable(old, suite.name, definition, env, run_dir)
    # wall time so far (saved after every entry, so a killed session's time is in it too)
    meta.update(started=old.get("started"), wall_s=float(old.get("wall_s", 0.0)))
    if "roofline" in old:
        meta["roofline"] = old["roofline"]
    runs.prepare_resume(run_dir)
    return meta


def run_entries(
    suite: Suite,
    todo: list[Entry],
    run_dir: Path | None,
    meta: dict,
    *,
    env: dict,
    repeats: int | None,
    extra: Callable | None,
    progress: bool,
    total: int,
    describe: Callable[[pd.DataFrame, pd.DataFrame], str] = plain_line,
) -> None:
    """Run and save each entry of ``todo``; meta.json's wall_s is brought up to date after each.

    Args:
        suite: the suite (its problem builders).
        todo: the entries to run, in order.
        run_dir: the run folder, held by this session; None to run without saving (a
            process other than 0 of several).
        meta: the session's meta (``wall_s`` is updated in place).
        env: ``envinfo.describe()``.
        repeats: timed repeats per kernel, or None for each entry's own.
        extra: see :func:`run_suite`.
        progress: show a progress bar.
        total: entries chosen for this session, done ones included (for the bar).
        describe: the line printed as each entry finishes (see :func:`run_suite`).
    """
    from tqdm.auto import tqdm

    # disable=None as well as --no-progress: no bar when stderr is not a terminal (CI logs)
    bar = tqdm(
        total=total,
        initial=total - len(todo),
        unit="entry",
        dynamic_ncols=True,
        disable=None if progress else True,
    )
    problems: dict[str, object] = {}
    sharding = gdjax.devices.lane_sharding() if env["device_count"] > 1 else None
    wall_before, t_start = meta["wall_s"], time.perf_counter()
    try:
        for e in todo:
            bar.set_description(f"{e.problem} {e.variant}")
            if e.problem not in problems:
                problems = {e.problem: suite.builders[e.problem]()}  # keep one in memory
            problem = problems[e.problem]
            # every entry is sharded: gdjax pads learning rates that do not split evenly
            lanes, curves, hits, kernel = run_entry(
                e, problem, env, repeats or e.settings["repeats"], sharding
            )
            if run_dir is None:
                continue
            if extra is not None:
                lanes = extra(e, problem, kernel, lanes)
            runs.save_entry(run_dir, e.key, e.fingerprint(), lanes, curves, hits)
            meta["wall_s"] = round(wall_before + time.perf_counter() - t_start, 3)
            runs.write_meta(run_dir, meta)
            bar.write(describe(lanes, hits))
            bar.update(1)
    finally:
        bar.close()
        meta["wall_s"] = round(wall_before + time.perf_counter() - t_start, 3)
        if run_dir is not None:
            runs.write_meta(run_dir, meta)


def summary(lanes: pd.DataFrame, hits: pd.DataFrame, describe=plain_line) -> str:
    """The run's closing summary: each entry's line as it was printed when the entry finished,
    so that it names the same best lr as the report where ``describe`` is the report's.

    Args:
        lanes: the run's lanes.
        hits: the run's hits (one row per lane and target).
        describe: ``describe(lanes, hits) -> str``, one entry's line.

    Returns:
        One line per entry, in the order of ``lanes``.
    """
    lines = []
    for key, entry_lanes in lanes.groupby(entries.ENTRY, sort=False):
        same = (hits[entries.ENTRY] == pd.Series(key, index=entries.ENTRY)).all(axis=1)
        lines.append(describe(entry_lanes, hits[same]))
    return "\n".join(lines)


def finish_run(suite: Suite, run_dir: Path, meta: dict, log, describe=plain_line) -> Path:
    """Write the run's tables, mark it complete when every entry is done, print the summary."""
    keys = [e.key for e in suite.entries]
    lanes = runs.finish(run_dir, keys)
    done = runs.markers(run_dir)
    missing = [k for k in keys if k not in done]
    meta["complete"] = not missing
    if not missing:
        meta["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    runs.write_meta(run_dir, meta)
    if len(lanes):
        log("")
        log(summary(lanes, runs.read_hits(run_dir), describe))
    log(f"\nsaved {len(lanes)} lanes of {len(keys) - len(missing)} entries in {run_dir}")
    if missing:
        log(
            f"{len(missing)} of {len(keys)} entries of the suite are not run yet (--only): "
            "the run is not complete; finish it with --resume"
        )
    return run_dir
