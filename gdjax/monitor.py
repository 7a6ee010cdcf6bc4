"""Booking monitored losses: status, freeze, and steps to every target.

The work is split where it is cheapest. Inside the kernel (traced JAX, nothing synced with the
host) a lane halts right after the check that diverged it (or, with early stop, converged it),
and keeps its parameters from then on, so its loss repeats (:meth:`Booking.halts`). With exact
monitoring each chunk of C steps is reduced, per lane, to where it crossed every level
(:meth:`Booking.crossings`): one reduction over the chunk, the one piece of booking that needs
the steps' losses. Everything else, the status, the steps to each target, where a lane stopped,
is a few NumPy operations on the host over those reductions (:func:`book`), or, with grid
monitoring, over the loss curve itself. Every operation compiled into the kernel costs about
8 ms of compile on a 2-core CPU and, inside its loop, a launch every chunk; the host's share
costs tens of microseconds per sweep.

The rules are those of :mod:`gdjax.metrics`: levels are the target ladder followed by ``tol``;
per (lane, level) the first checked step at or below the level, and the first step of the
final run at or below it, each with the check before it (the lower end of its bracket); a lane
stops moving at its first divergence and, with early stop, at its first convergence: nothing
after that check is booked for it.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import fused, metrics

__all__ = ["Booked", "Booking", "Levels", "book", "decode", "lower_ends"]


class Levels(NamedTuple):
    """What a loss is compared with: scalars and the (K + 1,) ladder, arguments of the kernel.

    Computed once on the host in float64 (:meth:`of`), then cast to the problem's dtype: the
    kernel compiles none of it, and ``f0 - f*`` does not cancel in float32.
    """

    f0: jax.Array  # the loss at the initial parameters
    f_star: jax.Array
    denom: jax.Array  # f(w0) - f*, at least the smallest normal number
    blowup: jax.Array  # f - f* above this is a divergence
    tol: jax.Array
    ladder: jax.Array  # the targets, then tol
    # the level of each column of Booking.crossings: the ladder, tol again in the halting
    # column (unused), the ladder (made here: in the kernel it would be a kernel of its own)
    columns: jax.Array

    @classmethod
    def of(cls, f0: float, f_star: float, tol: float, targets, divergence_factor: float, dtype):
        """The levels of a run that starts at ``f0``, as arrays of ``dtype``.

        Example:
            >>> lv = Levels.of(3.0, 1.0, 1e-3, [0.1], 1e4, np.float32)
            >>> float(lv.denom), float(lv.blowup), lv.ladder.tolist()
            (2.0, 20000.0, [0.10000000149011612, 0.0010000000474974513])
        """
        # when the start is already optimal, relative suboptimality is 0, not 0/0
        denom = max(f0 - f_star, float(np.finfo(dtype).tiny))
        # Diverged means far worse than the start on the problem's own scale. Relative to
        # f0 - f* alone, a start next to the optimum would make SGD noise count as divergence.
        blowup = divergence_factor * max(denom, abs(f_star))
        ladder = np.append(np.asarray(targets, np.float64), tol)
        columns = np.concatenate([ladder, [tol], ladder])
        # NumPy arrays, transferred with the kernel's other arguments (jnp.asarray(v, dtype)
        # would compile a convert for each)
        values = (f0, f_star, denom, blowup, tol, ladder, columns)
        return cls(*(np.asarray(v, dtype) for v in values))

    def at_start(self) -> tuple[int, np.ndarray]:
        """Status and the levels reached at step 0, where every lane is at f(w0) (never a
        divergence), in the levels' dtype like the kernel: ``(status, reached)``, with
        ``reached`` (K + 1,) bool."""
        rel = (self.f0 - self.f_star) / self.denom
        reached = rel <= self.ladder
        return (metrics.CONVERGED if rel <= self.tol else metrics.RUNNING), reached

    def moving_at_start(self, lanes: int, early_stop: bool) -> np.ndarray:
        """(lanes,) bool: whether the lanes take steps at all (not when converged at the start
        with early stop)."""
        status, _ = self.at_start()
        return np.full((lanes,), not (early_stop and status == metrics.CONVERGED))


class Booking(NamedTuple):
    """The rules the kernel applies as it runs: halting, and each chunk's crossings."""

    levels: Levels
    early_stop: bool

    def halts(self, loss, xp=jnp):
        """Whether a moving lane stops right after a check with this loss: it diverged, or,
        with early stop, it converged. The kernel freezes the lane there, so its loss repeats
        and keeps it halted. ``xp``: ``jnp`` in the kernel, ``np`` on the host."""
        lv = self.levels
        diverged = ~xp.isfinite(loss) | (loss - lv.f_star > lv.blowup)
        if not self.early_stop:
            return diverged
        return diverged | ((loss - lv.f_star) / lv.denom <= lv.tol)

    def crossings(self, loss, xp=jnp):
        """Where each lane's losses of a chunk cross every level, in one reduction.

        Args:
            loss: (C, lanes) the loss after each of C consecutive checks; after a lane's last
                one (where it halted, or the last that exists) that loss repeated.
            xp: ``jnp`` in the kernel, ``np`` on the host (a grid's curve).

        Returns:
            (lanes, 2K + 3) int32 (see :func:`decode`): per level (the ladder, then halting)
            C - i for the first check i at or below it (0 if none), then per level of the
            ladder i + 1 for the last check i above it (0 if none). Both are maxima, so one
            reduction finds them all.
        """
        C = loss.shape[0]
        lv = self.levels
        K1 = lv.ladder.shape[0]
        # levels first, (2K + 3, C, lanes): the reduction runs along rows of lanes, which XLA's
        # CPU backend vectorises (lanes last ran sgd's kernel about 9% slower)
        cols = np.arange(2 * K1 + 1)[:, None, None]
        firsts = cols <= K1  # the first K + 2 columns: at or below, the halting one last
        rel = ((loss - lv.f_star) / lv.denom)[None]
        below = xp.where(cols == K1, self.halts(loss, xp)[None], rel <= lv.columns[:, None, None])
        i = np.arange(C, dtype=np.int32)[None, :, None]
        marks = xp.where(firsts, xp.where(below, C - i, 0), xp.where(below, 0, i + 1))
        if xp is np:
            return marks.max(axis=1, initial=0).T.astype(np.int32)
        return fused.max0(jnp.moveaxis(marks, 1, 0)).T


