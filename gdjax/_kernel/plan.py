"""A sweep's arguments, checked: all that :func:`gdjax.build` refuses, short of building.

``build`` also solves for the optimum in float64, may rotate the data into the Hessian's
eigenbasis and draws the sampling plan: seconds on a large problem. :func:`check` makes every
check ``build`` makes, in milliseconds, and nothing else: each argument, and the size of the
lanes, the rotated data and the sampling plan against the machine's memory (for the lanes as
given: sharding may pad them by up to one per device). ``build`` starts with it; the harness
calls it for every entry of a suite before running any.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import numpy as np

from gdjax import checks, memory, sampling
from gdjax._kernel import config as kernel_config
from gdjax._kernel import found, optimizers
from gdjax._kernel import hyperparams as grids
from gdjax._kernel import measure as measures
from gdjax._kernel.cost import exact_affordable
from gdjax._kernel.eigenbasis import ROTATABLE, Eigenbasis
from gdjax._kernel.levels import check_levels
from gdjax.problems import Problem

__all__ = [
    "DEFAULT_TARGETS",
    "OPTIONS",
    "SweepArgs",
    "check",
    "init_params",
    "options",
]

#: The target ladder of relative suboptimality tracked when ``targets`` is not given.
DEFAULT_TARGETS = (1e-1, 1e-2, 1e-3, 1e-4)

#: The keyword options of a sweep, as :func:`gdjax.sweep`, :func:`gdjax.build` and :func:`check`
#: take them (``run`` takes ``lr`` and ``seed`` for ``lrs`` and ``seeds``): checked once, by
#: :func:`check`, into a :class:`SweepArgs`.
OPTIONS = (
    "lrs",
    "seeds",
    "batch_size",
    "epochs",
    "shuffle",
    "init",
    "optimizer",
    "hyperparams",
    "schedule",
    "tol",
    "targets",
    "eval_every",
    "exact",
    "divergence_factor",
    "early_stop",
    "measure",
)


def options(arguments: dict) -> dict:
    """The sweep options among a call's arguments, to forward them in one place.

    Args:
        arguments: a function's arguments by name (``locals()`` before its first statement).

    Returns:
        Those named in :data:`OPTIONS`, as a dict of keyword arguments.

    Example:
        >>> options({"problem": None, "lrs": [0.1], "epochs": 2, "sharding": None})
        {'lrs': [0.1], 'epochs': 2}
    """
    return {k: arguments[k] for k in OPTIONS if k in arguments}


class SweepArgs(NamedTuple):
    """The checked arguments of a sweep (see :func:`gdjax.sweep` for each one's meaning).

    Attributes:
        lrs, seeds: 1-D NumPy arrays.
        batch_size: rows per step (n for batch GD).
        epochs, steps_per_epoch, total_steps: the run's length.
        eval_every: None, or at most ``total_steps``.
        exact: monitor the full-data loss after every step.
        tol, targets, divergence_factor: the levels, as given.
        init: the starting parameters, a pytree like ``problem.init_params()``.
        seed_inits: one start per seed where each seed draws its own (a custom loss whose
            ``init`` is a function of a key, and no ``init`` given); None: every lane starts
            at ``init`` (then seed 0's draw, or the first seed's).
        optimizer: the normalised optimizer (:class:`gdjax._kernel.optimizers.Optimizer`).
        hyperparams: keyword -> 1-D float64 values swept per lane (empty without a grid).
        schedule: its name.
        shuffle, early_stop: as given.
        rotate: run least squares in the Hessian's eigenbasis (see :mod:`gdjax._kernel.eigenbasis`).
        chunk: steps per chunk of exact monitoring (1 without it).
        measure: what the targets measure, "loss" or "grad_norm" (:mod:`gdjax._kernel.measure`).
    """

    lrs: np.ndarray
    seeds: np.ndarray
    batch_size: int
    epochs: int
    steps_per_epoch: int
    total_steps: int
    eval_every: int | None
    exact: bool
    tol: float
    targets: np.ndarray
    divergence_factor: float
    init: Any
    optimizer: optimizers.Optimizer
    hyperparams: dict
    schedule: str
    shuffle: bool
    early_stop: bool
    rotate: bool
    chunk: int
    seed_inits: tuple | None = None
    measure: str = "loss"

    def configs(self) -> tuple[np.ndarray, dict]:
        """The learning rate and hyperparameter values of every config, learning-rate major
        (:func:`gdjax._kernel.hyperparams.configs`): the L axis of the kernel's lanes."""
        return grids.configs(self.lrs, self.hyperparams)


def check(
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
    solve: bool = False,
) -> SweepArgs:
    """Check the arguments of a sweep on ``problem``, and the memory it will need.

    Args:
        problem: a :class:`~gdjax.problems.Problem`.
        lrs, seeds, batch_size, epochs, shuffle, init, optimizer, hyperparams, schedule, tol,
            targets, eval_every, exact, divergence_factor, early_stop, measure: as
            :func:`gdjax.sweep` takes them (everything but ``sharding``), with the same defaults.
        solve: also make the checks that need the optimum (solved in float64, cached on the
            problem: seconds on a large problem, where the rest takes milliseconds): the
            start and optimum in the dtype's range, every level resolvable
            (:func:`gdjax._kernel.levels.check_levels`). Then this refuses all that
            :func:`gdjax.build` refuses.

    Returns:
        A :class:`SweepArgs`. Its ``batch_size`` is n for batch GD, and for every batch size
        on a problem whose rows are not samples (``problem.spec.rows_are_samples`` False: the
        quadratic's one row holds its coefficients, so any batch size >= 1 is batch GD).

    Raises:
        TypeError, ValueError: on bad input, naming the argument; ValueError also when an
            array the sweep needs would take more than half the machine's memory.

    Example:
        >>> import gdjax
        >>> p = gdjax.problems.make_linear(256, 4)
        >>> a = check(p, lrs=[0.1, 0.5], batch_size=16, epochs=2)
        >>> a.total_steps, a.exact, a.chunk
        (32, True, 16)
        >>> check(p, lrs=[0.1], batch_size=300, epochs=2)
        Traceback (most recent call last):
        ...
        ValueError: batch_size must be <= n = 256, got 300
        >>> q = gdjax.problems.quadratic(1.0, 0.0, 0.0)  # one row: every batch size is batch GD
        >>> check(q, lrs=[0.1], batch_size=32, epochs=2).batch_size
        1
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a gdjax Problem, got {type(problem).__name__}")
    _check_x64(problem)
    lrs_np = checks.lrs(lrs)
    seeds_np = checks.seeds(seeds)
    optimizer = optimizers.check(optimizer)
    measure = checks.measure(measure)
    grid = grids.check(hyperparams, optimizer)
    configs = len(lrs_np) * grids.combinations(grid)
    n = problem.n
    b = n if batch_size is None else checks.integer(batch_size, "batch_size", lo=1)
    if not problem.spec.rows_are_samples:
        # the rows hold the loss's constants (the quadratic's coefficients): every batch is all
        # of them, so every batch size is batch GD, and runs and reports as n
        b = n
    elif b > n:
        raise ValueError(f"batch_size must be <= n = {n}, got {b}")
    epochs = checks.integer(epochs, "epochs", lo=1)
    spe = sampling.steps_per_epoch(n, b)
    total = checks.steps(epochs, spe)
    if eval_every is not None:
        eval_every = min(checks.integer(eval_every, "eval_every", lo=1), total)
    if exact is None:
        exact = exact_affordable(problem, b, total, configs * len(seeds_np), measure)
    exact = checks.boolean(exact, "exact")
    chunk = kernel_config.chunk_length(total) if exact else 1
    dtype = problem.dtype
    tol = checks.tol(tol)
    targets_np = checks.targets(targets)
    divergence_factor = checks.real(divergence_factor, "divergence_factor", lo=0.0, strict=True)
    checks.fits_dtype(lrs_np, "lr", dtype)
    for name, values in grid.items():
        checks.fits_dtype(values, f"hyperparams[{name!r}]", dtype)
    checks.fits_dtype(np.append(targets_np, tol), "target", dtype)
    checks.fits_dtype([divergence_factor], "divergence_factor", dtype)
    start = init_params(init, problem.init_params())
    seed_inits = None
    if init is None and problem.per_seed_start:  # each draw checked against seed 0's
        seed_inits = tuple(problem.init_params(int(s)) for s in seeds_np)
        start = seed_inits[0]
    num_params = sum(int(np.size(v)) for v in jax.tree.leaves(start))
    lanes = configs * len(seeds_np)
    # the curve's size before the grid itself: eval_every=1 over 2e9 steps must fail fast
    points = kernel_config.DEFAULT_EVALS + 1 if eval_every is None else total // eval_every + 2
    if exact:  # a chunk's losses, and the crossings: an int32 per level and end
        points += chunk + 2 * len(targets_np) + 3
    memory.check_lanes(lanes, num_params, points, dtype)
    schedule = checks.schedule(schedule)
    if grid or optimizer.fixed or not optimizer.builtin:  # the built-ins alone are known to work
        grids.probe(optimizer, grid, start, dtype, schedule, steps_per_epoch=spe, total_steps=total)
    shuffle = checks.boolean(shuffle, "shuffle")
    # Exact monitoring of least squares costs O(p^2) a step against the step's O(b p), unless
    # the run takes place in the eigenbasis of the Hessian (same iterates, O(p) monitor):
    # possible for the built-in optimizers whose steps commute with a rotation (ROTATABLE; an
    # optax or user optimizer never is: adam's or rmsprop's per-coordinate scaling does not
    # commute with one), and worth it where the monitor would cost more than 1/16 of the step
    # (p / 2b > 1/16). Large batches keep their data as it is (the intercept apart, GEMMs on d
    # columns: d + 1 ones run slower), except under the gradient norm: in the eigenbasis its
    # product is diagonal, and its rounding does not grow with the condition number
    # (LeastSquares.gradient_error).
    rotate = (
        exact
        and problem.offers("quadratic_view")
        and optimizer.builtin
        and optimizer.name in ROTATABLE
        and (b < 8 * num_params or measure == "grad_norm")
    )
    if rotate:  # the host makes the rotated design in float64 (the design, then its product)
        memory.check_array((2, n, num_params), np.float64, "the data rotated into the eigenbasis")
    args = SweepArgs(
        lrs=lrs_np,
        seeds=seeds_np,
        batch_size=b,
        epochs=epochs,
        steps_per_epoch=spe,
        total_steps=total,
        eval_every=eval_every,
        exact=exact,
        tol=tol,
        targets=targets_np,
        divergence_factor=divergence_factor,
        init=start,
        optimizer=optimizer,
        hyperparams=grid,
        schedule=schedule,
        shuffle=shuffle,
        early_stop=checks.boolean(early_stop, "early_stop"),
        rotate=rotate,
        chunk=chunk,
        seed_inits=seed_inits,
        measure=measure,
    )
    if b < n and shuffle:  # the plan: an int32 row per lane's seed, step and batch slot
        steps = kernel_config.whole_chunks(total, chunk)
        memory.check_array((steps, len(seeds_np), b), np.int32, "the sampling plan")
    if solve and measure == "grad_norm":  # no f*: the gradient norm's levels, from the start's
        if rotate:
            _, spec, aux, _ = Eigenbasis.of(problem).kernel_data(problem, start)
        else:
            spec, aux = problem.spec, measures.own_aux(problem)
        measures.grad_norm_monitor(problem, spec, aux, args, init_given=init is not None)
        return args
    # the levels of an f* that the run finds (f_star="best") are checked after its first pass
    if solve and problem.offers("optimum"):  # the kernel's own monitor: in the eigenbasis, its aux
        seed_f0 = found.seed_starts(problem, seed_inits)
        if seed_f0 is not None:  # the levels are made from the largest start
            start = seed_inits[int(np.argmax(seed_f0))]
        if rotate:
            _, spec, aux, _ = Eigenbasis.of(problem).kernel_data(problem, start)
        else:
            spec, aux = problem.spec, problem.monitor_aux()
        check_levels(
            problem,
            spec,
            aux,
            start,
            tol=tol,
            targets=targets_np,
            divergence_factor=divergence_factor,
            init_given=init is not None,
        )
    return args


def _overflow(arr: np.ndarray, dtype) -> np.ndarray:
    """Where finite ``arr`` becomes inf in ``dtype``."""
    with np.errstate(over="ignore"):
        return ~np.isfinite(np.asarray(arr, np.float64).astype(dtype))


def init_params(init, template):
    """Initial parameters like ``template``: None (the template), a number, or a pytree.

    Values are checked after conversion to the template's dtype: a float64 init past float32's
    range is an error, not an inf.

    Args:
        init: None, a real number (a 0-d array counts as one) that fills every parameter, or a
            pytree with the template's structure and shapes.
        template: the problem's zero parameters (``problem.init_params()``).

    Returns:
        A pytree like ``template``, in its dtypes.

    Raises:
        TypeError: complex, or not a number nor a pytree of arrays.
        ValueError: not finite, overflows the dtype, or wrong structure or shapes.

    Example:
        >>> init_params(2.0, {"x": np.zeros((), np.float32)})["x"].item()
        2.0
    """
    if init is None:
        return template
    if isinstance(init, (np.ndarray, jax.Array)) and np.ndim(init) == 0:
        init = init.item()  # a 0-d array is a number
    if isinstance(init, (complex, np.complexfloating)):
        raise TypeError(f"init must be real, got {type(init).__name__}")
    if isinstance(init, (bool, np.bool_)):
        raise TypeError(f"init must be a real number or a pytree, got {type(init).__name__}")
    if checks.is_real(init):
        init = checks.real(init, "init", lo=-math.inf)
        for t in jax.tree.leaves(template):
            if _overflow(np.array(init), t.dtype).any():
                raise ValueError(f"init {init:g} overflows the parameters' dtype {t.dtype}")
        # NumPy: jnp.full_like would compile a broadcast for each shape
        return jax.tree.map(lambda t: np.full(np.shape(t), init, t.dtype), template)
    paths, treedef = jax.tree_util.tree_flatten_with_path(template)
    try:  # the structure first; each leaf of init may still be a nested list
        given = treedef.flatten_up_to(init)
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"init must be a float or a pytree like problem.init_params() "
            f"({jax.tree.structure(template)}): {e}"
        ) from None
    out = []
    for (path, t), leaf in zip(paths, given, strict=True):
        name = f"init{jax.tree_util.keystr(path)}"  # init['w'], init[0]['b'], ...
        try:
            v = np.asarray(leaf)
        except Exception:  # ragged lists, bytes, objects: whatever NumPy cannot make an array of
            raise TypeError(f"{name} must be an array of real numbers") from None
        if v.dtype.kind == "c":
            raise TypeError(f"{name} must be real, got dtype {v.dtype}")
        if not checks.is_real_dtype(v.dtype):  # bfloat16 and the other ml_dtypes floats count
            raise TypeError(f"{name} must hold real numbers, got dtype {v.dtype}")
        if v.shape != t.shape:
            raise ValueError(f"{name} must have shape {t.shape}, got {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} contains NaN or inf")
        if _overflow(v, t.dtype).any():
            raise ValueError(f"{name} has values that overflow the parameters' dtype {t.dtype}")
        out.append(np.asarray(v, t.dtype))
    return jax.tree.unflatten(treedef, out)


def _check_x64(problem) -> None:
    """A float64 problem needs 64-bit mode on when it runs, as when it was made: JAX would
    otherwise run it in float32 while the problem (and every report) says float64."""
    if not isinstance(problem, Problem) or jax.config.jax_enable_x64:
        return
    if np.dtype(problem.dtype) == np.float64:
        raise ValueError(
            f"problem {problem.name!r} holds float64 data (made with 64-bit mode on), but 64-bit "
            "mode is off now: sweep it inside gdjax.x64() too, or make it without"
        )
