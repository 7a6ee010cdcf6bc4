"""Where each lane went: its parameters along the run, by a replay of the kernel's lanes.

A suite that sets ``trajectories = true`` gets, for each entry of a problem with at most
:data:`MAX_TRACKED` parameters, one row per lane and point of the evaluation grid holding the
lane's parameters there (``p0, p1, ...``: the leaves of the parameter pytree, flattened in
``jax.tree`` order), and a last row at the step where the lane stopped holding the kernel's own
final parameters (``final`` true). The report draws the 2-D problems' paths on their contours
from it, and reads where the lanes ended (the double well's basins).

Why a replay and not a recording option in the kernel: the shipped kernels' lowered programs must
not change, and a replay outside them leaves them exactly as they are; it also checks them. The
replay runs the same lanes on the same rows (:func:`gdjax.sampling.plan`, the permutation of each
seed and epoch), with the same optimizer (built as the kernel builds it, learning rate and swept
hyperparameters per lane), from the same starts, each lane up to the step where the kernel
stopped it (a diverged lane is frozen there). It is its own program (a scan over the steps with
a vmap over seeds and configs), written without the kernel's step, chunks or monitoring; its
final parameters must equal the kernel's bit for bit, and :func:`replay` raises
:class:`TrajectoryMismatch` where they do not (``tests/bench/run/test_trajectory.py``).

Example:
    >>> import gdjax
    >>> p = gdjax.problems.saddle(n=16)
    >>> res = gdjax.sweep(p, lrs=[0.1], seeds=[0, 1], batch_size=4, epochs=2)
    >>> rows = replay(p, res, optimizer="sgd", shuffle=True, init=None)
    >>> list(rows.columns), bool(rows["final"].sum() == 2)
    (['lr', 'seed', 'step', 'final', 'p0', 'p1'], True)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

import gdjax
from gdjax._kernel import optimizers  # the same optimizer construction as the kernel's

__all__ = ["MAX_TRACKED", "TrajectoryMismatch", "param_columns", "replay", "tracks"]

#: Problems with at most this many parameters get their lanes' trajectories (the rows grow with
#: lanes x points x parameters).
MAX_TRACKED = 8


class TrajectoryMismatch(AssertionError):
    """The replay's final parameters are not the kernel's: the trajectory would be another
    lane's, so it is refused (a bug in the replay or in the kernel)."""


def tracks(problem) -> bool:
    """Whether a problem is small enough for trajectories (:data:`MAX_TRACKED` parameters).

    Example:
        >>> import gdjax
        >>> tracks(gdjax.problems.saddle(n=16)), tracks(gdjax.problems.deep_quadratic(n=16))
        (True, False)
    """
    return problem.num_params <= MAX_TRACKED


def param_columns(k: int) -> list[str]:
    """The names of ``k`` flattened parameters: ``p0, p1, ...``.

    Example:
        >>> param_columns(2)
        ['p0', 'p1']
    """
    return [f"p{i}" for i in range(k)]


def _flat(params, lead: int) -> np.ndarray:
    """A pytree with ``lead`` leading axes as ``(*lead axes, parameters)``, in ``jax.tree``
    order."""
    leaves = [np.asarray(a) for a in jax.tree.leaves(params)]
    shape = leaves[0].shape[:lead]
    return np.concatenate([a.reshape(*shape, -1) for a in leaves], axis=-1)


def _starts(problem, seeds, init):
    """Each seed's initial parameters, stacked (S, ...): the problem's own (drawn per seed where
    it draws them), or ``init`` filling every parameter, in the problem's dtype."""

    def one(seed):
        p = problem.init_params(int(seed))
        if init is not None:
            p = jax.tree.map(lambda a: np.full(np.shape(a), init, problem.dtype), p)
        return jax.tree.map(lambda a: np.asarray(a, problem.dtype), p)

    starts = [one(s) for s in seeds]
    return jax.tree.map(lambda *xs: np.stack(xs), *starts)


