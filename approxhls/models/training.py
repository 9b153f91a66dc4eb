"""Training a zoo model on a dataset: repeatable (fixed seeds), with progress, curves and a JSON record."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.models.datasets import Dataset, load_dataset
from approxhls.models.modelio import MODEL_FILE, TRAIN_JSON, save_model
from approxhls.models.schemes import parse_scheme
from approxhls.plots import plot_training


@dataclass
class TrainOptions:
    model: str = "mlp"
    dataset: str = "digits"
    scheme: str = "fixed-w8a8"
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 3e-3
    seed: int = 0
    fuse_bn: bool = False
    width: float = 1.0
    validation_split: float = 0.1
    limit_train: int | None = None  # use only the first N training samples (quick runs)


def _progress_callback(epochs: int):
    import tensorflow as tf
    from tqdm.auto import tqdm

    class EpochProgress(tf.keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=epochs, desc="training", unit="epoch")

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k in ("loss", "accuracy", "val_accuracy")})
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochProgress()


def set_seeds(seed: int) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)  # python, numpy and TF
    tf.config.experimental.enable_op_determinism()


def keras_accuracy(model, ds: Dataset, x=None, y=None) -> float:
    x = ds.x_test if x is None else x
    y = ds.y_test if y is None else y
    logits = model.predict(ds.for_input(x, model.input_shape[1:]), batch_size=512, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def is_training_dir(path) -> bool:
    return (Path(path) / TRAIN_JSON).is_file() or (Path(path) / MODEL_FILE).is_file()


def train(opts: TrainOptions, out_dir, ds: Dataset | None = None, overwrite: bool = False) -> dict:
    """Train, then write model.h5, train.json and train.png into ``out_dir`` (built beside it and moved in when
    complete; an existing training directory is replaced only with ``overwrite``); returns the train.json dict."""
    import tensorflow as tf

    from approxhls.fsutil import atomic_directory, check_output_dir
    from approxhls.models.zoo import build_model

    if opts.epochs < 1:
        raise ApproxHLSError(f"--epochs must be >= 1, got {opts.epochs}")
    final = check_output_dir(out_dir, "training directory", overwrite, replaceable=is_training_dir,
                             kind="an approxhls training directory")
    scheme = parse_scheme(opts.scheme)
    ds = ds or load_dataset(opts.dataset)
    set_seeds(opts.seed)
    model = build_model(opts.model, ds.sample_shape, ds.n_classes, scheme, fuse_bn=opts.fuse_bn, width=opts.width)
    xtr, ytr = ds.x_train, ds.y_train
    if opts.limit_train:
        xtr, ytr = xtr[: opts.limit_train], ytr[: opts.limit_train]
    xtr = ds.for_input(xtr, model.input_shape[1:])
    model.compile(
        optimizer=tf.keras.optimizers.Adam(opts.learning_rate),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    t0 = time.perf_counter()
    hist = model.fit(
        xtr, ytr, epochs=opts.epochs, batch_size=opts.batch_size, validation_split=opts.validation_split,
        shuffle=True, verbose=0, callbacks=[_progress_callback(opts.epochs)],
    )
    seconds = time.perf_counter() - t0
    with atomic_directory(final) as out:
        record = _write_run(model, hist, opts, scheme, ds, xtr, seconds, out)
    return record


def _write_run(model, hist, opts: TrainOptions, scheme, ds: Dataset, xtr, seconds: float, out: Path) -> dict:
    save_model(model, out)
    record = {
        "model": opts.model,
        "dataset": ds.name,
        "dataset_spec": opts.dataset,
        "scheme": scheme.to_json(),
        "fuse_bn": opts.fuse_bn,
        "width": opts.width,
        "seed": opts.seed,
        "epochs": opts.epochs,
        "batch_size": opts.batch_size,
        "learning_rate": opts.learning_rate,
        "train_samples": int(len(xtr)),
        # Keras' validation_split holds out the tail: x_train[fit_samples:] never updated the weights
        "fit_samples": int(len(xtr) * (1.0 - opts.validation_split)),
        "input_grid": str(ds.grid),
        "input_shape": [int(d) for d in model.input_shape[1:]],
        "n_classes": ds.n_classes,
        "params": int(model.count_params()),
        "history": {k: [float(v) for v in vals] for k, vals in hist.history.items()},
        "test_accuracy": keras_accuracy(model, ds),
        "train_seconds": round(seconds, 2),
    }
    (out / TRAIN_JSON).write_text(json.dumps(record, indent=2))
    plot_training(record, out / "train.png")
    return record
