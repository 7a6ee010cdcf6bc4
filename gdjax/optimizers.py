"""Update rules, all through optax, with the learning rate a traced value.

A Python-float learning rate is baked into the compiled program as a constant, so every new value
would compile again (optax issue #577). Here the optimizer is built *inside* the traced code from a
learning-rate array, one per lane, so a whole grid of learning rates shares one compile.

Example:
    >>> import jax.numpy as jnp
    >>> opt = make("sgd", jnp.asarray(0.1))
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = opt.update({"w": jnp.ones(2)}, opt.init(params), params)
    >>> [round(float(u), 6) for u in updates["w"]]
    [-0.1, -0.1]
"""

from __future__ import annotations

import optax

__all__ = ["OPTIMIZERS", "check", "make"]

# name -> factory(learning_rate) -> optax.GradientTransformation
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


def make(name: str, learning_rate) -> optax.GradientTransformation:
    """The optax transformation ``name`` with a (traced) learning rate.

    Args:
        name: "sgd" (``w - lr * g``), "momentum" (heavy ball, 0.9), "nesterov" (0.9) or "adam".
        learning_rate: a scalar, typically a traced array (one lane's learning rate).

    Returns:
        An ``optax.GradientTransformation``.
    """
    return OPTIMIZERS[check(name)](learning_rate)
