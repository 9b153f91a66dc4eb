"""LSTM and QLSTM (hls4ml's LSTM layer) convert, and the emulator equals hls4ml's C-simulation on every element:
Sequential and functional models, return_sequences False and True, io_parallel and io_stream. The layer is never
said exact (its gates come from hls4ml's sigmoid/tanh tables), a multiplier plan cannot name it, and what hls4ml
computes differently from Keras (go_backwards, other activations, ...) is refused with the layer's name.
"""

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from approxhls.errors import UnsupportedLayerError
from approxhls.fixedpoint import FixedType
from approxhls.hls.convert import ConvertOptions, check_layers, convert_model
from approxhls.hls.plan import PlanError, check_plan, resolve_plan
from approxhls.sim.assignment import project_assignments
from approxhls.sim.csimlib import CSimLibrary
from approxhls.sim.emulator import Emulator
from approxhls.sim.ir import IR
from approxhls.sim.ops.recurrent import sum_of_products
from approxhls.sim.reference import evaluate

pytestmark = pytest.mark.xdist_group("recurrent")

Q8 = "quantized_bits(8, 0, alpha=1)"


def _qlstm(units, return_sequences, name="lstm"):
    from qkeras import QLSTM

    # hls4ml's test_qlstm: 8-bit kernel, recurrent kernel, bias and state (the state quantizer types the gates' sums)
    return QLSTM(units, kernel_quantizer=Q8, recurrent_quantizer=Q8, bias_quantizer=Q8, state_quantizer=Q8,
                 activation="tanh", recurrent_activation="sigmoid", return_sequences=return_sequences, name=name)


def _seeded(model, seed, high=1.0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-high, high, w.shape) for w in model.get_weights()])
    return model


def _inputs(shape, t: FixedType, n=150, seed=1):
    """Random codes of the input type, with the all-minimum, all-maximum and all-zero corners."""
    codes = np.random.default_rng(seed).integers(t.code_min, t.code_max + 1, (n, *shape))
    codes[0], codes[1], codes[2] = t.code_min, t.code_max, 0
    return t.from_codes(codes)


def _project(tmp_path_factory, model, name, verify=0, **options):
    prj = tmp_path_factory.mktemp(name) / "prj"
    convert_model(model, prj, ConvertOptions(**options), verify=verify)
    return prj


@pytest.fixture(scope="module")
def qlstm_functional(tmp_path_factory):
    """Functional QLSTM, last output only, io_parallel, verified on samples (every layer traced)."""
    from tensorflow import keras

    inp = keras.Input((5, 2), name="x_in")
    model = _seeded(keras.Model(inp, _qlstm(4, False)(inp)), seed=0)
    return _project(tmp_path_factory, model, "qlstm_fn", verify=20, input_precision="ap_fixed<8,1>")


@pytest.fixture(scope="module")
def lstm_sequential(tmp_path_factory):
    """Sequential float Keras LSTM, every step's output, inputs up to +-4 so gates leave the tables' ranges."""
    from tensorflow import keras

    model = keras.Sequential([keras.Input((6, 3), name="x_in"),
                              keras.layers.LSTM(3, return_sequences=True, name="lstm")])
    _seeded(model, seed=2, high=1.5)
    return _project(tmp_path_factory, model, "lstm_seq", input_precision="ap_fixed<8,3>")


@pytest.fixture(scope="module")
def qlstm_stream(tmp_path_factory):
    """Sequential QLSTM, every step's output, io_stream."""
    from tensorflow import keras

    model = _seeded(keras.Sequential([keras.Input((5, 2), name="x_in"), _qlstm(4, True)]), seed=3)
    return _project(tmp_path_factory, model, "qlstm_stream", io_type="io_stream", input_precision="ap_fixed<8,1>")


@pytest.fixture(scope="module")
def stacked_resource(tmp_path_factory):
    """Functional LSTM (sequences) -> QLSTM under the resource strategy (hls4ml stores the kernels transposed)."""
    from tensorflow import keras

    inp = keras.Input((4, 3), name="x_in")
    h = keras.layers.LSTM(5, return_sequences=True, name="lstm_a")(inp)
    model = _seeded(keras.Model(inp, _qlstm(3, False, name="lstm_b")(h)), seed=4)
    return _project(tmp_path_factory, model, "stacked", input_precision="ap_fixed<8,1>", strategy="resource")


def _meta(prj):
    return json.loads((prj / "approxhls.json").read_text())


def _check_emulator_equals_csim(prj):
    meta = _meta(prj)
    x = _inputs(meta["input_shape"], FixedType.parse(meta["input_precision"]))
    y_csim = CSimLibrary(prj).predict(x)
    ir = IR.load(prj)
    y_emu = np.asarray(Emulator(ir, project_assignments(prj)).predict(x)).reshape(y_csim.shape)
    y_ref = np.asarray(evaluate(ir, x)).reshape(y_csim.shape)
    assert y_csim.shape == (len(x), int(np.prod(meta["output_shape"])))
    assert np.array_equal(y_emu, y_csim), f"{int((y_emu != y_csim).sum())} of {y_csim.size} elements differ"
    assert np.array_equal(y_ref, y_csim), f"{int((y_ref != y_csim).sum())} of {y_csim.size} elements differ"
    assert len(np.unique(y_csim)) > y_csim.shape[1]  # not a constant output
    return meta


@pytest.mark.parametrize("fixture", ["qlstm_functional", "lstm_sequential", "qlstm_stream",
                                     pytest.param("stacked_resource", marks=pytest.mark.slow)])
