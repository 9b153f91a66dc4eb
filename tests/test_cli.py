"""The commands end to end, in-process: train -> convert -> csim, and their errors."""

import json

import pytest

from approxhls.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rc = main(["train", "--model", "mlp", "--dataset", "digits", "--scheme", "fixed-w8a8", "--epochs", "3",
               "--seed", "3", "--out", str(d / "model")])
    assert rc == 0
    return d


def test_train_writes_model_json_and_plot(trained):
    rec = json.loads((trained / "model" / "train.json").read_text())
    assert rec["scheme"]["name"] == "fixed-w8a8" and rec["seed"] == 3 and rec["epochs"] == 3
    assert len(rec["history"]["loss"]) == 3 and rec["input_grid"] == "ap_ufixed<8,0>"
    assert 0.5 < rec["test_accuracy"] <= 1.0
    assert (trained / "model" / "model.h5").stat().st_size > 0
    assert (trained / "model" / "train.png").read_bytes()[:4] == b"\x89PNG"


def test_training_is_repeatable(trained, tmp_path):
    rc = main(["train", "--model", "mlp", "--epochs", "3", "--seed", "3", "--out", str(tmp_path / "again")])
    assert rc == 0
    a = json.loads((trained / "model" / "train.json").read_text())
    b = json.loads((tmp_path / "again" / "train.json").read_text())
    assert a["history"]["loss"] == b["history"]["loss"]
    assert a["test_accuracy"] == b["test_accuracy"]
    # a second run into the same directory is refused before training; --force replaces it whole
    before = (tmp_path / "again" / "model.h5").read_bytes()
    args = ["train", "--model", "mlp", "--epochs", "1", "--seed", "4", "--out", str(tmp_path / "again")]
    assert main(args) == 2
    assert (tmp_path / "again" / "model.h5").read_bytes() == before
    assert main(args + ["--force"]) == 0
    assert json.loads((tmp_path / "again" / "train.json").read_text())["epochs"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]


def test_convert_then_csim_is_bit_exact_and_reuses_build(trained, capsys):
    prj = trained / "prj"
    assert main(["convert", str(trained / "model"), "--out", str(prj), "--io-type", "io_stream",
                 "--verify", "0"]) == 0
    assert "not verified" in capsys.readouterr().out  # no claim without a check
    assert main(["csim", str(prj), "--limit", "120", "--json", str(trained / "csim.json")]) == 0
    report = json.loads((trained / "csim.json").read_text())
    assert report["n"] == 120 and report["dataset"] == "digits"
    assert report["mismatches"] == 0 and report["mismatched_elements"] == 0
    assert report["accuracy_csim"] == report["accuracy_keras"] > 0.5
    assert report["compiled"] is True and report["bit_exact_claimed"] is None
    out = capsys.readouterr().out
    assert "accuracy_csim" in out and "mismatches" in out
    # second run: the build is up to date and reused
    assert main(["csim", str(prj), "--limit", "10", "--json", str(trained / "csim2.json")]) == 0
    assert json.loads((trained / "csim2.json").read_text())["compiled"] is False


def test_errors_are_one_line_with_exit_2(tmp_path, capsys):
    assert main(["train", "--dataset", "nope", "--out", str(tmp_path / "m")]) == 2
    assert "unknown dataset" in capsys.readouterr().err
    assert main(["csim", str(tmp_path)]) == 2
    assert "not an approxhls project" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "missing"), "--out", str(tmp_path / "p")]) == 2
    assert "no Keras model" in capsys.readouterr().err


def _meta(bit_exact, derived=False, exactness=(), verified=None, second_opinion=None):
    return {"exactness": list(exactness), "verified": verified, "bit_exact": bit_exact, "bit_exact_derived": derived,
            "second_opinion": second_opinion, "dir": "/p"}


SOFTMAX = {"layer": "probs", "op": "softmax", "exact": False, "reason": "lookup table"}
UNKNOWN = {"layer": "bn", "op": "batchnorm", "exact": None, "reason": "float parameters"}
EQUAL = {"samples": 8, "inputs": "on-grid", "layers_checked": 3, "equal": True}
DIFFER = {"samples": 8, "inputs": "on-grid", "layers_checked": 3, "equal": False, "mismatched_samples": 2,
          "max_abs_diff": 0.125, "class_agreement": 0.875, "first_layer_differing": "probs"}


@pytest.mark.parametrize("meta, lines", [
    (_meta(True, True, [{"layer": "fc", "op": "dense", "exact": True, "reason": ""}], EQUAL),
     ["verified on 8 samples (on-grid), 3 layers traced: every output element equals Keras",
      "C-simulation: bit-exact with Keras (every layer exact by its types, and verified)"]),
    (_meta(None, True), ["C-simulation: exact by its types, not verified (run with --verify N)"]),
    (_meta(None, False, [SOFTMAX, UNKNOWN], EQUAL),
     ["layers not guaranteed to equal Keras bit for bit:",
      "C-simulation: not guaranteed bit-exact (layers above); the verified samples did not differ"]),
    (_meta(None, False, [SOFTMAX]), ["C-simulation: not guaranteed bit-exact (layers above); not verified"]),
    (_meta(False, False, [SOFTMAX], DIFFER),
     ["verified on 8 samples (on-grid), 3 layers traced: 2 samples differ from Keras (max |diff| 0.125, class "
      "agreement 0.8750); first layer that differs: probs", "C-simulation: NOT bit-exact with Keras (see above)",
      "where Keras and the C-simulation part ways, layer by layer: approxhls diff /p"]),
    (_meta(False), ["C-simulation: NOT bit-exact with Keras",
                    "where Keras and the C-simulation part ways, layer by layer: approxhls diff /p"]),
    (_meta(True, True, second_opinion={"status": "hls4ml failed"}),
     ["second opinion: hls4ml failed", "C-simulation: bit-exact with Keras (every layer exact by its types, and "
                                       "verified)"]),
])
def test_print_exactness_states_what_was_proven(capsys, meta, lines):
    from approxhls.cli import print_exactness

    print_exactness(meta)
    out = capsys.readouterr().out
    printed = [line for line in out.splitlines() if line.strip()]
    for line in lines:
        assert line in printed
    assert sum(line.startswith("C-simulation: ") for line in printed) == 1
    assert ("unknown" in out) == (UNKNOWN in meta["exactness"])
    assert ("lookup table" in out) == (SOFTMAX in meta["exactness"])
    assert ("approxhls diff" in out) == (meta["bit_exact"] is False)
