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

__all__ = ["check_sharding", "lane_sharding"]


def lane_sharding(devices=None) -> NamedSharding:
    """A sharding that splits a 1-D array of lanes evenly over ``devices``.

    Args:
        devices: the devices to use (default: ``jax.devices()``: every device of every process).

    Returns:
        A ``NamedSharding`` with mesh axis ``"lanes"``. ``gdjax.build`` pads a number of
        learning rates that is not a multiple of the number of devices (the last rate
        repeated) and drops the copies from the result.

    Raises:
        TypeError: an entry of ``devices`` is not a JAX device.
        ValueError: ``devices`` is empty or lists a device twice.
    """
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("devices must not be empty")
    bad = [d for d in devices if not isinstance(d, jax.Device)]
    if bad:
        raise TypeError(f"devices must be JAX devices (jax.devices()), got {bad[0]!r}")
    _refuse_repeats(devices, "devices")
    return NamedSharding(Mesh(np.array(devices), ("lanes",)), PartitionSpec("lanes"))


def check_sharding(sharding):
    """Check a sharding for the learning-rate axis before anything is traced.

    Args:
        sharding: None, or a ``jax.sharding.Sharding`` of a 1-D array over distinct devices
            (``lane_sharding()`` makes one).

    Returns:
        ``sharding`` unchanged.

    Raises:
        TypeError: not a ``jax.sharding.Sharding``.
        ValueError: a device appears twice in its mesh, or it cannot split a 1-D axis.

    Example:
        >>> check_sharding(lane_sharding()) is not None
        True
    """
    if sharding is None:
        return None
    if not isinstance(sharding, jax.sharding.Sharding):
        raise TypeError(
            "sharding must be a jax.sharding.Sharding such as gdjax.devices.lane_sharding(), "
            f"got {type(sharding).__name__} {sharding!r:.60}"
        )
    if isinstance(sharding, NamedSharding):
        _refuse_repeats(list(sharding.mesh.devices.flat), "sharding: its mesh")
        if len(sharding.spec) > 1:
            raise ValueError(
                f"sharding must split a 1-D axis of learning rates, got partition spec "
                f"{sharding.spec} of {len(sharding.spec)} axes; use gdjax.devices.lane_sharding()"
            )
    try:  # gdjax.build pads the lanes to a multiple of the device count
        sharding.shard_shape((len(sharding.device_set),))
    except (ValueError, TypeError, IndexError) as e:
        raise ValueError(
            f"sharding must split a 1-D axis of learning rates (one mesh axis), got {sharding}: "
            f"{' '.join(str(e).split())[:200]}"
        ) from None
    return sharding


def _refuse_repeats(devices: list, what: str) -> None:
    seen = set()
    for d in devices:
        if d in seen:
            raise ValueError(
                f"{what} lists device {d} more than once; each lane shard needs its own"
            )
        seen.add(d)
