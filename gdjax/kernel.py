"""The fused kernel: every step of every lane of a sweep in one compiled program.

Structure of the compiled program (per problem shapes, variant, batch size, steps, optimizer)::

    while an evaluation interval remains and a lane is still moving:    # stops early
        for each step of the interval:                                   # no Python per step
            rows of this step (shared by every lane of a seed: one gather, not one per lane)
            vmap over lanes( jax.grad(loss) on those rows -> optax update )
            exact monitoring: full-data loss of every lane -> targets, status, freeze
        grid monitoring: full-data loss of every lane -> targets, status, freeze
        record the loss curve point

**Monitoring.** Where the full-data loss is cheap (least squares: a quadratic form in
``A^T A / n``, O(d^2); the scalar quadratic) it is evaluated after *every* step, so the step at
which a lane first reaches a target is exact. Elsewhere (logistic, softmax: a pass over the data)
it is evaluated at the ends of the intervals, a geometric grid by default (every step early on,
then a spacing that grows by a constant factor), and each count comes with its resolution.

**Targets.** For every lane and every target of the ladder the kernel keeps the first checked
step at or below the target and the step from which it has stayed at or below (with the
previously checked step, the lower end of each bracket). ``tol`` is one more target, the one that
sets the status and the early stop.

A lane is one (learning rate, seed) pair. Lanes never mix: a converged (with early stop) or
diverged lane is frozen at its parameters and cannot put NaN into any other lane. Learning rates,
seeds, tolerance, targets and divergence factor are traced arrays: a new grid of the same size
reuses the compiled kernel.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gdjax import metrics, optimizers, sampling

__all__ = [
    "DEFAULT_EVALS",
    "Config",
    "HitTracker",
    "KernelArgs",
    "KernelOutput",
    "LoopState",
    "eval_grid",
    "jitted_program",
    "one_step",
]

DEFAULT_EVALS = 128  # points of the default geometric evaluation grid


def eval_grid(total_steps: int, eval_every: int | None = None) -> tuple[int, ...]:
    """The steps at which the loss curve is recorded (and, without exact monitoring, checked).

    Args:
        total_steps: steps in the run, >= 1.
        eval_every: None for the default geometric grid (0, 1, 2, ... then steps growing by a
            constant factor, :data:`DEFAULT_EVALS` points at most, the last one ``total_steps``);
            an int k for the uniform grid 0, k, 2k, ... plus the last step.

    Returns:
        Sorted distinct step indices, starting at 0 and ending at ``total_steps``.

    Example:
        >>> eval_grid(10, 4)
        (0, 4, 8, 10)
        >>> eval_grid(100_000)[:6], len(eval_grid(100_000))
        ((0, 1, 2, 3, 4, 5), 113)
    """
    if eval_every is None:
        grid = np.round(np.geomspace(1, total_steps, DEFAULT_EVALS)).astype(np.int64)
        return (0, *sorted({int(s) for s in grid} | {total_steps}))
    points = list(range(0, total_steps + 1, eval_every))
    if points[-1] != total_steps:
        points.append(total_steps)
    return tuple(points)


class Config(NamedTuple):
    """The static part of a kernel: everything that changes the compiled program.

    Attributes:
        spec: the problem's loss spec (hashable).
        optimizer: optimizer name.
        schedule: learning-rate schedule name.
        n: rows in the data.
        batch_size: rows per step (n for batch GD).
        steps_per_epoch: n // batch_size.
        total_steps: epochs * steps_per_epoch.
        eval_steps: the steps where the loss curve is recorded (see :func:`eval_grid`).
        shuffle: draw a new permutation every epoch (else rows in order).
        early_stop: freeze a lane once it converges and stop when no lane moves.
        exact: monitor the full-data loss after every step (else at ``eval_steps``).
    """

    spec: Any
    optimizer: str
    schedule: str
    n: int
    batch_size: int
    steps_per_epoch: int
    total_steps: int
    eval_steps: tuple[int, ...]
    shuffle: bool
    early_stop: bool
    exact: bool


class KernelArgs(NamedTuple):
    """The traced arguments of the kernel, in the order the compiled program takes them.

    Attributes:
        X, y: the data.
        aux: what the problem's cheap monitor needs (None for most problems).
        init: initial parameters (one lane's pytree).
        f_star: the optimum, in the problem's dtype.
        tol: the status target (relative suboptimality).
        targets: the target ladder, (K,).
        div_factor: the divergence factor.
        lrs: learning rates, (L,).
        seeds: sampling seeds, (S,) uint32.
    """

    X: jax.Array
    y: jax.Array
    aux: Any
    init: Any
    f_star: jax.Array
    tol: jax.Array
    targets: jax.Array
    div_factor: jax.Array
    lrs: jax.Array
    seeds: jax.Array


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


class LoopState(NamedTuple):
    """The carry of the kernel's loops."""

    interval: jax.Array  # index of the next evaluation interval
    step: jax.Array  # steps run so far
    params: Any
    opt_state: Any
    perm: jax.Array  # the current epoch's permutation per seed (shuffled mini-batches only)
    status: jax.Array  # (lanes,) metrics.RUNNING / CONVERGED / DIVERGED
    loss: jax.Array  # (lanes,) the latest monitored loss (exact monitoring)
    hits: HitTracker
    losses: jax.Array  # (evaluations + 1, lanes) the recorded curve
    last: jax.Array  # (lanes,) index of the last curve point each lane recorded


class KernelOutput(NamedTuple):
    """What the compiled kernel returns; lane arrays have leading axes (seeds, lrs).

    Attributes:
        params: final (or frozen) parameters of every lane.
        losses: full-data loss at each point of the grid, (S, L, E + 1); NaN after a lane stopped.
        status: metrics.RUNNING (ran to the end: max_steps), CONVERGED or DIVERGED, (S, L).
        first_step, first_lo, stay_step, stay_lo: (S, L, K + 1) step counts of the
            :class:`HitTracker`; the last column is ``tol``.
        last_eval: index of the last curve point each lane recorded, (S, L).
        steps_run: steps the kernel executed (shared by all lanes; < total with early stop).
        f0: full-data loss at the initial parameters.
    """

    params: Any
    losses: jax.Array
    status: jax.Array
    first_step: jax.Array
    first_lo: jax.Array
    stay_step: jax.Array
    stay_lo: jax.Array
    last_eval: jax.Array
    steps_run: jax.Array
    f0: jax.Array


def make_step(config: Config, X, y, init, lrs, seeds):
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

    def optimizer(lr):
        return optimizers.make(
            config.optimizer,
            lr,
            config.schedule,
            steps_per_epoch=spe,
            total_steps=config.total_steps,
        )

    def lane_update(params, opt_state, lr, Xb, yb):
        updates, opt_state = optimizer(lr).update(grad_fn(params, Xb, yb), opt_state, params)
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
    opt0 = jax.vmap(lambda p, lr: optimizer(lr).init(p))(params0, lane_lrs)
    perm0 = jnp.zeros((S, n) if mode == "shuffled" else (0,), jnp.int32)
    return step, (params0, opt0, perm0)


def one_step(config: Config, X, y, aux, init, lrs, seeds):
    """One step of every lane, mid-epoch, with its monitoring when that runs every step: what
    XLA's cost analysis of a step should see."""
    step, carry = make_step(config, X, y, init, lrs, seeds)
    (params, _, _), _ = step(carry, jnp.int32(1 % config.steps_per_epoch))
    if config.exact:
        return params, jax.vmap(lambda p: config.spec.monitor(p, X, y, aux))(params)
    return params


def _select(mask, new, old):
    """Per lane: ``new`` where ``mask``, else ``old`` (pytrees with a leading lane axis)."""

    def pick(a, b):
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, new, old)


