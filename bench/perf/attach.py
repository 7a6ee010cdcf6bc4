"""Speed baselines: what gdjax's sweeps are timed beside, and their columns in a perf run's lanes.

Each baseline runs the same problem, rows, permutations and learning rates as the gdjax entry it
stands beside, and its own independent implementation of the update:

- ``numpy``, ``torch`` and ``jax-loop``: the loops people write today, one configuration at a
  time (:mod:`bench.perf.loops`; torch is skipped, with a note, when it is not installed);
- ``sklearn``: scikit-learn's SGD, one fit per learning rate, where it runs the same algorithm
  (per-sample SGD on least squares and logistic regression); beside it gdjax's first call
  against its fits: the crossover in lanes and a new process's first call, cache cold and warm
  (:mod:`bench.perf.first_call`);
- ``single``: gdjax itself, one lane per compiled call (what a sweep saves over separate runs);
- ``jax-scan``: the bare program of about 25 lines, ``jit(vmap(scan))`` over rows drawn ahead,
  with no monitoring, no status and no early stop: the floor gdjax's kernel is measured
  against (:mod:`bench.perf.baselines`). It runs every lane of a seed at once, like gdjax, so
  it is timed whole, not scaled.
  Beside it, the floor of gdjax's monitoring: ``jax-scan + loss`` (every step's loss, where
  gdjax monitors exactly) or ``jax-scan + checks`` (the full-data loss at the points of an
  ``eval_every`` grid);
- ``seeds``: gdjax on the same number of lanes split as 4 seeds x L/4 learning rates, against
  the entry's 1 seed x L (lanes of different seeds see different rows); beside it the same
  split of the bare program, its floor;
- ``monitoring``: gdjax with exact per-step monitoring off (the loss checked on the entry's
  evaluation grid only), against the entry's default: what exact counts cost.

Timing a baseline over every lane of a 64-lane grid would take minutes, so each baseline times
``baseline_lanes`` lanes (evenly spread over the lanes gdjax did not see diverge) and scales its
median per-lane time to the whole grid; the rows record both. Each timed lane's final full-data
loss is checked against gdjax's for the same lane.

Only plain SGD has baselines. ``jax-scan``, ``jax-loop``, ``single``, ``seeds`` and
``monitoring`` run the problem's own loss, any loss; ``numpy`` and ``torch`` write it again,
for least squares, logistic and softmax and for the custom losses of :mod:`bench.perf.twins`
(:func:`bench.perf.loops.unsupported`); a baseline that cannot run gets a note instead of
numbers.
"""

from __future__ import annotations

import functools
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import gdjax
from bench.entries import relative_difference
from bench.perf import first_call, loops, sklearn_fits
from bench.perf.baselines import (
    LOSS_FLOOR,
    bare_seed_split,
    jax_scan,
    jax_scan_checks,
    jax_scan_loss,
    seed_split,
)
from bench.perf.loops import step_rows
from bench.run import suites, timing

__all__ = ["NAMES", "attach", "missing_torch_line", "pick_lanes"]

NAMES = suites.BASELINES
COMPILE_ROUNDS = 3  # cold compiles of gdjax and jax-scan timed in turn


def missing_torch_line(entries) -> str | None:
    """One line for a run whose entries ask for the torch baseline when torch is missing
    (otherwise the skip would only show in each lane's ``baseline_note`` column), else None."""
    wanted = any("torch" in e.settings["baselines"] for e in entries)
    return (
        f"torch baseline skipped: {loops.TORCH_MISSING}"
        if wanted and not loops.torch_available()
        else None
    )


def _in_turn(gdjax_call, kernel, repeats: int) -> tuple[float, float]:
    """Median seconds of gdjax's kernel and of another ``kernel``, timed in turn."""
    compiled = kernel.lower().compile()
    (mine, other), _ = timing.time_alternating(
        [gdjax_call, functools.partial(kernel.execute, compiled)], repeats
    )
    return statistics.median(mine), statistics.median(other)


def pick_lanes(lanes: pd.DataFrame, k: int) -> list[int]:
    """Up to ``k`` row positions evenly spread over the lanes gdjax did not see diverge."""
    ok = np.flatnonzero((lanes["status"] != "diverged").to_numpy())
    if len(ok) == 0:
        return []
    pos = np.unique(np.linspace(0, len(ok) - 1, min(k, len(ok))).round().astype(int))
    return [int(ok[i]) for i in pos]


