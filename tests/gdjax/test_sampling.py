"""Sampling: epochs are permutations, uniform, reproducible; batches slice them."""

import numpy as np
import pytest

from gdjax import sampling


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000, 4096, 65537])
def test_epoch_permutation_is_a_permutation(n):
    p = sampling.epoch_permutation(3, 2, n)
    assert p.dtype == np.int32
    np.testing.assert_array_equal(np.sort(p), np.arange(n))


def test_epoch_permutation_depends_on_seed_and_epoch_and_is_reproducible():
    a = sampling.epoch_permutation(0, 0, 100)
    np.testing.assert_array_equal(a, sampling.epoch_permutation(0, 0, 100))
    assert not np.array_equal(a, sampling.epoch_permutation(0, 1, 100))
    assert not np.array_equal(a, sampling.epoch_permutation(1, 0, 100))
    # seed s, epoch e is not seed e, epoch s
    swapped = sampling.epoch_permutation(2, 1, 100)
    assert not np.array_equal(sampling.epoch_permutation(1, 2, 100), swapped)


def test_epoch_permutation_is_uniform_chi_square():
    # every (position, row) pair of a 5-row shuffle is equally likely: chi-square over 25 cells
    n, draws = 5, 40000
    perms = np.stack([sampling.epoch_permutation(s, 0, n) for s in range(draws)])
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


def test_plan_slices_each_seeds_epoch_permutations():
    rows = sampling.plan([4, 9], 10, 3, 2)
    assert rows.shape == (6, 2, 3) and rows.dtype == np.int32
    for j, seed in enumerate([4, 9]):
        for e in range(2):
            perm = sampling.epoch_permutation(seed, e, 10)
            np.testing.assert_array_equal(rows[3 * e : 3 * e + 3, j].ravel(), perm[:9])


def test_epoch_permutation_refuses_too_many_rows():
    with pytest.raises(ValueError, match="n must be"):
        sampling.epoch_permutation(0, 0, 2**31)


def test_batch_rows_and_steps_per_epoch():
    perm = np.arange(10)[::-1].copy()
    np.testing.assert_array_equal(sampling.batch_rows(perm, 1, 3), [6, 5, 4])
    assert sampling.steps_per_epoch(10, 3) == 3
    assert sampling.steps_per_epoch(10, 10) == 1
