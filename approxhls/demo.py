"""``make demo``: the main job end to end on the embedded default dataset (scikit-learn's digits).

train -> convert -> C-simulate (bit-exact with QKeras) -> ALWANN search for layer-wise approximate
multipliers -> convert and C-simulate one front point, checking emulator == C-simulation -> write its ZCU104
overlay scripts and C-simulate the stream wrapper.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from approxhls.report import format_table, write_json


def run_demo(out="demo-out", epochs: int = 30, pop: int = 12, gens: int = 5) -> dict:
    from approxhls.hls.convert import ConvertOptions, convert
    from approxhls.hls.csim import run_csim
    from approxhls.models.training import TrainOptions, train
    from approxhls.search.run import SearchOptions, best_within, run_search

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"[1/6] training mlp on digits (fixed-w8a8, {epochs} epochs)")
    rec = train(TrainOptions(model="mlp", dataset="digits", scheme="fixed-w8a8", epochs=epochs), out / "model",
                overwrite=True)
    print(f"[2/6] converting to an hls4ml project (io_parallel) -> {out / 'hls_prj'}, verifying it on 200 samples")
    convert(out / "model", out / "hls_prj", ConvertOptions(io_type="io_parallel"), overwrite=True, verify=200)
    from approxhls.sim.project import load_project

    claim = load_project(out / "hls_prj")["bit_exact"]
    print("[3/6] compiling and running the C-simulation on the test split")
    csim = run_csim(out / "hls_prj")
    write_json(out / "csim.json", csim)
    from approxhls.models.datasets import load_dataset, write_npz

    write_npz(out / "digits_test.npz", load_dataset("digits"))  # for notebooks/pynq_demo.ipynb
    print(f"[4/6] ALWANN search: layer-wise approximate multipliers with weight tuning (pop {pop}, {gens} generations)")
    search = run_search(out / "model", out / "search", SearchOptions(pop=pop, gens=gens, tune=True, calib=500),
                        overwrite=True)  # the demo runs again into its own directory
    point = best_within(search, 0.01) or search["points"][0]
    print(f"[5/6] converting the front point {point['plan_file']} and checking emulator == C-simulation")
    convert(out / "model", out / "approx_prj", ConvertOptions(io_type="io_parallel"), overwrite=True,
            plan=out / "search" / point["plan_file"])
    approx = run_csim(out / "approx_prj")
    emulator_equal = _emulator_equals_csim(out / "approx_prj")
    print(f"[6/6] writing the ZCU104 overlay scripts for it -> {out / 'overlay'}; C-simulating the stream wrapper; "
          f"running it on the simulated board through PYNQ's DMA driver")
    from approxhls.overlays import OverlayOptions, verify_wrapper, write_overlay
    from approxhls.overlays.wrapper import write_golden

    write_overlay(out / "approx_prj", out / "overlay", OverlayOptions(board="zcu104"), overwrite=True)
    wrapper = verify_wrapper(out / "overlay", n=64)
    write_golden(out / "overlay", 64)
    board = _simulated_board_check(out / "overlay")
    summary = {
        "model": "mlp", "dataset": "digits", "scheme": rec["scheme"]["name"], "n": csim["n"],
        "acc_keras": csim["accuracy_keras"], "acc_csim": csim["accuracy_csim"], "csim_vs_keras_mismatches": csim["mismatches"],
        "bit_exact_claimed": claim,
        "approx_plan": ",".join(sorted(set(point["plan"].values()))), "approx_rel_energy": round(point["relative_energy"], 3),
        "approx_acc_csim": approx["accuracy_csim"], "emulator_equals_csim": emulator_equal,
        "wrapper_equals_csim": wrapper["equal_to_csim"], "simulated_board_self_test": board,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_json(out / "demo.json", summary | {"search_points": len(search["points"])})
    print("\n" + format_table([summary]))
    print(f"\nwrote {out}/: model/ (train.json, train.png), hls_prj/, csim.json, search/ (pareto.json, pareto.png, "
          f"plans/), approx_prj/, "
          f"overlay/ (build_ip.tcl, build_overlay.tcl, Makefile, overlay.json: `make -C {out}/overlay` with Vivado), "
          f"demo.json")
    if not emulator_equal or csim["mismatches"] or not wrapper["equal_to_csim"] or claim is not True or board is False:
        raise SystemExit("demo check failed: C-simulation is not bit-exact")
    return summary


def _simulated_board_check(overlay: Path):
    """The overlay's golden vectors through PYNQ's DMA driver on the simulated board: True/False, or None with a
    message when pynq is not installed."""
    from approxhls.errors import ToolMissingError
    from approxhls.host import Accelerator
    from approxhls.host.selftest import self_test

    try:
        with Accelerator.open(overlay, backend="simulated") as acc:
            st = self_test(acc)
    except ToolMissingError as e:
        print(f"simulated board skipped: {e}")
        return None
    print(f"simulated board self-test: {st['summary']}")
    return st["passed"]


def _emulator_equals_csim(prj: Path) -> bool:
    from approxhls.models.datasets import load_dataset
    from approxhls.sim.assignment import project_assignments
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.ir import IR
    from approxhls.sim.project import load_project

    meta = load_project(prj)
    ds = load_dataset("digits", grid=meta["input_precision"])
    x = ds.for_input(ds.x_test, meta["input_shape"])
    y_csim = CSimLibrary(prj).predict(x)
    y_emu = Emulator(IR.load(prj), project_assignments(prj)).predict(x)
    return bool(np.array_equal(y_csim, y_emu))
