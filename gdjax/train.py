"""The fused kernel: every step of every lane of a sweep in one compiled program.

Structure of the compiled program (per problem shapes, variant, batch size, steps, optimizer)::

    while any lane is still moving and chunks remain:       # lax.while_loop: stops early
        scan eval_every steps:                               # lax.scan: no Python per step
            rows of this step (shared by every lane of a seed: one gather, not one per lane)
            vmap over lanes( jax.grad(loss) on those rows -> optax update )
        evaluate the full-data loss of every lane; mark converged / diverged; freeze those lanes

A lane is one (learning rate, seed) pair. Lanes never mix: a diverged lane is frozen at its last
parameters and cannot put NaN into any other lane. The learning rates, seeds, tolerance and
divergence factor are traced arrays, so a new grid of the same size reuses the compiled kernel.

Example:
    >>> import gdjax
    >>> p = gdjax.problems.make_linear(256, 4)
    >>> k = build(p, lrs=[0.01, 0.1], seeds=[0], batch_size=16, epochs=3)
    >>> out = k.call()
    >>> out.losses.shape  # (seeds, lrs, evaluations + 1)
    (1, 2, 49)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding, PartitionSpec

from gdjax import metrics, optimizers, sampling
from gdjax.problems import Problem
from gdjax.result import Result, SweepResult

__all__ = ["Config", "Kernel", "KernelOutput", "build", "run", "sweep"]

DEFAULT_EVALS = 100  # evaluation points per run when eval_every is not given


class Config(NamedTuple):
    """The static part of a kernel: everything that changes the compiled program.

    Attributes:
        spec: the problem's loss spec (hashable).
        optimizer: optimizer name.
        n: rows in the data.
        batch_size: rows per step (n for batch GD).
        steps_per_epoch: n // batch_size.
        total_steps: epochs * steps_per_epoch.
        eval_every: steps between evaluations of the full-data loss.
        shuffle: draw a new permutation every epoch (else rows in order).
        early_stop: freeze a lane once it converges and stop when no lane moves.
    """

    spec: Any
    optimizer: str
    n: int
    batch_size: int
    steps_per_epoch: int
    total_steps: int
    eval_every: int
    shuffle: bool
    early_stop: bool

    @property
    def eval_steps(self) -> np.ndarray:
        """Step index of every evaluation: 0, e, 2e, ..., and the last step."""
        s = list(range(0, self.total_steps + 1, self.eval_every))
        if s[-1] != self.total_steps:
            s.append(self.total_steps)
        return np.asarray(s, np.int64)


class KernelOutput(NamedTuple):
    """What the compiled kernel returns; lane arrays have leading axes (seeds, lrs).

    Attributes:
        params: final (or frozen) parameters of every lane.
        losses: full-data loss at each evaluation, (S, L, E + 1); NaN after a lane stopped.
        status: metrics.RUNNING (ran to the end: max_steps), CONVERGED or DIVERGED, (S, L).
        target_eval: index into eval_steps of the first converged evaluation, or -1, (S, L).
        last_eval: index of the last evaluation each lane recorded, (S, L).
        steps_run: steps the kernel executed (shared by all lanes; < total with early stop).
        f0: full-data loss at the initial parameters.
    """

    params: Any
    losses: jax.Array
    status: jax.Array
    target_eval: jax.Array
    last_eval: jax.Array
    steps_run: jax.Array
    f0: jax.Array


class Kernel(NamedTuple):
    """A kernel ready to compile and call: the jitted function, its static config and arguments.

    ``lower().compile()`` compiles ahead of time (the harness times that apart); ``call()`` runs
    through JAX's jit cache.
    """

    config: Config
    args: tuple
    problem: Problem
    lrs: np.ndarray
    seeds: np.ndarray

    def lower(self):
        """``jax.jit(...).lower`` of this kernel (call ``.compile()`` on the result)."""
        return _jitted_kernel.lower(self.config, *self.args)

    def call(self) -> KernelOutput:
        """Run the kernel through jit (compiling on first use) and return its raw output."""
        return _jitted_kernel(self.config, *self.args)

    def step_cost(self) -> dict:
        """XLA's cost analysis of one step of every lane: ``{"flops": ..., "bytes accessed": ...}``.

        The kernel's own cost analysis counts each loop body once, mixing one step with one
        evaluation and the setup; this compiles the step alone (mid-epoch, so the once-per-epoch
        shuffle, integer work with no flops, is left out).
        """
        X, y, _, init, _, _, _, lrs, seeds = self.args
        fn = jax.jit(_one_step, static_argnums=0)
        cost = fn.lower(self.config, X, y, init, lrs, seeds).compile().cost_analysis()
        if isinstance(cost, list):  # older jax: one dict per program
            cost = cost[0] if cost else {}
        return {k: float(v) for k, v in (cost or {}).items() if k in ("flops", "bytes accessed")}

    def to_result(self, out: KernelOutput) -> SweepResult:
        """Turn a raw :class:`KernelOutput` into a :class:`SweepResult` (on every process)."""
        return SweepResult.from_kernel(self, jax.tree.map(_to_host, out))


def build(
    problem: Problem,
    *,
    lrs,
    seeds=(0,),
    batch_size: int | None = None,
    epochs: int,
    shuffle: bool = True,
    init=None,
    optimizer: str = "sgd",
    tol: float = 1e-3,
    eval_every: int | None = None,
    divergence_factor: float = 1e4,
    early_stop: bool = True,
    sharding=None,
) -> Kernel:
    """Validate a sweep and prepare its kernel without compiling or running it.

    Arguments are those of :func:`sweep`, plus ``sharding``: an optional
    ``jax.sharding.Sharding`` for the learning-rate axis (see ``gdjax.devices``).

    Returns:
        A :class:`Kernel`.

    Raises:
        TypeError, ValueError: on bad input, naming the argument, before any tracing.

    Example:
        >>> import gdjax
        >>> k = gdjax.build(gdjax.problems.make_linear(256, 4), lrs=[0.01, 0.5], epochs=3)
        >>> compiled = k.lower().compile()  # ahead of time: the harness times this apart
        >>> res = k.to_result(compiled(*k.args))
        >>> res.to_frame()["status"].tolist()
        ['max_steps', 'converged']
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a gdjax Problem, got {type(problem).__name__}")
    lrs_np = _check_lrs(lrs)
    seeds_np = _check_seeds(seeds)
    n = problem.n
    b = n if batch_size is None else _check_int(batch_size, "batch_size", lo=1)
    if b > n:
        raise ValueError(f"batch_size must be <= n = {n}, got {b}")
    epochs = _check_int(epochs, "epochs", lo=1)
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be a bool, got {type(shuffle).__name__}")
    if not isinstance(early_stop, bool):
        raise TypeError(f"early_stop must be a bool, got {type(early_stop).__name__}")
    optimizers.check(optimizer)
    tol = _check_real(tol, "tol", lo=0.0)
    divergence_factor = _check_real(divergence_factor, "divergence_factor", lo=0.0, strict=True)
    spe = sampling.steps_per_epoch(n, b)
    total = epochs * spe
    if eval_every is None:
        eval_every = max(1, math.ceil(total / DEFAULT_EVALS))
    else:
        eval_every = _check_int(eval_every, "eval_every", lo=1)
    eval_every = min(eval_every, total)
    config = Config(
        spec=problem.spec,
        optimizer=optimizer,
        n=n,
        batch_size=b,
        steps_per_epoch=spe,
        total_steps=total,
        eval_every=eval_every,
        shuffle=shuffle,
        early_stop=early_stop,
    )
    dtype = problem.dtype
    too_big = lrs_np[lrs_np > float(jnp.finfo(dtype).max)]
    if too_big.size:
        raise ValueError(f"lr {too_big[0]:g} overflows the problem's dtype {np.dtype(dtype)}")
    if sharding is not None:
        parts = len(sharding.device_set)
        if len(lrs_np) % parts:
            raise ValueError(
                f"lrs: {len(lrs_np)} learning rates do not split evenly over the {parts} devices "
                "of sharding"
            )
    init_params = _check_init(init, problem)
    _, f_star = problem.optimum()
    args = (
        problem.X,
        problem.y,
        problem.monitor_aux(),
        init_params,
        jnp.asarray(f_star, dtype),
        jnp.asarray(tol, dtype),
        jnp.asarray(divergence_factor, dtype),
        np.asarray(lrs_np, dtype),
        jnp.asarray(seeds_np, jnp.uint32),
    )
    LRS = 7  # position of the learning rates, the one sharded argument
    if isinstance(sharding, NamedSharding):
        # Everything but the learning rates is replicated on the same mesh. With hosts joined
        # by jax.distributed the mesh spans processes, and an argument left on one process's
        # default device could not meet the sharded learning rates in one program.
        places = [NamedSharding(sharding.mesh, PartitionSpec())] * len(args)
        places[LRS] = sharding
        args = tuple(jax.device_put(a, p) for a, p in zip(args, places, strict=True))
    else:
        lrs_arr = (
            jnp.asarray(args[LRS]) if sharding is None else jax.device_put(args[LRS], sharding)
        )
        args = (*args[:LRS], lrs_arr, *args[LRS + 1 :])
    return Kernel(config, args, problem, lrs_np, seeds_np)