def decode(marks: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(first_in, above_last)`` from :meth:`Booking.crossings`: the index of the first check
    at or below each level then halting (``width`` if none), and of the last check above each
    level (-1 if none)."""
    K2 = (marks.shape[-1] + 1) // 2
    return width - marks[..., :K2], marks[..., K2:] - 1


class Booked(NamedTuple):
    """The booking of a run, (lanes,) or (lanes, K + 1); steps are -1 where not reached.

    ``first`` and ``stay`` are the steps of the first check at or below each level, and of the
    first of the final run at or below it; ``last`` is the last check booked for each lane
    (0 for a lane that never moved), ``at`` the flat index of that check (-1 if none).
    """

    status: np.ndarray
    first: np.ndarray
    stay: np.ndarray
    last: np.ndarray
    at: np.ndarray


def book(
    booking: Booking,
    marks: np.ndarray,
    steps: np.ndarray,
    counts,
    moving: np.ndarray,
    last_loss: np.ndarray,
) -> Booked:
    """Book a run on the host from its chunks' crossings.

    Args:
        booking: the rules, with NumPy levels.
        marks: (chunks, lanes, 2K + 3) :meth:`Booking.crossings` of every chunk that ran.
        steps: (chunks, W) the step of each check of each chunk (consecutive chunks).
        counts: (chunks,) the checks that exist in each chunk (the rest repeat the last one).
        moving: (lanes,) lanes that moved at the start.
        last_loss: (lanes,) each lane's loss after the last step run: a frozen lane's repeats,
            so this is its loss at its last check.

    Returns:
        A :class:`Booked`.
    """
    chunks, W = steps.shape
    lanes = moving.shape[0]
    status0, reached0 = booking.levels.at_start()
    at0 = np.repeat(np.where(reached0, 0, -1)[None], lanes, axis=0)
    if steps.size == 0:  # no check ran: every lane was halted at the start
        return Booked(
            np.full((lanes,), status0, np.int32),
            at0,
            at0,
            np.zeros(lanes, np.int32),
            np.full((lanes,), -1),
        )
    first_in, above_last = decode(marks, W)
    stop = first_in[..., -1]
    # a lane moves in every chunk up to the one where it halted, that one included
    halted = stop < W
    moving = moving & (np.cumsum(halted, axis=0) - halted == 0)  # (chunks, lanes)
    last = np.where(moving, np.minimum(stop, np.asarray(counts)[:, None] - 1), -1)
    booked = last >= 0
    ever = booked.any(axis=0)
    flat_steps = steps.reshape(-1)
    lane = np.arange(lanes)
    # the last booked check: in the last booked chunk
    c_last = chunks - 1 - np.argmax(booked[::-1], axis=0)
    at = np.where(ever, c_last * W + last[c_last, lane], -1)
    last_step = np.where(ever, flat_steps[np.maximum(at, 0)], 0)

    # first: the first booked chunk with a check at or below the level
    hit = booked[..., None] & (first_in[..., :-1] < W)
    c_hit = np.argmax(hit, axis=0)  # (lanes, K + 1)
    at_hit = c_hit * W + np.take_along_axis(first_in[..., :-1], c_hit[None], 0)[0]
    end = flat_steps.size - 1  # indices where there is no such check are clipped, then unused
    reached = np.where(hit.any(axis=0), flat_steps[np.minimum(at_hit, end)], -1)
    first = np.where(at0 >= 0, at0, reached)

    # stay: after the last check above, if that was not the lane's last one
    above = np.minimum(above_last, last[..., None])  # after the last step the loss repeats
    was_above = booked[..., None] & (above >= 0)
    c_above = chunks - 1 - np.argmax(was_above[::-1], axis=0)
    at_above = c_above * W + np.take_along_axis(above, c_above[None], 0)[0]
    any_above = was_above.any(axis=0)
    ends_above = any_above & (at_above == at[:, None])
    after = flat_steps[np.minimum(at_above + 1, end)]
    # never above: below since step 0, or since the first check
    never = np.where(at0 >= 0, at0, np.where(ever, flat_steps[0], -1)[:, None])
    stay = np.where(any_above, np.where(ends_above, -1, after), never)

    with np.errstate(invalid="ignore", over="ignore"):
        # a lane halts at its first divergence: if any, it is its last check
        diverged = ever & Booking(booking.levels, early_stop=False).halts(last_loss, np)
    status = np.full((lanes,), status0, np.int32)
    status = np.where((status0 == metrics.RUNNING) & (first[:, -1] >= 0), metrics.CONVERGED, status)
    status = np.where(diverged, metrics.DIVERGED, status).astype(np.int32)
    return Booked(
        status, first.astype(np.int32), stay.astype(np.int32), last_step.astype(np.int32), at
    )


def lower_ends(steps: np.ndarray, grid: np.ndarray | None = None) -> np.ndarray:
    """The lower ends of the brackets of booked steps: the check before each (step 0 and "not
    reached" (-1) are their own). ``grid``: the checked steps, 0 first; None when every step
    was checked (then the check before s is s - 1).

    Example:
        >>> lower_ends(np.array([-1, 0, 1, 17])).tolist()
        [-1, 0, 0, 16]
        >>> lower_ends(np.array([-1, 0, 4, 8]), np.array([0, 1, 2, 4, 8])).tolist()
        [-1, 0, 2, 4]
    """
    if grid is None:
        return np.where(steps > 0, steps - 1, steps)
    before = grid[np.maximum(np.searchsorted(grid, steps) - 1, 0)]
    return np.where(steps > 0, before, steps)
