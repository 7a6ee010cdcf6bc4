"""gdjax.problems.custom: a user's loss and pytree data against independent references (a NumPy
backprop loop in float64, least squares' closed form, the shipped linear problem), per-seed
starts booked from each lane's own f(w0), the three sources of f*, one compile per grid, and
every bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from gdjax._kernel import cost
from gdjax.problems.losses import custom as custom_losses

RNG = np.random.default_rng(0)
X = RNG.standard_normal((48, 4))
Y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * RNG.standard_normal(48)
HIDDEN = 5


def mlp(params, batch):
    """A two-layer tanh network, mean squared error."""
    x, y = batch
    h = jnp.tanh(x @ params["W1"] + params["b1"])
    return jnp.mean((h @ params["W2"] + params["b2"] - y) ** 2)


def mlp_init(key):
    k1, k2 = jax.random.split(key)
    return {
        "W1": jax.random.normal(k1, (4, HIDDEN)) / 2,
        "b1": jnp.zeros(HIDDEN),
        "W2": jax.random.normal(k2, (HIDDEN,)) / 2,
        "b2": jnp.zeros(()),
    }


def numpy_mlp_sgd(params, x, y, lr, batch_size, epochs):
    """Mini-batch gradient descent on :func:`mlp`, rows in order, by hand-written backprop."""
    p = {k: np.asarray(v, np.float64).copy() for k, v in params.items()}
    n = x.shape[0]
    for _ in range(epochs):
        for k in range(n // batch_size):
            xb, yb = (
                x[k * batch_size : (k + 1) * batch_size],
                y[k * batch_size : (k + 1) * batch_size],
            )
            h = np.tanh(xb @ p["W1"] + p["b1"])
            r = h @ p["W2"] + p["b2"] - yb
            dout = 2.0 * r / len(yb)
            dh = np.outer(dout, p["W2"]) * (1.0 - h * h)
            grads = {"W2": h.T @ dout, "b2": dout.sum(), "W1": xb.T @ dh, "b1": dh.sum(axis=0)}
            p = {k2: p[k2] - lr * grads[k2] for k2 in p}
    return p


@pytest.mark.parametrize("batch_size", [8, 48])
def test_mlp_trained_by_gdjax_matches_a_numpy_backprop_loop(x64, batch_size):
    p = gdjax.problems.custom(mlp, (X, Y), init=mlp_init, f_star=0.0)
    res = gdjax.run(p, lr=0.05, batch_size=batch_size, epochs=6, shuffle=False, early_stop=False)
    want = numpy_mlp_sgd(p.init_params(0), X, Y, 0.05, batch_size, 6)
    assert res.status == "max_steps"
    assert set(res.params) == set(want)
    for k, v in want.items():
        np.testing.assert_allclose(res.params[k], v, rtol=1e-12, atol=1e-13)


def test_tree_data_dict_runs_as_the_shipped_least_squares():
    """A dict of three leaves (one unused by the loss but gathered too), shuffled mini-batches,
    several seeds: the same iterates as gdjax.problems.linear on the same rows."""

    def loss(params, batch):
        r = batch["x"] @ params["w"] + params["b"] - batch["y"]["target"]
        return jnp.mean(batch["weight"] * r * r)

    data = {"x": X, "y": {"target": Y}, "weight": np.ones(48)}
    init = {"w": np.zeros(4), "b": np.zeros(())}
    mine = gdjax.problems.custom(loss, data, init=init)
    ref = gdjax.problems.linear(X, Y)
    grid = dict(lrs=[0.01, 0.1], seeds=[0, 3], batch_size=6, epochs=3, exact=True)
    got, want = gdjax.sweep(mine, **grid), gdjax.sweep(ref, **grid)
    np.testing.assert_allclose(mine.optimum()[1], ref.optimum()[1], rtol=1e-9)
    for k in ("w", "b"):
        np.testing.assert_allclose(got.params[k], want.params[k], rtol=2e-4, atol=2e-5)
    np.testing.assert_array_equal(got.status, want.status)
    assert mine.n == 48 and mine.d == 6  # scalars per row over every leaf


def per_seed_start(key):
    """Seeds 0, 1, 2 start at w = 1, 0.3, 0.005 (threefry: key_data is (0, seed))."""
    seed = int(jax.random.key_data(key)[-1])
    return {"w": jnp.asarray([1.0, 0.3, 0.005][seed])}


def square(params, batch):  # w^2 whatever the rows: f* = 0, batch GD halves w at lr 0.25
    return jnp.mean((batch[:, 0] - params["w"]) ** 2)


@pytest.mark.parametrize("exact", [True, False])
def test_per_seed_starts_are_booked_from_each_lanes_own_loss(x64, exact):
    p = gdjax.problems.custom(square, np.zeros((4, 1)), init=per_seed_start, f_star=0.0)
    targets, tol = [1e-1, 1e-2, 1e-3], 1e-4
    grid = dict(lrs=[0.25], seeds=[0, 1, 2], epochs=20, targets=targets, tol=tol, exact=exact)
    res = gdjax.sweep(p, **grid)  # the grid's first 20 checks are every step: exact counts
    # an independent count: f_t = w0^2 / 4^t, levels relative to the largest start f0 = 1
    assert res.f0 == 1.0
    for s, w0 in enumerate([1.0, 0.3, 0.005]):
        f = w0**2 * 0.25 ** np.arange(21)
        want = [int(np.argmax(f <= level)) for level in [*targets, tol]]
        assert res.first_step[s, 0].tolist() == want, s
        assert res.losses[s, 0, 0] == pytest.approx(w0**2, rel=1e-15)  # the lane's own f(w0)
    assert res.first_step[2, 0].tolist() == [0, 0, 0, 0]  # converged at its start
    assert res.lane(2).status == "converged" and res.lane_steps[2, 0] == 0
    assert float(res.params["w"][2, 0]) == 0.005  # never moved
    assert res.first_lo[1, 0].tolist() == [0, 1, 3, 4]  # exact: step before, 0 at 0


def test_each_seed_starts_at_its_own_draw():
    p = gdjax.problems.custom(mlp, (X, Y), init=mlp_init, f_star="best")
    res = gdjax.sweep(p, lrs=[1e-9], seeds=[0, 1], epochs=1, batch_size=48, early_stop=False)
    starts = [p.value(p.init_params(s)) for s in (0, 1)]
    assert starts[0] != starts[1]
    np.testing.assert_allclose(res.losses[:, 0, 0], starts, rtol=1e-5)
    np.testing.assert_allclose(res.params["W1"][1, 0], p.init_params(1)["W1"], rtol=1e-5)
    assert res.f0 == pytest.approx(max(starts))


def test_f_star_given_number():
    p = gdjax.problems.custom(square, np.zeros((2, 1)), init={"w": np.ones(())}, f_star=-0.5)
    assert p.optimum() == (None, -0.5)
    assert p.f_star_source.label == "given" and not p.offers("curvature")
    res = gdjax.sweep(p, lrs=[0.1], epochs=3)
    assert res.f_star == -0.5 and res.to_frame()["f_star_source"].tolist() == ["given"]


def test_reference_f_star_agrees_with_the_float64_closed_form_and_records_its_solve(x64):
    def loss(params, batch):
        return jnp.mean((batch[0] @ params["w"] + params["b"] - batch[1]) ** 2)

    p = gdjax.problems.custom(loss, (X, Y), init={"w": np.zeros(4), "b": np.zeros(())})
    A = np.hstack([X, np.ones((48, 1))])
    theta, *_ = np.linalg.lstsq(A, Y, rcond=None)
    params, f_star = p.optimum()
    np.testing.assert_allclose(f_star, np.mean((A @ theta - Y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(params["w"], theta[:4], atol=1e-8)
    src = p.f_star_source
    g0 = np.linalg.norm(2 * A.T @ (0 - Y) / 48)
    assert src.method == "L-BFGS (float64)" and src.reached
    assert src.grad_norm <= 1e-9 * max(1.0, g0) and src.seconds > 0 and src.iterations > 0
    # curvature by Lanczos against the Hessian 2 A^T A / n (five parameters: exact)
    eig = np.linalg.eigvalsh(2 * A.T @ A / 48)
    np.testing.assert_allclose(p.curvature(), (eig[-1], eig[0]), rtol=1e-9)
    assert gdjax.theory.stability_limit(p) == pytest.approx(2 / eig[-1])
    res = gdjax.sweep(p, lrs=[0.1], epochs=2)
    assert res.to_frame()["f_star_source"].iloc[0].startswith("L-BFGS (float64), |grad|")


def test_curvature_is_absent_beyond_its_parameter_limit(monkeypatch):
    monkeypatch.setattr(custom_losses, "CURVATURE_MAX_PARAMS", 3)
    import gdjax.problems._custom as made

    monkeypatch.setattr(made, "CURVATURE_MAX_PARAMS", 3)
    p = gdjax.problems.custom(mlp, (X, Y), init=mlp_init)
    assert p.offers("optimum") and not p.offers("curvature")
    with pytest.raises(ValueError, match="offers no curvature"):
        p.curvature()


def test_best_found_is_the_lowest_loss_of_a_first_pass_and_labelled(compile_counter):
    p = gdjax.problems.custom(mlp, (X, Y), init=mlp_init, f_star="best")
    grid = dict(lrs=[0.02, 0.1], seeds=[0, 1], batch_size=8, epochs=4)
    before = len(compile_counter)
    res = gdjax.sweep(p, **grid)
    compiles = len(compile_counter) - before
    # the same lanes run to the end against a known f* (no early stop): their lowest loss
    free = gdjax.problems.custom(mlp, (X, Y), init=mlp_init, f_star=-1.0)
    all_steps = gdjax.sweep(free, **grid, early_stop=False)
    lowest = min(np.nanmin(all_steps.losses), np.nanmin(all_steps.final_loss))
    assert res.f_star == pytest.approx(lowest, rel=1e-6)
    assert set(res.to_frame()["f_star_source"]) == {"best found"}
    assert (res.status == gdjax.metrics.CONVERGED).any()  # the lane that set it reaches tol
    with pytest.raises(ValueError, match="best"):
        p.optimum()
    # the first pass and the booked one are one program: a new grid compiles nothing
    before = len(compile_counter)
    gdjax.sweep(p, **{**grid, "lrs": [0.03, 0.05]})
    assert len(compile_counter) == before, f"recompiled (first sweep: {compiles} compiles)"


def test_a_second_grid_of_the_same_shapes_compiles_nothing(compile_counter):
    p = gdjax.problems.custom(mlp, (X, Y), init=mlp_init, f_star=0.0)
    gdjax.sweep(p, lrs=[0.01, 0.1], seeds=[0, 1], batch_size=8, epochs=2)
    before = len(compile_counter)
    gdjax.sweep(p, lrs=[0.02, 0.3], seeds=[4, 5], batch_size=8, epochs=2)
    # a new problem of the same loss and shapes shares the compiled program too
    q = gdjax.problems.custom(mlp, (X + 1.0, Y), init=mlp_init, f_star=0.0)
    gdjax.sweep(q, lrs=[0.02, 0.3], seeds=[4, 5], batch_size=8, epochs=2)
    assert len(compile_counter) == before


def test_exact_monitoring_decided_by_measured_flops():
    p = gdjax.problems.custom(mlp, (X, Y), init=mlp_init, f_star=0.0)
    check, step = p.flops(1)
    # a full pass (48 rows, forward) against a gradient on one row (forward and backward)
    assert 10 < check / step < 48
    assert cost.exact_affordable(p, 48, 10, 4)  # batch GD: a check costs about a step
    big = gdjax.problems.custom(
        mlp, (np.zeros((8192, 4)), np.zeros(8192)), init=mlp_init, f_star=0.0
    )
    assert not cost.exact_affordable(big, 1, 100_000, 16)
    assert gdjax.sweep(p, lrs=[0.1], batch_size=48, epochs=2).exact


def test_results_keep_inits_structure():
    init = [{"a": np.zeros(2)}, (np.zeros(()),)]

    def loss(params, batch):
        return jnp.mean((batch - params[0]["a"].sum() - params[1][0]) ** 2)

    p = gdjax.problems.custom(loss, np.arange(6.0), init=init, f_star="best")
    res = gdjax.run(p, lr=0.1, epochs=2)
    assert jax.tree.structure(res.params) == jax.tree.structure(init)


def _ok(params, batch):
    return jnp.mean((batch["x"] - params["w"]) ** 2)


OK_DATA = {"x": np.arange(3.0)}
OK_INIT = {"w": np.zeros(())}


def _flip(key):
    seed = int(jax.random.key_data(key)[-1])
    return {"w": jnp.zeros(())} if seed == 0 else {"v": jnp.zeros(())}


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(loss=3), TypeError, "loss must be callable"),
        (dict(loss=lambda p, b: b["x"] - p["w"]), ValueError, "loss must return a scalar"),
        (dict(loss=lambda p, b: jnp.sum(b["x"] > p["w"])), TypeError, "loss must return a float"),
        (dict(loss=lambda p, b: jnp.mean(b["x"] * (1 + 1j)) * p["w"]), TypeError, "real float"),
        (dict(loss=lambda p, b: jnp.log(p["w"] - 1.0)), ValueError, "loss is nan at the initial"),
        (dict(loss=lambda p, b: p["missing"]), TypeError, "loss.*failed at the initial"),
        (dict(data={"x": np.zeros(3), "y": np.zeros(4)}), ValueError, "disagree on their rows"),
        (dict(data={"x": np.zeros((0, 2))}), ValueError, "at least one row"),
        (dict(data={}), ValueError, "at least one leaf"),
        (dict(data={"x": np.array(["a", "b"])}), TypeError, r"data\['x'\] must be an array"),
        (dict(data={"x": np.float64(1.0)}), ValueError, "leading axis of rows"),
        (dict(data={"x": np.array([1.0, np.nan])}), ValueError, r"data\['x'\] contains NaN"),
        (dict(init={"w": np.zeros((), np.int32)}), TypeError, r"init\['w'\] must be a float"),
        (dict(init={"w": np.array(np.inf)}), ValueError, r"init\['w'\] contains NaN"),
        (dict(init={}), ValueError, "init must be a pytree"),
        (dict(f_star="optimum"), ValueError, "f_star must be a number, 'reference' or 'best'"),
        (dict(f_star=float("nan")), ValueError, "f_star must be finite"),
        (dict(f_star=True), TypeError, "f_star must be a number"),
        (dict(f_star=[0.0]), TypeError, "f_star must be a number"),
        (dict(name=""), TypeError, "name must be a non-empty str"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(kwargs, error, match):
    args = dict(loss=_ok, data=OK_DATA, init=OK_INIT, f_star=0.0, name="mine")
    args.update(kwargs)
    loss, data = args.pop("loss"), args.pop("data")
    with pytest.raises(error, match=match):
        gdjax.problems.custom(loss, data, **args)


def test_an_init_whose_structure_differs_between_seeds_is_refused_before_tracing():
    p = gdjax.problems.custom(_ok, OK_DATA, init=_flip, f_star=0.0)
    with pytest.raises(ValueError, match="init: the parameters drawn for seed 1 have structure"):
        gdjax.build(p, lrs=[0.1], seeds=[0, 1], epochs=1)


def test_an_init_whose_loss_is_nan_for_one_seed_is_refused():
    def start(key):
        return {"w": jnp.asarray([0.0, 5.0][int(jax.random.key_data(key)[-1])])}

    p = gdjax.problems.custom(
        lambda q, b: jnp.mean(jnp.log(2.0 - q["w"]) + b), np.zeros(2), init=start, f_star=0.0
    )
    with pytest.raises(ValueError, match="init: the loss at the initial parameters drawn"):
        gdjax.build(p, lrs=[0.1], seeds=[0, 1], epochs=1)


def test_an_optax_optimizer_and_a_grid_run_a_custom_loss_as_separate_runs(compile_counter):
    p = gdjax.problems.custom(mlp, (X, Y), init=mlp_init, f_star=0.0)
    run = dict(seeds=[0, 1], batch_size=8, epochs=2, optimizer="rmsprop", early_stop=False)
    grid = gdjax.sweep(p, lrs=[1e-3, 1e-2], hyperparams={"decay": [0.9, 0.99]}, **run)
    frame = grid.to_frame()
    before = len(compile_counter)
    gdjax.sweep(p, lrs=[2e-3, 3e-2], hyperparams={"decay": [0.5, 0.8]}, **run)
    assert len(compile_counter) == before  # a second grid of the same size compiles nothing
    for decay in (0.9, 0.99):
        one = gdjax.sweep(
            p,
            lrs=[1e-2],
            optimizer={"name": "rmsprop", "decay": decay},
            **{k: v for k, v in run.items() if k != "optimizer"},
        )
        mine = frame[(frame.lr == 1e-2) & np.isclose(frame.decay, decay)]
        np.testing.assert_allclose(mine["final_loss"], one.to_frame()["final_loss"], rtol=1e-5)
