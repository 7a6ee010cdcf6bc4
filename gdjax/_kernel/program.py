"""The fused kernel: every step of every lane of a sweep in one compiled program.

The rows of every step are drawn before the run (:func:`gdjax.sampling.plan`) and read as the
input of a ``lax.scan``: no branch and no permutation are carried through the steps. The loss
is monitored in one of two ways (see :mod:`gdjax.metrics` for the definitions)::

    exact (least squares, quadratic: the full-data loss costs O(d^2), or O(d) in the eigenbasis;
           logistic, softmax where a pass over the data each step is affordable):
        while a chunk of C steps remains and a lane is still moving:
            gather the chunk's rows (one gather, not one per step)
            scan C steps: rows -> vmap over lanes(jax.grad(loss) -> optax update)
                          -> loss of every lane (a lane whose last loss halted it keeps its
                             parameters, so its loss repeats)
            reduce the chunk's C x lanes losses, in one pass, to where each lane crossed
            each level (the first step at or below it, the last above it, the halt)
        then, on the host (monitor.finish): status, steps to every target, where each lane stopped

    grid (logistic, softmax where a pass over the data each step is not affordable, see
    gdjax._kernel.cost.exact_affordable):
        while a point of the evaluation grid remains and a lane is still moving:
            loop the steps up to the next grid point
            loss of every lane: a lane that halts there is frozen
        then, on the host (monitor.finish): the same booking, from the curve

Lanes are (config, seed) pairs on one flat axis, a config being a learning rate and the values
of the swept hyperparameters (:mod:`gdjax._kernel.hyperparams`); every lane of a seed sees the
same rows, so a vmap turns their matrix-vector products into one matrix-matrix product. Lanes
never mix: a converged (with early stop) or diverged lane is frozen at its parameters and cannot
put NaN into another. Learning rates, hyperparameter values, seeds, the plan, tolerance, targets
and divergence factor are traced arrays: a new grid of the same size reuses the compiled kernel.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gdjax._kernel import backend, optimizers
from gdjax._kernel.booking import Booking, Ledger
from gdjax._kernel.config import Config
from gdjax._kernel.levels import Levels
from gdjax._kernel.monitoring import EXACT, GRID, gather, gathers_chunks

__all__ = [
    "ExactStart",
    "KernelArgs",
    "ProgramOutput",
    "Start",
    "gather",
    "gathers_chunks",
    "jitted_program",
    "make_step",
    "one_step",
    "start",
]


class ExactStart(NamedTuple):
    """What exact monitoring starts from, made on the host by :func:`start`."""

    chunk_losses: np.ndarray  # (C, lanes), each chunk's losses; f(w0) before the first
    # 0 ... C - 1, a chunk's steps, and C - 1, 0 ... C - 2, where the loss before each step is
    # in the chunk's losses (arguments: an iota or the index arithmetic in the program would be
    # kernels of their own)
    chunk_steps: np.ndarray
    chunk_before: np.ndarray
    marks: np.ndarray  # (lanes, 2K + 3), the crossings so far (zeros)


class Start(NamedTuple):
    """Every lane at step 0, made on the host by :func:`start` (lanes first)."""

    params: Any
    moving: np.ndarray  # (lanes,) bool: not halted (converged at the start, with early stop)
    losses: np.ndarray  # the curve: f(w0), then zeros
    exact: ExactStart | None  # exact monitoring's start; None with grid monitoring


def start(config: Config, ledger: Ledger, init, seed_inits=None) -> Start:
    """The state of every lane at step 0, in NumPy.

    Part of the kernel's arguments rather than of its program: XLA would compile each of these
    broadcasts into a kernel of its own, each with its compile time.

    Args:
        config: the kernel's config (its grid and monitoring).
        ledger: every lane at step 0 as the host books it (:meth:`Ledger.of`):
            the kernel moves the lanes the host books as moving, from its own f(w0).
        init: one lane's initial parameters.
        seed_inits: one pytree per seed where each seed starts elsewhere (lanes are
            seed-major); None: every lane starts at ``init``.

    Returns:
        A :class:`Start`.
    """
    levels = ledger.booking.levels
    lanes = ledger.moving.shape[0]
    f0 = np.asarray(ledger.f0, levels.f0.dtype)
    # zeros, not NaN: monitor.finish() masks the points a lane did not reach, and a multi-process
    # device_put checks that every process passes equal arrays (NaN != NaN)
    losses = np.zeros((len(config.eval_steps), lanes), f0.dtype)
    losses[0] = f0
    if seed_inits is None:
        params = jax.tree.map(lambda x: np.repeat(np.asarray(x)[None], lanes, axis=0), init)
    else:  # seed-major: each seed's start repeated over its learning rates
        per_seed = lanes // len(seed_inits)
        params = jax.tree.map(
            lambda *xs: np.repeat(np.stack([np.asarray(x) for x in xs]), per_seed, axis=0),
            *seed_inits,
        )
    exact = None
    if config.exact:
        exact = ExactStart(
            chunk_losses=np.broadcast_to(f0, (config.chunk, lanes)).copy(),
            chunk_steps=np.arange(config.chunk, dtype=np.int32),
            chunk_before=np.roll(np.arange(config.chunk, dtype=np.int32), 1),
            marks=np.zeros((lanes, 2 * levels.ladder.shape[0] + 1), np.int32),
        )
    return Start(
        params=params,
        moving=ledger.moving,
        losses=losses,
        exact=exact,
    )


class KernelArgs(NamedTuple):
    """The traced arguments of the kernel, in the order the compiled program takes them.

    Attributes:
        data: the data, the loss's arguments after the parameters (``Problem.data``: X and y
            for the shipped losses), every leaf with the rows first.
        aux: what the problem's cheap monitor needs (None for most problems).
        start: every lane at step 0 (:func:`start`).
        levels: f(w0), f* and what the loss is compared with (:class:`Levels`).
        lrs: the learning rate of each config, (L,).
        seeds: sampling seeds, (S,) uint32.
        rows: the sampling plan, (steps, S, batch) int32, padded to whole chunks ((0,) when
            rows are not shuffled).
        hyper: keyword -> the value of each config, (L,): the swept hyperparameters. Empty
            without a grid, so it adds no argument to the program (last, so that it moves no
            other).
    """

    data: Any
    aux: Any
    start: Start
    levels: Levels
    lrs: jax.Array
    seeds: jax.Array
    rows: jax.Array
    hyper: Any


class ProgramOutput(NamedTuple):
    """What the compiled program returns; :func:`gdjax._kernel.booking.finish` books it on the host.

    Attributes:
        params: final (or frozen) parameters of every lane, leading axes (seeds, configs).
        losses: the curve, (E + 1, S * L), not yet masked after each lane's stop.
        marks: exact monitoring: (S * L, 2K + 3) the run's
            :meth:`~gdjax._kernel.booking.Booking.crossings`, steps numbered 1 ... chunks x C.
        chunk_losses: exact monitoring: (C, S * L) the losses of the last chunk run. A halted
            lane's loss repeats, so its last one is the loss where it stopped (with grid
            monitoring, the curve's last point run is).
        ran: grid monitoring: intervals run (None with exact monitoring).
        steps_run: steps the kernel executed (< total with early stop).
    """

    params: Any
    losses: jax.Array
    marks: jax.Array | None
    chunk_losses: jax.Array | None
    ran: jax.Array | None
    steps_run: jax.Array


def make_step(config: Config, data, lrs, S: int, hyper=None):
    """``step((params, opt_state), (t, batch)) -> (params, opt_state)`` for every lane, and the
    optimizer's ``init``; ``lrs`` and ``hyper`` (keyword -> (L,)) give each config's learning
    rate and hyperparameter values.

    ``batch`` is the step's rows of every leaf of ``data`` when rows are shuffled, else None:
    ``(X[rows], y[rows])`` for the shipped losses, (S, b, p) and (S, b), or (b, p) and (b,) for
    one seed (see :func:`gather`). Lanes are one
    flat axis of S * L (seed-major); where every lane sees the same rows (batch GD, rows in
    order, one seed) a single vmap makes one matrix-matrix product. Several seeds see different
    rows: their lanes are split per seed, and XLA's CPU backend runs that batched product
    slower.
    """
    spec, b, spe = config.spec, config.batch_size, config.steps_per_epoch
    L = lrs.shape[0]
    # a lane's learning rate and hyperparameters travel together (an empty dict adds nothing)
    lane_opts = (jnp.tile(lrs, S), jax.tree.map(lambda h: jnp.tile(h, S), hyper or {}))
    grad_fn = jax.grad(spec.loss)

    def optimizer(opts):
        lr, h = opts
        return optimizers.make(
            config.optimizer,
            lr,
            config.schedule,
            hyper=h,
            steps_per_epoch=spe,
            total_steps=config.total_steps,
        )

    def lane_update(params, opt_state, opts, batch):
        updates, opt_state = optimizer(opts).update(grad_fn(params, *batch), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    shared = jax.vmap(lane_update, in_axes=(0, 0, 0, None))
    per_seed = jax.vmap(shared, in_axes=(0, 0, 0, 0))

    def split(tree):
        return jax.tree.map(lambda a: a.reshape(S, L, *a.shape[1:]), tree)

    def merge(tree):
        return jax.tree.map(lambda a: a.reshape(S * L, *a.shape[2:]), tree)

    def step(carry, xs):
        params, opt_state = carry
        t, batch = xs
        if config.sampling == "full":
            return shared(params, opt_state, lane_opts, data)
        if config.sampling == "ordered":
            start = (t % spe) * b
            rows = jax.tree.map(lambda a: jax.lax.dynamic_slice_in_dim(a, start, b), data)
            return shared(params, opt_state, lane_opts, rows)
        if S == 1:
            return shared(params, opt_state, lane_opts, batch)
        p, o = per_seed(split(params), split(opt_state), split(lane_opts), batch)
        return merge(p), merge(o)

    def init(params):
        return jax.vmap(lambda p, opts: optimizer(opts).init(p))(params, lane_opts)

    return step, init


def one_step(config: Config, data, aux, params, lrs, seeds, rows, hyper=None):
    """One step of every lane (``params`` lanes first), with its loss when that is monitored
    every step: what XLA's cost analysis of a step should see."""
    with backend.matmul_precision(config.precision):
        return _one_step(config, data, aux, params, lrs, seeds, rows, hyper)


