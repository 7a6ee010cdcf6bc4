"""Update rules and learning-rate schedules, all through optax, with the learning rate traced.

A Python-float learning rate is baked into the compiled program as a constant, so every new value
would compile again (optax issue #577). Here the optimizer is built *inside* the traced code from a
learning-rate array, one per lane, so a whole grid of learning rates shares one compile; the
hyperparameters swept per lane (:mod:`gdjax._kernel.hyperparams`) are traced the same way.

An optimizer is given in one of four forms, all normalised once, before tracing, by
:func:`check` into one small hashable :class:`Optimizer` that the static kernel config holds:

- a built-in name (:data:`OPTIMIZERS`): "sgd", "momentum" and "nesterov" (heavy ball and
  Nesterov, keyword ``momentum``, default 0.9), "adam" (optax's, with its keywords);
- the name of any optax optimizer whose first parameter is the learning rate ("rmsprop",
  "adagrad", "lion", "adamw", ...);
- a callable ``learning_rate -> optax.GradientTransformation``. It is hashed by identity: the
  same function object reuses the compiled kernel, a new one (a lambda written again) compiles
  anew;
- a dict ``{"name": "rmsprop", "decay": 0.9}``: a name (or callable) and fixed keywords, baked
  into the program (a suite's ``optimizer = { name = "rmsprop", decay = 0.9 }``).

A schedule is a unit-scale shape over the steps, multiplied by each lane's traced learning rate:

- ``"constant"``: ``lr``;
- ``"inverse_time"``: ``lr / (1 + t / T)`` with T one epoch (optax has no such schedule; it is
  the classic Robbins-Monro decay that lets SGD go below its constant-rate noise floor);
- ``"cosine"``: ``optax.cosine_decay_schedule(1, total_steps)``: from lr down to 0 at the end of
  the run.

With a schedule, the optimizer's factory receives it as optax's own optimizers take one: a
function of the step count. A callable must pass its argument on to optax as the learning rate.

Example:
    >>> import jax.numpy as jnp
    >>> opt = make("sgd", jnp.asarray(0.1))
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = opt.update({"w": jnp.ones(2)}, opt.init(params), params)
    >>> [round(float(u), 6) for u in updates["w"]]
    [-0.1, -0.1]
    >>> check({"name": "rmsprop", "decay": 0.5}).label
    'rmsprop(decay=0.5)'
    >>> [round(float(unit_schedule("inverse_time", 10, 100)(t)), 3) for t in (0, 10, 30)]
    [1.0, 0.5, 0.25]
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
import optax

from gdjax.checks import SCHEDULES  # one home for the names: the check that refuses the rest

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Optimizer",
    "check",
    "keywords",
    "make",
    "optax_names",
    "unit_schedule",
]


def _sgd(learning_rate):
    return optax.sgd(learning_rate)


def _momentum(learning_rate, momentum=0.9):
    return optax.sgd(learning_rate, momentum=momentum)


def _nesterov(learning_rate, momentum=0.9):
    return optax.sgd(learning_rate, momentum=momentum, nesterov=True)


# name -> factory(learning_rate or schedule, **keywords) -> optax.GradientTransformation.
# Module-level functions: their identity keys the compile, and the same name always finds them.
OPTIMIZERS = {"sgd": _sgd, "momentum": _momentum, "nesterov": _nesterov, "adam": optax.adam}


class Optimizer(NamedTuple):
    """An optimizer as the kernel's static config holds it (hashable; see :func:`check`).

    Attributes:
        name: the built-in or optax name; for a callable, its ``__name__`` (or "custom").
        factory: ``factory(learning_rate, **keywords) -> optax.GradientTransformation``.
        fixed: the fixed keywords, ``(name, type name, value)`` sorted by name: the type keeps
            ``1``, ``1.0`` and ``True`` apart, which Python's equality would not.
        builtin: ``name`` is one of :data:`OPTIMIZERS` (the only ones the eigenbasis may rotate).
    """

    name: str
    factory: Callable
    fixed: tuple = ()
    builtin: bool = False

    @property
    def keywords(self) -> dict:
        """The fixed keywords as a dict."""
        return {k: v for k, _, v in self.fixed}

    @property
    def label(self) -> str:
        """What results and tables call it: the name, with its fixed keywords if any.

        Example:
            >>> check({"name": "momentum", "momentum": 0.5}).label
            'momentum(momentum=0.5)'
        """
        if not self.fixed:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, _, v in self.fixed)})"


@functools.cache
def optax_names() -> tuple[str, ...]:
    """The optax functions (``optax.<name>``) whose first parameter is ``learning_rate``.

    Example:
        >>> {"rmsprop", "adagrad", "lion"} <= set(optax_names())
        True
    """
    names = []
    for name in dir(optax):
        obj = getattr(optax, name)
        if name.startswith("_") or not inspect.isfunction(obj):
            continue
        if _first_parameter(obj) == "learning_rate":
            names.append(name)
    return tuple(names)


def _first_parameter(fn) -> str | None:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # no signature (a builtin): nothing known
        return None
    return params[0].name if params else None


def _by_name(name: str) -> Optimizer:
    if name in OPTIMIZERS:
        return Optimizer(name, OPTIMIZERS[name], builtin=True)
    fn = getattr(optax, name, None) if not name.startswith("_") else None
    if fn is None or not callable(fn):
        close = difflib.get_close_matches(name, [*OPTIMIZERS, *optax_names()], n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"unknown optimizer {name!r}: neither a built-in ({', '.join(OPTIMIZERS)}) nor an "
            f"optax optimizer{hint}"
        )
    first = _first_parameter(fn)
    if first != "learning_rate":
        raise ValueError(
            f"optimizer {name!r} is an optax function whose first parameter is {first!r}, not "
            "the learning rate; pass a callable learning_rate -> optax.GradientTransformation"
        )
    return Optimizer(name, fn)


def _fixed_value(key: str, value):
    """A fixed keyword's value as the config holds it: NumPy scalars as Python numbers, lists
    as tuples, and hashable (it keys the compile)."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        value = value.item()
    if isinstance(value, list):
        value = tuple(value)
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"optimizer keyword {key!r} must be hashable (a number, string, bool, tuple or None: "
            f"it is baked into the compiled program), got {type(value).__name__}"
        ) from None
    return value


