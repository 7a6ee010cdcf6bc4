"""The kernel's per-backend choices: its float32 matmul precision, chunk length and unrolling.

**Precision.** On NVIDIA A100, H100 and H200, JAX computes float32 matrix products in TF32 by
default (about 5e-4 relative rounding): a GPU sweep could then stall above a target that a CPU
sweep reaches, and the two would seem to disagree. A sweep therefore runs at ``"highest"``
(full float32) unless told otherwise; the program is traced under
``jax.default_matmul_precision``, so the precision is part of the compiled program.
XLA:CPU computes float32 products in full float32 whatever the setting (its results are
bitwise the same under DEFAULT, HIGHEST and BF16 annotations; ``tests/gdjax/_kernel``), so on
CPU no setting annotates the program: every CPU program stays the one it was before the option
existed. ``"default"`` leaves the backend's own default (TF32 on those GPUs).

**Chunks and unrolling.** Exact monitoring runs chunks of C steps, each a ``lax.scan``
(:mod:`gdjax._kernel.monitoring`). On CPU, C is at most :data:`gdjax._kernel.config.MAX_CHUNK`,
tuned for an XLA:CPU quirk (:mod:`gdjax._kernel.fused`), and the scan is not unrolled (unrolling
measured no gain there and costs compile time). On GPUs a loop iteration costs microseconds of
launch and control whatever its size, and XLA:GPU may synchronise with the host at every
iteration of a loop whose end is not static (jax-ml/jax#2491; the early stop between chunks is
such a loop): longer chunks mean fewer of those, and partial unrolling of the scan (suggested
for GPUs in jax-ml/jax#3076) fewer iterations. The GPU values below come from those reports,
**not from a measurement** (no GPU run of gdjax exists yet); ``bench/gpu_check.sh`` and the
``--chunk`` and ``--unroll`` options of ``bench run`` are there to measure them.

Example:
    >>> choices("cpu")
    Choices(max_chunk=160, unroll=1)
    >>> check_precision("highest"), annotation("highest", "cpu"), annotation("highest", "gpu")
    ('highest', None, 'highest')
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import jax

from gdjax import checks
from gdjax._kernel import config as kernel_config

__all__ = [
    "DEFAULT_PRECISION",
    "PRECISIONS",
    "Choices",
    "annotation",
    "check_precision",
    "choices",
    "matmul_precision",
    "resolve",
]

#: The float32 matmul precisions a sweep takes: full float32, the backend's faster mode
#: (TF32 or 3-pass bfloat16 on GPUs and TPUs), and the backend's default.
PRECISIONS = ("highest", "high", "default")
DEFAULT_PRECISION = "highest"  # backends compute the same thing unless told otherwise


class Choices(NamedTuple):
    """A backend's defaults: the longest chunk of exact monitoring, and the scan's unroll."""

    max_chunk: int
    unroll: int


_CPU = Choices(max_chunk=kernel_config.MAX_CHUNK, unroll=1)  # today's, measured on CPU
#: Per backend (``jax.default_backend()``); a backend not named gets the CPU's. The GPU's are
#: unmeasured defaults (see the module docstring).
CHOICES = {"cpu": _CPU, "gpu": Choices(max_chunk=1024, unroll=8)}


def choices(backend: str | None = None) -> Choices:
    """The defaults of ``backend`` (default: JAX's default backend)."""
    return CHOICES.get(backend or jax.default_backend(), _CPU)


def check_precision(precision) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`.

    Raises:
        TypeError: not a string. ValueError: not one of them.
    """
    if not isinstance(precision, str):
        raise TypeError(f"precision must be a string, got {type(precision).__name__}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    return precision


def resolve(precision, chunk, unroll, total_steps: int, exact: bool) -> tuple[str, int, int]:
    """A sweep's precision, chunk length and unroll: checked, defaults filled in per backend.

    Args:
        precision: one of :data:`PRECISIONS`.
        chunk: steps per chunk of exact monitoring, or None for the backend's choice
            (:func:`gdjax._kernel.config.chunk_length` up to its longest chunk); at most the run.
        unroll: steps per iteration of the chunk's scan, or None for the backend's.
        total_steps: the run's steps.
        exact: exact monitoring; without it there are no chunks: chunk and unroll are 1.

    Returns:
        ``(precision, chunk, unroll)``.

    Raises:
        TypeError, ValueError: naming the argument.

    Example:
        >>> resolve("highest", None, None, 8192, True)[1:]
        (128, 1)
        >>> resolve("default", 64, 4, 8192, False)
        ('default', 1, 1)
    """
    precision = check_precision(precision)
    if chunk is not None:
        chunk = checks.integer(chunk, "chunk", lo=1)
    if unroll is not None:
        unroll = checks.integer(unroll, "unroll", lo=1)
    if not exact:
        return precision, 1, 1
    own = choices()
    if chunk is None:
        chunk = kernel_config.chunk_length(total_steps, own.max_chunk)
    return precision, min(chunk, total_steps), own.unroll if unroll is None else unroll


def annotation(precision: str, backend: str | None = None) -> str | None:
    """The precision a program is traced under on ``backend``: None leaves its products
    unannotated (the backend's default), as on CPU, which computes full float32 at every setting.
    """
    if precision == "default" or (backend or jax.default_backend()) == "cpu":
        return None
    return precision


def matmul_precision(precision: str):
    """A context that traces matrix products at ``precision`` on this backend (see
    :func:`annotation`); also under a ``jax_default_matmul_precision`` the user set globally."""
    if precision is None:  # a config made before the option (not through plan.check)
        return contextlib.nullcontext()
    return jax.default_matmul_precision(annotation(precision))
