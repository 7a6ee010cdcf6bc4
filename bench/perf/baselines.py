"""The bare programs gdjax's kernels are timed against: ``jax-scan`` and its floors.

``jax-scan`` is plain SGD as about 25 lines of ``jit(vmap(scan))`` over rows drawn ahead
(:func:`bare_program`), with no monitoring, no status and no early stop: the floor gdjax's kernel
is measured against. It runs every lane of a seed at once, like gdjax, so it is timed whole.
Beside it, the floor of gdjax's monitoring: ``jax-scan + loss`` (the loss of every step, where
gdjax monitors exactly, :func:`jax_scan_loss`) or ``jax-scan + checks`` (the full-data loss at
the points of an ``eval_every`` grid, :func:`jax_scan_checks`); and the same program split over
4 seeds (:func:`bare_seed_split`). Each is built on seed 0's lanes of an entry, its rows and
start, and checks its final losses against gdjax's (``max_rel_diff``). It runs the problem's
own loss, ``spec.loss(params, *batch)``, so any loss: the shipped ones and custom ones alike.
:mod:`bench.perf.attach` times them with gdjax's kernel, in turn.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import gdjax
from bench.entries import relative_difference
from bench.perf.loops import step_rows

__all__ = [
    "LOSS_FLOOR",
    "BareProgram",
    "bare_program",
    "bare_seed_split",
    "jax_scan",
    "jax_scan_checks",
    "jax_scan_loss",
    "seed_split",
]

# the relative difference of final losses divides by at least this: a baseline that fits exactly
# (a loss of ~0) differs from gdjax by float rounding, which is not a relative gap
LOSS_FLOOR = 1e-12


def bare_program(
    spec, steps: int, monitored: bool = False, gathered: bool = False, every: int | None = None
):
    """``jit(vmap(scan))``: plain SGD on every learning rate, rows drawn ahead, nothing else.

    Args:
        spec: the loss: ``spec.loss(params, *batch)``, the mean over a batch's rows.
        steps: steps of every lane.
        monitored: also return ``spec.monitor`` of every lane after every step (the scan's
            output): exact monitoring at its barest, with no status, halting or targets.
        gathered: gather every step's rows in one go before the scan, as gdjax gathers a
            chunk's, rather than each step's inside it: the cheapest form of the loop we know.
        every: also return ``spec.monitor`` of every lane after every ``every`` steps and
            after the last (a scan of scans): grid monitoring at its barest, the checks of
            ``eval_every = every``. Not with ``monitored`` or ``gathered``, nor several seeds.

    Returns:
        ``run(data, init, lrs, rows, aux=None) -> params`` (lanes first), or ``(params,
        losses)`` with ``losses`` (lanes, steps) when monitored, (lanes, checks) with
        ``every``. ``data`` is the loss's data,
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

    if every is not None and (monitored or gathered):
        raise ValueError(
            "bare_program: every is for the bare loop alone, not monitored or gathered"
        )

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

                if every is not None:
                    return checked(step, init, batches)
                params, losses = jax.lax.scan(step, init, batches, length=steps)
                return (params, losses) if monitored else params

            return jax.vmap(lane)(lrs)

        def checked(step, params, rows):
            """The steps in intervals of ``every``, each followed by the full-data check."""
            intervals, tail = divmod(steps, every)

            def interval(params, rows):
                params, _ = jax.lax.scan(step, params, rows, length=every)
                return params, spec.monitor(params, *data, aux)

            head = None if rows is None else rows[: intervals * every].reshape(intervals, every, -1)
            params, losses = jax.lax.scan(interval, params, head, length=intervals)
            if tail:
                rest = None if rows is None else rows[intervals * every :]
                params, _ = jax.lax.scan(step, params, rest, length=tail)
                losses = jnp.append(losses, spec.monitor(params, *data, aux))
            return params, losses

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


def jax_scan_checks(problem, kernel, lanes: pd.DataFrame, entry) -> BareProgram | None:
    """The bare program with the full-data loss of every lane at the points of gdjax's
    evaluation grid (every ``eval_every`` steps and after the last): the least that grid
    monitoring costs, the same checks with nothing else.

    None where the kernel monitors every step, or on the default geometric grid (its unequal
    intervals are no scan of equal scans; ``eval_every`` unset).
    """
    every = entry.settings["eval_every"]
    if kernel.config.exact or every is None:
        return None
    mine, idx, steps, lrs = _seed0(problem, lanes, entry)
    every = min(every, steps)  # as gdjax clips it
    fn = bare_program(problem.spec, steps, every=every)
    seed = int(mine["seed"].iloc[0])
    aux = kernel.args.aux  # what gdjax's monitor takes (None for a loss checked on its rows)
    args = (problem.data, problem.init_params(seed), lrs, idx, aux)
    # its final loss is its last check, as gdjax's is
    return _bare(fn, args, lambda out: _max_rel_diff(mine, out[1][:, -1]))


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