def sweep(
    problem: Problem,
    *,
    lrs,
    seeds=(0,),
    batch_size: int | None = None,
    epochs: int,
    shuffle: bool = True,
    init=None,
    optimizer: str = "sgd",
    tol: float = 1e-3,
    eval_every: int | None = None,
    divergence_factor: float = 1e4,
    early_stop: bool = True,
    sharding=None,
) -> SweepResult:
    """Run every (learning rate, seed) lane of a grid in one compiled, vmapped kernel.

    Args:
        problem: a :class:`~gdjax.problems.Problem`.
        lrs: learning rates, a 1-D sequence of finite numbers > 0.
        seeds: integer seeds >= 0 of the row sampling (one permutation stream per seed).
        batch_size: rows per step: None = batch GD, 1 = stochastic GD, b = mini-batch.
        epochs: passes over the data, >= 1 (an epoch is n // batch_size steps).
        shuffle: a fresh permutation of the rows every epoch; False keeps row order.
        init: initial parameters: a pytree like ``problem.init_params()``, a float that fills
            every parameter, or None for zeros.
        optimizer: "sgd" (``w - lr * g``), "momentum", "nesterov" or "adam".
        tol: a lane has converged at the first evaluation with relative suboptimality
            ``(f - f*) / (f(w0) - f*) <= tol``.
        eval_every: steps between full-data loss evaluations (default: about 100 per run).
        divergence_factor: a lane has diverged when its loss is not finite or
            ``f - f* > divergence_factor * max(f(w0) - f*, |f*|)``.
        early_stop: freeze a lane once converged; the kernel stops when no lane is left moving.
        sharding: spread the lanes over devices, e.g. ``gdjax.devices.lane_sharding()``; with
            hosts joined by ``jax.distributed``, every process calls ``sweep`` alike and gets
            the whole result.

    Returns:
        A :class:`~gdjax.result.SweepResult`; ``.to_frame()`` gives one row per lane.

    Example:
        >>> import gdjax
        >>> p = gdjax.problems.make_linear(512, 8)
        >>> res = gdjax.sweep(p, lrs=[0.01, 0.1, 3.0], batch_size=32, epochs=5)
        >>> res.to_frame()["status"].tolist()
        ['max_steps', 'converged', 'diverged']
    """
    kernel = build(
        problem,
        lrs=lrs,
        seeds=seeds,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=shuffle,
        init=init,
        optimizer=optimizer,
        tol=tol,
        eval_every=eval_every,
        divergence_factor=divergence_factor,
        early_stop=early_stop,
        sharding=sharding,
    )
    return kernel.to_result(kernel.call())


