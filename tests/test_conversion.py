"""Conversion as hls4ml passes: Sequential and functional twins, names hls4ml reserves, refusals that name the layer,
per-layer verification, and an approximate multiplier whose products exceed the exact ones."""

import json

import numpy as np
import pytest
from tensorflow import keras

from approxhls.errors import ModelError, UnsupportedLayerError
from approxhls.hls.convert import ConvertOptions, build_graph, convert_model
from approxhls.project import Project

Q8 = "quantized_bits(8,0,alpha=1)"


def _twins(build):
    """The same layers as a Sequential model and as a functional one, with equal (seeded) weights."""
    seq = keras.Sequential(build(), name="seq")
    seq.build((None, 6))
    inp = keras.Input((6,), name="x_in")
    x = inp
    for layer in build():
        x = layer(x)
    fun = keras.Model(inp, x, name="fun")
    rng = np.random.default_rng(3)
    weights = [rng.uniform(-1, 1, w.shape) for w in seq.get_weights()]
    seq.set_weights(weights)
    fun.set_weights(weights)
    return seq, fun


def _dense_stack():
    from qkeras import QActivation, QDense

    return [QDense(5, kernel_quantizer=Q8, bias_quantizer=Q8, name="fc1"),
            QActivation("quantized_relu(8,2)", name="relu1"),
            QDense(3, kernel_quantizer=Q8, bias_quantizer=Q8, name="fc2")]


def test_sequential_and_functional_twins_convert_alike_and_exactly(tmp_path):
    """hls4ml's Sequential input layer is one it makes itself (fc1_input): the grid goes there, not onto fc1."""
    seq, fun = _twins(_dense_stack)
    types = {}
    for m in (seq, fun):
        convert_model(m, tmp_path / m.name, ConvertOptions(), verify=30)
        meta = Project.load(tmp_path / m.name).meta
        assert meta["bit_exact"] is True and meta["verified"]["equal"], meta["verified"]
        assert meta["verified"]["layers_checked"] >= 3
        assert meta["ports"][0]["precision"] == "ap_ufixed<8,0>"
        types[m.name] = {r["name"]: r["types"] for r in meta["layers"] if r["name"] in ("fc1", "fc2")}
    assert types["seq"] == types["fun"]


def test_a_one_layer_sequential_quantizer_converts_and_is_exact(tmp_path):
    from qkeras import QActivation, quantized_bits

    m = keras.Sequential([QActivation(quantized_bits(4, 0), input_shape=(5,), name="q")])
    convert_model(m, tmp_path / "p", ConvertOptions(input_precision="ap_fixed<8,1>"), verify=40)
    meta = Project.load(tmp_path / "p").meta
    assert meta["bit_exact"] is True and meta["verified"]["mismatched_elements"] == 0


def test_reserved_and_keyword_layer_names_are_renamed_inside_and_kept_in_reports(tmp_path):
    """QKeras examples name their input 'input' (hls4ml refuses it); 'default' is a C++ keyword."""
    from qkeras import QDense

    inp = keras.Input((6,), name="input")
    out = QDense(4, kernel_quantizer=Q8, bias_quantizer=Q8, name="default")(inp)
    m = keras.Model(inp, out)
    convert_model(m, tmp_path / "p", ConvertOptions(), verify=20, plan={"layers": {"default": "tam_u8_k7"}})
    meta = Project.load(tmp_path / "p").meta
    assert set(meta["user_names"].values()) == {"input", "default"}
    assert "default" in meta["plan"] and meta["plan"]["default"]["multiplier"] == "tam_u8_k7"
    assert {r["layer"] for r in meta["exactness"]} >= {"input", "default"}
    assert any(r["name"] == "default" for r in meta["layers"])
    assert meta["verified"]["first_layer_differing"] == "default"  # the approximate layer, by the user's name
    assert [layer.name for layer in m.layers] == ["input", "default"]  # the user's model is untouched


def test_non_finite_weights_are_refused_by_layer_and_weight(tmp_path):
    from qkeras import QDense

    inp = keras.Input((3,), name="x_in")
    m = keras.Model(inp, QDense(2, kernel_quantizer=Q8, bias_quantizer=Q8, name="fc")(inp))
    w = m.get_weights()
    w[0][1, 0] = np.nan
    m.set_weights(w)
    with pytest.raises(ModelError, match=r"layer 'fc': weight .*kernel.* 1 NaN or infinite value\(s\) \(first at "
                                         r"index \(1, 0\)"):
        build_graph(m, ConvertOptions())


def test_channels_first_flatten_is_refused_with_the_reason():
    inp = keras.Input((2, 3, 4), name="x_in")
    m = keras.Model(inp, keras.layers.Flatten(data_format="channels_first", name="flat")(inp))
    with pytest.raises(UnsupportedLayerError, match="flat.*channels_first.*another order"):
        build_graph(m, ConvertOptions())


