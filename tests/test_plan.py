"""Approximate multipliers inside the hls4ml kernels: plans, generated code, C-simulation == reference."""

import json
import re
import subprocess

import numpy as np
import pytest
from conftest import on_grid_inputs, randomize_weights
from tensorflow import keras

from approxhls.hls.convert import ConvertOptions, convert_model
from approxhls.hls.plan import EXACT, Plan, PlanError, load_plan
from approxhls.models.zoo import build_model
from approxhls.sim.assignment import project_assignments
from approxhls.sim.csimlib import CSimLibrary
from approxhls.sim.emulator import Emulator
from approxhls.sim.ir import IR
from approxhls.sim.reference import evaluate

USER_C = """#include <stdint.h>
/* EvoApprox-style: exact product with the low byte's lowest 3 bits forced to 1 */
uint16_t mul8u_or7(uint8_t a, uint8_t b) { uint16_t p = (uint16_t)(a * b); return (uint16_t)(p | 7u); }
"""

# resnet8's logits layer reads the 12-bit average-pooling output: no 8-bit multiplier fits there
RESNET_LAYERS = ["stem", "s1_conv1", "s1_conv2", "s2_conv1", "s2_conv2", "s2_skip", "s3_conv1", "s3_conv2",
                 "s3_skip"]
EVERY_FAMILY = ["tam_u8_k7", "bam_u8_h2_v8", "ppp_u8_j0_m2", "lsbt_u8_ka2_kb2", "drum_u8_k4", "mitchell_u8_w5",
                "roba_u8_modeboth", "kulkarni_u8_s16", "etm_u8_m3", "mul8u_or7"]

# resnet8 (minutes per C-simulation build) runs in the slow run; the cnn and mlp cases carry every family too
SLOW = pytest.mark.slow
CASES = [
    pytest.param("resnet8", "io_parallel", "fixed-w8a8", dict(zip(RESNET_LAYERS, EVERY_FAMILY[:9])), marks=SLOW),
    pytest.param("resnet8", "io_stream", "po2-w8a8", dict(zip(RESNET_LAYERS, EVERY_FAMILY[1:][::-1])), marks=SLOW),
    ("cnn", "io_parallel", "po2-w8a8", {"conv1": "drum_u8_k3", "conv2": "mul8u_or7", "logits": "roba_u8_modex"}),
    ("cnn", "io_stream", "fixed-w8a8", {"conv1": "etm_u8_m4", "conv2": "kulkarni_u8_s8", "logits": "tam_u8_k9"}),
    ("mlp", "io_parallel", "fixed-w8a8", {"fc1": "mitchell_u8_w3", "fc2": "ppp_u8_j1_m2", "logits": "mul8u_or7"}),
    ("mlp", "io_stream", "po2-w8a8", {"fc1": "bam_u8_h3_v8", "fc2": "lsbt_u8_ka3_kb3", "logits": "tab_user"}),
    # natively signed designs need activations that fit a signed 8-bit code: 4-bit activations do
    ("cnn", "io_stream", "fixed-w4a4", {"conv1": "exact", "conv2": "tam_s8_k5", "logits": "lsbt_s8_ka1_kb1"}),
]


@pytest.fixture
def user_multiplier(tmp_path):
    """A user C model (mul8u_or7) and a user table (tab_user: exact with 1 subtracted from odd products)."""
    from approxhls.multipliers.library import add_multiplier

    src = tmp_path / "mul8u_or7.c"
    src.write_text(USER_C)
    t = np.arange(256)[:, None] * np.arange(256)[None, :]
    np.save(tmp_path / "tab.npy", np.where(t % 2 == 1, t - 1, t))
    add_multiplier(tmp_path / "tab.npy", "tab_user")
    return add_multiplier(src, "mul8u_or7")


