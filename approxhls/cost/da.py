"""The distributed-arithmetic baseline: hls4ml's multiplier-free exact strategy, priced by da4ml itself.

hls4ml 1.3.0's ``distributed_arithmetic`` strategy hands each layer's constant matrix-vector multiplication (CMVM)
to da4ml, which turns it into a graph of shift-and-add adders; da4ml's ``solve`` returns that graph with its cost
(with hls4ml's settings: adder bits, about one LUT each on the carry chain). That cost is the baseline here, per
weight group of a layer (a convolution's group is reused over its output pixels, as hls4ml's kernels reuse it).

da4ml does not install beside this project's pins: hls4ml 1.3.0's ``da`` extra asks for da4ml>=0.5.2,<0.6, which
needs numba>=0.61 / llvmlite>=0.44 (approxhls pins numba 0.60.0 / llvmlite 0.43.0), and da4ml 0.6 needs numpy>=2
(TensorFlow 2.14 needs numpy<2). So the baseline is computed where da4ml is importable, or by the Python interpreter
named in ``APPROXHLS_DA4ML_PYTHON`` (a separate virtual environment with da4ml 0.5.2 and numba 0.68, which do work
with numpy 1.26), and is otherwise reported unavailable, with this reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

ENV = "APPROXHLS_DA4ML_PYTHON"
UNAVAILABLE = (f"da4ml is not installed: hls4ml 1.3.0's `da` extra (da4ml>=0.5.2,<0.6) needs numba>=0.61, approxhls "
               f"pins numba 0.60.0; point {ENV} at a Python with da4ml 0.5.2 to price this baseline")



def available() -> bool:
    try:
        import da4ml  # noqa: F401
    except ImportError:
        return bool(os.environ.get(ENV))
    return True


def solve_costs(matrices: list[np.ndarray], x_bits: int, x_signed: bool) -> list[dict] | None:
    """da4ml's {cost, latency} of each integer matrix (k inputs x n outputs) on activations of these codes; None
    when da4ml cannot be reached."""
    lo, hi = ((-(1 << (x_bits - 1)), (1 << (x_bits - 1)) - 1) if x_signed else (0, (1 << x_bits) - 1))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.npz"
        np.savez(path, n=len(matrices), lo=lo, hi=hi, **{f"w{k}": np.asarray(m, np.int64) for k, m in enumerate(matrices)})
        try:
            import da4ml  # noqa: F401
        except ImportError:
            python = os.environ.get(ENV)
            if not python:
                return None
            return _in_subprocess(python, path)
        from approxhls.cost.da_solve import solve_file

        return solve_file(path)


def _in_subprocess(python: str, path: Path) -> list[dict]:
    from approxhls.errors import ApproxHLSError
    from approxhls.toolrun import limit, run_tool

    script = Path(__file__).with_name("da_solve.py")
    # da4ml compiles its solver with numba on first use (minutes), then solves each matrix
    res = run_tool([python, str(script), str(path)], what="pricing distributed arithmetic with da4ml", kind="run",
                   timeout=limit("run") * 6)
    if res.returncode != 0:
        raise ApproxHLSError(f"da4ml ({python}, from {ENV}) failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


CACHE_VERSION = 2  # 2: costs in adder bits, as hls4ml asks da4ml (1 counted adders)
WHAT = "distributed-arithmetic cache"


def cache_path() -> Path:
    from approxhls.home import home

    return home() / "da_costs.json"


def _key(m: np.ndarray, x_bits: int, x_signed: bool) -> str:
    m = np.ascontiguousarray(np.asarray(m, np.int64))
    h = hashlib.sha256(f"{m.shape}/{x_bits}/{x_signed}".encode())
    h.update(m.tobytes())
    return h.hexdigest()[:24]


def layer_cost(groups: list[np.ndarray], x_bits: int, x_signed: bool) -> float | None:
    """da4ml's cost of a layer (the sum over its weight groups), cached per matrix; None without da4ml."""
    from approxhls.multipliers import jsoncache

    keys = [_key(g, x_bits, x_signed) for g in groups]
    known = jsoncache.read(cache_path(), CACHE_VERSION, WHAT)
    todo = [k for k in range(len(groups)) if keys[k] not in known]
    if todo:
        costs = solve_costs([groups[k] for k in todo], x_bits, x_signed)
        if costs is None:
            return None
        known = jsoncache.update(cache_path(), CACHE_VERSION, WHAT,
                                 lambda e: e.update({keys[k]: c for k, c in zip(todo, costs)}))
    return float(sum(known[k]["cost"] for k in keys))
