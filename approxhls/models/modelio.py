"""Reading and writing Keras models with QKeras layers, with errors that say what is wrong.

A model is any of: a directory written by ``approxhls train`` (``model.h5`` + ``train.json``), a Keras ``.h5`` or
``.keras`` file, a SavedModel directory (``saved_model.pb``), or an architecture in JSON with its weights
(hls4ml's KerasJson/KerasH5 convention): ``model.json`` with ``weights=``, or the weights found beside it
(``model_weights.h5``, ``model.weights.h5``, ``model.h5``, ``weights.h5``).
"""

from __future__ import annotations

import json
from pathlib import Path

from approxhls.errors import ModelError

MODEL_FILE = "model.h5"
TRAIN_JSON = "train.json"
MODEL_KINDS = "a model file (.h5/.keras), a SavedModel directory, model.json (+ weights) or an `approxhls train` directory"


def custom_objects() -> dict:
    from qkeras.utils import _add_supported_quantized_objects

    from approxhls.models.lsq import lsq_classes

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    return objects | lsq_classes()


def _json_objects() -> dict:
    """QKeras 0.9.0 writes a QActivation's quantizer object into JSON as a dict that its own from_config cannot
    read back; this loader turns the dict into the quantizer first."""
    from qkeras import QActivation
    from qkeras.quantizers import get_quantizer

    class QActivationFromJson:
        @classmethod
        def from_config(cls, config):
            act = config.get("activation")
            if isinstance(act, dict):
                config = dict(config, activation=get_quantizer(act))
            return QActivation.from_config(config)

    return custom_objects() | {"QActivation": QActivationFromJson}


def resolve_model_path(path, weights=None) -> Path:
    """The model's file (or SavedModel directory): a training directory gives its model.h5."""
    p = Path(path)
    if p.is_dir():
        if (p / MODEL_FILE).exists():
            return p / MODEL_FILE
        if (p / "saved_model.pb").exists():
            return p
        raise ModelError(f"{path} is a directory without {MODEL_FILE} or saved_model.pb; give {MODEL_KINDS}")
    if not p.exists():
        raise ModelError(f"no Keras model at {path}: give {MODEL_KINDS}")
    if weights is not None and p.suffix != ".json":
        raise ModelError(f"--weights goes with an architecture in JSON; {p.name} holds its own weights")
    return p


def weights_beside(json_path: Path) -> Path:
    stem = json_path.stem
    candidates = [json_path.with_name(n) for n in (f"{stem}_weights.h5", f"{stem}.weights.h5", f"{stem}.h5",
                                                   "weights.h5", "model_weights.h5")]
    for c in candidates:
        if c.exists():
            return c
    raise ModelError(f"{json_path} holds an architecture only and no weights file lies beside it (looked for "
                     f"{', '.join(c.name for c in candidates)}); pass --weights FILE.h5")


def load_model(path, weights=None):
    """Load a Keras/QKeras model; a corrupt or foreign file gives a ModelError naming the file."""
    import tensorflow as tf

    p = resolve_model_path(path, weights)
    try:
        if p.suffix == ".json":
            w = Path(weights) if weights is not None else weights_beside(p)
            if not w.exists():
                raise ModelError(f"weights file {w} does not exist")
            model = tf.keras.models.model_from_json(p.read_text(), custom_objects=_json_objects())
            model.load_weights(w)
            return model
        return tf.keras.models.load_model(p, custom_objects=custom_objects(), compile=False)
    except ModelError:
        raise
    except Exception as e:  # h5py/OSError/ValueError for truncated, corrupt or non-model files
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(
            f"cannot read a Keras model from {p}: {reason}. The file may be truncated or not a Keras model; "
            f"re-create it with `approxhls train` or keras' model.save()"
        ) from None


def load_train_info(path, weights=None) -> dict:
    """The train.json beside a model (scheme, dataset, input grid), or {} when there is none."""
    p = resolve_model_path(path, weights)
    info = (p if p.is_dir() else p.parent) / TRAIN_JSON
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
