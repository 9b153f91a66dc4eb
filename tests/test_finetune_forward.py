"""The retraining model's approximate layers compute, on every element, what the emulator computes for the same
layer: the plan's products of the layer's quantized input and weight codes, summed with its bias."""

import numpy as np
import pytest

from conftest import on_grid_inputs, randomize_weights

# a low-rank table, a separable one, one with no exact decomposition (the table itself), one whose M(x, 0) != 0
MULTIPLIERS = ["tam_u8_k7", "drum_u8_k4", "mitchell_u8_w5", "etm_u8_m3"]


def _dense(functional: bool):
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    layers = [QDense(12, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(16, 6, alpha=1),
                     name="fc1"),
              QActivation(quantized_relu(8, 2), name="relu1"),
              QDense(5, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(16, 6, alpha=1),
                     name="fc2")]
    if not functional:
        return keras.Sequential([keras.Input((20,), name="x_in")] + layers, name="dense_seq")
    x = inp = keras.Input((20,), name="x_in")
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x, name="dense_fn")


def _conv(functional: bool):
    from qkeras import QActivation, QConv2D, quantized_bits, quantized_relu
    from tensorflow import keras

    q = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(16, 6, alpha=1))
    layers = [QConv2D(4, 3, padding="same", name="conv1", **q),
              QActivation(quantized_relu(8, 2), name="relu1"),
              QConv2D(3, 3, strides=2, padding="valid", name="conv2", **q),
              keras.layers.Flatten(name="flat"),
              ]
    if not functional:
        return keras.Sequential([keras.Input((7, 7, 2), name="x_in")] + layers, name="conv_seq")
    x = inp = keras.Input((7, 7, 2), name="x_in")
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x, name="conv_fn")


def _emulated_layers(g, x):
    """{node: (its input values, its output values)} of the emulator, float64."""
    from approxhls.sim.emulator import Emulator

    outs = {}
    Emulator(g.ir, g.assignments).predict(x, observe=lambda node, codes, t: outs.setdefault(
        node.name, np.asarray(codes, np.float64) * 2.0**-t.frac))
    return {n.name: (outs[g.ir.producer(n.inputs[0]).name], outs[n.name]) for n in g.ir.multiplying_nodes()}


@pytest.mark.parametrize("build,shape", [(_dense, (20,)), (_conv, (7, 7, 2))], ids=["dense", "conv2d"])
@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_approximate_layers_equal_the_emulator(build, shape, functional):
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.retrain.products import graph_products
    from approxhls.retrain.tflayers import approximate_model, check_weights

    model = randomize_weights(build(functional), seed=3, low=-1.0, high=1.0)
    x = on_grid_inputs(shape, 24, seed=1)
    names = [layer.name for layer in model.layers if layer.name.startswith(("fc", "conv"))]
    for first, second in (MULTIPLIERS[:2], MULTIPLIERS[2:]):
        plan = {"default": "exact", "layers": {names[0]: first, names[1]: second}}
        g = build_graph(model, ConvertOptions(input_precision="ap_ufixed<8,0>"), plan=plan)
        products = graph_products(g)
        assert sorted(products) == sorted(names)
        for p in products.values():
            assert np.array_equal(p.table(), g.assignments[p.node].table())  # the factors are the emulator's table
        check_weights(model, g.ir, products)
        twin = approximate_model(model, products)
        emulated = _emulated_layers(g, x)
        for name in names:
            layer_in, want = emulated[name]
            layer = twin.get_layer(name)
            got = layer.preactivation(layer_in.reshape((len(x),) + tuple(layer.input_shape[1:]))).numpy()
            assert got.dtype == np.float64
            assert np.array_equal(got.reshape(want.shape), want), (plan, name)
        exact_twin = model.get_layer(names[1])(emulated[names[1]][0].reshape((len(x),) + tuple(
            model.get_layer(names[1]).input_shape[1:]))).numpy()
        assert not np.array_equal(exact_twin.reshape(emulated[names[1]][1].shape), emulated[names[1]][1])
