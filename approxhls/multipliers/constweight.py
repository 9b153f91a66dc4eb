"""What a multiplier costs when its weight operand is a constant, as in hls4ml's dataflow at reuse factor 1.

There every product of a Dense/Conv layer has its own multiplier whose weight is fixed, and logic synthesis
specializes the circuit to that weight: an exact 8x8 product by a typical weight code is a handful of LUTs, not a
hundred. This module prices such circuits: the design's Verilog with the weight port tied to the code, Yosys
``synth_xilinx -nodsp`` (LUT fabric; a DSP48 is a separate baseline, see :mod:`approxhls.cost.architecture`).

One Yosys run prices many codes at once: each code is a wrapper module marked ``keep_hierarchy`` that instantiates
the design with the weight tied; ``-flatten`` inlines the design into every wrapper (so each is specialized on its
own, with no sharing between codes) and ``stat`` counts each wrapper's LUTs. Runs go in parallel, a progress bar
counts codes, and results are kept in ``$APPROXHLS_HOME/constant_weight.json`` (beside the multiplier catalog), keyed
by the circuit's identity, so a code is synthesized once per design and activation signedness, and only the codes
a model uses are ever synthesized (at most 2^bits per circuit).

Sign handling follows the HLS kernels (templates/approxhls_product.h): a natively signed design multiplies the
two's complement codes (the key is the signed weight code); an unsigned core multiplies magnitudes, and the
product's sign, fixed for a constant weight, is absorbed by the accumulation (an adder that subtracts costs the
same), so the key is |w|. With signed activations an unsigned core also needs |x| and a conditional negation,
which the circuit includes. The exact product of any operand widths is priced the same way (``exact_circuit``).
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from approxhls.errors import ApproxHLSError

CACHE_VERSION = 1
CHUNK = 48  # codes per Yosys run: the run's fixed cost (~8 s of cell libraries) against a progress bar that moves


@dataclass(frozen=True)
class ConstCircuit:
    """A multiplier family whose weight operand is tied: one circuit per weight code."""

    ident: str          # cache key: the design's key (or the exact product's widths) and the activation signedness
    name: str           # for people: design name and activation signedness
    x_bits: int
    x_signed: bool
    w_bits: int         # width of the tied code
    w_signed: bool      # the code is a two's complement value (natively signed designs), else a magnitude
    out_bits: int
    core_bits: int      # width of the core's product port
    core: str           # Verilog of the modules the wrappers instantiate ("" for the plain exact product)
    top: str            # module instantiated as top(.a, .b, .p); "" for the plain product

    @property
    def out_signed(self) -> bool:
        """The tied product is a two's complement word (else an unsigned core's unsigned product)."""
        return self.x_signed or self.w_signed or not self.top

    def code_range(self) -> tuple[int, int]:
        if self.w_signed:
            return -(1 << (self.w_bits - 1)), (1 << (self.w_bits - 1)) - 1
        return 0, (1 << self.w_bits) - 1

    def wrapper(self, code: int) -> str:
        """The module ``cw_<code>(a, p)``: the circuit with the weight tied to ``code``."""
        lo, hi = self.code_range()
        if not lo <= code <= hi:
            raise ApproxHLSError(f"{self.name}: weight code {code} outside {lo}..{hi}")
        xs = "signed " if self.x_signed else ""
        xb, ob = self.x_bits, self.out_bits
        mod = f"cw_{code}".replace("-", "m")
        tied = f"{self.w_bits}'d{code & ((1 << self.w_bits) - 1)}"
        ps = "signed " if self.out_signed else ""
        head = f"(* keep_hierarchy *)\nmodule {mod}(input {xs}[{xb - 1}:0] a, output {ps}[{ob - 1}:0] p);\n"
        if not self.top:  # plain exact product; the weight's sign is absorbed by the accumulation
            return head + f"  assign p = a * $signed({{1'b0, {tied}}});\nendmodule\n"
        if self.w_signed or not self.x_signed:  # native signed design, or an unsigned core on unsigned activations
            return head + (f"  wire [{self.core_bits - 1}:0] m;\n  {self.top} u(.a(a), .b({tied}), .p(m));\n"
                           f"  assign p = m;\nendmodule\n")
        # unsigned core on signed activations: |x| in, conditional negation out (sign-magnitude)
        return head + (f"  wire [{xb - 1}:0] mag = a[{xb - 1}] ? -a : a;\n  wire [{self.core_bits - 1}:0] m;\n"
                       f"  {self.top} u(.a(mag), .b({tied}), .p(m));\n"
                       f"  wire signed [{ob - 1}:0] s = {{1'b0, m}};\n"
                       f"  assign p = a[{xb - 1}] ? -s : s;\nendmodule\n")


def design_circuit(design, x_signed: bool) -> ConstCircuit:
    """A library design with its weight tied, fed activations of the given signedness."""
    if not design.verilog():
        raise ApproxHLSError(f"{design.name} has no circuit (Verilog): its constant-weight cost cannot be synthesized; "
                             f"add its Verilog (`approxhls multipliers add MODEL.c --verilog MODEL.v`)")
    core = design.verilog_out_bits
    out = core + (1 if x_signed and not design.signed else 0)
    return ConstCircuit(f"{design.key}/x{'s' if x_signed else 'u'}", f"{design.name} (x {'signed' if x_signed else 'unsigned'})",
                        design.bits, bool(x_signed or design.signed), design.bits, design.signed, out, core,
                        design.verilog(), design.verilog_top)


def exact_circuit(x_bits: int, x_signed: bool, w_bits: int) -> ConstCircuit:
    """The exact product of an activation and a weight magnitude of ``w_bits`` bits (the weight's sign is absorbed)."""
    # |w| of a two's complement weight fits w_bits unsigned bits (|-2^(n-1)| = 2^(n-1))
    out = x_bits + w_bits + 1
    return ConstCircuit(f"exact/x{x_bits}{'s' if x_signed else 'u'}/w{w_bits}",
                        f"exact {x_bits}x{w_bits} (x {'signed' if x_signed else 'unsigned'})",
                        x_bits, x_signed, w_bits, False, out, out, "", "")


def weight_key(circuit: ConstCircuit, w: int) -> int:
    """The code a weight value ``w`` (two's complement integer) is priced under."""
    return int(w) if circuit.w_signed else abs(int(w))


# ---- the cache ------------------------------------------------------------------------------------------------

def cache_path() -> Path:
    from approxhls.home import home

    return home() / "constant_weight.json"


WHAT = "constant-weight cache"


SHIPPED = Path(__file__).with_name("constant_weight.json")  # the circuits approxhls' benchmarks and tests use


def load_cache() -> dict:
    """ident -> {"name", "yosys", "luts": {code: LUTs}}: the shipped entries, extended by the user's cache."""
    from approxhls.multipliers import jsoncache

    merged = {k: dict(v, luts=dict(v["luts"])) for k, v in jsoncache.read(SHIPPED, CACHE_VERSION, WHAT).items()}
    for ident, entry in jsoncache.read(cache_path(), CACHE_VERSION, WHAT).items():
        merged.setdefault(ident, dict(entry, luts={}))["luts"].update(entry["luts"])
    return merged


def write_shipped(idents) -> Path:
    """Copy these circuits' cached costs into the shipped file (one circuit a line)."""
    import json

    cache = load_cache()
    entries = {k: cache[k] for k in sorted(idents) if k in cache}
    lines = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True, separators=(',', ':'))}"
                        for k, v in entries.items())
    SHIPPED.write_text(f'{{"version": {CACHE_VERSION}, "entries": {{\n{lines}\n}}}}\n')
    return SHIPPED


