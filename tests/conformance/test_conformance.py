"""approxhls on hls4ml's own test models (tests/conformance/cases.py), rule by rule:

- converts: the model converts and its C-simulation runs (no crash, no refusal);
- emulator: the emulator equals the C-simulation on every output element;
- never_worse: approxhls' C-simulation is never further from Keras than hls4ml 1.3.0 converting the test's model
  as the test does, with or without hls4ml's bit_exact=True (mismatching samples, largest difference, class
  agreement), so it is exact wherever hls4ml is;
- claims: a project that says bit_exact equals Keras everywhere, and no layer said exact is where a difference
  from Keras arises (each traced layer against Keras' intermediate output, sample by sample).

Each case's conversions are made once and shared by its rules (one xdist group per case). A rule a known
approxhls conversion bug breaks is a strict xfail naming the bug (cases.py), so it fails the day the bug is fixed.
The default run holds every layer kind (cases.DEFAULT); the other parametrizations are marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest

from .cases import RULES, all_cases
from .harness import Runs, approxhls_passes_in_flows, further_than, hls4ml_alone, worse_than_hls4ml


def _params():
    out = []
    for case in all_cases():
        for rule in RULES:
            # xdist finds a group after the last ']' of a node id only: a case id's brackets would split its rules
            # over the workers, each converting the case again
            marks = [pytest.mark.xdist_group(case.id.replace("[", "(").replace("]", ")"))]
            if case.slow:
                marks.append(pytest.mark.slow)
            if rule in case.bugs:
                marks.append(pytest.mark.xfail(strict=True, reason=case.bugs[rule]))
            out.append(pytest.param(case, rule, id=f"{case.id}:{rule}", marks=marks))
    return out


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    return Runs(tmp_path_factory.mktemp("conformance"))


def _converted(run) -> dict:
    rec = run.approxhls
    if "error" in rec:
        kind = "refused" if rec["refused"] else "failed"
        pytest.fail(f"approxhls {kind}: {rec['error']}\n{'' if rec['refused'] else rec['traceback']}")
    return rec


def check_converts(run):
    rec = _converted(run)
    assert rec["elements"] > 0
    assert run.twins_agree, "the twin model computes something else than the test's model in Keras"


def check_emulator(run):
    rec = _converted(run)
    assert rec["emulator_vs_csim"] == 0, (
        f"the emulator differs from the C-simulation in {rec['emulator_vs_csim']} of {rec['elements']} elements")


def check_never_worse(run):
    rec = _converted(run)
    if rec["exact"]:
        return  # equal to Keras everywhere: nothing is closer
    for bit_exact in (False, True):  # one at a time: the second is compiled only if the first does not decide
        what = "hls4ml with bit_exact=True" if bit_exact else "hls4ml alone"
        h = run.hls4ml(bit_exact)  # without vs_keras where hls4ml could not convert or run it: nothing to compare
        if h.get("exact"):
            pytest.fail(f"{what} equals Keras everywhere; approxhls differs in {rec['vs_keras']['mismatched_samples']} "
                        f"samples (max |diff| {rec['vs_keras']['max_abs_diff']:.6g})")
        worse = worse_than_hls4ml(rec["vs_keras"], [(what, h)])
        assert not worse, f"approxhls is further from Keras than {'; '.join(worse)}"


def check_claims(run):
    rec = _converted(run)
    assert not rec["false_model_claim"], (
        f"the project says bit_exact but differs from Keras in {rec['vs_keras']['mismatched_samples']} samples")
    bad = rec["false_layer_claims"]
    assert not bad, "layers said exact where the difference from Keras arises: " + "; ".join(
        f"{b['layer']} ({b['samples']} samples; first: sample {b['first']['sample']} element {b['first']['index']}, "
        f"Keras {b['first']['keras']!r}, C-sim {b['first']['csim']!r})" for b in bad)


CHECKS = {"converts": check_converts, "emulator": check_emulator, "never_worse": check_never_worse,
          "claims": check_claims}


@pytest.mark.parametrize("case,rule", _params())
def test_conformance(runs, case, rule):
    if case.needs:
        from .cases import examples_missing

        missing = examples_missing(case)
        if missing:
            pytest.skip(missing)
    CHECKS[rule](runs.run(case))


def test_every_rule_has_a_check():
    assert set(CHECKS) == set(RULES)


def test_hls4ml_alone_runs_without_approxhls_passes(tmp_path):
    """After an approxhls conversion (which registers its passes in hls4ml's flows), hls4ml_alone() takes them out
    and puts them back."""
    from tensorflow import keras

    from approxhls.hls.convert import ConvertOptions, build_graph

    inp = keras.Input((4,), name="x_in")
    model = keras.Model(inp, keras.layers.Dense(2, name="d")(inp))
    build_graph(model, ConvertOptions(), out=tmp_path / "prj")
    before = approxhls_passes_in_flows()
    assert before, "approxhls registered no pass in hls4ml's flows (this test would prove nothing)"
    with hls4ml_alone():
        assert approxhls_passes_in_flows() == []
    assert approxhls_passes_in_flows() == before


def test_comparisons_count_every_difference():
    from .harness import compare

    ref = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 0.0], [0.5, 0.25, 0.0], [np.nan, 0.0, 0.0]])
    act = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 2.0**-20], [0.5, 0.75, 0.0], [1.0, 0.0, 0.0]])
    c = compare(ref, act, classes=3)
    assert (c["mismatched_samples"], c["mismatched_elements"], c["elements"]) == (3, 3, 12)
    assert c["max_abs_diff"] == np.inf  # a NaN on one side only
    assert c["class_agreement"] == 0.75  # the third row's argmax moved
    assert compare(ref[:3], act[:3], classes=3)["max_abs_diff"] == 0.5
    assert compare(ref.reshape(2, 6), act.reshape(2, 6), classes=3)["class_agreement"] == 0.75  # per group of 3
    assert further_than(c, dict(c, mismatched_samples=1)) == ["mismatching samples 3 > 1"]
    assert further_than(c, c) == []


def test_false_claims_blame_where_the_difference_arises():
    from .harness import false_layer_claims

    order = ["a", "pad", "b", "c"]
    k = np.zeros((2, 3))
    c_ok, c_bad = k.copy(), k.copy()
    c_bad[1, 2] = 1.0
    equal = {"a": np.array([True, True]), "b": np.array([True, False]), "c": np.array([True, False])}
    pairs = {n: (k, c_bad if n != "a" else c_ok) for n in equal}
    # b is the first traced node that differs (sample 1); "pad" (not traced) and b are where it arose
    claims = false_layer_claims(order, {"a": True, "pad": True, "b": True, "c": True}, equal, pairs)
    assert [(r["layer"], r["samples"], r["blamed"]) for r in claims] == [("b", 1, ["pad", "b"])]
    assert claims[0]["first"] == {"sample": 1, "index": 2, "keras": 0.0, "csim": 1.0}
    assert false_layer_claims(order, {"a": True, "pad": False, "b": True, "c": True}, equal, pairs) == []
    assert false_layer_claims(order, {"a": True, "pad": True, "b": None, "c": True}, equal, pairs) == []


def test_default_run_and_known_bugs_name_existing_cases():
    from .cases import DEFAULT, KNOWN

    ids = {c.id for c in all_cases()}
    assert DEFAULT <= ids, sorted(DEFAULT - ids)
    named = {case_id for cases in KNOWN.values() for case_id in cases}
    assert named <= ids, sorted(named - ids)
    assert all(not c.slow for c in all_cases() if c.id in DEFAULT)


def test_non_finite_weights_are_refused_naming_the_layer(tmp_path):
    from qkeras import QDense, quantized_bits
    from tensorflow import keras

    from approxhls.errors import ApproxHLSError
    from approxhls.hls.convert import ConvertOptions, build_graph

    inp = keras.Input((4,), name="x_in")
    q = quantized_bits(8, 0, alpha=1)
    model = keras.Model(inp, QDense(3, kernel_quantizer=q, bias_quantizer=q, name="fc_nan")(inp))
    w = model.get_weights()
    w[0][0, 0] = np.nan
    model.set_weights(w)
    with pytest.raises(ApproxHLSError, match="fc_nan"):
        build_graph(model, ConvertOptions(), out=tmp_path / "prj")
