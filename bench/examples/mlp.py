"""A two-layer network on scikit-learn's digits, as a suite's python problem: the README's
"Your own problem" example, with its sizes as keyword arguments (``bench/suites/custom.toml``).

Example:
    >>> p = digits_mlp(hidden=4, f_star=0.0)
    >>> p.n, p.num_params, p.f_star_source.label
    (1797, 310, 'given')
    >>> p.per_seed_start, digits_mlp(hidden=4, init_seed=0).per_seed_start
    (True, False)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import gdjax
from gdjax import checks

__all__ = ["digits_mlp", "mlp_loss"]

CLASSES = 10


def mlp_loss(params, batch):
    """Mean cross-entropy of a tanh network with one hidden layer over the batch's rows."""
    hidden = jnp.tanh(batch["image"] @ params["W1"] + params["b1"])
    logits = hidden @ params["W2"] + params["b2"]
    own = jnp.take_along_axis(logits, batch["label"][:, None], axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - own)


def digits_mlp(
    hidden: int = 32, f_star: float | str = "best", init_seed: int | None = None
) -> gdjax.Problem:
    """The digits network: 64 pixels -> ``hidden`` tanh units -> 10 classes, each seed's
    weights drawn from ``jax.random.key(seed)`` (scaled normal, zero biases).

    Args:
        hidden: hidden units, an int >= 1.
        f_star: as :func:`gdjax.problems.custom` takes it ("best" by default: a reference
            L-BFGS solve of an over-parametrised network is slow and only a stationary point).
        init_seed: None (default): each seed draws its own weights; an int >= 0: the weights
            are drawn once, from ``jax.random.key(init_seed)``, and every seed starts from
            them (a pytree ``init``: every lane starts alike, so that a baseline written
            apart can start where gdjax's lanes do, as the perf suite's ``mlp`` workload needs).

    Returns:
        A :class:`gdjax.Problem` named ``digits-mlp-{hidden}``.
    """
    hidden = checks.integer(hidden, "hidden", lo=1)
    digits = gdjax.datasets.load("digits")  # standardised 8x8 images, labels 0..9
    d = digits.X.shape[1]

    def init(key):
        k1, k2 = jax.random.split(key)
        return {
            "W1": jax.random.normal(k1, (d, hidden)) / jnp.sqrt(d),
            "b1": jnp.zeros(hidden),
            "W2": jax.random.normal(k2, (hidden, CLASSES)) / jnp.sqrt(hidden),
            "b2": jnp.zeros(CLASSES),
        }

    if init_seed is not None:
        init = init(jax.random.key(checks.integer(init_seed, "init_seed", lo=0)))
    data = {"image": digits.X, "label": digits.y}
    return gdjax.problems.custom(
        mlp_loss, data, init=init, f_star=f_star, name=f"digits-mlp-{hidden}"
    )
