"""Direct convolution of integer codes with TensorFlow's float32 conv2d (oneDNN on x86), exact by bounds.

A convolution's sums are integers. float32 holds every integer below 2^24, and a sum whose terms' absolute
values add up to less than 2^24 is exact in any order of addition, so a float32 convolution of integer codes
is exact when, for every output channel, sum over the kernel of max|input feature| x |weight| < 2^24. Input
channels are cut into chunks that each keep that bound (from the layer's actual weights); chunk results are
added in int64. No im2col copy is made, which is where the GEMM path spends its time on larger layers.

Whether this beats the im2col GEMM for a layer is measured by the emulator on a probe batch, which also checks
that both give the same sums (a convolution algorithm that is not exact, e.g. Winograd, is then refused). It is
used where TensorFlow is already loaded (or asked for): importing it is not the emulator's business.

A second engine (:class:`Int8Conv`) runs the same sums as oneDNN's u8 x s8 -> s32 convolution (TensorFlow's
QuantizedConv2D): a quarter of the memory traffic, and on VNNI cores four products per 32-bit lane (measured 3x
float32 on a 96-channel layer, slower on 16 channels or 1x1 layers: the emulator times both). It applies where each
feature column, shifted by its minimum, fits 0..255, the weights fit -128..127 and every sum stays in int32. The
shift is undone by a per-output constant (the padded image is built first, so every window sees the same shift).
Only on CPUs with VNNI (or AMX): without it oneDNN adds pairs of products in int16 with saturation, which is not
exact.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from approxhls import fixedkernels
from approxhls.fixedpoint import FLOAT32_SIGNIFICANT
from approxhls.sim.ops.mac import image

F32_LIMIT = 2**FLOAT32_SIGNIFICANT
I32_LIMIT = 2**31
MAX_CODES = 1 << 16  # input codes of a lookup table the int8 engine builds (wider inputs take 17+ pieces anyway)
MAX_PIECES = 3  # 8-bit pieces per feature beyond which int8 cannot beat float32 (it is at most ~3x faster)
EXACT_INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")  # int32 accumulation of u8 x s8 products in hardware


def tensorflow(load: bool = False):
    """The tensorflow module where this process has loaded it (the laptop toolchain: Keras, search workers), else
    None: the emulator itself stays numpy-only (a saved project is evaluated without TensorFlow) unless ``load``."""
    tf = sys.modules.get("tensorflow")
    if tf is None and load:
        try:
            import tensorflow as tf
        except ImportError:
            return None
    return tf


def as_tensor(tf, array: np.ndarray):
    """``array`` as a TensorFlow tensor that shares its memory (DLPack) where TensorFlow can use it as it is (C order,
    64-byte aligned, writable); else converted the usual way, which copies. Measured: a copy is 1.6 of 4.2 ms per
    call of resnet8's first u8 convolution on 64 images, and it runs holding the GIL, so the other batch thread
    waits meanwhile."""
    if (array.flags.c_contiguous and array.flags.writeable and array.ctypes.data % fixedkernels.ALIGN == 0
            and array.size):
        try:
            return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
        except (AttributeError, TypeError, ValueError, BufferError, tf.errors.OpError):
            pass  # a numpy or TensorFlow without DLPack for this dtype
    return tf.convert_to_tensor(array)


class _Exported:
    """A TensorFlow tensor as numpy's ``from_dlpack`` takes it (TensorFlow 2.14's tensors lack ``__dlpack__``)."""

    def __init__(self, tf, tensor):
        self.tf, self.tensor = tf, tensor

    def __dlpack__(self, stream=None):
        return self.tf.experimental.dlpack.to_dlpack(self.tensor)

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU, device 0: the convolutions here run on the CPU


def as_array(tf, tensor) -> np.ndarray:
    """A convolution's result as a read-only numpy array that shares the tensor's memory (DLPack; the array keeps it
    alive), where ``tensor.numpy()`` copies: measured 0.34 of 1.45 ms per call of resnet8's first int8 convolution on
    64 images. The sums are only read after (the finish writes its own result)."""
    try:
        return np.from_dlpack(_Exported(tf, tensor))
    except (AttributeError, TypeError, ValueError, BufferError, RuntimeError, tf.errors.OpError):
        return tensor.numpy()  # a numpy or TensorFlow without DLPack for this dtype or device


def pointwise_step(attrs: dict) -> tuple[int, int]:
    """(rows, columns) of the input a strided 1x1 convolution without padding reads: every stride-th pixel. Taking
    those before the features are built saves building (stride^2 - 1) of every stride^2 (resnet8's skips: 3 of 4);
    (1, 1) for any other convolution."""
    a = attrs
    if a["filt_height"] == a["filt_width"] == 1 and not any(a[p] for p in ("pad_top", "pad_bottom", "pad_left",
                                                                             "pad_right")):
        return a["stride_height"], a["stride_width"]
    return 1, 1


def _strides(attrs: dict, step: tuple[int, int]) -> tuple[int, int]:
    """The convolution's strides on an input already subsampled by ``step``."""
    return attrs["stride_height"] // step[0], attrs["stride_width"] // step[1]


def chunks(contrib: np.ndarray, limit: int = F32_LIMIT) -> list[slice] | None:
    """Consecutive column ranges whose summed contribution stays below ``limit`` for every output;
    ``contrib`` (columns, outputs) >= 0. None when a single column alone reaches it."""
    out, start, acc = [], 0, np.zeros(contrib.shape[1])
    for col in range(contrib.shape[0]):
        if (contrib[col] >= limit).any():
            return None
        if (acc + contrib[col] >= limit).any():
            out.append(slice(start, col))
            start, acc = col, np.zeros(contrib.shape[1])
        acc = acc + contrib[col]
    out.append(slice(start, contrib.shape[0]))
    return out


class DirectConv:
    """One conv layer's sums (rows = pixels, out; float arrays holding exact integers) from its input codes, for
    the weight rows of the emulator's GEMM (``W`` (fh*fw*C*m, out): m features per input code, in kernel order)
    and the features of each input code (``lookup`` (n_codes, m) indexed by code - x_min; None: the code itself,
    m = 1)."""

    def __init__(self, node, W: np.ndarray, lookup: np.ndarray | None, x_min: int, x_max: int):
        tf = tensorflow()
        a = node.attrs
        self.node, self.x_min = node, x_min
        fh, fw, c = a["filt_height"], a["filt_width"], a["n_chan"]
        m = W.shape[0] // (fh * fw * c)
        w4 = W.reshape(fh, fw, c * m, W.shape[1])
        fmax = (np.abs(lookup).max(axis=0) if lookup is not None else np.array([max(abs(x_min), abs(x_max))]))
        contrib = np.tile(fmax.astype(np.float64), c)[:, None] * np.abs(w4).sum(axis=(0, 1), dtype=np.float64)
        self.slices = chunks(contrib)
        self.ok = self.slices is not None
        if not self.ok:
            return
        self.tf, self.conv2d = tf, tf.nn.conv2d
        self.lookup = None if lookup is None else lookup.astype(np.float32)
        self.kernels = [tf.constant(w4[:, :, s].astype(np.float32)) for s in self.slices]
        # zero padding may be applied to features only where code 0 has all-zero features
        self.pad_features = self.lookup is None or not self.lookup[-x_min].any()
        pads = [[0, 0], [a["pad_top"], a["pad_bottom"]], [a["pad_left"], a["pad_right"]], [0, 0]]
        self.padding = pads if self.pad_features else "VALID"
        self.step = pointwise_step(a)
        self.strides = [1, *_strides(a, self.step), 1]
        self.oh, self.ow = a["out_height"], a["out_width"]

    def __call__(self, xc: np.ndarray, n: int) -> np.ndarray:
        a = self.node.attrs
        if self.pad_features:
            x = np.asarray(xc).reshape(n, a["in_height"], a["in_width"], a["n_chan"])
        else:
            x = image(self.node, xc, n)  # pad the codes: the features of code 0 are not zero
        x = x[:, :: self.step[0], :: self.step[1]]  # a view; a strided 1x1 convolution reads no other pixel
        if self.lookup is None:
            feats = fixedkernels.aligned_empty(x.shape, np.float32)
            feats[...] = x
        else:
            feats = fixedkernels.image_features(x, self.x_min, self.lookup, (0, 0, 0, 0), 0)
        total = None
        for s, k in zip(self.slices, self.kernels):
            part = as_tensor(self.tf, feats) if len(self.slices) == 1 else feats[..., s]
            y = as_array(self.tf, self.conv2d(part, k, self.strides, self.padding))[:, : self.oh, : self.ow]
            total = y if total is None else total + y.astype(np.float64)  # chunks < 2^24 each: exact in float64
        return total.reshape(n * self.oh * self.ow, -1)  # float values that are exact integers

    def partial(self, xc: np.ndarray, n: int) -> tuple[np.ndarray, None]:
        return self(xc, n), None


# ONEDNN_MAX_CPU_ISA (read when oneDNN starts) -> the EXACT_INT8_FLAGS oneDNN may still use under that cap: held below
# VNNI it adds u8 x s8 pairs in int16 again (saturating), whatever the CPU has. Caps not listed (the AMX ones, ALL,
# DEFAULT) hold nothing back
ONEDNN_CAP_INT8_FLAGS = {"SSE41": (), "AVX": (), "AVX2": (), "AVX2_VNNI": ("avx_vnni",), "AVX2_VNNI_2": ("avx_vnni",),
                         "AVX512_CORE": (), "AVX512_CORE_VNNI": ("avx512_vnni",), "AVX512_CORE_BF16": ("avx512_vnni",),
                         "AVX512_CORE_FP16": ("avx512_vnni",), "AVX10_1_512": ("avx512_vnni",)}


def onednn_isa_cap() -> str:
    """The ISA oneDNN is held to by the environment (ONEDNN_MAX_CPU_ISA, or its old name DNNL_MAX_CPU_ISA), or ""."""
    return (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").upper()


def int8_hardware(cpuinfo: str = "/proc/cpuinfo", isa_cap: str | None = None) -> list[str]:
    """This CPU's flags (of EXACT_INT8_FLAGS) for adding u8 x s8 products into int32 without an int16 step, from the
    kernel's flags, less those oneDNN may not use under ``isa_cap`` (default: :func:`onednn_isa_cap`); [] where they
    cannot be read (e.g. outside Linux)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    allowed = ONEDNN_CAP_INT8_FLAGS.get(onednn_isa_cap() if isa_cap is None else isa_cap.upper(), EXACT_INT8_FLAGS)
    return [f for f in EXACT_INT8_FLAGS if f in flags and f in allowed]


@lru_cache(maxsize=1)
def exact_int8_cpu(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU adds u8 x s8 products into int32 without an int16 step (VNNI or AMX; False where its flags
    cannot be read)."""
    return bool(int8_hardware(cpuinfo))


def _int8_refusal(tf, x_min: int, x_max: int) -> str:
    """Why the int8 engine cannot take inputs x_min..x_max here, or ""."""
    if tf is None or not hasattr(tf.raw_ops, "QuantizedConv2D"):
        return "TensorFlow with QuantizedConv2D is not loaded"
    if not exact_int8_cpu():
        return "this CPU has no VNNI/AMX: oneDNN's int8 convolution may saturate"
    if not x_min <= 0 <= x_max:
        return "the padding code 0 is not an input code"
    if x_max - x_min >= MAX_CODES:
        return "inputs wider than 16 bits"
    return ""


@dataclass
class _BytePieces:
    """A layer's m features per input code, each shifted by its minimum ``low`` and cut into 8-bit pieces, with the
    weights of each piece: ``table`` (codes, pieces) in 0..255, ``w8`` (fh, fw, c, pieces, out) in -128..127, and
    ``offset`` (out,), the constant the shifts leave out of every window's sum."""

    table: np.ndarray
    w8: np.ndarray
    offset: np.ndarray
    features: int

    @classmethod
    def of(cls, W: np.ndarray, lookup: np.ndarray | None, x_min: int, x_max: int, kernel: tuple) -> _BytePieces:
        fh, fw, c = kernel
        m = W.shape[0] // (fh * fw * c)
        table = (np.arange(x_min, x_max + 1)[:, None] if lookup is None else np.asarray(lookup)).astype(np.int64)
        w5 = np.asarray(W).astype(np.int64).reshape(fh, fw, c, m, W.shape[1])
        low = table.min(axis=0)  # feature j = low[j] + (an unsigned part), cut into 8-bit pieces below
        pieces = [p for j in range(m) for p in _byte_pieces(table[:, j] - low[j], w5[:, :, :, j])]
        return cls(np.stack([f for f, _ in pieces], axis=1), np.stack([g for _, g in pieces], axis=3),
                   np.einsum("hwcjo,j->o", w5, low), m)

    @property
    def pieces(self) -> int:
        """8-bit features per input channel (m for the float engines)."""
        return self.table.shape[1]

    def refusal(self) -> str:
        """Why these pieces are not worth (or not exact on) the int8 convolution, or ""."""
        if self.pieces > MAX_PIECES * self.features:
            return f"{self.pieces} 8-bit pieces for {self.features} features: more work than the float convolution"
        if (255 * np.abs(self.w8).sum(axis=(0, 1, 2, 3)) + np.abs(self.offset)).max() >= I32_LIMIT:
            return "sums may pass int32"
        return ""


class Int8Conv:
    """A conv layer's sums (rows = pixels, out; int32) by oneDNN's u8 x s8 convolution, for the same ``W`` and
    ``lookup`` as :class:`DirectConv` (float arrays of integers there; here any integer-valued arrays). ``ok`` is False
    (with ``why``) where it does not apply."""

    def __init__(self, node, W: np.ndarray, lookup: np.ndarray | None, x_min: int, x_max: int):
        a = node.attrs
        self.node, self.x_min, self.ok = node, x_min, False
        tf = tensorflow()
        self.why = _int8_refusal(tf, x_min, x_max)
        if self.why:
            return
        cut = _BytePieces.of(W, lookup, x_min, x_max, (a["filt_height"], a["filt_width"], a["n_chan"]))
        self.pieces = cut.pieces
        self.why = cut.refusal()
        if not self.why:
            self.ok = True
            self._compile(tf, cut)

    def _compile(self, tf, cut: _BytePieces) -> None:
        a = self.node.attrs
        fh, fw, c = a["filt_height"], a["filt_width"], a["n_chan"]
        self.table = cut.table.astype(np.uint8)  # (codes, pieces)
        # one feature, code - x_min (exact products): the features are the codes shifted, no lookup needed
        self.shift_only = self.table.shape[1] == 1 and np.array_equal(self.table[:, 0], np.arange(len(self.table)))
        self.fill = np.tile(self.table[-self.x_min], c)  # per channel, the features of the padding code 0
        w_in = cut.w8.reshape(fh, fw, c * self.pieces, -1)
        # features by chunks of a code's bytes (fixedkernels.chunked_order: one lookup per 4 bytes, not a byte at a
        # time); the weights' input channels and the padding's features follow the same order
        order = None if self.shift_only else fixedkernels.chunked_order(c, self.pieces)
        self.chunked = order is not None
        if self.chunked:
            w_in, self.fill = w_in[:, :, order], self.fill[order]
        self.offset = cut.offset if cut.offset.any() else None
        self.oh, self.ow = a["out_height"], a["out_width"]
        self.step = pointwise_step(a)
        self.tf = tf
        self.conv = _int8_conv(tf, w_in.astype(np.int8), *_strides(a, self.step))
        try:  # a build without oneDNN has no u8 x s8 kernel (its QuantizedConv2D takes quint8 filters only)
            self.conv(np.zeros((1, fh, fw, c * self.pieces), np.uint8))
        except tf.errors.OpError as e:
            self.ok, self.why = False, f"TensorFlow's int8 convolution does not run here: {str(e).splitlines()[0]}"

    def partial(self, xc: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(the sums without the shift's constant, that constant per output or None): the emulator adds the constant
        to the bias instead of making a pass over the sums."""
        a = self.node.attrs
        x = np.asarray(xc).reshape(n, a["in_height"], a["in_width"], a["n_chan"])[:, :: self.step[0], :: self.step[1]]
        pads = (a["pad_top"], a["pad_bottom"], a["pad_left"], a["pad_right"])
        if self.shift_only:
            feats = fixedkernels.shifted_image(x, self.x_min, pads, self.fill, np.uint8)
        else:
            feats = fixedkernels.image_features(x, self.x_min, self.table, pads, self.fill, self.chunked)
        y = as_array(self.tf, self.conv(as_tensor(self.tf, feats)))[:, : self.oh, : self.ow]
        return y.reshape(n * self.oh * self.ow, -1), self.offset

    def __call__(self, xc: np.ndarray, n: int) -> np.ndarray:
        y, offset = self.partial(xc, n)
        return y if offset is None else y + offset  # within int32 by the bound


def _divisors(g: int) -> list[int]:
    small = [d for d in range(1, int(g**0.5) + 1) if g % d == 0]
    return sorted(set(small + [g // d for d in small]))


def _byte_pieces(f: np.ndarray, g: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """A feature ``f`` (per code, >= 0) and its weights ``g`` as pairs (f_p in 0..255, g_q in -128..127) whose
    products add up to f * g: a common factor d of f moves into the weights (the 2^k of a bit plane), then each
    side is cut into equal parts, f/d = sum_p (f/d + p) // P (Hermite's identity) and likewise d*g over Q parts;
    the d with the fewest pairs P*Q."""
    best = None
    for d in _divisors(int(np.gcd.reduce(f)) or 1):
        fd, gd = f // d, g * d
        n_f = max(1, -(-int(fd.max()) // 255))
        n_g = max(1, -(-int(gd.max()) // 127), -(-int(-gd.min()) // 128))
        if best is None or n_f * n_g < best[0]:
            best = (n_f * n_g, fd, gd, n_f, n_g)
    _, fd, gd, n_f, n_g = best
    return [((fd + p) // n_f, (gd + q) // n_g) for p in range(n_f) for q in range(n_g)]


def _int8_conv(tf, w4: np.ndarray, sh: int, sw: int):
    """A compiled u8 (n, H, W, C) -> s32 convolution with these int8 weights (VALID, strides)."""

    def conv(x):
        weights = tf.constant(w4, dtype=tf.qint8)  # a constant inside the graph: oneDNN's int8 convolution needs one
        # unit scales: the ranges make code v stand for v, so the int32 outputs are the integer sums themselves
        y = tf.raw_ops.QuantizedConv2D(input=tf.bitcast(x, tf.quint8), filter=weights, min_input=0.0, max_input=255.0,
                                       min_filter=-128.0, max_filter=127.0, strides=[1, sh, sw, 1], padding="VALID",
                                       out_type=tf.qint32)[0]
        return tf.bitcast(y, tf.int32)

    # traced once, for any batch and image size; one function per layer is the design, so TensorFlow's warning about
    # functions traced often (it counts them by their Python code) is not for us
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")
    try:
        spec = tf.TensorSpec([None, None, None, w4.shape[2]], tf.uint8)
        return tf.function(conv, autograph=False).get_concrete_function(spec)
    finally:
        logger.setLevel(level)


DIRECT_ENGINES = {"conv2d": DirectConv, "conv2d-int8": Int8Conv}  # name (Emulator's engine) -> direct convolution
