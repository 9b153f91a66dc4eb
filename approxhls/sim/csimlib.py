"""The C-simulation of a converted project as a shared library, built once and loaded with ctypes.

hls4ml's ``compile()`` rebuilds the library every time; here the build is keyed by a digest of the
project's C++ sources and weights, so an up-to-date build is reused. Needs numpy and a C++ compiler only
(no hls4ml, no TensorFlow): the host library's C-simulation backend uses it too.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import numpy.ctypeslib as npc

from approxhls.errors import ProjectError
from approxhls.sim.pch import precompiled_header
from approxhls.sim.project import load_project
from approxhls.toolrun import require, run_tool

BUILD_RECORD = ".approxhls_build.json"
BUILD_LOG = "build_lib.log"


def _sources(prj: Path) -> list[Path]:
    """Files whose change requires a rebuild (ap_types is shipped by hls4ml and never changes)."""
    files = sorted(prj.glob("*_bridge.cpp"))
    fw = prj / "firmware"
    for p in sorted(fw.rglob("*")):
        if p.is_file() and "ap_types" not in p.parts and p.suffix in (".h", ".cpp", ".hpp", ".txt"):
            files.append(p)
    return files


def source_digest(prj: Path, flags: list[str]) -> str:
    h = hashlib.sha256(" ".join(flags).encode())
    for p in _sources(prj):
        h.update(str(p.relative_to(prj)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def optimization_flag() -> str:
    """The C-simulation's optimization level: hls4ml's -O3 unless APPROXHLS_CSIM_OPT says otherwise (the integer
    results of ap_fixed arithmetic do not depend on it; tests build faster at -O0/-O1)."""
    opt = os.environ.get("APPROXHLS_CSIM_OPT", "-O3")
    if opt not in ("-O0", "-O1", "-O2", "-O3", "-Os", "-Og"):
        raise ProjectError(f"APPROXHLS_CSIM_OPT={opt!r}: give one of -O0, -O1, -O2, -O3, -Os, -Og")
    return opt


@functools.lru_cache(maxsize=None)
def standard_flags(gxx: str) -> list[str]:
    """build_lib.sh's choices: the newest of c++23 / c++11 the compiler takes, and -fno-gnu-unique where known."""
    flags = []
    for probe, fallback in (("-std=c++23", "-std=c++11"), ("-fno-gnu-unique", None)):
        r = run_tool([gxx, "-Werror", "-fsyntax-only", probe, "-xc++", "-", "-o", "/dev/null"], input="",
                     what=f"probing {gxx} for {probe}", kind="probe")
        chosen = probe if r.returncode == 0 else fallback
        if chosen:
            flags.append(chosen)
    return flags


def compile_flags(gxx: str) -> list[str]:
    """The flags of every C-simulation build (and of the program that makes hls4ml's activation tables)."""
    return [optimization_flag(), "-fPIC", *standard_flags(gxx)]


WEIGHTS_ENV = "APPROXHLS_WEIGHTS_DIR"
# hls4ml's C-simulation reads its weights from text files in WEIGHTS_DIR at the first call. The directory is taken
# from the environment at that call, not compiled in: the library works wherever the project is (it is built
# beside its destination and moved in), and no character of a directory name ever reaches the compiler.
WEIGHTS_FROM_ENV = f'-DWEIGHTS_DIR=(getenv("{WEIGHTS_ENV}") ? getenv("{WEIGHTS_ENV}") : "weights")'
_first_calls = threading.Lock()


MAX_STACK = 1 << 30  # the largest thread stack the C-simulation is given (1 GiB of address space, mapped lazily)


