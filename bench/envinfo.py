"""What ran a benchmark: backend, devices, versions, the XLA and JAX flags in force, host, git
sha (one dict, JSON-friendly)."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
from pathlib import Path

import jax

#: JAX settings that can change what a kernel computes (x64 has its own column). The kernel
#: sets its own matmul precision (recorded per row); this is the process's global one.
JAX_FLAGS = (
    "jax_default_matmul_precision",
    "jax_numpy_dtype_promotion",
    "jax_default_prng_impl",
    "jax_threefry_partitionable",
)


def jax_flags() -> str:
    """The :data:`JAX_FLAGS` as they are now, ``name=value`` joined by spaces.

    Example:
        >>> jax_flags().split()[0].startswith("jax_default_matmul_precision=")
        True
    """
    values = (getattr(jax.config, k) for k in JAX_FLAGS)
    return " ".join(f"{k}={getattr(v, 'value', v)}" for k, v in zip(JAX_FLAGS, values, strict=True))


@functools.cache
def git_sha() -> str:
    """Short sha of the checkout, "+dirty" if tracked files changed; "unknown" outside git."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict:
    """Backend, device kind and count, library versions, x64, the XLA flags (``XLA_FLAGS``,
    as the process was started with) and JAX flags, host, CPU and git sha."""
    import jaxlib
    import optax

    devices = jax.devices()
    return {
        "backend": jax.default_backend(),
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "optax_version": optax.__version__,
        "x64": bool(jax.config.jax_enable_x64),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "jax_flags": jax_flags(),
        "host": socket.gethostname(),
        "cpu": cpu_model(),
        "cpu_count": _cpu_count(),
        "python": platform.python_version(),
        "git_sha": git_sha(),
    }


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
