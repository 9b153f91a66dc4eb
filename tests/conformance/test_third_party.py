"""bench/third_party.py's own logic (no TensorFlow, no C-simulation): which files make a model, which are skipped,
the input distribution each input shape gets, the findings drawn from a harness record, and the rendered section's
counts."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from .harness import verdicts

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_third_party", ROOT / "bench" / "third_party.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _renderer():
    sys.path.insert(0, str(ROOT / "bench"))
    import render_results

    return render_results


def test_pairs_are_json_with_weights_and_the_large_ones_are_skipped(tmp_path):
    b = _bench()
    for name in ("a.json", "a_weights.h5", "lonely.json", "b_weights.h5", "KERAS_conv1d.json",
                 "KERAS_conv1d_weights.h5", "KERAS_conv1d_small.json", "KERAS_conv1d_small_weights.h5"):
        (tmp_path / name).write_text("{}")
    assert b.pairs(tmp_path) == ["KERAS_conv1d", "KERAS_conv1d_small", "a"]
    assert b.skipped("KERAS_conv1d") and not b.skipped("KERAS_conv1d_small")
    assert b.skipped("KERAS_dense_16x100x100x100x100x100x5") and b.skipped("garnet_1layer")
    assert not b.skipped("qkeras_mnist_cnn")


def test_each_input_shape_gets_its_distribution():
    b = _bench()
    rng = np.random.default_rng(0)
    text, sample = b.distribution((28, 28, 1))
    x = sample(rng, 50)
    assert "[0, 1)" in text and x.shape == (50, 28, 28, 1) and x.min() >= 0 and x.max() < 1
    assert "[0, 1)" in b.distribution((784,))[0] and "jet images" in b.distribution((25, 25, 1))[0]
    text, sample = b.distribution((16,))
    assert text.startswith("normal(0, 1)") and sample(rng, 2000).min() < -1  # a normal's tails, not a [0,1) uniform
    text, sample = b.distribution((10, 4))
    x = sample(rng, 200)
    assert text.startswith("uniform [-1, 1)") and x.shape == (200, 10, 4) and x.min() < -0.5 and x.max() < 1


def _vs(ms, diff, agree):
    return {"mismatched_samples": ms, "mismatched_elements": ms, "elements": 100, "max_abs_diff": diff,
            "class_agreement": agree}


def _record(approx, hls):
    rec = {"case": "m-seq-parallel", "model": "m", "samples": 10, "loaded": True, "keras_class": "Sequential",
           "layers": ["QDense", "QActivation", "QDense"], "input_shape": [16], "inputs": "normal(0, 1)",
           "hls4ml": hls, "hls4ml_bit_exact": {"error": "ValueError: no", "refused": False}, "approxhls": approx}
    rec["verdicts"] = verdicts(rec)
    return rec


def test_findings_name_the_layer_and_the_first_differing_element():
    b = _bench()
    approx = {"vs_keras": _vs(5, 0.75, 0.8), "exact": False, "bit_exact": True, "emulator_vs_csim": 2, "elements": 100,
              "false_model_claim": True, "false_layer_claims": [{"layer": "fc2", "samples": 5, "blamed": ["fc2"],
                                                                 "first": {"sample": 3, "index": 1, "keras": 0.5,
                                                                           "csim": 0.25}}]}
    rec = _record(approx, {"vs_keras": _vs(2, 0.5, 0.9), "exact": False})
    found = b.findings(rec)
    assert b.false_claims(rec) == 2
    assert found[0] == "emulator != C-simulation in 2 of 100 elements"
    assert "false model claim" in found[1]
    assert found[2].startswith("false layer claim: fc2") and "sample 3 element 1 keras 0.5 csim 0.25" in found[2]
    assert any(f.startswith("further from Keras than hls4ml: mismatching samples 5 > 2") for f in found)
    clean = _record({"vs_keras": _vs(0, 0.0, 1.0), "exact": True, "bit_exact": True, "emulator_vs_csim": 0,
                     "elements": 100, "false_model_claim": False, "false_layer_claims": []},
                    {"vs_keras": _vs(2, 0.5, 0.9), "exact": False})
    assert b.findings(clean) == [] and b.false_claims(clean) == 0
    clean["approxhls"]["widths"] = {"fc1": {"result_t": "fixed<64,30,TRN,WRAP,0>"},
                                    "fc2": {"result_t": "fixed<65,31,TRN,WRAP,0>"}}
    assert b.findings(clean) == ["approxhls types fc2 fixed<65,31,TRN,WRAP,0>: wider than the emulator's 64-bit "
                                 "integer codes (the output was compared; the layers' codes in the emulator were not)"]
    assert b.findings(_record({"error": "ModelError: no", "refused": True}, {})) == []
    failed = _record({"error": "OverflowError: big", "refused": False}, {})
    assert b.findings(failed) == ["approxhls failed (not a refusal): OverflowError: big"]
    failed["diagnosis"] = {"first_wider_than_int64": ["fc3", "fixed<78,38,TRN,WRAP,0>"]}
    assert b.findings(failed)[1] == ("approxhls types layer fc3 fixed<78,38,TRN,WRAP,0>, wider than the emulator's "
                                     "64-bit integer codes (the conversion does not refuse it)")


def test_third_party_section_counts_what_the_records_say(monkeypatch):
    r = _renderer()
    good = _record({"vs_keras": _vs(0, 0.0, 1.0), "exact": True, "bit_exact": True, "emulator_vs_csim": 0,
                    "elements": 100, "false_model_claim": False, "false_layer_claims": []},
                   {"vs_keras": _vs(2, 0.5, 0.9), "exact": False})
    bad = _record({"vs_keras": _vs(5, 0.75, 0.8), "exact": False, "bit_exact": False, "emulator_vs_csim": 3,
                   "elements": 100, "false_model_claim": False, "false_layer_claims": []},
                  {"vs_keras": _vs(2, 0.5, 0.9), "exact": False})
    same = _record({"vs_keras": _vs(2, 0.5, 0.9), "exact": False, "bit_exact": False, "emulator_vs_csim": 0,
                    "elements": 100, "false_model_claim": False, "false_layer_claims": []},
                   {"vs_keras": _vs(2, 0.5, 0.9), "exact": False})
    good.update(false_claims=0, findings=[])
    same.update(model="s", false_claims=0, findings=[])
    bad.update(model="n", false_claims=0, findings=["emulator != C-simulation in 3 of 100 elements"])
    unloaded = {"model": "bnn", "loaded": False, "load_error": "ValueError: Unknown layer: 'BinaryDense'. Please `x`"}
    d = {"models": [good, bad, same, unloaded], "commit": "abc", "hls4ml_version": "1.3.0",
         "tensorflow_version": "2.14.1", "samples": 10, "seed": 0, "io_type": "io_parallel", "csim_opt": "-O0",
         "seconds": 120, "skipped": {}}
    text = r.third_party_summary(d)
    assert "4 models run" in text and "on 1 of 3 converted models" in text and "loads 3" in text
    assert "converted 3 (0 refused, 0 failed otherwise)" in text
    assert "1 equal Keras on every element, against 0 for hls4ml alone" in text
    assert "differs from the C-simulation in 1 conversions" in text and "hls4ml conversion in 1;" in text
    rows = r.third_party_rows(d)
    assert [r["m"] for r in rows] == ["bnn", "m", "n", "s"]
    assert rows[1]["h"] == "2/10 · 0.5 · 0.900" and "claims exact" in rows[1]["a"]
    assert "emulator != C-sim in 3" in rows[2]["a"] and "further from Keras" in rows[2]["a"]
    assert rows[0]["k"] == "not loaded by Keras: ValueError: Unknown layer: 'BinaryDense'"
    monkeypatch.setattr(r, "load", lambda name: json.loads(json.dumps(d)) if name == "third_party" else None)
    section = r.third_party()
    assert "--only bnn m n s" in section and "- n: emulator != C-simulation in 3 of 100 elements" in section
    monkeypatch.setattr(r, "load", lambda name: None)
    assert "(no data yet: run `bench/third_party.py --models example-models/keras`)" in r.third_party()
