"""The exact baselines side by side on layer-shaped constant matrices: exact products in LUTs (constant weights,
summed over the codes, plus the adders), in DSP48 slices (pynq-z2's 220), and hls4ml's distributed arithmetic as
da4ml 0.5.2 prices it.

da4ml does not install beside approxhls' pins; give it its own environment and point APPROXHLS_DA4ML_PYTHON at it:

    python -m venv /work/venvs/da4ml && /work/venvs/da4ml/bin/pip install "da4ml==0.5.2" "numba>=0.61" numpy==1.26.4
    APPROXHLS_DA4ML_PYTHON=/work/venvs/da4ml/bin/python nice -n 10 .venv/bin/python bench/da_baseline.py

Matrices: bell-shaped 8-bit weights (round(N(0, 20)), seeded) of a 3x3 convolution from 4 to 16 channels (36 x 16)
and from 16 to 32 channels (144 x 32), unsigned 8-bit activations. Prints a table, writes bench/results/da_baseline.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from render_results import results_path  # noqa: E402

SHAPES = [(36, 16), (144, 32)]
ACC_BITS = 20


def matrix(k: int, n: int, seed: int = 0) -> np.ndarray:
    return np.clip(np.round(np.random.default_rng(seed).normal(0, 20, (k, n))), -128, 127).astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="the small matrix only (bench/results/quick/)")
    args = ap.parse_args()
    from approxhls.cost import architecture as arch
    from approxhls.cost.baselines import exact_baselines
    from approxhls.report import format_table, write_json

    rows = []
    for k, n in SHAPES[:1] if args.quick else SHAPES:
        w = matrix(k, n)
        codes, counts = np.unique(w, return_counts=True)
        layer = arch.Layer(f"{k}x{n}", k * n, k * n, 8, 8, False, tuple(zip(codes.tolist(), counts.tolist())),
                           arch.adder_luts([w], ACC_BITS, True), (w,))
        t0 = time.perf_counter()
        bases = {b.name: b for b in exact_baselines([layer], {}, dsp_budget=220)}
        rows.append({"matrix": f"{k} x {n}", "weights": k * n, "lut_fabric": round(bases["lut_fabric"].luts),
                     "dsp48_luts": round(bases["dsp48"].luts), "dsp48_dsp": bases["dsp48"].dsp,
                     "da": round(bases["da"].luts) if bases["da"].available else None,
                     "da_note": bases["da"].note, "seconds": round(time.perf_counter() - t0, 1),
                     "adders": round(layer.adders)})
    print(format_table([{k: v for k, v in r.items() if k != "da_note"} for r in rows]))
    out = results_path("da_baseline", args.quick)
    write_json(out, {"rows": rows, "acc_bits": ACC_BITS, "weights": "round(N(0, 20)), seed 0, clipped to 8 bits",
                     "activations": "unsigned 8-bit"})
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
