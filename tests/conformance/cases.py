"""hls4ml 1.3.0's test models, rebuilt as its tests build them, one :class:`Case` per model x parametrization x
io type x API (the Sequential model of the test and its functional twin, or the other way round).

Every model here has layers hls4ml 1.3.0 converts for the Vivado/Vitis backends. Backends other than
Vivado/Vitis (Quartus, oneAPI, Catapult) are left out; Vivado and Vitis run the same C++ in C-simulation, so each
case runs on the one its test lists first among them. Inputs follow the test's own distribution (seeded); the
harness puts them on the grid of the input type hls4ml's conversion gives the model, so Keras, hls4ml and approxhls
read the same numbers. Shapes are the test's, except where a case says ``small``: the default run uses a smaller
input of the same layer (the test's shape stays in the slow run).

Nothing here imports TensorFlow at import time: pytest collects the case ids without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

HLS4ML_TESTS = "hls4ml 1.3.0 test/pytest/"
EXAMPLES_ENV = "APPROXHLS_HLS4ML_EXAMPLES"  # a directory with hls4ml's example-models keras/ files (slow cases)
# the rules a case is checked against (tests/conformance/test_conformance.py); a known bug marks some of them
RULES = ("converts", "emulator", "never_worse", "claims")


@dataclass(frozen=True)
class Hls4mlConfig:
    """How the test configures hls4ml: config_from_keras_model's arguments and its edits of the result."""

    granularity: str = "name"
    default_precision: str | None = None
    backend: str = "Vitis"
    strategy: str | None = None             # the Model's Strategy, where the test sets one
    edit: Callable | None = None            # edit(cfg, model): the test's per-layer settings
    raw: dict | None = None                 # a hand-written config instead of config_from_keras_model (test_merge)

    def make(self, model) -> dict:
        import copy

        import hls4ml

        if self.raw is not None:
            return copy.deepcopy(self.raw)
        kwargs = {"granularity": self.granularity, "backend": self.backend}
        if self.default_precision:
            kwargs["default_precision"] = self.default_precision
        cfg = hls4ml.utils.config_from_keras_model(model, **kwargs)
        if self.strategy:
            cfg["Model"]["Strategy"] = self.strategy
        if self.edit is not None:
            self.edit(cfg, model)
        return cfg


@dataclass(frozen=True)
class Case:
    name: str                     # model and parametrization, e.g. qkeras.single_dense[bits4-alpha1]
    source: str                   # the hls4ml test it comes from
    build: Callable               # build(api) -> a Keras model (unseeded weights; the harness seeds them)
    api: str                      # "sequential" or "functional"
    test_api: str                 # the API the hls4ml test uses
    io_type: str
    inputs: Callable              # inputs(rng, n) -> array (or list of arrays for several inputs)
    samples: int
    hls4ml: Hls4mlConfig = field(default_factory=Hls4mlConfig)
    approxhls: dict = field(default_factory=dict)  # ConvertOptions fields besides io_type and input precision
    weights: Callable | None = None  # weights(model, rng): the test's own weight setting
    reference: Callable | None = None  # reference(model) -> the Keras model the outputs are compared with
    keras_argmax: bool = False    # compare with the one-hot of Keras' argmax (hls4ml's argmax softmax outputs that)
    decode: str | None = None     # "xnor": hls4ml's binary outputs are 0/1 for -1/+1 (the tests map 0 to -1)
    slow: bool = False
    bugs: dict = field(default_factory=dict)  # rule -> "conversion: ..." (a known approxhls bug: strict xfail)
    seed: int = 0
    needs: tuple = ()             # files the case needs (hls4ml's example models)

    @property
    def id(self) -> str:
        return f"{self.name}-{'seq' if self.api == 'sequential' else 'fn'}-{self.io_type.removeprefix('io_')}"

    @property
    def backend(self) -> str:
        return self.hls4ml.backend


# ---- building models ---------------------------------------------------------------------------------------------

def chain(shape: tuple, make_layers: Callable, input_name: str | None = None) -> Callable:
    """A builder of a chain of layers: make_layers(shape) returns fresh layers, the first carrying input_shape (as
    the tests write them). Sequential: the layers as given; functional: an Input (named ``input_name`` where the
    test names it, else x_in) and the same layers called in turn."""

    def build(api: str):
        from tensorflow import keras

        layers = make_layers(shape)
        if api == "sequential":
            model = keras.Sequential(layers)
            model.build((None, *shape))
            return model
        x = inp = keras.Input(shape, name=input_name or "x_in")
        for layer in layers:
            x = layer(x)
        return keras.Model(inp, x)

    return build


def twins(test_api: str, apis=("sequential", "functional")) -> tuple:
    return tuple(apis) if test_api in apis else (test_api,)


def expand(name: str, source: str, build: Callable, test_api: str, io_types, inputs, samples: int, *,
           apis=None, **kw) -> list[Case]:
    """One case per API (the test's and its twin) x io type."""
    apis = apis or twins(test_api)
    return [Case(name, source, build, api, test_api, io, inputs, samples, **kw) for api in apis for io in io_types]


# ---- the tests' input distributions ------------------------------------------------------------------------------

def uniform(*shape):
    """np.random.rand(n, *shape)."""
    return lambda rng, n: rng.random((n, *shape))


