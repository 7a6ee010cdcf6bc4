"""Speed baselines: what gdjax's sweeps are timed beside, and their rows in the report.

Each baseline runs the same problem, rows, permutations and learning rates as the gdjax entry it
stands beside, and its own independent implementation of the update:

- ``numpy``, ``torch`` and ``jax-loop``: the loops people write today, one configuration at a
  time (:mod:`bench.perf.loops`; torch is skipped, with a note, when it is not installed);
- ``single``: gdjax itself, one lane per compiled call (what a sweep saves over separate runs);
- ``jax-scan``: the bare program of about 25 lines, ``jit(vmap(scan))`` over rows drawn ahead,
  with no monitoring, no status and no early stop: the floor gdjax's kernel is measured
  against. It runs every lane of a seed at once, like gdjax, so it is timed whole, not scaled;
- ``seeds``: gdjax on the same number of lanes split as 4 seeds x L/4 learning rates, against
  the entry's 1 seed x L (lanes of different seeds see different rows); beside it the same
  split of the bare program, its floor;
- ``monitoring``: gdjax with exact per-step monitoring off (the loss checked on the entry's
  evaluation grid only), against the entry's default: what exact counts cost.

Timing a baseline over every lane of a 64-lane grid would take minutes, so each baseline times
``baseline_lanes`` lanes (evenly spread over the lanes gdjax did not see diverge) and scales its
median per-lane time to the whole grid; the rows record both. Each timed lane's final full-data
loss is checked against gdjax's for the same lane.

Only plain SGD on least squares, logistic and softmax problems has baselines; other entries get
a note instead of numbers.
"""

from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import gdjax
from bench.entries import relative_difference
from bench.perf import loops
from bench.perf.loops import step_rows
from bench.run import suites, timing

NAMES = suites.BASELINES
# the relative difference of final losses divides by at least this: a baseline that fits exactly
# (a loss of ~0) differs from gdjax by float rounding, which is not a relative gap
LOSS_FLOOR = 1e-12
COMPILE_ROUNDS = 3  # cold compiles of gdjax and jax-scan timed in turn


# ----- jax-scan ---------------------------------------------------------------------------------


def missing_torch_line(entries) -> str | None:
    """One line for a run whose entries ask for the torch baseline when torch is missing
    (otherwise the skip would only show in each lane's ``baseline_note`` column), else None."""
    wanted = any("torch" in e.settings["baselines"] for e in entries)
    return (
        f"torch baseline skipped: {loops.TORCH_MISSING}"
        if wanted and not loops.torch_available()
        else None
    )


def bare_program(spec, steps: int, monitored: bool = False, gathered: bool = False):
    """``jit(vmap(scan))``: plain SGD on every learning rate, rows drawn ahead, nothing else.

    Args:
        spec: the loss: ``spec.loss(params, *batch)``, the mean over a batch's rows.
        steps: steps of every lane.
        monitored: also return ``spec.monitor`` of every lane after every step (the scan's
            output): exact monitoring at its barest, with no status, halting or targets.
        gathered: gather every step's rows in one go before the scan, as gdjax gathers a
            chunk's, rather than each step's inside it: the cheapest form of the loop we know.

    Returns:
        ``run(data, init, lrs, rows, aux=None) -> params`` (lanes first), or ``(params,
        losses)`` with ``losses`` (lanes, steps) when monitored. ``data`` is the loss's data,
        ``Problem.data``: ``(X, y)`` for the shipped losses, ``(pytree,)`` for a custom one,
        every leaf with the rows first. ``rows`` is (steps, b), or None for batch GD; or
        (steps, S, b) for S seeds, with ``lrs`` (S, L) and lanes (S, L) first (each seed's
        lanes see its rows). ``aux`` is what ``spec.monitor`` takes.

    Example:
        >>> import gdjax, numpy as np
        >>> p = gdjax.problems.make_linear(64, 3)
        >>> rows = np.arange(64).reshape(8, 8)  # 8 steps of 8 rows, in order
        >>> lrs = np.array([0.01, 0.1], np.float32)
        >>> params = bare_program(p.spec, 8)(p.data, p.init_params(), lrs, rows)
        >>> params["w"].shape
        (2, 3)
    """

    def run(data, init, lrs, rows, aux=None):
        def take(idx):  # the rows idx of every leaf, as the loss's arguments
            return jax.tree.map(lambda a: a[idx], data)

        # all seeds' rows in one gather, outside the vmap over seeds: gathered under it, XLA
        # transposed and copied them, and the seed split paid for the copy
        batches = take(rows) if gathered and rows is not None else rows

        def lanes(lrs, batches):  # one seed's
            def lane(lr):
                def step(params, batch):
                    if batch is None:
                        rows_b = data
                    else:
                        rows_b = batch if gathered else take(batch)
                    grads = jax.grad(spec.loss)(params, *rows_b)
                    params = jax.tree.map(lambda p, g: p - lr * g, params, grads)
                    return params, spec.monitor(params, *data, aux) if monitored else None

                params, losses = jax.lax.scan(step, init, batches, length=steps)
                return (params, losses) if monitored else params

            return jax.vmap(lane)(lrs)

        if rows is not None and rows.ndim == 3:  # seeds, along axis 1 of every leaf
            return jax.vmap(lanes, in_axes=(0, 1))(lrs, batches)
        return lanes(lrs, batches)

    return jax.jit(run)


