"""Any optax optimizer, by name, callable or dict, and hyperparameter grids swept per lane:
against plain optax loops, against separate runs, compiled once, bad input refused."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax
from tests.bench.subprocesses import script_prints_ok
from tests.reference import optax_loop

STEPS = dict(batch_size=20, epochs=3, eval_every=1, early_stop=False)


def least_squares(params, X, y):
    r = X @ params["w"] + params["b"] - y
    return jnp.mean(r * r)


def _linear():
    return gdjax.problems.make_linear(100, 3, seed=1, dtype=np.float64)


def _loop(p, opt, seed=0):
    start = {"b": np.float64(0.0), "w": np.zeros(p.d)}
    return optax_loop(least_squares, start, p.X, p.y, opt, b=20, epochs=3, seed=seed)


def _assert_matches(result, reference, rtol=1e-10):
    params, losses = reference
    np.testing.assert_allclose(result.params["w"], params["w"], rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(result.params["b"], params["b"], rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(result.losses, losses, rtol=rtol, atol=1e-12)


def clipped_momentum(learning_rate):
    return optax.chain(optax.clip_by_global_norm(0.5), optax.sgd(learning_rate, momentum=0.8))


@pytest.mark.parametrize(
    "optimizer, reference",
    [
        ("rmsprop", lambda lr: optax.rmsprop(lr)),
        ("adagrad", lambda lr: optax.adagrad(lr)),
        ("lion", lambda lr: optax.lion(lr)),
        ("adamw", lambda lr: optax.adamw(lr)),
        (
            {"name": "rmsprop", "decay": 0.5, "centered": True},
            lambda lr: optax.rmsprop(lr, 0.5, centered=True),
        ),
        (clipped_momentum, clipped_momentum),
        ({"name": "momentum", "momentum": 0.5}, lambda lr: optax.sgd(lr, momentum=0.5)),
    ],
    ids=["rmsprop", "adagrad", "lion", "adamw", "dict", "callable", "momentum-0.5"],
)
def test_an_optimizer_matches_a_plain_optax_loop_float64(x64, optimizer, reference):
    p = _linear()
    r = gdjax.run(p, lr=0.01, optimizer=optimizer, seed=3, **STEPS)
    # the built-in momentum runs in the eigenbasis: same iterates, other rounding
    _assert_matches(r, _loop(p, reference(0.01), seed=3), rtol=1e-9)


@pytest.mark.parametrize(
    "optimizer, label",
    [
        ("rmsprop", "rmsprop"),
        ({"name": "rmsprop", "decay": 0.5}, "rmsprop(decay=0.5)"),
        (clipped_momentum, "clipped_momentum"),
        (lambda lr: optax.sgd(lr), "custom"),
        ({"name": clipped_momentum}, "clipped_momentum"),
    ],
)
def test_the_optimizer_label_in_results(optimizer, label):
    res = gdjax.sweep(gdjax.problems.make_linear(64, 2), lrs=[0.1], epochs=2, optimizer=optimizer)
    assert res.optimizer == label
    assert res.to_frame()["optimizer"].tolist() == [label]


@pytest.mark.parametrize(
    "optimizer, rotated",
    [
        ("momentum", True),
        ({"name": "nesterov", "momentum": 0.5}, True),
        ("adam", False),
        ("rmsprop", False),
        (lambda lr: optax.sgd(lr), False),  # an unknown optimizer is never rotated
        ({"name": "sgd"}, True),
    ],
)
def test_only_the_rotation_equivariant_built_ins_run_in_the_eigenbasis(optimizer, rotated):
    p = gdjax.problems.make_linear(64, 3)
    k = gdjax.build(p, lrs=[0.1], epochs=2, batch_size=8, optimizer=optimizer)
    assert (k.basis is not None) == rotated


def test_a_hyperparameter_grid_gives_its_separate_runs_and_the_optax_loop(x64):
    p = _linear()
    lrs, seeds = [0.01, 0.05], [0, 3]
    grid = {"decay": [0.5, 0.9], "eps": [1e-8, 1e-3]}
    res = gdjax.sweep(p, lrs=lrs, seeds=seeds, optimizer="rmsprop", hyperparams=grid, **STEPS)
    assert res.status.shape == (2, 8)  # seeds x (lrs x combinations)
    frame = res.to_frame()
    assert list(frame.columns[:4]) == ["lr", "decay", "eps", "seed"]
    # configs: learning-rate major, the last keyword fastest; lanes seed-major
    assert frame["lr"].tolist() == [0.01] * 4 + [0.05] * 4 + [0.01] * 4 + [0.05] * 4
    assert frame["decay"].tolist()[:4] == [0.5, 0.5, 0.9, 0.9]
    assert frame["eps"].tolist()[:4] == [1e-8, 1e-3, 1e-8, 1e-3]
    assert frame["seed"].tolist() == [0] * 8 + [3] * 8
    for i in range(res.num_lanes):
        lane = res.lane(i)
        d, e = lane.hyperparams["decay"], lane.hyperparams["eps"]
        assert (d, e, lane.lr, lane.seed) == tuple(frame.loc[i, ["decay", "eps", "lr", "seed"]])
        fixed = {"name": "rmsprop", "decay": d, "eps": e}
        alone = gdjax.run(p, lr=lane.lr, seed=lane.seed, optimizer=fixed, **STEPS)
        np.testing.assert_allclose(lane.losses, alone.losses, rtol=1e-12)
        np.testing.assert_allclose(lane.params["w"], alone.params["w"], rtol=1e-12)
        traced = gdjax.run(
            p,
            lr=lane.lr,
            seed=lane.seed,
            optimizer="rmsprop",
            hyperparams={"decay": d, "eps": [e]},
            **STEPS,
        )
        assert traced.hyperparams == {"decay": d, "eps": e}
        # one lane against 16: other GEMM shapes, the last bit may differ
        np.testing.assert_allclose(traced.losses, lane.losses, rtol=1e-12)
        _assert_matches(lane, _loop(p, optax.rmsprop(lane.lr, decay=d, eps=e), seed=lane.seed))


def test_hyperparameter_columns_in_hits_and_curves():
    p = gdjax.problems.make_linear(128, 2)
    grid = {"momentum": [0.0, 0.5, 0.9]}
    res = gdjax.sweep(
        p, lrs=[0.05], seeds=[0, 1], optimizer="momentum", hyperparams=grid, epochs=20
    )
    hits = res.hits()
    assert list(hits.columns[:3]) == ["lr", "momentum", "seed"]
    K = len(res.targets)
    assert hits["momentum"].tolist() == [m for m in [0.0, 0.5, 0.9] * 2 for _ in range(K)]
    curves = res.curves()
    assert list(curves.columns[:3]) == ["lr", "momentum", "seed"]
    lane = res.lane(4)  # seed 1, momentum 0.5
    sel = curves[(curves.seed == 1) & (curves.momentum == 0.5)]
    np.testing.assert_allclose(sel["loss"], lane.losses)
    # momentum 0 is plain sgd: the same lane as the built-in's
    sgd = gdjax.sweep(p, lrs=[0.05], seeds=[0, 1], epochs=20)
    np.testing.assert_allclose(res.losses[:, 0], sgd.losses[:, 0], rtol=1e-5, equal_nan=True)


def test_without_hyperparameters_the_program_and_frames_are_unchanged():
    p = gdjax.problems.make_linear(64, 3)
    k = gdjax.build(p, lrs=[0.1, 0.2], epochs=2, batch_size=8, optimizer="momentum")
    assert k.args.hyper == {} and k.hyperparams is None
    # the built-in's default keyword given as a fixed one: the same program, text for text
    same = gdjax.build(
        p, lrs=[0.1, 0.2], epochs=2, batch_size=8, optimizer={"name": "momentum", "momentum": 0.9}
    )
    assert k.lower().as_text() == same.lower().as_text()
    res = k.to_result(k.call())
    assert list(res.to_frame().columns[:2]) == ["lr", "seed"] and res.hyperparams == {}
    assert res.lane(1).hyperparams == {}


def test_a_second_grid_of_the_same_size_compiles_nothing(compile_counter):
    p = gdjax.problems.make_logistic(96, 3)
    kw = dict(seeds=[0, 1], batch_size=8, epochs=2, optimizer="rmsprop")
    first = gdjax.sweep(p, lrs=[0.01, 0.1], hyperparams={"decay": [0.5, 0.9, 0.99]}, **kw)
    n_first = len(compile_counter)
    assert n_first >= 1
    second = gdjax.sweep(p, lrs=[0.02, 0.3], hyperparams={"decay": [0.1, 0.2, 0.3]}, **kw)
    assert len(compile_counter) == n_first, "a new grid of the same size recompiled"
    assert not np.array_equal(first.losses, second.losses)
    # the same callable object, new rates: no compile either
    gdjax.sweep(p, lrs=[0.1, 0.2], **{**kw, "optimizer": clipped_momentum})
    n_callable = len(compile_counter)
    gdjax.sweep(p, lrs=[0.3, 0.4], **{**kw, "optimizer": clipped_momentum})
    assert len(compile_counter) == n_callable


def test_a_callable_that_takes_the_keyword_sweeps_it():
    def heavy_ball(learning_rate, beta=0.9):
        return optax.sgd(learning_rate, momentum=beta)

    p = gdjax.problems.make_linear(64, 2)
    res = gdjax.sweep(
        p, lrs=[0.05], optimizer=heavy_ball, hyperparams={"beta": [0.5, 0.8]}, epochs=5
    )
    ref = gdjax.sweep(
        p, lrs=[0.05], optimizer="momentum", hyperparams={"momentum": [0.5, 0.8]}, epochs=5
    )
    np.testing.assert_allclose(res.final_loss, ref.final_loss, rtol=1e-5)
    assert res.to_frame()["beta"].tolist() == [0.5, 0.8]


def needs_python_clip(learning_rate, clip=1.0):
    if clip > 0:  # a Python branch: clip cannot be traced
        return optax.chain(optax.clip(clip), optax.sgd(learning_rate))
    return optax.sgd(learning_rate)


def concrete_rate(learning_rate):
    return optax.sgd(float(learning_rate))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (
            dict(optimizer="rmsprp"),
            ValueError,
            "unknown optimizer 'rmsprp'.*did you mean 'rmsprop'",
        ),
        (
            dict(optimizer="scale_by_adam"),
            ValueError,
            "first parameter is 'b1', not the learning rate",
        ),
        (dict(optimizer=3), TypeError, "optimizer must be a name"),
        (dict(optimizer=optax.sgd(0.1)), TypeError, "optimizer must build the transformation"),
        (dict(optimizer={"decay": 0.9}), TypeError, "optimizer given as a dict needs a 'name'"),
        (dict(optimizer={"name": 1}), TypeError, r"optimizer\['name'\] must be"),
        (
            dict(optimizer={"name": "rmsprop", "decai": 0.9}),
            ValueError,
            "optimizer: .*'decai'.*did you mean 'decay'",
        ),
        (
            dict(optimizer={"name": "rmsprop", "decay": {}}),
            TypeError,
            "optimizer keyword 'decay' must be hashable",
        ),
        (
            dict(optimizer=lambda lr: 3),
            TypeError,
            "must return an optax.GradientTransformation, got int",
        ),
        (dict(optimizer=concrete_rate), ValueError, "cannot take a traced learning rate"),
        (dict(optimizer="lbfgs"), TypeError, "optimizer 'lbfgs' failed when built and stepped"),
        (
            dict(optimizer="momentum", hyperparams={"momentumm": [0.5]}),
            ValueError,
            "hyperparams: .*'momentumm'",
        ),
        (
            dict(optimizer="sgd", hyperparams={"momentum": [0.5]}),
            ValueError,
            "takes the learning rate alone",
        ),
        (
            dict(optimizer=clipped_momentum, hyperparams={"momentum": [0.5]}),
            ValueError,
            "hyperparams: .*takes no keyword 'momentum'",
        ),
        (dict(optimizer="rmsprop", hyperparams=[0.5]), TypeError, "hyperparams must be a dict"),
        (
            dict(optimizer="rmsprop", hyperparams={"decay": []}),
            ValueError,
            r"hyperparams\['decay'\] must be .*non-empty",
        ),
        (
            dict(optimizer="rmsprop", hyperparams={"decay": [0.5, np.nan]}),
            ValueError,
            r"hyperparams\['decay'\] must be finite",
        ),
        (
            dict(optimizer="rmsprop", hyperparams={"decay": [np.inf]}),
            ValueError,
            r"hyperparams\['decay'\] must be finite",
        ),
        (
            dict(optimizer="rmsprop", hyperparams={"decay": [1 + 2j]}),
            TypeError,
            r"hyperparams\['decay'\] must be a real",
        ),
        (
            dict(optimizer="rmsprop", hyperparams={"decay": "0.5"}),
            TypeError,
            r"hyperparams\['decay'\] must be a number",
        ),
        (
            dict(optimizer="rmsprop", hyperparams={"centered": [True, False]}),
            TypeError,
            "pass a switch as a fixed keyword",
        ),
        (
            dict(optimizer="rmsprop", hyperparams={"decay": [1e-50]}),
            ValueError,
            r"hyperparams\['decay'\] 1e-50 underflows",
        ),
        (
            dict(optimizer={"name": "rmsprop", "decay": 0.5}, hyperparams={"decay": [0.9]}),
            ValueError,
            "also a fixed keyword",
        ),
        (
            dict(optimizer="adafactor", hyperparams={"min_dim_size_to_factor": [1, 2]}),
            ValueError,
            "cannot take it as a traced value.*fixed keyword",
        ),
        (
            dict(optimizer=needs_python_clip, hyperparams={"clip": [0.5, 1.0]}),
            ValueError,
            r"hyperparams\['clip'\].*fixed keyword",
        ),
    ],
)
def test_bad_optimizers_and_grids_are_refused_before_tracing(compile_counter, kwargs, exc, match):
    p = gdjax.problems.make_softmax(32, 3, 4)  # (4, 4) weights: adafactor factors them
    before = len(compile_counter)  # making the problem compiles its own programs
    with pytest.raises(exc, match=match):
        gdjax.check(p, lrs=[0.1], epochs=2, **kwargs)
    with pytest.raises(exc, match=match):
        gdjax.sweep(p, lrs=[0.1], epochs=2, **kwargs)
    assert len(compile_counter) == before, "an error came after compiling"


def test_run_takes_one_value_per_hyperparameter():
    p = gdjax.problems.make_linear(64, 2)
    with pytest.raises(TypeError, match=r"hyperparams\['momentum'\] must be a single value"):
        gdjax.run(p, lr=0.1, epochs=2, optimizer="momentum", hyperparams={"momentum": [0.5, 0.9]})
    r = gdjax.run(p, lr=0.1, epochs=2, optimizer="momentum", hyperparams={"momentum": 0.5})
    assert r.hyperparams == {"momentum": 0.5}


SHARDED = """
import jax, numpy as np, gdjax
assert len(jax.devices()) == 2
p = gdjax.problems.make_logistic(128, 3, seed=1)
kw = dict(lrs=[0.05, 0.5, 5.0], seeds=[0, 1], batch_size=16, epochs=3, optimizer="rmsprop",
          hyperparams={"decay": [0.5, 0.9, 0.99]})  # 9 configs: padded to 10
one = gdjax.sweep(p, **kw)
k = gdjax.build(p, sharding=gdjax.devices.lane_sharding(), **kw)
assert k.args.lrs.shape == (10,) and k.args.hyper["decay"].shape == (10,)
two = k.to_result(k.call())
assert two.status.shape == one.status.shape == (2, 9)
np.testing.assert_array_equal(two.first_step, one.first_step)
np.testing.assert_allclose(two.final_loss, one.final_loss, rtol=1e-10)
assert two.to_frame()["decay"].tolist() == one.to_frame()["decay"].tolist()
print("ok")
"""


@pytest.mark.slow
def test_a_hyperparameter_grid_shards_over_two_host_devices_padded():
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_ENABLE_X64": "1",
    }
    script_prints_ok(SHARDED, env)


def test_probe_compiles_nothing(compile_counter):
    p = gdjax.problems.make_linear(64, 2)
    jax.clear_caches()
    before = len(compile_counter)
    gdjax.check(p, lrs=[0.1], epochs=2, optimizer="adamw", hyperparams={"b1": [0.8, 0.9]})
    assert len(compile_counter) == before
