"""Importing multiplier libraries: every C signature libraries publish, their Verilog circuits, whole directories,
and a user folder that nothing can make reach outside itself."""

import json
import re
import os

import numpy as np
import pytest

from approxhls.cli import main
from approxhls.errors import ApproxHLSError
from approxhls.multipliers import catalog
from approxhls.multipliers.registry import all_designs
from approxhls.home import home
from approxhls.multipliers.library import add_multiplier, import_library, remove_multiplier
from approxhls.multipliers.user import user_dir

CODES = np.arange(256)
A, B = CODES[:, None], CODES[None, :]
SIGNED = np.where(CODES > 127, CODES - 256, CODES)
SA, SB = SIGNED[:, None], SIGNED[None, :]

# Three signature shapes of published 8x8 libraries (models written here, not copied from any library).
U16_OF_U8 = """#include <stdint.h>
/* clears the two lowest product bits */
uint16_t trunc2(uint8_t a, uint8_t b) { return (uint16_t)((a * b) & ~3u); }
"""
S16_OF_S8 = """#include <stdint.h>
int16_t mul8s_clr2(int8_t A, int8_t B)
{
  int16_t p = (int16_t)(A * B);
  return (int16_t)(p & ~3);
}
"""
# Parameters in the order (B, A); A loses its least significant bit, so the operand order is visible.
U64_BA = """#include <stdint.h>
#include <stdlib.h>
uint64_t mul8u_dropa0(const uint64_t B, const uint64_t A)
{
  uint64_t O = 0;
  int i, j;
  for (i = 1; i < 8; i++)
    for (j = 0; j < 8; j++)
      O += (((A >> i) & 1) & ((B >> j) & 1)) << (i + j);
  return O;
}
"""
DROPA0 = (A & 0xFE) * B

# Its circuit in a library's style: a top module with ports (A, B, O) and a cell module it instantiates.
DROPA0_V = """// a partial-product multiplier without A[0]'s row
module cell_and(input x, input y, output z);
  assign z = x & y;
endmodule
module mul8u_dropa0(A, B, O);
  input [7:0] A;
  input [7:0] B;
  output [15:0] O;
  wire [7:0] row0;
  genvar j;
  generate for (j = 0; j < 8; j = j + 1) begin : r
    cell_and g(.x(1'b0), .y(B[j]), .z(row0[j]));
  end endgenerate
  assign O = {A[7:1], 1'b0} * B + row0;
endmodule
"""


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_uint16_of_uint8_model(tmp_path):
    d = add_multiplier(_write(tmp_path, "trunc2.c", U16_OF_U8))
    assert d.name == "trunc2" and not d.signed
    assert np.array_equal(d.table(), (A * B) & ~3)
    assert any("8-bit unsigned parameters" in n for n in d.notes)


def test_int16_of_int8_model_is_signed_and_takes_twos_complement_codes(tmp_path):
    d = add_multiplier(_write(tmp_path, "m.c", S16_OF_S8))
    assert d.signed and any("8-bit signed parameters" in n for n in d.notes)
    codes = d.codes()
    assert np.array_equal(d.table(), (codes[:, None] * codes[None, :]) & ~3)
    assert d.model(-3, 5) == (-15 & ~3)


def test_uint64_model_with_parameters_b_a_maps_a_by_name(tmp_path):
    d = add_multiplier(_write(tmp_path, "mul8u_dropa0.c", U64_BA))
    assert not d.signed and any("name mul8u_dropa0 says mul8u" in n for n in d.notes)
    assert any("a = parameter A (second, by name)" in n for n in d.notes)
    assert np.array_equal(d.table(), DROPA0)  # a = A even though A is the second parameter
    assert not np.array_equal(d.table(), DROPA0.T)
    # the order can be given instead: then B carries the activation
    swapped = add_multiplier(tmp_path / "mul8u_dropa0.c", "dropa0_swapped", a_param="B")
    assert np.array_equal(swapped.table(), DROPA0.T)
    entry = catalog.characterize([d], progress=False, with_synthesis=False)[0]
    assert entry["source_digest"] == d.definition()["source_digest"] and len(entry["source_digest"]) == 64


