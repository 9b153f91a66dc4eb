"""A design's characterized gate netlist, and the C++ that computes exactly that netlist.

The netlist is the one the energy proxy simulates: the design's Verilog through Yosys ``synth -flatten; abc -g``
(simple two-input gates and multiplexers). It is kept compact (nets renumbered, gates in topological order) in
``netlists.json`` beside this module for the built-in designs (``approxhls multipliers characterize`` writes it,
a test checks it is current), and in ``$APPROXHLS_HOME/netlists.json`` for a user's designs, computed on first use.

:func:`netlist_cpp` writes it as bit-level C++ (one boolean per gate, as EvoApprox's own C models are written), so
the product the HLS kernels compute is the characterized circuit, gate for gate; a test compiles it with g++ and
compares every operand pair with the design's table. What Vitis HLS may still do: it re-runs logic optimization on
these expressions and Vivado maps them to LUTs its own way (different LUT counts than Yosys, and with constant
weights both specialize the circuit further); it cannot change the function, only its implementation.
"""

from __future__ import annotations

import json
from pathlib import Path

from approxhls.errors import ApproxHLSError
from approxhls.multipliers.gateorder import in_dependency_order

SHIPPED = Path(__file__).with_name("netlists.json")
VERSION = 1
WHAT = "netlist cache"
GATES = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX"
# Yosys cell type -> (letter in the compact form, C++ expression over inputs A, B, S)
CELLS = {
    "$_AND_": ("A", "{A} & {B}"), "$_NAND_": ("N", "!({A} & {B})"), "$_OR_": ("O", "{A} | {B}"),
    "$_NOR_": ("R", "!({A} | {B})"), "$_XOR_": ("X", "{A} ^ {B}"), "$_XNOR_": ("Y", "!({A} ^ {B})"),
    "$_ANDNOT_": ("D", "{A} & !{B}"), "$_ORNOT_": ("E", "{A} | !{B}"), "$_NOT_": ("I", "!{A}"),
    "$_BUF_": ("U", "{A}"), "$_MUX_": ("M", "{S} ? {B} : {A}"),
}
EXPR = {letter: expr for letter, expr in CELLS.values()}
PINS = {"M": ("A", "B", "S"), "I": ("A",), "U": ("A",)}


def compact(module: dict) -> dict:
    """{"a": [ref, ...], "b": [...], "p": [...], "gates": ["L y a b [s]", ...]} from a Yosys JSON module. A ref is
    "a3"/"b5" (an operand bit), "g17" (a gate's output), or "0"/"1"."""
    ports = module["ports"]
    refs: dict = {net: f"{port}{i}" for port in ("a", "b") for i, net in enumerate(ports[port]["bits"])}
    gates = []

    def place(cell) -> bool:
        letter = CELLS.get(cell["type"], (None,))[0]
        if letter is None:
            raise ApproxHLSError(f"unexpected cell {cell['type']} in the gate netlist")
        conn = cell["connections"]
        ins = [_ref(refs, conn[p][0]) for p in PINS.get(letter, ("A", "B"))]
        if any(r is None for r in ins):
            return False
        refs[conn["Y"][0]] = f"g{len(gates)}"
        gates.append(" ".join([letter, *ins]))
        return True

    in_dependency_order(module["cells"].values(), place)
    out = [_ref(refs, net) for net in ports["p"]["bits"]]
    if any(r is None for r in out):
        raise ApproxHLSError("the product port of the gate netlist has undriven bits")
    return {"a": [f"a{i}" for i in range(len(ports["a"]["bits"]))], "b": [f"b{i}" for i in range(len(ports["b"]["bits"]))],
            "p": out, "gates": gates}


def _ref(refs: dict, net):
    if isinstance(net, str):
        return "0" if net in ("0", "x", "z") else "1"
    return refs.get(net)


