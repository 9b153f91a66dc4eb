"""Models nobody on the team wrote: hls4ml's published example models, through the conformance harness.

    git clone https://github.com/fastmachinelearning/example-models
    .venv/bin/python bench/third_party.py --models example-models/keras [--only NAME ...] [--samples N]

DIR holds Keras JSON + weights pairs (``NAME.json`` with ``NAME_weights.h5``, as example-models' keras/ folder has
them; the project does not vendor them). Each pair is loaded as published (Sequential or functional, QKeras objects
known) and run through tests/conformance/harness.py exactly as a conformance case is: approxhls' C-simulation, hls4ml
1.3.0 alone and hls4ml with ``bit_exact=True`` (each configured by ``config_from_keras_model(granularity="name")``
for Vitis) against Keras on the same seeded inputs; the emulator against the C-simulation on every element; the
project's claims (model and per layer) against the C-simulation's trace of every layer. Inputs: a seeded distribution
suited to the model's input (:data:`DISTRIBUTIONS`), put on the grid of hls4ml's input type by the harness. Models
that are too large for a C-simulation at -O0 on a shared machine (the 100/200/500-wide dense stacks, the 1 MB conv1d)
and GarNet (a custom layer) are skipped unless named with --only. Prints a row per model; writes
bench/results/third_party.json after every model, which docs/RESULTS.md is rendered from.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # `conformance` is the package tests/conformance
sys.path.insert(1, str(ROOT / "bench"))

from render_results import results_path  # noqa: E402

from approxhls.fixedpoint import FixedType  # noqa: E402

SOURCE = "github.com/fastmachinelearning/example-models keras/"
EMULATOR_BITS = 64  # the emulator computes in int64 codes: a type wider than this does not fit
SKIP = {  # name prefix -> why a default run leaves it out (name it with --only to run it)
    "KERAS_dense_16x": "100 to 500 wide dense stack: too large for a C-simulation at -O0 on a shared machine",
    "garnet_": "GarNet is a custom Keras layer",
    "KERAS_conv1d.": "1 MB of weights: too large for a C-simulation at -O0 on a shared machine",
}


def _bench_conformance():
    """bench/conformance.py (its row printer and record trimming), loaded by path (`conformance` is the tests
    package)."""
    spec = importlib.util.spec_from_file_location("bench_conformance", ROOT / "bench" / "conformance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- inputs --------------------------------------------------------------------------------------------------------

def _pixels(rng, n, shape):
    return rng.random((n, *shape))


def _standardized(rng, n, shape):
    return rng.normal(0.0, 1.0, (n, *shape))


def _symmetric(rng, n, shape):
    return rng.uniform(-1.0, 1.0, (n, *shape))


# (predicate on the input shape, description, sampler): the first that matches
DISTRIBUTIONS = [
    (lambda s: s in ((784,), (28, 28, 1)), "uniform [0, 1) (MNIST-like pixel intensities, x / 255)", _pixels),
    (lambda s: s == (25, 25, 1), "uniform [0, 1) (jet images: normalized pT per pixel, non-negative)", _pixels),
    (lambda s: s == (16,), "normal(0, 1) (the 16 standardized jet features, as the conformance case of hls4ml's "
                           "test_accuracy)", _standardized),
    (lambda s: True, "uniform [-1, 1) (no published input range)", _symmetric),
]


def distribution(shape: tuple):
    """(description, inputs(rng, n)) for a model whose input has ``shape`` (without the batch axis)."""
    for matches, text, sample in DISTRIBUTIONS:
        if matches(tuple(shape)):
            return text, (lambda rng, n, sample=sample: sample(rng, n, tuple(shape)))
    raise AssertionError("the last distribution matches every shape")


# ---- models --------------------------------------------------------------------------------------------------------

def pairs(root: Path) -> list[str]:
    """The names NAME with NAME.json and NAME_weights.h5 in ``root``."""
    return sorted(p.stem for p in root.glob("*.json") if (root / f"{p.stem}_weights.h5").is_file())


def skipped(name: str) -> str | None:
    return next((why for prefix, why in SKIP.items() if (name + ".").startswith(prefix)), None)


def load(root: Path, name: str):
    """The published model (the conformance suite's loader of example models, pointed at ``root``)."""
    from conformance.cases import EXAMPLES_ENV, example_model

    os.environ[EXAMPLES_ENV] = str(root)
    return example_model(f"{name}.json", f"{name}_weights.h5")("sequential")  # "sequential": the model as loaded


def case_for(name: str, model, io_type: str, samples: int):
    """A conformance case whose builder returns the loaded model: its API is the model's own, no twin."""
    from tensorflow import keras

    from conformance.cases import Case

    api = "sequential" if isinstance(model, keras.Sequential) else "functional"
    text, inputs = distribution(model.input_shape[1:])
    return Case(name, SOURCE + f"{name}.json", lambda _api: model, api, api, io_type, inputs, samples), text


# ---- findings ------------------------------------------------------------------------------------------------------

def findings(rec: dict) -> list[str]:
    """The rules a model breaks, each with where (layer, first differing element) as far as the record says; a
    failure that is not a refusal; layer types wider than the emulator's integer codes."""
    a = rec.get("approxhls") or {}
    v = rec.get("verdicts") or {}
    out = _failure(rec, a)
    if v.get("emulator") is False:
        out.append(f"emulator != C-simulation in {a['emulator_vs_csim']} of {a['elements']} elements")
    out += _false_claims_found(a) + _wide_types(a) + [f"further from Keras than {w}" for w in v.get("worse") or []]
    return out


def _failure(rec: dict, a: dict) -> list[str]:
    if "vs_keras" in a or a.get("refused"):
        return []
    out = [f"approxhls failed (not a refusal): {a.get('error', rec.get('harness_error', {}).get('error'))}"]
    wide = (rec.get("diagnosis") or {}).get("first_wider_than_int64")
    if wide:
        out.append(f"approxhls types layer {wide[0]} {wide[1]}, wider than the emulator's {EMULATOR_BITS}-bit "
                   f"integer codes (the conversion does not refuse it)")
    return out


def _false_claims_found(a: dict) -> list[str]:
    out = ["false model claim: bit_exact true, C-simulation differs from Keras"] if a.get("false_model_claim") else []
    for c in a.get("false_layer_claims") or []:
        first = c.get("first", {})
        out.append(f"false layer claim: {c['layer']} (said exact, as are {', '.join(c['blamed'])}) differs from "
                   f"Keras in {c['samples']} samples; first: sample {first.get('sample')} element "
                   f"{first.get('index')} keras {first.get('keras')} csim {first.get('csim')}")
    return out


def _wide_types(a: dict) -> list[str]:
    wide = [f"{name} {t['result_t']}" for name, t in (a.get("widths") or {}).items()
            if FixedType.parse(t["result_t"]).width > EMULATOR_BITS]
    return [f"approxhls types {', '.join(wide)}: wider than the emulator's {EMULATOR_BITS}-bit integer codes (the "
            f"output was compared; the layers' codes in the emulator were not)"] if wide else []


def false_claims(rec: dict) -> int:
    a = rec.get("approxhls") or {}
    return len(a.get("false_layer_claims") or []) + bool(a.get("false_model_claim"))


def diagnose(model, io_type: str, input_precision: str, work: Path) -> dict:
    """Where approxhls failed on the way (not a refusal): its layer types from the same conversion without
    verification (no C-simulation), and the first layer whose result type is wider than the emulator's int64 codes."""
    from approxhls.hls.convert import ConvertOptions, convert_model

    prj = work / "diagnose"
    try:
        convert_model(model, prj, ConvertOptions(io_type=io_type, input_precision=input_precision), verify=0)
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}
    types = [(row["name"], row["types"].get("result_t")) for row in json.loads((prj / "approxhls.json").read_text())
             ["layers"]]
    wide = [(name, t) for name, t in types if t and FixedType.parse(t).width > EMULATOR_BITS]
    return {"result_types": dict(types), "first_wider_than_int64": list(wide[0]) if wide else None}


