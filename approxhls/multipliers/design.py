"""The interface every multiplier design implements, and helpers shared by the families.

A design multiplies integer operand codes: ``a`` is the activation (x) code, ``b`` the weight (w) code,
both ``bits`` wide, unsigned (0 .. 2^n-1) or, for natively signed designs, two's complement. From one
definition it yields a vectorised numpy model, a C++ function for HLS (integer only, constant loop
bounds) and a Verilog module for synthesis. ``table()`` tabulates the model over every operand pair,
indexed by the operands' bit patterns (as the EvoApprox library's C models take them).
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property

import numpy as np

from approxhls.fixedpoint import FixedType

MODEL_VERSION = 1  # bump when a generator's semantics change: invalidates cached characterizations


class Design:
    family: str = ""
    description: str = ""

    def __init__(self, bits: int = 8, signed: bool = False, **params):
        self.bits = int(bits)
        self.signed = bool(signed)
        self.params = dict(params)

    # ---- identity --------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        p = "".join(f"_{k}{v}" for k, v in self.params.items())
        return f"{self.family}_{'s' if self.signed else 'u'}{self.bits}{p}"

    def definition(self) -> dict:
        return {"family": self.family, "bits": self.bits, "signed": self.signed, "params": self.params,
                "model_version": MODEL_VERSION}

    @cached_property
    def key(self) -> str:
        """Digest of everything that defines the design's behaviour and circuit."""
        h = hashlib.sha256(json.dumps(self.definition(), sort_keys=True).encode())
        h.update(self.cpp().encode())
        h.update(self.verilog().encode())
        return h.hexdigest()[:16]

    # ---- operand domain --------------------------------------------------------------------------
    @property
    def operand_type(self) -> FixedType:
        """The operands as an integer type (ap_int / ap_uint of ``bits``)."""
        return FixedType(self.bits, self.bits, self.signed)

    @property
    def code_min(self) -> int:
        return self.operand_type.code_min

    @property
    def code_max(self) -> int:
        return self.operand_type.code_max

    def codes(self) -> np.ndarray:
        """All operand codes in bit-pattern order (0, 1, ..., -1 for signed designs)."""
        u = np.arange(1 << self.bits, dtype=np.int64)
        return np.where(u > self.code_max, u - (1 << self.bits), u) if self.signed else u

    # ---- the three views of one definition ----------------------------------------------------------
    def model(self, a, b) -> np.ndarray:
        raise NotImplementedError

    def cpp(self) -> str:
        """A C++ function ``static inline int32_t NAME(int32_t a, int32_t b)`` (uint32_t when unsigned)."""
        raise NotImplementedError

    def verilog(self) -> str:
        """A Verilog module ``NAME(a, b, p)`` with ``out_bits``-wide p."""
        raise NotImplementedError

    # ---- derived -------------------------------------------------------------------------------------
    @cached_property
    def _table(self) -> np.ndarray:
        c = self.codes()
        t = self.model(c[:, None], c[None, :]).astype(np.int64)
        t.setflags(write=False)
        return t

    def table(self) -> np.ndarray:
        """(2^n, 2^n) int64 products indexed by the operands' bit patterns."""
        return self._table

    def exact_table(self) -> np.ndarray:
        c = self.codes()
        return c[:, None] * c[None, :]

    @cached_property
    def out_bits(self) -> int:
        t = self.table()
        if self.signed:
            lo, hi = int(t.min()), int(t.max())
            return max(_bits_signed(lo), _bits_signed(hi))
        return max(int(t.max()).bit_length(), 1)

    @property
    def ctype(self) -> str:
        return "int32_t" if self.signed else "uint32_t"

    def signature(self) -> str:
        return f"static inline {self.ctype} {self.name}({self.ctype} a, {self.ctype} b)"

    @property
    def verilog_top(self) -> str:
        """The module ``(a, b, p)`` that simulation and synthesis drive (a user's circuit sits inside a wrapper)."""
        return self.name

    @property
    def verilog_out_bits(self) -> int:
        """Width of the top module's product port."""
        return self.out_bits

    def verilog_ports(self) -> str:
        s = "signed " if self.signed else ""
        n, o = self.bits, self.out_bits
        return f"module {self.verilog_top}(input {s}[{n - 1}:0] a, input {s}[{n - 1}:0] b, output {s}[{o - 1}:0] p);"

    def summary(self) -> dict:
        return {"name": self.name, "family": self.family, "bits": self.bits, "signed": self.signed,
                "params": self.params, "out_bits": self.out_bits, "key": self.key}


def _bits_signed(v: int) -> int:
    return (v.bit_length() + 1) if v >= 0 else ((-v - 1).bit_length() + 1)


def bit(x, i):
    """Bit i of integer codes (two's complement for negatives), vectorised."""
    return (np.asarray(x, dtype=np.int64) >> i) & 1


def leading_one(x, bits: int):
    """Index of the most significant 1 of unsigned codes (-1 for zero), vectorised."""
    x = np.asarray(x, dtype=np.int64)
    t = np.full(np.shape(x), -1, dtype=np.int64)
    for i in range(bits):
        t = np.where((x >> i) & 1 == 1, i, t)
    return t


def hexmask(value: int, width: int) -> str:
    return f"{width}'h{value:x}"
