"""The booking rules against a step-by-step NumPy reference, on random loss trajectories.

The kernels' numbers are checked against NumPy training loops elsewhere; here the booking alone
meets trajectories no optimiser produces on purpose: crossings back and forth at every level,
NaN and blow-ups mid chunk, and a padded last chunk. As in the kernel, a lane's loss repeats
after its last step (the kernel freezes it there): the booking finds the stop from that.
"""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from gdjax import metrics
from gdjax.monitor import Booking, Levels, lower_ends

F_STAR, F0, TOL, TARGETS, FACTOR = 1.0, 3.0, 0.05, (0.5, 0.1, 0.01), 40.0


def reference(losses, checked, early_stop):
    """Status, first, stay, last checked step of one lane: the rules one check at a time."""
    denom, blowup = F0 - F_STAR, FACTOR * max(F0 - F_STAR, abs(F_STAR))
    ladder = (*TARGETS, TOL)
    status, last = metrics.RUNNING, 0
    first, stay = [-1] * len(ladder), [-1] * len(ladder)
    for t in checked:
        moving = status == metrics.RUNNING if early_stop else status != metrics.DIVERGED
        if not moving:
            break
        f = losses[t - 1]
        rel = (f - F_STAR) / denom
        diverged = not np.isfinite(f) or f - F_STAR > blowup
        for k, level in enumerate(ladder):
            if rel <= level:
                first[k] = t if first[k] < 0 else first[k]
                stay[k] = t if stay[k] < 0 else stay[k]
            else:
                stay[k] = -1
        if status == metrics.RUNNING and rel <= TOL and not diverged:
            status = metrics.CONVERGED
        if diverged:
            status = metrics.DIVERGED
        last = t
    return status, first, stay, last


def trajectories(rng, steps, lanes):
    """Relative suboptimality wandering across every level, with NaN and blow-ups."""
    log_rel = np.cumsum(rng.normal(-0.15, 0.9, (steps, lanes)), axis=0)
    losses = F_STAR + (F0 - F_STAR) * np.exp(np.clip(log_rel, -12, 8))
    bad = rng.random((steps, lanes)) < 0.004
    losses[bad] = rng.choice([np.nan, np.inf, 1e6], bad.sum())
    return losses


def levels():
    return Levels.of(F0, F_STAR, TOL, TARGETS, FACTOR, np.float64)


@pytest.mark.parametrize("early_stop", [True, False])
@pytest.mark.parametrize("C", [7, 30])
def test_book_run_matches_the_rules_step_by_step(x64, early_stop, C):
    rng = np.random.default_rng(C + early_stop)
    T, lanes = 30, 64
    losses = trajectories(rng, T + C, lanes)  # rows past T: the padded chunk's garbage
    booking = Booking(levels(), early_stop)
    status, hits = booking.levels.start(lanes, brackets=False)
    lane_step = np.zeros(lanes, np.int64)
    lane_loss = np.full(lanes, F0)
    for t0 in range(0, T, C):
        chunk = losses[t0 : t0 + C].copy()
        moving = np.asarray(booking.moving(status))
        count = min(C, T - t0)
        rel = (chunk - F_STAR) / (F0 - F_STAR)
        halts = ~np.isfinite(chunk) | (chunk - F_STAR > FACTOR * (F0 - F_STAR))
        if early_stop:
            halts |= rel <= TOL
        halts &= (np.arange(C) < count)[:, None]
        stop = np.where(halts.any(axis=0), halts.argmax(axis=0), C)
        for lane in range(lanes):  # the kernel freezes a lane: its loss repeats from its stop
            end = min(stop[lane], count - 1) if moving[lane] else -1
            chunk[end + 1 :, lane] = chunk[end, lane] if end >= 0 else lane_loss[lane]
        status, hits, last, last_loss = booking.book_run(
            status, hits, jnp.asarray(chunk), t0, jnp.asarray(moving), count
        )
        last = np.asarray(last)
        lane_step = np.where(moving, t0 + last + 1, lane_step)
        np.testing.assert_array_equal(last, np.where(moving, np.minimum(stop, count - 1), -1))
        got = np.asarray(last_loss)[moving]
        np.testing.assert_array_equal(got, chunk[last[moving], np.flatnonzero(moving)])
        lane_loss = np.where(moving, np.asarray(last_loss), lane_loss)
    for lane in range(lanes):
        want = reference(losses[:, lane], range(1, T + 1), early_stop)
        got = (
            int(status[lane]),
            np.asarray(hits.first[lane]).tolist(),
            np.asarray(hits.stay[lane]).tolist(),
            int(lane_step[lane]),
        )
        assert got == (want[0], want[1], want[2], want[3]), lane
    statuses = set(np.asarray(status).tolist())
    assert metrics.DIVERGED in statuses and metrics.RUNNING in statuses  # the test has teeth


@pytest.mark.parametrize("early_stop", [True, False])
def test_book_check_matches_the_rules_at_grid_points(x64, early_stop):
    rng = np.random.default_rng(7 + early_stop)
    T, lanes = 40, 64
    losses = trajectories(rng, T, lanes)
    grid = [0, 1, 2, 4, 7, 11, 16, 22, 29, 35, 40]
    booking = Booking(levels(), early_stop)
    status, hits = booking.levels.start(lanes, brackets=True)
    for prev, step in itertools.pairwise(grid):
        moving = booking.moving(status)
        status, hits = booking.book_check(
            status, hits, jnp.asarray(losses[step - 1]), step, prev, moving
        )
    for lane in range(lanes):
        want_status, want_first, want_stay, _ = reference(losses[:, lane], grid[1:], early_stop)
        assert int(status[lane]) == want_status, lane
        assert np.asarray(hits.first[lane]).tolist() == want_first, lane
        assert np.asarray(hits.stay[lane]).tolist() == want_stay, lane
        # the lower end of each bracket is the grid point before (unused where not reached)
        for got_lo, want in ((hits.first_lo[lane], want_first), (hits.stay_lo[lane], want_stay)):
            got = [lo for lo, s in zip(np.asarray(got_lo).tolist(), want, strict=True) if s >= 0]
            assert got == [grid[grid.index(s) - 1] if s > 0 else 0 for s in want if s >= 0], lane


def test_levels_are_float64_on_the_host_then_cast():
    lv = Levels.of(1.0 + 3e-8, 1.0, 1e-3, [0.1], 1e4, np.float32)
    # f0 - f* = 3e-8 survives: in float32, 1 + 3e-8 rounds to 1 and the difference to 0
    assert float(lv.denom) == pytest.approx(3e-8, rel=1e-6)
    assert lv.ladder.dtype == np.float32 and lv.ladder.shape == (2,)
    at_optimum = Levels.of(1.0, 1.0, 1e-3, [0.1], 1e4, np.float32)
    assert float(at_optimum.denom) == np.finfo(np.float32).tiny  # 0 / 0 avoided


def test_lower_ends_are_the_steps_before():
    np.testing.assert_array_equal(lower_ends(np.array([-1, 0, 1, 17])), [-1, 0, 0, 16])
