"""rule4ml's predictions for the models bench/estimate.py checks (run in rule4ml's own environment: it needs
TensorFlow >= 2.15 and PyTorch, which approxhls' pins exclude).

    python -m venv /work/venvs/rule4ml
    /work/venvs/rule4ml/bin/pip install torch==2.13.0 rule4ml==0.2.0 tensorflow==2.15.1 pandas==2.2.3 "numpy<2"
    /work/venvs/rule4ml/bin/python bench/rule4ml_predict.py --board alveo-u250

(rule4ml asks for TensorFlow >= 2.15.1 and takes the newest, whose Keras 3 it cannot read layer shapes from: 2.15.1
is the release its authors generate data with; alveo-u250 is its board closest to the reports' VU13P part.)

Each model of hls4ml's test_keras_api.py with a csynth baseline is built as bench/estimate.py builds it and handed
to rule4ml's default estimators (its GNN models) with the tests' hls4ml settings: ap_fixed<16,6>, reuse factor 1,
the test's strategy. A model rule4ml refuses is recorded with the reason. Writes bench/results/rule4ml.json, which
bench/estimate.py reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from keras_api_models import keras_model, model_cases  # noqa: E402

TARGETS = {"LUT": "lut", "FF": "ff", "DSP": "dsp", "CYCLES": "latency_cycles"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--board", default=None, help="rule4ml board (default: the first it was trained on, listed)")
    ap.add_argument("--out", default=str(HERE / "results" / "rule4ml.json"))
    args = ap.parse_args()
    import rule4ml
    from rule4ml.models.wrappers import MultiModelWrapper

    est = MultiModelWrapper()
    est.load_default_models()
    wrapper = next(iter(est._models.values()))
    boards = sorted(est._get_categorical_values(wrapper, "board"))
    hls4ml_versions = sorted(est._get_categorical_values(wrapper, "hls4ml_version"))
    vivado_versions = sorted(est._get_categorical_values(wrapper, "vivado_version"))
    board = args.board or boards[0]
    rows = []
    for case in model_cases():
        m, _ = keras_model(case)
        strategy = str(case.get("strategy", "latency")).lower()
        cfg = {"board": board, "model": {"strategy": strategy, "precision": "ap_fixed<16, 6>", "reuse_factor": 1}}
        try:
            df = est.predict(m, hls_configs=[cfg], hls4ml_versions=hls4ml_versions[-1],
                             vivado_versions=vivado_versions[-1])
            if df.empty:
                raise ValueError("no prediction")
            pred = {TARGETS[k]: float(df[k].iloc[0]) for k in TARGETS if k in df.columns}
            rows.append({"case": case["case"], "prediction": pred})
        except Exception as e:  # noqa: BLE001 - rule4ml's refusals are data here
            rows.append({"case": case["case"], "refused": f"{type(e).__name__}: {str(e)[:200]}"})
        print(rows[-1], flush=True)
    Path(args.out).write_text(json.dumps({"rule4ml": rule4ml.__version__ if hasattr(rule4ml, "__version__") else "0.2.0",
                                          "board": board, "boards": boards, "hls4ml_version": hls4ml_versions[-1],
                                          "vivado_version": vivado_versions[-1], "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
