import gzip
import struct

import numpy as np
import pytest

from approxhls.errors import DatasetError
from approxhls.fixedpoint import FixedType
from approxhls.models.datasets import FASHION_MNIST_DIR, load_dataset


def test_digits_is_on_the_grid(digits):
    g = FixedType.parse("ap_ufixed<8,0>")
    assert digits.x_train.shape[1:] == (8, 8, 1)
    assert len(digits.x_train) + len(digits.x_test) == 1797
    assert digits.n_classes == 10
    assert g.contains(digits.x_train) and g.contains(digits.x_test)
    # digits' value 16/16 = 1.0 saturates to the grid's max, it does not wrap to 0
    assert digits.x_train.max() == g.max


def test_other_grid_quantizes_with_rounding():
    ds = load_dataset("digits", grid="ap_ufixed<4,0>")
    assert FixedType.parse("ap_ufixed<4,0>").contains(ds.x_test)
    assert len(np.unique(ds.x_test)) <= 16


def test_for_input_reshapes(digits):
    flat = digits.for_input(digits.x_test[:3], (64,))
    assert flat.shape == (3, 64)
    with pytest.raises(DatasetError):
        digits.for_input(digits.x_test[:3], (28, 28, 1))


def _npz(tmp_path, **over):
    rng = np.random.default_rng(0)
    arrays = dict(
        x_train=rng.integers(0, 256, (20, 6, 6), dtype=np.uint8),
        y_train=np.arange(20) % 4,
        x_test=rng.integers(0, 256, (8, 6, 6), dtype=np.uint8),
        y_test=np.arange(8) % 4,
    )
    arrays.update(over)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    p = tmp_path / "d.npz"
    np.savez(p, **arrays)
    return p


def test_npz_roundtrip(tmp_path):
    ds = load_dataset(str(_npz(tmp_path)))
    assert ds.x_train.shape == (20, 6, 6, 1) and ds.n_classes == 4
    floats = load_dataset(str(_npz(tmp_path, y_train=(np.arange(20) % 4).astype(np.float32))))
    assert floats.n_classes == 4 and np.array_equal(floats.y_train, np.arange(20) % 4)
    assert FixedType.parse("ap_ufixed<8,0>").contains(ds.x_train)


@pytest.mark.parametrize(
    "over,needle",
    [
        ({"y_test": None}, "lacks y_test"),
        ({"x_train": np.full((20, 6, 6), np.nan)}, "NaN"),
        ({"y_train": np.arange(20) % 4 - 1}, "negative label"),
        ({"y_train": np.arange(19) % 4}, "one label per sample"),
        ({"y_train": (np.arange(20) % 2) * 5}, "out of range"),
        ({"x_test": np.zeros((8, 5, 6), dtype=np.uint8)}, "differ in shape"),
        ({"x_train": np.zeros((20,), dtype=np.float32)}, "must be (N, H, W"),
        ({"x_train": np.zeros((0, 6, 6), dtype=np.uint8), "y_train": np.zeros(0, dtype=int)}, "x_train is empty"),
        ({"y_test": np.arange(8) % 4 + 0.5}, "y_test must hold integer class labels"),
        ({"y_test": np.array([0, 1, 2, 3, 0, 1, 2, np.inf])}, "y_test must hold integer class labels"),
        ({"x_test": np.full((8, 6, 6), np.inf)}, "x_test contains NaN or infinite values (first in sample 0)"),
    ],
)
def test_bad_npz_is_refused(tmp_path, over, needle):
    with pytest.raises(DatasetError) as e:
        load_dataset(str(_npz(tmp_path, **over)))
    assert needle in str(e.value)


def test_missing_and_unknown(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(str(tmp_path / "nope.npz"))
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("imagenet")
    with pytest.raises(DatasetError, match="dataset-fashion-mnist"):
        load_dataset(f"fashion-mnist:{tmp_path / 'absent'}")
    (tmp_path / "corrupt.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(str(tmp_path / "corrupt.npz"))


def _write_idx(path, arr, gz=False):
    header = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_idx_directory(tmp_path):
    rng = np.random.default_rng(1)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (30, 28, 28)), gz=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(30) % 10, gz=True)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (10, 28, 28)))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(10))
    ds = load_dataset(str(tmp_path))
    assert ds.x_train.shape == (30, 28, 28, 1) and ds.n_classes == 10
    ds2 = load_dataset(f"fashion-mnist:{tmp_path}")
    assert np.array_equal(ds.x_test, ds2.x_test)
    # a truncated file is refused naming the file
    raw = open(tmp_path / "t10k-images-idx3-ubyte", "rb").read()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(raw[:-5])
    with pytest.raises(DatasetError, match="t10k-images"):
        load_dataset(str(tmp_path))


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian_package():
    ds = load_dataset("fashion-mnist")
    assert ds.x_train.shape == (60000, 28, 28, 1) and ds.x_test.shape == (10000, 28, 28, 1)
    assert ds.n_classes == 10
    assert FixedType.parse("ap_ufixed<8,0>").contains(ds.x_test)
