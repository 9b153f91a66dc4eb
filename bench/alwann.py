"""ALWANN experiment: Fashion-MNIST, the zoo's cnn and resnet8 at 8 bits, per-layer multipliers
(hls4ml's dataflow) and 2-4 tiles (ALWANN's accelerator), with and without weight tuning.

Trains the models first when MODELDIR/{cnn,resnet8} do not exist. Prints a table of the lowest
multiplication energy found within 0.5 percentage points of the exact network's test accuracy, and writes
bench/results/alwann.json.

    .venv/bin/python bench/alwann.py --models runs/alwann [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="runs/alwann", help="directory with (or for) the trained models")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="bench/results/alwann.json")
    ap.add_argument("--only", nargs="*", default=["cnn", "resnet8"])
    ap.add_argument("--resume", action="store_true", help="reuse finished searches (pareto.json) under --models")
    args = ap.parse_args()

    from approxhls.models.training import TrainOptions, train
    from approxhls.report import format_table, write_json
    from approxhls.search.run import SearchOptions, best_within, run_search

    root = Path(args.models)
    train_cfg = {"cnn": dict(epochs=6), "resnet8": dict(epochs=3, limit_train=30000)}
    # what fits a 2-core machine in about half an hour; resnet8's front is scored on 2,000 test images
    budget = {"cnn": dict(pop=16, gens=8, calib=500), "resnet8": dict(pop=12, gens=5, calib=300, test_limit=2000)}
    # tiles must be fewer than the layers: the cnn has 3, resnet8 9 (its logits layer reads 12-bit codes)
    configs = {"cnn": [(None, False), (None, True), (2, True)],
               "resnet8": [(None, True), (2, True), (4, True)]}
    if args.quick:
        budget = {k: dict(pop=8, gens=2, calib=200, test_limit=500) for k in budget}
    rows = []
    for name in args.only:
        mdir = root / name
        if not (mdir / "model.h5").exists():
            train(TrainOptions(model=name, dataset="fashion-mnist", scheme="fixed-w8a8", **train_cfg[name]), mdir)
        for tiles, tune in configs[name]:
            label = f"{name}_{'dataflow' if tiles is None else f'tiles{tiles}'}_{'tuned' if tune else 'plain'}"
            t0 = time.perf_counter()
            done = root / "search" / label / "pareto.json"
            if args.resume and done.exists():  # a finished search of an earlier, interrupted run
                r = json.loads(done.read_text())
                t0 -= r["search"]["seconds"]
            else:
                r = run_search(mdir, root / "search" / label,
                               SearchOptions(tiles=tiles, tune=tune, jobs=2, progress=False, **budget[name]))
            best = best_within(r, 0.005)
            rows.append({
                "model": name, "accelerator": r["accelerator"], "tuned": tune,
                "exact_test_acc": r["exact"]["test_accuracy"],
                "best_rel_energy_within_0.5pp": None if best is None else round(best["relative_energy"], 3),
                "energy_saving_%": None if best is None else round(100 * (1 - best["relative_energy"]), 1),
                "test_acc": None if best is None else best["test_accuracy"],
                "loss_pp": None if best is None else round(100 * (r["exact"]["test_accuracy"] - best["test_accuracy"]), 2),
                "plan": None if best is None else best["plan"],
                "evaluations": r["search"]["evaluations"], "wall_s": round(time.perf_counter() - t0, 1),
            })
            print(format_table([{k: v for k, v in rows[-1].items() if k != "plan"}]), flush=True)
    print("\n" + format_table([{k: v for k, v in r.items() if k != "plan"} for r in rows]))
    write_json(args.out, {"rows": rows, "budget": budget, "cores": os.cpu_count()})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
