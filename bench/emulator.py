"""Emulator throughput against Keras, hls4ml's C-simulation and the reference evaluator, side by side.

For the zoo's cnn and resnet8 on Fashion-MNIST test images (weights drawn uniformly over the quantizers'
range: speed does not depend on training), and for an exact, a separable, a low-rank and an
arbitrary-table multiplier. Every emulator output is checked against the C-simulation element by element.
On resnet8, a rank sweep adds the truncated array multipliers of lower error rank (same protocol, no goal): the
low-rank engine's work grows with the rank, and the sweep measures where it crosses Keras.
Prints a table, writes bench/results/emulator.json (``--quick``: bench/results/quick/emulator.json).

    .venv/bin/python bench/emulator.py [--quick]
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
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
from render_results import meets_goal, results_path, speed_ratio  # noqa: E402  (bench/, this script's directory)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

MULTIPLIERS = {"exact": "exact", "separable": "drum_u8_k4", "low-rank": "tam_u8_k7", "table": "mitchell_u8_w5"}
ALTERNATIONS = 5  # Keras and emulator timings per row, alternately (the machine's speed drifts: see measure)
# tam_u8_k10/k9/k8 on resnet8's weights: error rank 3, 4, 5 (tam_u8_k7, the low-rank row: 6)
RANK_SWEEP = {"resnet8": ("tam_u8_k10", "tam_u8_k9", "tam_u8_k8")}


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name as the kernel reports it, or the platform's processor string."""
    try:
        lines = Path(cpuinfo).read_text().splitlines()
    except OSError:
        lines = []
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.processor())


ONEDNN_PROBE = """
import numpy as np, tensorflow as tf
from approxhls.sim.directconv import _int8_conv
_int8_conv(tf, np.ones((3, 3, 64, 64), np.int8), 1, 1)(np.ones((8, 16, 16, 64), np.uint8))
"""


def onednn_int8_kernel() -> str:
    """The oneDNN implementation that runs the int8 engine's convolution here (e.g. brgconv:avx512_core_amx), read
    from ONEDNN_VERBOSE in a fresh process (the variable is read when oneDNN starts); "" where none ran."""
    env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-c", ONEDNN_PROBE], capture_output=True, text=True, env=env, timeout=300)
    # onednn_verbose,exec,cpu,convolution,<implementation>,forward_...,src_u8:...
    names = [f[4] for f in (ln.split(",") for ln in r.stdout.splitlines()) if len(f) > 6 and f[1] == "exec"
             and f[3] == "convolution" and f[6].startswith("src_u8")]
    return names[-1] if names else ""


def timed(fn, *args, repeat=1):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return out, best


