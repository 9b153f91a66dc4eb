"""Tabulate designs through their C++ (g++) and their Verilog (Icarus Verilog) over every operand pair."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError, ToolMissingError
from approxhls.multipliers.codegen import cpp_header, verilog_source, verilog_testbench
from approxhls.multipliers.design import Design


def _need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissingError(f"{tool} is not installed; install the Debian package {package} (`apt-get install {package}`)")
    return path


def tabulate_cpp(designs: list[Design], extra_flags: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Compile every design's C++ into one program (g++ -Wall -Werror) and tabulate them all."""
    gxx = _need("g++", "g++")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "mults.h").write_text(cpp_header(designs))
        loops = []
        for d in designs:
            n = d.bits
            cast = f"({d.ctype})"
            # operand codes in bit-pattern order; signed designs get the sign-extended value
            conv = (f"(({n} < 32 && (v >> {n - 1}) & 1) ? (int32_t)v - (1 << {n}) : (int32_t)v)" if d.signed else "v")
            loops.append(
                f"    for (uint32_t x = 0; x < {1 << n}u; x++) for (uint32_t y = 0; y < {1 << n}u; y++) {{\n"
                f"        uint32_t v = x; {d.ctype} a = {cast}{conv};\n"
                f"        v = y; {d.ctype} b = {cast}{conv};\n"
                f"        int32_t r = (int32_t){d.name}(a, b);\n"
                f"        fwrite(&r, sizeof r, 1, stdout);\n"
                f"    }}\n"
            )
        (tmp / "main.cpp").write_text(
            '#include <cstdio>\n#include "mults.h"\nint main() {\n' + "".join(loops) + "    return 0;\n}\n"
        )
        cmd = [gxx, "-O1", "-std=c++11", "-Wall", "-Wextra", "-Werror", *extra_flags, "-o", "tab", "main.cpp"]
        res = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        if res.returncode != 0:
            raise ApproxHLSError(f"generated multiplier C++ does not compile cleanly:\n{res.stderr[:3000]}")
        run = subprocess.run([str(tmp / "tab")], capture_output=True, timeout=300)
        if run.returncode != 0:
            raise ApproxHLSError(f"multiplier C++ tabulation crashed (exit {run.returncode})")
    flat = np.frombuffer(run.stdout, dtype=np.int32).astype(np.int64)
    out, pos = {}, 0
    for d in designs:
        size = 1 << (2 * d.bits)
        out[d.name] = flat[pos : pos + size].reshape(1 << d.bits, 1 << d.bits)
        pos += size
    return out


def tabulate_verilog(design: Design) -> np.ndarray:
    """Simulate the design's Verilog with Icarus over every operand pair."""
    iverilog, vvp = _need("iverilog", "iverilog"), _need("vvp", "iverilog")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "dut.v").write_text(verilog_source(design))
        (tmp / "tb.v").write_text(verilog_testbench(design, "out.txt"))
        res = subprocess.run([iverilog, "-g2005", "-o", "sim", "tb.v", "dut.v"], cwd=tmp, capture_output=True, text=True)
        if res.returncode != 0:
            raise ApproxHLSError(f"Verilog of {design.name} does not compile:\n{res.stderr[:3000]}")
        res = subprocess.run([vvp, "-n", "sim"], cwd=tmp, capture_output=True, text=True, timeout=600)
        if res.returncode != 0:
            raise ApproxHLSError(f"simulation of {design.name} failed:\n{res.stderr[:3000]}")
        text = (tmp / "out.txt").read_text()
    vals = np.array(text.split(), dtype=np.int64)
    size = 1 << design.bits
    if vals.size != size * size:
        raise ApproxHLSError(f"simulation of {design.name} wrote {vals.size} products, expected {size * size}")
    return vals.reshape(size, size)


def tabulate_verilog_many(designs: list[Design], jobs: int = 2) -> dict[str, np.ndarray]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
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
