"""Honest timing of a compiled kernel.

Rules (DESIGN.md): compile ahead of time and time it apart; warm up once; time only the compiled
call, ending in ``block_until_ready`` so asynchronous dispatch cannot hide work; repeat and keep
the median, min and max.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.monitoring
from jax.experimental.compilation_cache import compilation_cache as cc


class Timing(NamedTuple):
    """Seconds of one timed kernel.

    Attributes:
        compile_s: ahead-of-time lower + compile.
        run_s: median of the timed calls.
        run_s_min, run_s_max: extremes of the timed calls.
        repeats: number of timed calls (at least the number asked for).
        output: the output of the last call (already on the device, ready).
        compiled: the compiled executable (for cost analysis).
        cache_hit: the executable came from JAX's persistent compilation cache.
    """

    compile_s: float
    run_s: float
    run_s_min: float
    run_s_max: float
    repeats: int
    output: Any
    compiled: Any
    cache_hit: bool


@contextlib.contextmanager
def _config(**values):
    """Set JAX config values for the block, then restore the previous ones."""
    before = {k: getattr(jax.config, k) for k in values}
    for k, v in values.items():
        jax.config.update(k, v)
    try:
        yield
    finally:
        for k, v in before.items():
            jax.config.update(k, v)


def compilation_cache(path):
    """Keep every kernel compiled inside the block in JAX's persistent cache at ``path``
    (reused across runs); the previous settings come back afterwards.

    Example:
        >>> import tempfile
        >>> with compilation_cache(tempfile.mkdtemp()):
        ...     pass
    """
    return _config(
        jax_compilation_cache_dir=str(path),
        jax_persistent_cache_min_compile_time_secs=0.0,
        jax_persistent_cache_min_entry_size_bytes=0,
    )


@contextlib.contextmanager
def no_persistent_cache():
    """Compile inside the block with the persistent cache off: a cold compile.

    JAX decides once per process whether the persistent cache is in use (the first compile
    memoizes it). Turning the option off afterwards alone still reads and writes the cache,
    under keys that include the option: a cold compile of a program that an earlier run had
    compiled cold was read back from the cache, and timed as a fraction of a real compile.
    Resetting JAX's cache state on entry and exit makes the option count again.
    """
    with _config(jax_enable_compilation_cache=False):
        cc.reset_cache()
        try:
            yield
        finally:
            cc.reset_cache()


@contextlib.contextmanager
def frozen_heap():
    """Keep the objects alive on entry out of Python's garbage collector inside the block.

    A full collection walks every live object, and a process that imported JAX and pandas holds
    a great many. Tracing a kernel makes enough garbage to set one off now and then, and a
    compile that meets one is timed with a large share of collection in it. What is timed
    should be the kernel, not the size of the heap the harness happens to hold; the kernel's own
    garbage is still collected as usual (``timeit`` goes further and turns the collector off).

    Blocks nest, and the collector is as before on the way out, exceptions included. A caller
    that froze objects itself keeps them frozen, and then the block leaves the collector alone:
    freezing more would leave them frozen after it, and unfreezing would undo the caller's.

    Yields:
        Nothing; the block runs with the heap frozen.

    Example:
        >>> with frozen_heap():
        ...     gc.get_freeze_count() > 0
        True
    """
    if gc.get_freeze_count():  # frozen by the caller or an enclosing block: theirs to undo
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def cache_events():
    """Collect the names of JAX compilation-cache events fired inside the block."""
    names: list[str] = []

    def listener(name, **kwargs):
        del kwargs
        if name.startswith("/jax/compilation_cache/"):
            names.append(name)

    jax.monitoring.register_event_listener(listener)
    try:
        yield names
    finally:
        jax.monitoring.unregister_event_listener(listener)


MIN_TIMED_S = 0.25  # keep timing short kernels until this much time is covered
MAX_CALLS = 200


def time_calls(
    fn: Callable[[], Any], repeats: int, min_time: float = MIN_TIMED_S
) -> tuple[list[float], Any]:
    """Call ``fn`` once to warm up, then time calls, each ended by block_until_ready.

    At least ``repeats`` calls are timed, and more (up to 200) until ``min_time`` seconds are
    covered: on a shared machine the median of a few short calls moves with its slow spells, the
    median of many does not.

    Returns:
        The list of wall-clock seconds per timed call, and the last output.
    """
    out = jax.block_until_ready(fn())
    times: list[float] = []
    with frozen_heap():
        while len(times) < repeats or (sum(times) < min_time and len(times) < MAX_CALLS):
            t0 = time.perf_counter()
            out = jax.block_until_ready(fn())
            times.append(time.perf_counter() - t0)
    return times, out


def time_alternating(
    fns: Sequence[Callable[[], Any]], repeats: int, min_time: float = MIN_TIMED_S
) -> tuple[list[list[float]], list[Any]]:
    """Time programs in turn: one call of each per round, each ended by block_until_ready.

    Slow spells of a shared machine last seconds. Programs timed one after the other can meet
    different machines, and their ratio then swings from one run to the next by more than the
    difference it measures. Called in turn they meet the same one, and the ratio of their
    medians is what one run can publish. Each is called once untimed first; at least
    ``repeats`` rounds, and more (up to MAX_CALLS) until the first has ``min_time`` seconds.

    Returns:
        Per program, its list of seconds per call, and its last output.

    Example:
        >>> times, _ = time_alternating([lambda: 1, lambda: 2], repeats=3, min_time=0.0)
        >>> [len(t) for t in times]
        [3, 3]
    """
    outs = [jax.block_until_ready(f()) for f in fns]
    times: list[list[float]] = [[] for _ in fns]
    with frozen_heap():
        while len(times[0]) < repeats or (sum(times[0]) < min_time and len(times[0]) < MAX_CALLS):
            for i, f in enumerate(fns):
                t0 = time.perf_counter()
                outs[i] = jax.block_until_ready(f())
                times[i].append(time.perf_counter() - t0)
    return times, outs


def time_kernel(kernel, repeats: int = 5) -> Timing:
    """Compile a ``gdjax.train.Kernel`` ahead of time, then time its calls.

    Args:
        kernel: from ``gdjax.build``.
        repeats: timed calls after the warm-up, >= 1.

    Returns:
        A :class:`Timing`.

    Example:
        >>> import gdjax
        >>> k = gdjax.build(gdjax.problems.make_linear(64, 2), lrs=[0.1], epochs=2)
        >>> t = time_kernel(k, repeats=2)
        >>> t.compile_s > 0 and t.run_s_min <= t.run_s <= t.run_s_max
        True
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    compiled, compile_s, hit = compile_kernel(kernel)
    # A kernel whose lanes span processes is one program that every process must call equally
    # often; a count that depends on each process's own clock would leave one waiting forever.
    min_time = MIN_TIMED_S if jax.process_count() == 1 else 0.0
    # a call is the program and the host's booking of its output: the run's numbers
    times, out = time_calls(functools.partial(kernel.execute, compiled), repeats, min_time)
    return Timing(
        compile_s,
        statistics.median(times),
        min(times),
        max(times),
        len(times),
        out,
        compiled,
        hit,
    )


