"""Reading and writing Keras models with QKeras layers, with errors that say what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

from approxhls.errors import ModelError

MODEL_FILE = "model.h5"
TRAIN_JSON = "train.json"


def custom_objects() -> dict:
    from qkeras.utils import _add_supported_quantized_objects

    from approxhls.models.lsq import lsq_classes

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    return objects | lsq_classes()


def resolve_model_path(path) -> Path:
    """A training output directory (holding model.h5) or a model file -> the model file."""
    p = Path(path)
    if p.is_dir():
        p = p / MODEL_FILE
    if not p.exists():
        raise ModelError(
            f"no Keras model at {path}: give a model file (.h5/.keras) or a directory written by `approxhls train`"
        )
    return p


def load_model(path):
    """Load a Keras/QKeras model; a corrupt or foreign file gives a ModelError naming the file."""
    import tensorflow as tf

    p = resolve_model_path(path)
    try:
        return tf.keras.models.load_model(p, custom_objects=custom_objects(), compile=False)
    except Exception as e:  # h5py/OSError/ValueError for truncated, corrupt or non-model files
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(
            f"cannot read a Keras model from {p}: {reason}. The file may be truncated or not a Keras model; "
            f"re-create it with `approxhls train` or keras' model.save()"
        ) from None


def load_train_info(path) -> dict:
    """The train.json beside a model (scheme, dataset, input grid), or {} when there is none."""
    p = resolve_model_path(path)
    info = p.parent / TRAIN_JSON
    if not info.exists():
        return {}
    try:
        return json.loads(info.read_text())
    except json.JSONDecodeError as e:
        raise ModelError(f"{info} is not valid JSON ({e}); delete it or re-run `approxhls train`") from None


def save_model(model, directory) -> Path:
    p = Path(directory) / MODEL_FILE
    model.save(p, include_optimizer=False)
    return p
