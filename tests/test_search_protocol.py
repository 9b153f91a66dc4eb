"""The protocol a search's claims rest on: calibration (fitness), validation (choice) and test (report) images never
overlap; a point is chosen on validation only (the intervals' coverage: tests/test_stats.py)."""

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
    test_rows = _rows(data.x_test)
    for part in (data.x_calib, data.x_val):
        assert not _rows(part) & test_rows
    assert not _rows(data.x_calib) & _rows(data.x_val)  # nor calibration with validation, by pixels


def _rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in x.reshape(len(x), -1)}


def test_fashion_mnist_splits_are_disjoint_by_index_and_content():
    """The splits a search on Fashion-MNIST uses (the cnn and resnet8 of the ALWANN bench): validation from the
    fit_samples holdout train.json records for Keras' default validation_split, calibration from the fitted part; no
    image shared between calibration, validation and test, by index or by pixels."""
    from approxhls.errors import DatasetError
    from approxhls.models.datasets import load_dataset
    from approxhls.models.training import TrainOptions
    from approxhls.search.network import search_data

    try:
        ds = load_dataset("fashion-mnist")
    except DatasetError as e:
        pytest.skip(f"Fashion-MNIST is not installed here: {e}")
    fit = int(len(ds.x_train) * (1.0 - TrainOptions().validation_split))  # what train.json's fit_samples holds
    assert 0 < fit < len(ds.x_train)
    data = search_data(ds, [28, 28, 1], None, None, fit, seed=0)  # the defaults: up to 1000 / 2000
    cal, val = data.calib_index, data.val_index
    assert (len(cal), len(val)) == (1000, 2000)
    assert len(set(cal.tolist())) == len(cal) and len(set(val.tolist())) == len(val)
    assert cal.max() < fit <= val.min() and val.max() < len(ds.x_train)
    assert np.array_equal(data.x_calib, ds.for_input(ds.x_train[cal], [28, 28, 1]))
    assert np.array_equal(data.x_val, ds.for_input(ds.x_train[val], [28, 28, 1]))
    calib, valid, test = _rows(data.x_calib), _rows(data.x_val), _rows(data.x_test)
    assert len(calib) == len(cal) and len(valid) == len(val)  # no image twice within a split either
    assert not calib & valid and not calib & test and not valid & test


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


class _NoTestAccuracy(dict):
    """A point or exact record that fails the test if anything reads a test-set field from it."""

    def _refuse(self, key):
        if str(key).startswith("test_"):
            raise AssertionError(f"the choice read {key}")

    def __getitem__(self, key):
        self._refuse(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._refuse(key)
        return super().get(key, default)

    def __contains__(self, key):
        self._refuse(key)
        return super().__contains__(key)


def test_the_choice_uses_validation_where_the_test_set_would_choose_otherwise():
    from approxhls.search.choice import best_within

    cheap = {"relative_energy": 0.2, "val_accuracy": 0.87, "test_accuracy": 0.90, "calib_accuracy": 0.95}
    middle = {"relative_energy": 0.5, "val_accuracy": 0.895, "test_accuracy": 0.86, "calib_accuracy": 0.90}
    dear = {"relative_energy": 0.8, "val_accuracy": 0.90, "test_accuracy": 0.90, "calib_accuracy": 0.95}
    r = _result([dear, cheap, middle])
    # the rankings disagree: on the test set `cheap` loses nothing and `middle` 4 pp; on validation the reverse
    by_test = min((p for p in r["points"] if r["exact"]["test_accuracy"] - p["test_accuracy"] <= 0.01),
                  key=lambda p: p["relative_energy"])
    assert by_test is cheap
    assert best_within(r, 0.01) is middle
    assert best_within(r, 0.04) is cheap and best_within(r, 0.0) is dear
    assert best_within(_result([cheap, middle], exact_val=0.99), 0.01) is None  # none within: no point
    # and it never reads a test-set field, of the points or of the exact network
    spied = {"exact": _NoTestAccuracy(r["exact"]), "points": [_NoTestAccuracy(p) for p in r["points"]]}
    assert best_within(spied, 0.01)["relative_energy"] == middle["relative_energy"]


def test_the_test_set_is_refused_as_a_choice_split():
    from approxhls.errors import ApproxHLSError
    from approxhls.search.choice import best_within, choice_split

    r = _result([{"relative_energy": 0.2, "val_accuracy": 0.9, "test_accuracy": 0.9, "calib_accuracy": 0.9}])
    with pytest.raises(ApproxHLSError, match="test set only reports"):
        best_within(r, 0.01, split="test")
    with pytest.raises(ApproxHLSError, match="not on 'test'"):
        choice_split(_result([], exact_val=None), "test")  # not even as a fallback


def test_best_within_keeps_a_loss_equal_to_the_allowed_one_and_falls_back_to_calibration():
    from approxhls.search.choice import FALLBACK_SPLIT, best_within, choice_split

    # 0.90 - 0.89 is 0.010000000000000009 in floating point: still a loss of exactly 1 pp
    p = {"relative_energy": 0.3, "val_accuracy": 0.89, "test_accuracy": 0.5, "calib_accuracy": 0.70}
    q = {"relative_energy": 0.4, "val_accuracy": None, "test_accuracy": 0.9, "calib_accuracy": 0.95}
    assert best_within(_result([q, p]), 0.01) is p  # q has no validation accuracy: not a candidate
    assert best_within(_result([q, p]), 0.0099) is None
    assert choice_split(_result([q, p])) == "val" and choice_split(_result([q, p]), "calib") == "calib"
    # a result without a validation split (older pareto.json): the named fallback, calibration, decides, never the
    # test set (on which q, 0.9, would lose nothing and p, 0.5, 40 pp)
    r = _result([q, p], exact_val=None)
    assert FALLBACK_SPLIT == "calib" and choice_split(r) == FALLBACK_SPLIT
    assert best_within(r, 0.01) is q and best_within(r, 0.25) is p
    spied = {"exact": _NoTestAccuracy(r["exact"]), "points": [_NoTestAccuracy(x) for x in r["points"]]}
    assert best_within(spied, 0.25)["relative_energy"] == p["relative_energy"]


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