def _merge(circuit: ConstCircuit, luts: dict[int, int], yosys: str) -> None:
    from approxhls.multipliers import jsoncache

    def change(entries):
        entry = entries.setdefault(circuit.ident, {"name": circuit.name, "yosys": yosys, "luts": {}})
        entry["luts"].update({str(k): int(v) for k, v in luts.items()})

    jsoncache.update(cache_path(), CACHE_VERSION, WHAT, change)


# ---- synthesis -------------------------------------------------------------------------------------------------

def constant_source(circuit: ConstCircuit, codes: list[int]) -> str:
    """Verilog: the circuit's core, one kept wrapper per code, and a top instantiating them all."""
    ob = circuit.out_bits
    xs = "signed " if circuit.x_signed else ""
    inst = "".join(f"  cw_{c}".replace("-", "m") + f" i{k}(.a(a), .p(p[{ob * (k + 1) - 1}:{ob * k}]));\n"
                   for k, c in enumerate(codes))
    top = (f"module cw_top(input {xs}[{circuit.x_bits - 1}:0] a, output [{ob * len(codes) - 1}:0] p);\n"
           f"{inst}endmodule\n")
    return circuit.core + "\n" + "".join(circuit.wrapper(c) for c in codes) + top


def _module_luts(stat_text: str) -> dict[str, int]:
    """LUT count of every module in a hierarchical ``stat`` report."""
    out = {}
    for block in stat_text.split("=== ")[1:]:
        name = block.split(" ===", 1)[0].strip()
        out[name] = sum(int(m.group(2)) for m in re.finditer(r"^\s+(LUT\d)\s+(\d+)\s*$", block, re.M))
    return out


