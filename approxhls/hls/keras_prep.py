"""The Keras model as hls4ml gets it: deployed, checked, and with names the generated code can hold.

Before conversion: learned-step (LSQ) layers become the fixed-point form hls4ml expresses; ``--softmax strip``
removes the output softmax; layers approxhls cannot convert bit-exactly are refused (:mod:`keras_layers`); weights
that are not finite are refused with the layer's name; and layer names that hls4ml reserves (``input``) or that
are not C identifiers are renamed inside the conversion, while every report keeps the user's names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from approxhls.errors import ModelError
from approxhls.names import is_safe_identifier


@dataclass
class Prepared:
    model: object                                   # what hls4ml converts
    notes: list = field(default_factory=list)       # how the model changed before conversion
    user_names: dict = field(default_factory=dict)  # converted layer name -> the user's name (renamed ones only)


def _is_softmax(layer) -> bool:
    cfg = layer.get_config()
    return type(layer).__name__ == "Softmax" or cfg.get("activation") == "softmax"


def strip_softmax(model):
    """The model without its final softmax (logits out), and a note; refused when the softmax is not last."""
    from tensorflow import keras

    if len(model.outputs) != 1:
        raise ModelError("--softmax strip: the model has several outputs; strip the softmax in Keras")
    last = model.layers[-1]
    if not _is_softmax(last):
        raise ModelError("--softmax strip: the model's output layer is not a softmax (nothing to strip)")
    if type(last).__name__ in ("Activation", "Softmax"):
        stripped = keras.Model(model.inputs, last.input, name=model.name)
    else:  # a Dense/Conv layer with activation='softmax': the same layer with a linear activation
        def clone(layer):
            cfg = layer.get_config()
            if layer is last:
                cfg["activation"] = "linear"
            return type(layer).from_config(cfg)

        stripped = keras.models.clone_model(model, clone_function=clone)
        stripped.set_weights(model.get_weights())
    return stripped, f"{last.name}: softmax stripped (the hardware outputs logits; their argmax is the class)"


def check_finite(model) -> None:
    """Refuse NaN or infinite weights, naming the layer, the weight and the first bad element."""
    for layer in model.layers:
        for var in layer.weights:
            values = np.asarray(var.numpy())
            bad = ~np.isfinite(values)
            if bad.any():
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                raise ModelError(f"layer {layer.name!r}: weight {var.name!r} has {int(bad.sum())} NaN or infinite "
                                 f"value(s) (first at index {first}: {values[first]}); fix or retrain the model")


def safe_names(model) -> dict[str, str]:
    """{user name: name inside the conversion} for the layers whose names the generated code cannot hold."""
    taken = {layer.name for layer in model.layers}
    renames = {}
    for layer in model.layers:
        if is_safe_identifier(layer.name):
            continue
        base = re.sub(r"\W", "_", layer.name)
        base = base if base and not base[0].isdigit() else f"l_{base}"
        new, k = f"{base}_", 0
        while new in taken or not is_safe_identifier(new):
            k += 1
            new = f"{base}_{k}"
        taken.add(new)
        renames[layer.name] = new
    return renames


def _rename_config(cfg: dict, renames: dict) -> dict:
    """A functional or Sequential model config with layers renamed (their references too)."""
    def fix_ref(ref):
        if isinstance(ref, list) and ref and isinstance(ref[0], str):
            return [renames.get(ref[0], ref[0]), *ref[1:]]
        if isinstance(ref, list):
            return [fix_ref(r) for r in ref]
        return ref

    for layer in cfg["layers"]:
        old = layer["config"].get("name")
        if old in renames:
            layer["config"]["name"] = renames[old]
        if layer.get("name") in renames:
            layer["name"] = renames[layer["name"]]
        if "inbound_nodes" in layer:
            layer["inbound_nodes"] = fix_ref(layer["inbound_nodes"])
    for key in ("input_layers", "output_layers"):
        if key in cfg:
            cfg[key] = fix_ref(cfg[key])
    return cfg


def rename_layers(model, renames: dict):
    """The same model (architecture and weights) with layers renamed."""
    from tensorflow import keras

    from approxhls.models.modelio import custom_objects

    cfg = _rename_config(model.get_config(), renames)
    original = {new: old for old, new in renames.items()}
    for layer_cfg in cfg["layers"]:
        inner = layer_cfg["config"]
        if layer_cfg.get("class_name") == "QActivation" and isinstance(inner.get("activation"), dict):
            # QActivation.from_config does not deserialize a quantizer object's config: hand it the object itself
            inner["activation"] = model.get_layer(original.get(inner["name"], inner["name"])).activation
    cls = keras.Sequential if isinstance(model, keras.Sequential) else keras.Model
    clone = cls.from_config(cfg, custom_objects=custom_objects())
    for layer in model.layers:
        clone.get_layer(renames.get(layer.name, layer.name)).set_weights(layer.get_weights())
    return clone


def prepare(model, opts) -> Prepared:
    """The model hls4ml converts, with what changed on the way."""
    from approxhls.hls.keras_layers import check_layers
    from approxhls.models.lsq import deploy

    model, notes = deploy(model)
    if opts.softmax == "strip":
        model, note = strip_softmax(model)
        notes = notes + [note]
    check_finite(model)
    check_layers(model, opts.io_type)

    renames = safe_names(model)
    if renames:
        model = rename_layers(model, renames)
        notes = notes + [f"{old}: named {new!r} inside the generated code (hls4ml reserves the name or it is not a "
                         f"C identifier); reports use {old!r}" for old, new in renames.items()]
    return Prepared(model, notes, {new: old for old, new in renames.items()})
