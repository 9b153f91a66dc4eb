"""The whole-accelerator estimate against real synthesis reports: hls4ml's published csynth results.

hls4ml keeps Vitis HLS / Vivado HLS csynth reports of the models of its test_keras_api.py in
test/pytest/baselines/<tool>/<version>/ (dense, activations, conv2d, depthwise, pooling). This script rebuilds
those models as the tests do (same layers, initializers, hls4ml configuration, io_type and strategy; the tests draw
their weights unseeded, so the weights here are a seeded draw of the same initializers), converts them with hls4ml
1.3.0, estimates each with approxhls.cost.accelerator at the reports' 5 ns clock, and reports the relative error
(estimate / report - 1) per resource, with the median and worst absolute error. A report value of 0 has no relative
error: such cases are listed, not counted. rule4ml's predictions are compared on the models it covers when its
results file (bench/results/rule4ml.json, made by bench/rule4ml_predict.py in rule4ml's own environment) exists.

    nice -n 10 .venv/bin/python bench/estimate.py [--baselines DIR] [--quick]

Prints a table, writes bench/results/estimate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from render_results import results_path  # noqa: E402

BASELINES = Path("/tmp/hls4ml-1.3.0/test/pytest/baselines")
TOOLS = ["Vitis/2024.1", "Vitis/2023.1", "Vivado/2020.1"]
METRICS = {"lut": "LUT", "ff": "FF", "dsp": "DSP", "latency_cycles": "WorstLatency"}
ACTIVATIONS = ["relu", "leaky_relu", "elu", "prelu", "sigmoid"]
POOLING = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"]


# ---- the models of hls4ml's test_keras_api.py ---------------------------------------------------------------------

def _activation_layer(name):
    from tensorflow.keras.layers import ELU, Activation, LeakyReLU, PReLU

    return {"relu": lambda: Activation(activation="relu", name="relu"), "leaky_relu": lambda: LeakyReLU(alpha=1.0),
            "elu": lambda: ELU(alpha=1.0), "prelu": lambda: PReLU(alpha_initializer="zeros"),
            "sigmoid": lambda: Activation(activation="sigmoid", name="sigmoid")}[name]()


def model_cases() -> list[dict]:
    """(case name, builder, hls4ml config changes, io_type) of every test_keras_api model with a synthesis baseline."""
    cases = [{"case": f"dense_{io}", "build": "dense", "io_type": io, "file": f"dense_{io}"} for io in ("io_parallel", "io_stream")]
    cases += [{"case": f"activations_{io}-{a}", "build": "activation", "act": a, "io_type": io,
               "file": f"activations_{io}-{{tool}}-{a}"} for io in ("io_parallel", "io_stream") for a in ACTIVATIONS]
    cases.append({"case": "conv2d_io_parallel-Resource-same", "build": "conv2d", "io_type": "io_parallel",
                  "strategy": "Resource", "file": "conv2d_io_parallel-{tool}-Resource-same-channels_last"})
    cases += [{"case": f"depthwise{d}_io_stream", "build": f"depthwise{d}", "io_type": "io_stream",
               "file": f"depthwise{d}_io_stream"} for d in ("1d", "2d")]
    cases += [{"case": f"pooling-{pad}-{p}", "build": "pooling", "pool": p, "padding": pad, "io_type": "io_parallel",
               "file": f"pooling_{{tool}}-channels_last-{pad}-{p}"} for pad in ("same", "valid") for p in POOLING]
    return cases


def build(case: dict, seed: int = 0):
    """The Keras model and hls4ml config of a case, as test_keras_api.py makes them."""
    import hls4ml
    import tensorflow as tf
    from tensorflow.keras import layers as L

    tf.keras.utils.set_random_seed(seed)
    m = tf.keras.models.Sequential()
    kind = case["build"]
    cfg_kw = {}
    if kind == "dense":
        m.add(L.Dense(2, input_shape=(1,), name="Dense", kernel_initializer=tf.keras.initializers.RandomUniform(1, 10)))
        m.add(L.Activation(activation="elu", name="Activation"))
    elif kind == "activation":
        m.add(L.Dense(64, input_shape=(1,), name="Dense", kernel_initializer="lecun_uniform"))
        m.add(_activation_layer(case["act"]))
    elif kind == "conv2d":
        m.add(L.Conv2D(32, (4, 4), strides=(4, 4), padding="same", input_shape=(28, 28, 3), kernel_initializer="normal",
                       use_bias=False))
    elif kind == "depthwise2d":
        m.add(L.DepthwiseConv2D(kernel_size=(3, 3), input_shape=(32, 32, 3)))
        cfg_kw = {"granularity": "name", "default_precision": "fixed<32,12>"}
    elif kind == "depthwise1d":
        m.add(L.DepthwiseConv1D(kernel_size=3, input_shape=(32, 3)))
        cfg_kw = {"granularity": "name"}
    else:
        shape = (18, 15, 3) if "2D" in case["pool"] else (121, 3)
        m.add(getattr(L, case["pool"])(padding=case["padding"], input_shape=shape))
    m.compile(optimizer="adam", loss="mse")
    cfg = hls4ml.utils.config_from_keras_model(m, backend="Vitis", **cfg_kw)
    if case.get("strategy"):
        cfg["Model"]["Strategy"] = case["strategy"]
    return m, cfg


def estimate_case(case: dict, tmp: Path) -> dict:
    import hls4ml

    from approxhls.cost.accelerator import Config, estimate_accelerator, estimate_ir

    m, cfg = build(case)
    hls_model = hls4ml.converters.convert_from_keras_model(m, hls_config=cfg, output_dir=str(tmp / case["case"]),
                                                           backend="Vitis", io_type=case["io_type"])
    ir = estimate_ir(hls_model)
    strategy = str(case.get("strategy", "latency")).lower()
    return estimate_accelerator(ir, Config(case["io_type"], strategy, 1, 5.0))


def report_of(case: dict, tool: str, root: Path) -> dict | None:
    backend, f = tool.split("/")[0], case["file"]
    stem = f.format(tool=backend) if "{tool}" in f else f"{f}-{backend}"
    path = root / tool / f"test_keras_api_test_{stem}.json"
    return json.loads(path.read_text())["CSynthesisReport"] if path.exists() else None


def errors(rows: list[dict], metric: str, tool: str) -> list[float]:
    return [r["error"][tool][metric] for r in rows if r["error"].get(tool, {}).get(metric) is not None]


def summary(rows: list[dict], tools: list[str]) -> dict:
    out = {}
    for tool in tools:
        out[tool] = {}
        for m in METRICS:
            e = errors(rows, m, tool)
            out[tool][m] = {"n": len(e), "median_abs": statistics.median([abs(x) for x in e]) if e else None,
                            "worst_abs": max((abs(x) for x in e), default=None)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baselines", default=str(BASELINES), help="hls4ml's test/pytest/baselines directory")
    ap.add_argument("--quick", action="store_true", help="two models only (written under bench/results/quick/)")
    args = ap.parse_args()
    from approxhls.report import format_table, write_json

    root = Path(args.baselines)
    cases = model_cases()[:2] if args.quick else model_cases()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            print(f"estimating {case['case']}", flush=True)
            est = estimate_case(case, Path(tmp))
            row = {"case": case["case"], "estimate": {k: est[k] for k in (*METRICS, "bram18", "ii")},
                   "report": {}, "error": {}}
            for tool in TOOLS:
                rep = report_of(case, tool, root)
                if rep is None:
                    continue
                real = {m: float(rep[k]) for m, k in METRICS.items()} | {"bram18": float(rep["BRAM_18K"]),
                                                                         "ii": float(rep["IntervalMax"])}
                row["report"][tool] = real
                row["error"][tool] = {m: (est[m] / real[m] - 1.0 if real[m] else None) for m in METRICS}
            rows.append(row)
    tools = [t for t in TOOLS if any(t in r["report"] for r in rows)]
    table = []
    for r in rows:
        t = {"case": r["case"], **{f"est_{m}": r["estimate"][m] for m in METRICS}}
        rep = r["report"].get(TOOLS[0], {})
        t |= {f"{m}_vitis24": int(rep[m]) if m in rep else "" for m in METRICS}
        table.append(t)
    print(format_table(table))
    summ = summary(rows, tools)
    for tool in tools:
        print(tool + ": " + ", ".join(f"{m} median {100 * v['median_abs']:.0f}% worst {100 * v['worst_abs']:.0f}% "
                                      f"(n={v['n']})" for m, v in summ[tool].items() if v["n"]))
    out = results_path("estimate", args.quick)
    write_json(out, {"rows": rows, "summary": summ, "tools": tools, "clock_ns": 5.0,
                     "hls4ml": "1.3.0", "seeded_weights": 0})
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
