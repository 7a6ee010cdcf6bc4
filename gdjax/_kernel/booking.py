"""Booking monitored losses: status, freeze, and steps to every target.

The work is split where it is cheapest. Inside the kernel (traced JAX, nothing synced with the
host) a lane halts right after the check that diverged it (or, with early stop, converged it),
and keeps its parameters from then on, so its loss repeats (:meth:`Booking.halts`). With exact
monitoring each chunk of C steps is reduced, per lane, to where it crossed every level
(:meth:`Booking.crossings`): one reduction over the chunk, the one piece of booking that needs
the steps' losses. Each of its columns is a maximum over checks numbered across the whole run,
so the kernel keeps a running maximum, one small array. Everything else, the status, the steps
to each target, where a lane stopped, is a score of NumPy operations on the host over that
array (:func:`book`), or, with grid monitoring, over the loss curve itself. Every operation
compiled into the kernel costs compile time and, inside its loop, a launch every chunk; the
host's share is a few small NumPy operations per sweep.

The rules are those of :mod:`gdjax.metrics`: levels are the target ladder followed by ``tol``;
per (lane, level) the first checked step at or below the level, and the first step of the
final run at or below it, each with the lower end of its bracket where it has one (exact
counts: the step before; counts read at a grid's checks have none, :func:`lower_ends`); a lane
stops moving at its first divergence and, with early stop, at its first convergence: nothing
after that check is booked for it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import metrics
from gdjax._kernel import fused
from gdjax._kernel.config import Config
from gdjax._kernel.levels import Levels

__all__ = [
    "Booked",
    "Booking",
    "KernelOutput",
    "Ledger",
    "book",
    "dense_prefix",
    "finish",
    "lower_ends",
]


class Booking(NamedTuple):
    """The rules the kernel applies as it runs: halting, and each chunk's crossings."""

    levels: Levels
    early_stop: bool

    def diverged(self, loss, xp=jnp):
        """Whether this loss is a divergence: not finite, or above ``levels.blowup``.
        ``xp``: ``jnp`` in the kernel, ``np`` on the host."""
        return ~xp.isfinite(loss) | (loss > self.levels.blowup)

    def halts(self, loss, xp=jnp):
        """Whether a moving lane stops right after a check with this loss: it diverged, or,
        with early stop, it converged. The kernel freezes the lane there, so its loss repeats
        and keeps it halted. ``xp``: ``jnp`` in the kernel, ``np`` on the host."""
        diverged = self.diverged(loss, xp)
        if not self.early_stop:
            return diverged
        return diverged | (loss <= self.levels.ladder[-1])  # tol's level

    def crossings(self, loss, start, end, xp=jnp):
        """Where each lane's losses cross every level, as maxima over the checks.

        The checks are numbered 1 ... ``end`` over the whole run; ``loss`` holds those from
        ``start + 1`` on. Every column is a maximum, so a run's crossings are the elementwise
        maximum of its chunks' (:func:`book` reads them).

        Args:
            loss: (C, lanes) the loss after each of C consecutive checks; after a lane's last
                one (where it halted, or the last that exists) that loss repeated.
            start: checks before these (a traced scalar in the kernel).
            end: checks in the whole run (padding included).
            xp: ``jnp`` in the kernel, ``np`` on the host (a grid's curve).

        Returns:
            (lanes, 2K + 3) int32: per level (the ladder, then halting) ``end + 1 - c`` for the
            first check c at or below it, then per level of the ladder the last check c above
            it; 0 where there is none.
        """
        C = loss.shape[0]
        lv = self.levels
        num_levels = lv.ladder.shape[0]
        # levels first, (2K + 3, C, lanes): the reduction runs along rows of lanes, which XLA's
        # CPU backend vectorises (lanes last measured slower on sgd's kernel)
        cols = np.arange(2 * num_levels + 1)[:, None, None]
        firsts = cols <= num_levels  # the first K + 2 columns: at or below, the halting one last
        below = xp.where(
            cols == num_levels, self.halts(loss, xp)[None], loss[None] <= lv.columns[:, None, None]
        )
        i = np.arange(C, dtype=np.int32)[None, :, None]
        marks = xp.where(
            firsts, xp.where(below, end - start - i, 0), xp.where(below, 0, start + i + 1)
        )
        if xp is np:
            return marks.max(axis=1, initial=0).T.astype(np.int32)
        return fused.max0(jnp.moveaxis(marks, 1, 0)).T