def _element_bytes(type_text: str) -> int:
    """Bytes ap_types keep for one element: the C integer that holds its width (an array above 64 bits)."""
    import re

    m = re.search(r"<\s*(\d+)", type_text)
    width = int(m.group(1)) if m else 64
    return next((b for b in (1, 2, 4, 8) if 8 * b >= width), 8 * ((width + 63) // 64))


def stack_bytes(meta: dict) -> int:
    """What hls4ml's io_parallel top function keeps on the stack: every layer's output array (io_stream keeps its
    streams on the heap). An estimate from the layers' shapes and result types, with a factor two of margin."""
    if meta.get("io_type") != "io_parallel":
        return 0
    total = 0
    for layer in meta.get("layers", []):
        t = layer.get("types", {}).get("result_t", "")
        total += int(np.prod(layer.get("shape") or [1])) * _element_bytes(t)
    return 2 * total


def check_stack(meta: dict, where) -> None:
    """Refuse, before anything is built, a model whose C-simulation cannot hold its layers' outputs."""
    need = stack_bytes(meta)
    if need > MAX_STACK:
        raise ProjectError(f"{where}: the io_parallel C-simulation would keep about {need / 2**30:.1f} GiB of layer "
                           f"outputs on its stack (at most {MAX_STACK / 2**30:.0f} GiB): use --io-type io_stream, "
                           f"or a smaller input")


def on_stack(size: int, fn):
    """``fn()`` in a thread whose stack holds ``size`` bytes more than a default one (hls4ml's io_parallel C++
    keeps every layer's output in local arrays; the main thread's 8 MiB overflows for large inputs)."""
    if size <= (4 << 20):
        return fn()
    result, error = [], []

    def run():
        try:
            result.append(fn())
        except BaseException as e:  # noqa: BLE001 (handed to the caller's thread)
            error.append(e)

    with _stack_setting:
        old = threading.stack_size(min(MAX_STACK, size + (16 << 20)))
        try:
            t = threading.Thread(target=run, name="approxhls-csim")
            t.start()
        finally:
            threading.stack_size(old)
    t.join()
    if error:
        raise error[0]
    return result[0]


_stack_setting = threading.Lock()


class CSimLibrary:
    """Build (if stale) and call ``<project>_double`` of a converted project."""

    def __init__(self, project_dir):
        self.dir = Path(project_dir)
        self.meta = load_project(self.dir)
        self.name = self.meta["project_name"]
        # the top function's arguments: a sample is its inputs side by side, the outputs likewise
        self.in_sizes = [int(np.prod(s)) for s in self.meta.get("input_shapes", [self.meta["input_shape"]])]
        self.out_sizes = [int(np.prod(s)) for s in self.meta.get("output_shapes", [self.meta["output_shape"]])]
        self.n_in, self.n_out = sum(self.in_sizes), sum(self.out_sizes)
        check_stack(self.meta, self.dir)
        self.stack = stack_bytes(self.meta)
        self._lib = None
        self._fn = None
        self.build_seconds = 0.0
        self.rebuilt = False

    # ---- build -----------------------------------------------------------------------------------
    def library_path(self, flags: list[str] | None = None) -> Path | None:
        rec = self.dir / BUILD_RECORD
        if not rec.exists():
            return None
        try:
            info = json.loads(rec.read_text())
        except json.JSONDecodeError:
            return None
        lib = self.dir / str(info.get("library", ""))
        flags = flags if flags is not None else [*compile_flags(require("g++")), WEIGHTS_FROM_ENV]
        if info.get("digest") == source_digest(self.dir, flags) and lib.is_file() and lib.parent == self.dir / "firmware":
            return lib
        return None

    def build(self, force: bool = False) -> Path:
        """Compile the project's C++ and its bridge into a shared library, as build_lib.sh does (the same flags,
        with the optimization level of :func:`optimization_flag`); each file's compile has a deadline."""
        gxx = require("g++")
        flags = [*compile_flags(gxx), WEIGHTS_FROM_ENV]
        lib = None if force else self.library_path(flags)
        if lib is not None:
            return lib
        bridge = self.dir / f"{self.name}_bridge.cpp"
        if not bridge.is_file():
            raise ProjectError(f"{self.dir} has no {bridge.name}; re-create it with `approxhls convert`")
        digest = source_digest(self.dir, flags)
        t0 = time.perf_counter()
        log = []
        pch = precompiled_header(gxx, flags, self.dir / "firmware" / "ap_types")
        common = ["-include", pch, "-Winvalid-pch"] if pch is not None else []  # not in the digest: same code
        with tempfile.TemporaryDirectory(prefix="approxhls-csim-") as tmp:
            objs = []
            for src in (self.dir / "firmware" / f"{self.name}.cpp", bridge):
                obj = Path(tmp) / f"{src.stem}.o"
                self._run(log, [gxx, *flags, *common, "-Ifirmware/ap_types/", "-c", src.relative_to(self.dir), "-o",
                                obj], f"compiling {src.name} of {self.dir}")
                objs.append(obj)
            lib = self.dir / "firmware" / f"{self.name}-approxhls-{digest[:16]}.so"
            partial = Path(tmp) / lib.name
            self._run(log, [gxx, *flags, "-shared", *objs, "-o", partial], f"linking the C-simulation of {self.dir}")
            for old in (self.dir / "firmware").glob(f"{self.name}-*.so"):
                old.unlink()
            shutil.move(str(partial), lib)
        (self.dir / BUILD_LOG).write_text("".join(log))
        self.build_seconds = time.perf_counter() - t0
        (self.dir / BUILD_RECORD).write_text(json.dumps({"digest": digest, "library": str(lib.relative_to(self.dir)),
                                                          "flags": flags}))
        self.rebuilt = True
        return lib

    def _run(self, log: list, cmd: list, what: str) -> None:
        res = run_tool(cmd, cwd=self.dir, what=what, kind="compile")
        log.append(" ".join(str(c) for c in cmd) + "\n" + res.stdout + res.stderr)
        if res.returncode != 0:
            (self.dir / BUILD_LOG).write_text("".join(log))
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
            raise ProjectError(f"the C-simulation of {self.dir} failed to compile (full log: "
                               f"{self.dir / BUILD_LOG}):\n{tail}")

    def load(self, force_build: bool = False) -> "CSimLibrary":
        if self._fn is not None and not force_build:
            return self
        lib_path = self.build(force=force_build)
        self._lib = ctypes.CDLL(str(lib_path.resolve()))
        top = getattr(self._lib, f"{self.name}_double")
        top.restype = None
        top.argtypes = [npc.ndpointer(ctypes.c_double, flags="C_CONTIGUOUS")] * (len(self.in_sizes) + len(self.out_sizes))
        ins, outs = np.cumsum([0, *self.in_sizes]), np.cumsum([0, *self.out_sizes])

        def fn(x, y):  # one sample: its inputs side by side in x, its outputs side by side into y
            parts = [np.ascontiguousarray(x[a:b]) for a, b in zip(ins[:-1], ins[1:])]
            results = [np.zeros(b - a) for a, b in zip(outs[:-1], outs[1:])]
            top(*parts, *results)
            y[:] = np.concatenate(results) if len(results) > 1 else results[0]

        if len(self.in_sizes) == len(self.out_sizes) == 1:
            fn = top
        weights = self.dir / "firmware" / "weights"
        if any(weights.glob("*.txt")):  # the first call reads them from the directory the environment names
            with _first_calls:
                os.environ[WEIGHTS_ENV] = str(weights.resolve())
                on_stack(self.stack, lambda: fn(np.zeros(self.n_in), np.zeros(self.n_out)))
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
            on_stack(self.stack, lambda: self._trace_loop(x, out, sizes, collect, TraceData, traces))
        finally:
            free()
        return out, {k: np.stack(v) for k, v in traces.items()}

    def _trace_loop(self, x, out, sizes, collect, TraceData, traces) -> None:
        for i in range(len(x)):
            self._fn(x[i], out[i])
            data = (TraceData * len(sizes))()
            collect(data)
            for t in data:
                name = t.name.decode() if t.name else None
                if name in sizes:
                    arr = np.ctypeslib.as_array(ctypes.cast(t.data, ctypes.POINTER(ctypes.c_double)), shape=(sizes[name],))
                    traces.setdefault(name, []).append(arr.copy())

    def predict(self, x: np.ndarray, progress=None) -> np.ndarray:
        """Run samples one by one through the C-simulation; returns (n, outputs) float64."""
        self.load()
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(len(x), -1))
        if x.shape[1] != self.n_in:
            raise ProjectError(f"the project takes {self.n_in} inputs per sample, got {x.shape[1]}")
        out = np.zeros((len(x), self.n_out), dtype=np.float64)

        def run():
            for i in range(len(x)):
                self._fn(x[i], out[i])
                if progress is not None:
                    progress(1)

        on_stack(self.stack, run)
        return out