class BareProgram(NamedTuple):
    """The bare program compiled for seed 0's lanes of an entry (:func:`jax_scan`)."""

    call: Callable[[], Any]  # run it; returns the final parameters, lanes first
    lower: Callable[[], Any]  # trace and lower it again (to time more cold compiles)
    max_rel_diff: Callable[..., float]  # largest relative final-loss gap from gdjax's lanes


def _seed0(problem, lanes: pd.DataFrame, entry):
    """Seed 0's lanes of an entry, their rows (concatenated, or None), steps and rates."""
    s = entry.settings
    b = entry.batch_size or problem.n
    seed = int(lanes["seed"].iloc[0])
    mine = lanes[lanes["seed"] == seed]
    rows = step_rows(problem.n, b, s["epochs"], s["shuffle"], seed)
    idx = jnp.asarray(np.concatenate(rows)) if rows else None
    steps = s["epochs"] * gdjax.sampling.steps_per_epoch(problem.n, b)
    return mine, idx, steps, jnp.asarray(mine["lr"].to_numpy(), problem.dtype)


def _max_rel_diff(mine: pd.DataFrame, finals) -> float:
    """Largest relative gap of final losses from gdjax's, over lanes that did not diverge."""
    ok = (mine["status"] != "diverged").to_numpy()
    return _rel_gap(finals, mine["final_loss"].to_numpy(), ok)


def _rel_gap(finals, ref, ok=True) -> float:
    """Largest relative gap of ``finals`` from ``ref`` where ``ok`` and both are finite."""
    finals, ref = np.asarray(finals, np.float64), np.asarray(ref, np.float64)
    ok = ok & np.isfinite(finals) & np.isfinite(ref)
    diff = relative_difference(finals[ok], ref[ok], LOSS_FLOOR)
    return float(diff.max()) if diff.size else float("nan")


def _bare(fn, args, max_rel_diff) -> BareProgram:
    """Compile ``fn`` on ``args`` (no cache cleared: the cold compiles are timed apart)."""
    compiled = fn.lower(*args).compile()
    return BareProgram(
        functools.partial(compiled, *args), functools.partial(fn.lower, *args), max_rel_diff
    )


def jax_scan(problem, lanes: pd.DataFrame, entry, gathered: bool = False) -> BareProgram:
    """Compile the bare program on seed 0's lanes of an entry (``gathered``: see
    :func:`bare_program`)."""
    mine, idx, steps, lrs = _seed0(problem, lanes, entry)
    fn = bare_program(problem.spec, steps, gathered=gathered)
    seed = int(mine["seed"].iloc[0])  # its start: a custom loss may draw one per seed
    args = (problem.data, problem.init_params(seed), lrs, idx)
    return _bare(fn, args, lambda params: _max_rel_diff(mine, jax.vmap(problem.loss)(params)))


def jax_scan_loss(problem, kernel, lanes: pd.DataFrame, entry) -> BareProgram | None:
    """The bare program with the loss of every lane after every step, its rows gathered ahead:
    the least that exact monitoring costs, as far as we know how to write it.

    It runs where gdjax does, in the eigenbasis of the Hessian (the loss in O(d) a step,
    ``gdjax._kernel.eigenbasis``), and returns the losses from its scan; gdjax halts lanes on them,
    reduces them to their crossings and books those on the host (status, targets), all inside
    its timed call. None where the kernel does not monitor that way (only exact monitoring runs
    in the eigenbasis).
    """
    if kernel.basis is None:
        return None
    mine, idx, steps, lrs = _seed0(problem, lanes, entry)
    X, spec, aux, init = kernel.basis.kernel_data(problem, problem.init_params())
    if idx is not None:  # it gathers every step's rows at once
        gdjax.memory.check_array((*idx.shape, *X.shape[1:]), X.dtype, "jax-scan + loss: its rows")
    fn = bare_program(spec, steps, monitored=True, gathered=True)
    args = ((X, problem.y), init, lrs, idx, aux)
    # its final loss is its own last monitored one (a gap: f* added back, as gdjax reports it)
    f_star = problem.optimum()[1]
    return _bare(
        fn,
        args,
        lambda out: _max_rel_diff(mine, gdjax.problems.losses.as_loss(spec, out[1][:, -1], f_star)),
    )


def seed_split(problem, entry, lanes: pd.DataFrame, seeds: int = 4):
    """The entry's kernel with its lanes split as ``seeds`` seeds x L/seeds learning rates."""
    return entry.kernel(problem, lrs=_split_rates(lanes, seeds), seeds=list(range(seeds)))


