"""The model corpus (approxhls.models.corpus) through convert: which layers equal Keras, the largest difference where
they do not, and emulator == C-simulation, under io_parallel and io_stream.

    .venv/bin/python bench/corpus.py [--samples 500] [--out bench/results/corpus.json]

Every model gets seeded weights over its quantizers' ranges and random inputs on its input grid (with the all-zero
and all-maximum corners). Prints a table; writes JSON that docs/RESULTS.md is rendered from.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--out", default="bench/results/corpus.json")
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()

    import numpy as np

    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.hls.verify import verification_inputs
    from approxhls.models.corpus import CORPUS, build
    from approxhls.report import format_table, write_json
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.ir import IR
    from approxhls.sim.project import load_project

    rows = []
    for name in args.only or sorted(CORPUS):
        for io in ("io_parallel", "io_stream"):
            with tempfile.TemporaryDirectory() as tmp:
                prj = Path(tmp) / "prj"
                model = build(name, seed=sum(map(ord, name)))
                t0 = time.perf_counter()
                convert_model(model, prj, ConvertOptions(io_type=io), verify=args.samples)
                seconds = time.perf_counter() - t0
                meta = load_project(prj)
                x = verification_inputs(meta, args.samples)
                y_csim = CSimLibrary(prj).predict(x)
                ir = IR.load(prj)
                y_emu = Emulator(ir).predict(x)
                v = meta["verified"]
                rows.append({
                    "model": name, "io_type": io, "what": CORPUS[name][2],
                    "ops": sorted({n.op for n in ir.nodes} - {"input"}),
                    "derived": meta["bit_exact_derived"], "claim": meta["bit_exact"],
                    "samples": v["samples"], "mismatched_samples": v["mismatched_samples"],
                    "max_abs_diff": v["max_abs_diff"], "class_agreement": v["class_agreement"],
                    "emulator_equals_csim": bool(np.array_equal(y_emu, y_csim)),
                    "not_exact": {r["layer"]: r["reason"] for r in meta["exactness"] if r["exact"] is False},
                    "unknown": {r["layer"]: r["reason"] for r in meta["exactness"] if r["exact"] is None},
                    "convert_and_verify_s": round(seconds, 1),
                })
                print(format_table([{k: v for k, v in rows[-1].items() if k not in ("what", "ops", "not_exact",
                                                                                     "unknown")}]), flush=True)
    write_json(args.out, {"rows": rows, "samples": args.samples})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