@pytest.mark.parametrize("model_name,io_type,scheme,layers", CASES, ids=lambda v: str(v)[:40])
def test_csim_equals_reference_for_planned_models(tmp_path, digits, user_multiplier, model_name, io_type, scheme,
                                                  layers):
    model = build_model(model_name, (8, 8, 1), 10, scheme, width=0.5)
    randomize_weights(model, seed=7)
    prj = tmp_path / "prj"
    convert_model(model, prj, ConvertOptions(io_type=io_type), plan={"layers": layers})
    assignments = project_assignments(prj)
    assert {k: a.multiplier for k, a in assignments.items() if k in layers} == layers
    x = np.concatenate([on_grid_inputs(model.input_shape[1:], 120, seed=3),
                        digits.for_input(digits.x_test[:60], model.input_shape[1:])])
    y_csim = CSimLibrary(prj).predict(x)
    y_ref = evaluate(IR.load(prj), x, assignments)
    diff = np.argwhere(y_csim != y_ref)
    assert len(diff) == 0, f"reference: {len(diff)} elements differ, first at sample {diff[0][0]}"
    # the fast emulator too (issue: bit-exact emulation), every element
    emulator = Emulator(IR.load(prj), assignments)
    y_emu = emulator.predict(x, batch=50)
    diff = np.argwhere(y_csim != y_emu)
    assert len(diff) == 0, f"emulator: {len(diff)} elements differ, first at sample {diff[0][0]}; {emulator.describe()}"
    # and the plan really changed the network: Keras (exact products) disagrees
    y_keras = model.predict(x, verbose=0).reshape(len(x), -1)
    assert (y_keras != y_csim).any()


def test_exact_plan_equals_qkeras_and_generates_plain_hls4ml_code(tmp_path, digits):
    model = build_model("cnn", (8, 8, 1), 10, "po2-w8a8", width=0.5)
    randomize_weights(model, seed=2)
    convert_model(model, tmp_path / "plain", ConvertOptions())
    convert_model(model, tmp_path / "exact", ConvertOptions(), plan={"default": "exact"})
    convert_model(model, tmp_path / "partial", ConvertOptions(), plan={"layers": {"conv2": "tam_u8_k8"}})
    plain = (tmp_path / "plain/firmware/parameters.h").read_text()
    assert (tmp_path / "exact/firmware/parameters.h").read_text() == plain
    partial = (tmp_path / "partial/firmware/parameters.h").read_text()
    assert partial.count("nnet::product::approxhls_") == 1  # conv1 and logits keep hls4ml's own product
    assert "using product = nnet::product::approxhls_conv2<x_T, y_T>;" in partial
    assert partial.count("nnet::product::mult<x_T, y_T>") == plain.count("nnet::product::mult<x_T, y_T>") - 1
    x = digits.for_input(digits.x_test[:100], model.input_shape[1:])
    y = CSimLibrary(tmp_path / "exact").predict(x)
    assert np.array_equal(y, model.predict(x, verbose=0).reshape(len(x), -1))


def _one_weight_model(weight_code: int):
    from qkeras import QDense, quantized_bits

    inp = keras.layers.Input((1,), name="x_in")
    out = QDense(1, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1),
                 name="d")(inp)
    m = keras.Model(inp, out)
    m.get_layer("d").set_weights([np.array([[weight_code / 128.0]]), np.zeros(1)])
    return m


def test_outputs_change_exactly_where_the_table_says(tmp_path):
    from approxhls.multipliers.library import add_multiplier

    table = np.arange(256)[:, None] * np.arange(256)[None, :]
    table[3, 5] += 1000  # one wrong product: activation code 3 times weight code 5
    np.save(tmp_path / "t.npy", table)
    add_multiplier(tmp_path / "t.npy", "one_off")
    model = _one_weight_model(5)
    convert_model(model, tmp_path / "p", ConvertOptions(), plan={"default": "one_off"})
    x = np.arange(256, dtype=np.float64)[:, None] / 256  # every input code once
    y = CSimLibrary(tmp_path / "p").predict(x)[:, 0]
    exact = np.arange(256) * 5 / 2**15
    expected = exact.copy()
    expected[3] += 1000 / 2**15
    assert np.array_equal(y, expected)
    assert np.flatnonzero(y != exact).tolist() == [3]


