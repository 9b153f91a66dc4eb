"""C models of multipliers as libraries publish them: find the function, read its signature, tabulate it.

A model is any C function of two integer operands that returns an integer, e.g. the three shapes of the
EvoApprox library: ``uint16_t f(uint8_t A, uint8_t B)``, ``int16_t f(int8_t A, int8_t B)`` and
``uint64_t f(const uint64_t B, const uint64_t A)``. What the signature does not say is inferred and stated:

- which parameter is the activation operand ``a`` and which the weight ``b``: parameters named A/B (any
  case) are matched by name, whatever their order; otherwise the first parameter is ``a``;
- signedness: 8-bit signed parameter types (``int8_t``, ``signed char``) mean a signed design; otherwise the
  function name decides (``mul8s`` / ``mul8u``: libraries also pass signed operands as ``uint8_t`` bit
  patterns), then 8-bit unsigned parameter types, then a signed return type; failing all that, unsigned
  (and the reason says so).

Operands reach the function as their code in the parameter's type: a signed parameter gets the signed value,
an unsigned one the bit pattern. The result is read as the return type's value; a signed design with an
unsigned return type returns its product as a 16-bit two's complement pattern (EvoApprox's convention).
The model is compiled with the system C compiler and tabulated over every operand pair, each step with a
deadline (:func:`approxhls.toolrun.run_tool`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError, ToolTimeoutError
from approxhls.toolrun import require, run_tool

OPERAND_BITS = 8
PRODUCT_BITS = 2 * OPERAND_BITS

# C integer types: (bits, signed). Plain char is signed on the x86/ARM ABIs compilers use here for HLS.
_C_TYPES = {
    "int8_t": (8, True), "uint8_t": (8, False), "int16_t": (16, True), "uint16_t": (16, False),
    "int32_t": (32, True), "uint32_t": (32, False), "int64_t": (64, True), "uint64_t": (64, False),
    "char": (8, True), "signed char": (8, True), "unsigned char": (8, False),
    "short": (16, True), "short int": (16, True), "signed short": (16, True), "unsigned short": (16, False),
    "unsigned short int": (16, False),
    "int": (32, True), "signed": (32, True), "signed int": (32, True), "unsigned": (32, False),
    "unsigned int": (32, False),
    "long": (64, True), "long int": (64, True), "unsigned long": (64, False), "unsigned long int": (64, False),
    "long long": (64, True), "long long int": (64, True), "unsigned long long": (64, False),
    "unsigned long long int": (64, False),
}
_QUALIFIERS = {"const", "static", "inline", "register", "volatile", "extern", "__inline", "__inline__"}
_DEFINITION = re.compile(r"(?P<head>[A-Za-z_][\w\s\*]*?)\b(?P<name>[A-Za-z_]\w*)\s*\((?P<params>[^()]*)\)\s*\{")
_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


@dataclass(frozen=True)
class CType:
    name: str
    bits: int
    signed: bool


@dataclass(frozen=True)
class Param:
    name: str
    type: CType


@dataclass(frozen=True)
class CFunction:
    name: str
    ret: CType
    params: tuple[Param, Param]


@dataclass(frozen=True)
class Interface:
    """How approxhls calls a C model: which parameter is a, which b, and the design's signedness."""

    function: str
    signed: bool
    a_param: int               # index of the activation operand among the two parameters
    ret: CType
    params: tuple[Param, Param]
    how: str                   # what was inferred, and from what (stated to the user)

    def to_json(self) -> dict:
        return {"function": self.function, "signed": self.signed, "a_param": self.a_param, "ret": asdict(self.ret),
                "params": [{"name": p.name, "type": asdict(p.type)} for p in self.params], "how": self.how}

    @classmethod
    def from_json(cls, d: dict) -> "Interface":
        params = tuple(Param(p["name"], CType(**p["type"])) for p in d["params"])
        return cls(d["function"], d["signed"], d["a_param"], CType(**d["ret"]), params, d["how"])

    def arg_expr(self, index: int, a: str, b: str) -> str:
        """The C expression passing operand code ``a`` or ``b`` (ints holding the code) to parameter ``index``."""
        p = self.params[index]
        code = a if index == self.a_param else b
        mask = (1 << OPERAND_BITS) - 1
        value = f"({code})" if p.type.signed else f"(({code}) & {mask:#x})"
        return f"({p.type.name}){value}"

    def result_expr(self, call: str, ctype: str = "int64_t") -> str:
        """The C expression reading the function's result as the product's integer value (in ``ctype``)."""
        if self.signed and not self.ret.signed:
            return f"({ctype})(int16_t)(uint16_t)({call})"  # a 16-bit two's complement pattern
        return f"({ctype})({call})"


