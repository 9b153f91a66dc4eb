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


from keras_api_models import keras_model, model_cases  # noqa: E402


def build(case: dict, seed: int = 0):
    """The Keras model and hls4ml config of a case, as test_keras_api.py makes them."""
    import hls4ml

    m, cfg_kw = keras_model(case, seed)
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


def _median_errors(covered: list[dict], preds: dict, tool: str, m: str) -> dict | None:
    """Median absolute relative error of this estimate and of rule4ml against the tool's nonzero reports of ``m``."""
    mine, theirs = [], []
    for r in covered:
        real = r["report"][tool][m]
        if real and m in preds[r["case"]]:
            mine.append(abs(r["estimate"][m] / real - 1))
            theirs.append(abs(preds[r["case"]][m] / real - 1))
    if not mine:
        return None
    return {"n": len(mine), "approxhls_median": statistics.median(mine), "rule4ml_median": statistics.median(theirs)}


def _rule4ml_metrics(covered: list[dict], preds: dict, tool: str) -> dict:
    """Per metric, both medians (where some report is nonzero); each covered row keeps rule4ml's predictions."""
    out = {}
    for m in METRICS:
        medians = _median_errors(covered, preds, tool, m)
        if medians:
            out[m] = medians
        for r in covered:
            r.setdefault("rule4ml", {})[m] = preds[r["case"]].get(m)
    return out


def compare_rule4ml(rows: list[dict], tool: str) -> dict | None:
    """Errors of rule4ml's predictions (bench/results/rule4ml.json) and of this estimate on the models rule4ml covers."""
    path = results_path("rule4ml")
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    preds = {r["case"]: r["prediction"] for r in data["rows"] if "prediction" in r}
    covered = [r for r in rows if r["case"] in preds and tool in r["report"]]
    out = {"board": data["board"], "hls4ml_version": data["hls4ml_version"], "vivado_version": data["vivado_version"],
           "covered": [r["case"] for r in covered], "refused": {r["case"]: r["refused"] for r in data["rows"]
                                                                if "refused" in r}, "metrics": {}}
    out["metrics"] = _rule4ml_metrics(covered, preds, tool)
    out["text"] = _rule4ml_text(out, tool)
    return out


def _rule4ml_text(c: dict, tool: str) -> str:
    parts = [f"{m} {100 * v['approxhls_median']:.0f}% vs rule4ml {100 * v['rule4ml_median']:.0f}% (n={v['n']})"
             for m, v in c["metrics"].items()]
    return (f"on the {len(c['covered'])} models rule4ml 0.2.0 predicts (board {c['board']}, hls4ml "
            f"{c['hls4ml_version']}, Vivado {c['vivado_version']}), median absolute error against "
            f"{tool}: " + ", ".join(parts) + f"; {len(c['refused'])} models refused by rule4ml")


def _estimate_row(case: dict, tmp: Path, root: Path) -> dict:
    """One model: the estimate, and each tool's report of it with the estimate's relative error."""
    est = estimate_case(case, tmp)
    row = {"case": case["case"], "estimate": {k: est[k] for k in (*METRICS, "bram18", "ii")}, "report": {}, "error": {}}
    for tool in TOOLS:
        rep = report_of(case, tool, root)
        if rep is None:
            continue
        real = {m: float(rep[k]) for m, k in METRICS.items()} | {"bram18": float(rep["BRAM_18K"]),
                                                                 "ii": float(rep["IntervalMax"])}
        row["report"][tool] = real
        row["error"][tool] = {m: (est[m] / real[m] - 1.0 if real[m] else None) for m in METRICS}
    return row


def _print_summary(rows: list[dict], tools: list[str], summ: dict) -> None:
    from approxhls.report import format_table

    table = []
    for r in rows:
        rep = r["report"].get(TOOLS[0], {})
        table.append({"case": r["case"], **{f"est_{m}": r["estimate"][m] for m in METRICS},
                      **{f"{m}_vitis24": int(rep[m]) if m in rep else "" for m in METRICS}})
    print(format_table(table))
    for tool in tools:
        print(tool + ": " + ", ".join(f"{m} median {100 * v['median_abs']:.0f}% worst {100 * v['worst_abs']:.0f}% "
                                      f"(n={v['n']})" for m, v in summ[tool].items() if v["n"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baselines", default=str(BASELINES), help="hls4ml's test/pytest/baselines directory")
    ap.add_argument("--quick", action="store_true", help="two models only (written under bench/results/quick/)")
    args = ap.parse_args()
    from approxhls.report import write_json

    root = Path(args.baselines)
    cases = model_cases()[:2] if args.quick else model_cases()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            print(f"estimating {case['case']}", flush=True)
            rows.append(_estimate_row(case, Path(tmp), root))
    tools = [t for t in TOOLS if any(t in r["report"] for r in rows)]
    r4 = compare_rule4ml(rows, tools[0]) if tools else None
    summ = summary(rows, tools)
    _print_summary(rows, tools, summ)
    out = results_path("estimate", args.quick)
    if r4:
        print("rule4ml: " + r4["text"])
    write_json(out, {"rows": rows, "summary": summ, "tools": tools, "clock_ns": 5.0,
                     "hls4ml": "1.3.0", "seeded_weights": 0, "rule4ml": r4})
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