def run(
    problem: Problem,
    *,
    lr: float,
    batch_size: int | None = None,
    epochs: int,
    shuffle: bool = True,
    seed: int = 0,
    init=None,
    optimizer: str = "sgd",
    tol: float = 1e-3,
    eval_every: int | None = None,
    divergence_factor: float = 1e4,
    early_stop: bool = True,
) -> Result:
    """Run gradient descent once (a sweep of one lane).

    Args:
        problem: a :class:`~gdjax.problems.Problem`.
        lr: the learning rate, finite and > 0.
        seed: integer seed of the row sampling.
        Others: as in :func:`sweep`.

    Returns:
        A :class:`~gdjax.result.Result` with params, losses, steps, status and the to-target
        counts (None when not converged).

    Example:
        >>> import gdjax
        >>> p = gdjax.problems.quadratic(1.0, -5.0, 5.0)
        >>> r = gdjax.run(p, lr=0.1, epochs=100, init=7.0, eval_every=1)
        >>> r.status, r.steps_to_target
        ('converged', 16)
    """
    if isinstance(lr, (Sequence, np.ndarray)) and not isinstance(lr, str):
        raise TypeError("lr must be a single number; use gdjax.sweep for a grid")
    res = sweep(
        problem,
        lrs=[lr],
        seeds=[_check_int(seed, "seed", lo=0)],
        batch_size=batch_size,
        epochs=epochs,
        shuffle=shuffle,
        init=init,
        optimizer=optimizer,
        tol=tol,
        eval_every=eval_every,
        divergence_factor=divergence_factor,
        early_stop=early_stop,
    )
    return res.lane(0)