def uniform_grid10(*shape, sign=1.0):
    """np.round(rand * 2**10) * 2**-10 (the tests' 'exact ap_fixed<16,6>' inputs), negated where sign is -1."""
    return lambda rng, n: sign * np.round(rng.random((n, *shape)) * 2**10) * 2**-10


def softmax_data(*shape):
    """test_softmax's generate_data: normal(0, 2); entries where randint(0, 1) < 0.05 (all of them: randint(0, 1) is
    always 0) become d * 5 + 10; clipped to [-32, 31]."""
    def make(rng, n):
        d = rng.normal(0, 2, (n, *shape))
        modify = rng.integers(0, 1, (n, *shape)) < 0.05
        d[modify] = d[modify] * 5 + 10
        return np.clip(d, -32, 31)
    return make


def qbits8(*shape):
    """quantized_bits(8, 0, alpha=1)(rand): the separable-convolution tests' inputs."""
    return lambda rng, n: np.clip(np.round(rng.random((n, *shape)) * 2**7), -(2**7), 2**7 - 1) * 2**-7


def two(make_a, make_b):
    return lambda rng, n: [make_a(rng, n), make_b(rng, n)]


# ---- test_qkeras.py ------------------------------------------------------------------------------------------------

def _q(spec: str):
    """A QKeras quantizer from its test spelling (e.g. "quantized_bits(4, 0, alpha='auto_po2')")."""
    from qkeras import quantizers as qz

    return eval(spec, {k: getattr(qz, k) for k in dir(qz) if not k.startswith("_")})  # noqa: S307 (our own strings)


def single_dense(bits: int, alpha) -> Callable:
    def make(shape):
        from qkeras import QActivation, QDense

        return [QActivation(activation=_q(f"quantized_bits({bits}, 0, alpha=1)"), input_shape=shape, name="inp_quant"),
                QDense(16, name="fc1", kernel_quantizer=_q(f"quantized_bits({bits}, 0, alpha={alpha!r})"),
                       bias_quantizer=_q(f"quantized_bits({bits}, 0, alpha=1)"), kernel_initializer="lecun_uniform"),
                QActivation(activation=_q(f"quantized_relu({bits}, 0)"), name="relu1")]
    return make


def one_activation(quantizer: str) -> Callable:
    def make(shape):
        from qkeras import QActivation

        return [QActivation(input_shape=shape, activation=_q(quantizer), name="quantizer")]
    return make


BTNN = [  # test_btnn's parametrization: kernel, bias, activation quantizers, batch-norm, XNOR output
    (1, "ternary(alpha=1)", "quantized_bits(5, 2)", "'binary_tanh'", False, False),
    (2, "binary()", "quantized_bits(5, 2)", "'binary_tanh'", False, True),
    (3, "ternary(alpha='auto')", "quantized_bits(5, 2)", "binary()", True, True),
    (4, "ternary(alpha='auto')", "quantized_bits(5, 2)", "'ternary'", True, False),
    (5, "ternary(alpha='auto')", "quantized_bits(5, 2)", "ternary(threshold=0.2)", True, False),
    (6, "ternary(alpha='auto')", "quantized_bits(5, 2)", "ternary(threshold=0.8)", True, False),
    (7, "binary()", "quantized_bits(5, 2)", "binary()", False, True),
]


def btnn(kernel: str, bias: str, activation: str, batchnorm: bool) -> Callable:
    def make(shape):
        from keras.layers import BatchNormalization
        from qkeras import QActivation, QDense

        act = eval(activation) if activation.startswith("'") else _q(activation)  # noqa: S307
        layers = [QDense(10, input_shape=shape, kernel_quantizer=_q(kernel), bias_quantizer=_q(bias), name="dense")]
        if batchnorm:
            layers.append(BatchNormalization(name="bn"))
        return layers + [QActivation(activation=act, name="act")]
    return make


QUANTIZERS = ["quantized_bits(8, 0)", "quantized_bits(8, 4)", "quantized_bits(4, 2)", "quantized_bits(4, 0)",
              "quantized_bits(10, 0)", "quantized_relu(4)", "quantized_relu(4, 2)", "quantized_relu(8)",
              "quantized_relu(8, 4)", "quantized_relu(10)", "quantized_relu(10, 5)"]
SPECIAL = ["quantized_tanh(8)", "quantized_sigmoid(5)", "quantized_sigmoid(7, use_real_sigmoid=True)"]
NEGATIVE_SLOPE = ["quantized_relu(4, negative_slope=0.5)", "quantized_relu(8, 4, negative_slope=1.0)",
                  "quantized_relu(10, 2, negative_slope=0.25)"]
KWARG = [("binary", "binary"), ("ternary", "ternary"), ("quantized_bits(4, 0, alpha=1)", "quantized_relu(2, 0)"),
         ("quantized_bits(4, 0, alpha=1)", "quantized_relu(4, 0)"),
         ("quantized_bits(4, 0, alpha=1)", "quantized_relu(8, 0)")]


def qdense_kwarg(weight: str, activation: str) -> Callable:
    def make(shape):
        from qkeras import QDense

        return [QDense(10, input_shape=shape, activation=activation, name="qdense", kernel_quantizer=weight,
                       bias_quantizer=weight, kernel_initializer="lecun_uniform")]
    return make