class Ledger(NamedTuple):
    """What the host books a run against, made once per kernel (:meth:`of`): the rules with
    NumPy levels, and every lane at step 0."""

    booking: Booking
    status0: np.ndarray  # (lanes,) every lane's status at step 0
    at0: np.ndarray  # (lanes, K + 1) 0 for the levels the lane's f(w0) is at or below, else -1
    moving: np.ndarray  # (lanes,) bool: lanes that take steps at all
    offset: float | None = None  # f* (float64) for a monitor of the gap, else None
    f0: np.ndarray | None = None  # (lanes,) each lane's own monitored value at step 0

    @classmethod
    def of(
        cls,
        levels: Levels,
        early_stop: bool,
        lanes: int,
        offset: float | None = None,
        starts=None,
    ) -> Ledger:
        """The ledger of ``lanes`` lanes (NumPy levels).

        Args:
            levels: what the losses are compared with.
            early_stop: as :func:`gdjax.sweep` takes it.
            lanes: the kernel's lanes (seed-major).
            offset: f* when the monitor returns the gap ``f - f*`` (see :meth:`report`).
            starts: (lanes,) each lane's own monitored value at its initial parameters, where
                they differ (a start drawn per seed; ``levels.f0`` is then their largest);
                None: every lane starts at ``levels.f0``. A lane is booked at step 0 from its
                own start, so that no count is off by one.
        """
        f0 = levels.f0 if starts is None else np.asarray(starts, levels.f0.dtype)
        f0 = np.broadcast_to(f0, (lanes,))
        status0, reached0 = levels.at_start(f0)
        at0 = np.where(reached0, 0, -1).astype(np.int32)
        moving = ~(early_stop & (status0 == metrics.CONVERGED))
        return cls(Booking(levels, early_stop), status0, at0, moving, offset, f0)

    def report(self, monitored: np.ndarray) -> np.ndarray:
        """The losses that monitored values stand for: themselves, or ``f* + gap`` in float64
        (the gap's own dtype would round it away against a large f*)."""
        if self.offset is None:
            return monitored
        return np.asarray(monitored, np.float64) + self.offset


class Booked(NamedTuple):
    """The booking of a run, (lanes,) or (lanes, K + 1), in steps; -1 where not reached.

    ``first`` and ``stay`` are the steps of the first check at or below each level, and of the
    first of the final run at or below it; ``last`` is the last check booked for each lane
    (0 for a lane that never moved); ``moved`` whether it took a step.
    """

    status: np.ndarray
    first: np.ndarray
    stay: np.ndarray
    last: np.ndarray
    moved: np.ndarray


