"""The board path against the simulated board: every injected fault, what the user sees, whether the next call
works (bit-exact again); the self-test; the measurements `approxhls run` reports (labelled SIMULATION: the stream
side is the wrapper's C-simulation, so its times are g++ speed, not the FPGA's).

    .venv/bin/python bench/board.py [--out bench/results/board.json]

Prints a table; writes the JSON docs/RESULTS.md is rendered from.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

METHOD = (
    "The host drives PYNQ 4.0's own driver code (`pynq.lib.dma.DMA`, `DefaultIP`, `MMIO` on a REGISTER_RW device, "
    "`PynqBuffer` with modelled cache flush/invalidate, `pmbus.Rail`/`SysFSSensor`) against register-level models: "
    "the AXI DMA in direct register mode after PG021 (DMACR run/reset, DMASR halted/idle/error bits, an error halts "
    "the channel until a soft reset, S2MM length read back as bytes received) and the core's ap_ctrl_hs registers, "
    "whose stream side is the overlay's own wrapper compiled with g++. Each fault is injected into the models; "
    "'next call works' means the following batch returned every output equal to the C-simulation.")

UNVERIFIED = [
    "Vitis HLS and Vivado never ran here: the Tcl is checked by recording stand-ins that refuse unknown commands, "
    "IP parameters and out-of-range values (tests/tclstubs), not by the tools; synthesis results, timing closure and "
    "the DATAFLOW interval are estimates until a build runs.",
    "No board ran the overlay: DMA and core behaviour are models written from PG021 and the Vitis HLS control "
    "register map. In particular the S2MM response to a packet longer than the buffer (modelled as DMAIntErr) and "
    "the recovery by reloading the bitstream are unconfirmed on silicon.",
    "The simulated board's times are the C-simulation's; latency, throughput and DRAM MB/s mean something only on a "
    "board. The power rails are a model (idle + a busy-proportional part) to exercise the recorder, not data.",
    "The simulated ZCU104's rails carry the names PYNQ's ZCU104 PMBus configuration gives (INT for VCCINT, 12V); "
    "PYNQ-Z2 and KV260 have none; a board whose labels differ needs --rail.",
    "This table ran on pynq 4.0.0 (the full install); make test-pynq runs the same driver tests on pynq 3.0.1 and "
    "3.1.2 under Python 3.10 and on 4.0.0 under Python 3.12.",
    "The KV260 fan pin (A12, active low) follows AMD's starter-kit XDC; not tried on a board.",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/results/board.json")
    args = ap.parse_args()

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import mlp_project

    from approxhls.host import Accelerator
    from approxhls.host.backends import BoardError
    from approxhls.host.latency import single_sample_latency, throughput_sweep
    from approxhls.host.selftest import self_test
    from approxhls.host.simboard import FAULTS
    from approxhls.models.datasets import load_dataset
    from approxhls.overlays import OverlayOptions, write_overlay
    from approxhls.overlays.wrapper import write_golden
    from approxhls.report import format_table, write_json
    from approxhls.sim.csimlib import CSimLibrary

    work = Path(tempfile.mkdtemp(prefix="bench-board-"))
    os.environ.setdefault("APPROXHLS_HOME", str(work / "home"))
    mlp_project(work / "prj", seed=4, plan={"default": "drum_u8_k5"})
    write_overlay(work / "prj", work / "ov", OverlayOptions(board="zcu104", batch=256))
    write_golden(work / "ov", 64)
    ds = load_dataset("digits", grid="ap_ufixed<8,0>")
    x = ds.x_test[:64].reshape(64, -1).astype(np.float64)
    lib = CSimLibrary(work / "prj")
    ref = lib.predict(x.astype(np.float32)).reshape(len(x), -1)

    faults = []
    for fault, what in FAULTS.items():
        t0 = time.perf_counter()
        sees, works = "", False
        try:
            with Accelerator.open(work / "ov", backend="simulated", faults=[fault], timeout_s=0.5) as acc:
                if fault in ("sensor_zero", "voltage_only"):
                    p = acc.measure_power(x, seconds=0.4, idle_seconds=0.2, windows=2)
                    reasons = [r["reason"] for r in p.get("rails", {}).values() if not r.get("available")]
                    sees = "power: unavailable (" + ("; ".join(reasons) or p.get("reason", "")) + ")"
                else:
                    try:
                        acc.predict(x)
                        sees = "nothing: the batch succeeded (the fault was not triggered)"
                    except BoardError as e:
                        sees = f"error: {e}"
                works = bool(np.array_equal(acc.predict(x), ref))
        except BoardError as e:
            sees = f"error when opening: {e}"
        faults.append({"fault": fault, "injected": what, "user_sees": sees, "recovered": works,
                       "seconds": round(time.perf_counter() - t0, 2)})

    with Accelerator.open(work / "ov", backend="simulated") as acc:
        st = self_test(acc)
        lat = single_sample_latency(acc, x, runs=50)
        sweep = throughput_sweep(acc, np.tile(x, (4, 1)), [1, 16, 64, 256], repeats=3)
    lat.pop("raw_end_to_end_s", None)
    result = {"method": METHOD, "faults": faults, "self_test": st, "single_sample_simulated": lat,
              "throughput_simulated": sweep, "unverified": UNVERIFIED,
              "overlay": {"board": "zcu104", "model": "mlp 64-32-10 (w8a8, drum_u8_k5), random weights",
                          "word_bits": 64, "batch": 256}}
    print(format_table([{k: (v[:90] if isinstance(v, str) else v) for k, v in r.items() if k != "injected"}
                        for r in faults], ["fault", "user_sees", "recovered", "seconds"]))
    print(f"self-test: {st['summary']}")
    write_json(args.out, result)
    shutil.rmtree(work, ignore_errors=True)  # the mkdtemp directory made above, nothing else
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
