"""Models of every shape users bring (approxhls.models.corpus), under io_parallel and io_stream: the emulator and
the reference evaluator equal the C-simulation element for element, always; Keras equals it element for
element wherever the project derives exactness; a project never claims an exactness that does not hold."""

import numpy as np
import pytest

from approxhls.hls.convert import ConvertOptions, convert_model
from approxhls.hls.verify import verification_inputs
from approxhls.models.corpus import CORPUS, build
from approxhls.sim.csimlib import CSimLibrary
from approxhls.sim.emulator import Emulator
from approxhls.sim.ir import IR
from approxhls.sim.project import load_project
from approxhls.sim.reference import evaluate

# what the layer-by-layer derivation must conclude for each model (True: exact, False: not, None: unknown)
EXPECTED = {
    # depthwise, separable: a Dense/pointwise layer whose sums may exceed float32's 24 significant bits in Keras
    "softmax_mlp": False, "float_act_cnn": True, "po2_mlp": False, "conv1d": True, "depthwise": None,
    "separable": None, "lut_activations": False, "quantized_activations": None, "alpha_variants": True,
    "binary_ternary": None, "merges": True, "batchnorm": False, "float_keras": False, "keras_layers": False,
}
N = 160


# io_stream runs other C++ (line buffers, stream merges) for these; the rest stream in the slow run and in the
# conformance suite's stream cases
STREAM_DEFAULT = ("merges", "separable", "lut_activations", "softmax_mlp")


def _params():
    return [pytest.param(name, io, id=f"{name}-{io}",
                         marks=[pytest.mark.slow] if io == "io_stream" and name not in STREAM_DEFAULT else [])
            for name in sorted(CORPUS) for io in ("io_parallel", "io_stream")]


@pytest.mark.parametrize("name,io_type", _params())
def test_corpus_model(tmp_path, name, io_type):
    model = build(name, seed=sum(map(ord, name)))  # deterministic (hash() of a str is not)
    convert_model(model, tmp_path / "prj", ConvertOptions(io_type=io_type), verify=N)
    meta = load_project(tmp_path / "prj")
    assert meta["bit_exact_derived"] is EXPECTED[name], meta["exactness"]
    x = verification_inputs(meta, N)
    y_keras = model.predict(x, verbose=0).reshape(N, -1)
    y_csim = CSimLibrary(tmp_path / "prj").predict(x)
    ir = IR.load(tmp_path / "prj")
    y_emu = Emulator(ir).predict(x)
    assert np.array_equal(y_emu, y_csim), f"emulator != C-simulation at {np.argwhere(y_emu != y_csim)[:3]}"
    assert np.array_equal(evaluate(ir, x[:24]), y_csim[:24])
    equal = np.array_equal(y_keras, y_csim)
    if meta["bit_exact_derived"]:
        assert equal, f"derived exact but Keras differs by up to {np.abs(y_keras - y_csim).max()}"
    if meta["bit_exact"]:
        assert equal and meta["verified"]["equal"]
    # the claim follows the derivation and the verification, never the other way round
    if meta["bit_exact_derived"] is False:
        assert meta["bit_exact"] is False
        bad = [r for r in meta["exactness"] if r["exact"] is False]
        assert bad and all(r["reason"] for r in bad)
    assert meta["verified"]["equal"] == equal
    assert len(np.unique(y_csim.round(6), axis=0)) > 10  # the comparison is not trivial
