"""The two ways the kernel monitors the loss, each a :class:`Monitoring`: its loop's carry, its
first carry and its loop, chosen once per kernel by :mod:`gdjax._kernel.program` (see the module
docstring there for the two loops).

:data:`EXACT` checks the loss of every lane after every step and reduces each chunk's losses to
their crossings; :data:`GRID` checks it at the points of the evaluation grid.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax._kernel import fused
from gdjax._kernel.booking import Booking
from gdjax._kernel.config import Config

if TYPE_CHECKING:
    from gdjax._kernel.program import KernelArgs, Start

__all__ = [
    "CHUNK_ROWS_BYTES",
    "EXACT",
    "GRID",
    "ExactState",
    "GridState",
    "Monitoring",
    "gather",
    "gathers_chunks",
    "select",
]

CHUNK_ROWS_BYTES = 16 << 20  # largest chunk of rows gathered at once (see _exact_loop)


class ExactState(NamedTuple):
    """The carry of exact monitoring's loop over chunks."""

    step: jax.Array  # steps run so far
    params: Any
    opt_state: Any
    losses: jax.Array  # (grid points, lanes) the curve
    chunk_losses: jax.Array  # (C, lanes) the loss after each step of a chunk
    marks: jax.Array  # (lanes, 2K + 3) the crossings of the chunks so far


class GridState(NamedTuple):
    """The carry of grid monitoring's loop over the evaluation grid's intervals."""

    index: jax.Array  # the next interval
    step: jax.Array  # steps run so far
    params: Any
    opt_state: Any
    losses: jax.Array  # (grid points, lanes) the curve


class Monitoring(NamedTuple):
    """One way of monitoring the loss, chosen once per kernel: :data:`EXACT` or :data:`GRID`.

    Attributes:
        init: ``init(start, opt_state) -> state``, the loop's first carry.
        loop: ``loop(config, args, step, monitor, booking, state) -> state``, the whole run.
        output: ``output(state) -> (marks, chunk_losses, ran)``, the monitoring's part of the
            :class:`ProgramOutput` (None where this monitoring has none).
    """

    init: Any
    loop: Any
    output: Any


def gathers_chunks(config: Config, data, rows) -> bool:
    """Whether exact monitoring gathers the rows of a whole chunk at once, (C, S, b, p), before
    its steps, rather than each step's rows inside the step.

    One gather per chunk is one kernel where a gather per step is a kernel per step (and with
    several seeds XLA gathered twice, for the forward and the transposed product): minibatch
    runs about 1.2x faster. The chunk's rows are a copy, so it is done up to
    :data:`CHUNK_ROWS_BYTES` (a row's bytes over every leaf of ``data``).
    """
    row_bytes = sum(math.prod(a.shape[1:]) * a.dtype.itemsize for a in jax.tree.leaves(data))
    return config.chunk * math.prod(rows.shape[1:]) * row_bytes <= CHUNK_ROWS_BYTES


def gather(data, rows):
    """The rows of a slice of the plan, ``(..., S, b)``, of every leaf of ``data``
    (``(X[rows], y[rows])`` for the shipped losses), without the seed axis when there is one
    seed (the batch :func:`make_step` takes)."""
    if rows.shape[-2] == 1:
        # a seed axis of size 1 made XLA choose a layout for the gathered rows that it then
        # copied into another, two more kernels
        rows = rows[..., 0, :]
    return jax.tree.map(lambda a: a[rows], data)


def select(mask, new, old):
    """Per lane: ``new`` where ``mask``, else ``old`` (pytrees with a leading lane axis)."""

    def pick(a, b):
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, new, old)


def _exact_init(s0: Start, opt_state) -> ExactState:
    x = s0.exact
    return ExactState(jnp.int32(0), s0.params, opt_state, s0.losses, x.chunk_losses, x.marks)