@pytest.mark.parametrize("bias", ["quantized_po2(4)", None], ids=["po2-bias", "float-bias"])
def test_po2_kernels_take_any_bias_quantizer(tmp_path, bias):
    from qkeras import QActivation, QDense

    inp = keras.Input((6,), name="x_in")
    x = QDense(4, kernel_quantizer="quantized_po2(4)", bias_quantizer=bias, name="fc")(inp)
    m = keras.Model(inp, QActivation("quantized_bits(12,5,alpha=1)", name="q")(x))
    m.set_weights([np.random.default_rng(0).uniform(-1, 1, w.shape) for w in m.get_weights()])
    convert_model(m, tmp_path / "p", ConvertOptions(), verify=30)
    meta = Project.load(tmp_path / "p").meta
    v = meta["verified"]
    # exact where the types say so; otherwise the difference is explained by a layer said not to be exact
    assert meta["bit_exact"] is (v["equal"] and meta["bit_exact_derived"] is True)
    if not v["equal"]:
        assert next(r for r in meta["exactness"] if r["layer"] == v["first_layer_differing"])["exact"] is not True


def test_a_layer_derived_exact_that_differs_stops_the_conversion_naming_it(tmp_path, monkeypatch):
    """The verification walks the layers: a layer derived as exact whose output differs is approxhls' defect."""
    from approxhls.hls import convert as conv
    from approxhls.hls.verify import ExactnessDefect

    seq, _ = _twins(_dense_stack)
    real = conv.layer_exactness

    def claims_everything(ir, assignments):  # what the Sequential defect did: a wrong layer said exact
        return [r | {"exact": True, "reason": ""} for r in real(ir, assignments)]

    monkeypatch.setattr(conv, "layer_exactness", claims_everything)
    out = tmp_path / "p"
    with pytest.raises(ExactnessDefect, match=r"layer .fc1. was derived as equal to Keras \(as was every layer before it\) but differs .*sample \d+, "
                                              r"element \d+"):
        conv.convert(_saved(seq, tmp_path), out, ConvertOptions(), verify=20, plan={"layers": {"fc1": "tam_u8_k7"}})
    assert not out.exists()  # nothing written


def _saved(model, tmp_path):
    path = tmp_path / "model.h5"
    model.save(path)
    return path


def test_accumulator_holds_products_larger_than_exact_ones(tmp_path):
    """A multiplier 4x the exact product: hls4ml's inferred accumulator (exact products) would wrap; the planned
    layer's is wider by the two bits, so the C-simulation equals the sums of the table's products."""
    from qkeras import QDense

    from approxhls.multipliers.library import add_multiplier
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator

    src = tmp_path / "times4.c"
    src.write_text("#include <stdint.h>\nuint16_t times4(uint8_t a, uint8_t b) { return (uint16_t)(4 * a * b); }\n")
    add_multiplier(src, name="times4")
    inp = keras.Input((64,), name="x_in")
    x = QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=1)", bias_quantizer="quantized_bits(4,0,alpha=1)",
               name="fc")(inp)
    m = keras.Model(inp, x)
    w = np.full((64, 3), -0.875)  # code -7: every product as large as it gets
    w[:, 1] = 0.875
    m.set_weights([w, np.zeros(3)])
    convert_model(m, tmp_path / "p", ConvertOptions(input_precision="ap_ufixed<4,0>"), plan={"default": "times4"})
    prj = Project.load(tmp_path / "p")
    assert json.loads((tmp_path / "p" / "plan.json").read_text())["resolved"]["fc"]["extra_bits"] == 2
    x = np.full((3, 64), 15 / 16)
    x[1] = np.linspace(0, 15, 64).round() / 16
    y = CSimLibrary(tmp_path / "p").predict(x)
    codes = np.round(x * 16).astype(np.int64)
    expected = np.stack([(4 * codes * -7).sum(1), (4 * codes * 7).sum(1), (4 * codes * -7).sum(1)], 1) / 128
    assert np.array_equal(y, expected)
    assert np.array_equal(Emulator(prj.ir(), prj.assignments()).predict(x), y)


def test_models_with_two_inputs_and_two_outputs_convert_and_the_emulator_equals_the_csim(tmp_path):
    """hls4ml's test_merge models take two inputs; a sample is the inputs side by side, the outputs likewise."""
    from qkeras import QActivation, QDense

    from approxhls.hls.verify import verification_inputs
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator

    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    da = QDense(5, kernel_quantizer=Q8, bias_quantizer=Q8, name="da")(a)
    db = QDense(5, kernel_quantizer=Q8, bias_quantizer=Q8, name="db")(b)
    s = QActivation("quantized_bits(8,3,alpha=1)", name="qs")(keras.layers.Add(name="add")([da, db]))
    c = keras.layers.Concatenate(name="cat")([da, db])
    m = keras.Model([a, b], [s, QActivation("quantized_relu(8,3)", name="qc")(c)])
    m.set_weights([np.random.default_rng(1).uniform(-1, 1, w.shape) for w in m.get_weights()])
    convert_model(m, tmp_path / "p", ConvertOptions(), verify=30, plan={"layers": {"db": "tam_u8_k7"}})
    prj = Project.load(tmp_path / "p")
    assert prj.input_shapes == [[4], [3]] and prj.output_shapes == [[5], [10]]
    assert [p["direction"] for p in prj.meta["ports"]] == ["in", "in", "out", "out"]
    v = prj.meta["verified"]
    assert v["first_layer_differing"] == "db"  # the planned layer, and nothing before it
    x = verification_inputs(prj.meta, 50, seed=7)
    y = CSimLibrary(tmp_path / "p").predict(x)
    assert y.shape == (50, 15)
    assert np.array_equal(Emulator(prj.ir(), prj.assignments()).predict(x), y)
    with pytest.raises(Exception, match="one input and one output"):
        prj.require_single_io("approxhls csim")