def measure(model, model_name: str, io_type: str, kind: str, mult: str, x, work: Path, n_csim: int, n_ref: int) -> dict:
    """One row: ``model`` converted with ``mult`` on every layer and run by Keras, the C-simulation, the reference
    evaluator and the emulator on the images ``x``; the emulator's outputs checked against the C-simulation's."""
    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.report import format_table
    from approxhls.sim.assignment import project_assignments
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.ir import IR
    from approxhls.sim.reference import evaluate

    n_fast = len(x)
    prj = work / f"{model_name}_{mult}"
    convert_model(model, prj, ConvertOptions(io_type=io_type), plan={"default": mult})
    lib = CSimLibrary(prj)
    _, t_build = timed(lib.load)
    y_csim, t_csim = timed(lib.predict, x[:n_csim])
    ir, asg = IR.load(prj), project_assignments(prj)
    _, t_ref = timed(evaluate, ir, x[:n_ref], asg)
    em = Emulator(ir, asg, probe=x)  # engines race on the layers' real inputs
    em.predict(x[:64])
    # Keras and the emulator alternately, best of ALTERNATIONS each: this machine's speed drifts by 2x over minutes,
    # and a ratio of two timings taken minutes apart measures the drift
    pairs = []  # (Keras, emulator) seconds of each alternation: their ratios, side by side
    for _ in range(ALTERNATIONS):
        tk = timed(lambda: model.predict(x, batch_size=256, verbose=0))[1]
        y_emu, t = timed(em.predict, x)
        pairs.append((tk, t))
    t_keras, t_emu = (min(times) for times in zip(*pairs))
    equal = bool(np.array_equal(y_emu[:n_csim], y_csim))
    macs = em.macs_per_sample()
    ips = {k: n / t for k, n, t in (("keras", n_fast, t_keras), ("csim", n_csim, t_csim),
                                   ("reference", n_ref, t_ref), ("emulator", n_fast, t_emu))}
    row = {
        "model": model_name, "io_type": io_type, "multiplier": mult, "kind": kind,
        "methods": ",".join(sorted({m["method"] for m in em.describe()})),
        "engines": ",".join(sorted({m["engine"] for m in em.describe()})),
        "keras_img_s": round(ips["keras"], 1), "csim_img_s": round(ips["csim"], 1),
        "reference_img_s": round(ips["reference"], 2), "emulator_img_s": round(ips["emulator"], 1),
        "emu_vs_csim": round(ips["emulator"] / ips["csim"], 1),
        "emu_gmac_s": round(ips["emulator"] * macs / 1e9, 2),
        "csim_gmac_s": round(ips["csim"] * macs / 1e9, 3),
        "macs_per_image": macs, "emulator_equals_csim": equal, "csim_compile_s": round(t_build, 1),
        # each alternation's Keras and emulator seconds, timed one after the other: adjacent timings share the
        # machine's speed of the moment, so their ratio is the side-by-side comparison; the goal is judged on the
        # worst alternation (every one must meet it)
        "pair_seconds": [[round(tk, 6), round(te, 6)] for tk, te in pairs],
    }
    row["emu_vs_keras"] = round(speed_ratio(row), 2)  # the renderer's judgement, printed here
    print(format_table([row], ["model", "multiplier", "methods", "csim_img_s", "emulator_img_s", "emu_vs_csim",
                               "keras_img_s", "emulator_equals_csim"]), flush=True)
    shutil.rmtree(prj, ignore_errors=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer images (a smoke run, written under bench/results/quick/)")
    ap.add_argument("--out", default=None, help="the JSON (default: bench/results/emulator.json, which RESULTS.md renders)")
    args = ap.parse_args()
    args.out = args.out or results_path("emulator", args.quick)
    n_fast, n_csim, n_ref = (500, 40, 10) if args.quick else (5000, 300, 40)

    from conftest import randomize_weights

    from approxhls.models.datasets import load_dataset
    from approxhls.models.zoo import build_model
    from approxhls.report import format_table, write_json

    ds = load_dataset("fashion-mnist")
    rows, sweep = [], []
    work = Path(tempfile.mkdtemp(prefix="approxhls-bench-"))
    try:
        # io_stream for resnet8: g++ needs >10 minutes for its fully unrolled io_parallel C-simulation
        for model_name, io_type in (("cnn", "io_parallel"), ("resnet8", "io_stream")):
            model = build_model(model_name, (28, 28, 1), 10, "fixed-w8a8")
            randomize_weights(model, seed=0, low=-0.25, high=0.25)
            x = ds.x_test[:n_fast].astype(np.float64)
            model.predict(x[:64], verbose=0)
            jobs = [(kind, mult, rows) for kind, mult in MULTIPLIERS.items()]
            jobs += [("rank sweep", mult, sweep) for mult in RANK_SWEEP.get(model_name, ())]
            for kind, mult, into in jobs:
                into.append(measure(model, model_name, io_type, kind, mult, x, work, n_csim, n_ref))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # for information beside the judged (paired) ratio: the emulator's best against the fastest Keras over the model's
    # rows. Those two timings may lie minutes apart, and this machine's speed drifts within a run (measured: Keras on
    # resnet8 at 1,503 and 2,639 img/s in one run, 1.76x), so this ratio measures the drift as much as the emulator
    # and is not judged
    best_keras = {}
    for r in rows + sweep:
        best_keras[r["model"]] = max(best_keras.get(r["model"], 0.0), r["keras_img_s"])
    for r in rows + sweep:
        r["keras_best_img_s"] = best_keras[r["model"]]
        r["emu_vs_keras_best"] = round(r["emulator_img_s"] / best_keras[r["model"]], 2)
    cols = ["model", "multiplier", "methods", "engines", "keras_img_s", "csim_img_s", "reference_img_s", "emulator_img_s",
            "emu_vs_csim", "emu_vs_keras", "emu_vs_keras_best", "emu_gmac_s", "emulator_equals_csim"]
    print("\n" + format_table(rows, cols))
    goals = {"emu_vs_keras": {"exact": 1.0, "separable": 1.0, "low-rank": 1.0, "table": 0.5}, "emu_vs_csim": 100}
    for r in rows:
        r["meets_goal"] = bool(meets_goal(r, goals))  # the renderer's judgement, on unrounded ratios
    print("\n" + format_table(rows, ["model", "kind", "emu_vs_keras", "emu_vs_csim", "meets_goal"]))
    if sweep:
        print("\nrank sweep\n" + format_table(sweep, ["model", "multiplier", "methods", "engines", "emu_vs_keras",
                                                     "emulator_equals_csim"]))
    from approxhls.sim.directconv import int8_hardware

    # the int8 engine's speed depends on the CPU's int8 instructions (oneDNN takes AMX where it is, else VNNI)
    meta = {"machine": platform.processor() or platform.machine(), "cpu": cpu_model(), "int8_hardware": int8_hardware(),
            "int8_kernel": onednn_int8_kernel(), "cores": os.cpu_count(), "goals": goals,
            "alternations": ALTERNATIONS,
            "images": {"keras_emulator": n_fast, "csim": n_csim, "reference": n_ref}, "dataset": "fashion-mnist"}
    write_json(args.out, {"meta": meta, "rows": rows, "rank_sweep": sweep})
    print(f"wrote {args.out}")
    if not all(r["emulator_equals_csim"] for r in rows + sweep):
        sys.exit("emulator differs from the C-simulation")


if __name__ == "__main__":
    main()
