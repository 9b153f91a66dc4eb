"""``approxhls search --retrain``: front points fine-tuned through their multipliers, their validation accuracy
before and after recorded, the choice made on validation, the test set measured for the chosen configuration only."""

import json
import shutil

import numpy as np
import pytest


@pytest.mark.parametrize("value", [0, -1, True, 1.5])
def test_retrain_refuses_nonsense(value):
    from approxhls.search.options import SearchOptionError, SearchOptions, check

    with pytest.raises(SearchOptionError, match="--retrain must be an integer of at least 1"):
        check(SearchOptions(retrain=value, max_loss=0.01))


def test_retrain_needs_a_loss_to_choose_by(tmp_path, capsys):
    from approxhls.cli import main
    from approxhls.search.options import SearchOptionError, SearchOptions, check

    with pytest.raises(SearchOptionError, match="--retrain needs --max-loss"):
        check(SearchOptions(retrain=2))
    assert main(["search", str(tmp_path), "--retrain", "0", "--max-loss", "0.01", "--out", str(tmp_path / "s")]) == 2
    assert "--retrain must be an integer of at least 1 (got 0)" in capsys.readouterr().err


def _point(energy, val, test=0.5, plan=None):
    return {"plan": plan or {"fc1": "m"}, "plan_file": f"plans/point_{int(energy * 100):02d}.json",
            "relative_energy": energy, "relative_luts": energy, "val_accuracy": val, "test_accuracy": test}


def test_the_targets_are_the_chosen_point_and_cheaper_ones():
    from approxhls.search.retraining import choose, targets

    pts = [_point(0.2, 0.70), _point(0.3, 0.80), _point(0.4, 0.85), _point(0.5, 0.95), _point(0.6, 0.96),
           _point(1.0, 0.97, plan={"fc1": "exact"})]
    assert [p["relative_energy"] for p in targets(pts, 0.97, 0.03, "energy")] == [0.3, 0.4, 0.5]
    assert [p["relative_energy"] for p in targets(pts, 0.99, 0.001, "energy")] == [0.4, 0.5, 0.6]  # none within
    pts[1]["retrained"] = {"val_accuracy_after": 0.95}
    c = choose(pts, 0.97, 0.03, "energy")
    assert c["point"] is pts[1] and c["retrained"]
    pts[1]["retrained"] = {"val_accuracy_after": 0.90}  # retraining not enough: the choice stays
    c = choose(pts, 0.97, 0.03, "energy")
    assert c["point"] is pts[3] and not c["retrained"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    from search_golden import MODEL

    from approxhls.search.run import SearchOptions, run_search

    d = tmp_path_factory.mktemp("rs")
    shutil.copytree(MODEL, d / "model")
    opts = SearchOptions(pop=6, gens=2, calib=150, val=100, max_loss=0.03, retrain=2, seed=2, progress=False,
                         candidates="drum_u8_k3,tam_u8_k10,lsbt_u8_ka4_kb4,drum_u8_k5")
    return run_search(d / "model", d / "s", opts), d


def _emulated(model_dir, plan, x, y):
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.models.modelio import load_model
    from approxhls.sim.emulator import Emulator

    g = build_graph(load_model(model_dir), ConvertOptions(input_precision="ap_ufixed<8,0>"), plan=plan)
    return np.argmax(Emulator(g.ir, g.assignments).predict(x), 1) == y


def test_search_retrains_and_chooses_on_validation(searched):
    from approxhls.models.datasets import load_dataset
    from approxhls.search.network import split_indices
    from approxhls.search.retraining import choose

    r, d = searched
    out = d / "s"
    assert json.loads((out / "pareto.json").read_text()) == json.loads(json.dumps(r))
    retrained = [p for p in r["points"] if "retrained" in p]
    assert retrained and [p["plan_file"] for p in retrained] == r["retraining"]["points"]
    ds = load_dataset("digits")
    fit = json.loads((d / "model" / "train.json").read_text())["fit_samples"]
    _, val_idx, _ = split_indices(len(ds.x_train), 150, 100, fit, 2)
    xv, yv = ds.x_train[val_idx].reshape(100, -1), ds.y_train[val_idx]
    assert r["retraining"]["fit"]["samples"] == fit
    for p in retrained:
        rt = p["retrained"]
        model = out / rt["model"]
        record = json.loads((model / "train.json").read_text())["finetune"]
        assert record["validation"]["accuracy_after"] == rt["val_accuracy_after"]
        assert rt["val_accuracy_after"] == _emulated(model, out / rt["plan_file"], xv, yv).mean()
        assert rt["val_accuracy_multipliers_only"] == _emulated(d / "model", out / p["plan_file"], xv, yv).mean()
        assert "test_accuracy" not in rt
    assert any(p["retrained"]["val_accuracy_after"] > p["retrained"]["val_accuracy_multipliers_only"]
               for p in retrained), "retraining changed some point's validation accuracy for the better"
    c = r["chosen"]
    assert c is not None
    want = choose(r["points"], r["exact"]["val_accuracy"], 0.03, "energy")
    assert (c["retrained"], c["val_accuracy"]) == (want["retrained"], want["val_accuracy"])
    if c["retrained"]:  # the test set measured after the choice, on the retrained model
        xt = ds.x_test.reshape(len(ds.x_test), -1)
        assert c["test_accuracy"] == _emulated(out / c["model"], out / c["plan_file"], xt, ds.y_test).mean()
        assert c["test_loss_ci95"][0] <= c["test_loss_ci95"][1]
