"""The booking rules against a step-by-step NumPy reference, on random loss trajectories.

The kernels' numbers are checked against NumPy training loops elsewhere; here the booking alone
meets trajectories no optimiser produces on purpose: crossings back and forth at every level,
NaN and blow-ups mid chunk, and a padded last chunk. As in the kernel, a lane's loss repeats
after its last check (the kernel freezes it there): the booking finds the stop from that. The
chunks' crossings are reduced as the kernel reduces them (:meth:`Booking.crossings`, traced),
then booked as the host books them (:func:`book`).
"""

import jax.numpy as jnp
import numpy as np
import pytest

from gdjax import metrics
from gdjax._kernel.booking import Booking, Ledger, book, dense_prefix, lower_ends
from gdjax._kernel.levels import Levels

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


def frozen(booking, losses, counts, moving):
    """The chunks as the kernel leaves them: a lane's loss repeats after its last check (where
    it halted, or the last that exists); a lane halted before a chunk repeats its last loss."""
    losses = losses.copy()
    lanes = losses.shape[1]
    halts = np.asarray(booking.halts(losses, np))
    last_loss = np.full(lanes, F0)
    t0 = 0
    for count in counts:
        C = len(losses[t0 : t0 + count])
        for lane in range(lanes):
            if not moving[lane]:
                losses[t0 : t0 + C, lane] = last_loss[lane]
                continue
            stop = np.flatnonzero(halts[t0 : t0 + count, lane])
            end = stop[0] if stop.size else count - 1
            losses[t0 + end + 1 : t0 + C, lane] = losses[t0 + end, lane]
            last_loss[lane] = losses[t0 + end, lane]
            moving[lane] = not stop.size
        t0 += C
    return losses, last_loss


