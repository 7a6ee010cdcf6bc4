"""Update rules and learning-rate schedules, all through optax, with the learning rate traced.

A Python-float learning rate is baked into the compiled program as a constant, so every new value
would compile again (optax issue #577). Here the optimizer is built *inside* the traced code from a
learning-rate array, one per lane, so a whole grid of learning rates shares one compile.

A schedule is a unit-scale shape over the steps, multiplied by each lane's traced learning rate:

- ``"constant"``: ``lr``;
- ``"inverse_time"``: ``lr / (1 + t / T)`` with T one epoch (optax has no such schedule; it is
  the classic Robbins-Monro decay that lets SGD go below its constant-rate noise floor);
- ``"cosine"``: ``optax.cosine_decay_schedule(1, total_steps)``: from lr down to 0 at the end of
  the run.

Example:
    >>> import jax.numpy as jnp
    >>> opt = make("sgd", jnp.asarray(0.1))
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = opt.update({"w": jnp.ones(2)}, opt.init(params), params)
    >>> [round(float(u), 6) for u in updates["w"]]
    [-0.1, -0.1]
    >>> [round(float(unit_schedule("inverse_time", 10, 100)(t)), 3) for t in (0, 10, 30)]
    [1.0, 0.5, 0.25]
"""

from __future__ import annotations

import jax.numpy as jnp
import optax

from gdjax.checks import SCHEDULES  # one home for the names: the check that refuses the rest

__all__ = ["OPTIMIZERS", "SCHEDULES", "check", "make", "unit_schedule"]

# name -> factory(learning_rate or schedule) -> optax.GradientTransformation
OPTIMIZERS = {
    "sgd": lambda lr: optax.sgd(lr),
    "momentum": lambda lr: optax.sgd(lr, momentum=0.9),
    "nesterov": lambda lr: optax.sgd(lr, momentum=0.9, nesterov=True),
    "adam": lambda lr: optax.adam(lr),
}


def check(name) -> str:
    """Validate an optimizer name before tracing.

    Args:
        name: one of ``OPTIMIZERS``.

    Returns:
        The name.

    Raises:
        TypeError: name is not a string.
        ValueError: name is not a known optimizer.
    """
    if not isinstance(name, str):
        raise TypeError(f"optimizer must be a string, got {type(name).__name__}")
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    return name


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
    name: str,
    learning_rate,
    schedule: str = "constant",
    *,
    steps_per_epoch: int = 1,
    total_steps: int = 1,
) -> optax.GradientTransformation:
    """The optax transformation ``name`` with a (traced) learning rate and a schedule.

    Args:
        name: "sgd" (``w - lr * g``), "momentum" (heavy ball, 0.9), "nesterov" (0.9) or "adam".
        learning_rate: a scalar, typically a traced array (one lane's learning rate).
        schedule: one of :data:`SCHEDULES`; "constant" passes the learning rate itself, so the
            optimizer state holds no step count.
        steps_per_epoch: T of ``inverse_time``.
        total_steps: length of ``cosine``.

    Returns:
        An ``optax.GradientTransformation``.
    """
    check(name)
    if schedule == "constant":
        return OPTIMIZERS[name](learning_rate)
    shape = unit_schedule(schedule, steps_per_epoch, total_steps)
    # the step count is an int32: take it to the learning rate's float type first, or the
    # schedule would be computed in float32 under x64
    dtype = jnp.result_type(learning_rate)
    return OPTIMIZERS[name](lambda count: learning_rate * shape(jnp.asarray(count, dtype)))