def book(
    ledger: Ledger,
    marks: np.ndarray,
    end: int,
    ran: int,
    last_loss: np.ndarray,
    steps: np.ndarray | None = None,
) -> Booked:
    """Book a run on the host from its :meth:`Booking.crossings`: a score of NumPy operations
    on (lanes, K + 1) arrays, in a timed call right after the kernel (each costs microseconds).

    Args:
        ledger: the rules and every lane at step 0.
        marks: (lanes, 2K + 3) the run's crossings, checks numbered 1 ... ``end``.
        end: the ``end`` they were made with.
        ran: checks run (a lane that never halted was checked up to this one).
        last_loss: (lanes,) each lane's loss after the last step run: a frozen lane's repeats,
            so this is its loss at its last check.
        steps: the step of each check, 0 first (a grid); None when check c is step c.

    Returns:
        A :class:`Booked`.
    """
    at0 = ledger.at0
    num_first = at0.shape[-1] + 1  # at0 is (lanes, K + 1)
    # the first check at or below each level; end + 1 if none
    first = end + 1 - marks[:, :num_first]
    # a lane moves up to the check where it halted, or to the last one run
    last = np.where(ledger.moving, np.minimum(first[:, -1], ran), 0)
    moved = last > 0
    # after its last check a lane's loss repeats: above there, the last above is the last check
    above = np.minimum(marks[:, num_first:], last[:, None])
    ends_above = above == last[:, None]
    rejoined = (above > 0) & ~ends_above  # went above, came back below

    def step(check):  # the step of each check (clipped: where there is none, it is unused)
        return check if steps is None else steps[np.minimum(check, ran)]

    # reached while moving: in the repeats after its last check a lane reaches nothing new
    first = np.where(
        at0 >= 0, at0, np.where(first[:, :-1] <= last[:, None], step(first[:, :-1]), -1)
    )
    # never above since it moved: below since step 0, or since the first check
    stay = np.where(rejoined, step(above + 1), np.where(at0 >= 0, at0, step(1)))
    stay = np.where(moved[:, None], np.where(ends_above, -1, stay), at0)
    # a lane halts at its first divergence: if any, it is its last check
    diverged = moved & ledger.booking.diverged(last_loss, np)
    status = np.where(first[:, -1] >= 0, metrics.CONVERGED, ledger.status0)
    status = np.where(diverged, metrics.DIVERGED, status)
    return Booked(
        status.astype(np.int32),
        first.astype(np.int32),
        stay.astype(np.int32),
        np.asarray(step(last), np.int32),
        moved,
    )


def lower_ends(steps: np.ndarray, every_step: np.ndarray | bool = True) -> np.ndarray:
    """The lower ends of the true brackets of booked counts, -1 where there is none.

    A count read where the loss was checked after every step up to it (``every_step``) is
    exact: the true step lies in ``(step - 1, step]``, so the lower end is the step before
    (step 0 is its own). A count read at the checks of a grid has no bracket: between two checks
    a noisy lane's loss can dip below a level and come back, so the first check at or below a
    level can come long after the first step there, and the last check above it long before the
    last step above it. "Not reached" (-1) has no bracket either.

    Args:
        steps: booked counts, -1 where not reached.
        every_step: per count (broadcast against ``steps``), whether every step up to it was
            checked.

    Returns:
        An int array like ``steps``.

    Example:
        >>> lower_ends(np.array([-1, 0, 1, 17])).tolist()
        [-1, 0, 0, 16]
        >>> lower_ends(np.array([0, 2, 8]), np.array([True, True, False])).tolist()
        [0, 1, -1]
    """
    steps = np.asarray(steps)
    exact = np.broadcast_to(every_step, steps.shape) & (steps >= 0)
    return np.where(exact, np.maximum(steps - 1, 0), -1)


def dense_prefix(grid: np.ndarray) -> int:
    """How many steps a grid checks one after the other from step 0: the ``m`` with
    ``grid[:m] == 0, 1, ..., m - 1``. A count read below ``m`` on that grid is exact.

    Example:
        >>> dense_prefix(np.array([0, 1, 2, 3, 5, 8]))
        4
    """
    grid = np.asarray(grid)
    gaps = np.flatnonzero(grid != np.arange(len(grid)))
    return int(gaps[0]) if gaps.size else len(grid)


