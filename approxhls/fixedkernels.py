"""Compiled (numba) one-pass versions of :meth:`approxhls.fixedpoint.FixedType.requantize` and of a MAC layer's
finish (align, bias, accumulator wrap, cast to the result type), for large arrays. The finish and the residual
add can also apply the ReLU that follows them (requantize to the ReLU's type, 0 where the input code <= 0) in the
same pass: the emulator fuses a ReLU into its producer where nothing else reads the producer's output.

The numpy code in fixedpoint.py is the definition; these kernels do the same integer steps element by element in
one pass instead of one numpy pass (and one int64 temporary) per step. tests/test_fixedkernels.py compares the
two on every rounding and overflow mode. Without numba (a board-only install) nothing here is used.
"""

from __future__ import annotations

import sys

import numpy as np

ROUNDING_IDS = {"TRN": 0, "TRN_ZERO": 1, "RND": 2, "RND_MIN_INF": 3, "RND_ZERO": 4, "RND_INF": 5, "RND_CONV": 6}
# SAT_SYM is left to numpy: there, the symmetric clip applies to the whole array once anything overflows
OVERFLOW_IDS = {"WRAP": 0, "SAT": 1, "SAT_ZERO": 3}
MIN_SIZE = 4096  # below this the call overhead outweighs the passes saved
MAX_WIDTH = 62   # 1 << width must fit an int64
ALIGN = 64  # bytes: TensorFlow's (Eigen's) alignment on AVX-512 machines

_one = None  # the element step (one requantization), compiled once per process
_special: dict = {}  # (kernel, modes) -> compiled kernel


def _element():
    global _one
    if _one is not None:
        return _one
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

    _one = one
    return _one


# Kernels are compiled per combination of modes (rounding, overflow, a fused ReLU and its modes), which the closures
# hold as compile-time constants: the branches on the modes go away and the loops vectorize (measured: a fused
# ReLU stage 5x faster than with the modes as arguments). Each combination compiles once per process (~0.5 s).
def _build_requantize(rmode, omode, relu):
    import numba

    one = _element()

    @numba.njit(nogil=True)
    def kernel(c, out, shift, lo, hi, span):
        for i in range(c.size):
            v = c[i]
            q = one(v, shift, rmode, omode, lo, hi, span)
            out[i] = (q if v > 0 else 0) if relu else q

    return kernel


def _build_finish(rmode, omode, relu, prmode, pomode):
    import numba

    one = _element()

    @numba.njit(nogil=True)
    def kernel(sums, out, lshift, bias, acc_lo, acc_hi, acc_span, shift, lo, hi, span, pshift, plo, phi, pspan):
        rows, cols = sums.shape
        for i in range(rows):
            for j in range(cols):
                s = np.int64(sums[i, j])  # float sums hold exact integers (the bound was checked)
                a = one((s << lshift) + bias[j], 0, 0, 0, acc_lo, acc_hi, acc_span)
                v = one(a, shift, rmode, omode, lo, hi, span)
                if relu:
                    q = one(v, pshift, prmode, pomode, plo, phi, pspan)
                    out[i, j] = q if v > 0 else 0
                else:
                    out[i, j] = v

    return kernel


def _build_add(rmode, omode, relu, prmode, pomode):
    import numba

    one = _element()

    @numba.njit(nogil=True)
    def kernel(a, b, sa, sb, out, shift, lo, hi, span, pshift, plo, phi, pspan):
        for i in range(a.size):
            v = one((np.int64(a[i]) << sa) + (np.int64(b[i]) << sb), shift, rmode, omode, lo, hi, span)
            if relu:
                q = one(v, pshift, prmode, pomode, plo, phi, pspan)
                out[i] = q if v > 0 else 0
            else:
                out[i] = v

    return kernel


