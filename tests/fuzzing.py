"""Hypothesis settings shared by the test_fuzz_*.py files under tests/gdjax/."""

from hypothesis import HealthCheck, settings


def fuzz(max_examples: int) -> settings:
    """Settings for a fuzz test: the same examples on every run, a bounded number of them.

    Args:
        max_examples: how many inputs to try (kept small: the whole suite must stay fast).

    Returns:
        A ``hypothesis.settings`` to decorate the test with.
    """
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,  # the same examples on every run: CI must not be a lottery
        database=None,  # and no replay of examples saved by earlier local runs
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # tmp_path is only written, never shared
            HealthCheck.too_slow,
            HealthCheck.large_base_example,  # a whole document or file is one example
        ],
    )