# --------------------------------------------------------------------------------------------
# The compiled kernel
# --------------------------------------------------------------------------------------------


def _to_host(a) -> np.ndarray:
    """A kernel output as a NumPy array; lanes held by other hosts are gathered first."""
    if getattr(a, "is_fully_addressable", True):
        return np.asarray(jax.device_get(a))
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(a, tiled=True))


def _make_step(config: Config, X, y, init, lrs, seeds):
    """The step of every lane, ``step((params, opt_state, perm), t)``, and its initial carry.

    Lanes are kept on one flat axis of S * L (seed-major). Where every lane sees the same rows
    (batch GD, rows in order, or one seed) a single vmap turns the lanes' matrix-vector
    products into one matrix-matrix product; a nested vmap over seeds would make it a batched
    product, which XLA's CPU backend runs 2-3x slower even for a batch of one.
    """
    spec, b, n, spe = config.spec, config.batch_size, config.n, config.steps_per_epoch
    S, L = seeds.shape[0], lrs.shape[0]
    keys = jax.vmap(jax.random.key)(seeds)
    lane_lrs = jnp.tile(lrs, S)
    grad_fn = jax.grad(spec.loss)

    def lane_update(params, opt_state, lr, Xb, yb):
        updates, opt_state = optimizers.make(config.optimizer, lr).update(
            grad_fn(params, Xb, yb), opt_state, params
        )
        return optax.apply_updates(params, updates), opt_state

    # Which rows a step sees. Full batch: all rows, no gather. In order: a slice shared by every
    # seed. Shuffled: one gather per seed, shared by that seed's learning rates.
    mode = "full" if b == n else ("shuffled" if config.shuffle else "ordered")
    shared = jax.vmap(lane_update, in_axes=(0, 0, 0, None, None))
    per_seed = jax.vmap(shared, in_axes=(0, 0, 0, 0, 0))

    def split(tree):
        return jax.tree.map(lambda a: a.reshape(S, L, *a.shape[1:]), tree)

    def merge(tree):
        return jax.tree.map(lambda a: a.reshape(S * L, *a.shape[2:]), tree)

    def update_all(params, opt_state, Xb, yb):
        if mode != "shuffled":
            return shared(params, opt_state, lane_lrs, Xb, yb)
        if S == 1:
            return shared(params, opt_state, lane_lrs, Xb[0], yb[0])
        p, o = per_seed(split(params), split(opt_state), lane_lrs.reshape(S, L), Xb, yb)
        return merge(p), merge(o)

    def step(carry, t):
        params, opt_state, perm = carry
        if mode == "full":
            Xb, yb = X, y
        elif mode == "ordered":
            start = (t % spe) * b
            Xb = jax.lax.dynamic_slice_in_dim(X, start, b)
            yb = jax.lax.dynamic_slice_in_dim(y, start, b)
        else:
            k = t % spe
            # t is not batched, so this stays a real branch: one permutation per epoch
            perm = jax.lax.cond(
                k == 0,
                lambda p: jax.vmap(sampling.epoch_permutation, (0, None, None))(keys, t // spe, n),
                lambda p: p,
                perm,
            )
            idx = sampling.batch_rows(perm, k, b)
            Xb, yb = X[idx], y[idx]
        params, opt_state = update_all(params, opt_state, Xb, yb)
        return (params, opt_state, perm), None

    params0 = jax.tree.map(lambda a: jnp.broadcast_to(a, (S * L, *a.shape)), init)
    opt0 = jax.vmap(lambda p, lr: optimizers.make(config.optimizer, lr).init(p))(params0, lane_lrs)
    perm0 = jnp.zeros((S, n) if mode == "shuffled" else (0,), jnp.int32)
    return step, (params0, opt0, perm0)


def _one_step(config: Config, X, y, init, lrs, seeds):
    """One step of every lane, mid-epoch: what XLA's cost analysis of a step should see."""
    step, carry = _make_step(config, X, y, init, lrs, seeds)
    return step(carry, jnp.int32(1 % config.steps_per_epoch))[0]


def _kernel(config: Config, X, y, aux, init, f_star, tol, div_factor, lrs, seeds) -> KernelOutput:
    spec = config.spec
    S, L = seeds.shape[0], lrs.shape[0]
    lanes = S * L
    step, (params0, opt0, perm0) = _make_step(config, X, y, init, lrs, seeds)

    monitor = jax.vmap(lambda p: spec.monitor(p, X, y, aux))
    f0 = spec.monitor(init, X, y, aux)
    # when the start is already optimal, relative suboptimality is 0, not 0/0
    denom = jnp.maximum(f0 - f_star, jnp.finfo(f0.dtype).tiny)
    # Diverged means far worse than the start on the problem's own scale. Relative to f0 - f*
    # alone, a start next to the optimum would make ordinary SGD noise count as divergence.
    blowup = div_factor * jnp.maximum(denom, jnp.abs(f_star))

    def moving(status):
        if config.early_stop:
            return status == metrics.RUNNING
        return status != metrics.DIVERGED

    def chunk(state, length, eval_idx):
        c, params, opt_state, perm, losses, status, target, last, steps_run = state
        start = steps_run
        (new_p, new_s, perm), _ = jax.lax.scan(
            step, (params, opt_state, perm), start + jnp.arange(length)
        )
        mv = moving(status)

        def keep(new, old):
            m = mv.reshape(mv.shape + (1,) * (new.ndim - 1))
            return jnp.where(m, new, old)

        params = jax.tree.map(keep, new_p, params)
        opt_state = jax.tree.map(keep, new_s, opt_state)
        loss = monitor(params)
        rel = (loss - f_star) / denom
        diverged = mv & (~jnp.isfinite(loss) | (loss - f_star > blowup))
        converged = mv & (status == metrics.RUNNING) & (rel <= tol) & ~diverged
        losses = losses.at[eval_idx].set(jnp.where(mv, loss, jnp.nan))
        last = jnp.where(mv, eval_idx, last)
        target = jnp.where(converged, eval_idx, target)
        status = jnp.where(diverged, metrics.DIVERGED, status)
        status = jnp.where(converged, metrics.CONVERGED, status)
        return (c + 1, params, opt_state, perm, losses, status, target, last, start + length)

    num_full = config.total_steps // config.eval_every
    rem = config.total_steps - num_full * config.eval_every
    num_evals = num_full + (rem > 0)

    losses0 = jnp.full((num_evals + 1, lanes), jnp.nan, f0.dtype).at[0].set(f0)
    status0 = jnp.where(
        (f0 - f_star) / denom <= tol, metrics.CONVERGED, metrics.RUNNING
    ) * jnp.ones((lanes,), jnp.int32)
    target0 = jnp.where(status0 == metrics.CONVERGED, 0, -1).astype(jnp.int32)
    state = (
        jnp.int32(0),
        params0,
        opt0,
        perm0,
        losses0,
        status0,
        target0,
        jnp.zeros((lanes,), jnp.int32),
        jnp.int32(0),
    )
    state = jax.lax.while_loop(
        lambda s: (s[0] < num_full) & jnp.any(moving(s[5])),
        lambda s: chunk(s, config.eval_every, s[0] + 1),
        state,
    )
    if rem:
        state = jax.lax.cond(
            jnp.any(moving(state[5])) & (state[0] == num_full),
            lambda s: chunk(s, rem, s[0] + 1),
            lambda s: s,
            state,
        )
    _, params, _, _, losses, status, target, last, steps_run = state

    def grid(a):  # lanes back to (seeds, learning rates)
        return a.reshape(S, L, *a.shape[1:])

    return KernelOutput(
        jax.tree.map(grid, params),
        grid(losses.T),
        grid(status),
        grid(target),
        grid(last),
        steps_run,
        f0,
    )


_jitted_kernel = jax.jit(_kernel, static_argnums=0)


# --------------------------------------------------------------------------------------------
# Validation (in Python, before tracing, so errors name the argument and not a tracer)
# --------------------------------------------------------------------------------------------


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check_int(v, arg, *, lo):
    if not _is_int(v):
        raise TypeError(f"{arg} must be an int, got {type(v).__name__} {v!r}")
    if v < lo:
        raise ValueError(f"{arg} must be >= {lo}, got {v}")
    return int(v)


def _check_real(v, arg, *, lo, strict=False):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{arg} must be a real number, got {type(v).__name__} {v!r}")
    v = float(v)
    if not math.isfinite(v) or v < lo or (strict and v == lo):
        raise ValueError(f"{arg} must be finite and {'>' if strict else '>='} {lo}, got {v}")
    return v


def _check_lrs(lrs) -> np.ndarray:
    if isinstance(lrs, (str, bytes)):
        raise TypeError("lrs must be a sequence of numbers, got a string")
    arr = np.asarray(lrs, dtype=object if isinstance(lrs, (list, tuple)) else None)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lrs must be a non-empty 1-D sequence, got shape {arr.shape}")
    for v in arr:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"lr must be a real number, got {type(v).__name__} {v!r}")
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"lr must be finite and > 0, got {v}")
    return arr.astype(np.float64)


