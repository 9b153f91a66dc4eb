"""What users bring, through the command line: the three failures reported from public QKeras models (softmax
heads refused, an exactness claimed that did not hold, po2 MLPs refused with a message naming nothing), every
form a model comes in, refusals that name the layer, the softmax options and the layer-by-layer diff."""

import json

import numpy as np
import pytest
from tensorflow import keras

from approxhls.cli import main
from approxhls.errors import ModelError, UnsupportedLayerError
from approxhls.hls.convert import ConvertOptions, build_graph, check_layers
from approxhls.models.corpus import build
from approxhls.sim.project import load_project


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The three reported shapes saved as .h5 files."""
    d = tmp_path_factory.mktemp("models")
    for name in ("softmax_mlp", "float_act_cnn", "po2_mlp"):
        build(name, seed=3).save(d / f"{name}.h5")
    return d


def test_softmax_head_converts_and_csim_reports_class_agreement(saved, tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["convert", str(saved / "softmax_mlp.h5"), "--out", str(out), "--verify", "50"]) == 0
    text = capsys.readouterr().out
    assert "probs" in text and "softmax (stable)" in text and "NOT bit-exact" in text
    meta = load_project(out)
    assert meta["bit_exact"] is False and meta["verified"]["samples"] == 50
    row = next(r for r in meta["exactness"] if r["layer"] == "probs")
    assert row["exact"] is False and "1024-entry" in row["reason"]
    rep = tmp_path / "c.json"
    np.savez(tmp_path / "d.npz", x_train=np.zeros((4, 16)), y_train=np.zeros(4, int),
             x_test=np.random.default_rng(0).integers(0, 256, (60, 16)) / 256, y_test=np.zeros(60, int))
    assert main(["csim", str(out), "--dataset", str(tmp_path / "d.npz"), "--json", str(rep)]) == 0
    r = json.loads(rep.read_text())
    assert 0.5 <= r["class_agreement"] <= 1 and r["not_exact_layers"]["probs"] and r["bit_exact_claimed"] is False
    assert "class agreement with Keras" in capsys.readouterr().out


def test_float_activation_in_a_q_layer_is_exact_and_verified(saved, tmp_path, capsys):
    """Reported: QConv2D(activation='relu') + QActivation(quantized_relu(6,0)) claimed bit-exact but differed on
    every image (the relu hls4ml splits off got the default ap_fixed<16,6>)."""
    out = tmp_path / "p"
    assert main(["convert", str(saved / "float_act_cnn.h5"), "--out", str(out), "--verify", "200",
                 "--io-type", "io_stream"]) == 0
    meta = load_project(out)
    relu = next(r for r in meta["layers"] if r["name"] == "c1_relu")
    conv = next(r for r in meta["layers"] if r["name"] == "c1")
    assert relu["types"]["result_t"] == conv["types"]["result_t"]  # passes values through, as Keras does
    assert meta["bit_exact"] is True and meta["verified"]["mismatched_samples"] == 0
    assert "bit-exact with Keras" in capsys.readouterr().out


def test_po2_mlp_converts_and_says_why_it_is_not_exact(saved, tmp_path, capsys):
    """Reported: quantized_po2(4,1) weights, 2-bit alpha=None biases, string activations were refused with
    'weights w3 are not on the grid of int<4>'."""
    out = tmp_path / "p"
    assert main(["convert", str(saved / "po2_mlp.h5"), "--out", str(out), "--verify", "40"]) == 0
    meta = load_project(out)
    rows = {r["layer"]: r for r in meta["exactness"]}
    assert rows["r1"]["exact"] is True  # the string activation 'quantized_relu(3,1)'
    assert rows["fc1"]["exact"] is False and "power-of-two products truncated" in rows["fc1"]["reason"]
    fc1 = next(r for r in meta["layers"] if r["name"] == "fc1")
    assert fc1["types"]["accum_t"] != "fixed<16,6,TRN,WRAP,0>"  # not hls4ml's rounding default


def test_every_model_form_loads(tmp_path):
    m = build("softmax_mlp", seed=1)
    m.save(tmp_path / "m.h5")
    m.save(tmp_path / "saved")  # SavedModel
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "model.json").write_text(m.to_json())
    m.save_weights(tmp_path / "json" / "model_weights.h5")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "arch.json").write_text(m.to_json())
    m.save_weights(tmp_path / "w.h5")
    from approxhls.models.modelio import load_model

    x = np.random.default_rng(0).uniform(0, 1, (5, 16))
    y = m.predict(x, verbose=0)
    for path, weights in ((tmp_path / "m.h5", None), (tmp_path / "saved", None),
                          (tmp_path / "json" / "model.json", None), (tmp_path / "other" / "arch.json", tmp_path / "w.h5")):
        assert np.array_equal(load_model(path, weights).predict(x, verbose=0), y), path
    with pytest.raises(ModelError, match="pass --weights"):
        load_model(tmp_path / "other" / "arch.json")
    with pytest.raises(ModelError, match="--weights goes with an architecture in JSON"):
        load_model(tmp_path / "m.h5", tmp_path / "w.h5")
    assert main(["convert", str(tmp_path / "other" / "arch.json"), "--weights", str(tmp_path / "w.h5"),
                 "--out", str(tmp_path / "p"), "--verify", "0"]) == 0


def _model(layer, shape=(8,), name="x_in"):
    inp = keras.layers.Input(shape, name=name)
    return keras.Model(inp, layer(inp))


@pytest.mark.parametrize("make,needle", [
    (lambda: _model(keras.layers.GRU(3, name="my_gru"), (4, 2)), "my_gru.*GRU.*not evaluated"),
    (lambda: _model(keras.layers.Activation("swish", name="act_swish")), "act_swish.*'swish'.*use relu"),
    (lambda: _model(keras.layers.ReLU(max_value=6.0, name="relu6")), "relu6.*max_value.*quantized_relu"),
    (lambda: _model(keras.layers.UpSampling2D(2, interpolation="bilinear", name="up"), (4, 4, 1)),
     "up.*bilinear.*nearest"),
    (lambda: _model(keras.layers.Conv2D(2, 3, dilation_rate=2, name="dil"), (8, 8, 1)), "dil.*dilation"),
    (lambda: _model(keras.layers.Conv3D(2, 3, name="c3d"), (4, 4, 4, 1)), "c3d.*Conv3D"),
    (lambda: _model(keras.layers.Softmax(axis=1, name="sm1"), (3, 4)), "sm1.*axis 1"),
])
def test_refusals_name_the_layer(make, needle):
    with pytest.raises((UnsupportedLayerError, ModelError), match=needle):
        check_layers(make())


def test_refusal_names_the_quantizer_and_the_alternative():
    from qkeras import QActivation, quantized_relu_po2

    m = _model(QActivation(quantized_relu_po2(4), name="po2act"))
    with pytest.raises(UnsupportedLayerError) as e:
        check_layers(m)
    msg = str(e.value)
    assert "po2act" in msg and "QActivation" in msg and "quantized_relu_po2" in msg and "use quantized_relu" in msg


def test_merges_of_three_are_refused_by_name():
    inp = keras.layers.Input((4,), name="x_in")
    out = keras.layers.Add(name="add3")([inp, inp, inp])
    with pytest.raises(UnsupportedLayerError, match="add3.*3 inputs.*two-input"):
        check_layers(keras.Model(inp, out))


def test_softmax_strip_and_argmax(saved, tmp_path):
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.ir import IR

    m = keras.models.load_model(saved / "softmax_mlp.h5", custom_objects=__import__(
        "approxhls.models.modelio", fromlist=["x"]).custom_objects(), compile=False)
    strip = build_graph(m, ConvertOptions(softmax="strip"))
    assert [n.op for n in strip.ir.nodes][-1] == "dense" and strip.exact is True
    assert any("softmax stripped" in n for n in strip.deployment_notes)
    out = tmp_path / "argmax"
    assert main(["convert", str(saved / "softmax_mlp.h5"), "--out", str(out), "--softmax", "argmax",
                 "--verify", "30"]) == 0
    meta = load_project(out)
    assert any(r["op"] == "softmax" and "argmax" in r["reason"] for r in meta["exactness"])
    x = np.random.default_rng(1).integers(0, 256, (40, 16)) / 256
    y = CSimLibrary(out).predict(x)
    assert np.array_equal(Emulator(IR.load(out)).predict(x), y)
    assert np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1)  # one-hot
    assert np.array_equal(y.argmax(1), m.predict(x, verbose=0).argmax(1))
    with pytest.raises(ModelError, match="not a softmax"):
        build_graph(build("float_keras"), ConvertOptions(softmax="strip"))


def test_diff_locates_the_first_differing_layer(tmp_path, capsys):
    m = build("lut_activations", seed=2)
    m.save(tmp_path / "m.h5")
    assert main(["diff", str(tmp_path / "m.h5"), "--limit", "20", "--json", str(tmp_path / "d.json")]) == 0
    r = json.loads((tmp_path / "d.json").read_text())
    rows = {row["layer"]: row for row in r["layers"]}
    assert rows["fc1"]["keras_vs_csim"] == 0 and rows["th"]["keras_vs_csim"] > 0  # the tanh table differs first
    assert r["first_keras_difference"] == "th" and r["emulator_equals_csim"]
    s, i, kv, cv = rows["th"]["first"]
    assert kv != cv and 0 <= s < 20
    out = capsys.readouterr().out
    assert "first differ at th (lut" in out and "emulator == C-simulation" in out


def test_plans_refuse_layers_without_a_multiplier():
    """po2 weights shift and binary/ternary weights select: hls4ml has no multiplier there for a plan to replace."""
    from approxhls.hls.plan import PlanError

    g = build_graph(build("po2_mlp"), ConvertOptions())
    assert g.ir.plannable_nodes() == [] and len(g.ir.multiplying_nodes()) == 2
    with pytest.raises(PlanError, match="fc1.*power|fc1.*po2"):
        build_graph(build("po2_mlp"), ConvertOptions(), plan={"layers": {"fc1": "tam_u8_k6"}})
    bt = build_graph(build("binary_ternary"), ConvertOptions())
    products = {n.name: n.attrs.get("product", "mult") for n in bt.ir.multiplying_nodes()}
    assert products["fc1"] == "weight_binary" and products["fc2"] == "weight_ternary" and products["fc3"] == "mult"


def test_repairs_of_hls4ml_are_recorded(tmp_path):
    from approxhls.hls.convert import convert_model

    convert_model(build("quantized_activations"), tmp_path / "q", ConvertOptions())
    meta = load_project(tmp_path / "q")
    assert any("kept the quantization of qb" in r for r in meta["repairs"])
    assert "kept the quantization of qb" in (tmp_path / "q" / "convert.log").read_text()
    convert_model(build("float_act_cnn"), tmp_path / "f", ConvertOptions())
    assert any(r.startswith("c1_relu: float activation") for r in load_project(tmp_path / "f")["repairs"])
