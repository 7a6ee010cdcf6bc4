"""A user's first sweep: what it costs against scikit-learn's separate fits.

Two measurements, both on the entry that has the ``sklearn`` baseline (:mod:`bench.perf.attach`
attaches their columns):

- **The crossover.** gdjax's cold first call (trace, lowering and XLA compile with every cache
  off, then one run) at a few lane counts (:data:`CROSSOVER_LANES` learning rates spread over
  the entry's range), against that many scikit-learn fits at their median fit time. The
  smallest measured lane count where gdjax's first call is the faster, and the crossover of a
  straight line fitted to gdjax's times (:func:`crossover`).
- **A new process.** The first ``gdjax.sweep`` call of a fresh Python process, timed inside it,
  with the library's persistent compilation cache in a new empty folder (cold), then in a second
  process reading what the first stored (warm) (:func:`new_process_first_calls`). Python's and
  jax's imports and the problem's unpickling come before the timed call.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from bench.run import timing

__all__ = ["CROSSOVER_LANES", "cold_first_calls", "crossover", "new_process_first_calls"]

#: Lane counts at which gdjax's cold first call is timed against as many scikit-learn fits.
CROSSOVER_LANES = (1, 4, 16, 64, 256)

# The child process: unpickle the problem and the sweep's arguments, time the first call.
_CHILD = """
import json, pickle, sys, time
import gdjax
with open(sys.argv[1], "rb") as f:
    problem, args = pickle.load(f)
t0 = time.perf_counter()
result = gdjax.sweep(problem, **args)
result.to_frame()
print(json.dumps({"first_call_s": time.perf_counter() - t0}))
"""


def cold_first_calls(entry, problem, seed: int, counts=None) -> dict[int, float]:
    """Seconds of gdjax's first call with every cache cold: compile plus one run, per lane count.

    Args:
        entry: the suite entry (its kernel, learning-rate range and settings).
        problem: its problem.
        seed: the seed of every lane.
        counts: lane counts (None: :data:`CROSSOVER_LANES`); each gets that many learning
            rates, geometrically spread over the entry's range.

    Returns:
        ``{lanes: seconds}``.
    """
    lrs = np.asarray(entry.sweep_args()["lrs"], np.float64)
    out = {}
    for k in CROSSOVER_LANES if counts is None else counts:
        kernel = entry.kernel(problem, lrs=np.geomspace(lrs.min(), lrs.max(), k), seeds=[seed])
        compiled, compile_s = timing.cold_compile(kernel.lower)
        with timing.frozen_heap():
            t0 = time.perf_counter()
            jax.block_until_ready(kernel.execute(compiled))
            out[int(k)] = compile_s + time.perf_counter() - t0
    return out


def crossover(first_call_s: dict[int, float], fit_s: float) -> tuple[float, float]:
    """Where gdjax's first call overtakes as many separate fits of ``fit_s`` seconds each.

    Args:
        first_call_s: ``{lanes: seconds}`` of gdjax's first call (:func:`cold_first_calls`).
        fit_s: one fit's median seconds.

    Returns:
        ``(measured, fitted)``: the smallest measured lane count at which gdjax is faster (NaN
        where it is at none), and the lane count at which the least-squares line
        ``a + b * lanes`` through gdjax's times meets ``fit_s * lanes`` (inf where the line
        never does: gdjax's cost per lane at least a fit's).

    Example:
        >>> measured, fitted = crossover({1: 0.5, 10: 0.6, 100: 1.5}, 0.02)
        >>> measured, round(fitted, 1)
        (100, 49.7)
    """
    counts = sorted(first_call_s)
    measured = next((k for k in counts if first_call_s[k] < k * fit_s), math.nan)
    x = np.asarray(counts, np.float64)
    y = np.asarray([first_call_s[k] for k in counts], np.float64)
    slope, intercept = np.polyfit(x, y, 1) if len(x) > 1 else (0.0, y[0])
    if fit_s <= slope:
        return measured, math.inf
    return measured, float(max(intercept, 0.0) / (fit_s - slope))


def new_process_first_calls(problem, args: dict, timeout: float = 300.0) -> tuple[float, float]:
    """The first ``gdjax.sweep`` call of a new Python process, cache cold then warm.

    Args:
        problem: the problem (pickled to the children).
        args: ``gdjax.sweep``'s keyword arguments (``entry.sweep_args()``).
        timeout: seconds each child may take.

    Returns:
        ``(cold_s, warm_s)``: the first process's call, with the library's persistent cache in
        a new empty folder, and the second's, reading what the first stored there.

    Raises:
        RuntimeError: a child failed (its last lines of stderr).
    """
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="gdjax-first-call-") as tmp:
        data = Path(tmp) / "sweep.pkl"
        with open(data, "wb") as f:
            pickle.dump((problem, args), f)
        env = {k: v for k, v in os.environ.items() if k != "GDJAX_NO_CACHE"}
        env.update(GDJAX_CACHE_DIR=str(Path(tmp) / "xla"), PYTHONPATH=str(root))
        env.pop("JAX_COMPILATION_CACHE_DIR", None)  # else the library leaves caching to it
        times = []
        for _ in range(2):
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD, str(data)],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=root,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"first-call process failed: {proc.stderr[-2000:]}")
            times.append(json.loads(proc.stdout.strip().splitlines()[-1])["first_call_s"])
    return times[0], times[1]
