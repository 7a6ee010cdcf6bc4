"""Steps to a ladder of targets, curvature, theory and schedules, against independent references.

References: per-step NumPy loops (tests/reference.py), ``numpy.linalg.eigvalsh``, and optax's
schedules called directly.
"""

import numpy as np
import optax
import pytest

import gdjax
from tests.reference import flat_params, gd_loop

TARGETS = [0.5, 1e-1, 1e-2, 1e-3]


def reference_hits(losses, f_star, checked, target):
    """(first, stay) over the checked steps of a per-step loss trajectory, -1 if none."""
    rel = (losses - f_star) / (losses[0] - f_star)
    below = rel[checked] <= target
    first = int(checked[np.argmax(below)]) if below.any() else -1
    if not below[-1]:
        return first, -1
    above = np.flatnonzero(~below)
    return first, int(checked[above[-1] + 1]) if above.size else int(checked[0])


def lane_hits(res, target):
    h = res.hits()
    row = h[h["target"] == target].iloc[0]
    first = -1 if row["first_step"] is np.nan or row.isna()["first_step"] else row["first_step"]
    stay = -1 if row.isna()["stay_step"] else row["stay_step"]
    return int(first), int(stay), row


@pytest.mark.parametrize(
    "batch_size, shuffle, lr",
    [(None, True, 0.3), (1, True, 0.02), (1, False, 0.03), (8, True, 0.1)],
    ids=["batch", "stochastic", "stochastic-in-order", "minibatch"],
)
def test_least_squares_counts_are_exact_to_the_step(x64, batch_size, shuffle, lr):
    p = gdjax.problems.make_linear(64, 3, noise=0.5, seed=4)
    r = gdjax.run(
        p,
        lr=lr,
        batch_size=batch_size,
        shuffle=shuffle,
        epochs=6,
        seed=2,
        targets=TARGETS,
        early_stop=False,
    )
    _, losses = gd_loop(
        "linear", p.X, p.y, lr=lr, b=batch_size or 64, epochs=6, shuffle=shuffle, seed=2
    )
    every = np.arange(len(losses))
    reached = 0
    for target in TARGETS:
        first, stay, row = lane_hits(r, target)
        assert (first, stay) == reference_hits(losses, r.f_star, every, target), target
        if first >= 0:
            reached += 1
            assert row["first_resolution"] == (1 if first > 0 else 0)
            assert row["first_samples"] == first * (batch_size or 64)
            assert row["first_epochs"] == pytest.approx(first / (64 // (batch_size or 64)))
    assert reached >= 2  # the test says something about hits, not only about misses


def test_noisy_sgd_dips_below_and_back_first_differs_from_stay(x64):
    # constant-rate SGD near its noise floor crosses a tight target many times
    p = gdjax.problems.make_linear(64, 2, noise=1.0, seed=0)
    r = gdjax.run(p, lr=0.05, batch_size=1, epochs=30, seed=1, targets=[0.02], early_stop=False)
    _, losses = gd_loop("linear", p.X, p.y, lr=0.05, b=1, epochs=30, seed=1)
    first, stay, _ = lane_hits(r, 0.02)
    assert (first, stay) == reference_hits(losses, r.f_star, np.arange(len(losses)), 0.02)
    assert first >= 0 and (stay == -1 or stay > first)


def _classification(kind):
    if kind == "logistic":
        return gdjax.problems.make_logistic(96, 3, seed=1)
    return gdjax.problems.make_softmax(96, 3, 3, seed=1)


@pytest.mark.parametrize("kind", ["logistic", "softmax"])
@pytest.mark.parametrize("batch_size", [None, 1, 16], ids=["batch", "stochastic", "minibatch"])
def test_grid_counts_are_read_at_checks_without_a_bracket(x64, kind, batch_size):
    p = _classification(kind)
    lr = 2.0 if batch_size is None else 0.5
    epochs = 300 if batch_size is None else 20
    r = gdjax.run(
        p,
        lr=lr,
        batch_size=batch_size,
        epochs=epochs,
        seed=5,
        targets=TARGETS,
        early_stop=False,
        exact=False,
    )
    assert not r.sweep.exact and not r.exact
    _, losses = gd_loop(
        kind, p.X, p.y, lr=lr, b=batch_size or 96, epochs=epochs, seed=5, l2=p.spec.l2
    )
    grid = r.sweep.eval_steps
    dense = int(np.flatnonzero(grid != np.arange(len(grid)))[0])  # checked every step below
    h = r.hits()
    assert not h["exact"].any()
    reached = 0
    for target in TARGETS:
        first, stay, row = lane_hits(r, target)
        # the first grid check at or below, the first of the final run of checks below
        assert (first, stay) == reference_hits(losses, r.f_star, grid, target), target
        reached += first > 0
        if first >= dense:
            assert row.isna()["first_resolution"], target  # read at checks: no bracket
        elif first > 0:
            assert row["first_resolution"] == 1  # every step up to it was checked
        if stay >= 0:
            assert row.isna()["stay_resolution"], target  # its later steps were not all checked
    assert reached >= (1 if batch_size == 1 else 2)  # stochastic stalls at its noise floor
    f = r.sweep.to_frame()
    assert not f["exact"].any()
    if r.status == "converged" and r.steps_to_target >= dense:
        assert r.resolution is None and f["resolution"].isna().all()


def test_a_grid_count_with_its_old_bracket_was_false():
    # The case: on the grid the first check at or below 1e-2 is step 82 (the check
    # before it is 78), but the loss of the per-step float64 reference is there at step 51.
    p = gdjax.problems.make_logistic(300, 5, seed=0)
    kw = dict(lr=1.0, batch_size=16, epochs=30, seed=1, targets=[1e-2], early_stop=False)
    _, losses = gd_loop("logistic", p.X, p.y, lr=1.0, b=16, epochs=30, seed=1, l2=p.spec.l2)
    on_grid = gdjax.run(p, exact=False, **kw)
    first, _, row = lane_hits(on_grid, 1e-2)
    truth, _ = reference_hits(losses, on_grid.f_star, np.arange(len(losses)), 1e-2)
    assert truth == 51 and first > truth + 4  # a bracket (first - 4, first] would be false
    assert row.isna()["first_resolution"] and not row["exact"]
    by_default = gdjax.run(p, **kw)  # affordable: checked after every step
    first, _, row = lane_hits(by_default, 1e-2)
    assert by_default.exact and first == 51 and row["first_resolution"] == 1


@pytest.mark.parametrize("kind", ["logistic", "softmax"])
@pytest.mark.parametrize("batch_size", [1, 16], ids=["stochastic", "minibatch"])
@pytest.mark.parametrize("seed", [1, 2])
def test_classification_counts_are_exact_to_the_step_by_default(x64, kind, batch_size, seed):
    """Every first-hit and stay-below count of noisy logistic and softmax lanes equals that of
    a per-step float64 NumPy loop, for several rates in one sweep (the issue's case among them:
    logistic, batch 16, lr 1.0, seed 1, 1e-2 first hit at step 51)."""
    p = (
        gdjax.problems.make_logistic(300, 5, seed=0)
        if kind == "logistic"
        else gdjax.problems.make_softmax(300, 5, 3, seed=0)
    )
    lrs = [0.1, 0.3, 1.0]
    epochs = 30 if batch_size == 16 else 6
    targets = [0.5, 1e-1, 3e-2, 1e-2]
    res = gdjax.sweep(
        p,
        lrs=lrs,
        seeds=[seed],
        batch_size=batch_size,
        epochs=epochs,
        targets=targets,
        early_stop=False,
    )
    assert res.exact  # chosen by the cost model: n x the parameters x the steps is small
    h = res.hits()
    compared = hits = 0
    for lr in lrs:
        _, losses = gd_loop(
            kind, p.X, p.y, lr=lr, b=batch_size, epochs=epochs, seed=seed, l2=p.spec.l2
        )
        rel = (losses - res.f_star) / (losses[0] - res.f_star)
        for target in targets:
            if np.min(np.abs(rel - target)) < 1e-9:  # within rounding of the level: no verdict
                continue
            row = h[(h["lr"] == lr) & (h["target"] == target)].iloc[0]
            first = -1 if row.isna()["first_step"] else int(row["first_step"])
            stay = -1 if row.isna()["stay_step"] else int(row["stay_step"])
            want = reference_hits(losses, res.f_star, np.arange(len(losses)), target)
            assert (first, stay) == want, (lr, target)
            compared += 1
            hits += first > 0
            if first > 0:
                assert row["first_resolution"] == 1 and row["exact"]
    assert compared >= 10 and hits >= 4


@pytest.mark.parametrize(
    "batch_size, epochs, lanes, exact",
    [(None, 500, 48, True), (1024, 50, 48, True), (32, 20, 48, False), (1, 3, 48, False)],
    ids=["batch", "half-batch", "minibatch-32", "stochastic"],
)
def test_exact_by_default_where_the_check_costs_at_most_a_step(batch_size, epochs, lanes, exact):
    # the default suite's logistic shape: a check is a pass over 2048 rows, n / 2b steps
    p = gdjax.problems.make_logistic(2048, 32, seed=0)
    lrs = np.geomspace(1e-3, 1.0, lanes)
    args = gdjax.check(p, lrs=lrs, batch_size=batch_size, epochs=epochs)
    assert args.exact is exact
    forced = gdjax.check(p, lrs=lrs, batch_size=batch_size, epochs=epochs, exact=True)
    assert forced.exact and forced.chunk > 1


def test_exact_by_default_where_all_the_checks_are_small():
    # flops of every check of the run: steps x lanes x 2 n P, against the budget
    p = gdjax.problems.make_softmax(300, 5, 3, seed=0)  # P = 6 x 3
    per_lane = 540 * 2 * 300 * 18  # batch 16 for 30 epochs
    small = int(gdjax._kernel.cost.CHECK_BUDGET_FLOPS // per_lane)
    for lanes, exact in ((small, True), (small + 1, False)):
        args = gdjax.check(p, lrs=np.linspace(0.1, 1, lanes), batch_size=16, epochs=30)
        assert args.exact is exact, lanes
    linear = gdjax.problems.make_linear(2048, 32)  # a cheap monitor: always exact
    assert gdjax.check(linear, lrs=np.ones(48), batch_size=1, epochs=3).exact


def test_grid_loss_curve_matches_reference_at_grid_steps(x64):
    p = gdjax.problems.make_logistic(80, 2, seed=3)
    r = gdjax.run(p, lr=0.2, batch_size=4, epochs=5, seed=0, early_stop=False)
    _, losses = gd_loop("logistic", p.X, p.y, lr=0.2, b=4, epochs=5, seed=0, l2=p.spec.l2)
    np.testing.assert_allclose(r.losses, losses[r.steps], rtol=1e-10)


def test_hits_seconds_come_from_the_timed_run():
    p = gdjax.problems.make_linear(128, 2)
    k = gdjax.build(p, lrs=[0.05, 0.1], batch_size=8, epochs=3, targets=[0.1])
    out = k.call()
    untimed = k.to_result(out).hits()
    assert untimed["first_seconds"].isna().all()
    timed = k.to_result(out, run_s=2.0)
    h = timed.hits()
    expected = h["first_step"].astype(float) * 2.0 / timed.steps_run
    np.testing.assert_allclose(h["first_seconds"], expected)


def test_new_targets_and_tol_do_not_recompile(compile_counter):
    p = gdjax.problems.make_linear(96, 2)
    gdjax.sweep(p, lrs=[0.1, 0.2], batch_size=8, epochs=2, targets=[0.5, 0.1])
    before = len(compile_counter)
    res = gdjax.sweep(p, lrs=[0.1, 0.2], batch_size=8, epochs=2, targets=[0.3, 0.01], tol=0.05)
    assert len(compile_counter) == before
    assert list(res.hits()["target"].unique()) == [0.3, 0.01]


def test_tol_column_agrees_with_status_and_steps_to_target():
    p = gdjax.problems.make_linear(256, 4)
    res = gdjax.sweep(p, lrs=[1e-4, 0.05, 0.1], batch_size=16, epochs=5, tol=1e-2, targets=[1e-2])
    f = res.to_frame()
    h = res.hits()
    assert list(f["status"]) == ["max_steps", "converged", "converged"]
    assert f["steps_to_target"].isna().tolist() == [True, False, False]
    np.testing.assert_array_equal(
        f["steps_to_target"].dropna().to_numpy(int), h["first_step"].dropna().to_numpy(int)
    )
    assert (f["resolution"].dropna() == 1).all()


# ----------------------------------------------------------------------------------- curvature


def _hessian_eigs(kind, p):
    X = np.asarray(p.X, np.float64)
    A = np.hstack([X, np.ones((len(X), 1))])
    if kind == "linear":
        return np.linalg.eigvalsh(2 * A.T @ A / len(A))
    opt, _ = p.optimum()
    theta = np.append(opt["w"], opt["b"])
    s = 1 / (1 + np.exp(-(A @ theta)))
    pen = np.append(np.full(X.shape[1], p.spec.l2), 0.0)
    return np.linalg.eigvalsh((A.T * (s * (1 - s))) @ A / len(A) + np.diag(pen))


@pytest.mark.parametrize("kind", ["linear", "logistic"])
@pytest.mark.parametrize("cond", [None, 1e2, 1e4])
def test_curvature_matches_eigvalsh(x64, kind, cond):
    make = gdjax.problems.make_linear if kind == "linear" else gdjax.problems.make_logistic
    p = make(400, 5, seed=2, cond=cond)
    eig = _hessian_eigs(kind, p)
    L, mu = p.curvature()
    assert L == pytest.approx(eig[-1], rel=1e-10) and mu == pytest.approx(eig[0], rel=1e-8)
    if kind == "linear" and cond is not None:
        assert L / mu == pytest.approx(cond, rel=1e-9)  # the knob is exact


@pytest.mark.parametrize("make", ["make_logistic", "make_softmax"])
def test_cond_sets_the_feature_covariance_exactly(make, x64):
    p = getattr(gdjax.problems, make)(300, 6, cond=1e3, seed=1)
    X = np.asarray(p.X, np.float64)
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    ev = np.linalg.eigvalsh(X.T @ X / len(X))
    assert ev[-1] / ev[0] == pytest.approx(1e3, rel=1e-9)
    assert p.name.endswith("-cond1000")


def test_softmax_curvature_leaves_out_the_common_bias_shift(x64):
    p = gdjax.problems.make_softmax(200, 3, 3, seed=0)
    L, mu = p.curvature()
    # independent: the full Hessian by finite differences of the analytic gradient
    from tests.reference import loss_and_grad

    opt, _ = p.optimum()
    X = np.asarray(p.X, np.float64)
    A = np.hstack([X, np.ones((len(X), 1))])
    theta = np.vstack([opt["w"], opt["b"][None, :]])
    y = np.asarray(p.y)
    h = 1e-6
    cols = []
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = h
        gp = loss_and_grad("softmax", theta + e.reshape(theta.shape), A, y, p.spec.l2)[1]
        gm = loss_and_grad("softmax", theta - e.reshape(theta.shape), A, y, p.spec.l2)[1]
        cols.append(((gp - gm) / (2 * h)).ravel())
    eig = np.linalg.eigvalsh((np.array(cols) + np.array(cols).T) / 2)
    assert abs(eig[0]) < 1e-7  # the flat direction
    assert L == pytest.approx(eig[-1], rel=1e-6) and mu == pytest.approx(eig[1], rel=1e-5)


def test_parabola_stability_limit_is_lr_one():
    p = gdjax.problems.textbook("parabola")
    assert gdjax.theory.stability_limit(p) == 1.0
    assert gdjax.run(p, lr=1.0, epochs=50, init=7.0).status == "max_steps"  # oscillates
    assert gdjax.run(p, lr=0.999, epochs=20000, init=7.0).status == "converged"


@pytest.mark.parametrize("cond", [1.0, 1e2])
@pytest.mark.parametrize("fraction", [0.2, 0.8, 1.5])
def test_predicted_batch_gd_counts_equal_measured(x64, cond, fraction):
    p = gdjax.problems.make_linear(300, 4, seed=3, cond=cond)
    lr = fraction * gdjax.theory.best_constant_lr(p)
    targets = [1e-1, 1e-2, 1e-3, 1e-4]
    r = gdjax.run(p, lr=lr, epochs=3000, targets=targets, early_stop=False)
    predicted = gdjax.theory.batch_gd_steps(p, lr, targets, max_steps=3000)
    # No tie: a target that a step meets to within rounding (0.9 of the best rate on cond 1
    # contracts the loss exactly 100-fold a step, so step 2 is at 1e-4 itself) is decided by
    # the last bit. The prediction must not move when the targets do, by far more than that.
    for nudge in (1 - 1e-6, 1 + 1e-6):
        nudged = [t * nudge for t in targets]
        assert gdjax.theory.batch_gd_steps(p, lr, nudged, max_steps=3000) == predicted
    measured = r.hits()["first_step"]
    assert [None if pd_na(v) else int(v) for v in measured] == predicted
    if lr < gdjax.theory.stability_limit(p):
        assert sum(v is not None for v in predicted) >= 2
    else:
        assert r.status == "diverged"


def pd_na(v):
    return v is None or v is np.nan or str(v) == "<NA>"


# ----------------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("schedule", ["inverse_time", "cosine"])
@pytest.mark.parametrize("batch_size", [None, 4])
def test_schedules_match_optax_called_directly(x64, schedule, batch_size):
    p = gdjax.problems.make_linear(32, 2, seed=1)
    epochs = 6
    spe = 32 // (batch_size or 32)
    total = epochs * spe
    if schedule == "cosine":
        shape = optax.cosine_decay_schedule(1.0, total)
    else:

        def shape(t):
            return 1.0 / (1.0 + t / spe)

    r = gdjax.run(
        p,
        lr=0.2,
        batch_size=batch_size,
        epochs=epochs,
        schedule=schedule,
        early_stop=False,
        eval_every=1,
    )
    theta, losses = gd_loop(
        "linear",
        p.X,
        p.y,
        lr=0.2,
        b=batch_size or 32,
        epochs=epochs,
        lr_factor=lambda t: float(shape(t)),
    )
    np.testing.assert_allclose(flat_params(r.params), theta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.losses, losses, rtol=1e-10)


def test_decaying_schedule_goes_below_the_constant_noise_floor():
    p = gdjax.problems.make_linear(256, 4, noise=1.0, seed=0)
    seeds = list(range(8))
    kw = dict(lrs=[0.05], seeds=seeds, batch_size=1, epochs=20, early_stop=False)
    const = gdjax.sweep(p, **kw).to_frame()["final_subopt"].median()
    decay = gdjax.sweep(p, schedule="inverse_time", **kw).to_frame()["final_subopt"].median()
    assert decay < const / 5, (decay, const)


def test_schedule_is_checked():
    p = gdjax.problems.make_linear(32, 2)
    with pytest.raises(ValueError, match="schedule"):
        gdjax.run(p, lr=0.1, epochs=1, schedule="step")
    with pytest.raises(ValueError, match="target"):
        gdjax.run(p, lr=0.1, epochs=1, targets=[0.1, 1.5])
    with pytest.raises(ValueError, match="tol"):
        gdjax.run(p, lr=0.1, epochs=1, tol=1.0)