def quantizer_parsing(shape):
    from qkeras import QDense

    return [QDense(8, input_shape=shape, kernel_quantizer=None, kernel_initializer="ones", bias_quantizer=None,
                   bias_initializer="zeros", activation="quantized_relu(8, 0)")]


def qconv2dbn(shape):
    from qkeras.qconv2d_batchnorm import QConv2DBatchnorm

    return [QConv2DBatchnorm(4, kernel_size=(3, 3), input_shape=shape, kernel_quantizer="quantized_bits(8, 0, alpha=1)",
                             kernel_initializer="ones", bias_quantizer="quantized_bits(8, 0, alpha=1)",
                             bias_initializer="zeros", activation="quantized_relu(8, 0)")]


def qdepthwise(shape):
    from qkeras.qconvolutional import QDepthwiseConv2D

    return [QDepthwiseConv2D(kernel_size=(3, 3), input_shape=shape, depthwise_quantizer="quantized_bits(6, 0, alpha=1)",
                             bias_quantizer="quantized_bits(4, 0, alpha=1)", bias_initializer="he_normal",
                             activation="quantized_relu(3, 0)")]


def po2_dense(shape):
    from qkeras import QDense

    return [QDense(6, input_shape=shape, name="dense", kernel_quantizer=_q("quantized_po2(18, max_value=2**20)"))]


def po2_weights(model, rng):
    """test_quantised_po2_bit_width: every kernel weight 2**18 * rand (the bias stays at its zeros)."""
    layer = model.layers[-1]
    w = layer.get_weights()
    w[0] = (2**18) * rng.random(w[0].shape)
    layer.set_weights(w)


def separable(dims: int) -> Callable:
    def make(shape):
        from qkeras.qconvolutional import QSeparableConv1D, QSeparableConv2D

        cls = QSeparableConv1D if dims == 1 else QSeparableConv2D
        q = "quantized_bits(8, 3, alpha=1)"
        return [cls(5, 3, input_shape=shape, depthwise_quantizer=_q(q), pointwise_quantizer=_q(q), bias_quantizer=_q(q),
                    name="qsepconv_1")]
    return make


def separable_config(cfg, model):
    """test_qseparableconv: the input at fixed<8,1>, the depthwise result at fixed<15,4>."""
    cfg["LayerName"][next(iter(cfg["LayerName"]))]["Precision"]["result"] = "fixed<8,1>"
    cfg["LayerName"]["qsepconv_1"]["Precision"]["dw_output"] = "fixed<15,4>"


def recurrent(kind: str) -> Callable:
    def make(shape):
        from qkeras import QLSTM

        q = "quantized_bits(8, 0, alpha=1)"
        return [QLSTM(4, input_shape=shape, kernel_quantizer=q, recurrent_quantizer=q, bias_quantizer=q,
                      state_quantizer=q, activation="tanh", recurrent_activation="sigmoid")]
    return make


def linspace_pairs(rng, n):
    """test_qlstm/test_qgru: linspace(-0.5, 0.5, 5) in both features (one sample; more are shifted copies)."""
    x = np.linspace(-0.5, 0.5, 5)
    base = np.stack([x, x], axis=1)[None]
    return np.concatenate([base, base + rng.uniform(-0.25, 0.25, (n - 1, 5, 2))]) if n > 1 else base


def example_model(json_name: str, weights_name: str) -> Callable:
    """One of hls4ml's example models (JSON + weights), from the directory ``$APPROXHLS_HLS4ML_EXAMPLES``."""
    def build(api: str):
        from qkeras.utils import _add_supported_quantized_objects
        from tensorflow import keras

        co = {}
        _add_supported_quantized_objects(co)
        root = Path(os.environ.get(EXAMPLES_ENV, ""))
        model = keras.models.model_from_json((root / json_name).read_text(), custom_objects=co)
        model.load_weights(root / weights_name)
        return model if api == "sequential" else functional_twin(model)
    return build


def functional_twin(model):
    """A Sequential model rebuilt with the functional API: an Input named x_in, the same layers, the same weights."""
    from tensorflow import keras

    x = inp = keras.Input(model.input_shape[1:], name="x_in")
    for layer in model.layers:
        x = type(layer).from_config(layer.get_config())(x)
    twin = keras.Model(inp, x)
    twin.set_weights(model.get_weights())
    return twin


def fashion_images(rng, n):
    """MNIST-like 28x28 images in [0, 1] (test_cnn_mnist_qkeras uses MNIST's test set, x / 255): Fashion-MNIST's
    test images where installed, else uniform noise."""
    from approxhls.errors import DatasetError
    from approxhls.models.datasets import load_dataset

    try:
        ds = load_dataset("fashion-mnist")
        x = np.asarray(ds.x_test[:n], dtype=np.float64).reshape(-1, 28, 28, 1)
        return x if x.max() <= 1.0 else x / 255.0
    except DatasetError:
        return rng.random((n, 28, 28, 1))


