"""Hyperparameter grids: an optimizer's keywords swept per lane, traced like the learning rate.

``hyperparams={"momentum": [0.5, 0.9], "b2": [0.99, 0.999]}`` sweeps every combination of the
values (their product, the last key varying fastest). A sweep's *configs* are its learning rates
times these combinations, learning-rate major; its lanes are seeds times configs (seed-major).
Each config's learning rate and hyperparameter values are per-lane arrays of the kernel
(:class:`gdjax._kernel.program.KernelArgs`), so a second grid of the same size reuses the
compiled program; without hyperparameters they are an empty dict, which adds nothing to it.

Everything is checked before tracing: the keywords against the optimizer's signature, the
values (finite real numbers), and, once, on abstract values (:func:`probe`, ``jax.eval_shape``:
no compile), that optax can take each one traced and that the factory returns a transformation
whose updates match the parameters.

Example:
    >>> from gdjax._kernel import optimizers
    >>> grid = check({"momentum": [0.5, 0.9]}, optimizers.check("momentum"))
    >>> lrs, hyper = configs(np.array([0.1, 0.2]), grid)
    >>> lrs.tolist(), hyper["momentum"].tolist()
    ([0.1, 0.1, 0.2, 0.2], [0.5, 0.9, 0.5, 0.9])
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import jax
import numpy as np

from gdjax import checks
from gdjax._kernel import optimizers
from gdjax._kernel.optimizers import Optimizer

__all__ = ["RESERVED", "check", "combinations", "configs", "probe"]

#: Columns of the result frames (``to_frame``, ``hits``, ``curves``): a swept keyword gets a
#: column of its own beside them, so it may not take one of their names.
RESERVED = frozenset(
    {"lr", "seed", "status", "final_loss", "final_subopt", "steps_to_target", "resolution"}
    | {"epochs_to_target", "samples_to_target", "last_step", "batch_size", "optimizer"}
    | {"schedule", "exact", "target", "step", "epoch", "samples", "loss", "subopt", "rel_subopt"}
    | {f"{w}_{c}" for w in ("first", "stay") for c in ("step", "resolution", "epochs")}
    | {f"{w}_{c}" for w in ("first", "stay") for c in ("samples", "seconds")}
)

# What jax raises where Python needs a concrete value of a traced one (an `if`, an int, NumPy)
_NOT_TRACEABLE = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.TracerArrayConversionError,
)


def _values(name: str, values) -> np.ndarray:
    arg = f"hyperparams[{name!r}]"
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{arg} must be a number or a sequence of numbers, got a string")
    if isinstance(values, (Mapping, set, frozenset)):
        raise TypeError(
            f"{arg} must be a number or a sequence of numbers, got {type(values).__name__}"
        )
    try:
        arr = np.asarray(values, dtype=object)
    except Exception as e:  # ragged, or not array-like
        raise TypeError(f"{arg} must be a number or a 1-D sequence of numbers: {e}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{arg} must be a number or a non-empty 1-D sequence, got shape {arr.shape}"
        )
    out = []
    for v in arr:
        if isinstance(v, (bool, np.bool_)):
            raise TypeError(
                f"{arg} must hold real numbers, got a bool: pass a switch as a fixed keyword, "
                f"optimizer={{'name': ..., {name!r}: {v}}}"
            )
        out.append(checks.real(v, arg, lo=-np.inf))
    return np.asarray(out, np.float64)


def check(hyperparams, optimizer: Optimizer) -> dict[str, np.ndarray]:
    """Check a hyperparameter grid against its optimizer.

    Args:
        hyperparams: None, or keyword -> a number or a non-empty 1-D sequence of finite real
            numbers.
        optimizer: the checked optimizer (:func:`gdjax._kernel.optimizers.check`).

    Returns:
        keyword -> 1-D float64 values, in the given order (empty for None).

    Raises:
        TypeError: not a dict of numbers (bools and complex numbers included).
        ValueError: an empty or non-finite value, a keyword the optimizer does not take, one
            it is also given as a fixed keyword, or one named as a result column
            (:data:`RESERVED`).

    Example:
        >>> check({"decay": 0.5}, optimizers.check("rmsprop"))
        {'decay': array([0.5])}
        >>> fixed = optimizers.check({"name": "rmsprop", "decay": 0.5})
        >>> check({"decay": [0.9]}, fixed)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: hyperparams['decay'] is also a fixed keyword of optimizer ...
    """
    if hyperparams is None:
        return {}
    if not isinstance(hyperparams, Mapping):
        raise TypeError(
            "hyperparams must be a dict keyword -> values, e.g. {'momentum': [0.5, 0.9]}, "
            f"got {type(hyperparams).__name__}"
        )
    grid = {}
    for name, values in hyperparams.items():
        if not isinstance(name, str):
            raise TypeError(f"hyperparams keys must be keyword names (strings), got {name!r}")
        if name in RESERVED:
            raise ValueError(
                f"hyperparams[{name!r}] takes the name of a result column; sweep it through a "
                "callable whose keyword has another name"
            )
        if name in optimizer.keywords:
            raise ValueError(
                f"hyperparams[{name!r}] is also a fixed keyword of optimizer "
                f"{optimizer.label!r}; give it in one place"
            )
        grid[name] = _values(name, values)
    optimizers.check_keywords(optimizer, list(grid), "hyperparams")
    return grid


def combinations(grid: Mapping[str, np.ndarray]) -> int:
    """The number of hyperparameter combinations of a checked grid (1 without one)."""
    return int(np.prod([len(v) for v in grid.values()], dtype=np.int64))


def configs(lrs: np.ndarray, grid: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """Every (learning rate, combination) of a sweep, learning-rate major.

    Args:
        lrs: the checked learning rates (L,).
        grid: the checked hyperparameter grid (:func:`check`).

    Returns:
        ``(lrs, hyper)``: the learning rate of each config (L x H,), and keyword -> the value
        of each config. Without a grid, ``lrs`` itself and an empty dict.
    """
    if not grid:
        return lrs, {}
    combos = np.array(list(itertools.product(*grid.values())), np.float64)  # (H, keys)
    H = combos.shape[0]
    hyper = {k: np.tile(combos[:, i], len(lrs)) for i, k in enumerate(grid)}
    return np.repeat(lrs, H), hyper


def probe(
    optimizer: Optimizer,
    grid: Mapping[str, np.ndarray],
    template,
    dtype,
    schedule: str,
    *,
    steps_per_epoch: int,
    total_steps: int,
) -> None:
    """Build the optimizer on abstract values, as the kernel will, and take one step.

    ``jax.eval_shape`` traces without compiling (milliseconds): a keyword optax needs as a
    Python value (a flag it branches on) fails here, before the sweep's own tracing, with the
    keyword named.

    Args:
        optimizer: the checked optimizer.
        grid: the checked hyperparameter grid, traced; its first values stand for the others
            while the one at fault is looked for.
        template: one lane's parameters (a pytree of arrays).
        dtype: the floating dtype the learning rate and hyperparameters run in.
        schedule, steps_per_epoch, total_steps: as the kernel makes the optimizer.

    Raises:
        TypeError: the factory does not return an ``optax.GradientTransformation``.
        ValueError: a hyperparameter optax cannot take traced (pass it as a fixed keyword),
            a learning rate it cannot take traced, updates unlike the parameters, or any other
            failure of the factory, ``init`` or ``update``, with its message.
    """
    params = jax.tree.map(
        lambda t: jax.ShapeDtypeStruct(np.shape(t), np.asarray(t).dtype), template
    )
    scalar = jax.ShapeDtypeStruct((), dtype)

    def one_step(lr, traced, concrete, params):
        opt = optimizers.make(
            optimizer,
            lr,
            schedule,
            hyper={**concrete, **traced},
            steps_per_epoch=steps_per_epoch,
            total_steps=total_steps,
        )
        if not (callable(getattr(opt, "init", None)) and callable(getattr(opt, "update", None))):
            raise _NotATransformation(type(opt).__name__)
        updates, _ = opt.update(params, opt.init(params), params)
        return updates

    def fails(traced_names) -> Exception | None:
        """The error of tracing with ``traced_names`` traced, if optax needed them concrete;
        any other failure raises :class:`_Broken`."""
        concrete = {k: float(v[0]) for k, v in grid.items() if k not in traced_names}
        traced = {k: scalar for k in traced_names}
        try:
            out = jax.eval_shape(
                lambda lr, h, p: one_step(lr, h, concrete, p), scalar, traced, params
            )
        except _NOT_TRACEABLE as e:
            return e
        except _NotATransformation:
            raise
        except Exception as e:  # the user's code or optax's, whatever it raises: named below
            raise _Broken(e) from e
        _check_updates(optimizer, out, params)
        return None

    try:
        error = fails(list(grid))
        if error is None:
            return
        if fails([]) is not None:
            raise ValueError(
                f"optimizer {optimizer.label!r} cannot take a traced learning rate (gdjax "
                "sweeps it per lane): pass a callable that builds it from one"
            ) from error
        for name in grid:
            if fails([name]) is not None:
                raise ValueError(
                    f"hyperparams[{name!r}]: optimizer {optimizer.label!r} cannot take it as a "
                    "traced value (it needs a Python value); pass it as a fixed keyword instead, "
                    f"optimizer={{'name': {optimizer.name!r}, {name!r}: ...}}, one sweep per value"
                ) from error
        raise ValueError(
            f"hyperparams {list(grid)}: optimizer {optimizer.label!r} cannot take them traced "
            "together; pass some as fixed keywords"
        ) from error
    except _NotATransformation as e:
        raise TypeError(
            f"optimizer {optimizer.label!r} must return an optax.GradientTransformation, "
            f"got {e.args[0]}"
        ) from None
    except _Broken as b:
        e = b.args[0]
        cls = TypeError if isinstance(e, TypeError) else ValueError
        raise cls(
            f"optimizer {optimizer.label!r} failed when built and stepped on the problem's "
            f"parameters: {type(e).__name__}: {e}"
        ) from e


class _Broken(Exception):
    """The factory, ``init`` or ``update`` raised something other than a tracer error."""


class _NotATransformation(Exception):
    """The factory returned something without ``init`` and ``update``."""


def _check_updates(optimizer: Optimizer, updates, params) -> None:
    def shapes(tree):
        return jax.tree.map(lambda a: a.shape, tree)

    if jax.tree.structure(updates) != jax.tree.structure(params) or shapes(updates) != shapes(
        params
    ):
        raise ValueError(
            f"optimizer {optimizer.label!r} returns updates unlike the parameters: "
            f"{shapes(updates)} for {shapes(params)}"
        )