def _build_image_features(m):
    import numba

    # m (features per code) is a constant: the inner copy unrolls (measured 2.6x faster at m = 6 than a loop to m)
    @numba.njit(nogil=True)
    def kernel(codes, x_min, table, out, top, left):
        n, h, w, c = codes.shape
        for a in range(n):
            for i in range(h):
                for j in range(w):
                    for ch in range(c):
                        row = np.int64(codes[a, i, j, ch]) - x_min
                        for r in range(m):
                            out[a, top + i, left + j, ch * m + r] = table[row, r]

    return kernel


def _build_chunked_features(c, words, two, one):
    import numba

    # the layout of chunked_order(c, m), m = 4 * words + 2 * two + one: per pixel, the codes' 4-byte chunks of
    # features (chunk k of channel ch at uint32 k * c + ch), then their 2-byte chunks, then their last bytes. Each
    # store is one lookup of a code's chunk, c is a constant (the loops unroll into runs of stores) and the index is
    # unsigned (no negative-index test per lookup). Measured at c = 16, m = 6 on 64 images of 32x32, with the
    # allocation: 12.9 us per image, against 22 for a kernel that streamed each code's bytes into 64-bit words and
    # 28 for one store per byte
    @numba.njit(nogil=True)
    def kernel(codes, x_min, t4, t2, t1, o32, o16, o8, top, left):
        n, h, w, _ = codes.shape
        for a in range(n):
            for i in range(h):
                src, d32, d16, d8 = codes[a, i], o32[a, top + i], o16[a, top + i], o8[a, top + i]
                for j in range(w):
                    for k in range(words):
                        for ch in range(c):
                            d32[left + j, k * c + ch] = t4[k, np.uint64(np.int64(src[j, ch]) - x_min)]
                    if two:
                        for ch in range(c):
                            d16[left + j, 2 * words * c + ch] = t2[np.uint64(np.int64(src[j, ch]) - x_min)]
                    if one:
                        for ch in range(c):
                            d8[left + j, (4 * words + 2 * two) * c + ch] = t1[np.uint64(np.int64(src[j, ch]) - x_min)]

    return kernel


_BUILDERS = {"requantize": _build_requantize, "finish": _build_finish, "add": _build_add,
             "image_features": _build_image_features, "chunked_features": _build_chunked_features}


_has_numba: bool | None = None  # found out once: kernels() runs on every large requantization


def kernels():
    """``get(kernel, *modes)`` -> the compiled kernel, or None without numba (a board-only install)."""
    global _has_numba
    if _has_numba is None:
        try:
            import numba  # noqa: F401

            _has_numba = True
        except ImportError:
            _has_numba = False
    return _kernel if _has_numba else None


def _kernel(name: str, *modes):
    key = (name, *modes)
    if key not in _special:
        _special[key] = _BUILDERS[name](*modes)
    return _special[key]


def _modes(t):
    """((rounding, overflow) ids, (code_min, code_max, 2^width)) of a type the kernels can cast to, or None."""
    if t.width > MAX_WIDTH or t.overflow not in OVERFLOW_IDS:
        return None
    return (ROUNDING_IDS[t.rounding], OVERFLOW_IDS[t.overflow]), (t.code_min, t.code_max, 1 << t.width)


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
    k("requantize", *modes[0], bool(relu))(c.reshape(-1), out.reshape(-1), src_frac - dst.frac, *modes[1])
    return out


def _out_dtype(t, narrow: bool) -> np.dtype:
    """Codes of type ``t`` as the emulator passes them between layers: the narrowest dtype (a quarter to an eighth of
    the memory traffic of int64 for the next layer's passes), or int64."""
    return t.code_dtype if narrow else np.dtype(np.int64)


def _post(src, relu_t):
    """The fused ReLU stage from ``src`` codes to ``relu_t``: ((relu, rounding, overflow), (shift, min, max, span)),
    or None where the kernel cannot do that cast (then nothing is fused)."""
    if relu_t is None:
        return (False, 0, 0), (0, 0, 0, 1)
    modes = _modes(relu_t)
    return None if modes is None else ((True, *modes[0]), (src.frac - relu_t.frac, *modes[1]))


