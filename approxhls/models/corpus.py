"""Models of every shape users bring, built in code: the layers and quantizers hls4ml 1.3.0 converts for QKeras.

The zoo (:mod:`approxhls.models.zoo`) holds the networks approxhls trains; this corpus holds the ones people
arrive with: softmax heads, Q layers with float activations, power-of-two weights, string activations, 1D and
depthwise/separable convolutions, table activations, merges, upsampling, batch-norm. ``tests/test_corpus.py``
converts each under io_parallel and io_stream and compares Keras, the C-simulation and the emulator element by
element; ``bench/corpus.py`` tabulates the result for docs/RESULTS.md. Weights are drawn over each quantizer's
range (seeded), so accumulators are wide and activations saturate.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

CORPUS: dict[str, tuple[Callable, tuple, str]] = {}


def corpus_model(name: str, input_shape: tuple, what: str):
    def deco(fn):
        CORPUS[name] = (fn, input_shape, what)
        return fn

    return deco


def _q(bits=8, integer=0, alpha=1, **kw):
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, alpha=alpha, **kw)


def _dense(units, name, **kw):
    from qkeras import QDense

    kw.setdefault("kernel_quantizer", _q())
    kw.setdefault("bias_quantizer", _q())
    return QDense(units, name=name, **kw)


def _conv(filters, kernel, name, dims=2, **kw):
    from qkeras import QConv1D, QConv2D

    kw.setdefault("kernel_quantizer", _q())
    kw.setdefault("bias_quantizer", _q())
    return (QConv2D if dims == 2 else QConv1D)(filters, kernel, name=name, **kw)


def _relu(name, bits=8, integer=2):
    from qkeras import QActivation, quantized_relu

    return QActivation(quantized_relu(bits, integer), name=name)


def _model(inp, out, name):
    from tensorflow import keras

    return keras.Model(inp, out, name=name)


def _input(shape):
    from tensorflow import keras

    return keras.layers.Input(shape, name="x_in")


@corpus_model("softmax_mlp", (16,), "QDense, QActivation, softmax head (hls4ml's stable softmax)")
def softmax_mlp():
    from tensorflow import keras

    inp = _input((16,))
    x = _relu("r1", 6, 0)(_dense(12, "fc1")(inp))
    x = keras.layers.Activation("softmax", name="probs")(_dense(5, "fc2")(x))
    return _model(inp, x, "softmax_mlp")


@corpus_model("float_act_cnn", (8, 8, 1), "QConv2D with a float activation='relu', then quantized_relu(6,0)")
def float_act_cnn():
    from qkeras import QActivation, quantized_relu
    from tensorflow import keras

    inp = _input((8, 8, 1))
    x = _conv(4, 3, "c1", activation="relu")(inp)
    x = QActivation(quantized_relu(6, 0), name="q1")(x)
    x = keras.layers.MaxPooling2D(2, name="mp")(x)
    x = keras.layers.Flatten(name="fl")(x)
    return _model(inp, _dense(3, "out")(x), "float_act_cnn")


@corpus_model("po2_mlp", (16,), "quantized_po2(4,1) weights, 2-bit alpha=None biases, string activations")
def po2_mlp():
    from qkeras import QActivation, QDense, quantized_bits, quantized_po2

    inp = _input((16,))
    x = QDense(8, kernel_quantizer=quantized_po2(4, 1), bias_quantizer=quantized_bits(2, 0, alpha=None),
               name="fc1")(inp)
    x = QActivation("quantized_relu(3,1)", name="r1")(x)
    x = QDense(5, kernel_quantizer=quantized_po2(4, 1), bias_quantizer=quantized_bits(2, 0, alpha=None),
               name="fc2")(x)
    return _model(inp, x, "po2_mlp")


@corpus_model("conv1d", (16, 3), "QConv1D (stride 2, same padding), Max/AveragePooling1D, ZeroPadding1D, "
                                 "UpSampling1D, Dropout")
def conv1d():
    from tensorflow import keras

    inp = _input((16, 3))
    x = _relu("r1")(_conv(4, 3, "c1", dims=1, strides=2, padding="same")(inp))
    x = keras.layers.ZeroPadding1D((1, 1), name="zp")(x)
    x = keras.layers.MaxPooling1D(2, name="mp")(x)
    x = keras.layers.UpSampling1D(2, name="up")(x)
    x = _relu("r2")(_conv(6, 3, "c2", dims=1)(x))
    x = keras.layers.AveragePooling1D(2, name="ap")(x)
    x = keras.layers.Dropout(0.3, name="drop")(x)
    x = keras.layers.Flatten(name="fl")(x)
    return _model(inp, _dense(4, "out")(x), "conv1d")


@corpus_model("depthwise", (8, 8, 3), "QDepthwiseConv2D, pointwise QConv2D, GlobalAveragePooling2D")
def depthwise():
    from qkeras import QDepthwiseConv2D
    from tensorflow import keras

    inp = _input((8, 8, 3))
    x = QDepthwiseConv2D(3, padding="same", depthwise_quantizer=_q(), bias_quantizer=_q(), name="dw")(inp)
    x = _relu("r1")(x)
    x = _relu("r2")(_conv(8, 1, "pw")(x))
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return _model(inp, _dense(4, "out")(x), "depthwise")


@corpus_model("separable", (8, 8, 2), "QSeparableConv2D, GlobalMaxPooling2D, QSeparableConv1D on a reshape")
def separable():
    from qkeras import QSeparableConv1D, QSeparableConv2D
    from tensorflow import keras

    inp = _input((8, 8, 2))
    x = QSeparableConv2D(4, 3, depthwise_quantizer=_q(), pointwise_quantizer=_q(), bias_quantizer=_q(),
                         name="sep")(inp)
    x = _relu("r1")(x)
    x = keras.layers.Reshape((36, 4), name="rs")(x)
    x = QSeparableConv1D(4, 3, strides=2, depthwise_quantizer=_q(), pointwise_quantizer=_q(), bias_quantizer=_q(),
                         name="sep1d")(x)
    x = _relu("r2")(x)
    x = keras.layers.GlobalMaxPooling1D(name="gmp")(x)
    return _model(inp, _dense(3, "out")(x), "separable")


@corpus_model("lut_activations", (12,), "Activation tanh / sigmoid / softplus / softsign (lookup tables)")
def lut_activations():
    from tensorflow import keras

    inp = _input((12,))
    x = keras.layers.Activation("tanh", name="th")(_dense(10, "fc1")(inp))
    x = keras.layers.Activation("softsign", name="ss")(_dense(10, "fc2")(x))
    x = keras.layers.Activation("softplus", name="sp")(_dense(10, "fc3")(x))
    x = keras.layers.Activation("sigmoid", name="sg")(_dense(4, "fc4")(x))
    return _model(inp, x, "lut_activations")


@corpus_model("quantized_activations", (12,), "quantized_tanh / quantized_sigmoid (hard), leaky quantized_relu, "
                                              "quantized_bits activation given as a string")
def quantized_activations():
    from qkeras import QActivation, quantized_relu, quantized_sigmoid, quantized_tanh

    inp = _input((12,))
    x = QActivation(quantized_tanh(8), name="qt")(_dense(10, "fc1")(inp))
    x = QActivation(quantized_sigmoid(8), name="qs")(_dense(10, "fc2")(x))
    x = QActivation(quantized_relu(8, 2, negative_slope=0.25), name="lr")(_dense(10, "fc3")(x))
    x = QActivation("quantized_bits(8,2,alpha=1)", name="qb")(_dense(6, "fc4")(x))
    return _model(inp, _dense(3, "out")(x), "quantized_activations")


@corpus_model("alpha_variants", (16,), "quantized_bits alpha=1 / None / 'auto_po2', symmetric, ReLU layer")
def alpha_variants():
    from tensorflow import keras

    inp = _input((16,))
    x = _dense(12, "fc1", kernel_quantizer=_q(8, 0, alpha="auto_po2"))(inp)
    x = keras.layers.ReLU(name="relu")(x)
    x = _relu("r1")(x)
    x = _relu("r2")(_dense(12, "fc2", kernel_quantizer=_q(6, 0, alpha=None, keep_negative=True, symmetric=True))(x))
    x = _dense(4, "fc3", kernel_quantizer=_q(4, 1, alpha=1, symmetric=True))(x)
    return _model(inp, x, "alpha_variants")


@corpus_model("binary_ternary", (16,), "binary and ternary weights, binary_tanh / ternary activations")
def binary_ternary():
    from qkeras import QActivation, binary, ternary

    inp = _input((16,))
    x = _dense(12, "fc1", kernel_quantizer=binary(alpha=1))(inp)
    x = QActivation("ternary", name="t1")(x)
    x = _dense(12, "fc2", kernel_quantizer=ternary(alpha=1))(x)
    x = _relu("r1")(x)
    x = _dense(8, "fc3")(x)
    x = QActivation("binary", name="b1")(x)
    return _model(inp, x, "binary_ternary")


@corpus_model("merges", (6, 6, 2), "Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, "
                                   "ZeroPadding2D, UpSampling2D, AveragePooling2D")
def merges():
    from tensorflow import keras

    L = keras.layers
    inp = _input((6, 6, 2))
    a = _relu("ra", 6, 1)(_conv(3, 3, "ca", padding="same")(inp))
    b = _relu("rb", 6, 1)(_conv(3, 3, "cb", padding="same")(inp))
    add = L.Add(name="add")([a, b])
    sub = L.Subtract(name="sub")([a, b])
    mul = L.Multiply(name="mul")([a, b])
    avg = L.Average(name="avg")([a, b])
    mx = L.Maximum(name="max")([a, b])
    mn = L.Minimum(name="min")([a, b])
    x = L.Concatenate(name="cat1")([add, sub])
    x = L.Concatenate(name="cat2")([x, L.Concatenate(name="cat3")([mul, avg])])
    x = L.Concatenate(name="cat4")([x, L.Concatenate(name="cat5")([mx, mn])])
    x = _relu("rc")(_conv(4, 1, "mix")(x))
    x = L.ZeroPadding2D(((1, 1), (1, 1)), name="zp")(x)
    x = L.AveragePooling2D(2, name="ap")(x)
    x = L.UpSampling2D(2, name="up")(x)
    x = _relu("rd")(_conv(2, 3, "cd", strides=2)(x))
    x = L.Flatten(name="fl")(x)
    return _model(inp, _dense(3, "out")(x), "merges")


@corpus_model("batchnorm", (8, 8, 1), "unfused BatchNormalization and QBatchNormalization (float parameters)")
def batchnorm():
    from qkeras import QBatchNormalization
    from tensorflow import keras

    inp = _input((8, 8, 1))
    x = keras.layers.BatchNormalization(name="bn1")(_conv(4, 3, "c1")(inp))
    x = _relu("r1")(x)
    x = keras.layers.Flatten(name="fl")(x)
    x = QBatchNormalization(name="bn2")(_dense(8, "fc1")(x))
    x = _relu("r2")(x)
    return _model(inp, _dense(3, "out")(x), "batchnorm")


@corpus_model("float_keras", (10,), "plain Keras Dense/Conv-free MLP with float weights and ReLU layers")
def float_keras():
    from tensorflow import keras

    inp = _input((10,))
    x = keras.layers.Dense(8, activation="relu", name="d1")(inp)
    x = keras.layers.Dense(4, name="d2")(x)
    return _model(inp, x, "float_keras")


@corpus_model("keras_layers", (6, 6, 2), "float Keras layers: Conv2D, LeakyReLU, DepthwiseConv2D, "
                                         "GlobalMaxPooling2D, Reshape, Softmax layer")
def keras_layers():
    from tensorflow import keras

    L = keras.layers
    inp = _input((6, 6, 2))
    x = L.LeakyReLU(0.125, name="leaky")(L.Conv2D(3, 3, padding="same", name="conv")(inp))
    x = L.ReLU(name="relu")(L.DepthwiseConv2D(3, name="dw")(x))
    x = L.GlobalMaxPooling2D(name="gmp")(x)
    x = L.Reshape((3,), name="rs")(x)
    x = L.Dense(4, name="d")(x)
    # a softmax reads the top bits of its input: an 8-bit input keeps it informative (a 35-bit one would not)
    x = L.Softmax(name="sm")(_qbits("q")(x))
    return _model(inp, x, "keras_layers")


def _qbits(name):
    from qkeras import QActivation

    return QActivation("quantized_bits(8,3,alpha=1)", name=name)


def randomize(model, seed: int = 0, low: float = -1.0, high: float = 1.0):
    """Weights drawn uniformly over [low, high) (by default the quantizers' whole range), batch-norm statistics
    kept positive where they must be; returns the model."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        new = []
        for w, var in zip(weights, layer.weights):
            name = var.name.split("/")[-1]
            if "variance" in name or "gamma" in name:
                new.append(rng.uniform(0.5, 2.0, w.shape))
            elif "iteration" in name:
                new.append(w)
            else:
                new.append(rng.uniform(low, high, w.shape))
        layer.set_weights(new)
    return model


def build(name: str, seed: int = 0):
    fn, _, _ = CORPUS[name]
    return randomize(fn(), seed)
