"""Datasets, scaled and quantized onto the model's input grid.

Every loader returns real values in [0, 1) (images) which :func:`load_dataset` then quantizes onto the
input grid (by default ``ap_ufixed<8,0>``), so Keras, the C-simulation and the emulator all see the
same on-grid numbers. Loaders are found by name in :data:`LOADERS`; a path to a ``.npz`` file or to a
directory of idx files is accepted too.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from approxhls.errors import DatasetError
from approxhls.fixedpoint import FixedType

DEFAULT_GRID = "ap_ufixed<8,0>"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class Dataset:
    """Train/test splits of images (N, H, W, C) on the input grid, with integer labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    grid: FixedType

    @property
    def sample_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    def for_input(self, x: np.ndarray, input_shape) -> np.ndarray:
        """Reshape samples to a model's per-sample input shape (e.g. flat for an MLP)."""
        shape = tuple(int(d) for d in input_shape)
        if int(np.prod(shape)) != int(np.prod(self.sample_shape)):
            raise DatasetError(
                f"dataset {self.name!r} has samples of shape {self.sample_shape}, which cannot feed a model "
                f"whose input shape is {shape}; use a model built for this dataset"
            )
        return np.ascontiguousarray(x.reshape((len(x),) + shape))

    def limit(self, n: int | None) -> "Dataset":
        """The first n test samples (training split untouched)."""
        if n is None:
            return self
        return replace(self, x_test=self.x_test[:n], y_test=self.y_test[:n])


# ---- raw loaders: return (x_train, y_train, x_test, y_test) with x in [0, 1) --------------------------

def _load_digits(path: str | None = None):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.images.astype(np.float64)[..., None] / 16.0  # pixel values 0..16
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    return xtr, ytr, xte, yte


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DatasetError(f"cannot read idx file {path}: {e}") from None
    if len(raw) < 4:
        raise DatasetError(f"{path}: too short to be an idx file")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DatasetError(f"{path}: not an idx file of unsigned bytes (magic {raw[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DatasetError(f"{path}: header says {dims} ({int(np.prod(dims))} bytes) but holds {data.size} bytes")
    return data.reshape(dims)


_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _find_idx(directory: Path, stem: str) -> Path:
    for candidate in (directory / stem, directory / (stem + ".gz")):
        if candidate.exists():
            return candidate
    raise DatasetError(
        f"{directory} has no {stem}[.gz]; a Fashion-MNIST directory holds the four idx files "
        f"{', '.join(_IDX_FILES.values())} (install them with `apt-get install dataset-fashion-mnist`)"
    )


def _load_idx_dir(path: str | None = None):
    directory = Path(path) if path else FASHION_MNIST_DIR
    if not directory.is_dir():
        raise DatasetError(
            f"Fashion-MNIST not found at {directory}: install the Debian package dataset-fashion-mnist "
            f"(`sudo apt-get install dataset-fashion-mnist`) or pass a directory holding its idx files"
        )
    arrays = {k: _read_idx(_find_idx(directory, v)) for k, v in _IDX_FILES.items()}
    # 0..255 / 256 lies exactly on an 8-bit fractional grid.
    xtr = arrays["x_train"].astype(np.float64)[..., None] / 256.0
    xte = arrays["x_test"].astype(np.float64)[..., None] / 256.0
    return xtr, arrays["y_train"].astype(np.int64), xte, arrays["y_test"].astype(np.int64)


def _load_npz(path: str | None = None):
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f.files]
            if missing:
                raise DatasetError(
                    f"{path} lacks {', '.join(missing)}; an .npz dataset holds x_train, y_train, x_test, y_test"
                )
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except DatasetError:
        raise
    except Exception as e:  # zipfile/ValueError/OSError: say which file
        raise DatasetError(f"cannot read {path} as an .npz file: {e}") from None
    xs = []
    for k in ("x_train", "x_test"):
        x = arrays[k]
        if x.dtype == np.uint8:
            x = x.astype(np.float64) / 256.0
        elif not np.issubdtype(x.dtype, np.number):
            raise DatasetError(f"{path}: {k} has non-numeric dtype {x.dtype}")
        x = x.astype(np.float64)
        if x.ndim == 3:  # (N, H, W) grey images
            x = x[..., None]
        elif x.ndim == 2:  # (N, features): one row image
            x = x[:, None, :, None]
        xs.append(x)
    return xs[0], arrays["y_train"], xs[1], arrays["y_test"]