def test_several_functions_need_function_and_it_is_honoured(tmp_path):
    src = _write(tmp_path, "two.c", U16_OF_U8 + "\nuint16_t mul8u_exact(uint8_t a, uint8_t b) { return a * b; }\n")
    with pytest.raises(ApproxHLSError, match="several candidate functions .*--function"):
        add_multiplier(src, "x")
    d = add_multiplier(src, "pick", function="mul8u_exact")
    assert np.array_equal(d.table(), A * B)


def test_verilog_circuit_is_proven_priced_and_searchable(tmp_path):
    c = _write(tmp_path, "mul8u_dropa0.c", U64_BA)
    v = _write(tmp_path, "mul8u_dropa0.v", DROPA0_V)
    d = add_multiplier(c, verilog=v)
    assert any("proven: mul8u_dropa0.v (Icarus) == mul8u_dropa0.c" in n for n in d.notes)
    entry = catalog.characterize([d], progress=False)[0]
    cost = entry["cost"]
    assert cost["luts"] > 0 and cost["toggles_per_op"] > 0  # priced like a built-in design
    assert 0 < entry["rel_luts"] < 1.2 and entry["verilog_digest"]
    from approxhls.search.network import candidate_catalog

    cands, _ = candidate_catalog("user")
    assert set(cands) == {"exact_u8", "exact_s8", "mul8u_dropa0"}  # the exact references price the others
    assert cands["mul8u_dropa0"]["luts"] == cost["luts"]


def test_wrong_verilog_is_refused_with_the_first_differing_pair_and_nothing_stored(tmp_path):
    c = _write(tmp_path, "mul8u_dropa0.c", U64_BA)
    v = _write(tmp_path, "wrong.v", DROPA0_V.replace("{A[7:1], 1'b0}", "A"))
    with pytest.raises(ApproxHLSError) as e:
        add_multiplier(c, verilog=v)
    msg = str(e.value)
    assert "does not compute what" in msg and "first difference at a=1, b=1: expected 0, got 1" in msg
    assert not (user_dir() / "mul8u_dropa0").exists()


def test_verilog_alone_defines_the_table(tmp_path):
    v = _write(tmp_path, "mul8u_dropa0.v", DROPA0_V)
    d = add_multiplier(v)
    assert np.array_equal(d.table(), DROPA0) and d.source is None and d.verilog_text


def test_uncharacterized_user_design_named_for_search_is_explained(tmp_path):
    add_multiplier(_write(tmp_path, "trunc2.c", U16_OF_U8))
    from approxhls.search.network import candidate_catalog

    with pytest.raises(ApproxHLSError, match="trunc2 has no characterized circuit.*--verilog"):
        candidate_catalog("trunc2")
    builtin, _ = candidate_catalog("builtin")
    assert "trunc2" not in builtin and "tam_s8_k5" in builtin  # signed designs are candidates too
    assert builtin["tam_s8_k5"]["signed"]


def test_bulk_import_of_a_library_directory(tmp_path, capsys):
    lib = tmp_path / "lib"
    (lib / "pareto_a").mkdir(parents=True)
    (lib / "pareto_b").mkdir()
    _write(lib / "pareto_a", "mul8u_dropa0.c", U64_BA)
    _write(lib / "pareto_a", "mul8u_dropa0.v", DROPA0_V)
    _write(lib / "pareto_a", "mul8u_dropa0_pdk45.v", "module x(); endmodule\n")  # a technology-mapped variant
    _write(lib / "pareto_a", "mul8s_clr2.c", S16_OF_S8)
    _write(lib / "pareto_b", "mul8u_dropa0.c", U64_BA)                         # the same design in another set
    _write(lib / "pareto_b", "trunc2.c", U16_OF_U8)
    _write(lib / "pareto_b", "broken.c", "uint16_t broken(uint8_t a, uint8_t b) { return a * ; }\n")
    out = tmp_path / "import.json"
    assert main(["multipliers", "add", str(lib), "--json", str(out), "--jobs", "2"]) == 0
    rep = json.loads(out.read_text())
    status = {(r["name"], r["files"]): (r["status"], r["reason"]) for r in rep["designs"]}
    assert status[("mul8u_dropa0", "mul8u_dropa0.c + mul8u_dropa0.v")][0] == "added"
    assert status[("mul8u_dropa0_pdk45", "mul8u_dropa0_pdk45.v")] == ("skipped", "a variant of mul8u_dropa0 "
                                                                     "(mul8u_dropa0.v is its circuit)")
    assert status[("mul8u_dropa0", "mul8u_dropa0.c")][0] == "refused"  # same name, no circuit: a different source
    assert status[("mul8s_clr2", "mul8s_clr2.c")][0] == "added"
    assert status[("trunc2", "trunc2.c")][0] == "added"
    assert status[("broken", "broken.c")][0] == "refused" and "does not compile" in status[("broken", "broken.c")][1]
    assert rep["counts"] == {"added": 3, "unchanged": 0, "skipped": 1, "refused": 2}
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    priced = {e["name"]: e for e in rep["entries"]}
    assert priced["mul8u_dropa0"]["cost"]["luts"] > 0 and priced["trunc2"]["cost"] is None
    assert {"mul8u_dropa0", "mul8s_clr2", "trunc2"} <= {d.name for d in all_designs()}
    # importing again changes nothing
    again = import_library([lib], progress=False)
    assert sorted(it.status for it in again if it.name == "trunc2") == ["unchanged"]


