"""The compiled table-lookup GEMM (kernels/lut_gemm.c), built once per machine with the C compiler.

The shared library is cached under ``$APPROXHLS_HOME/build`` keyed by the source, the compiler and its flags,
and the CPU it was built on (``-march=native`` code must not run on another CPU, e.g. on Dask workers that
share a home directory). Without a C compiler, a numpy gather does the same (slower) and the emulator says so.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
from pathlib import Path

import numpy as np
import numpy.ctypeslib as npc

from approxhls.sim.ops.mac import image
from approxhls.toolrun import run_tool

SOURCE = Path(__file__).with_name("kernels") / "lut_gemm.c"
_lib = None


FLAGS = ("-O3", "-march=native", "-fopenmp", "-shared", "-fPIC")


def cpu_identity() -> str:
    """What ``-march=native`` depends on: the architecture, the CPU model and its feature flags."""
    text = platform.machine() + platform.processor()
    try:
        info = Path("/proc/cpuinfo").read_text()
        text += "".join(sorted({line for line in info.splitlines()
                                if line.split(":")[0].strip() in ("model name", "flags", "Features", "CPU part")}))
    except OSError:
        pass
    return text


def cache_key(cc: str) -> str:
    """Digest of the kernel source, the compiler (path and version), the flags and the CPU."""
    version = run_tool([cc, "--version"], what="printing its version", kind="probe").stdout.splitlines()[:1]
    h = hashlib.sha256(SOURCE.read_bytes())
    for part in (cc, *version, *FLAGS, cpu_identity()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def _build() -> ctypes.CDLL | None:
    from approxhls.home import build_cache

    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        return None
    out = build_cache() / f"lut_gemm-{cache_key(cc)}.so"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        cmd = [cc, *FLAGS, "-o", str(tmp), str(SOURCE)]
        what = "compiling the emulator's lookup kernel"
        res = run_tool(cmd, what=what, kind="compile")
        if res.returncode != 0:  # e.g. no OpenMP: build single-threaded
            cmd.remove("-fopenmp")
            res = run_tool(cmd, what=what, kind="compile")
            if res.returncode != 0:
                return None
        tmp.replace(out)
    lib = ctypes.CDLL(str(out))
    i32 = npc.ndpointer(np.int32, flags="C_CONTIGUOUS")
    lib.lut_gemm.argtypes = [i32, ctypes.c_int64, ctypes.c_int64, i32, ctypes.c_int64, i32,
                             npc.ndpointer(np.int64, flags="C_CONTIGUOUS")]
    lib.lut_gemm.restype = None
    i64 = npc.ndpointer(np.int64, flags="C_CONTIGUOUS")
    for name, entry in (("lut_conv16", np.int16), ("lut_conv32", np.int32)):
        fn = getattr(lib, name)
        fn.argtypes = [i64, *[ctypes.c_int64] * 12, npc.ndpointer(entry, flags="C_CONTIGUOUS"), ctypes.c_int64,
                       ctypes.c_int64, i32, i32, i32]
        fn.restype = None
    return lib


def available() -> bool:
    global _lib
    if _lib is None:
        _lib = _build() or False
    return bool(_lib)


class LutLayer:
    """Products of one layer read from its table: weights fixed, inputs as code indices."""

    def __init__(self, table: np.ndarray, w_index: np.ndarray):
        self.nx = table.shape[0]
        self.tt = np.ascontiguousarray(table.T.astype(np.int32))  # tt[w, x]
        self.k, self.out = w_index.shape
        self.woff = np.ascontiguousarray((w_index.T.astype(np.int64) * self.nx).astype(np.int32))  # (out, k)

    def __call__(self, x_index: np.ndarray) -> np.ndarray:
        x_index = np.ascontiguousarray(x_index, dtype=np.int32)
        rows = x_index.shape[0]
        res = np.empty((rows, self.out), dtype=np.int64)
        if available():
            _lib.lut_gemm(x_index, rows, self.k, self.woff, self.out, self.tt, res)
            return res
        flat = self.tt.reshape(-1)
        for j in range(self.out):  # numpy fallback: one gather per output column
            res[:, j] = flat[self.woff[j][None, :] + x_index].sum(axis=1)
        return res


BLOCK = 16  # outputs per block of the convolution kernel's table (its BLOCK)
MAX_CONV_TABLE_BYTES = 64 << 20  # per layer: larger tables run on the row kernel (LutLayer)
I32_LIMIT = 2**31


class LutConv:
    """One Dense/Conv layer's sums by table lookup without im2col rows (kernels/lut_gemm.c: lut_conv): per kernel
    position and input code, the products with one block of outputs' weights, added as one vector. Build with
    :meth:`create`, which says None where it does not apply."""

    def __init__(self, node, rel: np.ndarray, zero: np.ndarray, w_index: np.ndarray, x_min: int, entry: type):
        """``rel``: the table less its row for code 0 (``zero``), both int64; see :meth:`create`."""
        if node.op == "dense":  # a 1x1 image of k channels
            self.geometry = (1, 1, w_index.shape[0], 1, 1, 1, 1, 1, 1)
        else:
            self.geometry = tuple(node.attrs[g] for g in ("in_height", "in_width", "n_chan", "filt_height",
                                                          "filt_width", "stride_height", "stride_width", "out_height",
                                                          "out_width"))
        self.node, self.x_min, self.nx = node, x_min, rel.shape[0]
        k, self.out = w_index.shape
        blocks = -(-self.out // BLOCK)
        cols = np.zeros((k, blocks * BLOCK), dtype=np.int64)  # padding columns: any weight (their sums are dropped)
        cols[:, : self.out] = w_index
        # code 0's products leave the table (most inputs after a ReLU are 0, and the padding is): the kernel skips
        # them, and their sum per output is a constant (the offset, which the emulator adds to the bias)
        offset = zero[w_index].sum(axis=0)
        self.offset = offset if offset.any() else None
        products = rel[:, cols]  # (nx, k, blocks * BLOCK)
        self.P = np.ascontiguousarray(products.reshape(self.nx, k, blocks, BLOCK).transpose(2, 1, 0, 3), dtype=entry)
        self.kernel = getattr(_lib, "lut_conv16" if entry is np.int16 else "lut_conv32")

    @classmethod
    def create(cls, node, table: np.ndarray, w_index: np.ndarray, x_min: int) -> LutConv | None:
        """For a Dense or Conv layer with one weight group (``w_index`` (k, out): weight code - its minimum) and
        inputs whose padding code 0 is in the table; None where the compiled kernel is missing, a sum may pass
        int32 or the layer's table would pass MAX_CONV_TABLE_BYTES."""
        if node.op not in ("dense", "conv") or not available() or not x_min <= 0 < x_min + table.shape[0]:
            return None
        t = np.asarray(table, dtype=np.int64)
        zero = t[-x_min]
        rel = t - zero[None]  # the kernel's entries
        largest = int(np.abs(rel).max())
        if w_index.shape[0] * largest >= I32_LIMIT:
            return None
        entry = np.int16 if largest < 2**15 else np.int32
        size = -(-w_index.shape[1] // BLOCK) * BLOCK * w_index.shape[0] * table.shape[0] * np.dtype(entry).itemsize
        # the bound also keeps the kernel's row offsets within one block (< k * nx * BLOCK entries) in int32
        return cls(node, rel, zero, w_index, x_min, entry) if size <= MAX_CONV_TABLE_BYTES else None

    def partial(self, xc: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(sums (rows = pixels, out) int32 without code 0's products, their constant per output or None): the
        emulator's direct-layer interface."""
        h, w, c, fh, fw, sh, sw, oh, ow = self.geometry
        img = np.ascontiguousarray(xc.reshape(n, h, w, c) if self.node.op == "dense" else image(self.node, xc, n),
                                   dtype=np.int64)
        hp, wp = img.shape[1:3]
        res = np.empty((n * oh * ow, self.out), dtype=np.int32)
        # the kernel's scratch: per input pixel, the offsets of its non-zero codes' product rows and their count (0
        # for a pixel no window reads, which the kernel leaves as it is)
        offs, cnt = np.empty(img.shape, dtype=np.int32), np.zeros(img.shape[:3], dtype=np.int32)
        self.kernel(img, n, hp, wp, c, fh, fw, sh, sw, oh, ow, self.x_min, -self.x_min, self.P, self.nx, self.out, res,
                    offs, cnt)
        return res, self.offset

    def __call__(self, xc: np.ndarray, n: int) -> np.ndarray:
        sums, offset = self.partial(xc, n)
        return sums if offset is None else sums + offset