def qkeras_cases() -> list[Case]:
    src = HLS4ML_TESTS + "test_qkeras.py::"
    cases = []
    for bits, alpha in ((4, 1), (4, "auto_po2")):
        cases += expand(f"qkeras.single_dense[bits{bits}-alpha{alpha}]", src + "test_single_dense_activation_exact",
                        chain((16,), single_dense(bits, alpha)), "sequential", ("io_parallel", "io_stream"),
                        uniform(16), 100)
    for q in SPECIAL:
        cases += expand(f"qkeras.quantizer_special[{q}]", src + "test_quantizer_special", chain((1,), one_activation(q)),
                        "sequential", ("io_parallel", "io_stream"), uniform_grid10(1), 1000,
                        hls4ml=Hls4mlConfig(backend="Vivado"), approxhls={"backend": "vivado"})
    for no, kernel, bias, act, bn, xnor in BTNN:
        cases += expand(f"qkeras.btnn[{no}]", src + "test_btnn", chain((10,), btnn(kernel, bias, act, bn)), "sequential",
                        ("io_parallel", "io_stream"), uniform(10), 100, decode="xnor" if xnor else None)
    for q in QUANTIZERS:
        cases += expand(f"qkeras.quantizer[{q}]", src + "test_quantizer", chain((1,), one_activation(q)), "sequential",
                        ("io_parallel", "io_stream"), uniform_grid10(1), 1000)
    for q in NEGATIVE_SLOPE:
        cases += expand(f"qkeras.relu_negative_slope[{q}]", src + "test_relu_negative_slope",
                        chain((1,), one_activation(q)), "sequential", ("io_parallel", "io_stream"),
                        uniform_grid10(1, sign=-1.0), 1000)
    for weight, act in KWARG:
        cases += expand(f"qkeras.qactivation_kwarg[{weight}-{act}]", src + "test_qactivation_kwarg",
                        chain((10,), qdense_kwarg(weight, act)), "functional", ("io_parallel",), uniform_grid10(10),
                        100, hls4ml=Hls4mlConfig(backend="Vivado"), approxhls={"backend": "vivado"},
                        decode="xnor" if act == "binary" else None)
    cases += expand("qkeras.quantizer_parsing", src + "test_quantizer_parsing", chain((10,), quantizer_parsing),
                    "sequential", ("io_parallel", "io_stream"), uniform_grid10(10), 100,
                    hls4ml=Hls4mlConfig(default_precision="fixed<24,8>"))
    cases += expand("qkeras.qconv2dbn", src + "test_qconv2dbn", chain((8, 8, 1), qconv2dbn), "sequential",
                    ("io_parallel", "io_stream"), uniform_grid10(8, 8, 1), 100,
                    hls4ml=Hls4mlConfig(default_precision="fixed<24,8>"))
    for shape, small in (((8, 8, 3), True), ((32, 32, 3), False)):
        tag = "[small 8x8x3]" if small else ""
        cases += expand(f"qkeras.qdepthwiseconv2d{tag}", src + "test_qdepthwiseconv2d", chain(shape, qdepthwise),
                        "sequential", ("io_stream",), uniform_grid10(*shape), 10,
                        hls4ml=Hls4mlConfig(default_precision="fixed<24,8>"), slow=not small)
    for strategy in ("Latency", "Resource"):
        cases += expand(f"qkeras.quantised_po2_bit_width[{strategy.lower()}]", src + "test_quantised_po2_bit_width",
                        chain((26,), po2_dense), "sequential", ("io_parallel", "io_stream"), uniform(26), 100,
                        hls4ml=Hls4mlConfig(default_precision="ap_fixed<64, 32>", strategy=strategy),
                        approxhls={"strategy": strategy.lower()}, weights=po2_weights)
    # test_qgru is left out: QKeras 0.9.0's QGRU cell calls tf.nest's is_sequence, which TensorFlow 2.14 no longer
    # has, so its Keras model cannot be built here (AttributeError when the layer is called)
    cases += expand("qkeras.qlstm", src + "test_qlstm", chain((5, 2), recurrent("lstm")), "sequential",
                    ("io_parallel",), linspace_pairs, 8,
                    hls4ml=Hls4mlConfig(default_precision="ap_fixed<8,1>", backend="Vivado"),
                    approxhls={"backend": "vivado"})
    for dims, shape in ((1, (13, 20)), (2, (13, 21, 20))):
        cases += expand(f"qkeras.qseparableconv{dims}d", src + f"test_qseparableconv{dims}d",
                        chain(shape, separable(dims), input_name="input_layer"), "functional", ("io_stream",),
                        qbits8(*shape), 100, hls4ml=Hls4mlConfig(default_precision="fixed<23,7>", edit=separable_config))

    def jet_config(cfg, model):
        cfg["LayerName"]["softmax"]["exp_table_t"] = "ap_fixed<18,8>"
        cfg["LayerName"]["softmax"]["inv_table_t"] = "ap_fixed<18,4>"

    examples = ("qkeras_3layer.json", "qkeras_3layer_weights.h5")
    for strategy in ("Latency", "Resource"):
        cases += expand(f"qkeras.jet_tagging[{strategy.lower()}]", src + "test_accuracy",
                        example_model(*examples), "sequential", ("io_parallel",),
                        lambda rng, n: rng.normal(0, 1, (n, 16)), 1000,
                        hls4ml=Hls4mlConfig(backend="Vivado", strategy=strategy, edit=jet_config),
                        approxhls={"strategy": strategy.lower(), "backend": "vivado"}, slow=True, needs=examples)
    mnist = ("qkeras_mnist_cnn.json", "qkeras_mnist_cnn_weights.h5")
    for io, strategy in (("io_parallel", "Resource"), ("io_parallel", "Latency"), ("io_stream", "Latency"),
                         ("io_stream", "Resource")):
        def stable(cfg, model):
            cfg["LayerName"]["softmax"]["Strategy"] = "Stable"
        cases += expand(f"cnn_mnist_qkeras[{strategy.lower()}]", HLS4ML_TESTS + "test_cnn_mnist_qkeras.py::test_accuracy",
                        example_model(*mnist), "sequential", (io,), fashion_images, 200,
                        hls4ml=Hls4mlConfig(strategy=strategy, edit=stable), approxhls={"strategy": strategy.lower()},
                        slow=True, needs=mnist)
    return cases


