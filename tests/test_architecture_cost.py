"""Pricing what is built: constant-weight multipliers (the tied circuit computes the tied product, batched synthesis
equals one-by-one, the cache is used), per-architecture arithmetic, exact baselines and the cheapest one, the search
and the cost command pricing alike, the whole-accelerator estimate and its fit on a board."""

import numpy as np
import pytest
from conftest import needs

from approxhls.cost import architecture as arch
from approxhls.cost.baselines import exact_baselines, plan_luts
from approxhls.multipliers import constweight as cw
from approxhls.multipliers.registry import get_design

CATALOG = {"exact_u8": {"toggles_per_op": 40.0, "luts": 114}, "exact_s8": {"toggles_per_op": 50.0, "luts": 160},
           "cheap": {"toggles_per_op": 10.0, "luts": 57}, "tam_u8_k7": {"toggles_per_op": 10.0, "luts": 57}}


def _simulate_top(circuit, codes):
    """Icarus: the batch module cw_top on every activation in ``a``; products per code (rows: codes)."""
    import subprocess
    import tempfile
    from pathlib import Path

    ob, xb, n = circuit.out_bits, circuit.x_bits, len(codes)
    tb = (f"module tb; reg [{xb - 1}:0] a; wire [{ob * n - 1}:0] p; integer i, f;\n cw_top dut(.a(a), .p(p));\n"
          f" initial begin f = $fopen(\"out.txt\", \"w\"); for (i = 0; i < {1 << xb}; i = i + 1) begin a = i; #1;"
          f" $fwrite(f, \"%h\\n\", p); end $fclose(f); $finish; end\nendmodule\n")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "dut.v").write_text(cw.constant_source(circuit, codes) + tb)
        subprocess.run(["iverilog", "-o", "sim", "dut.v"], cwd=tmp, check=True, capture_output=True)
        subprocess.run(["vvp", "-n", "sim"], cwd=tmp, check=True, capture_output=True)
        words = [int(w, 16) for w in Path(tmp, "out.txt").read_text().split()]
    out = np.array([[(w >> (ob * k)) & ((1 << ob) - 1) for w in words] for k in range(n)], dtype=np.int64)
    if circuit.out_signed:
        out = np.where(out >> (ob - 1) & 1, out - (1 << ob), out)
    x = np.arange(1 << xb)
    x = np.where(x >= (1 << (xb - 1)), x - (1 << xb), x) if circuit.x_signed else x
    return out, x


@needs("iverilog")
@pytest.mark.parametrize("name,x_signed", [("tam_u8_k7", False), ("tam_u8_k7", True), ("tam_s8_k3", True),
                                           ("exact", False), ("exact", True)])
def test_tied_circuit_computes_the_design_with_that_weight(name, x_signed):
    """Every activation code against the numpy model with the weight tied (sign-magnitude for unsigned cores on signed
    activations; a signed design takes the two's complement weight)."""
    if name == "exact":
        c, codes = cw.exact_circuit(8, x_signed, 8), [0, 1, 37, 128]
    else:
        d = get_design(name)
        c = cw.design_circuit(d, x_signed)
        codes = [-128, -37, 0, 1, 90, 127] if d.signed else [0, 1, 37, 128, 255]
    got, x = _simulate_top(c, codes)
    for k, w in enumerate(codes):
        if name == "exact":
            want = x * w
        elif d.signed or not x_signed:
            want = d.model(x, np.full_like(x, w))
        else:
            want = np.where(x < 0, -1, 1) * d.model(np.abs(x), np.full_like(x, w))
        assert np.array_equal(got[k], want), (name, x_signed, w)


@needs("yosys")
def test_batched_synthesis_equals_one_by_one_and_is_cached(monkeypatch):
    c = cw.exact_circuit(4, False, 4)
    codes = [3, 5, 11]
    batch = cw.constant_luts(c, codes, jobs=1, progress=False)
    alone = cw.synthesize_codes(c, [11])
    assert batch[11] == alone[11] > 0 and batch[3] > 0
    monkeypatch.setattr(cw, "synthesize_codes", lambda *a: pytest.fail("cached codes were synthesized again"))
    assert cw.constant_luts(c, codes, progress=False) == batch


def test_shipped_constant_weight_cache_covers_the_exact_8bit_products():
    cache = cw.load_cache()
    for x_signed in (False, True):
        luts = cache[cw.exact_circuit(8, x_signed, 8).ident]["luts"]
        assert {str(k) for k in range(129)} <= set(luts)
        assert luts["0"] == 0 and luts["64"] == 0 and luts["37"] > 0  # zero and powers of two are wiring


