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

import pandas as pd

import gdjax
from bench import entries, envinfo, runs
from bench.errors import UserError
from bench.run import entry_run, hosts, suites
from bench.run.suites import Entry, Suite


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
        # each problem's suite table (source, factory and its keywords): what the report
        # reads problem by problem (the double well's tilt)
        "problems": {e.problem: e.problem_def for e in suite.entries},
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
            out = entry_run.evaluate(e, problem, env, repeats or e.settings["repeats"], sharding)
            lanes, curves, hits, kernel = out[:4]
            if run_dir is None:
                continue
            if extra is not None:
                lanes = extra(e, problem, kernel, lanes)
            params = entry_run.trajectory_rows(e, problem, out)
            runs.save_entry(run_dir, e.key, e.fingerprint(), lanes, curves, hits, params)
            meta["wall_s"] = round(wall_before + time.perf_counter() - t_start, 3)
            runs.write_meta(run_dir, meta)
            # one line per optimizer of the entry: each combination of a hyperparameter grid
            bar.write(summary(lanes, hits, describe))
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