# ---- test_softmax.py -----------------------------------------------------------------------------------------------

SOFTMAX_ROWS = [  # input_bits, input_shape, table_bits, io_type, custom_accum
    ("16,6", (8,), "18,8", "io_parallel", False), ("16,6", (8,), "18,8", "io_stream", False),
    ("16,6", (8,), "18,8", "io_parallel", True), ("16,6", (8,), "18,8", "io_stream", True),
    ("16,6", (8,), "9,6", "io_parallel", False), ("16,6", (8,), "9,6", "io_stream", False),
    ("9,6", (8,), "18,8", "io_parallel", False), ("9,6", (8,), "18,8", "io_stream", False),
    ("16,6", (8, 8, 3), "18,8", "io_stream", False),
]


def softmax_layer(shape):
    from tensorflow import keras

    return [keras.layers.Activation(input_shape=shape, activation="softmax", name="softmax")]


def softmax_config(strategy, input_bits, table_bits, custom_accum):
    def edit(cfg, model):
        table = f"fixed<{table_bits}, RND, SAT>"
        sm = cfg["LayerName"]["softmax"]
        sm["Strategy"] = strategy
        sm.update({"inv_table_t": table, "exp_table_t": table, "accum_t": table, "inv_inp_t": table})
        if custom_accum:
            w, i = map(int, input_bits.split(","))
            sm["accum_t"] = f"fixed<{w + 3},{i + 3}>"
            sm["inv_inp_t"] = f"fixed<{w + 2},{i + 2}>"
        cfg["LayerName"][next(iter(cfg["LayerName"]))]["Precision"]["result"] = f"fixed<{input_bits}>"
    return edit


def dense_softmax(shape):
    from tensorflow import keras

    return [keras.layers.Dense(14, input_shape=shape, name="dense"), keras.layers.Activation("softmax", name="softmax")]


def skip_softmax(cfg, model):
    cfg["LayerName"]["softmax"]["skip"] = True


def dense_output(model):
    """test_softmax_skipped compares with the Dense layer's output."""
    from tensorflow import keras

    return keras.Model(model.inputs, model.get_layer("dense").output)


def softmax_cases() -> list[Case]:
    src = HLS4ML_TESTS + "test_softmax.py::"
    cases = []
    for strategy in ("stable", "latency", "argmax"):
        for input_bits, shape, table_bits, io, custom in SOFTMAX_ROWS:
            tag = f"{strategy}-in{input_bits}-{'x'.join(map(str, shape))}-table{table_bits}" + ("-accum" if custom else "")
            n = 50 if len(shape) > 1 else 500
            cases += expand(f"softmax[{tag}]", src + "test_softmax", chain(shape, softmax_layer), "sequential", (io,),
                            softmax_data(*shape), n,
                            hls4ml=Hls4mlConfig(edit=softmax_config(strategy, input_bits, table_bits, custom)),
                            approxhls={"softmax": "argmax" if strategy == "argmax" else "keep"},
                            keras_argmax=strategy == "argmax")
    cases += expand("softmax_skipped", src + "test_softmax_skipped", chain((10,), dense_softmax), "sequential",
                    ("io_parallel", "io_stream"), uniform(10), 100, hls4ml=Hls4mlConfig(edit=skip_softmax),
                    approxhls={"softmax": "strip"}, reference=dense_output)
    return cases


# ---- test_pooling.py -----------------------------------------------------------------------------------------------

POOL_PARAMS = [("max", "valid", None), ("max", "same", None), ("avg", "valid", None), ("avg", "same", None),
               ("max", "same", 4), ("avg", "valid", 1)]
POOL_PARAMS_2D = [("max", "valid", None), ("max", "same", None), ("avg", "valid", None), ("avg", "same", None),
                  ("max", "same", (4, 2)), ("avg", "valid", (1, 3))]


def pooling(dims: int, kind: str, padding: str, strides, pool_size=None) -> Callable:
    def make(shape):
        from tensorflow.keras import layers as kl

        cls = {(1, "max"): kl.MaxPooling1D, (1, "avg"): kl.AveragePooling1D, (2, "max"): kl.MaxPooling2D,
               (2, "avg"): kl.AveragePooling2D}[(dims, kind)]
        kw = {"pool_size": pool_size} if pool_size else {}
        if strides is not None:
            kw["strides"] = strides
        return [cls(input_shape=shape, padding=padding, **kw)]
    return make


