"""Spreading the lanes of a sweep over every local device.

Lanes are independent, so the lane axis shards with no communication at all: put the learning
rates on a ``NamedSharding`` over a one-axis mesh and XLA partitions the whole kernel along it.

Several hosts: start every process with ``jax.distributed.initialize(...)`` (on CPUs also
``jax.config.update("jax_cpu_collectives_implementation", "gloo")``); ``jax.devices()`` then
lists every host's devices, ``lane_sharding()`` spans them all, and every process that calls
``gdjax.sweep(..., sharding=lane_sharding())`` with the same arguments gets the whole result.

Example:
    >>> import gdjax
    >>> s = lane_sharding()
    >>> k = gdjax.build(gdjax.problems.make_linear(64, 2), lrs=[0.1], epochs=2, sharding=s)
    >>> k.to_result(k.call()).status.shape
    (1, 1)
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["lane_sharding"]


def lane_sharding(devices=None) -> NamedSharding:
    """A sharding that splits a 1-D array of lanes evenly over ``devices``.

    Args:
        devices: the devices to use (default: ``jax.devices()``: every device of every process).

    Returns:
        A ``NamedSharding`` with mesh axis ``"lanes"``. ``gdjax.build`` pads a number of
        learning rates that is not a multiple of the number of devices (the last rate
        repeated) and drops the copies from the result.
    """
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("devices must not be empty")
    return NamedSharding(Mesh(np.array(devices), ("lanes",)), PartitionSpec("lanes"))