def _attach_bare(lanes, problem, kernel, entry, gdjax_call, cold, repeats, notes) -> None:
    """Columns of gdjax against jax-scan and the floor of its monitoring: with exact
    monitoring jax-scan + loss, on a grid of ``eval_every`` jax-scan + checks.

    ``vs_jax-scan``: gdjax's run time over jax-scan's (above 1: slower; the issue's "at most
    1.1x"); ``loss_floor``: jax-scan + loss over jax-scan, what recording every step's loss
    costs the bare program itself; ``checks_floor``: jax-scan + checks over jax-scan, what the
    grid's full-data checks cost it; ``compile_vs_jax-scan``: the cold compiles' ratio.
    """
    bare = jax_scan(problem, lanes, entry)
    try:
        floor = jax_scan_loss(problem, kernel, lanes, entry)
    except ValueError as e:  # its rows, gathered ahead, would not fit in memory
        floor = None
        notes.append(str(e))
    # exact monitoring's floor is jax-scan + loss; grid monitoring's, jax-scan + checks
    name, ratio = ("jax-scan-loss", "loss_floor") if floor else ("jax-scan-checks", "checks_floor")
    floor = floor or jax_scan_checks(problem, kernel, lanes, entry)
    programs = [gdjax_call, bare.call] + ([floor.call] if floor else [])
    times, outs = timing.time_alternating(programs, repeats)
    medians = [statistics.median(t) for t in times]
    seeds = lanes["seed"].nunique()
    lanes["jax-scan_gdjax_s"] = medians[0]
    lanes["jax-scan_s"] = medians[1] * seeds
    lanes["jax-scan_max_rel_diff"] = bare.max_rel_diff(outs[1])
    lanes["vs_jax-scan"] = lanes["jax-scan_gdjax_s"] / lanes["jax-scan_s"]
    if floor:
        lanes[f"{name}_s"] = medians[2] * seeds
        lanes[f"{name}_max_rel_diff"] = floor.max_rel_diff(outs[2])
        lanes[ratio] = medians[2] / medians[1]
    # cold compiles in turn too, a few of each (medians): one is half a second of a machine
    # whose speed drifts by a third within a minute
    colds, bares, floors = [cold], [], []
    for i in range(COMPILE_ROUNDS):
        if i:
            colds.append(timing.cold_compile(kernel.lower)[1])
        bares.append(timing.cold_compile(bare.lower)[1])
        if floor:
            floors.append(timing.cold_compile(floor.lower)[1])
    lanes["compile_cold_s"] = statistics.median(colds)
    lanes["jax-scan_compile_s"] = statistics.median(bares)
    lanes["compile_vs_jax-scan"] = lanes["compile_cold_s"] / lanes["jax-scan_compile_s"]
    if floor:
        lanes[f"{name}_compile_s"] = statistics.median(floors)


def _attach_seeds(lanes, problem, entry, gdjax_call, repeats: int, notes) -> None:
    """Columns of 4 seeds x L/4 rates against 1 seed x L: gdjax's ratio, ``seeds4_vs_one_seed``,
    and the bare program's, ``seeds4_floor`` (the four programs called in turn)."""
    split = seed_split(problem, entry, lanes)
    programs = [gdjax_call, functools.partial(split.execute, split.lower().compile())]
    try:
        bare = bare_seed_split(problem, lanes, entry)
    except ValueError as e:  # its rows, gathered ahead, would not fit in memory
        bare = None
        notes.append(str(e))
    programs += [bare[0].call, bare[1].call] if bare else []
    times, outs = timing.time_alternating(programs, repeats)
    medians = [statistics.median(t) for t in times]
    lanes["seeds4_gdjax_s"], lanes["seeds4_s"] = medians[0], medians[1]
    lanes["seeds4_vs_one_seed"] = medians[1] / medians[0]
    if bare:
        lanes["seeds4_floor"] = medians[3] / medians[2]
        finals, status = np.asarray(outs[1].final_loss), np.asarray(outs[1].status)
        lanes["seeds4_floor_max_rel_diff"] = max(
            bare[0].max_rel_diff(outs[2]),
            bare[1].max_rel_diff(outs[3], finals, status != gdjax.metrics.DIVERGED),
        )


def _sklearn_skip(problem, batch_size: int) -> str | None:
    """Why the scikit-learn baseline cannot run on this entry, or None."""
    if not sklearn_fits.available():
        return f"sklearn: {sklearn_fits.MISSING}"
    if not sklearn_fits.applies(problem, batch_size):
        return "sklearn: scikit-learn's SGD is per-sample (batch 1) on linear and logistic only"
    return None


def _attach_first_call(lanes, entry, problem, fit_s: float, seed: int) -> None:
    """gdjax's first call against scikit-learn's fits of ``fit_s`` seconds each.

    ``first_call_<L>_s``: gdjax's cold first call (compile and one run) with L lanes;
    ``sklearn_crossover_lanes``: the smallest such L where it beats L fits (NaN: none);
    ``sklearn_crossover_fit``: the lane count where a line through those times meets L fits;
    ``first_call_process_cold_s`` / ``_warm_s``: a new process's first ``gdjax.sweep`` of the
    entry, its library cache empty, then filled by the first.
    """
    calls = first_call.cold_first_calls(entry, problem, seed)
    for k, v in calls.items():
        lanes[f"first_call_{k}_s"] = v
    measured, fitted = first_call.crossover(calls, fit_s)
    lanes["sklearn_crossover_lanes"] = measured
    lanes["sklearn_crossover_fit"] = fitted
    cold, warm = first_call.new_process_first_calls(problem, entry.sweep_args())
    lanes["first_call_process_cold_s"] = cold
    lanes["first_call_process_warm_s"] = warm