LOADERS: dict[str, Callable] = {
    "digits": _load_digits,
    "fashion-mnist": _load_idx_dir,
}


def dataset_names() -> list[str]:
    return sorted(LOADERS)


def _resolve(spec: str):
    """A registered name, ``name:PATH``, a .npz file or an idx directory -> (name, loader, path)."""
    name, _, path = spec.partition(":") if spec.split(":", 1)[0] in LOADERS else (spec, "", "")
    if name in LOADERS:
        return name, LOADERS[name], path or None
    p = Path(spec)
    if p.suffix == ".npz":
        if not p.is_file():
            raise DatasetError(f"dataset file {spec} does not exist")
        return p.stem, _load_npz, str(p)
    if p.is_dir():
        return p.name, _load_idx_dir, str(p)
    raise DatasetError(
        f"unknown dataset {spec!r}: use one of {', '.join(dataset_names())}, a .npz file with "
        f"x_train/y_train/x_test/y_test, or a directory of Fashion-MNIST-style idx files"
    )


def _validate_labels(name: str, split: str, y) -> None:
    """Integer class labels (an integer dtype, or whole finite numbers), none negative."""
    if not np.issubdtype(np.asarray(y).dtype, np.integer):
        yf = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(yf)) or not np.all(yf == np.round(yf)):
            raise DatasetError(f"{name}: y_{split} must hold integer class labels")
    if np.min(y) < 0:
        raise DatasetError(f"{name}: y_{split} has negative label {int(np.min(y))}; labels are 0..n_classes-1")


def _validate_split(name: str, split: str, x, y) -> None:
    """One split: non-empty (N, H, W, C) images, finite, with one integer label each."""
    if x.ndim != 4:
        raise DatasetError(f"{name}: x_{split} must be (N, H, W[, C]) images, got shape {x.shape}")
    if len(x) == 0:
        raise DatasetError(f"{name}: x_{split} is empty")
    if y.ndim != 1 or len(y) != len(x):
        raise DatasetError(f"{name}: y_{split} must be one label per sample ({len(x)}), got shape {np.shape(y)}")
    if not np.all(np.isfinite(x)):
        bad = int(np.argmax(~np.isfinite(x).reshape(len(x), -1).all(axis=1)))
        raise DatasetError(f"{name}: x_{split} contains NaN or infinite values (first in sample {bad})")
    _validate_labels(name, split, y)


def _validate(name, xtr, ytr, xte, yte) -> int:
    for split, x, y in (("train", xtr, ytr), ("test", xte, yte)):
        _validate_split(name, split, x, y)
    if xtr.shape[1:] != xte.shape[1:]:
        raise DatasetError(f"{name}: train samples {xtr.shape[1:]} and test samples {xte.shape[1:]} differ in shape")
    n_classes = int(max(np.max(ytr), np.max(yte))) + 1
    missing = sorted(set(range(n_classes)) - set(np.unique(ytr).tolist()))
    if missing:
        raise DatasetError(
            f"{name}: labels out of range: classes {missing[:5]} never occur in y_train although labels go up to "
            f"{n_classes - 1}; labels must be 0..n_classes-1"
        )
    return n_classes


def load_dataset(spec: str = "digits", grid: str | FixedType = DEFAULT_GRID) -> Dataset:
    """Load a dataset by name (``digits``, ``fashion-mnist``), ``fashion-mnist:DIR``, a .npz or an idx dir.

    Inputs are quantized (round half to even, saturate) onto ``grid``.
    """
    name, loader, path = _resolve(spec)
    xtr, ytr, xte, yte = loader(path)
    n_classes = _validate(name, xtr, np.asarray(ytr), xte, np.asarray(yte))
    g = grid if isinstance(grid, FixedType) else FixedType.parse(grid)
    q = FixedType(g.width, g.integer, g.signed, "RND_CONV", "SAT")
    return Dataset(
        name=name,
        x_train=q.quantize(xtr).astype(np.float32),
        y_train=np.asarray(ytr, dtype=np.int64),
        x_test=q.quantize(xte).astype(np.float32),
        y_test=np.asarray(yte, dtype=np.int64),
        n_classes=n_classes,
        grid=FixedType(g.width, g.integer, g.signed),
    )


def write_npz(path: str | os.PathLike, ds: Dataset) -> None:
    """Save a dataset in the .npz layout that :func:`load_dataset` reads."""
    np.savez_compressed(path, x_train=ds.x_train, y_train=ds.y_train, x_test=ds.x_test, y_test=ds.y_test)