def add(a: np.ndarray, a_frac: int, b: np.ndarray, b_frac: int, dst, relu_t=None, narrow: bool = False
        ) -> np.ndarray | None:
    """a + b (integer codes of any dtype, equal shape, aligned to the finer of their fractions) cast to ``dst``
    (then, with ``relu_t``, the ReLU to that type), or None. ``narrow``: the result in the narrowest dtype that
    holds its type's codes (else int64)."""
    frac = max(a_frac, b_frac)
    if a.size < MIN_SIZE or a.shape != b.shape or a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
        return None
    modes, post, k = _modes(dst), _post(dst, relu_t), kernels()
    if modes is None or post is None or k is None:
        return None
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    out = np.empty(a.shape, dtype=_out_dtype(relu_t or dst, narrow))
    k("add", *modes[0], *post[0])(a.reshape(-1), b.reshape(-1), frac - a_frac, frac - b_frac, out.reshape(-1),
                                  frac - dst.frac, *modes[1], *post[1])
    return out


def finish(sums: np.ndarray, lshift: int, bias_acc: np.ndarray, acc_t, res_t, relu_t=None, narrow: bool = False
           ) -> np.ndarray | None:
    """cast(acc_t.codes_from_int((sums << lshift) + bias_acc), acc_t, res_t) in one pass (then, with ``relu_t``, the
    ReLU to that type), or None. ``sums`` may be float arrays of exact integers (a float32 GEMM or convolution
    within its bound). ``narrow``: the result in the narrowest dtype that holds its type's codes (else int64)."""
    acc, res, post, k = _modes(acc_t), _modes(res_t), _post(res_t, relu_t), kernels()
    if (sums.size < MIN_SIZE or sums.ndim != 2 or acc is None or res is None or post is None or k is None
            or acc_t.overflow != "WRAP"):
        return None
    s = np.ascontiguousarray(sums)
    out = np.empty(s.shape, dtype=_out_dtype(relu_t or res_t, narrow))
    # cast() leaves equal types alone: then the second step is the accumulator's own (identity) wrap
    shift, modes = (acc_t.frac - res_t.frac, res) if acc_t != res_t else (0, acc)
    k("finish", *modes[0], *post[0])(s, out, lshift, np.ascontiguousarray(bias_acc, dtype=np.int64), *acc[1], shift,
                                     *modes[1], *post[1])
    return out


def shifted_image(codes: np.ndarray, x_min: int, pads: tuple, fill, dtype) -> np.ndarray:
    """:func:`image_features` for the table whose one feature is code - x_min (an exact product's int8 input): one
    vectorized subtraction into the padded array instead of a lookup per code (measured 5x faster)."""
    top, _, left, _ = pads
    h, w = codes.shape[1:3]
    out = _padded(codes.shape, 1, pads, fill, dtype)
    np.subtract(codes, x_min, out=out[:, top : top + h, left : left + w], casting="unsafe")  # in 0..255 by the range
    return out