def _callable_name(fn) -> str:
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) and name.isidentifier() else "custom"


def check(optimizer) -> Optimizer:
    """Normalise an optimizer, in any of its forms, before tracing.

    Args:
        optimizer: a built-in name, an optax optimizer's name, a callable
            ``learning_rate -> optax.GradientTransformation``, a dict ``{"name": ..., keyword:
            value, ...}`` (fixed keywords), or an :class:`Optimizer` (returned as it is).

    Returns:
        An :class:`Optimizer`.

    Raises:
        TypeError: not one of these forms, a ``GradientTransformation`` itself (its learning
            rate would be a constant), a dict without a string ``"name"``, or an unhashable
            fixed value.
        ValueError: an unknown name (close names suggested), an optax function whose first
            parameter is not the learning rate, or a fixed keyword the optimizer does not take.

    Example:
        >>> check("rmsprop").name, check("momentum").builtin
        ('rmsprop', True)
        >>> check("rmsprp")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown optimizer 'rmsprp': ... did you mean 'rmsprop'?
    """
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        return _by_name(optimizer)
    if isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            "optimizer must build the transformation from the learning rate, got an "
            "optax.GradientTransformation (its learning rate is a constant); pass its name or "
            "a callable, e.g. lambda learning_rate: optax.rmsprop(learning_rate)"
        )
    if isinstance(optimizer, Mapping):
        fields = dict(optimizer)
        if "name" not in fields:
            raise TypeError("optimizer given as a dict needs a 'name' (a string or a callable)")
        base = fields.pop("name")
        if not isinstance(base, str) and not callable(base):
            raise TypeError(
                f"optimizer['name'] must be a string or a callable, got {type(base).__name__}"
            )
        for key in fields:
            if not isinstance(key, str):
                raise TypeError(f"optimizer keywords must be strings, got {key!r}")
        opt = check(base)
        fixed = tuple(sorted((k, type(v).__name__, v) for k, v in _fixed(fields).items()))
        opt = opt._replace(fixed=fixed)
        check_keywords(opt, [k for k, _, _ in fixed], "optimizer")
        return opt
    if callable(optimizer):
        return Optimizer(_callable_name(optimizer), optimizer)
    raise TypeError(
        "optimizer must be a name (a built-in or an optax optimizer), a callable "
        "learning_rate -> optax.GradientTransformation, or a dict {'name': ..., keyword: value}, "
        f"got {type(optimizer).__name__}"
    )