def compile_kernel(kernel):
    """Trace, lower and compile ``kernel`` ahead of time, timed.

    JAX's in-memory caches are cleared first: a kernel of the same shapes compiled earlier in
    the process would otherwise be timed as free. What is left is a fresh compile, or a hit in
    the persistent compilation cache when one is enabled (reported as such).

    Returns:
        ``(compiled, seconds, persistent_cache_hit)``.
    """
    jax.clear_caches()
    with cache_events() as events, frozen_heap():
        t0 = time.perf_counter()
        compiled = kernel.lower().compile()
        seconds = time.perf_counter() - t0
    return compiled, seconds, "/jax/compilation_cache/cache_hits" in events


def cold_compile(lower: Callable[[], Any]) -> tuple[Any, float]:
    """``lower().compile()`` with JAX's caches cleared and the persistent one off, timed: the
    trace, the lowering and XLA's compile, as a new process would pay them.

    Returns:
        ``(compiled, seconds)``.
    """
    jax.clear_caches()
    with no_persistent_cache(), frozen_heap():
        t0 = time.perf_counter()
        compiled = lower().compile()
        return compiled, time.perf_counter() - t0


def cold_and_warm_compile(kernel) -> tuple[Any, float, float]:
    """Compile seconds without the persistent cache, and from it (NaN when none is enabled).

    Returns:
        ``(compiled, cold_s, warm_s)``: warm is a second process's experience when the first
        stored the kernel: the trace and lowering, plus loading the executable from disk.
    """
    enabled = jax.config.jax_enable_compilation_cache
    have_dir = bool(jax.config.jax_compilation_cache_dir)
    compiled, cold = cold_compile(kernel.lower)
    if not (enabled and have_dir):
        return compiled, cold, float("nan")
    compile_kernel(kernel)  # make sure it is stored
    _, warm, hit = compile_kernel(kernel)
    return compiled, cold, warm if hit else float("nan")