def aligned_empty(shape: tuple, dtype, align: int = ALIGN) -> np.ndarray:
    """``np.empty`` whose first element sits on an ``align``-byte boundary: TensorFlow takes such an array without a
    copy (through DLPack), where numpy's own 16-byte alignment costs a copy per call."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + align, dtype=np.uint8)
    start = -raw.ctypes.data % align
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def _padded(shape: tuple, m: int, pads: tuple, fill, dtype) -> np.ndarray:
    """An uninitialized (n, H', W', C*m) image whose padding (top, bottom, left, right) holds ``fill``: the image's
    part is written next (aligned: it goes to TensorFlow's convolution)."""
    top, bottom, left, right = pads
    n, h, w, c = shape
    out = aligned_empty((n, h + top + bottom, w + left + right, c * m), dtype)
    for border in (out[:, :top], out[:, top + h :], out[:, :, :left], out[:, :, left + w :]):
        border[...] = fill
    return out


def _chunk_sizes(m: int) -> list[int]:
    """A code's m one-byte features cut into 4-byte chunks, then at most one 2-byte and one 1-byte chunk."""
    return [4] * (m // 4) + [2] * (m % 4 // 2) + [1] * (m % 2)


def _chunkable(c: int, m: int) -> bool:
    """Whether every chunk sits on its own alignment in every pixel (c * m a multiple of the largest chunk), on a
    little-endian machine (a chunk's bytes are a word's bytes in memory order)."""
    sizes = _chunk_sizes(m)
    return bool(sizes) and (c * m) % sizes[0] == 0 and sys.byteorder == "little"


def chunked_order(c: int, m: int) -> np.ndarray | None:
    """The feature layout of ``image_features(..., chunked=True)`` for c channels of m one-byte features, as the
    interleaved layout's indices (channel ch's feature r at ch * m + r) in their new order; None where no layout
    applies (:func:`_chunkable`). A convolution takes its input channels in any order: its weights are permuted
    alike."""
    if not _chunkable(c, m):
        return None
    order, r0 = [], 0
    for size in _chunk_sizes(m):
        order += [ch * m + r0 + j for ch in range(c) for j in range(size)]
        r0 += size
    return np.array(order, dtype=np.int64)


def _chunked_into(codes: np.ndarray, x_min: int, table: np.ndarray, out: np.ndarray, top: int, left: int) -> None:
    c, m = codes.shape[3], table.shape[1]
    words, two, one = m // 4, m % 4 // 2, m % 2
    t4 = np.ascontiguousarray(np.ascontiguousarray(table[:, : 4 * words]).view(np.uint32).T)  # (words, codes)
    t2 = np.ascontiguousarray(table[:, 4 * words : 4 * words + 2 * two]).view(np.uint16).reshape(-1)
    t1 = np.ascontiguousarray(table[:, 4 * words + 2 * two :]).reshape(-1)
    # views of the image as 4- and 2-byte words where chunks of that size exist (an unused one: a stand-in of the
    # same rows, never written)
    o32, o16 = (out.view(dt) if used else np.zeros((*out.shape[:2], 1, 1), dt)
                for dt, used in ((np.uint32, words), (np.uint16, two)))
    kernels()("chunked_features", c, words, two, one)(np.ascontiguousarray(codes), x_min, t4, t2, t1, o32, o16, out,
                                                       top, left)


def image_features(codes: np.ndarray, x_min: int, table: np.ndarray, pads: tuple, fill,
                   chunked: bool = False) -> np.ndarray:
    """An image of integer codes (n, H, W, C; any integer dtype) -> its features (n, H', W', C*m), padded by
    ``pads`` (top, bottom, left, right) with ``fill`` (C*m values, in the output's layout), written straight into the
    padded array (no copy of the image). ``chunked`` (uint8 tables, where :func:`chunked_order` gives a layout):
    the features in that layout instead of channel by channel."""
    top, _, left, _ = pads
    n, h, w, c = codes.shape
    m = table.shape[1]
    if chunked and (table.dtype != np.uint8 or not _chunkable(c, m)):
        raise ValueError(f"no chunked layout for {c} channels of {m} {table.dtype} features")
    out = _padded(codes.shape, m, pads, fill, table.dtype)
    k = kernels()
    if k is None or codes.size < MIN_SIZE:
        feats = table[np.asarray(codes, dtype=np.int64) - x_min].reshape(n, h, w, c * m)
        out[:, top : top + h, left : left + w] = feats[..., chunked_order(c, m)] if chunked else feats
    elif chunked:
        _chunked_into(codes, x_min, table, out, top, left)
    else:
        k("image_features", m)(np.ascontiguousarray(codes), x_min, np.ascontiguousarray(table), out, top, left)
    return out
