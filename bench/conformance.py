"""Conformance with hls4ml's own test models: approxhls vs hls4ml 1.3.0 alone vs hls4ml with bit_exact=True.

    .venv/bin/python bench/conformance.py [--default] [--only TEXT ...] [--resume] [--quick]

Every case of tests/conformance/cases.py (the default run's and the slow ones; --default: the default run's only):
the model as hls4ml's test builds it and its twin, each io type the test uses. For each: the C-simulation of
approxhls, of hls4ml converting the test's model as the test does, and of hls4ml with ``bit_exact=True``, each
against Keras on the same inputs (mismatching samples and elements, largest difference, class agreement);
approxhls' claims (the project's bit_exact, the layers said exact where a difference from Keras arises); the
emulator against the C-simulation on every element; the accumulator/result types of the Dense/Conv layers of all
three. Prints a row per case; writes JSON after every case (--resume continues a run), which docs/RESULTS.md is
rendered from. C-simulations build at $APPROXHLS_CSIM_OPT (default -O0, as the tests).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # before bench/: `conformance` is the package tests/conformance
sys.path.insert(1, str(ROOT / "bench"))

from render_results import results_path  # noqa: E402


def summary_row(rec: dict) -> dict:
    """One printed line per case."""
    def cell(r: dict | None) -> str:
        if not r:
            return ""
        if "vs_keras" not in r:
            return "refused" if r.get("refused") else "error"
        v = r["vs_keras"]
        return f"{v['mismatched_samples']}/{rec['samples']} {v['max_abs_diff']:.3g} {v['class_agreement']:.3f}"

    a = rec.get("approxhls") or {}
    return {"case": rec["case"], "hls4ml": cell(rec.get("hls4ml")), "bit_exact": cell(rec.get("hls4ml_bit_exact")),
            "approxhls": cell(a), "claim": a.get("bit_exact"), "emu!=csim": a.get("emulator_vs_csim"),
            "false claims": len(a.get("false_layer_claims", [])) + bool(a.get("false_model_claim")),
            "s": rec["seconds"]["total"]}


def git_commit() -> str | None:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip() or None


def slim(rec: dict) -> dict:
    """The record without tracebacks (the error line stays)."""
    for key in ("hls4ml", "hls4ml_bit_exact", "approxhls", "harness_error"):
        if isinstance(rec.get(key), dict):
            rec[key].pop("traceback", None)
    return rec


def _arguments():
    ap = argparse.ArgumentParser()
    ap.add_argument("--default", action="store_true", help="only the cases of the default test run")
    ap.add_argument("--only", nargs="*", default=None, help="only cases whose id contains one of these")
    ap.add_argument("--resume", action="store_true", help="keep the cases the output file already has")
    ap.add_argument("--redo", nargs="*", default=(), help="with --resume: run again the cases whose id contains one "
                                                           "of these")
    ap.add_argument("--quick", action="store_true", help="the default run's cases, written to bench/results/quick/")
    ap.add_argument("--out", default=None)
    return ap.parse_args()


def _selected(args, catalog: list) -> list:
    """The cases this run covers: every one, the default run's (--default, --quick), those --only names."""
    cases = [c for c in catalog if not ((args.default or args.quick) and c.slow)]
    if args.only:
        cases = [c for c in cases if any(s in c.id for s in args.only)]
    return cases


def _refreshed(r: dict, case, verdicts) -> dict:
    """A kept record as the catalog says now (known bugs, default or slow), with the rules' verdicts again."""
    r.update(known_bugs=dict(case.bugs), slow=case.slow)
    if "approxhls" in r:
        a = r["approxhls"]
        if "error" in a:  # refusals are ModelErrors (records before that rule counted any approxhls error)
            a["refused"] = a["error"].split(":")[0] in ("ModelError", "UnsupportedLayerError")
        r["verdicts"] = verdicts(r)
    return r


def _kept(args, out: Path, catalog: list, verdicts) -> tuple[dict, dict]:
    """(case id -> kept record, the earlier run's data) for --resume; empty otherwise."""
    import json

    if not (args.resume and out.exists()):
        return {}, {}
    before = json.loads(out.read_text())
    current = {c.id: c for c in catalog}
    done = {r["case"]: _refreshed(r, current[r["case"]], verdicts) for r in json.loads(out.read_text())["cases"]
            if r["case"] in current and not any(t in r["case"] for t in args.redo)}
    return done, before


def _run_header(args, cases: list, catalog: list, done: dict, before: dict) -> dict:
    """The run's data before any case: versions, machine, scope; a resumed run's commit and earlier seconds."""
    import hls4ml
    import tensorflow as tf

    import approxhls
    from conformance.harness import csim_opt

    data = {"generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit(),
            "approxhls_version": approxhls.__version__, "hls4ml_version": hls4ml.__version__,
            "tensorflow_version": tf.__version__, "csim_opt": csim_opt(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "cases_total": len(cases), "catalog_cases": len(catalog),
            "scope": "default" if (args.default or args.quick) and not args.only else ("only" if args.only else "all"),
            "cases": list(done.values())}
    if before:  # a resumed run: the cases kept were measured at the earlier commit, in the earlier run's time
        data["commit"] = f"{before.get('commit')}, rerun at {data['commit']}" if before.get("commit") != data["commit"] \
            else data["commit"]
        data["seconds_before"] = before.get("seconds_before", 0) + before.get("seconds_this_run", 0)
    return data


def _run_cases(cases: list, done: dict, data: dict, out: Path) -> list[dict]:
    """Every case not done, a group (a test model and its twin) at a time; the JSON rewritten after each case.
    Returns the printed summary rows."""
    import tensorflow as tf

    from approxhls.report import format_table, write_json
    from conformance.cases import examples_missing
    from conformance.harness import Runs

    t_start = time.perf_counter()
    groups: dict[tuple, list] = {}
    for c in sorted(cases, key=lambda c: c.slow):  # the default run's cases first (stable: catalog order otherwise)
        groups.setdefault((c.name, c.io_type), []).append(c)
    rows = []
    with tempfile.TemporaryDirectory(prefix="approxhls-conformance-") as tmp:
        for i, group in enumerate(groups.values()):
            todo = [c for c in group if c.id not in done]
            if not todo:
                continue
            runs = Runs(Path(tmp) / str(i), home=Path(tmp) / "home")  # one group (a test model and its twin) at a time
            for case in todo:
                if case.needs and examples_missing(case):
                    print(f"skipped {case.id}: {examples_missing(case)}", flush=True)
                    continue
                rec = slim(runs.run(case).record())
                data["cases"].append(rec)
                rows.append(summary_row(rec))
                print(format_table([rows[-1]]), flush=True)
                data["seconds_this_run"] = round(time.perf_counter() - t_start, 1)
                write_json(out, data)
            del runs
            shutil.rmtree(Path(tmp) / str(i), ignore_errors=True)
            tf.keras.backend.clear_session()
    data["seconds_this_run"] = round(time.perf_counter() - t_start, 1)
    return rows


def main():
    args = _arguments()

    from approxhls.report import format_table, write_json
    from conformance.cases import all_cases
    from conformance.harness import verdicts

    out = Path(args.out) if args.out else results_path("conformance", quick=args.quick)
    catalog = all_cases()
    cases = _selected(args, catalog)
    done, before = _kept(args, out, catalog, verdicts)
    data = _run_header(args, cases, catalog, done, before)
    rows = _run_cases(cases, done, data, out)
    write_json(out, data)
    print(format_table(rows) if rows else "(nothing new to run)")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
