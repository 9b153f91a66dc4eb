"""The C-simulation of a converted project as a shared library, built once and loaded with ctypes.

hls4ml's ``compile()`` rebuilds the library every time; here the build is keyed by a digest of the
project's C++ sources and weights, so an up-to-date build is reused. Needs numpy and a C++ compiler only
(no hls4ml, no TensorFlow): the host library's C-simulation backend uses it too.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import numpy.ctypeslib as npc

from approxhls.errors import ProjectError, ToolMissingError
from approxhls.sim.project import load_project

BUILD_RECORD = ".approxhls_build.json"


def _sources(prj: Path) -> list[Path]:
    """Files whose change requires a rebuild (ap_types is shipped by hls4ml and never changes)."""
    files = [prj / "build_lib.sh"]
    files += sorted(prj.glob("*_bridge.cpp"))
    fw = prj / "firmware"
    for p in sorted(fw.rglob("*")):
        if p.is_file() and "ap_types" not in p.parts and p.suffix in (".h", ".cpp", ".hpp", ".txt"):
            files.append(p)
    return files


def source_digest(prj: Path) -> str:
    h = hashlib.sha256()
    for p in _sources(prj):
        h.update(str(p.relative_to(prj)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


class CSimLibrary:
    """Build (if stale) and call ``<project>_double`` of a converted project."""

    def __init__(self, project_dir):
        self.dir = Path(project_dir)
        self.meta = load_project(self.dir)
        self.name = self.meta["project_name"]
        self.n_in = int(np.prod(self.meta["input_shape"]))
        self.n_out = int(np.prod(self.meta["output_shape"]))
        self._lib = None
        self._fn = None
        self.build_seconds = 0.0
        self.rebuilt = False

    # ---- build -----------------------------------------------------------------------------------
    def library_path(self) -> Path | None:
        rec = self.dir / BUILD_RECORD
        if not rec.exists():
            return None
        try:
            info = json.loads(rec.read_text())
        except json.JSONDecodeError:
            return None
        lib = self.dir / info.get("library", "")
        if info.get("digest") == source_digest(self.dir) and lib.is_file():
            return lib
        return None

    def build(self, force: bool = False) -> Path:
        lib = None if force else self.library_path()
        if lib is not None:
            return lib
        if shutil.which("g++") is None:
            raise ToolMissingError(
                "g++ is not installed; the C-simulation needs it (Debian: `apt-get install g++`)"
            )
        script = self.dir / "build_lib.sh"
        if not script.exists():
            raise ProjectError(f"{self.dir} has no build_lib.sh; re-create it with `approxhls convert`")
        for old in (self.dir / "firmware").glob(f"{self.name}-*.so"):
            old.unlink()
        t0 = time.perf_counter()
        res = subprocess.run(["bash", "build_lib.sh"], cwd=self.dir, capture_output=True, text=True)
        self.build_seconds = time.perf_counter() - t0
        log = self.dir / "build_lib.log"
        log.write_text(res.stdout + res.stderr)
        if res.returncode != 0:
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
            raise ProjectError(f"the C-simulation of {self.dir} failed to compile (full log: {log}):\n{tail}")
        libs = sorted((self.dir / "firmware").glob(f"{self.name}-*.so"), key=os.path.getmtime)
        if not libs:
            raise ProjectError(f"build_lib.sh ran but left no {self.name}-*.so in {self.dir}/firmware")
        lib = libs[-1]
        record = {"digest": source_digest(self.dir), "library": str(lib.relative_to(self.dir))}
        (self.dir / BUILD_RECORD).write_text(json.dumps(record))
        self.rebuilt = True
        return lib

    def load(self, force_build: bool = False) -> "CSimLibrary":
        if self._fn is not None and not force_build:
            return self
        lib_path = self.build(force=force_build)
        # Weights are read from text files relative to the project at first call (WEIGHTS_DIR is absolute).
        self._lib = ctypes.CDLL(str(lib_path.resolve()))
        fn = getattr(self._lib, f"{self.name}_double")
        fn.restype = None
        fn.argtypes = [npc.ndpointer(ctypes.c_double, flags="C_CONTIGUOUS")] * 2
        self._fn = fn
        return self

    # ---- run -------------------------------------------------------------------------------------
    def trace(self, x: np.ndarray, sizes: dict[str, int]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Outputs and every traced layer's output (n, size), for a project converted with tracing on
        (hls4ml's bridge: allocate_trace_storage / collect_trace_output); ``sizes``: elements per layer."""

        class TraceData(ctypes.Structure):
            _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.c_void_p)]

        self.load()
        try:
            alloc, collect, free = (getattr(self._lib, f) for f in
                                    ("allocate_trace_storage", "collect_trace_output", "free_trace_storage"))
        except AttributeError:
            raise ProjectError(f"{self.dir} was not converted with tracing; `approxhls diff` makes a traced copy") from None
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(len(x), -1))
        alloc.argtypes, alloc.restype = [ctypes.c_size_t], None
        collect.argtypes, collect.restype = [ctypes.POINTER(TraceData)], None
        free.argtypes, free.restype = None, None
        out = np.zeros((len(x), self.n_out), dtype=np.float64)
        traces: dict[str, list] = {}
        alloc(ctypes.sizeof(ctypes.c_double))
        try:
            for i in range(len(x)):
                self._fn(x[i], out[i])
                data = (TraceData * len(sizes))()
                collect(data)
                for t in data:
                    if not t.name:
                        continue
                    name = t.name.decode()
                    if name in sizes:
                        arr = np.ctypeslib.as_array(ctypes.cast(t.data, ctypes.POINTER(ctypes.c_double)),
                                                    shape=(sizes[name],))
                        traces.setdefault(name, []).append(arr.copy())
        finally:
            free()
        return out, {k: np.stack(v) for k, v in traces.items()}

    def predict(self, x: np.ndarray, progress=None) -> np.ndarray:
        """Run samples one by one through the C-simulation; returns (n, outputs) float64."""
        self.load()
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(len(x), -1))
        if x.shape[1] != self.n_in:
            raise ProjectError(f"the project takes {self.n_in} inputs per sample, got {x.shape[1]}")
        out = np.zeros((len(x), self.n_out), dtype=np.float64)
        for i in range(len(x)):
            self._fn(x[i], out[i])
            if progress is not None:
                progress(1)
        return out