def strip_comments(source: str) -> str:
    return _COMMENTS.sub(" ", source)


def parse_type(text: str) -> CType | None:
    words = [w for w in text.replace("*", " * ").split() if w not in _QUALIFIERS]
    if "*" in words:
        return None  # pointers are not operands
    name = " ".join(words)
    if name in _C_TYPES:
        bits, signed = _C_TYPES[name]
        return CType(name, bits, signed)
    return None


def _parse_param(text: str) -> Param | None:
    words = text.replace("*", " * ").split()
    if len(words) < 2 or not re.fullmatch(r"[A-Za-z_]\w*", words[-1]) or words[-1] in _QUALIFIERS:
        return None
    t = parse_type(" ".join(words[:-1]))
    return Param(words[-1], t) if t else None


def find_functions(source: str) -> list[CFunction]:
    """Every function definition in ``source`` with two integer parameters and an integer result."""
    found = []
    for m in _DEFINITION.finditer(strip_comments(source)):
        ret = parse_type(m.group("head"))
        parts = [p.strip() for p in m.group("params").split(",")]
        if ret is None or len(parts) != 2:
            continue
        params = tuple(_parse_param(p) for p in parts)
        if all(params):
            found.append(CFunction(m.group("name"), ret, params))
    return found


def describe_signatures(source: str) -> str:
    """Every function definition's head, for error messages."""
    heads = [" ".join((m.group("head") + m.group("name")).split()) + f"({' '.join(m.group('params').split())})"
             for m in _DEFINITION.finditer(strip_comments(source))]
    return "; ".join(heads) or "none"


def choose_function(source: str, path, function: str | None = None, name: str | None = None) -> CFunction:
    """The multiplier function of a C file: ``function`` if given, else one named ``name``, else the only one."""
    funcs = find_functions(source)
    by_name = {f.name: f for f in funcs}
    if function is not None:
        if function in by_name:
            return by_name[function]
        raise ApproxHLSError(
            f"{path}: no function {function}() of two integer operands returning an integer; found: "
            f"{', '.join(by_name) or 'none'} (all definitions: {describe_signatures(source)})")
    if name in by_name:
        return by_name[name]
    if len(funcs) == 1:
        return funcs[0]
    if not funcs:
        raise ApproxHLSError(
            f"{path} defines no function of two integer operands returning an integer (e.g. "
            f"`uint16_t f(uint8_t a, uint8_t b)`); definitions found: {describe_signatures(source)}")
    raise ApproxHLSError(f"{path} defines several candidate functions ({', '.join(by_name)}); pick one with "
                         f"--function NAME")


def infer_interface(fn: CFunction, signed: bool | None = None, a_param: str | None = None) -> Interface:
    """Operand order and signedness of ``fn``: given, or inferred (and the reason recorded)."""
    how = []
    for p in fn.params:
        if p.type.bits < OPERAND_BITS:
            raise ApproxHLSError(f"{fn.name}(): parameter {p.name} is {p.type.name} ({p.type.bits} bits); "
                                 f"8-bit operand codes do not fit")
    if fn.ret.bits < PRODUCT_BITS:
        raise ApproxHLSError(f"{fn.name}() returns {fn.ret.name} ({fn.ret.bits} bits); an 8x8 product needs 16 bits")
    index, why = _a_index(fn, a_param)
    how.append(why)
    if signed is not None:
        how.append(f"{'signed' if signed else 'unsigned'} (given)")
    else:
        signed, reason = _infer_signed(fn)
        how.append(f"{'signed' if signed else 'unsigned'} ({reason})")
    return Interface(fn.name, bool(signed), index, fn.ret, fn.params, "; ".join(how))


def _a_index(fn: CFunction, a_param: str | None) -> tuple[int, str]:
    """Which parameter takes the activation operand, and why."""
    names = [p.name for p in fn.params]
    if a_param is not None:
        if a_param not in names:
            raise ApproxHLSError(f"{fn.name}() has no parameter {a_param!r} (parameters: {', '.join(names)})")
        return names.index(a_param), f"a = parameter {a_param} (given)"
    upper = [n.upper() for n in names]
    if upper in (["A", "B"], ["B", "A"]):
        index = upper.index("A")
        return index, f"a = parameter {names[index]} ({'first' if index == 0 else 'second'}, by name)"
    return 0, f"a = first parameter {names[0]} (names do not say)"


