"""Spreading the lanes of a sweep over every local device.

Lanes are independent, so the lane axis shards with no communication at all: put the learning
rates on a ``NamedSharding`` over a one-axis mesh and XLA partitions the whole kernel along it.

Example:
    >>> import gdjax
    >>> s = lane_sharding()
    >>> k = gdjax.build(gdjax.problems.make_linear(64, 2), lrs=[0.1] * len(s.mesh.devices),
    ...                 epochs=2, sharding=s)
    >>> k.call().status.shape
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
        devices: the devices to use (default: every local device, ``jax.local_devices()``).

    Returns:
        A ``NamedSharding`` with mesh axis ``"lanes"``; the number of learning rates must be a
        multiple of the number of devices.
    """
    devices = jax.local_devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("devices must not be empty")
    return NamedSharding(Mesh(np.array(devices), ("lanes",)), PartitionSpec("lanes"))
