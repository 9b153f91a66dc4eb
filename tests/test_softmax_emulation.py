"""The emulator's softmax equals hls4ml's C-simulation on every element where it did not (issue 31):

- io_stream normalizes each stream word (the last axis): hls4ml's test_softmax input of shape (8, 8, 3) gets one
  softmax per pixel over 3 channels, where hls4ml's layer attributes (n_outer = n_inner = 1) describe one softmax
  over all 192 values;
- a softmax reading a type of 64 bits or more (a float network: hls4ml's exact types grow layer by layer) indexes
  its tables by the top bits of that wide type.
"""

import numpy as np
import pytest

from approxhls.fixedpoint import FixedType
from approxhls.hls.convert import ConvertOptions, convert_model
from approxhls.sim.assignment import project_assignments
from approxhls.sim.csimlib import CSimLibrary
from approxhls.sim.emulator import Emulator
from approxhls.sim.ir import IR
from approxhls.sim.ops.softmax import top_bits

pytestmark = pytest.mark.xdist_group("softmax_emulation")


def _softmax_data(shape, n, seed=0):
    """hls4ml's test_softmax inputs: normal(0, 2) * 5 + 10, clipped to [-32, 31], on ap_fixed<16,6>'s grid."""
    rng = np.random.default_rng(seed)
    d = np.clip(rng.normal(0, 2, (n, *shape)) * 5 + 10, -32, 31)
    return np.floor(d * 2**10) / 2**10


def _emulator_vs_csim(prj, x):
    y_csim = CSimLibrary(prj).predict(x)
    y_emu = np.asarray(Emulator(IR.load(prj), project_assignments(prj)).predict(x)).reshape(y_csim.shape)
    return y_emu, y_csim


@pytest.fixture(scope="module")
def stream_softmax(tmp_path_factory):
    from tensorflow import keras

    inp = keras.Input((8, 8, 3), name="x_in")
    model = keras.Model(inp, keras.layers.Activation("softmax", name="softmax")(inp))
    prj = tmp_path_factory.mktemp("softmax") / "prj"
    convert_model(model, prj, ConvertOptions(io_type="io_stream", input_precision="ap_fixed<16,6>"))
    return prj


def test_stream_softmax_normalizes_each_pixel(stream_softmax):
    x = _softmax_data((8, 8, 3), 50)
    y_emu, y_csim = _emulator_vs_csim(stream_softmax, x)
    assert np.array_equal(y_emu, y_csim), f"{int((y_emu != y_csim).sum())} of {y_csim.size} elements differ"
    # per pixel the 3 channels' probabilities add up to about 1 (hls4ml's tables and its inverse's rounding: measured
    # 0.998 to 1.248 here), where one softmax over the image would give each pixel about 1/64
    sums = y_csim.reshape(50, 64, 3).sum(-1)
    assert np.all((sums > 0.5) & (sums < 1.5)), (sums.min(), sums.max())
    node = next(n for n in IR.load(stream_softmax).nodes if n.op == "softmax")
    assert (node.attrs["n_outer"], node.attrs["n_slice"], node.attrs["n_inner"]) == (64, 3, 1)


@pytest.fixture(scope="module")
def float_cnn(tmp_path_factory):
    """A float CNN whose batch-norm and two Dense layers grow hls4ml's exact types to 92 bits before the softmax."""
    from tensorflow import keras
    from tensorflow.keras import layers as kl

    keras.utils.set_random_seed(3)
    inp = keras.Input((8, 8, 1), name="x_in")
    h = kl.Activation("relu", name="r")(kl.Conv2D(4, 3, name="c1")(inp))
    h = kl.BatchNormalization(name="bn")(h)
    h = kl.Dense(16, name="d0")(kl.Flatten(name="f")(h))
    out = kl.Activation("softmax", name="softmax")(kl.Dense(10, name="d1")(h))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    model.get_layer("bn").set_weights([rng.uniform(0.5, 2, 4), rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 4),
                                       rng.uniform(0.5, 2, 4)])
    prj = tmp_path_factory.mktemp("float_cnn") / "prj"
    convert_model(model, prj, ConvertOptions())
    return prj


def test_softmax_of_a_wide_type_equals_csim(float_cnn):
    """Its table index is the top bits of a 91-bit inp_norm_t, which only differences above 2^33 reach: hls4ml gives
    every class the same probability here, and the emulator must give that too (it raised instead)."""
    node = next(n for n in IR.load(float_cnn).nodes if n.op == "softmax")
    assert IR.load(float_cnn).input_type_of(node).width >= 64  # the case this test is about
    rng = np.random.default_rng(1)
    x = np.floor(rng.uniform(0, 1, (40, 8, 8, 1)) * 256) / 256
    y_emu, y_csim = _emulator_vs_csim(float_cnn, x)
    assert np.array_equal(y_emu, y_csim), f"{int((y_emu != y_csim).sum())} of {y_csim.size} elements differ"


@pytest.mark.parametrize("width", [8, 18, 62, 63, 64, 65, 91, 120])
@pytest.mark.parametrize("signed", [True, False])
def test_top_bits_are_the_bit_patterns_top_bits(width, signed):
    """ap_fixed's x(W-1, W-N) for every width, against the pattern computed with Python's unbounded integers."""
    t = FixedType(width, width // 2, signed)
    rng = np.random.default_rng(width)
    lo, hi = max(t.code_min, -(2**62)), min(t.code_max, 2**62)
    codes = np.concatenate([rng.integers(lo, hi, 200, dtype=np.int64, endpoint=True), [lo, hi, 0, -1 if signed else 1]])
    for n_bits in (1, 7, min(10, width)):
        expected = [((int(c) % (1 << width)) >> (width - n_bits)) for c in codes]
        got = top_bits(codes, t, n_bits)
        assert np.issubdtype(got.dtype, np.integer)  # a table index (Python-int object arrays are not)
        assert got.tolist() == expected
