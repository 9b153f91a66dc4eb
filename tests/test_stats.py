"""The 95% intervals search reports give: hand-computed values on tiny cases, and coverage of the true value in
about 95% of seeded simulated test sets (vectorized: thousands of test sets in one call)."""

import math

import numpy as np
import pytest

from approxhls.stats import paired_difference_interval, wilson_interval


def test_wilson_interval_on_hand_computed_cases():
    # 8 of 10: p = 0.8, z^2 = 3.8416, d = 1.38416, centre (0.8 + 0.19208) / d = 0.716738,
    # half 1.96 * sqrt(0.016 + 0.009604) / d = 0.226581 -> (0.490157, 0.943319) (the textbook 0.4902, 0.9433)
    assert wilson_interval(8, 10) == pytest.approx((0.490157, 0.943319), abs=1e-6)
    # 0 of 10: centre = half = 0.19208 / 1.38416 = 0.138770 -> (0, 0.277540): a lower bound at 0, never below
    lo, hi = wilson_interval(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-15) and hi == pytest.approx(0.277540, abs=1e-6)
    assert wilson_interval(10, 10) == pytest.approx((1 - 0.277540, 1.0), abs=1e-6)  # symmetric in k <-> n - k
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    assert isinstance(wilson_interval(3, 7)[0], float)  # what pareto.json holds
    # arrays: one interval per count, each the scalar one
    los, his = wilson_interval(np.array([0, 8, 10]), 10)
    assert np.array_equal(los, [wilson_interval(k, 10)[0] for k in (0, 8, 10)])
    assert np.array_equal(his, [wilson_interval(k, 10)[1] for k in (0, 8, 10)])


def test_paired_interval_on_hand_computed_cases():
    # differences [0, 1, 1, 0]: mean 0.5, sample variance (4 * 0.25) / 3 = 1/3, half 1.96 * sqrt(1/3) / 2 = 0.565803
    m, lo, hi = paired_difference_interval([1, 1, 1, 0], [1, 0, 0, 0])
    assert m == 0.5 and (lo, hi) == pytest.approx((0.5 - 0.565803, 0.5 + 0.565803), abs=1e-6)
    # the same accuracies (both 0.5), paired differently: the pairing decides the width
    assert paired_difference_interval([1, 1, 0, 0], [1, 1, 0, 0]) == (0.0, 0.0, 0.0)  # same answers: no doubt
    m, lo, hi = paired_difference_interval([1, 1, 0, 0], [0, 0, 1, 1])  # d = [1, 1, -1, -1]: variance 4/3
    assert m == 0.0 and (lo, hi) == pytest.approx((-1.131607, 1.131607), abs=1e-6)  # 1.96 * sqrt(4/3) / 2
    m, lo, hi = paired_difference_interval([1], [0])  # one sample: a mean, no interval
    assert m == 1.0 and math.isnan(lo) and math.isnan(hi)
    assert all(math.isnan(v) for v in paired_difference_interval([], []))
    # rows: one interval per row, each the 1-d one
    a = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    b = np.array([[1, 0, 0, 0], [0, 0, 1, 1]])
    rows = paired_difference_interval(a, b)
    for i in range(2):
        assert [v[i] for v in rows] == list(paired_difference_interval(a[i], b[i]))


EXPERIMENTS = 2000


def _coverage_band(level: float = 0.95) -> tuple[float, float]:
    """Where the observed coverage of a correct 95% interval lies with probability ~0.997 (3 binomial sigma):
    [0.935, 0.965] for 2000 experiments."""
    s = 3 * np.sqrt(level * (1 - level) / EXPERIMENTS)
    return level - s, level + s


@pytest.mark.parametrize("n, p", [(450, 0.9), (2000, 0.97), (300, 0.6)])
def test_wilson_intervals_cover_the_true_accuracy_95_percent_of_the_time(n, p):
    k = np.random.default_rng(n).binomial(n, p, size=EXPERIMENTS)  # correct answers of each simulated test set
    lo, hi = wilson_interval(k, n)
    coverage = np.mean((lo <= p) & (p <= hi))
    band = _coverage_band()
    assert band[0] <= coverage <= band[1], coverage


@pytest.mark.parametrize("n, lost, gained", [(450, 0.04, 0.02), (2000, 0.015, 0.01), (1000, 0.05, 0.0)])
def test_paired_loss_intervals_cover_the_true_loss_95_percent_of_the_time(n, lost, gained):
    """Simulated test sets: an image the exact network gets right the candidate gets wrong with probability
    ``lost`` (and the reverse, ``gained``); the true loss is lost - gained."""
    rng = np.random.default_rng(int(1000 * lost) + n)
    exact_right = rng.random((EXPERIMENTS, n)) < 0.9
    u = rng.random((EXPERIMENTS, n))
    lose = exact_right & (u < lost / 0.9)  # P(exact right and candidate wrong) = lost
    gain = ~exact_right & (u < gained / 0.1)  # P(exact wrong and candidate right) = gained
    candidate_right = (exact_right & ~lose) | gain
    _, lo, hi = paired_difference_interval(exact_right, candidate_right)
    coverage = np.mean((lo <= lost - gained) & (lost - gained <= hi))
    band = _coverage_band()
    assert band[0] <= coverage <= band[1], coverage


def test_a_too_narrow_interval_fails_the_coverage_check():
    """The check can fail: an interval at z = 1.0 (68%) covers far less than the band asks."""
    k = np.random.default_rng(450).binomial(450, 0.9, size=EXPERIMENTS)
    lo, hi = wilson_interval(k, 450, z=1.0)
    assert np.mean((lo <= 0.9) & (0.9 <= hi)) < _coverage_band()[0]