def run_model(root: Path, name: str, work: Path, io_type: str, samples: int) -> dict:
    """One model's record: not loaded (Keras' error), or the harness' record plus the inputs and the findings."""
    from conformance.harness import Runs, _error

    try:
        model = load(root, name)
    except Exception as e:  # Keras cannot build it (custom layers): neither hls4ml nor approxhls can start
        return {"case": name, "model": name, "source": SOURCE + f"{name}.json", "loaded": False,
                "load_error": _error(e)["error"], "samples": samples, "io_type": io_type}
    case, text = case_for(name, model, io_type, samples)
    rec = Runs(work, home=work.parent / "home").run(case).record()
    rec.update(loaded=True, inputs=text, input_shape=list(model.input_shape[1:]), keras_class=type(model).__name__,
               layers=[type(layer).__name__ for layer in model.layers])
    a = rec.get("approxhls") or {}
    if "error" in a and not a.get("refused") and "vs_keras" not in a:
        rec["diagnosis"] = diagnose(model, io_type, a.get("input_precision") or rec["input_precision"][0], work)
    rec["false_claims"] = false_claims(rec)
    rec["findings"] = findings(rec)
    return rec


def print_row(bc, rec: dict) -> None:
    from approxhls.report import format_table

    if not rec.get("loaded"):
        print(f"{rec['case']}: not loaded by Keras: {rec['load_error'][:160]}", flush=True)
        return
    row = bc.summary_row(rec)
    row["false claims"] = rec["false_claims"]
    print(format_table([row]), flush=True)
    for line in rec["findings"]:
        print(f"  FINDING {rec['case']}: {line}", flush=True)


