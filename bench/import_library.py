"""Bulk import of a published multiplier library, its cost/error front next to the built-in designs, and an
ALWANN search over it.

The library is a directory of C models and Verilog circuits (e.g. the 8x8 sets of EvoApprox:
``git clone https://github.com/ehw-fit/evoapproxlib`` then ``--library evoapproxlib/multiplers/8x8_unsigned
evoapproxlib/multiplers/8x8_signed``). Designs go into a fresh APPROXHLS_HOME (--home), so the user's own
catalog is untouched. The import is the one ``approxhls multipliers add DIR`` runs: per design build, prove,
characterize (Yosys), store; a file that fails or runs past its deadline is reported and the others go on.
``--hostile`` adds files that do (a C model that never returns, a circuit that never settles, a model that does
not compile) to measure exactly that. The search runs the zoo's cnn on Fashion-MNIST (trained under --models when
missing) with weight tuning over the built-in designs, the imported ones and both, on the same budget
(``--no-search``: the import alone).

    .venv/bin/python bench/import_library.py --library DIR [DIR ...] [--label EvoApprox] [--quick] [--hostile]

Prints the import table, its summary and the search table; writes bench/results/import_library.json and
docs/import_library.png (``--quick``: both under bench/results/quick/, so a smoke run never replaces them).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from render_results import results_path  # bench/, this script's directory

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _git_commit(paths) -> str | None:
    from approxhls.errors import ApproxHLSError
    from approxhls.toolrun import run_tool

    for p in paths:
        try:
            r = run_tool(["git", "-C", p, "rev-parse", "HEAD"], kind="probe", what=f"reading the commit of {p}")
        except ApproxHLSError:  # no git: the commit is unknown
            return None
        if r.returncode == 0:
            return r.stdout.strip()
    return None


def _args():
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
    ap.add_argument("--hostile", action="store_true", help="add files that loop, never settle or do not compile")
    ap.add_argument("--no-search", dest="search", action="store_false", help="measure the import alone")
    args = ap.parse_args()
    args.out = Path(args.out or results_path("import_library", args.quick))
    args.plot = Path(args.plot or (args.out.with_suffix(".png") if args.quick else "docs/import_library.png"))
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    if args.home is None:
        Path("runs").mkdir(exist_ok=True)
        args.home = tempfile.mkdtemp(prefix="import_home-", dir="runs")
    return args


def main():
    args = _args()
    os.environ["APPROXHLS_HOME"] = str(Path(args.home).resolve())

    from approxhls.multipliers import catalog
    from approxhls.multipliers.library import import_library
    from approxhls.multipliers.registry import builtin_designs
    from approxhls.multipliers.report import import_summary
    from approxhls.plots import plot_import_front
    from approxhls.report import format_table, write_json

    library = list(args.library) + ([hostile_files(Path(args.home) / "hostile")] if args.hostile else [])
    t0 = time.perf_counter()
    items = import_library(library, jobs=args.jobs, force=True)
    t_import = time.perf_counter() - t0
    result = _result(args, items, t_import)
    builtin = catalog.characterize(list(builtin_designs()), progress=False, with_synthesis=False)
    plot_import_front([it.entry for it in items if it.entry is not None], builtin, args.plot, args.label)
    print(format_table(sorted(result["designs"], key=lambda r: (r["signed"], r["mae_pct"])),
                       ["name", "signed", "mae_pct", "luts", "rel_luts", "rel_energy"]))
    print("\n" + import_summary(items))
    print(f"import {t_import:.1f} s wall on {args.jobs} jobs (of which characterizing: "
          f"{result['characterize_seconds']} s summed over designs); {len(result['timed_out'])} files stopped at "
          f"their deadline")
    result["searches"] = run_searches(args) if result["designs"] and args.search else []
    write_json(args.out, result)
    print(f"wrote {args.out} and {args.plot}")


def _result(args, items, t_import: float) -> dict:
    from approxhls.multipliers.report import import_counts

    refused = [{"files": it.sources.describe(), "reason": it.reason} for it in items if it.status == "refused"]
    return {"label": args.label, "library": [str(p) for p in args.library],
            "commit": args.commit or _git_commit(args.library), "counts": import_counts(items),
            "import_seconds": round(t_import, 1),
            "characterize_seconds": round(sum(it.seconds.get("characterize", 0.0) for it in items), 1),
            "timing": "import_seconds: wall of the whole import (build, prove, characterize, store per design, "
                      "--jobs in parallel); characterize_seconds: the characterizing part, summed over designs",
            "hostile": args.hostile, "timed_out": [r["files"] for r in refused if "did not finish" in r["reason"]],
            "timeout_scale": os.environ.get("APPROXHLS_TIMEOUT_SCALE", "1"),
            "designs": [_imported_row(it) for it in items if it.design is not None], "refused": refused,
            "searches": [], "cores": os.cpu_count(), "quick": args.quick}


def _imported_row(it) -> dict:
    e = it.entry
    return {"name": it.name, "signed": e["signed"], "files": it.sources.describe(),
            "mae_pct": e["metrics"]["mae_pct"], "wce_pct": e["metrics"]["wce_pct"],
            "luts": (e.get("cost") or {}).get("luts"), "rel_luts": e.get("rel_luts"),
            "rel_energy": e.get("rel_energy"), "interface": list(it.design.notes)}


# Files a careless or hostile library holds (written here): each must be reported, and must not stop the import.
HOSTILE = {
    "mul8u_neverreturns.c": "#include <stdint.h>\nuint16_t mul8u_neverreturns(uint8_t a, uint8_t b) {\n"
                            "  volatile int go = 1; if (a == 200 && b == 3) while (go) {} return a * b;\n}\n",
    "mul8u_ring.v": "module mul8u_ring(A, B, O);\n  input [7:0] A;\n  input [7:0] B;\n  output [15:0] O;\n"
                    "  wire w;\n  assign w = ~(w & A[0]);\n  assign O = A * B + {15'b0, w & 1'b0};\nendmodule\n",
    "mul8u_broken.c": "#include <stdint.h>\nuint16_t mul8u_broken(uint8_t a, uint8_t b) { return a * ; }\n",
}


def hostile_files(where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for name, text in HOSTILE.items():
        (where / name).write_text(text)
    return where


def run_searches(args) -> list[dict]:
    from approxhls.models.training import TrainOptions, train
    from approxhls.report import format_table
    from approxhls.search.run import SearchOptions, best_within, run_search

    mdir = Path(args.models) / "cnn"
    if not (mdir / "model.h5").exists():
        train(TrainOptions(model="cnn", dataset="fashion-mnist", scheme="fixed-w8a8", epochs=6), mdir, overwrite=True)
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
