"""The :class:`Kernel`: a sweep ready to compile and call, and its placement on the devices.

:func:`gdjax.train.build` makes one; the harness compiles it ahead of time and times its calls.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from gdjax._kernel import booking, program
from gdjax._kernel.booking import KernelOutput, Ledger
from gdjax._kernel.config import Config
from gdjax._kernel.eigenbasis import Eigenbasis
from gdjax._kernel.program import KernelArgs
from gdjax.problems import Problem
from gdjax.result import SweepResult

__all__ = ["Kernel", "pad_lanes", "place"]


class Kernel(NamedTuple):
    """A kernel ready to compile and call: its static config, traced arguments and labels.

    ``lrs`` and ``hyperparams`` label its configs (learning rates x hyperparameter
    combinations, learning-rate major; :mod:`gdjax._kernel.hyperparams`): the L axis of its
    (seeds, configs) lanes, before any padding for sharding.

    ``lower().compile()`` compiles ahead of time (the harness times that apart); ``call()`` runs
    through JAX's jit cache; ``execute(compiled)`` also books the output on the host: a timed
    call times that.
    """

    config: Config
    args: KernelArgs
    problem: Problem
    lrs: np.ndarray  # (L,) the learning rate of each config
    seeds: np.ndarray
    targets: np.ndarray
    tol: float
    f0: float  # the loss at the initial parameters, float64 (Problem.value)
    ledger: Ledger  # what the host books the output against
    basis: Eigenbasis | None = None
    hyperparams: dict | None = None  # keyword -> (L,) each config's value; None: no grid
    f_star: float | None = None  # the run's f* (float64); None: the problem's optimum
    f_star_source: str | None = None  # where it came from (FStarSource.label)
    measure: str = "loss"  # what the targets measure: "loss" or "grad_norm"

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
        if self.args.lrs.shape[0] != len(self.lrs):  # configs padded to split over the devices
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
        lowered = fn.lower(
            self.config, a.data, a.aux, a.start.params, a.lrs, a.seeds, a.rows, a.hyper
        )
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
            hyperparams=self.hyperparams or {},
            seeds=self.seeds,
            targets=self.targets,
            tol=self.tol,
            eval_steps=cfg.eval_steps,
            f_star=self.problem.optimum()[1] if self.f_star is None else self.f_star,
            f_star_source=self.f_star_source or self.problem.f_star_source.label,
            f0=self.f0,
            batch_size=cfg.batch_size,
            steps_per_epoch=cfg.steps_per_epoch,
            total_steps=cfg.total_steps,
            optimizer=cfg.optimizer.label,
            schedule=cfg.schedule,
            exact=cfg.exact,
            run_s=run_s,
            measure=self.measure,
        )


def pad_lanes(configs, sharding):
    """The configs, the last one repeated until they split evenly over the devices.

    A sharded axis must divide by the device count. A repeated config is a copy of a real lane
    (same learning rate and hyperparameters, same seeds, same rows), so it stops when that lane
    stops and cannot change the kernel's shared step count; :meth:`Kernel.to_result` drops it.
    Only the traced arguments grow: the static config (chunk length included) stays that of
    the unpadded grid, so the program is the same one, with a few more lanes.

    Args:
        configs: the checked learning rates, 1-D, or any pytree of 1-D arrays of one length
            (the learning rate and hyperparameter values of every config).
        sharding: the sharding of the config axis, or None.

    Returns:
        ``configs`` itself when unsharded or already a multiple of the device count, else a
        copy of each array padded at the end.

    Example:
        >>> from jax.sharding import SingleDeviceSharding
        >>> import jax
        >>> pad_lanes((np.array([0.1, 0.2]), {}), SingleDeviceSharding(jax.devices()[0]))[0]
        array([0.1, 0.2])
    """
    if sharding is None:
        return configs
    L = len(jax.tree.leaves(configs)[0])
    extra = -L % len(sharding.device_set)
    if not extra:
        return configs
    return jax.tree.map(lambda a: np.concatenate([a, np.repeat(a[-1:], extra)]), configs)


def _drop_padding(out: KernelOutput, num_lrs: int) -> KernelOutput:
    """``out`` with only the first ``num_lrs`` configs: lane arrays are (S, L, ...)."""
    shared = {"steps_run"}  # a scalar of the whole kernel, no lane axis
    return KernelOutput(
        **{
            k: v if k in shared else jax.tree.map(lambda a: a[:, :num_lrs], v)
            for k, v in out._asdict().items()
        }
    )


def place(args: KernelArgs, sharding) -> KernelArgs:
    """Put the configs (learning rates and hyperparameter values) on ``sharding`` (the one
    sharded axis), the rest alike.

    NumPy arguments (levels, starting state, plan) move to the devices here, once, rather than
    at every call of the kernel."""
    if isinstance(sharding, NamedSharding):
        # Everything but the configs is replicated on the same mesh. With hosts joined by
        # jax.distributed the mesh spans processes, and an argument left on one process's
        # default device could not meet the sharded learning rates in one program.
        replicated = NamedSharding(sharding.mesh, PartitionSpec())
        placed = {k: jax.device_put(v, replicated) for k, v in args._asdict().items()}
        placed["lrs"] = jax.device_put(args.lrs, sharding)
        placed["hyper"] = jax.device_put(args.hyper, sharding)
        return KernelArgs(**placed)
    placed = jax.device_put(args)
    if sharding is None:
        return placed
    return placed._replace(
        lrs=jax.device_put(args.lrs, sharding), hyper=jax.device_put(args.hyper, sharding)
    )


def _to_host(a) -> Any:
    """A kernel output as a NumPy array; lanes held by other hosts are gathered first."""
    if getattr(a, "is_fully_addressable", True):
        return np.asarray(a)  # (jax.device_get took 3x as long on the kernel's few outputs)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(a, tiled=True))