def merge(data: dict, before: dict, names: list[str]) -> None:
    """Keep the models measured before (at the commit and in the time that run recorded), except those rerun now."""
    data["models"] = [m for m in before["models"] if m["model"] not in names]
    for m in data["models"]:  # derived from the measurements, by this version's rules
        if m.get("loaded"):
            m.update(false_claims=false_claims(m), findings=findings(m))
    data["skipped"] = before.get("skipped", {})
    if before["commit"] != data["commit"]:
        data["commit"] = f"{before['commit']}, rerun at {data['commit']}"
    data["seconds_before"] = before.get("seconds_before", 0) + before.get("seconds", 0)


def selected(root: Path, only) -> tuple[list[str], dict]:
    """The models to run, and those a default run leaves out (with why)."""
    names = [n for n in pairs(root) if not only or n in only]
    left_out = {n: skipped(n) for n in names if skipped(n) and not only}
    return [n for n in names if n not in left_out], left_out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", required=True, help="directory of NAME.json + NAME_weights.h5 pairs "
                                                    "(example-models/keras)")
    ap.add_argument("--only", nargs="*", default=None, help="only these model names (skipped ones included)")
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--io-type", default="io_parallel", choices=("io_parallel", "io_stream"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--merge", action="store_true", help="keep the output file's other models (rerun some)")
    args = ap.parse_args()

    import hls4ml
    import tensorflow as tf

    import approxhls
    from approxhls.report import write_json
    from conformance.harness import csim_opt

    root = Path(args.models).resolve()
    if not root.is_dir():
        ap.error(f"--models {root}: not a directory (clone github.com/fastmachinelearning/example-models and pass "
                 f"its keras/ folder)")
    names, left_out = selected(root, args.only)
    bc = _bench_conformance()
    out = Path(args.out) if args.out else results_path("third_party")
    data = {"generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": bc.git_commit(),
            "approxhls_version": approxhls.__version__, "hls4ml_version": hls4ml.__version__,
            "tensorflow_version": tf.__version__, "csim_opt": csim_opt(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "source": SOURCE, "samples": args.samples, "io_type": args.io_type, "seed": 0,
            "skipped": left_out, "models": []}
    if args.merge and out.exists():
        merge(data, json.loads(out.read_text()), names)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="approxhls-third-party-") as tmp:
        for i, name in enumerate(names):
            rec = bc.slim(run_model(root, name, Path(tmp) / str(i), args.io_type, args.samples))
            data["models"].append(rec)
            print_row(bc, rec)
            data["seconds"] = round(time.perf_counter() - t_start, 1)
            write_json(out, data)
            shutil.rmtree(Path(tmp) / str(i), ignore_errors=True)
            tf.keras.backend.clear_session()
    data["seconds"] = round(time.perf_counter() - t_start, 1)
    write_json(out, data)
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
