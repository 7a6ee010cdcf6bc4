"""This machine's ceilings: matrix-multiply GFLOP/s and copy GB/s, measured with JAX.

A kernel can go no faster than ``min(peak GFLOP/s, arithmetic intensity x copy GB/s)`` (the
roofline model). The perf report puts each workload's achieved rate (from XLA's cost analysis
of its compiled kernel) against these two numbers.

Example:
    >>> r = measure(gemm_n=256, copy_mib=8, repeats=2)
    >>> r["gemm_gflops"] > 0 and r["copy_gbs"] > 0
    True
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from bench.run import timing


def measure(gemm_n: int = 2048, copy_mib: int = 256, repeats: int = 10) -> dict:
    """Measure float32 GEMM and copy throughput on the default device.

    Args:
        gemm_n: size of the square matrices multiplied (2 n^3 flops).
        copy_mib: size of the array copied (read once, written once).
        repeats: timed calls; the best is kept (a ceiling, not a typical time).

    Returns:
        A dict with gemm_gflops, copy_gbs, their sizes, backend and device kind.
    """
    a = jnp.asarray(np.random.default_rng(0).standard_normal((gemm_n, gemm_n)), jnp.float32)
    matmul = jax.jit(lambda x: x @ x)
    times, _ = timing.time_calls(lambda: matmul(a), repeats)
    gemm = 2 * gemm_n**3 / min(times) / 1e9
    x = jnp.ones((copy_mib * 2**20 // 4,), jnp.float32)
    copy = jax.jit(lambda v: v + 1.0)  # one read and one write of every element
    times, _ = timing.time_calls(lambda: copy(x), repeats)
    gbs = 2 * x.nbytes / min(times) / 1e9
    return {
        "gemm_gflops": round(gemm, 2),
        "copy_gbs": round(gbs, 2),
        "gemm_n": gemm_n,
        "copy_mib": copy_mib,
        "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind,
    }


def bound_gflops(intensity: float, roof: dict) -> float:
    """The roofline: the best GFLOP/s a kernel of ``intensity`` flops/byte can reach here."""
    return min(roof["gemm_gflops"], intensity * roof["copy_gbs"])
