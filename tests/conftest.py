"""Shared fixtures: float64 on demand (restored afterwards), small problems, one tiny run."""

import pytest

import gdjax

TINY_SUITE = """
name = "tiny"
description = "Two kernels on one small least-squares problem (tests)."

[defaults]
seeds = [0, 1]
tol = 1e-2
repeats = 1

[[problems]]
name = "linear-64x3"
source = "linear"
n = 64
d = 3

[[variants]]
name = "batch"
batch_size = "all"
epochs = 40
lrs = [0.03, 0.3, 1.0, 3.0]

[[variants]]
name = "minibatch-8"
batch_size = 8
epochs = 4
lrs = [0.01, 0.1, 0.3]
"""


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One real run of the tiny suite (about two seconds), shared by the harness tests.

    Tests read or copy it; none may change it.
    """
    from bench.run import runner, suites

    root = tmp_path_factory.mktemp("tiny")
    (root / "tiny.toml").write_text(TINY_SUITE)
    suite = suites.load(str(root / "tiny.toml"))
    return runner.run_suite(suite, root / "runs", repeats=1, progress=False, log=lambda s: None)


@pytest.fixture
def x64():
    """Run one test with JAX's 64-bit mode on, and restore the previous setting after it."""
    with gdjax.x64():
        yield


@pytest.fixture
def compile_counter():
    """Count XLA backend compiles while a test runs (jax.monitoring's public event)."""
    import jax.monitoring as monitoring

    events = []

    def listener(name, duration, **kwargs):
        del duration, kwargs
        if name == "/jax/core/compile/backend_compile_duration":
            events.append(name)

    monitoring.register_event_duration_secs_listener(listener)
    try:
        yield events
    finally:
        monitoring.unregister_event_duration_listener(listener)
