"""approxhls.cost: circuits equal their models (Icarus on the RTL, gate simulation of the Yosys netlist), counts
are right on hand-built models, fused models quantize less, and the command reports and plots."""

import json

import numpy as np
import pytest
from conftest import needs

from approxhls.cost import circuits as C
from approxhls.cost.count import count_ir

needs_tools = needs("iverilog", "yosys")


def _vectors(c, n, seed):
    rng = np.random.default_rng(seed)
    v = c.stream(n, rng)
    for p, (b, s) in c.inputs.items():  # plus uniform vectors over the whole range, and the corners
        lo, hi = (-(1 << (b - 1)), (1 << (b - 1)) - 1) if s else (0, (1 << b) - 1)
        v[p] = np.concatenate([v[p], rng.integers(lo, hi + 1, n), [lo, hi, lo, hi]])
    n_all = len(next(iter(v.values())))
    return {p: np.resize(a, n_all) for p, a in v.items()}


CIRCUITS = [
    C.mult(8, 8), C.mult(4, 5), C.acc(16, 24), C.requant_shift(24, 8, 10, True), C.requant_shift(16, 8, 3, False),
    C.requant_shift(12, 4, 0, True), C.requant_shift(20, 30, 2, False), C.requant_varshift(20, 8, 4, True),
    C.requant_mult(20, 8, 12, 16, True), C.requant_mult(16, 8, 16, 20, False), C.zero_point(8, 8), C.scale_rom(16, 12),
]


@needs_tools
@pytest.mark.parametrize("c", CIRCUITS, ids=lambda c: c.name)
def test_rtl_equals_the_model(c):
    v = _vectors(c, 1500, seed=len(c.name))
    assert np.array_equal(C.simulate_rtl(c, v), c.model(**v))


@needs_tools
def test_small_circuits_exhaustively():
    c = C.requant_varshift(8, 4, 3, False)
    x, sh = np.meshgrid(np.arange(-128, 128), np.arange(8), indexing="ij")
    v = {"x": x.ravel(), "sh": sh.ravel()}
    assert np.array_equal(C.simulate_rtl(c, v), c.model(**v))
    m = C.mult(4, 4)
    a, b = np.meshgrid(np.arange(16), np.arange(-8, 8), indexing="ij")
    assert np.array_equal(C.simulate_rtl(m, {"a": a.ravel(), "b": b.ravel()}), a.ravel() * b.ravel())


def test_round_half_even_model():
    x = np.array([5, 6, 7, -5, -6, -7, 12, 4, -4])
    assert C.round_shift(x, 2).tolist() == [1, 2, 2, -1, -2, -2, 3, 1, -1]  # 1.25 1.5 1.75 ... 3.0 1.0 -1.0
    assert C.round_shift(np.array([2, 6, -2, -6]), 2).tolist() == [0, 2, 0, -2]  # ties to even


@needs_tools
def test_characterization_checks_the_netlist_and_orders_costs():
    shift = C.characterize(C.requant_shift(24, 8, 10, True))
    var = C.characterize(C.requant_varshift(24, 8, 4, True))
    mul = C.characterize(C.requant_mult(24, 8, 16, 25, True))
    assert 0 < shift["luts"] < var["luts"] < mul["luts"]
    assert 0 < shift["toggles_per_op"] < var["toggles_per_op"] < mul["toggles_per_op"]
    assert C.cached(C.requant_shift(24, 8, 10, True)) == shift


# ---- counting on hand-built models -----------------------------------------------------------------------------
def _graph(model):
    from approxhls.hls.convert import ConvertOptions, build_graph

    return build_graph(model, ConvertOptions(io_type="io_parallel"))


def test_dense_counts():
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    q = quantized_bits(8, 0, alpha=1)
    x = tf.keras.Input((16,), name="x_in")
    h = QDense(12, kernel_quantizer=q, bias_quantizer=q, name="fc1")(x)
    h = QActivation(quantized_relu(8, 2), name="relu1")(h)
    y = QDense(5, kernel_quantizer=q, bias_quantizer=q, name="fc2")(h)
    g = _graph(tf.keras.Model(x, y))
    rows = {r.name: r for r in count_ir(g.ir)}
    assert (rows["fc1"].macs, rows["fc2"].macs) == (16 * 12, 12 * 5)
    assert (rows["fc1"].x_bits, rows["fc1"].w_bits) == (8, 8)
    assert rows["fc1"].quant_ops_unfused == 2 * 12 and rows["fc1"].quant_ops_fused == 12  # MAC out + ReLU vs one
    assert rows["fc2"].quant_ops_unfused == rows["fc2"].quant_ops_fused == 5
    assert [q.kind for q in rows["fc1"].quant_fused] == ["shift"] and rows["fc1"].quant_fused[0].relu
    assert rows["fc1"].weight_bits == 16 * 12 * 8 and rows["fc1"].bias_bits == 12 * 8


