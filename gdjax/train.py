"""The public face of the kernel: build a sweep, run it, or run one lane.

:func:`sweep` runs every (learning rate, seed) lane of a grid in one compiled, vmapped program
(see :mod:`gdjax._kernel.program`); :func:`run` is a sweep of one lane; :func:`build` validates the
arguments and returns a :class:`Kernel` that the caller compiles and calls, as the harness does
to time compile and run apart.

Example:
    >>> import gdjax
    >>> p = gdjax.problems.make_linear(256, 4)
    >>> k = build(p, lrs=[0.01, 0.1], seeds=[0], batch_size=16, epochs=3, eval_every=1)
    >>> res = k.to_result(k.call())
    >>> res.losses.shape  # (seeds, lrs, evaluations + 1)
    (1, 2, 49)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from gdjax import checks, devices, sampling
from gdjax._kernel import booking, plan, program
from gdjax._kernel.booking import KernelOutput, Ledger
from gdjax._kernel.config import Config, eval_grid
from gdjax._kernel.eigenbasis import Eigenbasis
from gdjax._kernel.levels import Levels, check_levels
from gdjax._kernel.plan import DEFAULT_TARGETS
from gdjax._kernel.program import KernelArgs
from gdjax.problems import Problem
from gdjax.result import Result, SweepResult

__all__ = ["DEFAULT_TARGETS", "Kernel", "build", "run", "sweep"]


class Kernel(NamedTuple):
    """A kernel ready to compile and call: its static config, traced arguments and labels.

    ``lower().compile()`` compiles ahead of time (the harness times that apart); ``call()`` runs
    through JAX's jit cache; ``execute(compiled)`` also books the output on the host: a timed
    call times that.
    """

    config: Config
    args: KernelArgs
    problem: Problem
    lrs: np.ndarray
    seeds: np.ndarray
    targets: np.ndarray
    tol: float
    f0: float  # the loss at the initial parameters, float64 (Problem.value)
    ledger: Ledger  # what the host books the output against
    basis: Eigenbasis | None = None

    def lower(self):
        """``jax.jit(...).lower`` of this kernel (call ``.compile()`` on the result)."""
        return program.jitted_program.lower(self.config, *self.args)

    def call(self) -> program.ProgramOutput:
        """Run the kernel through jit (compiling on first use) and return its raw output
        (on the devices; :meth:`finish` books it)."""
        return program.jitted_program(self.config, *self.args)

    def finish(self, raw: program.ProgramOutput) -> KernelOutput:
        """Book the program's raw output on the host (:func:`gdjax._kernel.booking.finish`): status,
        steps to every target, the curve; every process gets every lane."""
        out = booking.finish(self.config, self.ledger, jax.tree.map(_to_host, raw))
        if self.args.lrs.shape[0] != len(self.lrs):  # padded to split over the devices
            out = _drop_padding(out, len(self.lrs))
        if self.basis is not None:  # the kernel ran in the eigenbasis
            out = out._replace(params=self.basis.params(out.params["w"]))
        return out

    def execute(self, compiled=None) -> KernelOutput:
        """Run the program (``compiled``, from ``lower().compile()``, or through jit) and book
        its output: a sweep from its arguments to its numbers, what a timed call times."""
        raw = self.call() if compiled is None else compiled(*self.args)
        return self.finish(raw)

    def step_cost(self) -> dict:
        """XLA's cost analysis of one step of every lane: ``{"flops": ..., "bytes accessed": ...}``.

        The kernel's own cost analysis counts each loop body once, mixing one step with one
        evaluation and the setup; this compiles one step alone, with its per-step monitoring
        when the kernel has it (mid-epoch, so the once-per-epoch shuffle, integer work with no
        flops, is left out).
        """
        a = self.args
        fn = jax.jit(program.one_step, static_argnums=0)
        lowered = fn.lower(self.config, a.X, a.y, a.aux, a.start.params, a.lrs, a.seeds, a.rows)
        cost = lowered.compile().cost_analysis()
        if isinstance(cost, list):  # older jax: one dict per program
            cost = cost[0] if cost else {}
        return {k: float(v) for k, v in (cost or {}).items() if k in ("flops", "bytes accessed")}

    def to_result(self, out, run_s: float | None = None) -> SweepResult:
        """Turn the kernel's output into a :class:`SweepResult` (on every process).

        Args:
            out: what the compiled program returned (:meth:`call`), or its booking
                (:meth:`execute`, :meth:`finish`).
            run_s: the measured run time of the kernel, if timed: it gives the seconds columns
                of :meth:`SweepResult.hits`.
        """
        if isinstance(out, program.ProgramOutput):
            out = self.finish(out)
        cfg = self.config
        return SweepResult.from_output(
            out,
            lrs=self.lrs,
            seeds=self.seeds,
            targets=self.targets,
            tol=self.tol,
            eval_steps=cfg.eval_steps,
            f_star=self.problem.optimum()[1],
            f0=self.f0,
            batch_size=cfg.batch_size,
            steps_per_epoch=cfg.steps_per_epoch,
            total_steps=cfg.total_steps,
            optimizer=cfg.optimizer,
            schedule=cfg.schedule,
            exact=cfg.exact,
            run_s=run_s,
        )


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
    schedule: str = "constant",
    tol: float = 1e-3,
    targets=DEFAULT_TARGETS,
    eval_every: int | None = None,
    exact: bool | None = None,
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
        TypeError, ValueError: on bad input, naming the argument, before any tracing; also
            a ``tol`` or target the problem's dtype cannot resolve
            (:func:`gdjax._kernel.levels.check_resolution`), a start or optimum outside its range,
            and a ``divergence_factor`` that makes the start a divergence
            (:func:`gdjax._kernel.levels.check_start`).

    Example:
        >>> import gdjax
        >>> k = gdjax.build(gdjax.problems.make_linear(256, 4), lrs=[0.01, 0.5], epochs=3)
        >>> compiled = k.lower().compile()  # ahead of time: the harness times this apart
        >>> res = k.to_result(k.execute(compiled))
        >>> res.to_frame()["status"].tolist()
        ['max_steps', 'converged']
    """
    devices.check_sharding(sharding)
    a = plan.check(
        problem,
        lrs=lrs,
        seeds=seeds,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=shuffle,
        init=init,
        optimizer=optimizer,
        schedule=schedule,
        tol=tol,
        targets=targets,
        eval_every=eval_every,
        exact=exact,
        divergence_factor=divergence_factor,
        early_stop=early_stop,
    )
    if a.rotate:
        basis = Eigenbasis.of(problem)
        X, spec, aux, kernel_init = basis.kernel_data(problem, a.init)
    else:
        basis = None
        X, spec, aux, kernel_init = problem.X, problem.spec, problem.monitor_aux(), a.init
    config = Config(
        spec=spec,
        optimizer=a.optimizer,
        schedule=a.schedule,
        n=problem.n,
        batch_size=a.batch_size,
        steps_per_epoch=a.steps_per_epoch,
        total_steps=a.total_steps,
        eval_steps=eval_grid(a.total_steps, a.eval_every),
        shuffle=a.shuffle,
        early_stop=a.early_stop,
        exact=a.exact,
        chunk=a.chunk,
    )
    # what the run's dtype cannot hold or resolve, refused before running (gdjax._kernel.levels)
    f_star, f0, gap0 = check_levels(
        problem,
        spec,
        aux,
        a.init,
        tol=a.tol,
        targets=a.targets,
        divergence_factor=a.divergence_factor,
        init_given=init is not None,
    )
    dtype = problem.dtype
    gap = spec.monitors_gap  # the monitor returns f - f*: levels, and reported losses, offset
    levels = Levels.of(f0, f_star, a.tol, a.targets, a.divergence_factor, dtype, gap=gap, gap0=gap0)
    kernel_lrs = np.asarray(_pad_lanes(a.lrs, sharding), dtype)
    lanes = len(a.seeds) * len(kernel_lrs)
    ledger = Ledger.of(levels, config.early_stop, lanes, offset=f_star if gap else None)
    args = KernelArgs(
        X=X,
        y=problem.y,
        aux=aux,
        start=program.start(config, ledger, kernel_init),
        levels=levels,
        lrs=kernel_lrs,
        seeds=np.asarray(a.seeds, np.uint32),
        rows=_plan(config, a.seeds, a.epochs),
    )
    args = _place(args, sharding)
    return Kernel(config, args, problem, a.lrs, a.seeds, a.targets, a.tol, f0, ledger, basis)


