"""The protocol a search's claims rest on: calibration (fitness), validation (choice) and test (report) images never
overlap; a point is chosen on validation only; the 95% intervals cover the truth 95% of the time."""

import json

import numpy as np
import pytest

from search_golden import MODEL


@pytest.fixture(scope="module")
def loaded():
    """The search's own data step on the committed digits mlp (its train.json: the first 1212 of 1347 training
    samples were fitted, the rest held out)."""
    from search_golden import frozen_prices

    from approxhls.models.datasets import load_dataset
    from approxhls.search.run import SearchOptions, load

    with frozen_prices():
        p = load(MODEL, SearchOptions(calib=200, val=100, seed=3, progress=False))
    return p, load_dataset("digits")


def test_the_search_uses_disjoint_calibration_validation_and_test_images(loaded):
    p, ds = loaded
    data = p.evaluator.data
    cal, val = data.calib_index, data.val_index
    fit = json.loads((MODEL / "train.json").read_text())["fit_samples"]
    assert len(set(cal.tolist())) == len(cal) == 200 and len(set(val.tolist())) == len(val) == 100
    assert not set(cal.tolist()) & set(val.tolist())
    assert cal.max() < fit <= val.min() and val.max() < len(ds.x_train)  # validation: what training held out
    # the index sets are the images and labels the search evaluates
    shape = data.x_calib.shape[1:]
    assert np.array_equal(data.x_calib, ds.for_input(ds.x_train[cal], shape)) and np.array_equal(data.y_calib,
                                                                                                 ds.y_train[cal])
    assert np.array_equal(data.x_val, ds.for_input(ds.x_train[val], shape)) and np.array_equal(data.y_val,
                                                                                               ds.y_train[val])
    assert np.array_equal(data.x_test, ds.for_input(ds.x_test, shape)) and np.array_equal(data.y_test, ds.y_test)
    # and the test split shares no image with them (digits has no duplicate images across its splits)
    test_rows = {row.tobytes() for row in data.x_test.reshape(len(data.x_test), -1)}
    for part in (data.x_calib, data.x_val):
        assert not {row.tobytes() for row in part.reshape(len(part), -1)} & test_rows


@pytest.mark.parametrize("fit", [None, 700])
def test_split_indices_are_disjoint_for_any_seed_and_size(fit):
    from approxhls.search.network import split_indices

    for seed in range(20):
        for calib, val in [(1, 1), (100, 200), (300, 300), (None, None)]:
            cal, v, _ = split_indices(1000, calib, val, fit, seed)
            assert not set(cal.tolist()) & set(v.tolist())
            assert len(set(cal.tolist())) == len(cal) and len(set(v.tolist())) == len(v)
            if fit:
                assert cal.max() < fit <= v.min()
            expected = (calib or min(1000, fit or 1000), val or (300 if fit else 0))
            assert (len(cal), len(v)) == expected


@pytest.mark.parametrize("fit, calib, val, flag", [(None, 1001, 1, "--calib"), (None, 600, 401, "--val"),
                                                   (700, 701, 1, "--calib"), (700, 10, 301, "--val")])
def test_split_sizes_beyond_the_split_are_refused(fit, calib, val, flag):
    from approxhls.search.network import split_indices
    from approxhls.search.options import SearchOptionError

    with pytest.raises(SearchOptionError, match=f"^{flag} "):
        split_indices(1000, calib, val, fit, 0)


def _result(points, exact_val=0.90, exact_test=0.90, exact_calib=0.95):
    return {"exact": {"val_accuracy": exact_val, "test_accuracy": exact_test, "calib_accuracy": exact_calib},
            "points": points}


def test_the_choice_uses_validation_where_the_test_set_would_choose_otherwise():
    cheap = {"relative_energy": 0.2, "val_accuracy": 0.87, "test_accuracy": 0.90, "calib_accuracy": 0.95}
    middle = {"relative_energy": 0.5, "val_accuracy": 0.895, "test_accuracy": 0.86, "calib_accuracy": 0.90}
    dear = {"relative_energy": 0.8, "val_accuracy": 0.90, "test_accuracy": 0.90, "calib_accuracy": 0.95}
    from approxhls.search.choice import best_within

    r = _result([dear, cheap, middle])
    assert best_within(r, 0.01) is middle  # on test, `cheap` (no loss) would win; on validation it loses 3 pp
    assert best_within(r, 0.01, split="test") is cheap
    assert best_within(r, 0.04) is cheap and best_within(r, 0.0) is dear
    assert best_within(_result([cheap, middle], exact_val=0.99), 0.01) is None  # none within: no point


