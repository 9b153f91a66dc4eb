"""Multipliers a user brings: a C model (EvoApprox style) or a 256x256 table.

A C file must define ``uint16_t FN(uint8_t a, uint8_t b)``; it is compiled with the system C compiler
and tabulated over all 65,536 operand pairs, and its source goes into HLS projects unchanged. A table is
a .npy or .csv of 256x256 integers. With ``signed``, operands are two's complement bit patterns and the
16-bit result is a two's complement product (as in EvoApprox's signed designs). Designs are stored under
``$APPROXHLS_HOME/multipliers/NAME`` (default ``~/.approxhls``); a failed add stores nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError, ToolMissingError
from approxhls.fsutil import atomic_directory
from approxhls.multipliers.design import Design
from approxhls.names import check_identifier

_SIG = re.compile(r"\buint16_t\s+([A-Za-z_]\w*)\s*\(\s*(?:const\s+)?uint8_t\s+\w+\s*,\s*(?:const\s+)?uint8_t\s+\w+\s*\)")


def home() -> Path:
    return Path(os.environ.get("APPROXHLS_HOME", Path.home() / ".approxhls"))


def user_dir() -> Path:
    return home() / "multipliers"


class TableDesign(Design):
    """A design given by its table (and, for C models, the C source and its function name)."""

    family = "user"
    description = "user-supplied multiplier (C model or table)"

    def __init__(self, name: str, table: np.ndarray, signed: bool, source: str | None = None,
                 function: str | None = None, origin: str = ""):
        super().__init__(bits=8, signed=signed)
        self._name = name
        self._user_table = np.asarray(table, dtype=np.int64)
        self.source, self.function, self.origin = source, function, origin

    @property
    def name(self) -> str:
        return self._name

    def definition(self) -> dict:
        d = super().definition()
        d["table_digest"] = hashlib.sha256(self._user_table.tobytes()).hexdigest()
        return d

    def model(self, a, b):
        mask = (1 << self.bits) - 1
        return self._user_table[np.asarray(a, dtype=np.int64) & mask, np.asarray(b, dtype=np.int64) & mask]

    def cpp(self) -> str:
        if self.source is not None:
            cast = "(int16_t)" if self.signed else ""
            return (
                f"// user C model {self.origin}, included unchanged\n{self.source.rstrip()}\n"
                f"{self.signature()} {{\n"
                f"    return {cast}{self.function}((uint8_t)(a & 0xff), (uint8_t)(b & 0xff));\n"
                f"}}\n"
            )
        ctype = "int16_t" if self.signed else "uint16_t"
        rows = ",\n".join(
            "    " + ", ".join(str(int(v)) for v in self._user_table.reshape(-1)[i : i + 32])
            for i in range(0, 65536, 32)
        )
        return (
            f"static const {ctype} {self._name}_table[65536] = {{\n{rows}\n}};\n"
            f"{self.signature()} {{\n"
            f"    return {self._name}_table[((a & 0xff) << 8) | (b & 0xff)];\n"
            f"}}\n"
        )

    def verilog(self) -> str:
        return ""  # no circuit is known for a user model: characterization reports errors only


def _validate_table(t: np.ndarray, signed: bool, what: str) -> np.ndarray:
    t = np.asarray(t)
    if t.shape != (256, 256):
        raise ApproxHLSError(f"{what}: a multiplier table must be 256x256, got shape {t.shape}")
    if not np.issubdtype(t.dtype, np.number):
        raise ApproxHLSError(f"{what}: table entries must be integers, got dtype {t.dtype}")
    tf = t.astype(np.float64)
    bad = ~np.isfinite(tf) | (tf != np.round(tf))
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        raise ApproxHLSError(f"{what}: entry [{r},{c}] = {t[r, c]!r} is not an integer")
    lo, hi = (-32768, 32767) if signed else (0, 65535)
    out = (tf < lo) | (tf > hi)
    if out.any():
        r, c = map(int, np.argwhere(out)[0])
        kind = "signed 16-bit" if signed else "unsigned 16-bit"
        raise ApproxHLSError(f"{what}: entry [{r},{c}] = {int(tf[r, c])} is outside the {kind} range [{lo}, {hi}]")
    return tf.astype(np.int64)


def _tabulate_c(source_path: Path, function: str, signed: bool) -> np.ndarray:
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        raise ToolMissingError("no C compiler found (cc/gcc); install one with `apt-get install gcc`")
    with tempfile.TemporaryDirectory() as tmp:
        harness = Path(tmp) / "tab.c"
        harness.write_text(
            f'#include <stdint.h>\n#include <stdio.h>\n#include "{source_path.resolve()}"\n'
            f"int main(void) {{\n"
            f"    static uint16_t out[65536];\n"
            f"    for (int a = 0; a < 256; a++) for (int b = 0; b < 256; b++)\n"
            f"        out[(a << 8) | b] = {function}((uint8_t)a, (uint8_t)b);\n"
            f"    fwrite(out, sizeof(uint16_t), 65536, stdout);\n"
            f"    return 0;\n}}\n"
        )
        exe = Path(tmp) / "tab"
        res = subprocess.run([cc, "-O1", "-std=gnu99", "-o", str(exe), str(harness)], capture_output=True, text=True)
        if res.returncode != 0:
            errs = "\n".join(line for line in res.stderr.splitlines() if "error" in line)[:2000]
            raise ApproxHLSError(f"{source_path} does not compile:\n{errs or res.stderr[:2000]}")
        run = subprocess.run([str(exe)], capture_output=True, timeout=60)
        if run.returncode != 0 or len(run.stdout) != 2 * 65536:
            raise ApproxHLSError(f"tabulating {function} from {source_path} failed (exit {run.returncode})")
    t = np.frombuffer(run.stdout, dtype=np.int16 if signed else np.uint16).astype(np.int64)
    return t.reshape(256, 256)


def add_multiplier(path, name: str, signed: bool = False, function: str | None = None) -> TableDesign:
    """Add a C model (.c/.h) or a table (.npy/.csv) to the user catalog under ``name``."""
    from approxhls.multipliers.registry import builtin_designs

    check_identifier(name, "multiplier name")
    if any(d.name == name for d in builtin_designs()):
        raise ApproxHLSError(f"{name!r} is a built-in multiplier; choose another name")
    path = Path(path)
    if not path.is_file():
        raise ApproxHLSError(f"{path} does not exist")
    source = fn = None
    if path.suffix in (".c", ".h"):
        source = path.read_text()
        found = _SIG.findall(source)
        fn = function or (name if name in found else (found[0] if len(found) == 1 else None))
        if fn is None or fn not in found:
            listed = ", ".join(found) or "none"
            raise ApproxHLSError(
                f"{path} does not define `uint16_t {function or name}(uint8_t a, uint8_t b)` "
                f"(functions with that signature found: {listed}); pass --function NAME"
            )
        table = _validate_table(_tabulate_c(path, fn, signed), signed, str(path))
    elif path.suffix == ".npy":
        table = _validate_table(np.load(path, allow_pickle=False), signed, str(path))
    elif path.suffix == ".csv":
        try:
            raw = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError as e:
            raise ApproxHLSError(f"{path}: not a table of numbers ({e})") from None
        table = _validate_table(raw, signed, str(path))
    else:
        raise ApproxHLSError(f"{path}: give a C model (.c) or a 256x256 table (.npy or .csv)")
    design = TableDesign(name, table, signed, source, fn, origin=path.name)
    _store(design)
    return design


def _store(design: TableDesign) -> None:
    with atomic_directory(user_dir() / design.name) as tmp:
        np.save(tmp / "table.npy", design._user_table)
        if design.source is not None:
            (tmp / "source.c").write_text(design.source)
        meta = {"name": design.name, "signed": design.signed, "function": design.function, "origin": design.origin}
        (tmp / "design.json").write_text(json.dumps(meta, indent=2))


def user_designs() -> list[TableDesign]:
    out = []
    root = user_dir()
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir()):
        meta_file = d / "design.json"
        if d.name.startswith(".") or not meta_file.exists():
            continue
        meta = json.loads(meta_file.read_text())
        src = (d / "source.c").read_text() if (d / "source.c").exists() else None
        out.append(TableDesign(meta["name"], np.load(d / "table.npy"), meta["signed"], src, meta.get("function"),
                               meta.get("origin", "")))
    return out


def remove_multiplier(name: str) -> None:
    d = user_dir() / name
    if not d.is_dir():
        raise ApproxHLSError(f"no user multiplier named {name!r}")
    shutil.rmtree(d)
