"""A user's Verilog multiplier: its top module and ports, read by Yosys, and the wrapper approxhls drives it through.

Library circuits come as a top module with two operand inputs and one product output (EvoApprox:
``module mul8u_XYZ(A, B, O)`` plus the cell modules it instantiates). Yosys reads the file and names the top
(the module called like the design, else the one nothing instantiates) and its ports in declaration order.
Inputs are matched to the C model's operands by name (A/B), else to ``a``/``b``, else by order. The wrapper
``NAME_approxhls(a, b, p)`` instantiates the top so that every tool approxhls runs on built-in designs
(Icarus' exhaustive simulation, Yosys synthesis, the gate-level energy proxy) runs on it unchanged.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from approxhls.errors import ApproxHLSError
from approxhls.toolrun import run_tool


@dataclass(frozen=True)
class Ports:
    top: str
    a: str        # input port carrying the activation operand
    b: str        # input port carrying the weight operand
    out: str
    in_bits: int
    out_bits: int
    how: str

    def to_json(self) -> dict:
        return self.__dict__.copy()


def _modules(verilog: str, path) -> dict:
    from approxhls.multipliers.synth import yosys_path

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "user.v"
        src.write_text(verilog)
        res = run_tool([yosys_path(), "-q", "-p", "read_verilog user.v; hierarchy -auto-top; write_json m.json"],
                       cwd=tmp, what=f"reading the Verilog of {path}", kind="parse")
        if res.returncode != 0:
            raise ApproxHLSError(f"{path}: Yosys cannot read this Verilog:\n{(res.stdout + res.stderr)[-2000:]}")
        return json.loads((Path(tmp) / "m.json").read_text())["modules"]


def read_ports(verilog: str, path, name: str | None = None, operand_names: tuple[str, str] | None = None,
               bits: int = 8) -> Ports:
    """The multiplier's top module and how its ports map to a, b and the product.

    ``operand_names``: the C model's parameter names for (a, b), to match input ports by name.
    """
    modules = _modules(verilog, path)
    if name in modules:
        top, how = name, f"top module {name} (named like the design)"
    else:
        tops = [m for m, v in modules.items() if int(v.get("attributes", {}).get("top", "0"), 2)]
        if len(tops) != 1:
            raise ApproxHLSError(f"{path}: cannot tell the multiplier's top module among {', '.join(modules)}")
        top, how = tops[0], f"top module {tops[0]} (instantiated by no other)"
    ports = modules[top]["ports"]
    ins = [(p, len(v["bits"])) for p, v in ports.items() if v["direction"] == "input"]
    outs = [(p, len(v["bits"])) for p, v in ports.items() if v["direction"] == "output"]
    if len(ins) != 2 or len(outs) != 1:
        raise ApproxHLSError(f"{path}: module {top} has inputs {[p for p, _ in ins]} and outputs {[p for p, _ in outs]}; "
                             f"a multiplier has two operand inputs and one product output")
    for p, w in ins:
        if w != bits:
            raise ApproxHLSError(f"{path}: input {p} of {top} is {w} bits wide; the operands are {bits}-bit codes")
    names = [p for p, _ in ins]
    lower = [p.lower() for p in names]
    wanted = [n.lower() for n in operand_names] if operand_names else None
    if wanted and sorted(wanted) == sorted(lower):
        a, b = names[lower.index(wanted[0])], names[lower.index(wanted[1])]
        how += f"; a = port {a}, b = port {b} (named like the C model's parameters)"
    elif sorted(lower) == ["a", "b"]:
        a, b = names[lower.index("a")], names[lower.index("b")]
        how += f"; a = port {a}, b = port {b} (by name)"
    else:
        a, b = names
        how += f"; a = port {a}, b = port {b} (declaration order)"
    out, out_bits = outs[0]
    return Ports(top, a, b, out, bits, out_bits, how)


def wrapper_module(module: str, ports: Ports, signed: bool) -> str:
    """``module(a, b, p)``: the user's top with approxhls' port names (p as wide as the user's product)."""
    s = "signed " if signed else ""
    n, o = ports.in_bits, ports.out_bits
    return (f"module {module}(input {s}[{n - 1}:0] a, input {s}[{n - 1}:0] b, output {s}[{o - 1}:0] p);\n"
            f"  {ports.top} approxhls_user_core(.{ports.a}(a), .{ports.b}(b), .{ports.out}(p));\n"
            f"endmodule\n")