class KernelOutput(NamedTuple):
    """A finished run, lane arrays with leading axes (seeds, configs): what :func:`finish` makes of
    the compiled program's :class:`~gdjax._kernel.program.ProgramOutput` on the host. XLA
    compiles each operation into a kernel of its own: what NumPy does as well is not compiled.

    Attributes:
        params: final (or frozen) parameters of every lane.
        losses: full-data loss at each point of the grid, (S, L, E + 1); NaN after a lane stopped.
        status: metrics.RUNNING (ran to the end: max_steps), CONVERGED or DIVERGED, (S, L).
        first_step, first_lo, stay_step, stay_lo: (S, L, K + 1) per level (the targets, then
            ``tol``) the first checked step at or below it, the first of the final run at or
            below it (-1 where not reached), and the lower ends of their brackets: the step
            before, where the count is exact; -1 where it has no bracket (read at a grid's
            checks, see :func:`lower_ends`).
        last_eval: index of the last curve point each lane recorded, (S, L).
        lane_steps: the last step each lane was checked at (where it stopped), (S, L).
        final_loss: its full-data loss there, (S, L).
        steps_run: steps the kernel executed (shared by all lanes; < total with early stop).
    """

    params: Any
    losses: jax.Array
    status: jax.Array
    first_step: jax.Array
    first_lo: jax.Array
    stay_step: jax.Array
    stay_lo: jax.Array
    last_eval: jax.Array
    lane_steps: jax.Array
    final_loss: jax.Array
    steps_run: jax.Array


def finish(config: Config, ledger: Ledger, out) -> KernelOutput:
    """Book the compiled program's output on the host (:func:`gdjax._kernel.booking.book`).

    The status, the steps to every level and where each lane stopped come from the chunks'
    crossings (exact monitoring) or from the curve (grid monitoring); the curve becomes
    (S, L, E + 1) and ends at the last step each lane was checked at (later points are NaN;
    ``last_eval`` indexes the last one).

    Args:
        config: the kernel's config.
        ledger: what it is booked against (:meth:`~gdjax._kernel.booking.Ledger.of`).
        out: the compiled program's :class:`~gdjax._kernel.program.ProgramOutput`, as NumPy arrays
            (gathered from every process).

    Returns:
        The :class:`KernelOutput`.

    Example:
        >>> import gdjax, jax, numpy as np
        >>> k = gdjax.build(gdjax.problems.make_linear(64, 2), lrs=[0.1, 50.0], epochs=2)
        >>> raw = jax.tree.map(np.asarray, k.call())
        >>> out = finish(k.config, k.ledger, raw)
        >>> out.losses.shape, out.last_eval.tolist()  # the diverged lane's curve ends early
        ((1, 2, 3), [[2, 1]])
    """
    S, L = jax.tree.leaves(out.params)[0].shape[:2]
    grid = np.asarray(config.eval_steps)
    if config.exact:
        # a halted lane's loss repeats: the last one computed is where it stopped
        last_loss = out.chunk_losses[-1]
        booked = book(ledger, out.marks, config.padded_steps, int(out.steps_run), last_loss)
        first_exact = stay_exact = True  # every step was checked
    else:
        ran = int(out.ran)
        last_loss = out.losses[ran]
        with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf are booked as such
            marks = ledger.booking.crossings(out.losses[1 : ran + 1], 0, ran, np)
        booked = book(ledger, marks, ran, ran, last_loss, steps=grid)
        # Counts read at checks carry no bracket, except where every step up to them was
        # checked (a geometric grid starts 0, 1, 2, ...): a first hit there, and a stay for a
        # lane whose every step was checked.
        dense = dense_prefix(grid)
        first_exact = booked.first < dense
        stay_exact = (booked.last < dense)[:, None]
    lane_loss = ledger.report(np.where(booked.moved, last_loss, ledger.f0))
    losses = ledger.report(out.losses.T.reshape(S, L, len(grid)))
    recorded = grid <= booked.last.reshape(S, L)[..., None]
    losses = np.where(recorded, losses, np.array(np.nan, losses.dtype))
    last = np.searchsorted(grid, booked.last, side="right").astype(np.int32) - 1

    def by_seed(x):
        return x.reshape(S, L, *x.shape[1:])

    return KernelOutput(
        params=out.params,
        losses=losses,
        status=by_seed(booked.status),
        first_step=by_seed(booked.first),
        first_lo=by_seed(lower_ends(booked.first, first_exact)),
        stay_step=by_seed(booked.stay),
        stay_lo=by_seed(lower_ends(booked.stay, stay_exact)),
        last_eval=by_seed(last),
        lane_steps=by_seed(booked.last),
        final_loss=by_seed(lane_loss),
        steps_run=out.steps_run,
    )
