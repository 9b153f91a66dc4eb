"""``make demo``: train -> convert -> C-simulate on the embedded default dataset (scikit-learn's digits)."""

from __future__ import annotations

import time
from pathlib import Path

from approxhls.report import format_table, write_json


def run_demo(out="demo-out", epochs: int = 30) -> dict:
    from approxhls.hls.convert import ConvertOptions, convert
    from approxhls.hls.csim import run_csim
    from approxhls.models.training import TrainOptions, train

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"[1/3] training mlp on digits (fixed-w8a8, {epochs} epochs)")
    rec = train(TrainOptions(model="mlp", dataset="digits", scheme="fixed-w8a8", epochs=epochs), out / "model")
    print(f"[2/3] converting to an hls4ml project (io_parallel) -> {out / 'hls_prj'}")
    convert(out / "model", out / "hls_prj", ConvertOptions(io_type="io_parallel"), overwrite=True)
    print("[3/3] compiling and running the C-simulation on the test split")
    csim = run_csim(out / "hls_prj")
    write_json(out / "csim.json", csim)
    summary = {
        "model": "mlp", "dataset": "digits", "scheme": rec["scheme"]["name"],
        "test_accuracy_keras": csim["accuracy_keras"], "test_accuracy_csim": csim["accuracy_csim"],
        "n": csim["n"], "mismatches": csim["mismatches"], "bit_exact": csim["mismatches"] == 0,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_json(out / "demo.json", summary)
    print("\n" + format_table([summary]))
    print(f"\nwrote {out}/model (model.h5, train.json, train.png), {out}/hls_prj, {out}/csim.json, {out}/demo.json")
    return summary
