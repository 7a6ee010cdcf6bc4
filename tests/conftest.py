"""Shared fixtures: float64 on demand (restored afterwards), small problems."""

import jax
import pytest


@pytest.fixture
def x64():
    """Run one test with JAX's 64-bit mode on, and restore the previous setting after it."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)


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
