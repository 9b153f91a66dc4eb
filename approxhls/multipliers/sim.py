"""Tabulate designs through their C++ (g++) and their Verilog (Icarus Verilog) over every operand pair.

Every compile and run has a deadline (:func:`approxhls.toolrun.run_tool`): a C++ function or a circuit that never
settles ends in an error naming it and the limit. Products go to files; whatever a design prints is discarded.
"""

from __future__ import annotations

import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.multipliers.cmodel import exit_text
from approxhls.multipliers.codegen import cpp_header, verilog_testbench
from approxhls.multipliers.hdl import verilog_source
from approxhls.multipliers.design import Design
from approxhls.toolrun import require, run_tool


def _what(designs: list[Design], source) -> str:
    names = ", ".join(d.name for d in designs[:3]) + (f" and {len(designs) - 3} more" if len(designs) > 3 else "")
    return f"{names} (from {source})" if source else names


def _loop(d: Design) -> str:
    """Every operand pair of ``d`` in bit-pattern order; signed designs get the sign-extended value."""
    n, cast = d.bits, f"({d.ctype})"
    conv = f"(({n} < 32 && (v >> {n - 1}) & 1) ? (int32_t)v - (1 << {n}) : (int32_t)v)" if d.signed else "v"
    return (f"    for (uint32_t x = 0; x < {1 << n}u; x++) for (uint32_t y = 0; y < {1 << n}u; y++) {{\n"
            f"        uint32_t v = x; {d.ctype} a = {cast}{conv};\n"
            f"        v = y; {d.ctype} b = {cast}{conv};\n"
            f"        int32_t r = (int32_t){d.name}(a, b);\n"
            f"        if (fwrite(&r, sizeof r, 1, f) != 1) return 3;\n"
            f"    }}\n")


def tabulate_cpp(designs: list[Design], extra_flags: tuple[str, ...] = (), source=None) -> dict[str, np.ndarray]:
    """Compile every design's C++ into one program (g++ -Wall -Werror) and tabulate them all.

    ``source``: the file the designs came from, named in errors."""
    gxx = require("g++")
    what = _what(designs, source)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "mults.h").write_text(cpp_header(designs))
        (tmp / "main.cpp").write_text(
            '#include <cstdio>\n#include "mults.h"\nint main(int, char **argv) {\n'
            '    FILE *f = std::fopen(argv[1], "wb");\n    if (!f) return 3;\n'
            + "".join(_loop(d) for d in designs) + "    return std::fclose(f) != 0;\n}\n")
        cmd = [gxx, "-O1", "-std=c++11", "-Wall", "-Wextra", "-Werror", *extra_flags, "-o", "tab", "main.cpp"]
        res = run_tool(cmd, cwd=tmp, kind="compile", what=f"compiling the HLS C++ of {what}")
        if res.returncode != 0:
            raise ApproxHLSError(f"the HLS C++ of {what} does not compile cleanly:\n{res.stderr[:3000]}")
        run = run_tool([tmp / "tab", tmp / "products.bin"], cwd=tmp, kind="run", text=False,
                       stdout=subprocess.DEVNULL, what=f"tabulating the HLS C++ of {what}")
        if run.returncode != 0:
            raise ApproxHLSError(f"tabulating the HLS C++ of {what} failed ({exit_text(run.returncode)})")
        flat = np.fromfile(tmp / "products.bin", dtype=np.int32).astype(np.int64)
    out, pos = {}, 0
    for d in designs:
        size = 1 << (2 * d.bits)
        out[d.name] = flat[pos : pos + size].reshape(1 << d.bits, 1 << d.bits)
        pos += size
    return out


def tabulate_verilog(design: Design, source=None) -> np.ndarray:
    """Simulate the design's Verilog with Icarus over every operand pair (``source``: its file, named in errors)."""
    iverilog, vvp = require("iverilog"), require("vvp", "iverilog")
    what = _what([design], source)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "dut.v").write_text(verilog_source(design))
        (tmp / "tb.v").write_text(verilog_testbench(design, "out.txt"))
        res = run_tool([iverilog, "-g2005", "-o", "sim", "tb.v", "dut.v"], cwd=tmp, kind="parse",
                       what=f"compiling the Verilog of {what}")
        if res.returncode != 0:
            raise ApproxHLSError(f"the Verilog of {what} does not compile:\n{res.stderr[:3000]}")
        res = run_tool([vvp, "-n", "sim"], cwd=tmp, kind="run", stdout=subprocess.DEVNULL,
                       what=f"simulating the Verilog of {what} over every operand pair (a circuit that never settles "
                            f"ends this way)")
        if res.returncode != 0:
            raise ApproxHLSError(f"simulation of {what} failed:\n{res.stderr[:3000]}")
        out = tmp / "out.txt"
        text = out.read_text(errors="replace") if out.exists() else ""
    size = 1 << design.bits
    try:
        vals = np.array(text.split(), dtype=np.int64)
    except ValueError:  # 'x' or 'z': an output that is not driven for some operand pair
        vals = None
    if vals is None or vals.size != size * size:
        got = "values that are not integers (undriven or unknown bits)" if vals is None else f"{vals.size} products"
        raise ApproxHLSError(f"simulation of {what} wrote {got}, expected {size * size} products")
    return vals.reshape(size, size)


def tabulate_verilog_many(designs: list[Design], jobs: int = 2) -> dict[str, np.ndarray]:
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(zip([d.name for d in designs], pool.map(tabulate_verilog, designs)))


def first_difference(expected: np.ndarray, actual: np.ndarray, design: Design) -> str | None:
    """'a=.., b=..: expected .., got ..' for the first differing operand pair, or None."""
    diff = np.argwhere(expected != actual)
    if len(diff) == 0:
        return None
    i, j = map(int, diff[0])
    codes = design.codes()
    return (f"{design.name}: first difference at a={int(codes[i])}, b={int(codes[j])}: "
            f"expected {int(expected[i, j])}, got {int(actual[i, j])} ({len(diff)} pairs differ)")
