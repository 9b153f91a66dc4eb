"""Verilog generators for the arithmetic that quantization puts into the datapath, each with a numpy model.

Every circuit is combinational, has integer input ports and one output ``y``, and is characterized like the
multiplier library: Yosys ``synth_xilinx`` LUTs (and DSPs when allowed), and the switching-energy proxy
(gate toggles per operation of the ``abc -g`` netlist on an NN-shaped input stream; the same simulation
checks that the netlist computes the model). :func:`simulate_rtl` checks the RTL itself with Icarus.

    mult            activation (unsigned) x weight (signed), exact
    acc             accumulator adder: acc + product
    requant_shift   constant right shift, round half to even, saturate (ReLU: to unsigned)
    requant_varshift  per-channel shift amount (power-of-two scale): barrel shifter + round + saturate
    requant_mult    per-channel fixed-point multiplier M, constant shift, round, saturate
    zero_point      x - z, an activation zero point handled in the datapath
    scale_rom       per-channel scale/shift storage (a ROM indexed by the channel)

Rounding is convergent (hls4ml's AP_RND_CONV for activations), saturation as AP_SAT.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from approxhls.errors import ApproxHLSError, ToolMissingError
from approxhls.multipliers.synth import netlist_switching, synthesize_source, to_signed
from approxhls.toolrun import run_tool

STREAM = 2048


@dataclass
class Circuit:
    kind: str
    params: dict
    inputs: dict            # port -> (bits, signed)
    out_bits: int
    out_signed: bool
    body: str               # Verilog statements computing y
    model: Callable         # numpy: model(**inputs) -> y
    stream: Callable        # stream(n, rng) -> {port: int64 array}

    @property
    def name(self) -> str:
        return self.kind + "".join(f"_{k}{v}" for k, v in sorted(self.params.items())).replace("-", "m")

    @property
    def verilog(self) -> str:
        ports = [f"    input {'signed ' if s else ''}[{b - 1}:0] {p}" for p, (b, s) in self.inputs.items()]
        ports.append(f"    output {'signed ' if self.out_signed else ''}[{self.out_bits - 1}:0] y")
        return f"module {self.name} (\n" + ",\n".join(ports) + "\n);\n" + self.body + "endmodule\n"

    @property
    def key(self) -> str:
        return hashlib.sha256(self.verilog.encode()).hexdigest()[:16]


# ---- numpy models -------------------------------------------------------------------------------------------

def round_shift(x: np.ndarray, shift) -> np.ndarray:
    """x / 2^shift rounded half to even (integers; shift >= 0, scalar or per element)."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    q = x >> shift
    rem = x - (q << shift)
    half = np.where(shift > 0, np.int64(1) << np.maximum(shift - 1, 0), 0)
    up = (shift > 0) & ((rem > half) | ((rem == half) & ((q & 1) == 1)))
    return q + up


def saturate(x, bits: int, unsigned: bool) -> np.ndarray:
    lo, hi = (0, (1 << bits) - 1) if unsigned else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return np.clip(x, lo, hi)


def _relu_stream(bits, n, rng, spread=4.0):
    hi = (1 << bits) - 1
    return np.clip(np.round(np.maximum(rng.normal(0, hi / spread, n), 0)), 0, hi).astype(np.int64)


def _signed_stream(bits, n, rng, spread=4.0):
    hi = (1 << (bits - 1)) - 1
    return np.clip(np.round(rng.normal(0, hi / spread, n)), -hi - 1, hi).astype(np.int64)


# ---- Verilog pieces -------------------------------------------------------------------------------------------

def _round_sat(src: str, width: int, shift: str, out_bits: int, relu: bool, const_shift: int | None) -> str:
    """Statements: y = saturate(round_half_even(src >>> shift)). ``src`` is a signed wire of ``width`` bits."""
    lo = 0 if relu else -(1 << (out_bits - 1))
    hi = (1 << out_bits) - 1 if relu else (1 << (out_bits - 1)) - 1
    w = max(width, out_bits) + 2
    if const_shift is not None and const_shift == 0:
        rnd = f"    wire signed [{w - 1}:0] r = {src};\n"
    else:
        rnd = (
            f"    wire signed [{width - 1}:0] q = {src} >>> {shift};\n"
            f"    wire [{width - 1}:0] mask = ({{{width}{{1'b1}}}} >> ({width} - {shift}));\n"
            f"    wire [{width - 1}:0] rem = {src} & mask;\n"
            f"    wire [{width - 1}:0] half = mask ^ (mask >> 1);\n"
            f"    wire up = ({shift} != 0) && ((rem > half) || ((rem == half) && q[0]));\n"
            f"    wire signed [{w - 1}:0] r = q + $signed({{1'b0, up}});\n"
        )
    return rnd + (
        f"    assign y = (r < {lo}) ? {lo} : (r > {hi}) ? {hi} : r[{out_bits - 1}:0];\n"
    )


