"""Fixed-point types as hls4ml and Vivado's ap_types define them, in numpy.

A :class:`FixedType` is ``ap_fixed<W,I,Q,O>`` (or ``ap_ufixed``): W bits, I of them integer (sign included
for signed types), quantization mode Q and overflow mode O. Values are held as integer codes
``code * 2**-F`` with ``F = W - I``. Only numpy is imported here (fixedkernels loads numba lazily, where
installed): the board-side host library uses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from approxhls import fixedkernels  # numpy only at import; numba is loaded on first use

# Rounding modes of ap_fixed that approxhls reproduces; the rest are refused by name.
# float32's significand: every integer below 2^24 (and every value of at most 24 significant bits) is exact in it
FLOAT32_SIGNIFICANT = 24
ROUNDING_MODES = ("TRN", "RND", "RND_CONV", "RND_ZERO", "RND_INF", "RND_MIN_INF", "TRN_ZERO")
OVERFLOW_MODES = ("WRAP", "SAT", "SAT_SYM", "SAT_ZERO")

_TYPE_RE = re.compile(
    r"^\s*(?:ap_)?(?P<u>u?)(?P<kind>fixed|int)\s*<\s*(?P<args>[^<>]*)>\s*$"
)


@dataclass(frozen=True)
class FixedType:
    width: int
    integer: int
    signed: bool = True
    rounding: str = "TRN"
    overflow: str = "WRAP"

    def __post_init__(self):
        if self.width < 1:
            raise ValueError(f"fixed-point width must be >= 1, got {self.width}")
        if self.rounding not in ROUNDING_MODES:
            raise ValueError(f"unknown rounding mode {self.rounding!r}; known: {', '.join(ROUNDING_MODES)}")
        if self.overflow not in OVERFLOW_MODES:
            raise ValueError(f"unknown overflow mode {self.overflow!r}; known: {', '.join(OVERFLOW_MODES)}")

    # ---- parsing / printing -------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> "FixedType":
        """Parse ``ap_fixed<8,1,AP_RND_CONV,AP_SAT>``, ``ufixed<8,0>``, ``ap_int<4>`` and friends."""
        return _parse_cached(cls, str(text))  # types are immutable: evaluators parse the same strings per batch

    @classmethod
    def _parse(cls, text: str) -> "FixedType":
        m = _TYPE_RE.match(text)
        if not m:
            raise ValueError(f"not a fixed-point type: {text!r} (expected e.g. ap_fixed<8,1> or ap_ufixed<8,0>)")
        args = [a.strip() for a in m.group("args").split(",") if a.strip()]
        signed = m.group("u") != "u"
        if m.group("kind") == "fixed":
            if len(args) < 2:
                raise ValueError(f"{text!r}: ap_fixed needs <width,integer>")
            width, integer, modes = int(args[0]), int(args[1]), args[2:]
        else:
            width = int(args[0])
            integer, modes = width, args[1:]
        rnd = modes[0].upper().removeprefix("AP_") if len(modes) > 0 else "TRN"
        ovf = modes[1].upper().removeprefix("AP_") if len(modes) > 1 else "WRAP"
        return cls(width, integer, signed, rnd, ovf)

    def __str__(self) -> str:
        base = f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer}"
        if self.rounding != "TRN" or self.overflow != "WRAP":
            base += f",AP_{self.rounding},AP_{self.overflow}"
        return base + ">"

    # ---- ranges ---------------------------------------------------------------------------------
    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def lsb(self) -> float:
        return 2.0 ** (-self.frac)

    @property
    def code_min(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def code_max(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def code_dtype(self) -> np.dtype:
        """The narrowest numpy integer type that holds every code (int64 for the widest types)."""
        return _code_dtype(self.code_min, self.code_max)

    @property
    def min(self) -> float:
        return self.code_min * self.lsb

    @property
    def max(self) -> float:
        return self.code_max * self.lsb

    # ---- conversion -----------------------------------------------------------------------------
    def to_codes(self, x) -> np.ndarray:
        """Quantize real values to integer codes with this type's rounding and overflow modes."""
        x = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("cannot quantize NaN or infinite values")
        scaled = np.ldexp(x, self.frac)
        codes = _round(scaled, self.rounding)
        return self._overflow(codes)

    def codes_from_int(self, codes) -> np.ndarray:
        """Apply this type's overflow mode to integer codes already on its grid (e.g. an accumulator)."""
        return self._overflow(np.asarray(codes, dtype=np.int64))

    def requantize(self, codes, src_frac: int) -> np.ndarray:
        """Integer codes with ``src_frac`` fractional bits -> this type, in integer arithmetic only.

        Same result as ``to_codes(codes * 2**-src_frac)`` (rounding, then overflow), without floats.
        """
        c = np.asarray(codes, dtype=np.int64)
        fast = fixedkernels.requantize(c, src_frac, self)  # large arrays, where numba is installed: one pass
        return fast if fast is not None else self.requantize_numpy(c, src_frac)

    def requantize_numpy(self, c: np.ndarray, src_frac: int) -> np.ndarray:
        """The definition of :meth:`requantize` (int64 codes), one numpy pass per step."""
        shift = src_frac - self.frac
        if shift <= 0:
            return self._overflow(c << -shift)
        q = c >> shift  # floor
        if self.rounding != "TRN":
            r = c & ((1 << shift) - 1)  # remainder, 0 <= r < 2^shift
            half = 1 << (shift - 1)
            if self.rounding == "TRN_ZERO":
                q = q + ((c < 0) & (r != 0))
            elif self.rounding == "RND":
                q = q + (r >= half)
            elif self.rounding == "RND_MIN_INF":
                q = q + (r > half)
            elif self.rounding == "RND_ZERO":
                q = q + ((r > half) | ((r == half) & (c < 0)))
            elif self.rounding == "RND_INF":
                q = q + ((r > half) | ((r == half) & (c >= 0)))
            else:  # RND_CONV: ties to even
                q = q + ((r > half) | ((r == half) & (q & 1 == 1)))
        return self._overflow(q)

    def _overflow(self, codes: np.ndarray) -> np.ndarray:
        lo, hi = self.code_min, self.code_max
        if codes.size == 0 or (codes.min() >= lo and codes.max() <= hi):
            return codes.astype(np.int64, copy=False)  # nothing overflows: every mode is the identity
        if self.overflow == "WRAP":
            span = 1 << self.width
            c = np.mod(codes - lo, span) + lo
        elif self.overflow == "SAT":
            c = np.clip(codes, lo, hi)
        elif self.overflow == "SAT_SYM":
            c = np.clip(codes, -hi if self.signed else 0, hi)
        else:  # SAT_ZERO
            c = np.where((codes < lo) | (codes > hi), 0, codes)
        return c.astype(np.int64)

    def from_codes(self, codes) -> np.ndarray:
        return np.ldexp(np.asarray(codes, dtype=np.float64), -self.frac)

    def quantize(self, x) -> np.ndarray:
        """Real values -> nearest representable values (float64), as an ap_fixed cast would give."""
        return self.from_codes(self.to_codes(x))

    def contains(self, x) -> bool:
        """True when every value of x is exactly representable (on the grid and in range)."""
        x = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            return False
        scaled = np.ldexp(x, self.frac)
        return bool(np.all(scaled == np.round(scaled)) and np.all(x >= self.min) and np.all(x <= self.max))


def _round(v: np.ndarray, mode: str) -> np.ndarray:
    """Round real-valued code positions to integers as ap_fixed's quantization mode does."""
    fl = np.floor(v)
    if mode == "TRN":
        r = fl
    elif mode == "TRN_ZERO":
        r = np.trunc(v)
    elif mode == "RND":  # half up (towards +inf)
        r = np.floor(v + 0.5)
    elif mode == "RND_MIN_INF":  # half down
        r = np.ceil(v - 0.5)
    elif mode == "RND_ZERO":  # half towards zero
        r = np.where(v >= 0, np.ceil(v - 0.5), np.floor(v + 0.5))
    elif mode == "RND_INF":  # half away from zero
        r = np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5))
    else:  # RND_CONV: half to even
        r = np.round(v)
    return r.astype(np.int64)


@lru_cache(maxsize=4096)
def _parse_cached(cls, text: str) -> FixedType:
    return cls._parse(text)


NARROW_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32)  # narrowest first


@lru_cache(maxsize=None)
def _code_dtype(lo: int, hi: int) -> np.dtype:
    for dt in NARROW_DTYPES:
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    return np.dtype(np.int64)
