"""``approxhls finetune``: fine-tuning through a plan's approximate products on the training split only, the
validation accuracy before and after as the converted network scores it, weights on their quantizers' grids."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

PLAN = {"default": "drum_u8_k3"}  # aggressive on every layer: the digits mlp loses accuracy without retraining


@pytest.fixture(scope="module")
def mlp_dir(tmp_path_factory):
    """The committed digits mlp (fitted on the first 1212 of 1347 training samples), copied."""
    from search_golden import MODEL

    d = tmp_path_factory.mktemp("mlp") / "model"
    shutil.copytree(MODEL, d)
    return d


def _opts(**kw):
    from approxhls.retrain.finetune import FinetuneOptions

    return FinetuneOptions(**({"epochs": 2, "learning_rate": 2e-3, "seed": 1, "progress": False} | kw))


@pytest.fixture(scope="module")
def finetuned(mlp_dir, tmp_path_factory):
    from approxhls.retrain.finetune import finetune

    out = tmp_path_factory.mktemp("ft") / "mlp_ft"
    return finetune(mlp_dir, PLAN, _opts(), out), out


def _validation_outcomes(model_dir, plan, idx):
    """Per held-out sample, whether the model converted with the plan (emulated) classifies it right: computed here,
    independently of the record."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.models.datasets import load_dataset
    from approxhls.models.modelio import load_model
    from approxhls.sim.emulator import Emulator

    ds = load_dataset("digits")
    g = build_graph(load_model(model_dir), ConvertOptions(input_precision="ap_ufixed<8,0>"), plan=plan)
    return np.argmax(Emulator(g.ir, g.assignments).predict(ds.x_train[idx].reshape(len(idx), -1)), 1) == ds.y_train[idx]


def test_the_record_holds_the_validation_accuracy_before_and_after(mlp_dir, finetuned):
    record, out = finetuned
    ft = record["finetune"]
    fit = json.loads((mlp_dir / "train.json").read_text())["fit_samples"]
    val = ft["validation"]
    assert record["fit_samples"] == fit == ft["fit"]["samples"] and val["samples"] == 1347 - fit
    held = np.arange(fit, 1347)
    before = _validation_outcomes(mlp_dir, PLAN, held)
    after = _validation_outcomes(out, out / "plan.json", held)
    assert val["accuracy_before"] == before.mean() and val["accuracy_after"] == after.mean()
    assert not np.array_equal(before, after), "fine-tuning changed the network's answers"
    assert val["accuracy_after"] > val["accuracy_before"]
    assert json.loads((out / "train.json").read_text()) == json.loads(json.dumps(record))
    assert json.loads((out / "plan.json").read_text()) == {"default": "drum_u8_k3", "layers": {}}
    assert "test_accuracy" not in record and ft["epochs"] == 2 and len(ft["history"]["loss"]) == 2


def test_the_fine_tuned_weights_are_on_their_quantizers_grids(mlp_dir, finetuned):
    from approxhls.models.modelio import load_model

    _, out = finetuned
    old, new = load_model(mlp_dir), load_model(out)
    for layer in new.layers:
        if getattr(layer, "kernel_quantizer_internal", None) is None:
            continue
        k, b = layer.kernel.numpy(), layer.bias.numpy()
        assert np.array_equal(layer.kernel_quantizer_internal(k).numpy(), k)
        assert np.array_equal(layer.bias_quantizer_internal(b).numpy(), b)
        assert not np.array_equal(k, old.get_layer(layer.name).kernel_quantizer_internal(
            old.get_layer(layer.name).kernel).numpy())


def test_fine_tuning_reads_no_test_data(mlp_dir, finetuned, tmp_path):
    """A dataset whose test split is NaN (and labels out of range) fine-tunes to the very same weights."""
    from approxhls.models.datasets import load_dataset
    from approxhls.models.modelio import load_model
    from approxhls.retrain.finetune import finetune

    ds = load_dataset("digits")
    poisoned = replace(ds, x_test=np.full_like(ds.x_test, np.nan), y_test=np.full_like(ds.y_test, -1))
    record = finetune(mlp_dir, PLAN, _opts(), tmp_path / "p", ds=poisoned)
    assert record["finetune"]["validation"] == finetuned[0]["finetune"]["validation"]
    clean, dirty = load_model(finetuned[1]).get_weights(), load_model(tmp_path / "p").get_weights()
    assert all(np.isfinite(w).all() and np.array_equal(w, v) for w, v in zip(dirty, clean))


@pytest.mark.parametrize("field,value,flag", [("epochs", 0, "--epochs"), ("epochs", -2, "--epochs"),
                                              ("epochs", True, "--epochs"), ("learning_rate", 0.0, "--lr"),
                                              ("batch_size", 0, "--batch-size"), ("val", 0, "--val")])
def test_nonsense_options_are_refused(field, value, flag):
    from approxhls.retrain.finetune import check_options
    from approxhls.retrain.products import RetrainError

    with pytest.raises(RetrainError, match=flag):
        check_options(_opts(**{field: value}))


def test_the_command_refuses_before_any_work(mlp_dir, tmp_path, capsys):
    from approxhls.cli import main

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"default": "exact"}))
    assert main(["finetune", str(mlp_dir), "--plan", str(plan), "--epochs", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--epochs must be an integer of at least 1" in capsys.readouterr().err
    assert main(["finetune", str(mlp_dir), "--plan", str(plan), "--epochs", "1", "--out", str(tmp_path / "o")]) == 2
    assert "no approximate multiplier" in capsys.readouterr().err
    assert main(["finetune", str(mlp_dir), "--plan", str(plan), "--val", "1000", "--out", str(tmp_path / "o")]) == 2
    assert "--val 1000 asks for more than the 135 held-out" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
