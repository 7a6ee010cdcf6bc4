"""Timing: a cold compile never reads the persistent cache; timed sections freeze the heap."""

import gc
import os
import types

import jax
import pytest

import gdjax
from bench.run import timing
from tests.bench.subprocesses import script_prints_ok

COLD_COMPILE = """
import tempfile, jax, jax.numpy as jnp
from bench.run import timing
HIT = "/jax/compilation_cache/cache_hits"
def compile_once():
    jax.clear_caches()
    with timing.cache_events() as events:
        jax.jit(lambda x: jnp.sin(x) * 2.0 + 1.0).lower(1.0).compile()
    return events
with timing.compilation_cache(tempfile.mkdtemp()):
    compile_once()  # stored
    warm = compile_once()
    for _ in range(2):  # the second must not read what the first may have stored
        with timing.no_persistent_cache():
            cold = compile_once()
        assert HIT not in cold, cold
    again = compile_once()
assert HIT in warm and HIT in again, (warm, again)
print("ok")
"""


@pytest.mark.slow
def test_a_cold_compile_never_reads_the_persistent_cache():
    # JAX memoizes whether the cache is in use at the first compile: switching the option
    # off afterwards alone still read and wrote the cache, under a key of its own, so a
    # "cold" compile read what an earlier cold compile had stored
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    script_prints_ok(COLD_COMPILE, env)


def test_timed_sections_keep_the_heap_out_of_the_garbage_collector():
    # a full collection walks every live object: set off by the trace's garbage, it is paid
    # for the harness's heap, which is not what a timing measures
    seen = []

    def probe():
        seen.append(gc.get_freeze_count())
        return jax.numpy.zeros(())

    assert gc.get_freeze_count() == 0
    timing.time_calls(probe, repeats=2, min_time=0.0)
    timing.time_alternating([probe, probe], repeats=2, min_time=0.0)
    k = gdjax.build(gdjax.problems.make_linear(64, 2), lrs=[0.1], epochs=1)
    lower = k.lower
    k_lower = lambda: (seen.append(gc.get_freeze_count()), lower())[1]  # noqa: E731
    timing.cold_compile(k_lower)
    # the warm-up calls run as usual; every timed one saw the heap frozen
    assert seen[0] == 0 and seen[3] == 0 and seen[4] == 0
    timed = seen[1:3] + seen[5:]
    assert len(timed) == 7 and all(c > 0 for c in timed), seen
    assert gc.get_freeze_count() == 0  # and it is given back
    seen.clear()
    timing.compile_kernel(types.SimpleNamespace(lower=k_lower))
    assert len(seen) == 1 and seen[0] > 0, seen
    with pytest.raises(RuntimeError), timing.frozen_heap():
        raise RuntimeError("inside the block")
    assert gc.get_freeze_count() == 0  # given back on an exception too
    # a heap the caller froze stays frozen
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with timing.frozen_heap():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