def synthesize_netlist(design) -> dict:
    """The design's gate netlist (Yosys), compact."""
    import tempfile

    from approxhls.multipliers.hdl import verilog_source
    from approxhls.multipliers.synth import yosys_path
    from approxhls.toolrun import run_tool

    top = design.verilog_top
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "dut.v").write_text(verilog_source(design))
        script = f"read_verilog dut.v; synth -flatten -top {top}; abc -g {GATES}; opt_clean; write_json gates.json"
        res = run_tool([yosys_path(), "-q", "-p", script], cwd=tmp, kind="synth",
                       what=f"synthesizing the gate netlist of {design.name}")
        if res.returncode != 0:
            raise ApproxHLSError(f"yosys failed on {design.name}:\n{(res.stdout + res.stderr)[-3000:]}")
        module = json.loads(Path(tmp, "gates.json").read_text())["modules"][top]
    return compact(module)


def user_cache_path() -> Path:
    from approxhls.home import home

    return home() / "netlists.json"


def _shipped() -> dict:
    from approxhls.multipliers import jsoncache

    return jsoncache.read(SHIPPED, VERSION, WHAT)


def gate_netlist(design, synthesize: bool = True) -> dict | None:
    """The design's compact gate netlist: shipped, cached, or (``synthesize``) made with Yosys and cached."""
    from approxhls.multipliers import jsoncache

    if not design.verilog():
        return None
    found = _shipped().get(design.key) or jsoncache.read(user_cache_path(), VERSION, WHAT).get(design.key)
    if found is not None or not synthesize:
        return found
    net = synthesize_netlist(design) | {"name": design.name}
    jsoncache.update(user_cache_path(), VERSION, WHAT, lambda entries: entries.__setitem__(design.key, net))
    return net


def write_shipped(designs) -> Path:
    """Regenerate ``netlists.json`` for ``designs`` (the built-ins), reusing current entries."""
    from approxhls.multipliers import jsoncache

    current = _shipped()
    entries = {d.key: current.get(d.key) or (synthesize_netlist(d) | {"name": d.name}) for d in designs if d.verilog()}
    lines = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in sorted(entries.items()))
    SHIPPED.write_text(f'{{"version": {VERSION}, "entries": {{\n{lines}\n}}}}\n')  # one design a line
    jsoncache.read(SHIPPED, VERSION, WHAT)  # it parses
    return SHIPPED


def _c(ref: str) -> str:
    return {"0": "false", "1": "true"}.get(ref, ref)


def netlist_cpp(design, net: dict) -> str:
    """``static inline T NAME(T a, T b)`` computing the netlist bit by bit (T: int32_t signed, uint32_t unsigned)."""
    ob = len(net["p"])
    lines = [f"{design.signature()} {{",
             f"    // {len(net['gates'])} gates of the characterized netlist (Yosys synth; abc -g {GATES})"]
    used = {r for gate in net["gates"] for r in gate.split()[1:]} | set(net["p"])
    for port in ("a", "b"):  # the operand bits the circuit reads (an unused one would be a compiler warning)
        lines += [f"    const bool {port}{i} = ({port} >> {i}) & 1;" for i in range(len(net[port])) if f"{port}{i}" in used]
    for k, gate in enumerate(net["gates"]):
        letter, *ins = gate.split()
        pins = dict(zip(PINS.get(letter, ("A", "B")), (_c(r) for r in ins)))
        lines.append(f"    const bool g{k} = {EXPR[letter].format(**pins)};")
    bits = " | ".join(f"((uint32_t){_c(r)} << {i})" for i, r in enumerate(net["p"]) if r != "0") or "0u"
    lines.append(f"    const uint32_t p = {bits};")
    if design.signed:  # the product port is a two's complement word of ob bits
        lines.append(f"    return (int32_t)p - (int32_t)((p >> {ob - 1}) & 1u) * (int32_t)(1u << {ob});")
    else:
        lines.append("    return p;")
    return "\n".join(lines) + "\n}\n"