def _check_seeds(seeds) -> np.ndarray:
    if _is_int(seeds):
        seeds = [seeds]
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of ints, got {type(seeds).__name__}")
    out = []
    for s in seeds:
        out.append(_check_int(s, "seed", lo=0))
        if s >= 2**32:
            raise ValueError(f"seed must be < 2**32, got {s}")
    if not out:
        raise ValueError("seeds must not be empty")
    return np.asarray(out, np.int64)


def _check_init(init, problem: Problem):
    template = problem.init_params()
    if init is None:
        return template
    if isinstance(init, (np.ndarray, jax.Array)) and np.ndim(init) == 0:
        init = init.item()  # a 0-d array is a number
    if isinstance(init, (complex, np.complexfloating)) or np.iscomplexobj(init):
        raise TypeError(f"init must be real, got {type(init).__name__}")
    if isinstance(init, (int, float, np.integer, np.floating)) and not isinstance(init, bool):
        if not math.isfinite(init):
            raise ValueError(f"init must be finite, got {init}")
        return jax.tree.map(lambda t: jnp.full_like(t, init), template)
    try:
        leaves = jax.tree.map(lambda t, v: np.asarray(v), template, init)
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"init must be a float or a pytree like problem.init_params() "
            f"({jax.tree.structure(template)}): {e}"
        ) from None
    out = {}
    for k, t in template.items():
        v = leaves[k]
        if v.shape != t.shape:
            raise ValueError(f"init[{k!r}] must have shape {t.shape}, got {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"init[{k!r}] contains NaN or inf")
        out[k] = jnp.asarray(v, t.dtype)
    return out