def test_every_builtin_unsigned_design_ships_its_constant_weight_costs():
    """A dataflow search or `approxhls cost` on 8-bit unsigned activations runs no Yosys for built-in designs: the
    shipped file holds every weight magnitude of each (as the search's catalog lists them)."""
    from approxhls.multipliers import jsoncache
    from approxhls.search.network import candidate_catalog

    shipped = jsoncache.read(cw.SHIPPED, cw.CACHE_VERSION, cw.WHAT)
    catalog, _ = candidate_catalog("builtin")
    unsigned = [n for n, e in catalog.items() if not e["signed"] and n != "exact_u8"]
    assert len(unsigned) >= 40
    for name in unsigned:
        entry = shipped.get(cw.design_circuit(get_design(name), x_signed=False).ident)
        assert entry is not None, name
        assert {str(k) for k in range(129)} <= set(entry["luts"]), name


def _fake_constant(monkeypatch, table):
    monkeypatch.setattr("approxhls.multipliers.constweight.constant_luts",
                        lambda c, codes, **kw: {k: table(c, k) for k in codes})


def test_dataflow_sums_products_over_codes_and_dsps_take_the_dearest(monkeypatch):
    _fake_constant(monkeypatch, lambda c, k: k if c.ident.startswith("exact") else k // 2)
    a = arch.Layer("a", 10, 5, codes=((-3, 2), (0, 1), (4, 2)))          # |w|: 3, 0, 4
    b = arch.Layer("b", 10, 3, codes=((2, 3),))
    df = arch.dataflow_multipliers([a, b], {})
    assert df["per_layer"] == {"a": 2 * 3 + 0 + 2 * 4, "b": 3 * 2} and df["luts"] == 20 and df["dsp"] == 0
    # three DSPs: the two 4s (4 LUTs each) and one 3
    with_dsp = arch.dataflow_multipliers([a, b], {}, dsp_budget=3)
    assert with_dsp["dsp"] == 3 and with_dsp["per_layer"]["a"] == 3 and with_dsp["luts"] == 3 + 6
    # approximate products never take a DSP
    approx = arch.dataflow_multipliers([a, b], {"a": "tam_u8_k7"}, dsp_budget=10)
    assert approx["per_layer"]["a"] == 2 * 1 + 0 + 2 * 2 and approx["dsp"] == 3


def test_shared_multipliers_count_memory_and_multiplexers():
    layer = arch.Layer("l", 1000, 100, x_bits=8, w_bits=8)
    r = arch.reuse_multipliers([layer], {"l": "cheap"}, CATALOG, reuse_factor=4)
    assert r["luts"] == 25 * 57 + 25 * arch.mux_luts(4, 8) and arch.mux_luts(4, 8) == 8
    assert r["memory_luts"] == 25 * 8 * 1 and r["bram18"] == 0
    deep = arch.memory_luts_brams(100_000, 8, 1000)
    assert deep[0] == 0 and deep[1] > 0
    t = arch.tile_multipliers([layer], ["cheap", "exact"], None, 10, CATALOG, dsp_budget=4)
    assert t["dsp"] == 4 and t["luts"] == 10 * 57 + 6 * 114 + 20 * arch.mux_luts(10, 8)


def test_cheapest_baseline_and_saving(monkeypatch):
    _fake_constant(monkeypatch, lambda c, k: 10 if c.ident.startswith("exact") else 4)
    layers = [arch.Layer("a", 20, 4, codes=((5, 4),), adders=30.0)]
    monkeypatch.setattr("approxhls.cost.da.layer_cost", lambda *a: 55.0)
    bases = {b.name: b for b in exact_baselines(layers, CATALOG, dsp_budget=3)}
    assert bases["lut_fabric"].luts == 40 + 30 and bases["dsp48"].luts == 10 + 30 and bases["dsp48"].dsp == 3
    assert bases["da"].luts == 55.0 and arch.cheapest(list(bases.values())).name == "dsp48"
    plan = plan_luts(layers, {"a": "tam_u8_k7"}, CATALOG)
    assert plan == 16 + 30 and arch.saving(plan, bases["dsp48"]) == pytest.approx(1 - 46 / 40)  # costs more
    monkeypatch.setattr("approxhls.cost.da.layer_cost", lambda *a: None)
    da = exact_baselines(layers, CATALOG)[2]
    assert not da.available and "numba" in da.note


def test_search_prices_a_plan_as_the_cost_command_does(monkeypatch):
    """One code path: the search's CostModel and approxhls.cost.architecture give the same LUTs and energy."""
    from approxhls.search.costmodel import CostModel, LayerCost

    _fake_constant(monkeypatch, lambda c, k: 3 * k + 1)
    layers = [LayerCost("a", 100, 10, False, ((1, 4), (-7, 6)), adders=50.0),
              LayerCost("b", 50, 5, False, ((2, 5),), adders=20.0)]
    cost = CostModel(layers, CATALOG)
    plan = {"a": "tam_u8_k7"}
    expect = arch.dataflow_multipliers([ly.layer() for ly in layers], plan)["luts"]
    assert cost.dataflow_luts(plan) == expect == 4 * 4 + 6 * 22 + 5 * 7
    assert cost.relative_energy(plan) == arch.multiplication_energy(layers, plan, CATALOG) == pytest.approx(
        (100 * 0.25 + 50) / 150)
    monkeypatch.setattr("approxhls.cost.da.layer_cost", lambda *a: None)
    base = arch.cheapest(cost.exact_baselines())  # pynq-z2's 220 DSPs take every exact product: adders remain
    assert base.name == "dsp48" and base.luts == 70 and base.dsp == 15
    assert cost.relative_luts(plan) == pytest.approx((expect + 70) / 70)
    # the search's cached per-layer prices are the cost command's plan_luts, plan by plan
    for p in ({}, plan, {"a": "tam_u8_k7", "b": "tam_u8_k7"}):
        assert cost.plan_luts(p) == plan_luts([ly.layer() for ly in layers], p, CATALOG)


def test_the_search_can_trade_accuracy_against_luts_as_built(monkeypatch):
    """--objective luts: the front's cost is the arithmetic's LUTs as built over the cheapest exact baseline, in
    the dataflow (constant weights) and on tiles (generic shared multipliers, memories, multiplexers); points are
    ordered and chosen by it, not by energy."""
    from approxhls.search.accelerators import DataflowAccelerator, TiledAccelerator
    from approxhls.search.choice import best_within
    from approxhls.search.costmodel import CostModel, LayerCost
    from approxhls.search.options import SearchOptions, cost_objectives
    from approxhls.search.problem import AlwannProblem

    _fake_constant(monkeypatch, lambda c, k: 10 if c.ident.startswith("exact") else 3)
    monkeypatch.setattr("approxhls.cost.da.layer_cost", lambda *a: None)
    layers = [LayerCost("a", 100, 10, False, ((1, 10),), adders=5.0), LayerCost("b", 40, 4, False, ((2, 4),))]
    cost = CostModel(layers, CATALOG, board=None)  # no DSPs: the LUT fabric is the cheapest exact option
    df = DataflowAccelerator(["a", "b"], {"a": ["exact", "tam_u8_k7"], "b": ["exact", "tam_u8_k7"]})
    decoded = [df.decode(g) for g in ([0, 0], [1, 0], [1, 1])]
    assert cost.cheapest_baseline().name == "lut_fabric" and cost.cheapest_baseline().luts == 100 + 40 + 5
    F = AlwannProblem(df, cost, None, 0.9, costs=cost_objectives(SearchOptions(objective="luts"))).objectives(
        decoded, np.array([0.9, 0.8, 0.7]))
    assert F.shape == (3, 2)
    assert F[:, 1].tolist() == pytest.approx([1.0, (30 + 40 + 5) / 145, (30 + 12 + 5) / 145])
    both = AlwannProblem(df, cost, None, 0.9, costs=cost_objectives(SearchOptions(with_luts=True)))
    assert both.objectives(decoded, np.ones(3)).shape == (3, 3)
    tiles = TiledAccelerator(["a", "b"], ["exact", "tam_u8_k7"], n_tiles=1)
    t = tiles.decode([1, 0, 0])
    expect = arch.tile_multipliers([ly.layer() for ly in layers], ["tam_u8_k7"], t.tile_map, cost.tile_size, CATALOG)
    base = arch.cheapest(cost.exact_baselines(1))
    assert cost.relative_luts(t.assignment, t.tiles, t.tile_map) == pytest.approx(
        (expect["luts"] + expect["memory_luts"]) / base.luts)
    # the choice follows the objective: the cheaper point in LUTs is the dearer one in energy
    points = [{"val_accuracy": 0.9, "relative_energy": 0.3, "relative_luts": 0.9},
              {"val_accuracy": 0.9, "relative_energy": 0.5, "relative_luts": 0.4}]
    result = {"exact": {"val_accuracy": 0.9}, "points": points}
    assert best_within(result, 0.005) is points[0]
    assert best_within(result | {"objective": "luts"}, 0.005) is points[1]


def test_fit_says_by_how_much():
    from approxhls.cost import fit
    from approxhls.cost.boards import BOARD_RESOURCES, SHELL, fit_text
    from approxhls.overlays.boards import BOARDS

    assert set(BOARD_RESOURCES) == set(BOARDS)  # every overlay board has its resources
    f = fit({"lut": 60_000, "ff": 1000, "dsp": 10, "bram18": 2}, "pynq-z2")
    assert not f["fits"] and f["binding"] == "lut"
    assert f["resources"]["lut"]["margin"] == 53_200 - 60_000 - SHELL["lut"]
    assert "does NOT fit" in fit_text(f) and "short of LUT by" in fit_text(f)
    ok = fit({"lut": 1000, "ff": 1000, "dsp": 300, "bram18": 2}, "zcu104")
    assert ok["fits"] and "fits on zcu104" in fit_text(ok)


def test_csd_digits():
    from approxhls.cost.accelerator import csd_digits

    assert [csd_digits(v) for v in (0, 1, 2, 3, 7, 15, 16, -7, 0b1011011)] == [0, 1, 1, 2, 2, 2, 1, 2, 4]


# ---- the whole-accelerator estimate ---------------------------------------------------------------------------------
def _dense_ir(weights, bits=16):
    from approxhls.sim.ir import IR, Node

    t = f"ap_fixed<{bits},6>"
    w = np.asarray(weights, dtype=np.int64)
    n_in, n_out = w.shape
    nodes = [Node("x", "input", [], ["x"], [n_in], {"result": t}),
             Node("fc", "dense", ["x"], ["fc"], [n_out], {"result": t, "weight": t, "bias": t, "accum": t},
                  {"n_in": n_in, "n_out": n_out}, {"weight": w, "bias": np.ones(n_out, np.int64)}),
             Node("act", "relu", ["fc"], ["act"], [n_out], {"result": t})]
    return IR(nodes, t, "act")


def test_accelerator_estimate_of_a_wide_dense_layer():
    from approxhls.cost.accelerator import RULES, SELECT_LUT_PER_BIT, Config, estimate_accelerator

    # 16-bit: a DSP48 per product except small (|w| < 32) or two-digit (64 + 1 = 65) weights and zeros
    w = [[1000, 0, 65], [-3, 777, 1001]]
    est = estimate_accelerator(_dense_ir(w), Config("io_parallel", "latency", 1, 5.0))
    assert est["dsp"] == 3
    layers = {r["layer"]: r for r in est["layers"]}
    assert layers["act"]["lut"] == round(3 * SELECT_LUT_PER_BIT * 16)
    # adders: output 0 sums 1000 x, -3 x and its bias (2 adds), output 1 777 x and its bias, output 2 65 x, 1001 x, bias
    assert layers["fc"]["lut_adders"] == (2 + 1 + 2) * 16
    assert est["ff"] == 2 * 16 + 2  # hls4ml registers the input array; nothing is pipelined within 5 ns
    assert est["latency_cycles"] == 0 and est["ii"] == 1
    assert {"dense", "conv", "depthwise", "relu", "lut", "softmax", "pool_max", "pool_avg", "merge"} <= set(RULES)
    slow = estimate_accelerator(_dense_ir(w), Config("io_parallel", "latency", 1, 2.0))
    assert slow["latency_cycles"] >= 1 and slow["ff"] > est["ff"]  # a clock edge inside: pipeline registers


def test_accelerator_prices_8bit_products_as_the_architecture_does(monkeypatch):
    from approxhls.cost.accelerator import Config, estimate_accelerator

    _fake_constant(monkeypatch, lambda c, k: 100 + k if c.ident.startswith("exact") else k)
    w = [[3, -5], [0, 7]]
    exact = estimate_accelerator(_dense_ir(w, 8), Config("io_parallel", "latency", 1, 10.0))
    planned = estimate_accelerator(_dense_ir(w, 8), Config("io_parallel", "latency", 1, 10.0, {"fc": "tam_u8_k7"}))
    lut = {e["layer"]: e for e in exact["layers"]}["fc"]["lut_multipliers"]
    assert exact["dsp"] == 0 and lut == (103 + 105 + 100 + 107)  # 8-bit: LUTs, constant weights, zero included
    assert {e["layer"]: e for e in planned["layers"]}["fc"]["lut_multipliers"] == 3 + 5 + 0 + 7


def test_distributed_arithmetic_is_cached_per_matrix_and_optional(monkeypatch):
    from approxhls.cost import da

    calls = []

    def solve(mats, x_bits, x_signed):
        calls.append(len(mats))
        return [{"cost": float(np.abs(m).sum()), "latency": 1.0} for m in mats]

    monkeypatch.setattr(da, "solve_costs", solve)
    g = [np.array([[1, -2], [3, 0]]), np.array([[5], [7]])]
    assert da.layer_cost(g, 8, False) == 6 + 12 and calls == [2]
    assert da.layer_cost(g[:1], 8, False) == 6 and calls == [2]  # both matrices cached
    assert da.layer_cost(g[:1], 8, True) == 6 and calls == [2, 1]  # other activations: another problem
    monkeypatch.delenv(da.ENV, raising=False)
    monkeypatch.setattr(da, "solve_costs", lambda *a: None)
    assert da.layer_cost([np.eye(3, dtype=np.int64)], 8, False) is None
