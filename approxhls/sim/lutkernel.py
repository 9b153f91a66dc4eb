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
import subprocess
from pathlib import Path

import numpy as np
import numpy.ctypeslib as npc

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
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    h = hashlib.sha256(SOURCE.read_bytes())
    for part in (cc, *version, *FLAGS, cpu_identity()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def _build() -> ctypes.CDLL | None:
    from approxhls.multipliers.user import home

    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        return None
    out = home() / "build" / f"lut_gemm-{cache_key(cc)}.so"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        cmd = [cc, *FLAGS, "-o", str(tmp), str(SOURCE)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:  # e.g. no OpenMP: build single-threaded
            cmd.remove("-fopenmp")
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                return None
        tmp.replace(out)
    lib = ctypes.CDLL(str(out))
    i32 = npc.ndpointer(np.int32, flags="C_CONTIGUOUS")
    lib.lut_gemm.argtypes = [i32, ctypes.c_int64, ctypes.c_int64, i32, ctypes.c_int64, i32,
                             npc.ndpointer(np.int64, flags="C_CONTIGUOUS")]
    lib.lut_gemm.restype = None
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