def _one_step(config: Config, data, aux, params, lrs, seeds, rows, hyper):
    step, opt_init = make_step(config, data, lrs, seeds.shape[0], hyper)
    batch = gather(data, rows[1]) if config.sampling == "shuffled" else None
    params, _ = step((params, opt_init(params)), (jnp.int32(1), batch))
    if config.exact:
        return params, jax.vmap(lambda p: config.spec.monitor(p, *data, aux))(params)
    return params


def _program(config: Config, *arrays) -> ProgramOutput:
    # the precision is set while tracing: every product carries it into the compiled program
    with backend.matmul_precision(config.precision):
        return _traced_program(config, KernelArgs(*arrays))


def _traced_program(config: Config, a: KernelArgs) -> ProgramOutput:
    spec = config.spec
    S, L = a.seeds.shape[0], a.lrs.shape[0]
    step, opt_init = make_step(config, a.data, a.lrs, S, a.hyper)
    monitor = jax.vmap(lambda p: spec.monitor(p, *a.data, a.aux))
    booking = Booking(a.levels, config.early_stop)
    mode = EXACT if config.exact else GRID
    state = mode.init(a.start, opt_init(a.start.params))
    state = mode.loop(config, a, step, monitor, booking, state)
    marks, chunk_losses, ran = mode.output(state)
    return ProgramOutput(
        jax.tree.map(lambda x: x.reshape(S, L, *x.shape[1:]), state.params),
        state.losses,  # raw: finish() masks it and puts lanes first
        marks,
        chunk_losses,
        ran,
        state.step,
    )


#: The compiled program: ``jitted_program(config, *KernelArgs) -> ProgramOutput``.
jitted_program = jax.jit(_program, static_argnums=0)
