"""The lookup tables of hls4ml's table-based activations, made by hls4ml's own C++.

sigmoid/tanh/softplus/softsign, elu and softmax fill their tables at the first call with single-precision libm
(``init_*_table`` in ``nnet_activation.h``). Recomputing them in numpy could differ from the C-simulation in
the last bit, so approxhls compiles a small program against the installed hls4ml's headers, with the flags of
the project's build_lib.sh, that calls the same init functions and writes the tables out. Results are cached
by the program's digest under ``$APPROXHLS_HOME/build/tables``.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.fixedpoint import FixedType
from approxhls.toolrun import require, run_tool


# tables filled by nnet::init_<kind>_table<CONFIG_T, N>(table) from CONFIG_T::table_t alone
UNARY_TABLES = ("sigmoid", "tanh", "softplus", "softsign", "elu")


@dataclass(frozen=True)
class TableSpec:
    """One table: which init function, its size, its type and (softmax) the type its index is read from."""

    kind: str                  # sigmoid, tanh, softplus, softsign, elu, exp, exp_negative, invert, exp_legacy, invert_legacy
    size: int
    type: FixedType
    index_type: FixedType | None = None
    exp_scale: float = 1.0

    def cpp(self, i: int) -> str:
        t = str(self.type)
        if self.kind in UNARY_TABLES:
            cfg = f"struct cfg{i} {{ static const unsigned table_size = {self.size}; typedef {t} table_t; }};\n"
            call = f"nnet::init_{self.kind}_table<cfg{i}, {self.size}>(t{i});"
        elif self.kind in ("exp_legacy", "invert_legacy"):
            cfg = f"struct cfg{i} {{ typedef {t} table_t; }};\n"
            call = f"nnet::init_{self.kind.replace('_legacy', '')}_table_legacy<cfg{i}, {self.size}>(t{i});"
        else:
            cfg = (f"struct cfg{i} {{ static const unsigned exp_table_size = {self.size}; "
                   f"static const unsigned inv_table_size = {self.size}; static constexpr float exp_scale = "
                   f"{self.exp_scale!r}; typedef {t} exp_table_t; typedef {t} inv_table_t; }};\n")
            fn = "init_invert_table" if self.kind == "invert" else "init_exp_table"
            neg = ", true" if self.kind == "exp_negative" else ""
            call = f"nnet::{fn}<{self.index_type}, cfg{i}>(t{i}{neg});"
        return cfg + (f"static void dump{i}(FILE *f) {{\n    static {t} t{i}[{self.size}];\n    {call}\n"
                      f"    for (unsigned k = 0; k < {self.size}; k++) {{ double v = t{i}[k].to_double(); "
                      f"fwrite(&v, sizeof v, 1, f); }}\n}}\n")


def hls4ml_templates() -> Path:
    import hls4ml

    return Path(hls4ml.__file__).parent / "templates" / "vivado"


def _cflags(gxx: str) -> list[str]:
    """build_lib.sh's flags: -O3 and the C++ standard the C-simulation uses (float libm results do not depend on
    the optimization level on x86-64, but the tables are made as hls4ml's own build makes them)."""
    from approxhls.sim.csimlib import standard_flags

    return ["-O3", *standard_flags(gxx)]


def make_tables(specs: list[TableSpec]) -> list[np.ndarray]:
    """Integer codes of every table (in its type), from one compiled program."""
    if not specs:
        return []
    from approxhls.home import build_cache

    gxx = require("g++")
    root = hls4ml_templates()
    flags = _cflags(gxx)
    source = ("#include <cstdio>\n#include \"ap_fixed.h\"\n#include \"nnet_utils/nnet_activation.h\"\n"
              + "".join(s.cpp(i) for i, s in enumerate(specs))
              + "int main(int argc, char **argv) {\n    FILE *f = fopen(argv[1], \"wb\");\n"
              + "".join(f"    dump{i}(f);\n" for i in range(len(specs))) + "    fclose(f);\n    return 0;\n}\n")
    digest = hashlib.sha256((source + " ".join(flags) + str(root)).encode()).hexdigest()[:20]
    cache = build_cache() / "tables" / f"{digest}.npy"
    if cache.exists():
        values = np.load(cache)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            src, exe, out = Path(tmp) / "tables.cpp", Path(tmp) / "tables", Path(tmp) / "tables.bin"
            src.write_text(source)
            cmd = [gxx, *flags, "-w", f"-I{root}", f"-I{root / 'ap_types'}", str(src), "-o", str(exe)]
            r = run_tool(cmd, what="compiling hls4ml's activation tables", kind="compile")
            if r.returncode != 0:
                raise ApproxHLSError(f"compiling hls4ml's activation tables failed:\n{r.stderr[-2000:]}")
            r = run_tool([str(exe), str(out)], what="making hls4ml's activation tables", kind="run")
            if r.returncode != 0:
                raise ApproxHLSError(f"making hls4ml's activation tables failed (exit {r.returncode})")
            values = np.fromfile(out, dtype=np.float64)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp_cache = cache.with_suffix(f".{id(values)}.tmp.npy")
        np.save(tmp_cache, values)
        tmp_cache.replace(cache)
    tables, pos = [], 0
    for s in specs:
        v = values[pos : pos + s.size]
        pos += s.size
        codes = np.ldexp(v, s.type.frac)
        if not np.array_equal(codes, np.round(codes)):
            raise ApproxHLSError(f"a {s.kind} table read back off the grid of {s.type}")
        tables.append(codes.astype(np.int64))
    return tables