def test_conv_batchnorm_relu_counts_unfused_folded_fused():
    import tensorflow as tf
    from qkeras import (
        QActivation,
        QConv2D,
        QConv2DBatchnorm,
        quantized_bits,
        quantized_relu,
    )

    q = quantized_bits(8, 0, alpha=1)
    x = tf.keras.Input((6, 6, 2), name="x_in")
    h = QConv2D(4, 3, kernel_quantizer=q, bias_quantizer=q, name="conv")(x)
    h = tf.keras.layers.BatchNormalization(name="bn")(h)
    y = QActivation(quantized_relu(8, 2), name="relu")(h)
    m = tf.keras.Model(x, y)
    bn = m.get_layer("bn")  # scale 2 and bias 0.5 exactly (the IR needs batch-norm parameters on its grid)
    bn.set_weights([np.full(4, 2.0), np.full(4, 0.5), np.zeros(4), np.full(4, 1.0 - bn.epsilon)])
    unfused = {r.name: r for r in count_ir(_graph(m).ir)}["conv"]
    e = 4 * 4 * 4
    assert unfused.macs == e * 3 * 3 * 2
    assert (unfused.quant_ops_unfused, unfused.quant_ops_bn_folded, unfused.quant_ops_fused) == (3 * e, 2 * e, e)
    # the same network with batch-norm fused into the convolution (QConv2DBatchnorm)
    x2 = tf.keras.Input((6, 6, 2), name="x_in")
    h2 = QConv2DBatchnorm(4, 3, kernel_quantizer=q, bias_quantizer=q, name="conv")(x2)
    y2 = QActivation(quantized_relu(8, 2), name="relu")(h2)
    g = _graph(tf.keras.Model(x2, y2))
    bn = {layer.name for layer in g.hls_model.get_layers() if layer.class_name == "Conv2DBatchnorm"}
    fused = {r.name: r for r in count_ir(g.ir, bn_fused_layers=bn)}["conv"]
    assert bn == {"conv"}
    assert (fused.quant_ops_unfused, fused.quant_ops_bn_folded, fused.quant_ops_fused) == (3 * e, 2 * e, e)
    plain = {r.name: r for r in count_ir(g.ir)}["conv"]  # as if it had never had a batch-norm
    assert plain.quant_ops_unfused == 2 * e


def test_scheme_charges_what_hls4ml_does_not_emit():
    from approxhls.models.zoo import build_model

    m = build_model("mlp", (8, 8, 1), 10, "lsq+-w8a8", width=0.5)
    ir = _graph(m).ir
    plain = {r.name: r for r in count_ir(ir, scheme_family=None)}
    lsq = {r.name: r for r in count_ir(ir, scheme_family="lsq+")}
    assert [q.kind for q in plain["fc1"].quant_fused] == ["shift"]
    assert [q.kind for q in lsq["fc1"].quant_fused] == ["mult"] and not lsq["fc1"].quant_fused[0].emitted
    assert lsq["fc1"].scale_bits == lsq["fc1"].channels * 16
    assert "fixed-point multiplier per channel" in lsq["fc1"].quant_fused[0].note
    cnn = build_model("cnn", (8, 8, 1), 10, "lsq+-w8a8", width=0.5)  # padded convs: zero points in the datapath
    rows = {r.name: r for r in count_ir(_graph(cnn).ir, scheme_family="lsq+")}
    assert "zero_point" in [q.kind for q in rows["conv1"].quant_fused]