def test_plan_reaches_the_halves_hls4ml_splits_a_separable_convolution_into(tmp_path):
    """hls4ml converts SeparableConv1D/2D into a depthwise and a pointwise layer of its own, which have no entry in
    the configuration the plan writes to (was a KeyError at convert). Planned, the depthwise halves multiply
    approximately, and the C-simulation equals the emulator and the reference on every element."""
    from approxhls.models.corpus import build

    model = build("separable", seed=5)
    convert_model(model, tmp_path / "p", ConvertOptions(), plan={"default": "mitchell_u8_w5"})
    ir, asg = IR.load(tmp_path / "p"), project_assignments(tmp_path / "p")
    assert {k: a.multiplier for k, a in asg.items() if k.endswith("depthwise")} == {
        "sep_depthwise": "mitchell_u8_w5", "sep1d_depthwise": "mitchell_u8_w5"}
    x = np.random.default_rng(1).integers(0, 256, (60, *model.input_shape[1:])) / 256
    y = CSimLibrary(tmp_path / "p").predict(x)
    assert np.array_equal(y, Emulator(ir, asg).predict(x)) and np.array_equal(y, evaluate(ir, x, asg))
    assert not np.array_equal(y, Emulator(ir).predict(x))  # the approximate products did change the outputs


def test_planned_project_compiles_without_narrowing_warnings(tmp_path):
    model = build_model("cnn", (8, 8, 1), 10, "fixed-w8a8", width=0.5)
    convert_model(model, tmp_path / "p", ConvertOptions(), plan={"default": "roba_u8_modeboth"})
    fw = tmp_path / "p" / "firmware"
    res = subprocess.run(["g++", "-std=c++14", "-Wall", "-Wextra", "-Wnarrowing", "-Wno-unknown-pragmas",
                          "-fsyntax-only", "-Iap_types", "approxhls_model.cpp"], cwd=fw, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "narrowing" not in res.stderr
    # no warning at all from approxhls' own headers
    assert not re.search(r"approxhls_(product|multipliers)\.h:\d+:\d+: warning", res.stderr), res.stderr[-2000:]


def test_accumulator_is_widened_for_products_beyond_exact(tmp_path):
    import json

    model = build_model("mlp", (8, 8, 1), 10, "fixed-w8a8", width=0.5)
    convert_model(model, tmp_path / "p", ConvertOptions(), plan={"layers": {"fc1": "roba_u8_modex"}})
    meta = json.loads((tmp_path / "p" / "approxhls.json").read_text())
    assert meta["plan"]["fc1"]["extra_bits"] >= 1
    acc = {row["name"]: row["types"]["accum_t"] for row in meta["layers"] if "accum_t" in row["types"]}
    convert_model(model, tmp_path / "q", ConvertOptions())
    plain = {row["name"]: row["types"]["accum_t"] for row in
             json.loads((tmp_path / "q" / "approxhls.json").read_text())["layers"] if "accum_t" in row["types"]}
    assert acc["fc2"] == plain["fc2"] and acc["fc1"] != plain["fc1"]


@pytest.mark.parametrize(
    "plan,needle",
    [
        ({"layers": {"nope": "tam_u8_k6"}}, "does not have"),
        ({"layers": {"relu1": "tam_u8_k6"}}, "no multiplications"),
        ({"layers": {"fc1": "no_such_mult"}}, "no multiplier named"),
        ({"default": "no_such_mult"}, "no multiplier named"),
        ({"layers": {"fc2": "tam_s8_k5"}}, "operands"),  # 8-bit unsigned activations do not fit signed 8-bit
        ({"layers": {"fc1": "exact_u4"}}, "operands"),
        ({"layer": {}}, "got keys"),
        ({"bias_offsets": {"relu1": [1]}}, "not a layer with multiplications"),
        ({"bias_offsets": {"fc1": [1, 2]}}, "output channels"),
        ({"bias_offsets": {"fc1": "x"}}, "list of integers"),
    ],
)
def test_bad_plans_are_refused_with_the_reason(tmp_path, plan, needle):
    model = build_model("mlp", (8, 8, 1), 10, "fixed-w8a8", width=0.5)
    with pytest.raises(PlanError) as e:
        convert_model(model, tmp_path / "p", ConvertOptions(), plan=plan)
    assert needle in str(e.value)


def test_default_that_does_not_fit_leaves_layer_exact(tmp_path):
    model = build_model("mlp", (8, 8, 1), 10, "fixed-w4a4", width=0.5)
    # 8-bit input pixels do not fit a signed 8-bit multiplier; 4-bit activations do
    convert_model(model, tmp_path / "p", ConvertOptions(), plan={"default": "tam_s8_k5"})
    a = project_assignments(tmp_path / "p")
    assert a["fc1"].exact and "does not fit" in a["fc1"].source
    assert a["fc2"].multiplier == "tam_s8_k5" and a["logits"].multiplier == "tam_s8_k5"


def test_plan_files(tmp_path):
    (tmp_path / "p.yaml").write_text("default: drum_u8_k4\nlayers:\n  fc1: exact\n")
    p = load_plan(tmp_path / "p.yaml")
    assert p.default == "drum_u8_k4" and p.layers == {"fc1": "exact"}
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PlanError, match="cannot parse"):
        load_plan(tmp_path / "bad.json")
    with pytest.raises(PlanError, match="does not exist"):
        load_plan(tmp_path / "missing.json")


