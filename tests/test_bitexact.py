"""C-simulation == QKeras, every output element, for each zoo model x io type x bit-exact scheme.

Weights are drawn uniformly over the quantizers' whole range, so accumulators are wide and the
quantized ReLUs saturate often; inputs are random points of the input grid plus its corners.
"""

import zlib

import numpy as np
import pytest
from conftest import on_grid_inputs, randomize_weights

from approxhls.hls.convert import ConvertOptions, convert_model
from approxhls.hls.verify import compare_outputs
from approxhls.models.zoo import build_model
from approxhls.sim.csimlib import CSimLibrary

def _case(model, io, scheme, fuse_bn):
    # resnet8-scale builds take minutes: the slow run has them; cnn (conv, pooling, batch-norm) is their small twin
    # in the default run and the conformance suite covers Add merges there
    marks = [pytest.mark.slow] if model == "resnet8" else []
    return pytest.param(model, io, scheme, fuse_bn, marks=marks, id=f"{model}-{io}-{scheme}-{fuse_bn}")


CASES = [
    _case(model, io, scheme, False)
    for model in ("mlp", "cnn", "resnet8")
    for io in ("io_parallel", "io_stream")
    for scheme in ("fixed-w8a8", "po2-w8a8")
] + [
    _case("cnn", "io_parallel", "fixed-w8a8", True),
    _case("resnet8", "io_stream", "po2-w8a8", True),
    _case("cnn", "io_stream", "po2-w4a4", False),
]


@pytest.mark.parametrize("model_name,io_type,scheme,fuse_bn", CASES)
def test_csim_equals_qkeras(tmp_path, digits, model_name, io_type, scheme, fuse_bn):
    model = build_model(model_name, (8, 8, 1), 10, scheme, fuse_bn=fuse_bn, width=0.5)
    randomize_weights(model, seed=zlib.crc32(f"{model_name}/{io_type}/{scheme}".encode()) % 1000)  # hash() of str varies per process
    convert_model(model, tmp_path / "prj", ConvertOptions(io_type=io_type))
    lib = CSimLibrary(tmp_path / "prj")

    x = np.concatenate([on_grid_inputs(model.input_shape[1:], 200, seed=1),
                        digits.for_input(digits.x_test[:100], model.input_shape[1:])])
    y_keras = model.predict(x, batch_size=256, verbose=0)
    y_csim = lib.predict(x).reshape(y_keras.shape)
    cmp = compare_outputs(y_keras, y_csim)
    assert cmp["mismatched_elements"] == 0, (
        f"{cmp['mismatches']} samples differ (first: sample {cmp['first_mismatch']}, "
        f"max |diff| {cmp['max_abs_diff']})"
    )
    # the comparison is meaningful: outputs vary across samples and are not all zero
    assert np.unique(y_csim.round(6), axis=0).shape[0] > 10