# ---- generators -------------------------------------------------------------------------------------------------

def mult(a_bits: int, b_bits: int) -> Circuit:
    out = a_bits + b_bits
    return Circuit(
        "mult", {"a": a_bits, "b": b_bits}, {"a": (a_bits, False), "b": (b_bits, True)}, out, True,
        "    assign y = $signed({1'b0, a}) * b;\n",
        lambda a, b: a * b,
        lambda n, rng: {"a": _relu_stream(a_bits, n, rng), "b": _signed_stream(b_bits, n, rng, 6.0)},
    )


def acc(p_bits: int, acc_bits: int) -> Circuit:
    span = 1 << acc_bits

    def model(s, p):
        v = (s + p) % span
        return np.where(v >= span // 2, v - span, v)

    def stream(n, rng):
        p = _signed_stream(p_bits, n, rng, 6.0)
        s = np.cumsum(p) % span  # a running sum, as an accumulator sees it
        return {"s": np.where(s >= span // 2, s - span, s), "p": p}

    return Circuit("acc", {"p": p_bits, "acc": acc_bits}, {"s": (acc_bits, True), "p": (p_bits, True)}, acc_bits,
                   True, "    assign y = s + p;\n", model, stream)


def requant_shift(in_bits: int, out_bits: int, shift: int, relu: bool = True) -> Circuit:
    return Circuit(
        "requant_shift", {"i": in_bits, "o": out_bits, "s": shift, "r": int(relu)}, {"x": (in_bits, True)},
        out_bits, not relu, _round_sat("x", in_bits, str(shift), out_bits, relu, shift),
        lambda x: saturate(round_shift(x, shift), out_bits, relu),
        lambda n, rng: {"x": _signed_stream(in_bits, n, rng, 8.0)},
    )


def requant_varshift(in_bits: int, out_bits: int, shift_bits: int, relu: bool = True) -> Circuit:
    def stream(n, rng):
        return {"x": _signed_stream(in_bits, n, rng, 8.0),
                "sh": (np.arange(n) % (1 << shift_bits)).astype(np.int64)}  # channel after channel

    return Circuit(
        "requant_varshift", {"i": in_bits, "o": out_bits, "sb": shift_bits, "r": int(relu)},
        {"x": (in_bits, True), "sh": (shift_bits, False)}, out_bits, not relu,
        _round_sat("x", in_bits, "sh", out_bits, relu, None),
        lambda x, sh: saturate(round_shift(x, sh), out_bits, relu), stream,
    )


def requant_mult(in_bits: int, out_bits: int, m_bits: int, shift: int, relu: bool = True) -> Circuit:
    w = in_bits + m_bits + 1
    body = f"    wire signed [{w - 1}:0] z = x * $signed({{1'b0, m}});\n" + _round_sat("z", w, str(shift), out_bits, relu, shift)

    def stream(n, rng):
        scales = rng.integers(1 << (m_bits - 1), 1 << m_bits, 16)  # normalized per-channel multipliers
        return {"x": _signed_stream(in_bits, n, rng, 8.0), "m": scales[np.arange(n) % 16].astype(np.int64)}

    return Circuit(
        "requant_mult", {"i": in_bits, "o": out_bits, "m": m_bits, "s": shift, "r": int(relu)},
        {"x": (in_bits, True), "m": (m_bits, False)}, out_bits, not relu, body,
        lambda x, m: saturate(round_shift(x * m, shift), out_bits, relu), stream,
    )


def zero_point(in_bits: int, zp_bits: int) -> Circuit:
    out = max(in_bits, zp_bits) + 1
    return Circuit(
        "zero_point", {"i": in_bits, "z": zp_bits}, {"x": (in_bits, False), "z": (zp_bits, False)}, out, True,
        "    assign y = $signed({1'b0, x}) - $signed({1'b0, z});\n",
        lambda x, z: x - z,
        lambda n, rng: {"x": _relu_stream(in_bits, n, rng), "z": np.full(n, (1 << zp_bits) // 3, dtype=np.int64)},
    )


def scale_rom(entries: int, width: int, seed: int = 0) -> Circuit:
    addr_bits = max(1, (entries - 1).bit_length())
    table = np.random.default_rng(seed).integers(1 << (width - 1), 1 << width, entries).astype(np.int64)
    cases = "".join(f"            {addr_bits}'d{i}: t = {width}'d{int(v)};\n" for i, v in enumerate(table))
    body = (f"    reg [{width - 1}:0] t;\n    always @(*) begin\n        case (a)\n{cases}"
            f"            default: t = {width}'d0;\n        endcase\n    end\n    assign y = t;\n")

    def model(a):
        return np.where(a < entries, table[np.minimum(a, entries - 1)], 0)

    return Circuit("scale_rom", {"n": entries, "w": width}, {"a": (addr_bits, False)}, width, False, body, model,
                   lambda n, rng: {"a": (np.arange(n) % entries).astype(np.int64)})


GENERATORS = {f.__name__: f for f in (mult, acc, requant_shift, requant_varshift, requant_mult, zero_point, scale_rom)}


def make(kind: str, **params) -> Circuit:
    try:
        return GENERATORS[kind](**params)
    except KeyError:
        raise ApproxHLSError(f"unknown circuit {kind!r}; known: {', '.join(GENERATORS)}") from None


# ---- checking and characterization ----------------------------------------------------------------------------------

def simulate_rtl(c: Circuit, vectors: dict[str, np.ndarray]) -> np.ndarray:
    """Run the RTL under Icarus Verilog on the vectors; returns y (signed if the circuit's output is)."""
    iverilog = shutil.which("iverilog")
    if iverilog is None:
        raise ToolMissingError("iverilog is not installed (Debian: apt-get install iverilog); it simulates the circuits")
    n = len(next(iter(vectors.values())))
    ports = list(c.inputs)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with open(tmp / "vec.txt", "w") as fh:
            for i in range(n):
                fh.write(" ".join(f"{int(vectors[p][i]) & ((1 << c.inputs[p][0]) - 1):x}" for p in ports) + "\n")
        regs = "".join(f"    reg [{b - 1}:0] {p};\n" for p, (b, _) in c.inputs.items())
        conns = ", ".join(f".{p}({p})" for p in ports) + ", .y(y)"
        fmt = " ".join(["%h"] * len(ports))
        tb = (f"module tb;\n{regs}    wire [{c.out_bits - 1}:0] y;\n    integer fd, fo, k;\n"
              f"    {c.name} dut({conns});\n    initial begin\n"
              f"        fd = $fopen(\"vec.txt\", \"r\"); fo = $fopen(\"out.txt\", \"w\");\n"
              f"        while (!$feof(fd)) begin\n            k = $fscanf(fd, \"{fmt}\\n\", {', '.join(ports)});\n"
              f"            #1 $fdisplay(fo, \"%h\", y);\n        end\n        $fclose(fo); $finish;\n    end\nendmodule\n")
        (tmp / "dut.v").write_text(c.verilog + tb)
        r = run_tool([iverilog, "-o", "sim", "dut.v"], cwd=tmp, what=f"compiling the circuit {c.name}", kind="compile")
        if r.returncode:
            raise ApproxHLSError(f"iverilog rejected {c.name}:\n{r.stderr[-2000:]}")
        r = run_tool(["vvp", "-n", "sim"], cwd=tmp, what=f"simulating the circuit {c.name}", kind="run")
        if r.returncode:
            raise ApproxHLSError(f"simulation of {c.name} failed:\n{r.stderr[-2000:]}")
        y = np.array([int(v, 16) for v in (tmp / "out.txt").read_text().split()], dtype=np.int64)
    return to_signed(y, c.out_bits) if c.out_signed else y


def _cache_path() -> Path:
    from approxhls.home import home

    return home() / "circuits.json"


def cached(c: Circuit) -> dict | None:
    path = _cache_path()
    return json.loads(path.read_text()).get(c.key) if path.exists() else None


def characterize(c: Circuit, use_cache: bool = True) -> dict:
    """LUTs, DSPs and toggles per operation of a circuit (cached by its Verilog text)."""
    path = _cache_path()
    cache = json.loads(path.read_text()) if use_cache and path.exists() else {}
    if c.key in cache:
        return cache[c.key]
    syn = synthesize_source(c.verilog, c.name)
    stream = c.stream(STREAM, np.random.default_rng(0))
    masked = {p: stream[p] & ((1 << b) - 1) for p, (b, _) in c.inputs.items()}
    switching = netlist_switching(syn["netlist"], masked, "y", c.out_signed, c.model(**stream), c.name,
                                  lambda k: str({p: int(v[k]) for p, v in stream.items()}))
    entry = {"name": c.name, "luts": syn["luts"], "dsp": syn["dsp"], "luts_with_dsp": syn["luts_with_dsp"],
             **switching}
    if use_cache:
        cache = json.loads(path.read_text()) if path.exists() else {}
        cache[c.key] = entry
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        tmp.replace(path)
    return entry
