"""Booking monitored losses inside the kernel: status, freeze, and steps to every target.

The kernel hands over the full-data loss of every lane either at one checked step (grid
monitoring: :meth:`Booking.book_check`) or for a whole chunk of consecutive steps (exact
monitoring: each step computed the loss of every lane, :meth:`Booking.book_run`). Both apply
the rules :mod:`gdjax.metrics` defines. A chunk is booked in one vectorised pass: per step
inside the scan the booking would cost more than the step on XLA's CPU backend (a dozen small
kernels each). Every operation here is a kernel XLA compiles (about 8 ms each on a 2-core CPU),
which is why the rules are written with as few of them as the rules allow.

- levels are the target ladder followed by ``tol``; per (lane, level) a :class:`HitTracker`
  keeps the first checked step at or below the level and the first step of the current run at
  or below it, each with the check before it (the lower end of its bracket);
- a lane stops moving at its first divergence, and, with early stop, at its first convergence:
  nothing after that step is booked for it (with exact monitoring the kernel also freezes its
  parameters right there, see :meth:`Booking.halts`).

Everything here is traced JAX code over a leading lane axis; nothing syncs with the host.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax import fused, metrics

__all__ = ["Booking", "HitTracker", "Levels", "lower_ends"]


class HitTracker(NamedTuple):
    """Per (lane, level) step bookkeeping; -1 means "not (yet)". Levels: targets, then tol.

    Attributes:
        first: first checked step at or below the level.
        first_lo: the check before it (the true crossing lies in (first_lo, first]).
        stay: first step of the current run at or below the level (-1 while above).
        stay_lo: the check before ``stay``.

    With a check after every step the lower ends are the steps before (:func:`lower_ends`):
    the kernel does not carry them (``first_lo`` and ``stay_lo`` are None).
    """

    first: jax.Array
    first_lo: jax.Array
    stay: jax.Array
    stay_lo: jax.Array


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
        # NumPy arrays, transferred with the kernel's other arguments (jnp.asarray(v, dtype)
        # would compile a convert for each)
        values = (f0, f_star, denom, blowup, tol, ladder)
        return cls(*(np.asarray(v, dtype) for v in values))

    def start(self, lanes: int, brackets: bool) -> tuple[np.ndarray, HitTracker]:
        """Status and hits at step 0, when every lane is at f(w0) (never a divergence), in
        NumPy from NumPy levels (the host makes the kernel's starting state: nothing of it is
        compiled).

        Args:
            lanes: number of lanes.
            brackets: keep the lower ends of the brackets (``first_lo``, ``stay_lo``); checks
                at every step need not, each is the step before (:func:`lower_ends`).

        Returns:
            ``(status, hits)``: (lanes,) and (lanes, K + 1) int32 arrays.
        """
        rel = (self.f0 - self.f_star) / self.denom  # in the levels' dtype, like the kernel
        at0 = np.where(rel <= self.ladder, 0, -1).astype(np.int32)
        at0 = np.repeat(at0[None, :], lanes, axis=0)
        status = metrics.CONVERGED if rel <= self.tol else metrics.RUNNING
        lo = at0 if brackets else None
        return np.full((lanes,), status, np.int32), HitTracker(at0, lo, at0, lo)


def _iota(x):
    """The index along axis 0 of ``x``, shaped to broadcast against it."""
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    return jnp.arange(x.shape[0], dtype=jnp.int32).reshape(shape)


class Booking(NamedTuple):
    """The rules, closed over the levels and the early-stop setting."""

    levels: Levels
    early_stop: bool

    def moving(self, status):
        """Lanes that still take steps: running ones, and converged ones without early stop."""
        if self.early_stop:
            return status == metrics.RUNNING
        return status != metrics.DIVERGED

    def _diverged(self, loss):
        lv = self.levels
        return ~jnp.isfinite(loss) | (loss - lv.f_star > lv.blowup)

    def halts(self, loss):
        """Whether a moving lane stops right after a step with this loss: it diverged, or,
        with early stop, it converged. A kernel that checks every step halts the lane there,
        and :meth:`book_run` books its steps up to that one."""
        if not self.early_stop:
            return self._diverged(loss)
        lv = self.levels
        return self._diverged(loss) | ((loss - lv.f_star) / lv.denom <= lv.tol)

    def book_check(self, status, hits: HitTracker, loss, step, prev, moving):
        """Book one check of every lane (the loss at ``step``; the check before was ``prev``).

        Args:
            status: (lanes,) status before the check.
            hits: the tracker before the check (with its lower ends).
            loss: (lanes,) full-data loss at ``step``.
            step, prev: scalar step numbers.
            moving: (lanes,) lanes that took the steps up to this check.

        Returns:
            ``(status, hits)`` after the check.
        """
        lv = self.levels
        diverged = moving & self._diverged(loss)
        rel = (loss - lv.f_star) / lv.denom
        converged = moving & (status == metrics.RUNNING) & (rel <= lv.tol) & ~diverged
        status = jnp.where(converged, metrics.CONVERGED, status)
        status = jnp.where(diverged, metrics.DIVERGED, status)
        below = rel[:, None] <= lv.ladder  # (lanes, K + 1)
        go = moving[:, None]
        new_first = go & below & (hits.first < 0)
        runs_on = go & below & (hits.stay < 0)  # was above, is below
        return status, HitTracker(
            first=jnp.where(new_first, step, hits.first),
            first_lo=jnp.where(new_first, prev, hits.first_lo),
            stay=jnp.where(go & ~below, -1, jnp.where(runs_on, step, hits.stay)),
            stay_lo=jnp.where(runs_on, prev, hits.stay_lo),
        )

    def book_run(self, status, hits: HitTracker, loss, t0, moving, count):
        """Book the losses of C consecutive steps, ``t0 + 1 ... t0 + C``, of every lane.

        The kernel computed the loss after every step and froze each lane right after the step
        that halted it (:meth:`halts`), and after the steps that exist: from there on its loss
        repeats. So the first halting loss is the lane's stop, and one max and one min over one
        (C, lanes, K + 2) array (the levels, then halting) give both ends of every level's
        crossings and the stop.

        Args:
            status: (lanes,) status before these steps.
            hits: the tracker before these steps (without lower ends: each is the step before).
            loss: (C, lanes) full-data loss after each step; after a lane's last step (where
                it halted, or the last that exists), that step's loss repeated.
            t0: scalar, steps run before these.
            moving: (lanes,) lanes that took these steps.
            count: steps that exist (a padded last chunk has fewer than C).

        Returns:
            ``(status, hits, last, last_loss)``: ``last`` (lanes,) is the index of the lane's
            last booked step (-1 for a lane that did not move), ``last_loss`` its loss there
            (that of step 0 of the chunk for a lane that did not move).
        """
        lv = self.levels
        C = loss.shape[0]
        i = _iota(loss)[:, :, None]  # (C, 1, 1)
        K1 = lv.ladder.shape[0]
        # (C, lanes, K + 2): at or below each level, then halting (a select, not a
        # concatenation, which XLA would make a kernel of its own)
        rel = ((loss - lv.f_star) / lv.denom)[:, :, None]
        level = jnp.append(lv.ladder, 0)  # the last is never used
        below = jnp.where(np.arange(K1 + 1) < K1, rel <= level, self.halts(loss)[:, :, None])
        # one array for both ends: C - i where at or below (its max: the first one), and
        # -(i + 1) where above (its min: the last one)
        marks = jnp.where(below, C, -1) - i
        first_in = C - fused.max0(marks)  # (lanes, K + 2); C if none
        above_last = -fused.min0(marks[:, :, :-1]) - 1  # (lanes, K + 1); -1 if none
        stop, first_in = first_in[:, -1], first_in[:, :-1]
        last = jnp.where(moving, jnp.minimum(stop, count - 1), -1)
        # after the last step the loss repeats: above there, the last above is the last step
        above_last = jnp.minimum(above_last, last[:, None])
        booked = (last >= 0)[:, None]
        ends_above = booked & (above_last == last[:, None])
        rejoined = booked & ~ends_above & (above_last >= 0)  # went above, came back below
        runs_on = booked & (above_last < 0) & (hits.stay < 0)  # below throughout, was above
        stay = jnp.where(rejoined, t0 + 2 + above_last, hits.stay)
        stay = jnp.where(runs_on, t0 + 1, stay)
        new_first = (hits.first < 0) & (first_in < C)
        hits = HitTracker(
            first=jnp.where(new_first, t0 + 1 + first_in, hits.first),
            first_lo=None,
            stay=jnp.where(ends_above, -1, stay),
            stay_lo=None,
        )
        # tol is the ladder's last level. A step at or below it that also diverged (possible
        # only with a divergence factor below tol) halted the lane: the divergence wins below.
        converged = (status == metrics.RUNNING) & (first_in[:, -1] < C)
        status = jnp.where(converged, metrics.CONVERGED, status)
        # a lane halts at its first divergence: if any, it is its last booked step
        last_loss = loss[jnp.maximum(last, 0), jnp.arange(loss.shape[1])]
        diverged = (last >= 0) & self._diverged(last_loss)
        return jnp.where(diverged, metrics.DIVERGED, status), hits, last, last_loss


def lower_ends(steps: np.ndarray) -> np.ndarray:
    """The lower ends of the brackets of steps booked by :meth:`Booking.book_run`: every step
    was checked, so the check before step s > 0 is s - 1 (step 0 and "not reached" (-1) are
    their own)."""
    return np.where(steps > 0, steps - 1, steps)
