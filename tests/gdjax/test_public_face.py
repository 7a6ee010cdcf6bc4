"""The public face: about a dozen names, and the documented namespaces importable as modules."""

from __future__ import annotations

import importlib

import gdjax


def test_public_names_are_a_small_documented_set():
    assert len(gdjax.__all__) <= 16
    for name in gdjax.__all__:
        assert hasattr(gdjax, name), name
    assert not any(n.startswith("_") for n in gdjax.__all__)


def test_documented_namespaces_import_as_modules():
    from gdjax.datasets import load  # noqa: F401 (the README's spelling)

    for name in ("problems", "datasets", "theory", "metrics", "sampling", "devices"):
        module = importlib.import_module(f"gdjax.{name}")
        assert module is getattr(gdjax, name)