def pooling_cases() -> list[Case]:
    src = HLS4ML_TESTS + "test_pooling.py::"
    cfg = Hls4mlConfig(default_precision="ap_fixed<32,9>")
    cases = []
    for dims, params, shapes in ((1, POOL_PARAMS, ((124, 5), (20, 5))), (2, POOL_PARAMS_2D, ((124, 124, 5), (12, 12, 5)))):
        for kind, padding, strides in params:
            # test_pool1d's max pooling ignores its strides parameter (MaxPooling1D gets none)
            s = None if (dims == 1 and kind == "max") else strides
            for shape in shapes:
                small = shape[0] != 124
                tag = f"{kind}-{padding}-strides{strides}" + ("-small" if small else "")
                cases += expand(f"pooling.pool{dims}d[{tag}]", src + f"test_pool{dims}d",
                                chain(shape, pooling(dims, kind, padding, s, 3 if dims == 1 else None)), "sequential",
                                ("io_parallel",), uniform(*shape), 100 if small else 20, hls4ml=cfg, slow=not small)
        for kind in ("max", "avg"):
            for shape in shapes:
                small = shape[0] != 124
                cases += expand(f"pooling.pool{dims}d_stream[{kind}-valid" + ("-small]" if small else "]"),
                                src + f"test_pool{dims}d_stream",
                                chain(shape, pooling(dims, kind, "valid", None, 3 if dims == 1 else None)), "sequential",
                                ("io_stream",), uniform(*shape), 100 if small else 20, hls4ml=cfg, slow=not small)
    return cases


# ---- test_merge.py -------------------------------------------------------------------------------------------------

def merge_model(layer: str, shapes: tuple, swap: bool = False, axis=None, names=("inp1", "inp2")) -> Callable:
    def build(api: str):
        from tensorflow import keras

        a, b = (keras.Input(shape=s, name=n) for s, n in zip(shapes, names))
        cls = getattr(keras.layers, layer)
        merge = cls(axis=axis) if axis is not None and layer == "Concatenate" else (
            cls(axes=axis) if layer == "Dot" else cls())
        return keras.Model([a, b], merge([b, a] if swap else [a, b]))
    return build


def merge_cases() -> list[Case]:
    """Two-input models: functional only (no Sequential twin exists)."""
    src = HLS4ML_TESTS + "test_merge.py::"
    both = ("io_parallel", "io_stream")

    def fn(*args, **kw):
        return expand(*args, apis=("functional",), **kw)

    raw = {"Model": {"Precision": "fixed<32,16>", "ReuseFactor": 1}, "LayerName": {"inp2": {"Precision": "fixed<32,15>"}}}
    cases = []
    for layer in ("Add", "Average", "Maximum", "Minimum", "Multiply", "Subtract"):
        for swap in (True, False):
            cases += fn(f"merge[{layer}-swap{swap}]", src + "test_merge", merge_model(layer, ((10, 10, 3),) * 2, swap),
                        "functional", both, two(uniform(10, 10, 3), uniform(10, 10, 3)), 100,
                        hls4ml=Hls4mlConfig(raw=raw))
    cfg = Hls4mlConfig(granularity="model", default_precision="ap_fixed<32,16>")
    cases += fn("merge.dot[axes1]", src + "test_dot", merge_model("Dot", ((10,), (10,)), axis=1, names=("a", "b")),
                "functional", ("io_parallel",), two(uniform(10), uniform(10)), 100, hls4ml=cfg)
    cases += fn("merge.concatenate1d", src + "test_concatenate1d",
                merge_model("Concatenate", ((10,), (8,)), names=("a", "b")), "functional", both,
                two(uniform(10), uniform(8)), 100, hls4ml=cfg)
    for rank, base in ((2, ([10, 3], [10, 4])), (3, ([10, 10, 3], [10, 10, 4]))):
        for axis in range(1, rank + 1):
            s1, s2 = list(base[0]), list(base[1])
            s1.insert(axis - 1, s1.pop(rank - 1))
            s2.insert(axis - 1, s2.pop(rank - 1))
            cases += fn(f"merge.concatenate{rank}d[axis{axis}]", src + f"test_concatenate{rank}d",
                        merge_model("Concatenate", (tuple(s1), tuple(s2)), axis=axis, names=("a", "b")),
                        "functional", both, two(uniform(*s1), uniform(*s2)), 100, hls4ml=cfg)
    return cases


# ---- test_keras_api.py ---------------------------------------------------------------------------------------------

def dense_elu(shape):
    from tensorflow import keras

    return [keras.layers.Dense(2, input_shape=shape, name="Dense", use_bias=True,
                               kernel_initializer=keras.initializers.RandomUniform(minval=1, maxval=10),
                               bias_initializer="zeros"),
            keras.layers.Activation(activation="elu", name="Activation")]


def dense_activation(kind: str) -> Callable:
    def make(shape):
        from tensorflow import keras
        from tensorflow.keras import layers as kl

        act = {"relu": lambda: kl.Activation(activation="relu", name="relu"), "leaky_relu": lambda: kl.LeakyReLU(alpha=1.0),
               "elu": lambda: kl.ELU(alpha=1.0), "prelu": lambda: kl.PReLU(alpha_initializer="zeros"),
               "sigmoid": lambda: kl.Activation(activation="sigmoid", name="sigmoid")}[kind]()
        return [keras.layers.Dense(64, input_shape=shape, name="Dense", kernel_initializer="lecun_uniform"), act]
    return make


