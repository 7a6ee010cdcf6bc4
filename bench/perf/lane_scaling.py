"""Scaling over lanes: one entry's sweep at 64, 256, 1024, ... lanes, against its bare program.

``python -m bench scaling --suite perf --lanes 64 256 1024 4096`` times one entry of the suite
(``--only``; the suite's first entry without it: the perf suite's minibatch workload) at each
lane count: gdjax's compiled kernel with its booking (``Kernel.execute``) and the bare
``jit(vmap(scan))`` program of the same arithmetic (``bench.perf.baselines.jax_scan``), called
in turn (``bench.run.timing.time_alternating``), medians. Beside them: XLA's cost analysis of one
step of gdjax's kernel (flops and bytes of every lane, ``Kernel.step_cost``, as the lane rows'
``flops_per_step`` and ``bytes_per_step``), the achieved GFLOP/s and GB/s, and this machine's
roofline (``bench.run.roofline``, measured once per command).

The lanes are one seed (the entry's first) and L learning rates: the entry's own rates when L is
their count, else L rates geometrically spaced over the same range. Everything runs in this
process on the default device. The table is saved as ``lane_scaling.csv`` in a folder of its own
(``bench.runs.write_lane_scaling``).

Example:
    >>> lane_rates([1e-3, 1e-2, 1e-1], 5).round(4).tolist()
    [0.001, 0.0032, 0.01, 0.0316, 0.1]
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from bench import envinfo, runs
from bench.errors import UserError
from bench.perf.baselines import jax_scan
from bench.run import entry_run, roofline, suites, timing

__all__ = ["lane_rates", "measure", "run"]


def lane_rates(rates, lanes: int) -> np.ndarray:
    """``lanes`` learning rates: ``rates`` themselves when there are that many, else a geomspace
    over their range (float64; the kernel casts them to the problem's dtype).

    Args:
        rates: the entry's learning rates (positive).
        lanes: how many lanes, >= 1.

    Returns:
        A 1-D array of ``lanes`` rates, ascending where they are spread.
    """
    rates = np.asarray(rates, np.float64)
    if lanes == rates.size:
        return rates
    return np.geomspace(rates.min(), rates.max(), lanes)


def measure(entry, problem, lanes: int, repeats: int, roof: dict | None) -> dict:
    """Time ``entry`` on ``problem`` at ``lanes`` lanes: gdjax and the bare program in turn.

    Args:
        entry: a suite entry (plain SGD: the bare program is plain SGD).
        problem: its problem, built.
        lanes: learning rates of one seed.
        repeats: rounds of calls at least (more until 0.25 s of gdjax's are covered).
        roof: ``bench.run.roofline.measure()``, or None (its columns are then NaN).
            ``of_gemm`` is the achieved GFLOP/s over its GEMM rate (the compute roof);
            ``of_copy`` the achieved GB/s over its copy rate, measured from memory: a step's
            bytes (every operand read, cache hits included) can move faster, so only
            ``of_gemm`` is a ceiling.

    Returns:
        One row: the entry's keys, the lanes, the kernel's choices, the medians (and extremes)
        of both programs, their ratio, the bare program's final-loss gap from gdjax's, the
        cost analysis of one step and the rates it implies.
    """
    seed = entry.settings["seeds"][0]
    kernel = entry.kernel(problem, lrs=lane_rates(entry.settings["lrs"], lanes), seeds=[seed])
    compiled, compile_s, _ = timing.compile_kernel(kernel)
    gdjax_call = lambda: kernel.execute(compiled)  # noqa: E731 - the call timed
    res = kernel.to_result(gdjax_call())
    frame = res.to_frame()
    bare = jax_scan(problem, frame, entry)
    (mine, theirs), outs = timing.time_alternating([gdjax_call, bare.call], repeats)
    gdjax_s, bare_s = statistics.median(mine), statistics.median(theirs)
    cost = entry_run.step_cost(kernel)
    flops, nbytes = cost.get("flops", np.nan), cost.get("bytes accessed", np.nan)
    gflops = flops * res.steps_run / gdjax_s / 1e9
    gbytes_s = nbytes * res.steps_run / gdjax_s / 1e9
    gemm, copy = (roof["gemm_gflops"], roof["copy_gbs"]) if roof else (np.nan, np.nan)
    return {
        "problem": entry.problem,
        "variant": entry.variant,
        "optimizer": entry.optimizer,
        "lanes": res.num_lanes,
        "n": problem.n,
        "d": problem.d,
        "batch_size": res.batch_size,
        "steps": res.steps_run,
        "precision": kernel.config.precision,
        "chunk": kernel.config.chunk,
        "unroll": kernel.config.unroll,
        "compile_s": compile_s,
        "rounds": len(mine),
        "gdjax_s": gdjax_s,
        "gdjax_s_min": min(mine),
        "gdjax_s_max": max(mine),
        "bare_s": bare_s,
        "bare_s_min": min(theirs),
        "bare_s_max": max(theirs),
        "gdjax_vs_bare": gdjax_s / bare_s,
        "bare_max_rel_diff": bare.max_rel_diff(outs[1]),
        "flops_per_step": flops,
        "bytes_per_step": nbytes,
        "gflops": gflops,
        "gbytes_s": gbytes_s,
        # the roofline's compute roof; the copy rate is measured from memory, and a step's
        # operands (cache hits counted) can move faster than that: no ceiling for them
        "of_gemm": gflops / gemm,
        "of_copy": gbytes_s / copy,
    }


def run(
    suite_name: str,
    lane_counts: list[int],
    out: Path,
    repeats: int | None = None,
    only: str | None = None,
    log: Callable[[str], None] = print,
    choices: dict | None = None,
) -> Path:
    """Time one entry at every lane count (:func:`measure`) and save the table.

    Args:
        suite_name: suite name or path.
        lane_counts: lanes, each once.
        out: folder of run folders.
        repeats: rounds of calls per lane count (None: the suite's own).
        only: the entry (``bench.run.suites.select``; it must name one); None: the first.
        log: where one-line messages go.
        choices: the kernel's choices (``Suite.with_choices``: precision, ...).

    Returns:
        The folder holding ``lane_scaling.csv`` and ``meta.json``.

    Raises:
        UserError: a lane count given twice, a pattern naming no entry or several, an entry
            that is not plain SGD or that stops lanes early.
    """
    twice = sorted({k for i, k in enumerate(lane_counts) if k in lane_counts[:i]})
    if twice:
        raise UserError(f"--lanes lists {twice[0]} twice: give each lane count once")
    choices = {k: v for k, v in (choices or {}).items() if v is not None}
    suite = suites.load(suite_name).with_choices(**choices)
    chosen = suites.select(suite, only)
    if len(chosen) != 1 and only is not None:
        keys = ", ".join(e.key for e in chosen)
        raise UserError(f"--lanes times one entry; --only {only!r} names {len(chosen)}: {keys}")
    entry = chosen[0]
    if not entry.plain_sgd:
        raise UserError(f"--lanes: {entry.key} is not plain SGD, the bare program's update")
    if entry.settings["early_stop"]:
        raise UserError(
            f"--lanes: {entry.key} stops lanes early; the bare program runs every step "
            "(set early_stop = false)"
        )
    env = envinfo.describe()
    roof = roofline.measure()
    problem = suite.builders[entry.problem]()
    rows = []
    for k in lane_counts:
        log(f"lane scaling: {entry.key} at {k} lanes ...")
        rows.append(measure(entry, problem, k, repeats or entry.settings["repeats"], roof))
    df = pd.DataFrame(rows)
    folder = runs.write_lane_scaling(
        out,
        suite.name,
        env,
        df,
        {
            "entry": entry.key,
            "lane_counts": lane_counts,
            "roofline": roof,
            "complete": True,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    cols = ["lanes", "gdjax_s", "bare_s", "gdjax_vs_bare", "gflops", "gbytes_s", "of_gemm"]
    log(df[cols].to_string(index=False))
    log(f"saved {folder / runs.LANE_SCALING}")
    return folder