def _split_rates(lanes: pd.DataFrame, seeds: int) -> np.ndarray:
    return lanes["lr"].drop_duplicates().to_numpy()[::seeds]


def bare_seed_split(problem, lanes: pd.DataFrame, entry, seeds: int = 4):
    """The bare program, rows gathered ahead, on seed 0's L lanes and on ``seeds`` seeds x
    L/seeds (the lanes of :func:`seed_split`): what the split costs a program that does
    nothing else. None for batch GD (every seed sees every row) and where each seed starts
    elsewhere (a custom loss's ``init`` drawn per seed: the bare program has one start).

    Returns:
        ``(one, split)``, two :class:`BareProgram`. ``split``'s ``max_rel_diff`` compares its
        final losses with those of gdjax's split where ``ok``, ``(params, gdjax_final_loss,
        ok) -> float``.
    """
    s = entry.settings
    b = entry.batch_size or problem.n
    if b == problem.n or problem.per_seed_start:
        return None
    steps = s["epochs"] * gdjax.sampling.steps_per_epoch(problem.n, b)
    what = "jax-scan's seed split: its rows"
    # a row's scalars over every leaf (X's columns and y's one), counted in the float dtype
    row = sum(math.prod(a.shape[1:]) for a in jax.tree.leaves(problem.data))
    gdjax.memory.check_array((steps, seeds, b, row), problem.dtype, what)
    rows = [step_rows(problem.n, b, s["epochs"], s["shuffle"], k) for k in range(seeds)]
    rows = jnp.asarray(np.stack([np.concatenate(r) for r in rows], axis=1))  # (steps, S, b)
    split_lrs = jnp.asarray(np.tile(_split_rates(lanes, seeds), (seeds, 1)), problem.dtype)
    losses = jax.vmap(jax.vmap(problem.loss))
    split = _bare(
        bare_program(problem.spec, steps, gathered=True),
        (problem.data, problem.init_params(), split_lrs, rows),
        lambda params, ref, ok: _rel_gap(losses(params), ref, ok),
    )
    return jax_scan(problem, lanes, entry, gathered=True), split


def _in_turn(gdjax_call, kernel, repeats: int) -> tuple[float, float]:
    """Median seconds of gdjax's kernel and of another ``kernel``, timed in turn."""
    compiled = kernel.lower().compile()
    (mine, other), _ = timing.time_alternating(
        [gdjax_call, functools.partial(kernel.execute, compiled)], repeats
    )
    return statistics.median(mine), statistics.median(other)


# ----- attaching baselines to an entry's rows ---------------------------------------------------


def pick_lanes(lanes: pd.DataFrame, k: int) -> list[int]:
    """Up to ``k`` row positions evenly spread over the lanes gdjax did not see diverge."""
    ok = np.flatnonzero((lanes["status"] != "diverged").to_numpy())
    if len(ok) == 0:
        return []
    pos = np.unique(np.linspace(0, len(ok) - 1, min(k, len(ok))).round().astype(int))
    return [int(ok[i]) for i in pos]


def _attach_bare(lanes, problem, kernel, entry, gdjax_call, cold, repeats, notes) -> None:
    """Columns of gdjax against jax-scan and, with exact monitoring, jax-scan + loss.

    ``vs_jax-scan``: gdjax's run time over jax-scan's (above 1: slower; the issue's "at most
    1.1x"); ``loss_floor``: jax-scan + loss over jax-scan, what recording every step's loss
    costs the bare program itself; ``compile_vs_jax-scan``: the cold compiles' ratio.
    """
    bare = jax_scan(problem, lanes, entry)
    try:
        floor = jax_scan_loss(problem, kernel, lanes, entry)
    except ValueError as e:  # its rows, gathered ahead, would not fit in memory
        floor = None
        notes.append(str(e))
    programs = [gdjax_call, bare.call] + ([floor.call] if floor else [])
    times, outs = timing.time_alternating(programs, repeats)
    medians = [statistics.median(t) for t in times]
    seeds = lanes["seed"].nunique()
    lanes["jax-scan_gdjax_s"] = medians[0]
    lanes["jax-scan_s"] = medians[1] * seeds
    lanes["jax-scan_max_rel_diff"] = bare.max_rel_diff(outs[1])
    lanes["vs_jax-scan"] = lanes["jax-scan_gdjax_s"] / lanes["jax-scan_s"]
    if floor:
        lanes["jax-scan-loss_s"] = medians[2] * seeds
        lanes["jax-scan-loss_max_rel_diff"] = floor.max_rel_diff(outs[2])
        lanes["loss_floor"] = medians[2] / medians[1]
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
        lanes["jax-scan-loss_compile_s"] = statistics.median(floors)


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
    kind = loops.KINDS.get(problem.spec.kind)
    if kind is None or not entry.plain_sgd:
        lanes["baseline_note"] = "baselines cover plain sgd on linear/logistic/softmax only"
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
    if notes:
        lanes["baseline_note"] = "; ".join(notes)
    return lanes
