"""The library's persistent compilation cache: a second process reads what the first stored.

Each process is a fresh one with its own cache folder under tmp (the session itself runs with
the cache off: see the repository's conftest.py). No timing is asserted: JAX's own cache
events and the files in the folder say what happened.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import gdjax

ROOT = Path(__file__).resolve().parents[3]

SWEEP = """
import json, os
import jax, jax.monitoring as m
import gdjax
events = []
m.register_event_listener(lambda name, **kw: events.append(name))
p = gdjax.problems.make_linear(256, 4, seed=1)
res = gdjax.sweep(p, lrs=[0.01, 0.1], batch_size=16, epochs=2)
after = jax.config.jax_compilation_cache_dir
folder = os.environ.get("GDJAX_CACHE_DIR")
files = sorted(os.listdir(folder)) if folder and os.path.isdir(folder) else []
# the user's own program, compiled after the sweep: never written to gdjax's folder
jax.jit(lambda x: x * 3.0 + 1.0)(jax.numpy.ones(7)).block_until_ready()
later = sorted(os.listdir(folder)) if folder and os.path.isdir(folder) else []
print(json.dumps({
    "hits": events.count("/jax/compilation_cache/cache_hits"),
    "files": files, "later": later, "dir_after": after,
    "losses": res.to_frame()["final_loss"].tolist(),
}))
"""


def _sweep_process(env_changes: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("GDJAX_NO_CACHE", "GDJAX_CACHE_DIR")}
    env.update(env_changes)
    proc = subprocess.run(
        [sys.executable, "-c", SWEEP],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_second_process_reads_the_kernel_from_the_cache(tmp_path):
    folder = tmp_path / "xla"
    first = _sweep_process({"GDJAX_CACHE_DIR": str(folder)})
    assert first["hits"] == 0 and first["files"], "the first process stored nothing"
    # the setting is the library's compile's alone: the user's program after it is not cached
    assert first["dir_after"] is None
    assert first["later"] == first["files"]
    second = _sweep_process({"GDJAX_CACHE_DIR": str(folder)})
    assert second["hits"] >= 1, "the second process compiled its kernel again"
    assert second["losses"] == first["losses"]


@pytest.mark.slow
def test_the_cache_can_be_turned_off_and_leaves_a_users_own_alone(tmp_path):
    off = _sweep_process({"GDJAX_CACHE_DIR": str(tmp_path / "off"), "GDJAX_NO_CACHE": "1"})
    assert off["hits"] == 0 and not (tmp_path / "off").exists()
    mine = tmp_path / "mine"
    own = _sweep_process(
        {"GDJAX_CACHE_DIR": str(tmp_path / "gdjax"), "JAX_COMPILATION_CACHE_DIR": str(mine)}
    )
    assert not (tmp_path / "gdjax").exists()  # the user's cache, with the user's thresholds
    assert own["dir_after"] == str(mine)


def test_this_session_compiles_afresh(compile_counter):
    # The "compiles once" tests count what reaches XLA's compile step, a persistent-cache hit
    # included (JAX fires the event around both): they fail when a kernel lowers twice, cache
    # or not. And the session reads no cache: a kernel compiled again is compiled, not read.
    assert os.environ.get("GDJAX_NO_CACHE") == "1"
    hits = []

    def listener(name, **kwargs):
        del kwargs
        hits.append(name == "/jax/compilation_cache/cache_hits")

    k = gdjax.build(gdjax.problems.make_linear(64, 2, seed=4), lrs=np.ones(3) * 0.1, epochs=2)
    k.call()
    jax.clear_caches()
    before = len(compile_counter)
    jax.monitoring.register_event_listener(listener)
    try:
        k.call()
    finally:
        jax.monitoring.unregister_event_listener(listener)
    assert len(compile_counter) == before + 1
    assert not any(hits)