def test_best_within_keeps_a_loss_equal_to_the_allowed_one_and_falls_back_to_calibration():
    from approxhls.search.choice import best_within

    # 0.90 - 0.89 is 0.010000000000000009 in floating point: still a loss of exactly 1 pp
    p = {"relative_energy": 0.3, "val_accuracy": 0.89, "test_accuracy": 0.5, "calib_accuracy": 0.70}
    q = {"relative_energy": 0.4, "val_accuracy": None, "test_accuracy": 0.9, "calib_accuracy": 0.95}
    assert best_within(_result([q, p]), 0.01) is p  # q has no validation accuracy: not a candidate
    assert best_within(_result([q, p]), 0.0099) is None
    # a result without a validation split (older pareto.json): calibration accuracy decides, never the test set
    r = _result([q, p], exact_val=None)
    assert best_within(r, 0.01) is q and best_within(r, 0.25) is p


def test_search_result_reports_the_point_the_choice_picks(tmp_path):
    """The recorded small search (tests/data/search_golden): the chosen point is the lowest-energy one within the
    loss on validation, whatever its test accuracy."""
    from search_golden import HERE

    from approxhls.search.choice import best_within

    r = json.loads((HERE / "dataflow" / "pareto.json").read_text())
    ex = r["exact"]["val_accuracy"]
    for loss in (0.0, 0.01, 0.05, 0.5):
        within = [p for p in r["points"] if ex - p["val_accuracy"] <= loss + 1e-12]
        chosen = best_within(r, loss)
        assert chosen == (min(within, key=lambda p: p["relative_energy"]) if within else None)


def _coverage_band(experiments: int, level: float = 0.95) -> tuple[float, float]:
    """Where the observed coverage of a correct 95% interval lies with probability ~0.997 (3 binomial sigma)."""
    s = 3 * np.sqrt(level * (1 - level) / experiments)
    return level - s, level + s


@pytest.mark.parametrize("n, p", [(450, 0.9), (2000, 0.97), (300, 0.6)])
def test_wilson_intervals_cover_the_true_accuracy_95_percent_of_the_time(n, p):
    from approxhls.stats import wilson_interval

    experiments = 2000
    k = np.random.default_rng(n).binomial(n, p, size=experiments)  # correct answers of each simulated test set
    covered = [lo <= p <= hi for lo, hi in (wilson_interval(int(kk), n) for kk in k)]
    lo, hi = _coverage_band(experiments)
    assert lo <= np.mean(covered) <= hi


@pytest.mark.parametrize("n, lost, gained", [(450, 0.04, 0.02), (2000, 0.015, 0.01), (1000, 0.05, 0.0)])
def test_paired_loss_intervals_cover_the_true_loss_95_percent_of_the_time(n, lost, gained):
    """Simulated test sets: an image the exact network gets right the candidate gets wrong with probability
    ``lost`` (and the reverse, ``gained``); the true loss is lost - gained."""
    from approxhls.stats import paired_difference_interval

    rng = np.random.default_rng(int(1000 * lost) + n)
    experiments = 2000
    exact_right = rng.random((experiments, n)) < 0.9
    u = rng.random((experiments, n))
    lose = exact_right & (u < lost / 0.9)  # P(exact right and candidate wrong) = lost
    gain = ~exact_right & (u < gained / 0.1)  # P(exact wrong and candidate right) = gained
    candidate_right = (exact_right & ~lose) | gain
    covered = []
    for e in range(experiments):
        _, lo, hi = paired_difference_interval(exact_right[e], candidate_right[e])
        covered.append(lo <= lost - gained <= hi)
    lo, hi = _coverage_band(experiments)
    assert lo <= np.mean(covered) <= hi
