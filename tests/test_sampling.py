"""Sampling: epochs are permutations, uniform, reproducible; batches slice them."""

import jax
import numpy as np
import pytest

from gdjax import sampling


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000, 4096, 65537])
def test_epoch_permutation_is_a_permutation(n):
    p = np.asarray(sampling.epoch_permutation(jax.random.key(3), 2, n))
    assert p.dtype == np.int32
    np.testing.assert_array_equal(np.sort(p), np.arange(n))


def test_epoch_permutation_depends_on_seed_and_epoch_and_is_reproducible():
    k0, k1 = jax.random.key(0), jax.random.key(1)
    a = np.asarray(sampling.epoch_permutation(k0, 0, 100))
    np.testing.assert_array_equal(a, np.asarray(sampling.epoch_permutation(k0, 0, 100)))
    assert not np.array_equal(a, np.asarray(sampling.epoch_permutation(k0, 1, 100)))
    assert not np.array_equal(a, np.asarray(sampling.epoch_permutation(k1, 0, 100)))


def test_epoch_permutation_is_uniform_chi_square():
    # every (position, row) pair of a 5-row shuffle is equally likely: chi-square over 25 cells
    n, draws = 5, 40000
    keys = jax.random.split(jax.random.key(7), draws)
    perms = np.asarray(jax.jit(jax.vmap(lambda k: sampling.epoch_permutation(k, 0, n)))(keys))
    counts = np.stack([np.bincount(perms[:, i], minlength=n) for i in range(n)])
    expected = draws / n
    chi2 = ((counts - expected) ** 2 / expected).sum()
    # 16 degrees of freedom (rows and columns fixed): P(chi2 > 39.3) = 0.001
    assert chi2 < 39.3
    # and whole permutations: all 120 orders appear about equally often
    codes = perms @ (n ** np.arange(n))
    _, freq = np.unique(codes, return_counts=True)
    assert len(freq) == 120
    chi2_orders = ((freq - draws / 120) ** 2 / (draws / 120)).sum()
    assert chi2_orders < 170.0  # 119 dof: P(chi2 > 170) < 0.002


def test_batch_rows_and_steps_per_epoch():
    perm = np.arange(10)[::-1].copy()
    np.testing.assert_array_equal(sampling.batch_rows(perm, 1, 3), [6, 5, 4])
    assert sampling.steps_per_epoch(10, 3) == 3
    assert sampling.steps_per_epoch(10, 10) == 1
