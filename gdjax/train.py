"""The public face of the kernel: build a sweep, run it, or run one lane.

:func:`sweep` runs every (learning rate, hyperparameter values, seed) lane of a grid in one
compiled, vmapped program (see :mod:`gdjax._kernel.program`); :func:`run` is a sweep of one lane;
:func:`build` validates the arguments and returns a :class:`Kernel` that the caller compiles and
calls, as the harness does to time compile and run apart.

Example:
    >>> import gdjax
    >>> p = gdjax.problems.make_linear(256, 4)
    >>> k = build(p, lrs=[0.01, 0.1], seeds=[0], batch_size=16, epochs=3, eval_every=1)
    >>> res = k.to_result(k.call())
    >>> res.losses.shape  # (seeds, lrs, evaluations + 1)
    (1, 2, 49)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import numpy as np

from gdjax import checks, devices, sampling
from gdjax._kernel import found, plan, program
from gdjax._kernel.booking import Ledger
from gdjax._kernel.config import Config
from gdjax._kernel.eigenbasis import Eigenbasis
from gdjax._kernel.levels import Levels, check_levels
from gdjax._kernel.measure import SOURCE, grad_norm_monitor, own_aux
from gdjax._kernel.plan import DEFAULT_TARGETS
from gdjax._kernel.program import KernelArgs
from gdjax.kernel import Kernel, pad_lanes, place
from gdjax.problems import Problem
from gdjax.result import Result, SweepResult

__all__ = ["DEFAULT_TARGETS", "Kernel", "build", "run", "sweep"]


def build(
    problem: Problem,
    *,
    lrs,
    seeds=(0,),
    batch_size: int | None = None,
    epochs: int,
    shuffle: bool = True,
    init=None,
    optimizer="sgd",
    hyperparams=None,
    schedule: str = "constant",
    tol: float = 1e-3,
    targets=DEFAULT_TARGETS,
    eval_every: int | None = None,
    exact: bool | None = None,
    divergence_factor: float = 1e4,
    early_stop: bool = True,
    measure: str = "loss",
    sharding=None,
) -> Kernel:
    """Validate a sweep and prepare its kernel without compiling or running it.

    Arguments are those of :func:`sweep`, plus ``sharding``: an optional
    ``jax.sharding.Sharding`` for the config axis (learning rates x hyperparameter
    combinations; see ``gdjax.devices``).

    A problem whose f* is the best a run finds (``gdjax.problems.custom(..., f_star="best")``)
    runs here once already: a first pass of the same compiled program, in which no lane
    converges and a lane stops only on a non-finite loss, finds the lowest full-data loss of
    any lane at its checks (the curve's points and each lane's last step,
    :mod:`gdjax._kernel.found`); the kernel returned is booked against it. Its counts are then
    read as usual (exact, or at checks), but relative to what this run's best lane reached: a
    lane "converges" when it gets within ``tol`` of it, at least one lane does (unless that lane
    is booked diverged), and the same lane in another sweep may meet another f*. Timing the
    returned kernel times the booked pass only; a user's sweep costs about twice that.

    Under ``measure="grad_norm"`` no f* is used, so there is no first pass: one compiled run
    whatever the problem's f*.

    Where each seed draws its own start (a custom ``init`` that is a function of a key, and
    ``init`` not given here), every lane is booked at step 0 from its own f(w0) (or gradient
    norm), and the levels from the largest over the seeds.

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
    a = plan.check(problem, **plan.options(locals()))
    if a.rotate:
        basis = Eigenbasis.of(problem)
        X, spec, aux, kernel_init = basis.kernel_data(problem, a.init)
        data = (X, problem.y)
    else:
        basis = None
        data, spec, kernel_init = problem.data, problem.spec, a.init
        aux = own_aux(problem) if a.measure == "grad_norm" else problem.monitor_aux()
    monitor = None
    if a.measure == "grad_norm":  # the kernel monitors the gradient norm (gdjax._kernel.measure)
        monitor = grad_norm_monitor(problem, spec, aux, a, init_given=init is not None)
        spec, aux = monitor.spec, monitor.aux
    config = Config.of(a, problem, spec)
    dtype = problem.dtype
    gap = spec.monitors_gap  # the monitor returns f - f*: levels, and reported losses, offset
    lrs, hyper = a.configs()
    kernel_lrs, kernel_hyper = pad_lanes((lrs, hyper), sharding)
    # NumPy casts: jnp.asarray(float64, float32) compiles a convert for each shape
    kernel_lrs = np.asarray(kernel_lrs, dtype)
    kernel_hyper = {k: np.asarray(v, dtype) for k, v in kernel_hyper.items()}
    lanes = len(a.seeds) * len(kernel_lrs)
    rows = _plan(config, a.seeds, a.epochs)

    def kernel(levels, f_star, f0, source, offset=None, seed_starts=None):
        starts = None  # each lane's own start, in the units of the monitor
        if seed_starts is not None:
            starts = np.repeat(seed_starts, lanes // len(a.seeds))
        ledger = Ledger.of(levels, config.early_stop, lanes, offset=offset, starts=starts)
        args = KernelArgs(
            data=data,
            aux=aux,
            start=program.start(config, ledger, kernel_init, a.seed_inits),
            levels=levels,
            lrs=kernel_lrs,
            seeds=np.asarray(a.seeds, np.uint32),
            rows=rows,
            hyper=kernel_hyper,
        )
        args = place(args, sharding)
        labels = (lrs, a.seeds, a.targets, a.tol, f0, ledger, basis, hyper or None, f_star, source)
        return Kernel(config, args, problem, *labels, measure=a.measure)

    if monitor is not None:  # no f*, no first pass: levels of the gradient norm, optimum 0
        return kernel(monitor.levels, 0.0, monitor.g0, SOURCE, seed_starts=monitor.starts)
    # each seed's own f(w0) where seeds draw their starts; the levels take the largest
    seed_f0 = found.seed_starts(problem, a.seed_inits)
    level_init = a.init if seed_f0 is None else a.seed_inits[int(np.argmax(seed_f0))]
    if problem.offers("optimum"):
        # what the run's dtype cannot hold or resolve, refused before running (gdjax._kernel.levels)
        f_star, f0, gap0 = check_levels(
            problem,
            spec,
            aux,
            level_init,
            tol=a.tol,
            targets=a.targets,
            divergence_factor=a.divergence_factor,
            init_given=init is not None,
        )
        source = problem.f_star_source.label
    else:  # f* is the best a run finds: a first pass of the same program finds it
        f0 = problem.value(level_init)
        never = found.first_pass_levels(f0, len(a.targets), dtype)
        first = kernel(never, None, f0, None, seed_starts=seed_f0)
        f_star = found.best_found(first.execute())
        gap0 = f0 - f_star
        found.check_best(problem, spec, aux, f0, f_star, a)
        source = problem.f_star_source.label
    levels = Levels.of(f0, f_star, a.tol, a.targets, a.divergence_factor, dtype, gap=gap, gap0=gap0)
    starts = None if seed_f0 is None else seed_f0 - (f_star if gap else 0.0)
    return kernel(levels, f_star, f0, source, offset=f_star if gap else None, seed_starts=starts)


def _plan(config: Config, seeds, epochs: int) -> np.ndarray:
    """The rows of every step (shuffled sampling), padded to whole chunks; else a placeholder."""
    if config.sampling != "shuffled":
        return np.zeros((0,), np.int32)
    steps = config.padded_steps  # its size was checked by plan.check
    rows = sampling.plan(seeds, config.n, config.batch_size, epochs)
    # NumPy (jnp.pad would compile a program of its own); place transfers it
    return np.pad(rows, ((0, steps - config.total_steps), (0, 0), (0, 0)))


def sweep(
    problem: Problem,
    *,
    lrs,
    seeds=(0,),
    batch_size: int | None = None,
    epochs: int,
    shuffle: bool = True,
    init=None,
    optimizer="sgd",
    hyperparams=None,
    schedule: str = "constant",
    tol: float = 1e-3,
    targets=DEFAULT_TARGETS,
    eval_every: int | None = None,
    exact: bool | None = None,
    divergence_factor: float = 1e4,
    early_stop: bool = True,
    measure: str = "loss",
    sharding=None,
) -> SweepResult:
    """Run every (learning rate, hyperparameter values, seed) lane of a grid in one compiled,
    vmapped kernel.

    Lanes are seeds x configs (seed-major), a config being a learning rate and one combination
    of the ``hyperparams`` values (learning-rate major, the last keyword varying fastest). The
    learning rates and hyperparameter values are traced: a new grid of the same sizes reuses the
    compiled kernel.

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
            every parameter, or None for the problem's own (zeros for the shipped losses; a
            custom problem's, drawn per seed where its ``init`` is a function of a key).
        optimizer: a built-in name, "sgd" (``w - lr * g``), "momentum" (heavy ball) or
            "nesterov" (both with the keyword ``momentum``, default 0.9), "adam"; the name of
            any optax optimizer whose first parameter is the learning rate ("rmsprop",
            "adagrad", "lion", "adamw", ...); a callable ``learning_rate ->
            optax.GradientTransformation`` (the same function object reuses the compile: it is
            hashed by identity; with a schedule it receives it as optax optimizers do, a
            function of the step count); or a dict ``{"name": "rmsprop", "decay": 0.9}``, a
            name or callable with fixed keywords (compiled in). Only the built-in "sgd",
            "momentum" and "nesterov" may run least squares in its eigenbasis
            (:mod:`gdjax._kernel.eigenbasis`).
        hyperparams: keyword of the optimizer -> values swept per lane, e.g.
            ``{"momentum": [0.5, 0.9, 0.99]}``; several keywords sweep their product. The values
            are finite real numbers, traced in the problem's dtype; a keyword optax needs as a
            Python value (a flag) is refused: give it as a fixed keyword in ``optimizer``.
            Each lane's values are columns of ``to_frame()``, ``hits()`` and ``curves()``.
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
            checks are small (:func:`gdjax._kernel.cost.exact_affordable`).
        divergence_factor: a lane has diverged when its loss is not finite or
            ``f - f* > divergence_factor * max(f(w0) - f*, |f*|)``; one that puts the start
            itself above that is refused.
        early_stop: freeze a lane once converged; the kernel stops when no lane is left moving.
        measure: what ``tol`` and ``targets`` measure. "loss" (default): relative
            suboptimality, as above. "grad_norm": the full-data gradient norm relative to its
            start, ``||grad f(w)|| <= target * ||grad f(w0)||``, for when f* is unknown or only
            best found (the tutorials' "stop when the gradient is zero"): the same ladder,
            counted and booked the same way (exact every step on least squares and the
            quadratic, from their quadratic form; elsewhere a full-data gradient, about three
            passes of the loss, costed by :func:`gdjax._kernel.cost.exact_affordable`), with
            no f* at all (``f_star="best"`` needs no first pass). A lane diverges when its
            gradient norm is not finite or above ``divergence_factor`` times its start's
            (``divergence_factor`` must then be >= 1). The result's ``losses`` and
            ``final_loss`` then hold gradient norms, ``f0`` the start's and ``f_star`` 0
            (:class:`~gdjax.result.SweepResult`). Levels the dtype cannot resolve for the
            gradient norm are refused before running
            (:mod:`gdjax.problems.losses.gradient` gives the rounding bound).
        sharding: spread the lanes over devices, e.g. ``gdjax.devices.lane_sharding()``; with
            hosts joined by ``jax.distributed``, every process calls ``sweep`` alike and gets
            the whole result. A number of configs that does not split evenly over the devices
            is padded by repeating the last one; the copies are dropped from the result.

    Returns:
        A :class:`~gdjax.result.SweepResult`; ``.to_frame()`` gives one row per lane and
        ``.hits()`` one row per (lane, target).

    Example:
        >>> import gdjax
        >>> p = gdjax.problems.make_linear(512, 8)
        >>> res = gdjax.sweep(p, lrs=[0.01, 0.1, 3.0], batch_size=32, epochs=5)
        >>> res.to_frame()["status"].tolist()
        ['max_steps', 'converged', 'diverged']

        Any optax optimizer, with a grid of one of its keywords, in the same one compile:

        >>> res = gdjax.sweep(
        ...     p, lrs=[0.01, 0.1], optimizer="rmsprop", hyperparams={"decay": [0.5, 0.9]},
        ...     batch_size=32, epochs=5,
        ... )
        >>> res.to_frame()[["lr", "decay"]].values.tolist()
        [[0.01, 0.5], [0.01, 0.9], [0.1, 0.5], [0.1, 0.9]]

        Targets on the gradient norm instead (no f* needed):

        >>> res = gdjax.sweep(p, lrs=[0.1, 0.3], epochs=200, measure="grad_norm")
        >>> res.to_frame()[["status", "steps_to_target", "measure"]].values.tolist()
        [['converged', 34, 'grad_norm'], ['converged', 9, 'grad_norm']]
    """
    k = build(problem, **plan.options(locals()), sharding=sharding)
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
    optimizer="sgd",
    hyperparams=None,
    schedule: str = "constant",
    tol: float = 1e-3,
    targets=DEFAULT_TARGETS,
    eval_every: int | None = None,
    exact: bool | None = None,
    divergence_factor: float = 1e4,
    early_stop: bool = True,
    measure: str = "loss",
) -> Result:
    """Run gradient descent once (a sweep of one lane).

    Args:
        problem: a :class:`~gdjax.problems.Problem`.
        lr: the learning rate, finite and > 0.
        seed: integer seed of the row sampling.
        hyperparams: keyword of the optimizer -> one value (a number, or a sequence of one).
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
    for name, values in hyperparams.items() if isinstance(hyperparams, Mapping) else ():
        several = isinstance(values, (Sequence, np.ndarray, jax.Array)) and np.size(values) != 1
        if several and not isinstance(values, str):
            raise TypeError(
                f"hyperparams[{name!r}] must be a single value in run; use gdjax.sweep for a grid"
            )
    res = sweep(problem, lrs=[lr], seeds=[checks.seed(seed)], **plan.options(locals()))
    return res.lane(0)