def _program(config: Config, *arrays) -> KernelOutput:
    a = KernelArgs(*arrays)
    spec = config.spec
    S, L = a.seeds.shape[0], a.lrs.shape[0]
    lanes = S * L
    step, (params0, opt0, perm0) = make_step(config, a.X, a.y, a.init, a.lrs, a.seeds)

    monitor = jax.vmap(lambda p: spec.monitor(p, a.X, a.y, a.aux))
    f0 = spec.monitor(a.init, a.X, a.y, a.aux)
    # when the start is already optimal, relative suboptimality is 0, not 0/0
    denom = jnp.maximum(f0 - a.f_star, jnp.finfo(f0.dtype).tiny)
    # Diverged means far worse than the start on the problem's own scale. Relative to f0 - f*
    # alone, a start next to the optimum would make ordinary SGD noise count as divergence.
    blowup = a.div_factor * jnp.maximum(denom, jnp.abs(a.f_star))
    levels = jnp.concatenate([a.targets, a.tol[None]])

    def moving(status):
        if config.early_stop:
            return status == metrics.RUNNING
        return status != metrics.DIVERGED

    def check(status, hits: HitTracker, loss, t, prev, active, limit=blowup):
        """Book the losses of the active lanes at step t (the previous check was at prev)."""
        rel = (loss - a.f_star) / denom
        below = rel[:, None] <= levels[None, :]
        act = active[:, None]
        new_first = act & below & (hits.first < 0)
        new_run = act & below & (hits.stay < 0)
        hits = HitTracker(
            first=jnp.where(new_first, t, hits.first),
            first_lo=jnp.where(new_first, prev, hits.first_lo),
            stay=jnp.where(act & ~below, -1, jnp.where(new_run, t, hits.stay)),
            stay_lo=jnp.where(new_run, prev, hits.stay_lo),
        )
        diverged = active & (~jnp.isfinite(loss) | (loss - a.f_star > limit))
        converged = active & (status == metrics.RUNNING) & (rel <= a.tol) & ~diverged
        status = jnp.where(diverged, metrics.DIVERGED, status)
        return jnp.where(converged, metrics.CONVERGED, status), hits

    def train_step(t, s: LoopState) -> LoopState:
        (params, opt_state, perm), _ = step((s.params, s.opt_state, s.perm), t)
        if not config.exact:  # lanes are frozen at the end of the interval instead
            return s._replace(params=params, opt_state=opt_state, perm=perm)
        mv = moving(s.status)
        params = _select(mv, params, s.params)
        opt_state = _select(mv, opt_state, s.opt_state)
        loss = monitor(params)
        status, hits = check(s.status, s.hits, loss, t + 1, t, mv)
        return LoopState(
            s.interval, s.step, params, opt_state, perm, status, loss, hits, s.losses, s.last
        )

    bounds = jnp.asarray(config.eval_steps, jnp.int32)

    def interval(s: LoopState) -> LoopState:
        start, end = bounds[s.interval], bounds[s.interval + 1]
        mv = moving(s.status)
        new = jax.lax.fori_loop(start, end, train_step, s)
        if config.exact:
            status, hits, loss = new.status, new.hits, new.loss
            params, opt_state = new.params, new.opt_state
        else:
            params = _select(mv, new.params, s.params)
            opt_state = _select(mv, new.opt_state, s.opt_state)
            loss = monitor(params)
            status, hits = check(s.status, s.hits, loss, end, start, mv)
        point = s.interval + 1
        losses = s.losses.at[point].set(jnp.where(mv, loss, jnp.nan))
        last = jnp.where(mv, point, s.last)
        return LoopState(point, end, params, opt_state, new.perm, status, loss, hits, losses, last)

    num_intervals = len(config.eval_steps) - 1
    minus = jnp.full((lanes, levels.shape[0]), -1, jnp.int32)
    zero = jnp.int32(0)
    f0_lanes = jnp.full((lanes,), f0)
    # step 0 is checked like any other (a start already at a target has hit it), but it can
    # never count as a divergence
    status0, hits0 = check(
        jnp.full((lanes,), metrics.RUNNING, jnp.int32),
        HitTracker(minus, minus, minus, minus),
        f0_lanes,
        zero,
        zero,
        jnp.ones((lanes,), bool),
        limit=jnp.inf,
    )
    losses0 = jnp.full((num_intervals + 1, lanes), jnp.nan, f0.dtype).at[0].set(f0)
    state = LoopState(
        zero,
        zero,
        params0,
        opt0,
        perm0,
        status0,
        f0_lanes,
        hits0,
        losses0,
        jnp.zeros((lanes,), jnp.int32),
    )
    state = jax.lax.while_loop(
        lambda s: (s.interval < num_intervals) & jnp.any(moving(s.status)), interval, state
    )

    def grid(x):  # lanes back to (seeds, learning rates)
        return x.reshape(S, L, *x.shape[1:])

    h = state.hits
    return KernelOutput(
        jax.tree.map(grid, state.params),
        grid(state.losses.T),
        grid(state.status),
        grid(h.first),
        grid(h.first_lo),
        grid(h.stay),
        grid(h.stay_lo),
        grid(state.last),
        state.step,
        f0,
    )


#: The compiled program: ``jitted_program(config, *KernelArgs) -> KernelOutput``.
jitted_program = jax.jit(_program, static_argnums=0)
