"""docs/RESULTS.md's conformance section is computed from bench/results/conformance.json: rows per model x io type
with the test's model and its twin side by side, and a summary whose counts come from the records' verdicts."""

import sys
from pathlib import Path

from .harness import verdicts

ROOT = Path(__file__).resolve().parents[2]


def _renderer():
    sys.path.insert(0, str(ROOT / "bench"))
    import render_results

    return render_results


def _vs(ms, diff, agree, elements=None):
    return {"mismatched_samples": ms, "mismatched_elements": elements if elements is not None else ms,
            "elements": 100, "max_abs_diff": diff, "class_agreement": agree}


def _record(api, approx, hls, bugs=None):
    rec = {"case": f"m-{api}", "model": "m[x]", "source": "test_qkeras.py::test_x", "api": api,
           "test_api": "sequential", "io_type": "io_parallel", "samples": 10, "known_bugs": bugs or {},
           "hls4ml": hls, "hls4ml_bit_exact": {"error": "ValueError: no", "refused": False}, "approxhls": approx}
    rec["verdicts"] = verdicts(rec)
    return rec


def test_conformance_section_counts_what_the_records_say():
    r = _renderer()
    hls = {"vs_keras": _vs(2, 0.5, 0.9), "exact": False, "widths": {"fc": {"accum_t": "fixed<13,7,TRN,WRAP,0>",
                                                                          "result_t": "fixed<13,7,TRN,WRAP,0>"}}}
    seq = {"vs_keras": _vs(5, 0.75, 0.8), "exact": False, "bit_exact": False, "emulator_vs_csim": 0,
           "false_model_claim": False, "false_layer_claims": [{"layer": "fc", "samples": 5}],
           "widths": {"fc": {"accum_t": "ap_fixed<25,12>", "result_t": "ap_fixed<16,6>"}}}
    fn = {"vs_keras": _vs(0, 0.0, 1.0), "exact": True, "bit_exact": True, "emulator_vs_csim": 3,
          "false_model_claim": False, "false_layer_claims": []}
    d = {"cases": [_record("sequential", seq, hls, {"claims": "conversion: first layer typed as the input"}),
                   _record("functional", fn, hls)],
         "cases_total": 3, "commit": "abc", "hls4ml_version": "1.3.0", "csim_opt": "-O0", "seconds_this_run": 120}
    assert d["cases"][0]["verdicts"]["never_worse"] is False  # 5 > 2 samples, 0.75 > 0.5, 0.8 < 0.9
    assert d["cases"][1]["verdicts"] == {"converts": True, "emulator": False, "never_worse": True, "claims": True,
                                         "worse": []}
    text = r.conformance_summary(d)
    assert "2 of 3 cases run" in text and "converted 2 (0 refused, 0 failed otherwise); 1 equal Keras" in text
    assert "0 for hls4ml alone and 0 for hls4ml with bit_exact=True" in text
    assert "emulator differs from the C-simulation in 1 conversions" in text
    assert "further from Keras than an hls4ml conversion in 1" in text and "false in 1." in text
    (row,) = r.conformance_rows(d)
    assert row["h"] == "2/10 · 0.5 · 0.900" and row["b"].startswith("error: ValueError")
    assert "false layer claim: fc" in row["a"] and "claims not exact" in row["a"]
    assert "emulator != C-sim in 3" in row["w"] and "claims exact" in row["w"]
    assert row["wd"] == "fc: 25,12/16,6 · 13,7 · –"
    assert row["bug"] == "conversion: first layer typed as the input"


def test_verdicts_leave_undecided_what_did_not_convert():
    rec = _record("sequential", {"error": "UnsupportedLayerError: no", "refused": True}, {})
    assert rec["verdicts"] == {"converts": False, "emulator": None, "never_worse": None, "claims": None}