def _exact_loop(config, a: KernelArgs, step, monitor, booking: Booking, state: ExactState):
    """Chunks of C steps: each step computes the loss of every lane; each chunk reduces them to
    their crossings (:meth:`~gdjax._kernel.booking.Booking.crossings`), which the host books."""
    C, T = config.chunk, config.total_steps
    padded = T % C != 0
    end = config.padded_steps  # the steps the crossings number
    # where each point of the curve falls: its chunk's first step and its index there (static)
    grid = np.asarray(config.eval_steps[1:], np.int64)
    point_t0, point_at = (grid - 1) // C * C, (grid - 1) % C

    shuffled = config.sampling == "shuffled"
    pregather = shuffled and gathers_chunks(config, a.data, a.rows)
    moving = a.start.moving  # lanes that move at all: the others never halt by their loss

    def chunk(s: ExactState) -> ExactState:
        t0 = s.step
        count = jnp.minimum(C, T - t0) if padded else C  # steps that exist

        def step_and_check(carry, xs):
            params, opt_state, losses = carry
            i, i_before, batch = xs
            if shuffled and not pregather:
                batch = gather(a.data, batch)
            new_params, new_opt = step((params, opt_state), (t0 + i, batch))
            # A lane halts right after the step where it diverged (or converged, with early
            # stop) and keeps the parameters of that step: its loss stays the one that halted
            # it, so it stays halted. Reading that from the loss before, inside the update's
            # kernel, saves two kernels a step: a halting state's update, and the loss's
            # reduction, which fuses into its write only when that is its one use.
            # (the loss before step 0 is still the last of the chunk before)
            before = jax.lax.dynamic_index_in_dim(losses, i_before, keepdims=False)
            go = moving & ~booking.halts(before)
            if padded:
                go = go & (i < count)
            # selecting before the monitor lets XLA fuse the select into the update
            params = select(go, new_params, params)
            opt_state = select(go, new_opt, opt_state)
            losses = jax.lax.dynamic_update_index_in_dim(losses, monitor(params), i, 0)
            return (params, opt_state, losses), None

        batches = None  # batch GD and rows in order need no plan
        if shuffled:
            batches = jax.lax.dynamic_slice_in_dim(a.rows, t0, C)
            batches = gather(a.data, batches) if pregather else batches
        # the chunk's losses are carried, not the scan's output: the step reads the one before
        (params, opt_state, loss), _ = jax.lax.scan(
            step_and_check,
            (s.params, s.opt_state, s.chunk_losses),
            (a.start.exact.chunk_steps, a.start.exact.chunk_before, batches),
            unroll=config.unroll,
        )
        # where each lane crossed each level, so far (maxima); the host books the rest
        marks = jnp.maximum(s.marks, booking.crossings(loss, t0, end))
        # the curve's points in this chunk (a gather, later masked by each lane's last step)
        here = (point_t0 == t0)[:, None]
        curve = jnp.where(here, loss[point_at], s.losses[1:])
        return ExactState(
            jnp.minimum(t0 + C, T) if padded else t0 + C,
            params,
            opt_state,
            s.losses.at[1:].set(curve),
            loss,
            marks,
        )

    def more(
        s: ExactState,
    ):  # a halted lane's loss repeats: the chunk's last one halts it
        return (s.step < T) & fused.any0(moving & ~booking.halts(s.chunk_losses[-1]))

    return jax.lax.while_loop(more, chunk, state)


def _grid_init(s0: Start, opt_state) -> GridState:
    zero = jnp.int32(0)
    return GridState(zero, zero, s0.params, opt_state, s0.losses)


def _grid_loop(config, a: KernelArgs, step, monitor, booking: Booking, state: GridState):
    """Steps up to each point of the evaluation grid, then the loss of every lane there."""
    grid = jnp.asarray(config.eval_steps, jnp.int32)
    shuffled = config.sampling == "shuffled"

    def train_step(t, carry):
        if not shuffled:
            return step(carry, (t, None))
        rows = jax.lax.dynamic_index_in_dim(a.rows, t, keepdims=False)
        return step(carry, (t, gather(a.data, rows)))

    moving = a.start.moving  # lanes that move at all: the others never halt by their loss

    def unhalted(s: GridState):  # a halted lane's loss repeats: its last check halts it
        return moving & ~booking.halts(jax.lax.dynamic_index_in_dim(s.losses, s.index, 0, False))

    def interval(s: GridState) -> GridState:
        start, end = grid[s.index], grid[s.index + 1]
        go = unhalted(s)
        params, opt_state = jax.lax.fori_loop(start, end, train_step, (s.params, s.opt_state))
        params = select(go, params, s.params)
        opt_state = select(go, opt_state, s.opt_state)
        loss = monitor(params)  # a halted lane's repeats: the host books the curve
        return GridState(s.index + 1, end, params, opt_state, s.losses.at[s.index + 1].set(loss))

    intervals = len(config.eval_steps) - 1
    return jax.lax.while_loop(
        lambda s: (s.index < intervals) & fused.any0(unhalted(s)), interval, state
    )


#: Exact monitoring: the loss of every lane after every step, booked per chunk.
EXACT = Monitoring(_exact_init, _exact_loop, lambda s: (s.marks, s.chunk_losses, None))


#: Grid monitoring: the loss of every lane at the points of the evaluation grid.
GRID = Monitoring(_grid_init, _grid_loop, lambda s: (None, None, s.index))