def conv1d(padding: str) -> Callable:
    def make(shape):
        from tensorflow.keras import layers as kl

        return [kl.Conv1D(filters=32, kernel_size=3, strides=1, padding=padding, activation="relu", input_shape=shape,
                          kernel_initializer="normal", use_bias=False, data_format="channels_last"),
                kl.Activation(activation="relu")]
    return make


def conv2d(padding: str) -> Callable:
    def make(shape):
        from tensorflow.keras import layers as kl

        return [kl.Conv2D(filters=32, kernel_size=(4, 4), strides=(4, 4), padding=padding, input_shape=shape,
                          kernel_initializer="normal", use_bias=False, data_format="channels_last")]
    return make


def depthwise(dims: int) -> Callable:
    def make(shape):
        from tensorflow.keras import layers as kl

        if dims == 1:
            return [kl.DepthwiseConv1D(kernel_size=3, input_shape=shape)]
        return [kl.DepthwiseConv2D(kernel_size=(3, 3), input_shape=shape)]
    return make


def keras_api_cases() -> list[Case]:
    src = HLS4ML_TESTS + "test_keras_api.py::"
    both = ("io_parallel", "io_stream")
    plain = Hls4mlConfig(granularity="model")
    cases = expand("keras_api.dense", src + "test_dense", chain((1,), dense_elu), "sequential", both, uniform(1), 100,
                   hls4ml=plain)
    for kind in ("relu", "leaky_relu", "elu", "prelu", "sigmoid"):
        cases += expand(f"keras_api.activations[{kind}]", src + "test_activations", chain((1,), dense_activation(kind)),
                        "sequential", both, uniform(1), 100, hls4ml=plain)
    for padding in ("same", "valid"):
        for strategy in ("Resource", "Latency"):
            cfg = replace(plain, strategy=strategy)
            opts = {"strategy": strategy.lower()}
            cases += expand(f"keras_api.conv1d[{padding}-{strategy.lower()}]", src + "test_conv1d",
                            chain((128, 4), conv1d(padding)), "sequential", both, uniform(128, 4), 10, hls4ml=cfg,
                            approxhls=opts, slow=strategy == "Resource")
            cases += expand(f"keras_api.conv2d[{padding}-{strategy.lower()}]", src + "test_conv2d",
                            chain((28, 28, 3), conv2d(padding)), "sequential", both, uniform(28, 28, 3), 100,
                            hls4ml=cfg, approxhls=opts, slow=strategy == "Resource")
    cases += expand("keras_api.depthwise2d", src + "test_depthwise2d", chain((32, 32, 3), depthwise(2)), "sequential",
                    ("io_stream",), uniform_grid10(32, 32, 3), 10,
                    hls4ml=Hls4mlConfig(default_precision="fixed<32,12>"),
                    approxhls={"default_precision": "fixed<32,12>"})  # the type the test gives hls4ml
    cases += expand("keras_api.depthwise1d", src + "test_depthwise1d", chain((32, 3), depthwise(1)), "sequential",
                    ("io_stream",), uniform_grid10(32, 3), 10)
    for dims, kind in ((1, "max"), (2, "max"), (1, "avg"), (2, "avg")):
        for padding in ("same", "valid"):
            shape = (18, 15, 3) if dims == 2 else (121, 3)
            cases += expand(f"keras_api.pooling[{kind}{dims}d-{padding}]", src + "test_pooling",
                            chain(shape, pooling(dims, kind, padding, None)), "sequential", ("io_parallel",),
                            uniform(*shape), 100, hls4ml=plain)
    return cases


# ---- issue 31: what the QKeras examples and users do that hls4ml's tests do not ---------------------------------------

def flatten_channels_first(shape):
    from qkeras import QDense
    from tensorflow.keras import layers as kl

    return [kl.Flatten(input_shape=shape, data_format="channels_first", name="flat"),
            QDense(4, kernel_quantizer=_q("quantized_bits(8, 0, alpha=1)"), bias_quantizer=_q("quantized_bits(8, 0, alpha=1)"),
                   name="fc")]


def issue31_cases() -> list[Case]:
    src = "issue 31: "
    return (expand("issue31.input_named_input", src + "QKeras' examples name their Input 'input'",
                   chain((16,), single_dense(4, 1), input_name="input"), "functional", ("io_parallel",), uniform(16),
                   100, apis=("functional",))
            + expand("issue31.flatten_channels_first", src + "Flatten(data_format='channels_first') (hls4ml ignores it)",
                     chain((2, 3, 4), flatten_channels_first), "sequential", ("io_parallel",), uniform_grid10(2, 3, 4),
                     100))


# ---- the suite -----------------------------------------------------------------------------------------------------