def synthesize_codes(circuit: ConstCircuit, codes: list[int]) -> dict[int, int]:
    """LUTs (``synth_xilinx -nodsp``) of the circuit tied to each code, in one Yosys run."""
    import tempfile

    from approxhls.multipliers.synth import yosys_path
    from approxhls.toolrun import run_tool

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "cw.v").write_text(constant_source(circuit, codes))
        script = "read_verilog cw.v; synth_xilinx -nodsp -flatten -top cw_top; tee -q -o stat.txt stat"
        res = run_tool([yosys_path(), "-q", "-p", script], cwd=tmp, kind="synth",
                       what=f"synthesizing {circuit.name} with {len(codes)} constant weights")
        if res.returncode != 0:
            raise ApproxHLSError(f"yosys failed on {circuit.name} with constant weights:\n"
                                 f"{(res.stdout + res.stderr)[-3000:]}")
        per_module = _module_luts(Path(tmp, "stat.txt").read_text())
    missing = [c for c in codes if f"cw_{c}".replace("-", "m") not in per_module]
    if missing:
        raise ApproxHLSError(f"yosys reported no module for weight codes {missing[:5]} of {circuit.name}")
    return {c: per_module[f"cw_{c}".replace("-", "m")] for c in codes}


def constant_luts(circuit: ConstCircuit, codes, jobs: int | None = None, progress: bool = True) -> dict[int, int]:
    """LUTs of the circuit for every code in ``codes``: cached ones read, missing ones synthesized (in parallel Yosys
    processes, with a progress bar) and added to the cache."""
    from tqdm.auto import tqdm

    from approxhls.multipliers.synth import yosys_version

    wanted = sorted({int(c) for c in codes})
    known = {int(k): v for k, v in load_cache().get(circuit.ident, {}).get("luts", {}).items()}
    todo = [c for c in wanted if c not in known]
    if todo:
        version = yosys_version()
        jobs = max(1, jobs or min(2, os.cpu_count() or 1))
        size = max(1, min(CHUNK, -(-len(todo) // jobs)))
        chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
        with ThreadPoolExecutor(max_workers=jobs) as pool, \
                tqdm(total=len(todo), desc=f"constant weights: {circuit.name}", unit="code", disable=not progress) as bar:
            for got in pool.map(lambda ch: synthesize_codes(circuit, ch), chunks):
                _merge(circuit, got, version)  # after each run: an interrupted characterization keeps its work
                known.update(got)
                bar.update(len(got))
    return {c: known[c] for c in wanted}