def _plan(config: Config, seeds, epochs: int) -> np.ndarray:
    """The rows of every step (shuffled sampling), padded to whole chunks; else a placeholder."""
    if config.sampling != "shuffled":
        return np.zeros((0,), np.int32)
    steps = config.padded_steps  # its size was checked by plan.check
    rows = sampling.plan(seeds, config.n, config.batch_size, epochs)
    # NumPy (jnp.pad would compile a program of its own); _place transfers it
    return np.pad(rows, ((0, steps - config.total_steps), (0, 0), (0, 0)))


def _pad_lanes(lrs: np.ndarray, sharding) -> np.ndarray:
    """The learning rates, the last one repeated until they split evenly over the devices.

    A sharded axis must divide by the device count. A repeated rate is a copy of a real lane
    (same rate, same seeds, same rows), so it stops when that lane stops and cannot change the
    kernel's shared step count; :meth:`Kernel.to_result` drops it. Only the traced argument
    grows: the static config (chunk length included) stays that of the unpadded grid, so the
    program is the same one, with a few more lanes.

    Args:
        lrs: the checked learning rates, 1-D.
        sharding: the sharding of the learning-rate axis, or None.

    Returns:
        ``lrs`` itself when unsharded or already a multiple of the device count, else a copy
        padded at the end.
    """
    if sharding is None:
        return lrs
    extra = -len(lrs) % len(sharding.device_set)
    return np.concatenate([lrs, np.repeat(lrs[-1:], extra)]) if extra else lrs