def _fixed(fields: dict) -> dict:
    return {k: _fixed_value(k, v) for k, v in fields.items()}


def keywords(optimizer: Optimizer) -> tuple[list[str], bool]:
    """The keywords the optimizer's factory takes after the learning rate.

    Returns:
        ``(names, any)``: the named keywords, and whether it takes any other (``**kwargs``).
    """
    try:
        params = list(inspect.signature(optimizer.factory).parameters.values())[1:]
    except (TypeError, ValueError):  # no signature: it takes the learning rate alone
        return [], False
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = [p.name for p in params if p.kind in kinds]
    return names, any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)


def check_keywords(optimizer: Optimizer, names, arg: str) -> None:
    """Refuse keywords the optimizer's factory does not take.

    Args:
        optimizer: the optimizer.
        names: keyword names to be passed (fixed, or swept as hyperparameters).
        arg: the argument they came from, for the message ("optimizer", "hyperparams").

    Raises:
        ValueError: naming the first keyword not taken, the ones that are, and close names.
    """
    taken, anything = keywords(optimizer)
    if anything:
        return
    for name in names:
        if name in taken:
            continue
        close = difflib.get_close_matches(name, taken, n=2, cutoff=0.6)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        takes = f"it takes {', '.join(taken)}" if taken else "it takes the learning rate alone"
        raise ValueError(
            f"{arg}: optimizer {optimizer.name!r} takes no keyword {name!r} ({takes}){hint}"
        )


def unit_schedule(name: str, steps_per_epoch: int, total_steps: int) -> optax.Schedule:
    """The shape of a schedule at unit scale: step count -> multiplier of the learning rate.

    Args:
        name: one of :data:`SCHEDULES`.
        steps_per_epoch: T of ``inverse_time``.
        total_steps: the decay length of ``cosine``.

    Returns:
        An optax schedule (a function of the step count).
    """
    if name == "constant":
        return optax.constant_schedule(1.0)
    if name == "inverse_time":
        return lambda count: 1.0 / (1.0 + count / steps_per_epoch)
    if name == "cosine":
        return optax.cosine_decay_schedule(1.0, max(total_steps, 1))
    raise ValueError(f"unknown schedule {name!r}; choose one of {list(SCHEDULES)}")


def make(
    optimizer,
    learning_rate,
    schedule: str = "constant",
    *,
    hyper: Mapping[str, Any] | None = None,
    steps_per_epoch: int = 1,
    total_steps: int = 1,
) -> optax.GradientTransformation:
    """The optimizer's transformation with a (traced) learning rate, hyperparameters and schedule.

    Args:
        optimizer: an :class:`Optimizer`, or any form :func:`check` takes.
        learning_rate: a scalar, typically a traced array (one lane's learning rate).
        schedule: one of :data:`SCHEDULES`; "constant" passes the learning rate itself, so the
            optimizer state holds no step count.
        hyper: keyword -> scalar (one lane's traced hyperparameter values), or None.
        steps_per_epoch: T of ``inverse_time``.
        total_steps: length of ``cosine``.

    Returns:
        What the factory returns (an ``optax.GradientTransformation``; :func:`gdjax._kernel.
        hyperparams.probe` checks that before tracing).
    """
    opt = check(optimizer)
    kwargs = {**opt.keywords, **(hyper or {})}
    if schedule == "constant":
        return opt.factory(learning_rate, **kwargs)
    shape = unit_schedule(schedule, steps_per_epoch, total_steps)
    # the step count is an int32: take it to the learning rate's float type first, or the
    # schedule would be computed in float32 under x64
    dtype = jnp.result_type(learning_rate)
    return opt.factory(lambda count: learning_rate * shape(jnp.asarray(count, dtype)), **kwargs)