def test_load_plan_reads_every_field_and_names_the_bad_one():
    plan = Plan("drum_u8_k4", {"fc1": "exact"}, {"fc1": {1: 2}}, {"fc2": [1]})
    assert load_plan(plan) is plan
    back = load_plan(json.loads(json.dumps(plan.to_json())))  # JSON turns the code keys into strings
    assert back == plan
    assert load_plan({}) == Plan() and load_plan({"default": None, "layers": None}).default == EXACT
    for data, needle in [({"layer": {}}, "got keys ['layer']"),
                         ({"layers": {"fc1": 3}}, "'layers' must map"), ({"layers": ["fc1"]}, "'layers' must map"),
                         ({"tuned_weights": {"fc1": {"a": 1}}}, "'tuned_weights'"),
                         ({"tuned_weights": ["fc1"]}, "'tuned_weights'"),
                         ({"bias_offsets": {"fc1": 3}}, "'bias_offsets'"),
                         ({"bias_offsets": {"fc1": ["x"]}}, "'bias_offsets'")]:
        with pytest.raises(PlanError, match=re.escape(needle)):
            load_plan(data)


def test_cli_convert_with_plan_and_csim_reports_accuracy(tmp_path, capsys):
    import json

    from approxhls.cli import main

    assert main(["train", "--epochs", "2", "--out", str(tmp_path / "m")]) == 0
    (tmp_path / "plan.json").write_text(json.dumps({"default": "drum_u8_k6", "layers": {"fc1": "tam_u8_k7"}}))
    assert main(["convert", str(tmp_path / "m"), "--out", str(tmp_path / "p"), "--plan", str(tmp_path / "plan.json")]) == 0
    assert "tam_u8_k7" in capsys.readouterr().out
    assert main(["csim", str(tmp_path / "p"), "--limit", "80", "--check-reference",
                 "--json", str(tmp_path / "r.json")]) == 0
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["plan"] == {"fc1": "tam_u8_k7", "fc2": "drum_u8_k6", "logits": "drum_u8_k6"}
    assert r["mismatches_reference"] == 0 and r["accuracy_reference"] == r["accuracy_csim"]
    assert 0.3 < r["accuracy_csim"] <= 1.0