@pytest.mark.parametrize("early_stop", [True, False])
@pytest.mark.parametrize("C", [7, 30])
def test_booking_of_chunks_matches_the_rules_step_by_step(x64, early_stop, C):
    rng = np.random.default_rng(C + early_stop)
    T, lanes = 30, 64
    chunks = -(-T // C)
    counts = np.minimum(C, T - C * np.arange(chunks))
    raw = trajectories(rng, chunks * C, lanes)  # rows past T: the padded chunk's garbage
    booking = Booking(levels(), early_stop)
    # past T, the padded chunk repeats its last step that exists
    losses, last_loss = frozen(booking, raw[:T], counts, np.ones(lanes, bool))
    losses = np.concatenate([losses, np.repeat(losses[-1:], chunks * C - T, axis=0)])
    end = chunks * C
    # a run's crossings are the maximum of its chunks', reduced as the kernel reduces them
    kernel_marks = [
        booking.crossings(jnp.asarray(losses[t : t + C]), t, end) for t in range(0, T, C)
    ]
    marks = np.max(np.stack([np.asarray(m) for m in kernel_marks]), axis=0)
    # the host's reduction (a grid's curve) agrees, over the chunks or the whole run at once
    host = np.max(
        [booking.crossings(losses[t : t + C], t, end, np) for t in range(0, T, C)], axis=0
    )
    np.testing.assert_array_equal(host, marks)
    np.testing.assert_array_equal(booking.crossings(losses, 0, end, np), marks)
    got = book(Ledger.of(booking.levels, early_stop, lanes), marks, end, T, last_loss)
    for lane in range(lanes):
        want = reference(raw[:, lane], range(1, T + 1), early_stop)
        assert got.status[lane] == want[0], lane
        assert got.first[lane].tolist() == want[1], lane
        assert got.stay[lane].tolist() == want[2], lane
        assert got.last[lane] == want[3], lane
        stopped_at = losses[got.last[lane] - 1, lane]  # the loss the kernel's last step left
        assert stopped_at == last_loss[lane] or not np.isfinite(last_loss[lane]), lane
    statuses = set(got.status.tolist())
    assert metrics.DIVERGED in statuses and metrics.RUNNING in statuses  # the test has teeth
    assert metrics.CONVERGED in statuses


@pytest.mark.parametrize("early_stop", [True, False])
def test_booking_of_a_grid_curve_matches_the_rules_at_grid_points(x64, early_stop):
    rng = np.random.default_rng(7 + early_stop)
    T, lanes = 40, 64
    grid = np.array([0, 1, 2, 4, 7, 11, 16, 22, 29, 35, 40])
    raw = trajectories(rng, T, lanes)
    booking = Booking(levels(), early_stop)
    curve, last_loss = frozen(booking, raw[grid[1:] - 1], [len(grid) - 1], np.ones(lanes, bool))
    E = len(grid) - 1
    marks = booking.crossings(curve, 0, E, np)
    got = book(Ledger.of(booking.levels, early_stop, lanes), marks, E, E, last_loss, steps=grid)
    for lane in range(lanes):
        want_status, want_first, want_stay, want_last = reference(
            raw[:, lane], grid[1:], early_stop
        )
        assert got.status[lane] == want_status, lane
        assert got.first[lane].tolist() == want_first, lane
        assert got.stay[lane].tolist() == want_stay, lane
        assert got.last[lane] == want_last, lane
        # read at checks: a bracket (the step before) only where every step up to the count
        # was checked, the grid's 0, 1, 2 (not the grid point before: between checks the
        # trajectory may cross a level and come back)
        first = got.first[lane]
        want = [s - 1 if 0 < s < 3 else (0 if s == 0 else -1) for s in first]
        assert lower_ends(first, first < dense_prefix(grid)).tolist() == want, lane


def test_lanes_halted_at_the_start_keep_the_start_booking(x64):
    booking = Booking(levels(), True)
    lanes = 3
    loss = np.full((5, lanes), F0)
    loss[:, 1] = np.linspace(2.5, 1.5, 5)
    marks = booking.crossings(loss, 0, 5, np)
    ledger = Ledger.of(booking.levels, True, lanes)._replace(moving=np.array([True, False, True]))
    got = book(ledger, marks, 5, 5, loss[-1])
    assert got.last.tolist() == [5, 0, 5] and got.moved.tolist() == [True, False, True]
    assert got.first[1].tolist() == [-1] * 4 and got.status[1] == metrics.RUNNING
    none_ran = booking.crossings(loss[:0], 0, 0, np)
    nothing = book(ledger, none_ran, 0, 0, loss[-1], steps=np.array([0]))
    assert nothing.last.tolist() == [0, 0, 0] and (nothing.first == -1).all()
    assert not nothing.moved.any()


def test_levels_are_float64_on_the_host_then_cast():
    lv = Levels.of(1.0 + 3e-8, 1.0, 1e-3, [0.1], 1e4, np.float32)
    # f0 - f* = 3e-8 survives: in float32, 1 + 3e-8 rounds to 1 and the difference to 0
    assert float(lv.denom) == pytest.approx(3e-8, rel=1e-6)
    assert lv.ladder.dtype == np.float32 and lv.ladder.shape == (2,)
    at_optimum = Levels.of(1.0, 1.0, 1e-3, [0.1], 1e4, np.float32)
    assert float(at_optimum.denom) == np.finfo(np.float32).tiny  # 0 / 0 avoided


def test_lower_ends_are_the_steps_before_and_none_for_counts_read_at_checks():
    np.testing.assert_array_equal(lower_ends(np.array([-1, 0, 1, 17])), [-1, 0, 0, 16])
    steps = np.array([-1, 0, 1, 3, 9])
    grid = np.array([0, 1, 3, 9])
    assert dense_prefix(grid) == 2 and dense_prefix(np.arange(4)) == 4
    np.testing.assert_array_equal(lower_ends(steps, steps < dense_prefix(grid)), [-1, 0, 0, -1, -1])
    np.testing.assert_array_equal(lower_ends(steps, False), [-1] * 5)
