"""Under the resource strategy hls4ml stores Dense and convolution kernels outputs first (its ApplyResourceStrategy
pass) and its C++ reads them that way: the IR reads them back in Keras' order, so the emulator equals the
C-simulation on every element (a square QDense under --strategy resource differed on all of them before)."""

import numpy as np
import pytest

from approxhls.fixedpoint import FixedType
from approxhls.hls.convert import ConvertOptions, convert_model
from approxhls.sim.assignment import project_assignments
from approxhls.sim.csimlib import CSimLibrary
from approxhls.sim.emulator import Emulator
from approxhls.sim.ir import IR

pytestmark = pytest.mark.xdist_group("resource_layout")

Q8 = "quantized_bits(8, 0, alpha=1)"


def _model_2d():
    from qkeras import QConv2D, QDense
    from tensorflow import keras

    inp = keras.Input((4, 4, 2), name="x_in")
    h = QConv2D(3, 3, kernel_quantizer=Q8, bias_quantizer=Q8, name="conv")(inp)
    h = keras.layers.Flatten(name="flat")(h)  # 2 x 2 x 3
    h = QDense(12, kernel_quantizer=Q8, bias_quantizer=Q8, name="fc_square")(h)  # square: a transposed kernel fits
    return keras.Model(inp, QDense(3, kernel_quantizer=Q8, bias_quantizer=Q8, name="fc")(h))


def _model_1d():
    from qkeras import QConv1D, QDense
    from tensorflow import keras

    inp = keras.Input((7, 3), name="x_in")
    h = QConv1D(4, 3, kernel_quantizer=Q8, bias_quantizer=Q8, name="conv1d")(inp)
    h = keras.layers.Flatten(name="flat")(h)
    return keras.Model(inp, QDense(2, kernel_quantizer=Q8, bias_quantizer=Q8, name="fc")(h))


@pytest.mark.parametrize("make", [_model_2d, pytest.param(_model_1d, marks=pytest.mark.slow)])
def test_resource_kernels_are_read_in_keras_order(make, tmp_path):
    model = make()
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(-1, 1, w.shape) for w in model.get_weights()])
    t = FixedType.parse("ap_fixed<8,1>")
    convert_model(model, tmp_path / "prj", ConvertOptions(strategy="resource", input_precision=str(t)))
    shape = model.inputs[0].shape[1:]
    x = t.from_codes(rng.integers(t.code_min, t.code_max + 1, (60, *shape)))
    y_csim = CSimLibrary(tmp_path / "prj").predict(x)
    ir = IR.load(tmp_path / "prj")
    y_emu = np.asarray(Emulator(ir, project_assignments(tmp_path / "prj")).predict(x)).reshape(y_csim.shape)
    assert np.array_equal(y_emu, y_csim), f"{int((y_emu != y_csim).sum())} of {y_csim.size} elements differ"
    # the kernels keep Keras' shapes (inputs ..., outputs)
    for node in ir.nodes:
        if node.op in ("dense", "conv"):
            assert node.weights["weight"].shape[-1] == node.shape[-1], node.name


def test_depthwise2d_resource_under_io_parallel_is_refused_before_anything_is_written(tmp_path):
    """hls4ml 1.3.0's DepthwiseConv2D has no resource kernel under io_parallel: its C++ asserts, which ended the
    Python process loading the C-simulation."""
    from qkeras import QDepthwiseConv2D
    from tensorflow import keras

    from approxhls.errors import UnsupportedLayerError

    inp = keras.Input((6, 6, 2), name="x_in")
    model = keras.Model(inp, QDepthwiseConv2D(3, depthwise_quantizer=Q8, name="dw")(inp))
    with pytest.raises(UnsupportedLayerError, match="'dw' \\(DepthwiseConv2D\\).*Resource"):
        convert_model(model, tmp_path / "p", ConvertOptions(strategy="resource", input_precision="ap_fixed<8,1>"))
    assert not (tmp_path / "p").exists()
