"""The plain float Keras twin of a QKeras model (the emulator bench's second baseline) computes what the QKeras model
computes with its quantizers removed, on plain Keras layers."""

import numpy as np
import pytest


def _without_quantizers(model):
    """The same QKeras model rebuilt with every quantizer set to None (QKeras layers then run in float) and
    quantized activations replaced by the float function they round: QKeras' own float path, the reference."""
    from tensorflow import keras

    from approxhls.models.modelio import custom_objects

    config = model.get_config()
    for layer in config["layers"]:
        c = layer["config"]
        for key in list(c):
            if key.endswith("_quantizer"):
                c[key] = None
        if layer["class_name"] == "QActivation":
            c["activation"] = "relu" if "relu" in str(c["activation"]) else "linear"
        elif "activation" in c and "quantized" in str(c["activation"]):
            c["activation"] = "relu" if "relu" in str(c["activation"]) else "linear"
    ref = keras.Model.from_config(config, custom_objects=custom_objects())
    ref.set_weights(model.get_weights())
    return ref


def _mixed_model():
    """QDense with a quantized activation, QConv2D, QDepthwiseConv2D, QBatchNormalization and QActivation."""
    from qkeras import QActivation, QBatchNormalization, QConv2D, QDense, QDepthwiseConv2D, quantized_bits
    from tensorflow import keras

    q = quantized_bits(6, 0, alpha=1)
    inp = keras.layers.Input((10, 10, 2), name="x_in")
    x = QConv2D(4, 3, kernel_quantizer=q, bias_quantizer=q, name="c1")(inp)
    x = QBatchNormalization(name="bn")(x)
    x = QActivation("quantized_relu(6,2)", name="r1")(x)
    x = QDepthwiseConv2D(3, depthwise_quantizer=q, bias_quantizer=q, padding="same", name="dw")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = QDense(8, kernel_quantizer=q, bias_quantizer=q, activation="quantized_relu(6,2)", name="d1")(x)
    out = QDense(3, kernel_quantizer=q, bias_quantizer=q, name="d2")(x)
    return keras.Model(inp, out)


@pytest.mark.parametrize("name", ["cnn", "resnet8", "mixed"])
def test_float_twin_equals_the_qkeras_model_without_quantizers(name):
    from conftest import randomize_weights

    from approxhls.models.floatmodel import float_model
    from approxhls.models.zoo import build_model

    model = _mixed_model() if name == "mixed" else build_model(name, (16, 16, 1), 10, "fixed-w8a8")
    randomize_weights(model, seed=2, low=-0.4, high=0.4)
    if name == "mixed":  # batch-norm statistics away from the identity, so that they count
        bn = model.get_layer("bn")
        bn.set_weights([np.full(4, 1.5), np.full(4, 0.1), np.full(4, 0.2), np.full(4, 2.0)])
    twin = float_model(model)
    kinds = {type(layer).__name__ for layer in twin.layers}
    assert not any(k.startswith("Q") for k in kinds), kinds  # plain Keras layers only
    assert [layer.name for layer in twin.layers] == [layer.name for layer in model.layers]
    x = np.random.default_rng(0).random((32, *model.input_shape[1:]), dtype=np.float32)
    y_twin = twin.predict(x, verbose=0)
    y_ref = _without_quantizers(model).predict(x, verbose=0)
    assert np.allclose(y_twin, y_ref, rtol=1e-5, atol=1e-5)
    # and it is not the quantized model: fake quantization changes the outputs
    assert not np.allclose(y_twin, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_layers_without_a_float_twin_are_named():
    from qkeras import QConv2DBatchnorm
    from tensorflow import keras

    from approxhls.errors import ModelError
    from approxhls.models.floatmodel import float_activation, float_model

    inp = keras.layers.Input((6, 6, 1))
    model = keras.Model(inp, QConv2DBatchnorm(2, 3, name="fused")(inp))
    with pytest.raises(ModelError, match="fused .QConv2DBatchnorm."):
        float_model(model)
    assert float_activation("quantized_relu(8,2)") == "relu" and float_activation(None) == "linear"
    with pytest.raises(ModelError, match="leaky"):
        float_activation("quantized_relu(8,2,negative_slope=0.25)")
