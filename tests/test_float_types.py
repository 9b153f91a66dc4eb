"""Float (unquantized) Keras layers keep hls4ml's types: the exact pass-through of a float ReLU is for Q layers only.

Found on hls4ml's published example models (KERAS_conv1d_small, jetTagger_Conv2D_Small_NoBatchNorm): a float ReLU
that kept its input's exact type let every float layer add its input + weight + sum bits (78-119-bit types where
hls4ml alone has 36-40), and the emulator's int64 codes overflowed. A float layer rounds its weights anyway, so it is
not exact whatever follows; its activation gets hls4ml's default type, as hls4ml alone gives it."""

import numpy as np
import pytest
from qkeras import QActivation, QDense, quantized_bits
from tensorflow import keras

from approxhls.errors import ModelError
from approxhls.fixedpoint import FixedType
from approxhls.hls.convert import ConvertOptions, build_graph
from approxhls.sim.emulator import Emulator
from approxhls.sim.ir import IR, Node


def _float_chain(api: str):
    """Three float Dense + ReLU layers (the shape of hls4ml's KERAS_3layer), seeded."""
    keras.utils.set_random_seed(5)
    layers = [keras.layers.Dense(16, activation="relu", name="fc1"), keras.layers.Dense(16, activation="relu", name="fc2"),
              keras.layers.Dense(16, activation="relu", name="fc3"), keras.layers.Dense(4, name="out")]
    if api == "sequential":
        return keras.Sequential([keras.Input((8,), name="x"), *layers])
    x = inp = keras.Input((8,), name="x")
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x)


def _hls4ml_alone(model):
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis",
                                               default_precision="fixed<16,6>")
    h = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis", io_type="io_parallel")
    return {layer.name: str(layer.get_output_variable().type.precision) for layer in h.get_layers()}


@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_float_relu_keeps_hls4mls_type_and_widths_do_not_grow(api):
    model = _float_chain(api)
    g = build_graph(model, ConvertOptions())
    widths = {n.name: n.type().width for n in g.ir.nodes}
    alone = _hls4ml_alone(model)
    for name in ("fc1_relu", "fc2_relu", "fc3_relu"):
        assert FixedType.parse(alone[name]).width == 16  # hls4ml's default type for a float activation
        assert widths[name] == 16, (name, widths)
    assert max(widths.values()) <= 40, widths  # not 20 more bits per layer
    assert g.exact is False  # float weights round: never claimed exact
    assert not any("float activation" in r for r in g.repairs)


@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_q_layer_with_float_relu_still_passes_its_exact_type(api):
    keras.utils.set_random_seed(6)
    q = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    layers = [QDense(8, activation="relu", name="q1", **q), QActivation(quantized_bits(8, 3), name="qa"),
              QDense(4, name="q2", **q)]
    if api == "sequential":
        model = keras.Sequential([keras.Input((6,), name="x"), *layers])
    else:
        x = inp = keras.Input((6,), name="x")
        for layer in layers:
            x = layer(x)
        model = keras.Model(inp, x)
    g = build_graph(model, ConvertOptions())
    relu, dense = g.ir.node("q1_relu"), g.ir.node("q1")
    assert relu.types["result"] == dense.types["result"]  # Keras passes the QDense's exact sums through
    assert any(r.startswith("q1_relu: float activation") for r in g.repairs)


def test_emulator_names_the_layer_whose_values_overflow_its_codes(monkeypatch):
    """A type wider than 64 bits is fine while its values fit (hls4ml alone gives float layers 79-bit types); where
    they do not, the error names the layer instead of a bare OverflowError."""
    from approxhls.sim.ops.structure import Identity

    nodes = [Node("x", "input", [], ["x"], [4], {"result": "ap_fixed<16,6>"}),
             Node("wide", "identity", ["x"], ["wide"], [4], {"result": "ap_fixed<70,30>"})]
    ir = IR(nodes, "ap_fixed<16,6>", "wide")
    x = np.arange(-4, 4).reshape(2, 4) / 4
    assert np.array_equal(Emulator(ir).predict(x), x)  # 70 bits wide, values in range

    def overflow(self, node, ins, ctx):
        raise OverflowError("Python int too large to convert to C long")

    monkeypatch.setattr(Identity, "evaluate", overflow)
    with pytest.raises(ModelError, match=r"layer 'wide'.*64-bit integer codes.*70 bits.*Quantize"):
        Emulator(ir).predict(x)


def test_default_precision_is_hls4mls_and_a_user_may_give_another():
    model = _float_chain("functional")
    assert ConvertOptions().validate().default_precision == "ap_fixed<16,6>"
    g = build_graph(model, ConvertOptions(default_precision="fixed<24,8>"))
    widths = {n.name: n.type().width for n in g.ir.nodes}
    assert widths["fc1_relu"] == 24 and g.ir.node("fc1").types["weight"] == "ap_fixed<24,8>"
    opts = ConvertOptions(default_precision="fixed<24,8>").validate()
    assert opts.default_precision == "ap_fixed<24,8>"  # written one way: it reaches hls4ml's C++ as a type
    assert ConvertOptions.from_json(opts.to_json()) == opts


@pytest.mark.parametrize("bad", ["float", "ap_fixed<80,8>", "ap_fixed<8,1>; int x", "ap_fixed<0,0>"])
def test_a_default_precision_that_is_no_fixed_type_is_refused(bad):
    with pytest.raises(ModelError, match="default precision"):
        ConvertOptions(default_precision=bad).validate()