def _infer_signed(fn: CFunction) -> tuple[bool, str]:
    kinds = {(p.type.bits, p.type.signed) for p in fn.params}
    if kinds == {(8, True)}:
        return True, f"8-bit signed parameters {fn.params[0].type.name}"
    m = re.search(r"mul\d+([su])", fn.name, re.I)
    if m:  # libraries pass signed operands as bit patterns too: uint16_t mul8s_X(uint8_t, uint8_t)
        return m.group(1).lower() == "s", f"name {fn.name} says {'mul8s' if m.group(1).lower() == 's' else 'mul8u'}"
    if kinds == {(8, False)}:
        return False, f"8-bit unsigned parameters {fn.params[0].type.name}"
    if fn.ret.signed:
        return True, f"signed result type {fn.ret.name}"
    return False, f"assumed: {fn.params[0].type.name} operands and {fn.ret.name} result do not say; pass --signed if " \
                  f"it takes two's complement operands"


def source_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def c_compiler() -> str:
    cc = shutil.which(os.environ.get("CC", "cc"))
    return cc or require("gcc", "gcc")


def tabulate(source: str, iface: Interface, path) -> np.ndarray:
    """(256, 256) int64 products over the operands' bit patterns (rows a, columns b), through the compiled C.

    ``source`` is the model's text (what is stored and goes into HLS); ``path`` the file it came from, named in
    errors. Compiling and running each have a deadline: a model that never returns ends in an error naming it.
    """
    n = 1 << OPERAND_BITS
    a_code = "((int32_t)(int8_t)(uint8_t)i)" if iface.signed else "((int32_t)i)"
    b_code = a_code.replace("i)", "j)")
    args = ", ".join(iface.arg_expr(k, a_code, b_code) for k in range(2))
    with tempfile.TemporaryDirectory() as tmp:
        # The model is copied beside the harness (no path of the user's is written into C). A model file may carry
        # its own main() (a self-test): renamed out of the way. Products go to a file: what the model prints is
        # discarded.
        (Path(tmp) / "model.c").write_text(source)
        (Path(tmp) / "tab.c").write_text(
            "#include <stdint.h>\n#include <stdio.h>\n#define main approxhls_user_main\n"
            '#include "model.c"\n#undef main\n'
            f"static int64_t out[{n * n}];\n"
            "int main(int argc, char **argv) {\n"
            f"    for (int i = 0; i < {n}; i++) for (int j = 0; j < {n}; j++)\n"
            f"        out[i * {n} + j] = {iface.result_expr(f'{iface.function}({args})')};\n"
            '    FILE *f = fopen(argv[1], "wb");\n'
            f"    if (!f || fwrite(out, sizeof(int64_t), {n * n}, f) != {n * n}) return 3;\n"
            "    return fclose(f) != 0;\n}\n"
        )
        res = run_tool([c_compiler(), "-O1", "-std=gnu99", "-w", "-o", "tab", "tab.c"], cwd=tmp, kind="compile",
                       what=f"compiling the C model {path}")
        if res.returncode != 0:
            errs = "\n".join(line for line in res.stderr.splitlines() if "error" in line)[:2000]
            raise ApproxHLSError(f"{path} does not compile:\n{errs or res.stderr[:2000]}")
        out = Path(tmp) / "products.bin"
        try:
            run = run_tool([Path(tmp) / "tab", out], cwd=tmp, kind="run", text=False, stdout=subprocess.DEVNULL,
                           what=f"tabulating {iface.function}() of {path} over {n * n} operand pairs")
        except ToolTimeoutError as e:
            raise ToolTimeoutError(f"{e}; a model that never returns for some operand pair ends this way") from None
        size, want = (out.stat().st_size if out.exists() else 0), 8 * n * n
        if run.returncode != 0 or size != want:
            how = exit_text(run.returncode) if run.returncode != 0 else f"wrote {size} of {want} bytes"
            raise ApproxHLSError(f"tabulating {iface.function}() from {path} failed ({how})")
        return np.fromfile(out, dtype=np.int64).reshape(n, n)


def exit_text(code: int) -> str:
    """'exit 1', or the signal that ended a program ('signal 11 (SIGSEGV)')."""
    if code >= 0:
        return f"exit {code}"
    try:
        return f"signal {-code} ({signal.Signals(-code).name})"
    except ValueError:
        return f"signal {-code}"