# ---- the command --------------------------------------------------------------------------------------------------
@needs_tools
def test_cost_command_on_a_planned_project(tmp_path, capsys):
    from conftest import randomize_weights

    from approxhls.cli import main
    from approxhls.cost import estimate_project
    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.models.zoo import build_model

    m = build_model("mlp", (8, 8, 1), 10, "fixed-w8a8", width=0.25)
    randomize_weights(m, seed=5, low=-0.5, high=0.5)
    convert_model(m, tmp_path / "prj", ConvertOptions(), plan={"default": "tam_u8_k7"})
    assert main(["cost", str(tmp_path / "prj"), "--json", str(tmp_path / "cost.json")]) == 0
    rep = json.loads((tmp_path / "cost.json").read_text())
    assert (tmp_path / "cost.png").stat().st_size > 5000
    assert {r["multiplier"] for r in rep["layers"]} == {"tam_u8_k7"}
    assert rep["relative_to_baseline"]["energy"] < 1.0 and rep["relative_to_baseline"]["luts"] < 1.0
    t = rep["totals"]
    assert t["quant_ops_fused"] < t["quant_ops_unfused"] and rep["unfused_totals"]["energy"] > t["energy"]
    assert t["energy"] == pytest.approx(sum(t[f"energy_{k}"] for k in ("multipliers", "adders", "quantization", "memory")), abs=1.0)
    # energy: the proxy is named, total and multiplications only side by side
    e = rep["energy"]
    assert "gate-toggle proxy" in e["proxy"] and e["multiplications"] < e["total"]
    assert e["relative_multiplications"] < e["relative_total"] < 1.0  # only the multipliers changed
    # the arithmetic against every exact baseline; the cheapest named
    ar = rep["arithmetic"]
    names = {b["name"]: b for b in ar["baselines"]}
    assert set(names) == {"lut_fabric", "dsp48", "da"} and names["dsp48"]["dsp"] == 220  # pynq-z2's DSPs, all used
    assert ar["cheapest"] == min((b for b in names.values() if b["available"]), key=lambda b: b["luts"])["name"]
    assert ar["plan_luts"] < names["lut_fabric"]["luts"]  # cheaper than exact products in LUTs ...
    # ... and the whole accelerator, fitted to the board
    assert rep["accelerator"]["lut"] > ar["plan_luts"] and rep["accelerator"]["dsp"] == 0
    assert rep["fit"]["fits"] and rep["fit"]["board"] == "pynq-z2"
    out = capsys.readouterr().out
    for text in ("energy shares", "exact baselines", "against the cheapest", "whole accelerator", "fits on pynq-z2"):
        assert text in out
    assert estimate_project(tmp_path / "prj", board="pynq-z2")["fit"]["fits"]  # what `approxhls overlay` can call
    # the plan given on the command line replaces the project's own
    assert main(["cost", str(tmp_path / "prj"), "--plan", str(_write_plan(tmp_path)), "--json", str(tmp_path / "c2.json")]) == 0
    rep2 = json.loads((tmp_path / "c2.json").read_text())
    assert {r["multiplier"] for r in rep2["layers"]} == {"exact"} and rep2["relative_to_baseline"]["energy"] == 1.0


def _write_plan(tmp_path):
    p = tmp_path / "plan.json"
    p.write_text(json.dumps({"default": "exact"}))
    return p


def test_learned_steps_are_charged_with_their_trained_weight_width():
    from approxhls.models.zoo import build_model

    m = build_model("mlp", (8, 8, 1), 10, "lsq-w4a4", width=0.5)
    for layer in m.layers:  # per-channel steps two octaves apart: hls4ml's deployment needs wider weights
        if hasattr(layer, "log2_kernel_step"):
            layer.log2_kernel_step.assign(np.where(np.arange(layer.units) % 2, -3.0, -5.0).astype(np.float32))
    ir = _graph(m).ir
    deployed = {r.name: r for r in count_ir(ir)}
    lsq = {r.name: r for r in count_ir(ir, scheme_family="lsq", weight_code_bits=4)}
    assert deployed["fc1"].w_bits > 4 and lsq["fc1"].w_bits == 4
    assert lsq["fc1"].weight_bits == 64 * lsq["fc1"].channels * 4
    assert "-bit weights where the trained codes have 4 bits" in lsq["fc1"].quant_fused[0].note


def test_float_scales_are_counted_as_multiplier_requantization():
    """`scaled` (alpha='auto'): hls4ml emits an ApplyAlpha whose float scales are off their type's grid; the IR
    holds them as the C++ does (rounded by the scale type), says the layer is not exact, and the cost model
    calls the requantization a multiplier."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.models.zoo import build_model

    m = build_model("mlp", (8, 8, 1), 10, "scaled-w8a8", width=0.5)
    m(np.ones((1, 64), np.float32))  # alpha='auto' scales come from the weights
    g = build_graph(m, ConvertOptions())
    alpha = [r for r in g.exactness if r["op"] == "scale_bias"]
    assert alpha and not any(r["exact"] for r in alpha) and "rounded" in alpha[0]["reason"] and not g.exact
    rows = {r.name: r for r in count_ir(g.ir, scheme_family="scaled")}
    q = rows["fc1"].quant_fused[0]
    assert q.kind == "mult" and q.emitted and rows["fc1"].quant_ops_unfused == 3 * rows["fc1"].channels
    assert rows["fc1"].scale_bits > 0
