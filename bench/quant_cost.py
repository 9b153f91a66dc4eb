"""Experiment: what each quantization scheme costs in hardware (issue 7).

Trains the zoo's cnn on Fashion-MNIST under every scheme (fixed, po2, scaled, lsq, lsq+) at w8a8 and w4a4,
then for each: test accuracy (trained Keras model; for LSQ also its deployed fixed-point form), quantization
operations on the dataflow (as converted, and fused), LUTs and the switching-energy proxy per inference
from `approxhls.cost`. Prints a table, writes bench/results/quant_cost.json and docs/quant_cost.png.

    .venv/bin/python bench/quant_cost.py [--epochs 4] [--limit-train 30000] [--train-only]

Trained models are kept in runs/quant_cost/ and reused (delete them to retrain).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCHEMES = ["fixed", "po2", "scaled", "lsq", "lsq+"]
BITS = [8, 4]


def _train_all(args) -> dict:
    from approxhls.models.training import TrainOptions, train

    records = {}
    for bits in BITS:
        for family in SCHEMES:
            name = f"{family}-w{bits}a{bits}"
            out = Path(args.runs) / name
            if (out / "train.json").exists():
                records[name] = json.loads((out / "train.json").read_text())
                continue
            print(f"training cnn {name}", flush=True)
            records[name] = train(TrainOptions(model="cnn", dataset="fashion-mnist", scheme=name, epochs=args.epochs,
                                               limit_train=args.limit_train, seed=0), out, overwrite=True)
    return records


def _deployed_accuracy(model_dir, ds) -> float:
    from approxhls.models.lsq import deploy
    from approxhls.models.modelio import load_model
    from approxhls.models.training import keras_accuracy

    deployed, _ = deploy(load_model(model_dir))
    return keras_accuracy(deployed, ds)


def _per_op_ratios() -> dict:
    """One requantization of a 24-bit accumulator to 8 bits: shift-only vs fixed-point multiplier (Geng et al.)."""
    from approxhls.cost import circuits as C

    shift = C.characterize(C.requant_shift(24, 8, 10, True))
    var = C.characterize(C.requant_varshift(24, 8, 4, True))
    mult = C.characterize(C.requant_mult(24, 8, 16, 25, True))
    return {"shift": shift, "varshift": var, "mult": mult,
            "area_mult_over_shift": mult["luts"] / shift["luts"],
            "energy_mult_over_shift": mult["toggles_per_op"] / shift["toggles_per_op"]}


def _cost_all(args, records, t0):
    from approxhls.cost import estimate_cost
    from approxhls.models.datasets import load_dataset
    from approxhls.report import format_table, write_json

    ds = load_dataset("fashion-mnist")
    rows = []
    for name, rec in records.items():
        print(f"costing {name}", flush=True)
        rep = estimate_cost(Path(args.runs) / name, progress=False)
        t = rep["totals"]
        learned = name.startswith("lsq")
        rows.append({
            "scheme": name, "acc_trained": round(rec["test_accuracy"], 4),
            "acc_deployed": round(_deployed_accuracy(Path(args.runs) / name, ds), 4) if learned else round(rec["test_accuracy"], 4),
            "quant_kind": ",".join(sorted({r["quant_kind"] for r in rep["layers"]})),
            "quant_ops_unfused": int(t["quant_ops_unfused"]), "quant_ops_fused": int(t["quant_ops_fused"]),
            "luts": int(t["luts"]), "luts_quant": int(t["luts_quantization"]), "dsp": int(t["dsp"]),
            "energy": t["energy"], "energy_quant": t["energy_quantization"],
            "energy_unfused": rep["unfused_totals"]["energy"],
            "hls4ml_emits": all(r["hls4ml_emits"] for r in rep["layers"]),
            "_report": rep,
        })
    base = next(r for r in rows if r["scheme"] == "fixed-w8a8")
    for r in rows:
        r["rel_energy"] = round(r["energy"] / base["energy"], 3)
        r["rel_luts"] = round(r["luts"] / base["luts"], 3)
        r["quant_share"] = round(r["energy_quant"] / r["energy"], 4)
    ratios = _per_op_ratios()
    cols = ["scheme", "acc_trained", "acc_deployed", "quant_kind", "quant_ops_unfused", "quant_ops_fused", "luts",
            "luts_quant", "energy", "energy_quant", "quant_share", "rel_energy", "rel_luts", "hls4ml_emits"]
    print(format_table(rows, cols))
    print(f"per requantization (24-bit accumulator -> 8 bits): fixed-point multiplier / shift = "
          f"{ratios['area_mult_over_shift']:.1f}x LUTs, {ratios['energy_mult_over_shift']:.1f}x energy")
    write_json(args.json, {"rows": rows, "per_op": ratios, "epochs": args.epochs, "limit_train": args.limit_train,
                           "architecture_true": True,  # multipliers priced as built (constant weights at reuse 1)
                           "seconds": round(time.perf_counter() - t0, 1)})
    _plot(rows, ROOT / "docs" / "quant_cost.png")
    print(f"wrote {args.json} and docs/quant_cost.png")


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cats = ("multipliers", "adders", "quantization", "memory")
    fig, ax = plt.subplots(figsize=(10, 4.5))
    names = [r["scheme"] for r in rows]
    bottom = [0.0] * len(rows)
    for cat in cats:
        vals = [r["_report"]["totals"][f"energy_{cat}"] for r in rows]
        ax.bar(names, vals, bottom=bottom, label=cat)
        bottom = [b + v for b, v in zip(bottom, vals)]
    for i, r in enumerate(rows):
        ax.text(i, bottom[i], f"{r['acc_deployed']:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("energy proxy (gate toggles / inference)")
    ax.set_title("cnn on Fashion-MNIST: where the energy goes per scheme (label: deployed test accuracy)")
    ax.tick_params(axis="x", rotation=30)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--limit-train", type=int, default=30000)
    ap.add_argument("--runs", default=str(ROOT / "runs" / "quant_cost"))
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "quant_cost.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    records = _train_all(args)
    if args.train_only:
        print({k: round(r["test_accuracy"], 4) for k, r in records.items()})
        return
    _cost_all(args, records, t0)


if __name__ == "__main__":
    main()