def _rows(res, n: int, shuffle: bool) -> np.ndarray | None:
    """The rows of every step, (steps, S, b): gdjax's plan, or the rows in order; None for
    batch GD (every row, every step)."""
    b, seeds = res.batch_size, res.seeds
    if b >= n:
        return None
    epochs = -(-res.total_steps // res.steps_per_epoch)
    if shuffle:
        return gdjax.sampling.plan(seeds, n, b, epochs)[: res.total_steps]
    spe = res.steps_per_epoch
    order = np.arange(spe * b, dtype=np.int32).reshape(spe, 1, b)
    per_step = np.tile(order, (epochs, len(seeds), 1))
    return per_step[: res.total_steps]


def _program(problem, opt, schedule, spe, total, full: bool):
    """The replay: ``(params (S, L, ...), lrs, hyper, data, rows, last, slots, points) ->
    (final params, params at each point (points, S, L, ...))``."""
    grad_fn = jax.grad(problem.spec.loss)

    def update(params, state, lr, hyper, batch):
        tx = optimizers.make(opt, lr, schedule, hyper=hyper, steps_per_epoch=spe, total_steps=total)
        updates, state = tx.update(grad_fn(params, *batch), state, params)
        return optax.apply_updates(params, updates), state

    def init(params, lr, hyper):
        tx = optimizers.make(opt, lr, schedule, hyper=hyper, steps_per_epoch=spe, total_steps=total)
        return tx.init(params)

    configs = (0, 0, 0, 0, None)  # params, state, lr, hyper per config; the seed's rows shared
    per_seed = jax.vmap(jax.vmap(update, in_axes=configs), in_axes=(0, 0, None, None, 0))
    if full:  # every seed reads every row
        per_seed = jax.vmap(jax.vmap(update, in_axes=configs), in_axes=(0, 0, None, None, None))
    init_all = jax.vmap(jax.vmap(init, in_axes=(0, 0, 0)), in_axes=(0, None, None))

    def run(params, lrs, hyper, data, rows, last, slots, points: int):
        state = init_all(params, lrs, hyper)
        record = jax.tree.map(lambda a: jnp.zeros((points, *a.shape), a.dtype), params)
        record = jax.tree.map(lambda r, a: r.at[0].set(a), record, params)

        def step(carry, xs):
            params, state, record = carry
            t, idx, slot = xs
            batch = data if full else jax.tree.map(lambda a: a[idx], data)
            new, new_state = per_seed(params, state, lrs, hyper, batch)
            moving = t < last  # (S, L): a lane stops where the kernel stopped it

            def keep(a, b):
                return jnp.where(moving.reshape(moving.shape + (1,) * (a.ndim - 2)), a, b)

            params = jax.tree.map(keep, new, params)
            state = jax.tree.map(keep, new_state, state)
            record = jax.tree.map(lambda r, a: r.at[slot].set(a, mode="drop"), record, params)
            return (params, state, record), None

        steps = jnp.arange(slots.shape[0], dtype=jnp.int32)
        (params, _, record), _ = jax.lax.scan(step, (params, state, record), (steps, rows, slots))
        return params, record

    return jax.jit(run, static_argnums=7)


def replay(problem, res, *, optimizer, shuffle: bool, init) -> pd.DataFrame:
    """Replay every lane of a sweep and return its parameters along the run.

    Args:
        problem: the sweep's problem.
        res: its :class:`gdjax.SweepResult` (lanes, rows, the step where each lane stopped and
            its final parameters).
        optimizer: the optimizer as ``gdjax.sweep`` took it (a name or a table).
        shuffle: whether the rows were shuffled.
        init: the ``init`` the sweep took (None: the problem's own starts).

    Returns:
        One row per lane (seed-major) and point of ``res.eval_steps`` up to the lane's stop,
        then one ``final`` row at its stop with the kernel's final parameters: columns lr, one
        per swept hyperparameter, seed, step, final, ``p0 ... p{k-1}``.

    Raises:
        ValueError: a problem with more than :data:`MAX_TRACKED` parameters.
        TrajectoryMismatch: the replay's final parameters differ from the kernel's.
    """
    if not tracks(problem):
        raise ValueError(
            f"trajectories are recorded for problems with at most {MAX_TRACKED} parameters; "
            f"{problem.name} has {problem.num_params}"
        )
    S, L = res.status.shape
    n = problem.n
    rows = _rows(res, n, shuffle)
    last = np.asarray(res.lane_steps, np.int32)
    T = int(last.max())
    eval_steps = np.asarray(res.eval_steps, np.int64)
    # slot of step t's result (the parameters after t + 1 steps) in the record; past it: dropped
    slots = np.full(T, len(eval_steps), np.int32)
    where = np.searchsorted(eval_steps, np.arange(1, T + 1))
    hit = (where < len(eval_steps)) & (
        eval_steps[np.minimum(where, len(eval_steps) - 1)] == np.arange(1, T + 1)
    )
    slots[hit] = where[hit]
    opt = optimizers.check(optimizer)
    dtype = problem.dtype
    starts = _starts(problem, res.seeds, init)
    params0 = jax.tree.map(lambda a: np.repeat(a[:, None], L, axis=1), starts)
    lrs = np.asarray(res.lrs, dtype)
    hyper = {k: np.asarray(v, dtype) for k, v in res.hyperparams.items()}
    full = rows is None
    idx = np.zeros((T, S, 1), np.int32) if full else rows[:T]
    program = _program(problem, opt, res.schedule, res.steps_per_epoch, res.total_steps, full)
    final, record = program(params0, lrs, hyper, problem.data, idx, last, slots, len(eval_steps))
    final, kernel = _flat(final, 2), _flat(res.params, 2)
    if not np.array_equal(final, kernel, equal_nan=True):
        diff = np.nanmax(np.abs(final.astype(np.float64) - kernel))
        raise TrajectoryMismatch(
            f"{problem.name}: the replay's final parameters differ from the kernel's "
            f"(largest difference {diff:.3g})"
        )
    return _frame(res, _flat(record, 3), eval_steps, kernel, last)


def _frame(res, record, eval_steps, final, last) -> pd.DataFrame:
    """The rows of :func:`replay`: each lane's points up to its stop, then its final row."""
    S, L = res.status.shape
    k = final.shape[-1]
    parts = []
    for s in range(S):
        for j in range(L):
            upto = eval_steps <= last[s, j]
            steps = eval_steps[upto]
            values = record[upto, s, j]
            frame = pd.DataFrame(values.astype(np.float64), columns=param_columns(k))
            frame.insert(0, "final", False)
            frame.insert(0, "step", steps)
            end = pd.DataFrame(final[s, j][None].astype(np.float64), columns=param_columns(k))
            end.insert(0, "final", True)
            end.insert(0, "step", int(last[s, j]))
            frame = pd.concat([frame, end], ignore_index=True)
            frame.insert(0, "seed", int(res.seeds[s]))
            for i, (name, v) in enumerate(res.hyperparams.items()):
                frame.insert(i, name, float(v[j]))
            frame.insert(0, "lr", float(res.lrs[j]))
            parts.append(frame)
    return pd.concat(parts, ignore_index=True)
