"""Layers hls4ml 1.3.0 converts that approxhls evaluates too (issue 31, coverage): ELU (the layer and
Activation('elu')), PReLU and DepthwiseConv1D, in one small chain as a Sequential model and its functional twin,
under io_parallel and io_stream (C-simulation builds dominate the time: one model holds every layer). The emulator
equals the C-simulation on every element, and each layer's exactness claim is the honest one (ELU's table is not
exact against Keras; PReLU is exact only where its types prove it)."""

import numpy as np
import pytest
from tensorflow import keras

from approxhls.errors import UnsupportedLayerError
from approxhls.hls.convert import ConvertOptions, check_layers, convert_model
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


def test_prelu_with_alphas_on_its_grid_is_claimed_exact_and_verified(tmp_path):
    """A quantized input (ap_fixed<4,3>, hls4ml's param_t too) and alphas on that grid: every alpha * x fits the
    result type and float32, so the layer is exact, and the verification against Keras agrees."""
    from qkeras import QActivation

    def build():
        return [QActivation("quantized_bits(4,2,alpha=1)", name="q"), keras.layers.PReLU(name="prelu")]

    seq, fun = _twins(build, (6,))
    alphas = np.array([-4.0, -1.5, 0.0, 0.5, 1.0, 3.5])
    for m in (seq, fun):
        m.get_layer("prelu").set_weights([alphas])
    convert_model(fun, tmp_path / "p", ConvertOptions(input_precision="ap_fixed<8,3>"), verify=50)
    prj, _, y = _emulator_equals_csim(tmp_path / "p")
    assert (y < 0).any() and (y > 0).any()
    claims = {r["layer"]: r for r in prj.meta["exactness"]}
    assert claims["prelu"]["exact"] is True, claims["prelu"]
    assert prj.meta["bit_exact"] is True and prj.meta["verified"]["equal"], prj.meta["verified"]


def _prelu_ir(x_type: str, param_type: str, result_type: str, alphas):
    from approxhls.sim.ir import IR, Node

    inp = Node("x", "input", [], ["x"], [len(alphas)], {"result": x_type})
    node = Node("p", "prelu", ["x"], ["p"], [len(alphas)], {"result": result_type, "param": param_type},
                attrs={"on_grid": True}, weights={"param": np.asarray(alphas, dtype=np.int64)})
    return node, IR([inp, node], x_type, "p")


@pytest.mark.parametrize("x_type,param_type,result_type,alphas,exact", [
    ("ap_fixed<4,3>", "ap_fixed<4,3>", "ap_fixed<16,6>", [-8, 3, 0, 7], True),     # products 2 fractional bits
    ("ap_fixed<4,3>", "ap_fixed<4,3>", "ap_fixed<16,15>", [4, 2, 0, -6], True),    # even alphas: one bit fewer
    ("ap_fixed<4,3>", "ap_fixed<4,3>", "ap_fixed<16,15>", [-8, 3, 0, 7], False),   # ... else the result drops one
    ("ap_fixed<4,3>", "ap_fixed<4,3>", "ap_fixed<8,4>", [-8, 3, 0, 7], False),     # -4 * 3.5 = -14 overflows
    ("ap_fixed<20,6>", "ap_fixed<20,6>", "ap_fixed<48,12>", [12345, 1], None),     # float32 may round the product
    ("ap_fixed<8,3>", "ap_fixed<8,3>", "ap_fixed<6,3>", [1], False),               # the result drops x's bits
])
def test_prelu_exactness_is_claimed_only_where_the_types_prove_it(x_type, param_type, result_type, alphas, exact):
    node, ir = _prelu_ir(x_type, param_type, result_type, alphas)
    claim = node.operation.exactness(node, ir)
    assert claim.exact is exact, claim
    assert exact is True or claim.reason


def test_prelu_products_wider_than_int64_are_exact():
    """A 40-bit input times a 40-bit alpha: 80-bit products, cast as the C++ casts them (here with RND and SAT)."""
    from approxhls.fixedpoint import FixedType
    from approxhls.sim.ops.base import Context

    node, _ = _prelu_ir("ap_fixed<40,10>", "ap_fixed<40,10>", "ap_fixed<24,12,AP_RND,AP_SAT>",
                        [(1 << 39) - 1, -(1 << 39), 3 << 29, 1])
    x_t, res_t = FixedType.parse("ap_fixed<40,10>"), node.type()
    x = np.array([[-(1 << 39), -(1 << 38) - 12345, -7, 1 << 30]], dtype=np.int64)
    out = node.operation.evaluate(node, [(x, x_t)], Context(1, x, None))
    expected = []
    for xi, a in zip(x[0].tolist(), node.weights["param"].tolist()):
        if xi > 0:
            expected.append(int(res_t.requantize(np.array([xi]), x_t.frac)[0]))
            continue
        p = xi * a  # Python integers: exact; 2*30 fractional bits -> 12, round half up, saturate
        q = (p + (1 << 47)) >> 48
        expected.append(min(max(q, res_t.code_min), res_t.code_max))
    assert out.reshape(-1).tolist() == expected


def test_refused_options_name_the_layer_and_the_alternative():
    m = keras.Sequential([keras.Input((4, 2)), keras.layers.PReLU(shared_axes=[1], name="shared")])
    with pytest.raises(UnsupportedLayerError, match="'shared'.*shared_axes.*without shared_axes"):
        check_layers(m)
    m = keras.Sequential([keras.Input((6, 2)), keras.layers.DepthwiseConv1D(3, depth_multiplier=2, name="dw2")])
    with pytest.raises(UnsupportedLayerError, match="'dw2'.*depth_multiplier 2.*Conv1D"):
        check_layers(m)


def test_depthwise1d_resource_under_io_parallel_is_refused_before_anything_is_written(tmp_path):
    """hls4ml 1.3.0's io_parallel DepthwiseConv1D stops with an assertion under the Resource strategy."""
    m = keras.Sequential([keras.Input((6, 2)), keras.layers.DepthwiseConv1D(3, name="dw")])
    with pytest.raises(UnsupportedLayerError, match="'dw'.*Resource.*latency or io_stream"):
        convert_model(m, tmp_path / "p", ConvertOptions(strategy="resource", input_precision="ap_fixed<8,3>"))
    assert not (tmp_path / "p").exists()