def _drop_padding(out: KernelOutput, num_lrs: int) -> KernelOutput:
    """``out`` with only the first ``num_lrs`` learning rates: lane arrays are (S, L, ...)."""
    shared = {"steps_run"}  # a scalar of the whole kernel, no lane axis
    return KernelOutput(
        **{
            k: v if k in shared else jax.tree.map(lambda a: a[:, :num_lrs], v)
            for k, v in out._asdict().items()
        }
    )


def _place(args: KernelArgs, sharding) -> KernelArgs:
    """Put the learning rates on ``sharding`` (the one sharded argument), the rest alike.

    NumPy arguments (levels, starting state, plan) move to the devices here, once, rather than
    at every call of the kernel."""
    if isinstance(sharding, NamedSharding):
        # Everything but the learning rates is replicated on the same mesh. With hosts joined
        # by jax.distributed the mesh spans processes, and an argument left on one process's
        # default device could not meet the sharded learning rates in one program.
        replicated = NamedSharding(sharding.mesh, PartitionSpec())
        placed = {k: jax.device_put(v, replicated) for k, v in args._asdict().items()}
        placed["lrs"] = jax.device_put(args.lrs, sharding)
        return KernelArgs(**placed)
    placed = jax.device_put(args)
    return placed if sharding is None else placed._replace(lrs=jax.device_put(args.lrs, sharding))


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
    schedule: str = "constant",
    tol: float = 1e-3,
    targets=DEFAULT_TARGETS,
    eval_every: int | None = None,
    exact: bool | None = None,
    divergence_factor: float = 1e4,
    early_stop: bool = True,
    sharding=None,
) -> SweepResult:
    """Run every (learning rate, seed) lane of a grid in one compiled, vmapped kernel.

    Args:
        problem: a :class:`~gdjax.problems.Problem`.
        lrs: learning rates, a 1-D sequence of finite numbers > 0.
        seeds: integer seeds in [0, 2**32) of the row sampling (one permutation stream each).
        batch_size: rows per step: None = batch GD, 1 = stochastic GD, b = mini-batch, at
            most n. On a problem whose rows are not samples (the quadratic: its one row holds
            its coefficients) every batch size >= 1 is batch GD, and the result says n.
        epochs: passes over the data, >= 1 (an epoch is n // batch_size steps).
        shuffle: a fresh permutation of the rows every epoch; False keeps row order.
        init: initial parameters: a pytree like ``problem.init_params()``, a number that fills
            every parameter, or None for zeros.
        optimizer: "sgd" (``w - lr * g``), "momentum", "nesterov" or "adam".
        schedule: "constant", "inverse_time" (``lr / (1 + t / T)``, T one epoch) or "cosine"
            (from lr to 0 over the run); see :mod:`gdjax._kernel.optimizers`.
        tol: relative suboptimality in (0, 1) that counts as converged: it sets the status and
            the early stop (see :mod:`gdjax.metrics`). Refused when the problem's dtype cannot
            resolve it (a float32 loss near a large f*:
            :func:`gdjax._kernel.levels.check_resolution`).
        targets: the target ladder, relative suboptimalities in (0, 1) (default 1e-1 .. 1e-4):
            the steps to each are in :meth:`SweepResult.hits`.
        eval_every: steps between points of the loss curve; None: a geometric grid of about 128
            points (every step early on). Without exact monitoring the targets are checked on
            this grid only: each count is read at its checks, with no bracket.
        exact: check the full-data loss after every step, so that every count is exact to the
            step; None (default) does where that is cheap: least squares and the quadratic
            always, other losses where the check costs at most about a step or the whole run's
            checks are small (:func:`gdjax._kernel.plan.exact_affordable`).
        divergence_factor: a lane has diverged when its loss is not finite or
            ``f - f* > divergence_factor * max(f(w0) - f*, |f*|)``; one that puts the start
            itself above that is refused.
        early_stop: freeze a lane once converged; the kernel stops when no lane is left moving.
        sharding: spread the lanes over devices, e.g. ``gdjax.devices.lane_sharding()``; with
            hosts joined by ``jax.distributed``, every process calls ``sweep`` alike and gets
            the whole result. A number of learning rates that does not split evenly over the
            devices is padded by repeating the last one; the copies are dropped from the result.

    Returns:
        A :class:`~gdjax.result.SweepResult`; ``.to_frame()`` gives one row per lane and
        ``.hits()`` one row per (lane, target).

    Example:
        >>> import gdjax
        >>> p = gdjax.problems.make_linear(512, 8)
        >>> res = gdjax.sweep(p, lrs=[0.01, 0.1, 3.0], batch_size=32, epochs=5)
        >>> res.to_frame()["status"].tolist()
        ['max_steps', 'converged', 'diverged']
    """
    k = build(
        problem,
        lrs=lrs,
        seeds=seeds,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=shuffle,
        init=init,
        optimizer=optimizer,
        schedule=schedule,
        tol=tol,
        targets=targets,
        eval_every=eval_every,
        exact=exact,
        divergence_factor=divergence_factor,
        early_stop=early_stop,
        sharding=sharding,
    )
    return k.to_result(k.call())


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
    schedule: str = "constant",
    tol: float = 1e-3,
    targets=DEFAULT_TARGETS,
    eval_every: int | None = None,
    exact: bool | None = None,
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
        A :class:`~gdjax.result.Result` with params, losses, steps, status, the to-target
        counts (None when not converged) and ``hits()``.

    Example:
        >>> import gdjax
        >>> p = gdjax.problems.quadratic(1.0, -5.0, 5.0)
        >>> r = gdjax.run(p, lr=0.1, epochs=100, init=7.0)
        >>> r.status, r.steps_to_target
        ('converged', 16)
    """
    if isinstance(lr, (Sequence, np.ndarray, jax.Array)) and np.ndim(lr) > 0:
        raise TypeError("lr must be a single number; use gdjax.sweep for a grid")
    res = sweep(
        problem,
        lrs=[lr],
        seeds=[checks.seed(seed)],
        batch_size=batch_size,
        epochs=epochs,
        shuffle=shuffle,
        init=init,
        optimizer=optimizer,
        schedule=schedule,
        tol=tol,
        targets=targets,
        eval_every=eval_every,
        exact=exact,
        divergence_factor=divergence_factor,
        early_stop=early_stop,
    )
    return res.lane(0)


def _to_host(a) -> Any:
    """A kernel output as a NumPy array; lanes held by other hosts are gathered first."""
    if getattr(a, "is_fully_addressable", True):
        return np.asarray(a)  # (jax.device_get took 3x as long on the kernel's few outputs)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(a, tiled=True))
