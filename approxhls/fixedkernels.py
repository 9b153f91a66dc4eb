"""Compiled (numba) one-pass versions of :meth:`approxhls.fixedpoint.FixedType.requantize` and of a MAC layer's
finish (align, bias, accumulator wrap, cast to the result type), for large arrays.

The numpy code in fixedpoint.py is the definition; these kernels do the same integer steps element by element in
one pass instead of one numpy pass (and one int64 temporary) per step. tests/test_fixedkernels.py compares the
two on every rounding and overflow mode. Without numba (a board-only install) nothing here is used.
"""

from __future__ import annotations

import numpy as np

ROUNDING_IDS = {"TRN": 0, "TRN_ZERO": 1, "RND": 2, "RND_MIN_INF": 3, "RND_ZERO": 4, "RND_INF": 5, "RND_CONV": 6}
# SAT_SYM is left to numpy: there, the symmetric clip applies to the whole array once anything overflows
OVERFLOW_IDS = {"WRAP": 0, "SAT": 1, "SAT_ZERO": 3}
MIN_SIZE = 4096  # below this the call overhead outweighs the passes saved
MAX_WIDTH = 62   # 1 << width must fit an int64

_kernels = None


def _compile():
    import numba

    @numba.njit(inline="always")
    def one(v, shift, rmode, omode, lo, hi, span):
        if shift <= 0:
            q = v << -shift
        else:
            q = v >> shift  # floor
            if rmode != 0:
                r = v & ((1 << shift) - 1)
                half = 1 << (shift - 1)
                # increments as 0/1 arithmetic, not short-circuit tests: branch-free, so the loops vectorize
                gt, eq = np.int64(r > half), np.int64(r == half)
                if rmode == 1:
                    q += np.int64(v < 0) & np.int64(r != 0)
                elif rmode == 2:
                    q += np.int64(r >= half)
                elif rmode == 3:
                    q += gt
                elif rmode == 4:
                    q += gt | (eq & np.int64(v < 0))
                elif rmode == 5:
                    q += gt | (eq & np.int64(v >= 0))
                else:
                    q += gt | (eq & (q & 1))
        if omode == 0:
            q = ((q - lo) & (span - 1)) + lo  # span is a power of two: the modulo is a mask
        elif omode == 1:
            q = min(max(q, lo), hi)
        elif q < lo or q > hi:
            q = 0
        return q

    @numba.njit(cache=True, nogil=True)
    def requantize(c, out, relu, shift, rmode, omode, lo, hi, span):
        if relu:  # two loops: no per-element test of the flag, and a select the compiler can vectorize
            for i in range(c.size):
                v = c[i]
                q = one(v, shift, rmode, omode, lo, hi, span)
                out[i] = q if v > 0 else 0
        else:
            for i in range(c.size):
                out[i] = one(c[i], shift, rmode, omode, lo, hi, span)

    @numba.njit(cache=True, nogil=True)
    def finish(sums, out, lshift, bias, acc_lo, acc_hi, acc_span, shift, rmode, omode, lo, hi, span):
        rows, cols = sums.shape
        for i in range(rows):
            for j in range(cols):
                s = np.int64(sums[i, j])  # float sums hold exact integers (the bound was checked)
                a = one((s << lshift) + bias[j], 0, 0, 0, acc_lo, acc_hi, acc_span)
                out[i, j] = one(a, shift, rmode, omode, lo, hi, span)

    @numba.njit(cache=True, nogil=True)
    def add(a, b, sa, sb, out, shift, rmode, omode, lo, hi, span):
        for i in range(a.size):
            out[i] = one((a[i] << sa) + (b[i] << sb), shift, rmode, omode, lo, hi, span)

    @numba.njit(cache=True, nogil=True)
    def features(codes, x_min, table, out):
        m = table.shape[1]
        for i in range(codes.size):
            row = codes[i] - x_min
            for r in range(m):
                out[i * m + r] = table[row, r]

    return requantize, finish, add, features


def kernels():
    """(requantize, finish, add, features) compiled, or None without numba."""
    global _kernels
    if _kernels is None:
        try:
            _kernels = _compile()
        except ImportError:
            _kernels = False
    return _kernels or None


def _modes(t):
    if t.width > MAX_WIDTH or t.overflow not in OVERFLOW_IDS:
        return None
    return ROUNDING_IDS[t.rounding], OVERFLOW_IDS[t.overflow], t.code_min, t.code_max, 1 << t.width


def requantize(codes: np.ndarray, src_frac: int, dst, relu: bool = False) -> np.ndarray | None:
    """``dst.requantize(codes, src_frac)`` in one pass (``relu``: 0 where codes <= 0), or None where the numpy path
    must do it."""
    if codes.size < MIN_SIZE or codes.dtype != np.int64:
        return None
    modes, k = _modes(dst), kernels()
    if modes is None or k is None:
        return None
    c = np.ascontiguousarray(codes)
    out = np.empty_like(c)
    k[0](c.reshape(-1), out.reshape(-1), relu, src_frac - dst.frac, *modes)
    return out


def add(a: np.ndarray, a_frac: int, b: np.ndarray, b_frac: int, dst) -> np.ndarray | None:
    """a + b (codes of equal shape, aligned to the finer of their fractions) cast to ``dst``, or None."""
    frac = max(a_frac, b_frac)
    if a.size < MIN_SIZE or a.shape != b.shape or a.dtype != np.int64 or b.dtype != np.int64:
        return None
    modes, k = _modes(dst), kernels()
    if modes is None or k is None:
        return None
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    out = np.empty_like(a)
    k[2](a.reshape(-1), b.reshape(-1), frac - a_frac, frac - b_frac, out.reshape(-1), frac - dst.frac, *modes)
    return out


def finish(sums: np.ndarray, lshift: int, bias_acc: np.ndarray, acc_t, res_t) -> np.ndarray | None:
    """cast(acc_t.codes_from_int((sums << lshift) + bias_acc), acc_t, res_t) in one pass, or None. ``sums`` may be
    float arrays of exact integers (a float32 GEMM or convolution within its bound)."""
    acc, res, k = _modes(acc_t), _modes(res_t), kernels()
    if sums.size < MIN_SIZE or sums.ndim != 2 or acc is None or res is None or k is None or acc_t.overflow != "WRAP":
        return None
    s = np.ascontiguousarray(sums)
    out = np.empty(s.shape, dtype=np.int64)
    # cast() leaves equal types alone: then the second step is the accumulator's own (identity) wrap
    shift, modes = (acc_t.frac - res_t.frac, res) if acc_t != res_t else (0, acc)
    k[1](s, out, lshift, np.ascontiguousarray(bias_acc, dtype=np.int64), acc_t.code_min, acc_t.code_max,
         1 << acc_t.width, shift, *modes)
    return out


def features(codes: np.ndarray, x_min: int, table: np.ndarray) -> np.ndarray:
    """table[codes - x_min] (float32 rows of m features per code) as (*codes.shape, m), in one pass."""
    k = kernels()
    if k is None or codes.size < MIN_SIZE:
        return table[np.asarray(codes) - x_min]
    c = np.ascontiguousarray(codes, dtype=np.int64)
    out = np.empty(c.size * table.shape[1], dtype=table.dtype)
    k[3](c.reshape(-1), x_min, np.ascontiguousarray(table), out)
    return out.reshape(*c.shape, table.shape[1])