# The default run: every layer kind of the test files once (an API and io type each), small shapes; the rest is slow.
DEFAULT = {
    "qkeras.single_dense[bits4-alpha1]-seq-parallel", "qkeras.single_dense[bits4-alpha1]-fn-parallel",
    "qkeras.single_dense[bits4-alphaauto_po2]-fn-stream",
    "qkeras.quantizer_special[quantized_sigmoid(5)]-fn-parallel", "qkeras.quantizer_special[quantized_tanh(8)]-fn-stream",
    "qkeras.quantizer[quantized_relu(8, 4)]-seq-parallel", "qkeras.quantizer[quantized_bits(4, 2)]-fn-stream",
    "qkeras.btnn[3]-seq-parallel", "qkeras.btnn[5]-fn-stream",
    "qkeras.relu_negative_slope[quantized_relu(4, negative_slope=0.5)]-fn-parallel",
    "qkeras.qactivation_kwarg[quantized_bits(4, 0, alpha=1)-quantized_relu(4, 0)]-fn-parallel",
    "qkeras.quantizer_parsing-seq-parallel", "qkeras.qconv2dbn-fn-parallel",
    "qkeras.qdepthwiseconv2d[small 8x8x3]-fn-stream", "qkeras.quantised_po2_bit_width[latency]-seq-parallel",
    "qkeras.qlstm-seq-parallel", "qkeras.qseparableconv1d-fn-stream",
    "softmax[stable-in16,6-8x8x3-table18,8]-seq-stream", "softmax[stable-in16,6-8-table18,8]-fn-parallel",
    "softmax[argmax-in16,6-8-table18,8]-fn-stream", "softmax_skipped-fn-parallel",
    "pooling.pool1d[max-same-stridesNone-small]-seq-parallel", "pooling.pool2d_stream[avg-valid-small]-fn-stream",
    "merge[Add-swapFalse]-fn-parallel", "merge.concatenate1d-fn-stream",
    "keras_api.dense-seq-parallel", "keras_api.activations[sigmoid]-fn-parallel",
    "keras_api.activations[prelu]-fn-stream", "keras_api.conv1d[same-latency]-fn-stream",
    "keras_api.conv2d[valid-latency]-seq-parallel", "keras_api.depthwise2d-fn-stream",
    "keras_api.depthwise1d-seq-stream", "keras_api.pooling[avg2d-same]-fn-parallel",
    "issue31.input_named_input-fn-parallel", "issue31.flatten_channels_first-fn-parallel",
}

# What approxhls does not convert that hls4ml 1.3.0 does (issue 31), each with its reason: a strict xfail of the rules
# it breaks, so a fix shows as XPASS(strict) and its entry goes. Found by bench/conformance.py (the rules on every case).
WIDE_PO2_PRODUCTS = ("refused, naming the layer: power-of-two weights shifting the test's ap_fixed<64,32> input make "
                     "164-bit products, beyond the emulator's 64-bit integer arithmetic")
ELU_GRID = ("further from Keras than hls4ml: ELU's 1024-entry table is indexed by floor(|x| * 128); approxhls keeps the "
            "float Dense output before it exact, hls4ml rounds it to ap_fixed<16,6>, whose 2^-10 grid keeps the index "
            "error below 7/1024; approxhls' reaches 8/1024 (max |diff| 0.0077 vs 0.0066). A larger ELU table would be "
            "closer than both")

CHANNELS_FIRST = ("refused by design (issue 31, item 5): Keras flattens channels-first, hls4ml 1.3.0 flattens channels "
                  "last and would give the elements in another order; approxhls names the layer and says to use "
                  "channels_last")


def refused(layer: str, why: str) -> str:
    return f"refused, naming the layer: {layer} ({why}; hls4ml 1.3.0 converts it for Vivado/Vitis)"


KNOWN: dict[str, dict[str, str]] = {  # reason -> {case id: the rules it breaks ("all": nothing converts)}
    WIDE_PO2_PRODUCTS: {"qkeras.quantised_po2_bit_width[latency]-seq-parallel": "all"},
    ELU_GRID: {f"keras_api.activations[elu]-{api}-{io}": "never_worse" for api in ("seq", "fn")
               for io in ("parallel", "stream")},
    CHANNELS_FIRST: {f"issue31.flatten_channels_first-{api}-parallel": "all" for api in ("seq", "fn")},
}


def known_bugs() -> dict[str, dict[str, str]]:
    """case id -> {rule: reason} (a rule two bugs break names both)."""
    bugs: dict[str, dict[str, str]] = {}
    for reason, cases in KNOWN.items():
        for case_id, rules in cases.items():
            for rule in RULES if rules == "all" else rules.split():
                assert rule in RULES, (case_id, rule)
                have = bugs.setdefault(case_id, {}).get(rule)
                bugs[case_id][rule] = f"{have}; {reason}" if have else reason
    return bugs


def examples_missing(case: Case) -> str | None:
    """Why a case that needs hls4ml's example models cannot run here, or None."""
    root = os.environ.get(EXAMPLES_ENV)
    if not root:
        return (f"needs hls4ml's example models: set {EXAMPLES_ENV} to a directory holding "
                f"{', '.join(case.needs)} (github.com/fastmachinelearning/example-models, keras/)")
    absent = [n for n in case.needs if not (Path(root) / n).is_file()]
    return f"{EXAMPLES_ENV}={root} lacks {', '.join(absent)}" if absent else None


def all_cases() -> list[Case]:
    cases = qkeras_cases() + softmax_cases() + pooling_cases() + merge_cases() + keras_api_cases() + issue31_cases()
    bugs = known_bugs()
    return [replace(c, slow=c.id not in DEFAULT, bugs=bugs.get(c.id, {})) for c in cases]
