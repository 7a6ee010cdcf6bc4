"""What fits in this machine's memory: refuse an array, or a sweep's lanes, that would not.

An array that does not fit is refused before it is made, with its size in the message, rather
than by the operating system's out-of-memory killer halfway through a run.

Example:
    >>> check_array((1000, 1000), np.float32, "X")
    >>> check_lanes(64, 33, 101, np.float32)
    59648
"""

from __future__ import annotations

import math
import os

import numpy as np

from gdjax import checks

__all__ = ["PARAM_COPIES", "check_array", "check_lanes", "size_text"]

#: Copies of the parameters the kernel keeps per lane: the parameters, up to two optimizer
#: moments (adam) and the frozen copy of a finished lane.
PARAM_COPIES = 4


def _machine_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: no limit known
        return None


def size_text(nbytes: int) -> str:
    """A size in the largest binary unit up to GiB that keeps it >= 1 (never "0.0 GiB").

    Example:
        >>> size_text(512), size_text(3 * 2**20), size_text(2**31)
        ('512 B', '3.0 MiB', '2.0 GiB')
    """
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def _refuse_if_too_big(nbytes: int, what: str) -> None:
    total = _machine_bytes()
    # several working copies are made (draws, float64 solves, XLA buffers): half is the limit
    if total is not None and 2 * nbytes > total:
        raise ValueError(
            f"{what} needs {size_text(nbytes)}, more than half of this machine's {size_text(total)}"
        )


def check_array(shape, dtype, what: str) -> None:
    """Refuse an allocation that could not fit in this machine's memory, saying its size.

    Args:
        shape: the array's shape.
        dtype: its dtype.
        what: what it is, for the message.

    Raises:
        ValueError: ``what`` of ``shape`` needs more than half the machine's memory.

    Example:
        >>> check_array((10, 10), np.float64, "X")
    """
    nbytes = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    _refuse_if_too_big(nbytes, f"{what} of shape {tuple(shape)} in {np.dtype(dtype)}")


def check_lanes(num_lanes, num_params, num_evals, dtype) -> int:
    """Refuse a sweep whose per-lane arrays would not fit in memory; return their size in bytes.

    Each lane holds :data:`PARAM_COPIES` copies of the parameters (parameters, optimizer
    moments, the frozen copy) and its loss curve of ``num_evals`` evaluations.

    Args:
        num_lanes: learning rates x seeds, >= 1.
        num_params: scalars in one lane's parameters, >= 1.
        num_evals: full-loss evaluations per lane, >= 1.
        dtype: the floating dtype the lanes run in.

    Returns:
        The bytes the lane arrays need.

    Raises:
        ValueError: more than half the machine's memory (the message says the size in GiB).

    Example:
        >>> check_lanes(64, 33, 101, np.float32)
        59648
    """
    lanes = checks.integer(num_lanes, "num_lanes", lo=1)
    params = checks.integer(num_params, "num_params", lo=1)
    evals = checks.integer(num_evals, "num_evals", lo=1)
    nbytes = lanes * (PARAM_COPIES * params + evals) * np.dtype(dtype).itemsize
    _refuse_if_too_big(
        nbytes, f"{lanes} lanes x ({PARAM_COPIES} x {params} parameters + {evals} evaluations)"
    )
    return nbytes