def test_emulator_equals_csim(fixture, request):
    meta = _check_emulator_equals_csim(request.getfixturevalue(fixture))
    for row in meta["exactness"]:
        if row["op"] == "lstm":  # never claimed exact: the gates come from tables
            assert row["exact"] is False and "tables" in row["reason"], row
    assert meta["bit_exact"] is False


def test_lstm_types_and_claims(qlstm_functional):
    ir = IR.load(qlstm_functional)
    node = ir.node("lstm")
    assert node.op == "lstm" and node.shape == [4] and not node.multiplies
    # the state quantizer sets the accumulator; the tables are hls4ml's default (1024 entries of ap_fixed<18,8>)
    assert node.types["accum"] == "ap_fixed<8,1>" and node.types["table"] == "ap_fixed<18,8>"
    assert node.weights["weight"].shape == (2, 16) and node.weights["recurrent_weight"].shape == (4, 16)
    assert node.weights["recurrent_table"].size == node.weights["table"].size == 1024
    meta = _meta(qlstm_functional)
    verified = meta["verified"]
    # the verification traced the LSTM (the emulator equals the C-simulation there too) and found it differs
    assert verified["layers_checked"] >= 1 and not verified["equal"]
    assert verified["first_layer_differing"] == "lstm"


def test_sequences_have_one_output_per_step(lstm_sequential):
    node = IR.load(lstm_sequential).node("lstm")
    assert node.shape == [6, 3] and node.attrs["return_sequences"]
    assert node.types["accum"] == node.types["result"] == "ap_fixed<16,6>"


def test_a_plan_cannot_name_a_recurrent_layer(qlstm_functional):
    ir = IR.load(qlstm_functional)
    with pytest.raises(PlanError, match="layer 'lstm'.*recurrent layer keeps hls4ml's exact products"):
        check_plan({"layers": {"lstm": "tam_u8_k7"}}, ir)
    assert resolve_plan({"default": "tam_u8_k7"}, ir) == {}  # an approximate default leaves it exact


def _model(layer, shape=(5, 2)):
    from tensorflow import keras

    inp = keras.Input(shape, name="x_in")
    return keras.Model(inp, layer(inp))


@pytest.mark.parametrize("make,needle", [
    (lambda k: k.layers.LSTM(3, go_backwards=True, name="back"), "back.*go_backwards=True.*forwards"),
    (lambda k: k.layers.LSTM(3, activation="relu", name="lrelu"), "lrelu.*activation 'relu'.*sigmoid and tanh"),
    (lambda k: k.layers.LSTM(3, recurrent_activation="hard_sigmoid", name="hs"), "hs.*recurrent_activation"),
    (lambda k: k.layers.LSTM(3, use_bias=False, name="nob"), "nob.*use_bias=False"),
    (lambda k: k.layers.LSTM(3, return_state=True, name="st"), "st.*return_state=True"),
    (lambda k: k.layers.GRU(3, name="my_gru"), "my_gru.*GRU.*not evaluated"),
])
def test_what_hls4ml_computes_otherwise_is_refused(make, needle):
    from tensorflow import keras

    layer = make(keras)
    model = _model(lambda x: layer(x)[0] if layer.get_config().get("return_state") else layer(x))
    with pytest.raises(UnsupportedLayerError, match=needle):
        check_layers(model)


def test_qkeras_default_activations_are_refused():
    from qkeras import QLSTM

    with pytest.raises(UnsupportedLayerError, match="'ql'.*QLSTM.*quantized_tanh"):
        check_layers(_model(QLSTM(3, kernel_quantizer=Q8, name="ql")))


def _to_type(v: Fraction, t: FixedType) -> int:
    """An exact value assigned to ``t`` (truncation or round-half-up, then wrap or saturation), by definition."""
    scaled = v * 2**t.frac
    code = math.floor(scaled + Fraction(1, 2)) if t.rounding == "RND" else math.floor(scaled)
    if t.overflow == "SAT":
        return min(max(code, t.code_min), t.code_max)
    return (code - t.code_min) % (1 << t.width) + t.code_min


@pytest.mark.parametrize("a_t,b_t,c_t,d_t,dst", [
    ("ap_fixed<8,1>", "ap_fixed<8,1>", "ap_fixed<16,6>", "ap_fixed<8,1>", "ap_fixed<16,6>"),
    ("ap_fixed<40,10>", "ap_fixed<30,2>", "ap_fixed<33,5>", "ap_fixed<40,10>", "ap_fixed<24,8,AP_RND,AP_SAT>"),
])
def test_sum_of_products_is_exact_until_the_cast(a_t, b_t, c_t, d_t, dst):
    """g * i + c * f of the cell update, in int64 or (wide types) Python integers, against exact rationals."""
    types = [FixedType.parse(t) for t in (a_t, b_t, c_t, d_t)]
    rng = np.random.default_rng(0)
    codes = [rng.integers(t.code_min, t.code_max + 1, 64) for t in types]
    for c, t in zip(codes, types):
        c[0] = t.code_min  # the largest products
    dst_t = FixedType.parse(dst)
    got = sum_of_products([(codes[0], types[0], codes[1], types[1]), (codes[2], types[2], codes[3], types[3])], dst_t)
    for k in range(64):
        exact = sum(Fraction(int(codes[i][k]) * int(codes[i + 1][k]), 2 ** (types[i].frac + types[i + 1].frac))
                    for i in (0, 2))
        assert int(got[k]) == _to_type(exact, dst_t), k
