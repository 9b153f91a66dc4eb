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


def _top_module(modules: dict, name: str | None, path) -> tuple[str, str]:
    """The top module and how it was found: the one named like the design, else the one Yosys marks as top."""
    if name in modules:
        return name, f"top module {name} (named like the design)"
    tops = [m for m, v in modules.items() if int(v.get("attributes", {}).get("top", "0"), 2)]
    if len(tops) != 1:
        raise ApproxHLSError(f"{path}: cannot tell the multiplier's top module among {', '.join(modules)}")
    return tops[0], f"top module {tops[0]} (instantiated by no other)"


def _io_ports(module: dict, top: str, path, bits: int) -> tuple[list[str], tuple[str, int]]:
    """The two operand inputs (each ``bits`` wide) in declaration order and the (output, width)."""
    widths = {d: [(p, len(v["bits"])) for p, v in module["ports"].items() if v["direction"] == d]
              for d in ("input", "output")}
    ins, outs = widths["input"], widths["output"]
    if len(ins) != 2 or len(outs) != 1:
        raise ApproxHLSError(f"{path}: module {top} has inputs {[p for p, _ in ins]} and outputs {[p for p, _ in outs]}; "
                             f"a multiplier has two operand inputs and one product output")
    for p, w in ins:
        if w != bits:
            raise ApproxHLSError(f"{path}: input {p} of {top} is {w} bits wide; the operands are {bits}-bit codes")
    return [p for p, _ in ins], outs[0]


def _operands(names: list[str], operand_names: tuple[str, str] | None) -> tuple[str, str, str]:
    """(a port, b port, why): the first rule whose (a, b) names are the inputs' names (any case) wins."""
    lower = [p.lower() for p in names]
    rules = [(tuple(n.lower() for n in operand_names), "named like the C model's parameters")] if operand_names else []
    for wanted, why in rules + [(("a", "b"), "by name")]:
        if sorted(wanted) == sorted(lower):
            return names[lower.index(wanted[0])], names[lower.index(wanted[1])], why
    return names[0], names[1], "declaration order"


def read_ports(verilog: str, path, name: str | None = None, operand_names: tuple[str, str] | None = None,
               bits: int = 8) -> Ports:
    """The multiplier's top module and how its ports map to a, b and the product.

    ``operand_names``: the C model's parameter names for (a, b), to match input ports by name.
    """
    modules = _modules(verilog, path)
    top, how = _top_module(modules, name, path)
    names, (out, out_bits) = _io_ports(modules[top], top, path, bits)
    a, b, why = _operands(names, operand_names)
    return Ports(top, a, b, out, bits, out_bits, f"{how}; a = port {a}, b = port {b} ({why})")


def wrapper_module(module: str, ports: Ports, signed: bool) -> str:
    """``module(a, b, p)``: the user's top with approxhls' port names (p as wide as the user's product)."""
    s = "signed " if signed else ""
    n, o = ports.in_bits, ports.out_bits
    return (f"module {module}(input {s}[{n - 1}:0] a, input {s}[{n - 1}:0] b, output {s}[{o - 1}:0] p);\n"
            f"  {ports.top} approxhls_user_core(.{ports.a}(a), .{ports.b}(b), .{ports.out}(p));\n"
            f"endmodule\n")
