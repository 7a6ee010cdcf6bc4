"""Booking monitored losses inside the kernel: status, freeze, and steps to every target.

The kernel hands over the full-data loss of every lane either at one checked step (grid
monitoring, and the start) or for a whole chunk of consecutive steps (exact monitoring: each
step computed the loss of every lane). Both are booked with the same rules (:mod:`gdjax.metrics`
defines them), in one vectorised pass: per step inside the scan they would cost more than the
step on XLA's CPU backend (a dozen small kernels each).

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

from gdjax import metrics

__all__ = ["Booking", "HitTracker", "Levels", "first_index", "last_index"]


class HitTracker(NamedTuple):
    """Per (lane, level) step bookkeeping; -1 means "not (yet)". Levels: targets, then tol.

    Attributes:
        first: first checked step at or below the level.
        first_lo: the check before it (the true crossing lies in (first_lo, first]).
        stay: first step of the current run at or below the level (-1 while above).
        stay_lo: the check before ``stay``.
    """

    first: jax.Array
    first_lo: jax.Array
    stay: jax.Array
    stay_lo: jax.Array


class Levels(NamedTuple):
    """What a loss is compared with (traced scalars and the (K + 1,) ladder)."""

    f_star: jax.Array
    denom: jax.Array  # f(w0) - f*, at least the smallest normal number
    blowup: jax.Array  # f - f* above this is a divergence
    tol: jax.Array
    ladder: jax.Array  # the targets, then tol


def _iota(mask):
    """The index along axis 0, broadcast like ``mask``."""
    shape = (mask.shape[0],) + (1,) * (mask.ndim - 1)
    return jnp.arange(mask.shape[0], dtype=jnp.int32).reshape(shape)


# min / max of a masked index, not argmax: argmax is a two-operand reduction, which XLA's CPU
# backend runs several times slower than a plain one (this booking runs once per chunk).
def first_index(mask):
    """Index of the first True along axis 0, or the axis length when there is none."""
    return jnp.min(jnp.where(mask, _iota(mask), mask.shape[0]), axis=0)


def last_index(mask):
    """Index of the last True along axis 0, or -1 when there is none."""
    return jnp.max(jnp.where(mask, _iota(mask), -1), axis=0)


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
        with early stop, it converged. The rules of :meth:`book`, one step at a time, for a
        kernel that freezes lanes inside a chunk."""
        if not self.early_stop:
            return self._diverged(loss)
        lv = self.levels
        return self._diverged(loss) | ((loss - lv.f_star) / lv.denom <= lv.tol)

    def start(self, f0, lanes: int):
        """Status and hits at step 0, when every lane is at f(w0) (never a divergence)."""
        lv = self.levels
        rel = (f0 - lv.f_star) / lv.denom
        below = jnp.broadcast_to(rel <= lv.ladder, (lanes, lv.ladder.shape[0]))
        at0 = jnp.where(below, 0, -1).astype(jnp.int32)
        status = jnp.where(rel <= lv.tol, metrics.CONVERGED, metrics.RUNNING)
        return jnp.full((lanes,), status, jnp.int32), HitTracker(at0, at0, at0, at0)

    def book(self, status, hits: HitTracker, loss, steps, prevs, moving, valid):
        """Book the losses of C checked steps, in order, of every lane.

        Args:
            status: (lanes,) status before these steps.
            hits: the tracker before these steps.
            loss: (C, lanes) full-data loss at each checked step.
            steps: (C,) the step number of each check.
            prevs: (C,) the step number of the check before each (the lower end of a bracket).
            moving: (lanes,) lanes that took these steps.
            valid: (C,) checks that exist (a padded last chunk has steps past the end).

        Returns:
            ``(status, hits, stop)``: ``stop`` (lanes,) is the index of the check where a lane
            stopped moving (C if it did not).
        """
        lv = self.levels
        C = loss.shape[0]
        rel = (loss - lv.f_star) / lv.denom
        ok = valid[:, None] & moving[None, :]
        diverged = ok & self._diverged(loss)
        running = (status == metrics.RUNNING)[None, :]
        converged = ok & running & (rel <= lv.tol) & ~diverged
        div_at, conv_at = first_index(diverged), first_index(converged)
        stop = jnp.minimum(div_at, conv_at) if self.early_stop else div_at
        active = ok & (_iota(ok) <= stop[None, :])
        status = jnp.where((conv_at < C) & (conv_at <= stop), metrics.CONVERGED, status)
        status = jnp.where((div_at < C) & (div_at <= stop), metrics.DIVERGED, status)

        def at(values, idx):  # values[idx] for (lanes, K + 1) indices, clipped into range
            return jnp.take(values, jnp.clip(idx, 0, C - 1))

        below = rel[:, :, None] <= lv.ladder  # (C, lanes, K + 1)
        act = active[:, :, None]
        first_in = first_index(act & below)  # (lanes, K + 1); C if none
        new_first = (hits.first < 0) & (first_in < C)
        above_last = last_index(act & ~below)  # -1 if none
        last_act = last_index(active)[:, None]  # (lanes, 1); -1 for a lane with nothing booked
        booked = last_act >= 0
        ends_above = booked & (above_last == last_act)
        rejoined = booked & ~ends_above & (above_last >= 0)  # went above, came back below
        runs_on = booked & (above_last < 0) & (hits.stay < 0)  # below throughout, was above
        stay = jnp.where(rejoined, at(steps, above_last + 1), hits.stay)
        stay_lo = jnp.where(rejoined, at(prevs, above_last + 1), hits.stay_lo)
        stay = jnp.where(runs_on, steps[0], stay)
        stay_lo = jnp.where(runs_on, prevs[0], stay_lo)
        hits = HitTracker(
            first=jnp.where(new_first, at(steps, first_in), hits.first),
            first_lo=jnp.where(new_first, at(prevs, first_in), hits.first_lo),
            stay=jnp.where(ends_above, -1, stay),
            stay_lo=stay_lo,
        )
        return status, hits, stop