def attach(entry, problem, kernel, lanes: pd.DataFrame) -> pd.DataFrame:
    """Run the baselines the suite asks for and add their columns to ``lanes``.

    For each baseline B: ``B_lane_s`` (median seconds of one lane), ``B_s`` (scaled to every
    lane), ``B_lanes_timed``, ``speedup_B`` (``B_s / run_s``), ``speedup_B_with_compile``
    (``B_s / (run_s + compile_s)``) and ``B_max_rel_diff`` (largest relative difference of a
    timed lane's final loss from gdjax's). ``baseline_note`` says why a baseline is missing.
    """
    wanted = list(entry.settings["baselines"])
    if not wanted:
        return lanes
    lanes = lanes.copy()
    notes = []
    if not entry.plain_sgd:
        lanes["baseline_note"] = "baselines cover plain sgd only"
        return lanes
    for name in list(wanted):
        why = loops.unsupported(problem, name)
        if why is not None:
            wanted.remove(name)
            notes.append(why)
    if not wanted:
        lanes["baseline_note"] = "; ".join(notes)
        return lanes
    s = entry.settings
    b = entry.batch_size or problem.n
    chosen = pick_lanes(lanes, s["baseline_lanes"])
    run_s = float(lanes["run_s"].iloc[0])
    # compile-inclusive ratios charge a fresh compile, never one the persistent cache served
    compiled, cold, warm = timing.cold_and_warm_compile(kernel)
    lanes["compile_cold_s"], lanes["compile_warm_s"] = cold, warm
    n_lanes = len(lanes)
    repeats = s["repeats"]
    # Each ratio to another JAX program comes from calls in turn with gdjax's own kernel (its
    # median there is kept beside the other's): both meet the same machine.
    gdjax_call = functools.partial(kernel.execute, compiled)
    if "jax-scan" in wanted:
        _attach_bare(lanes, problem, kernel, entry, gdjax_call, cold, repeats, notes)
        cold = float(lanes["compile_cold_s"].iloc[0])  # the median of its rounds
    if "seeds" in wanted and lanes["lr"].nunique() % 4 == 0 and lanes["seed"].nunique() == 1:
        _attach_seeds(lanes, problem, entry, gdjax_call, repeats, notes)
    if "monitoring" in wanted and kernel.config.exact:
        exact, grid = _in_turn(gdjax_call, entry.kernel(problem, exact=False), repeats)
        lanes["grid_monitor_gdjax_s"], lanes["grid_monitor_s"] = exact, grid
        lanes["exact_monitor_cost"] = exact / grid
    for name in (w for w in wanted if w not in ("jax-scan", "seeds", "monitoring")):
        if name == "torch" and not loops.torch_available():
            notes.append(loops.TORCH_MISSING)  # the run said so once (runner.run_suite)
            continue
        if name == "sklearn" and (why := _sklearn_skip(problem, b)) is not None:
            notes.append(why)
            continue
        per_lane, diffs = [], []
        for pos in chosen:
            lr, seed = float(lanes["lr"].iloc[pos]), int(lanes["seed"].iloc[pos])
            rows = step_rows(problem.n, b, s["epochs"], s["shuffle"], seed)
            if name == "single":
                k = entry.kernel(problem, lrs=[lr], seeds=[seed])
                t = timing.time_kernel(k, repeats=3)
                per_lane.append(t.run_s)
                final = float(k.to_result(t.output).to_frame()["final_loss"].iloc[0])
            else:
                loops.warm_up(name, problem, rows)
                with timing.frozen_heap():  # as the kernels are timed
                    t0 = time.perf_counter()
                    params = loops.LOOPS[name](problem, lr, rows, s["epochs"])
                    per_lane.append(time.perf_counter() - t0)
                final = float(problem.loss(jax.tree.map(jnp.asarray, params)))
            ref = float(lanes["final_loss"].iloc[pos])
            diffs.append(float(relative_difference(final, ref, LOSS_FLOOR)))
        if not per_lane:
            notes.append(f"{name}: every lane diverged, nothing to time")
            continue
        lane_s = statistics.median(per_lane)
        total = lane_s * n_lanes
        lanes[f"{name}_lane_s"] = lane_s
        lanes[f"{name}_s"] = total
        lanes[f"{name}_lanes_timed"] = len(per_lane)
        lanes[f"{name}_max_rel_diff"] = max(diffs)
        lanes[f"speedup_{name}"] = total / run_s
        lanes[f"speedup_{name}_with_compile"] = total / (run_s + cold)
        if name == "sklearn":
            _attach_first_call(lanes, entry, problem, lane_s, int(lanes["seed"].iloc[0]))
    if notes:
        lanes["baseline_note"] = "; ".join(notes)
    return lanes
