"""Layers hls4ml 1.3.0 converts that approxhls evaluates too (issue 31, coverage): ELU (the layer and
Activation('elu')), PReLU and DepthwiseConv1D, in one small chain as a Sequential model and its functional twin,
under io_parallel and io_stream (C-simulation builds dominate the time: one model holds every layer). The emulator
equals the C-simulation on every element, and each layer's exactness claim is the honest one (ELU's table is not
exact against Keras; PReLU is exact only where its types prove it)."""

import numpy as np
import pytest
from tensorflow import keras

from approxhls.errors import UnsupportedLayerError
from approxhls.hls.convert import ConvertOptions, build_graph, check_layers, convert_model
from approxhls.project import Project

IO_TYPES = ("io_parallel", "io_stream")


def _twins(build, shape, seed=3, scale=1.0):
    """The same layers as a Sequential model and as a functional one, with equal (seeded) weights."""
    seq = keras.Sequential(build(), name="seq")
    seq.build((None, *shape))
    inp = keras.Input(shape, name="x_in")
    x = inp
    for layer in build():
        x = layer(x)
    fun = keras.Model(inp, x, name="fun")
    rng = np.random.default_rng(seed)
    weights = [scale * rng.uniform(-1, 1, w.shape) for w in seq.get_weights()]
    seq.set_weights(weights)
    fun.set_weights(weights)
    return seq, fun


def _emulator_equals_csim(path, n=64, seed=5):
    """The project's emulator and its C-simulation on n samples of the input grid: every element equal."""
    from approxhls.hls.verify import verification_inputs
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator

    prj = Project.load(path)
    x = verification_inputs(prj.meta, n, seed=seed)
    y = CSimLibrary(path).predict(x)
    emulated = Emulator(prj.ir(), prj.assignments()).predict(x)
    assert emulated.shape == y.shape
    assert np.array_equal(emulated, y), f"{int((emulated != y).sum())} of {y.size} elements differ"
    return prj, x, y


def _claim(meta, name):
    """The project's exactness record of one layer: exact (True, False or None) and the reason."""
    return next(r for r in meta["exactness"] if r["layer"] == name)


# ---- the chain ------------------------------------------------------------------------------------------------

def _chain():
    """(6, 2) -> DepthwiseConv1D (same padding) -> PReLU -> ELU(alpha=0.5) -> pointwise Conv1D -> Activation('elu').
    With weights and alphas of magnitude up to 3 on inputs in [-4, 4), both ELUs see values below -8 (the table's
    clamp), inside the table and positive ones."""
    return [keras.layers.DepthwiseConv1D(3, padding="same", name="dw"), keras.layers.PReLU(name="prelu"),
            keras.layers.ELU(alpha=0.5, name="elu"), keras.layers.Conv1D(2, 1, name="pw"),
            keras.layers.Activation("elu", name="act")]


def _keras_inputs_of(model, names, x):
    probe = keras.Model(model.inputs, [model.get_layer(n).input for n in names])
    return [np.asarray(v) for v in probe(x)]


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_elu_prelu_depthwise1d_convert_and_the_emulator_equals_the_csim(tmp_path, io_type):
    seq, fun = _twins(_chain, (6, 2), scale=3.0)
    opts = ConvertOptions(io_type=io_type, input_precision="ap_fixed<8,3>")
    for m in (seq, fun):
        convert_model(m, tmp_path / m.name, opts, verify=10)
        prj, x, _ = _emulator_equals_csim(tmp_path / m.name)
        for seen in _keras_inputs_of(m, ("elu", "act"), x):
            assert (seen < -8).any() and ((-8 < seen) & (seen < 0)).any() and (seen > 0).any(), \
                "the samples miss the clamp, the inside of the table or the positive side"
        claims = {r["layer"]: r for r in prj.meta["exactness"]}
        for name in ("elu", "act"):
            assert claims[name]["exact"] is False and "table" in claims[name]["reason"], claims[name]
        assert claims["prelu"]["exact"] is False and "float alpha" in claims["prelu"]["reason"]
        assert prj.meta["bit_exact"] is False
        ops = {n.name: n.op for n in prj.ir().nodes}
        assert (ops["dw"], ops["prelu"], ops["elu"], ops["act"]) == ("depthwise", "prelu", "elu", "elu")
