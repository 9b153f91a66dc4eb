"""Bulk import of a published multiplier library, its cost/error front next to the built-in designs, and an
ALWANN search over it.

The library is a directory of C models and Verilog circuits (e.g. the 8x8 sets of EvoApprox:
``git clone https://github.com/ehw-fit/evoapproxlib`` then ``--library evoapproxlib/multiplers/8x8_unsigned
evoapproxlib/multiplers/8x8_signed``). Designs go into a fresh APPROXHLS_HOME (--home), so the user's own
catalog is untouched. The search runs the zoo's cnn on Fashion-MNIST (trained under --models when missing) with
weight tuning over the built-in designs, the imported ones and both, on the same budget.

    .venv/bin/python bench/import_library.py --library DIR [DIR ...] [--label EvoApprox] [--quick]

Prints the import summary and the search table; writes bench/results/import_library.json and
docs/import_library.png (``--quick``: both under bench/results/quick/, so a smoke run never replaces them).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from render_results import results_path  # bench/, this script's directory

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _git_commit(paths) -> str | None:
    for p in paths:
        r = subprocess.run(["git", "-C", str(p), "rev-parse", "HEAD"], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.strip()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", nargs="+", required=True, help="directories (or files) of C models / Verilog")
    ap.add_argument("--label", default="imported")
    ap.add_argument("--commit", default=None, help="the library's version, recorded in the JSON (default: git HEAD)")
    ap.add_argument("--home", default=None, help="APPROXHLS_HOME for the imported designs (default: a fresh "
                                                 "directory under runs/, so every design is imported and characterized)")
    ap.add_argument("--models", default="runs/alwann", help="directory with (or for) the trained cnn")
    ap.add_argument("--out", default=None, help="the JSON (default: bench/results/import_library.json, which "
                                                "RESULTS.md renders)")
    ap.add_argument("--plot", default=None, help="the front's plot (default: docs/import_library.png)")
    ap.add_argument("--quick", action="store_true", help="a smoke run, written under bench/results/quick/")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    args.out = Path(args.out or results_path("import_library", args.quick))
    args.plot = Path(args.plot or (args.out.with_suffix(".png") if args.quick else "docs/import_library.png"))
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    if args.home is None:
        Path("runs").mkdir(exist_ok=True)
        args.home = tempfile.mkdtemp(prefix="import_home-", dir="runs")
    os.environ["APPROXHLS_HOME"] = str(Path(args.home).resolve())

    from approxhls.multipliers import catalog
    from approxhls.multipliers.registry import builtin_designs
    from approxhls.multipliers.user import import_library
    from approxhls.plots import plot_import_front
    from approxhls.report import format_table, write_json

    t0 = time.perf_counter()
    items = import_library(args.library, jobs=args.jobs, force=True)
    t_import = time.perf_counter() - t0
    designs = [it.design for it in items if it.design is not None]
    t1 = time.perf_counter()
    entries = {e["name"]: e for e in catalog.characterize(designs, jobs=args.jobs)}
    t_char = time.perf_counter() - t1
    builtin = catalog.characterize(list(builtin_designs()), progress=False, with_synthesis=False)
    counts = {s: sum(1 for it in items if it.status == s) for s in ("added", "unchanged", "skipped", "refused")}
    imported = []
    for it in items:
        if it.design is None:
            continue
        e = entries[it.name]
        imported.append({"name": it.name, "signed": e["signed"], "files": it.sources.describe(),
                         "mae_pct": e["metrics"]["mae_pct"], "wce_pct": e["metrics"]["wce_pct"],
                         "luts": (e.get("cost") or {}).get("luts"), "rel_luts": e.get("rel_luts"),
                         "rel_energy": e.get("rel_energy"), "interface": list(it.design.notes)})
    refused = [{"files": it.sources.describe(), "reason": it.reason} for it in items if it.status == "refused"]
    plot_import_front(list(entries.values()), builtin, args.plot, args.label)
    print(format_table(sorted(imported, key=lambda r: (r["signed"], r["mae_pct"])),
                       ["name", "signed", "mae_pct", "luts", "rel_luts", "rel_energy"]))
    print(f"\n{counts}; import {t_import:.1f} s, characterization {t_char:.1f} s")

    searches = run_searches(args) if designs else []
    result = {"label": args.label, "library": [str(p) for p in args.library],
              "commit": args.commit or _git_commit(args.library), "counts": counts,
              "import_seconds": round(t_import, 1), "characterize_seconds": round(t_char, 1),
              "designs": imported, "refused": refused, "searches": searches, "cores": os.cpu_count(),
              "quick": args.quick}
    write_json(args.out, result)
    print(f"wrote {args.out} and {args.plot}")


def run_searches(args) -> list[dict]:
    from approxhls.models.training import TrainOptions, train
    from approxhls.report import format_table
    from approxhls.search.run import SearchOptions, best_within, run_search

    mdir = Path(args.models) / "cnn"
    if not (mdir / "model.h5").exists():
        train(TrainOptions(model="cnn", dataset="fashion-mnist", scheme="fixed-w8a8", epochs=6), mdir)
    budget = dict(pop=8, gens=2, calib=200, test_limit=500) if args.quick else dict(pop=16, gens=8, calib=500)
    rows = []
    for selection in ("builtin", "user", "all"):
        t0 = time.perf_counter()
        r = run_search(mdir, Path("runs") / "import_search" / selection,
                       SearchOptions(tune=True, jobs=args.jobs, progress=False, candidates=selection, **budget),
                       overwrite=True)
        best = best_within(r, 0.005)
        rows.append({
            "candidates": selection, "designs": len(r["candidates"]["designs"]),
            "exact_test_acc": r["exact"]["test_accuracy"],
            "best_rel_energy_within_0.5pp": None if best is None else round(best["relative_energy"], 3),
            "test_acc": None if best is None else best["test_accuracy"],
            "loss_pp": None if best is None else round(100 * (r["exact"]["test_accuracy"] - best["test_accuracy"]), 2),
            "plan": None if best is None else best["plan"],
            "front": [{"rel_energy": round(p["relative_energy"], 4), "test_acc": p["test_accuracy"]} for p in r["points"]],
            "evaluations": r["search"]["evaluations"], "wall_s": round(time.perf_counter() - t0, 1),
            "budget": budget,
            "protocol": (f"Each point chosen within 0.5 pp on {r['protocol']['validation']} validation images "
                         f"({r['protocol']['validation_source']}), reported on {r['protocol']['test']} test images."),
        })
    print("\n" + format_table([{k: v for k, v in r.items() if k not in ("plan", "front", "budget")} for r in rows]))
    return rows


if __name__ == "__main__":
    sys.exit(main())