def test_hls4ml_bit_exact_is_a_second_opinion_adopted_where_narrower_and_proven(tmp_path):
    """hls4ml's bit-exact mode converts a model with an input quantizer; its narrower accumulators are adopted
    after approxhls' own bound says they hold every sum, and the result stays exact."""
    from qkeras import QActivation, QDense

    from approxhls.hls.second_opinion import holds, value_range

    i = keras.Input((6,), name="x_in")
    x = QActivation(Q8, name="qin")(i)
    x = QDense(5, kernel_quantizer=Q8, bias_quantizer=Q8, name="fc1")(x)
    x = QActivation("quantized_relu(8,2)", name="r1")(x)
    x = QDense(3, kernel_quantizer=Q8, bias_quantizer=Q8, name="fc2")(x)
    m = keras.Model(i, QActivation("quantized_bits(10,4,alpha=1)", name="q2")(x))
    m.set_weights([np.random.default_rng(0).uniform(-1, 1, w.shape) for w in m.get_weights()])
    convert_model(m, tmp_path / "p", ConvertOptions(input_precision="ap_fixed<8,1>"), verify=60)
    meta = Project.load(tmp_path / "p").meta
    op = meta["second_opinion"]
    assert op["status"] == "converted"
    rows = {r["layer"]: r for r in op["layers"]}
    assert set(rows) == {"fc1", "fc2"} and all(r["adopted"] for r in rows.values()), rows
    assert meta["bit_exact"] is True  # narrower, and still every output equal to Keras
    fc1 = next(r for r in meta["layers"] if r["name"] == "fc1")["types"]["accum_t"]
    assert fc1 == rows["fc1"]["hls4ml_bit_exact"]
    # the check that adoption rests on
    from hls4ml.model.types import FixedPrecisionType

    t = FixedPrecisionType(8, 2, True)
    assert value_range(t) == (-2.0, 2.0 - 2 ** -6)
    assert holds(t, -2.0, 1.5, 6) and not holds(t, -2.0, 2.0, 6) and not holds(t, -1.0, 1.0, 7)


def test_the_second_opinion_says_why_hls4ml_could_not(tmp_path):
    seq, _ = _twins(_dense_stack)  # no quantizer right after the input: hls4ml's bit-exact mode refuses it
    convert_model(seq, tmp_path / "p", ConvertOptions())
    op = Project.load(tmp_path / "p").meta["second_opinion"]
    assert op["status"].startswith("hls4ml 1.3.0 bit_exact=True could not convert it") and op["layers"] == []


def test_verification_names_the_first_layer_where_the_emulator_differs_from_the_csimulation():
    from types import SimpleNamespace

    from approxhls.hls.verify import ExactnessDefect, _check_emulator

    def row(name, emulator, csim):
        return SimpleNamespace(node=SimpleNamespace(name=name), emulator=emulator, csim=csim)

    a = np.arange(6).reshape(2, 3)
    agree = [row("same", a, a.copy()), row("untraced", None, a), row("no_csim", a, None), row("reshaped", a, a.T)]
    _check_emulator(agree, {})
    with pytest.raises(ExactnessDefect, match="differs from the C-simulation at layer 'fc_user'"):
        _check_emulator([*agree, row("fc", a, a + 1), row("later", a, a - 1)], {"fc": "fc_user"})


def test_keras_sources_maps_nodes_to_layers_and_lets_folded_layers_take_their_parents_node():
    from types import SimpleNamespace

    from approxhls.hls.trace import keras_sources

    ir = SimpleNamespace(nodes=[SimpleNamespace(name=n) for n in ("input", "c1", "c1_relu", "bnbt_t1_scale", "fc")])
    graph = [("input", [], False), ("c1", ["input"], False), ("t1", ["c1"], False), ("drop", ["t1"], True),
             ("fc", ["drop"], False), ("q", ["fc"], True), ("join", ["fc", "c1"], True), ("lost", ["nowhere"], True)]
    assert keras_sources(ir, graph) == {"input": "input", "c1_relu": "c1", "bnbt_t1_scale": "drop", "fc": "q"}
    assert keras_sources(ir, [(n, i, False) for n, i, _ in graph]) == {
        "input": "input", "c1_relu": "c1", "bnbt_t1_scale": "t1", "fc": "fc"}
