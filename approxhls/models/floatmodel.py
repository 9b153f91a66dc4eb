"""The plain float Keras twin of a QKeras model: the same layers as float Dense/Conv2D/Activation/..., holding the
QKeras layers' unquantized weights, with no fake quantization.

It is the baseline a user would otherwise run for float inference (bench/emulator.py times the emulator against it
and against the QKeras model, which quantizes its kernels and activations on every call). Q-layers map to their Keras
base class through :data:`FLOAT_TWINS`; every other layer (pooling, Flatten, Add, padding) is copied as it is. A
quantizer used as an activation becomes the float function it quantizes (:data:`FLOAT_ACTIVATIONS`).
"""

from __future__ import annotations

from approxhls.errors import ModelError

# QKeras quantizer class (used as an activation) -> the float activation it rounds
FLOAT_ACTIVATIONS = {"quantized_relu": "relu", "quantized_bits": "linear", "quantized_tanh": "tanh",
                     "quantized_sigmoid": "sigmoid"}


def float_activation(act) -> str:
    """The Keras activation name of ``act``: None, a Keras activation name or function, or a QKeras quantizer (object
    or string such as ``"quantized_relu(8,2)"``)."""
    if act is None:
        return "linear"
    if isinstance(act, str) and "(" not in act:
        return act
    from qkeras import get_quantizer
    from tensorflow.keras import activations

    q = get_quantizer(act)
    kind = type(q).__name__
    if kind in FLOAT_ACTIVATIONS:
        if getattr(q, "negative_slope", 0) not in (0, 0.0, None):
            raise ModelError(f"{q}: a leaky quantized ReLU has no plain float Keras activation here")
        return FLOAT_ACTIVATIONS[kind]
    if callable(q) and kind == "function":
        return activations.serialize(q)
    raise ModelError(f"activation {act!r} ({kind}) has no float twin; known quantizers: "
                     f"{', '.join(sorted(FLOAT_ACTIVATIONS))}")


TRAINING_ONLY = ("_initializer", "_constraint", "_regularizer")


def _base_layer(base_name: str):
    def build(layer):
        from tensorflow.keras import layers

        base = getattr(layers, base_name)
        config = base.get_config(layer)  # the Keras base class's own fields: no quantizers
        # initializers, constraints and regularizers only act in training, and QKeras' own (QInitializer, Clip)
        # would tie the twin to QKeras: defaults (the weights are copied)
        config = {k: v for k, v in config.items() if not k.endswith(TRAINING_ONLY)}
        if "activation" in config:
            config["activation"] = float_activation(layer.activation)
        return base.from_config(config)

    return build


def _activation(layer):
    from tensorflow.keras import layers

    return layers.Activation(float_activation(layer.activation), name=layer.name)


# QKeras class name -> builder of its float twin (weights are copied after cloning, in the same order)
FLOAT_TWINS = {"QDense": _base_layer("Dense"), "QConv2D": _base_layer("Conv2D"),
               "QDepthwiseConv2D": _base_layer("DepthwiseConv2D"),
               "QBatchNormalization": _base_layer("BatchNormalization"), "QActivation": _activation}


def _twin(layer):
    kind = type(layer).__name__
    if kind in FLOAT_TWINS:
        return FLOAT_TWINS[kind](layer)
    if kind.startswith(("Q", "LSQ")):
        raise ModelError(f"layer {layer.name} ({kind}) has no plain float twin; approxhls maps "
                         f"{', '.join(sorted(FLOAT_TWINS))} (fold batch-norm layers into plain ones first)")
    return layer.__class__.from_config(layer.get_config())


def float_model(model):
    """A plain float Keras model of ``model``'s layers, with its unquantized weights (same layer names)."""
    from tensorflow import keras

    twin = keras.models.clone_model(model, clone_function=_twin)
    for layer in model.layers:
        if layer.get_weights():
            twin.get_layer(layer.name).set_weights(layer.get_weights())
    return twin