def test_bulk_import_of_identical_copies_skips_them(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        _write(tmp_path / sub, "trunc2.c", U16_OF_U8)
    items = import_library([tmp_path], progress=False)
    assert sorted(it.status for it in items) == ["added", "skipped"]


@pytest.fixture
def populated_home(tmp_path):
    """A home with a user design, a catalog and a sentinel file beside the multipliers folder; and a file
    outside the home that a path escape would reach."""
    add_multiplier(_write(tmp_path, "trunc2.c", U16_OF_U8))
    catalog.characterize([d for d in all_designs() if d.name == "trunc2"], progress=False)
    (home() / "sentinel.txt").write_text("keep me")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.txt").write_text("user data")
    return outside


def _snapshot(*roots):
    return sorted(str(p) for r in roots for p in r.rglob("*"))


@pytest.mark.parametrize("bad", ["..", "../x", "../../etc", "/tmp", "a/b", "", "x y"])
def test_remove_refuses_paths_and_deletes_nothing(populated_home, bad):
    before = _snapshot(home(), populated_home)
    with pytest.raises(ApproxHLSError, match="not allowed|is empty"):
        remove_multiplier(bad)
    assert _snapshot(home(), populated_home) == before


def test_remove_refuses_absolute_path_to_outside_data(populated_home):
    before = _snapshot(home(), populated_home)
    assert main(["multipliers", "remove", str(populated_home)]) == 2
    assert main(["multipliers", "remove", "exact_u8"]) == 2   # a built-in design
    assert main(["multipliers", "remove", "no_such_design"]) == 2
    assert _snapshot(home(), populated_home) == before


def test_remove_refuses_a_symlink_out_of_the_user_folder(populated_home):
    (user_dir() / "escape").symlink_to(populated_home, target_is_directory=True)
    (populated_home / "design.json").write_text("{}")  # looks like a design, but lives outside
    with pytest.raises(ApproxHLSError, match="no user multiplier named 'escape'"):
        remove_multiplier("escape")
    assert (populated_home / "data.txt").read_text() == "user data"


def test_remove_deletes_exactly_one_user_design_and_its_catalog_entries(populated_home):
    entries = catalog._read(catalog.user_catalog_path())
    assert any(e["name"] == "trunc2" for e in entries.values())
    remove_multiplier("trunc2")
    assert not (user_dir() / "trunc2").exists()
    assert (home() / "sentinel.txt").read_text() == "keep me"
    assert not any(e["name"] == "trunc2" for e in catalog._read(catalog.user_catalog_path()).values())
    assert "trunc2" not in {d.name for d in all_designs()}


def test_corrupt_catalog_is_refused_not_overwritten(populated_home):
    path = catalog.user_catalog_path()
    catalog.characterize([d for d in all_designs() if d.name == "trunc2"], progress=False, force=True)
    assert catalog._read(path.with_name("catalog.json.bak"))  # every write keeps the previous, whole version
    path.write_text('{"entries": {"abc": ')
    with pytest.raises(ApproxHLSError) as e:
        catalog.characterize([d for d in all_designs() if d.name == "trunc2"], progress=False, force=True)
    assert str(path) in str(e.value) and "catalog.json.bak" in str(e.value)
    assert path.read_text() == '{"entries": {"abc": '  # untouched


def test_lookup_kernel_cache_is_keyed_by_cpu_and_flags(monkeypatch):
    from approxhls.sim import lutkernel

    cc = lutkernel.shutil.which("gcc") or lutkernel.shutil.which("cc")
    key = lutkernel.cache_key(cc)
    monkeypatch.setattr(lutkernel, "cpu_identity", lambda: "another cpu")
    assert lutkernel.cache_key(cc) != key
    monkeypatch.setattr(lutkernel, "FLAGS", ("-O2",))
    assert len({key, lutkernel.cache_key(cc)}) == 2


def test_single_add_states_what_it_inferred(tmp_path, capsys):
    src = _write(tmp_path, "mul8u_dropa0.c", U64_BA)
    assert main(["multipliers", "add", str(src), "--verilog", str(_write(tmp_path, "m.v", DROPA0_V))]) == 0
    out = capsys.readouterr().out
    assert "a = parameter A (second, by name)" in out and "unsigned (name mul8u_dropa0 says mul8u)" in out
    assert "proven:" in out and "mul8u_dropa0" in out
    assert main(["multipliers", "add", str(src)]) == 2  # exists: --force or another --name
    assert main(["multipliers", "add", str(src), "--force"]) == 0
    assert os.path.isdir(user_dir() / "mul8u_dropa0")


def test_a_multiplier_that_always_returns_zero_is_emulated(tmp_path):
    """Real libraries contain degenerate designs (e.g. a constant-0 output); the emulator must still be exact."""
    from conftest import tiny_dense_ir

    from approxhls.sim.assignment import Assignment
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.reference import evaluate

    np.save(tmp_path / "zero.npy", np.zeros((256, 256), dtype=np.int64))
    d = add_multiplier(tmp_path / "zero.npy", "mul8u_zero")
    ir = tiny_dense_ir()
    node = ir.multiplying_nodes()[0]
    a = {node.name: Assignment(node.name, d.name, "plan", ir.input_type_of(node), node.type("weight"), d)}
    x = np.random.default_rng(0).integers(0, 256, (20, 6)) / 256
    assert np.array_equal(Emulator(ir, a).predict(x), evaluate(ir, x, a))


def _two_in_one_out(name, a="x", b="y", width=8):
    return f"module {name}(input [{width - 1}:0] {a}, input [{width - 1}:0] {b}, output [15:0] o);\n" \
           f"  assign o = {a} * {b};\nendmodule\n"


def test_read_ports_names_the_top_and_maps_operands_by_c_name_then_a_b_then_order():
    from approxhls.multipliers.circuit import read_ports

    p = read_ports(DROPA0_V, "m.v", name="mul8u_dropa0", operand_names=("B", "A"))
    assert (p.top, p.a, p.b, p.out, p.in_bits, p.out_bits) == ("mul8u_dropa0", "B", "A", "O", 8, 16)
    assert "named like the design" in p.how and "named like the C model's parameters" in p.how
    p = read_ports(DROPA0_V, "m.v", name="other")
    assert (p.top, p.a, p.b) == ("mul8u_dropa0", "A", "B")
    assert "instantiated by no other" in p.how and "(by name)" in p.how
    p = read_ports(_two_in_one_out("m", "q", "r"), "m.v", operand_names=("a", "b"))
    assert (p.a, p.b, p.out) == ("q", "r", "o") and "declaration order" in p.how


@pytest.mark.parametrize("verilog, needle", [
    (_two_in_one_out("m", width=4), "input x of m is 4 bits wide"),
    ("module m(input [7:0] a, output [15:0] o, output c);\n  assign o = a; assign c = 0;\nendmodule\n",
     "has inputs ['a'] and outputs ['o', 'c']"),
    ("// no module\n", "cannot tell the multiplier's top module"),
    ("module m(input a;\nendmodule\n", "Yosys cannot read this Verilog"),
])
def test_read_ports_refuses_what_is_not_one_8_bit_multiplier(verilog, needle):
    from approxhls.multipliers.circuit import read_ports

    with pytest.raises(ApproxHLSError, match=re.escape(needle)):
        read_ports(verilog, "m.v")
