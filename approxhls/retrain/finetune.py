"""``approxhls finetune``: a trained model fine-tuned with a plan's approximate products in its forward pass.

Splits (never the test set): the model is fine-tuned on the training samples it was fitted on (train.json's
``fit_samples``: Keras' validation split held out the tail x_train[fit_samples:]) and its accuracy before and after
is measured on that held-out tail, the validation images the search chooses points on. Accuracies are the
emulator's (bit-exact to the C-simulation) on the deployed network: the model converted with the plan. A model
without train.json holds out the last 10% of the training split here and says so.

The result is a model directory of the form ``approxhls train`` writes (model.h5, train.json) plus the plan it was
fine-tuned for (plan.json: its multipliers; tuned weight maps and bias offsets of the plan were made for the old
weights and are dropped). Its weights are on their quantizers' grids, so converting it with that plan gives the
network whose accuracy was measured.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from approxhls.retrain.products import RetrainError

PLAN_NAME = "plan.json"
HELD_OUT_FRACTION = 0.1  # held out here when train.json does not say what training held out


@dataclass
class FinetuneOptions:
    epochs: int = 3
    learning_rate: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    dataset: str | None = None  # default: the dataset train.json names
    val: int | None = None  # validation samples (default: every held-out one)
    progress: bool = True


def _positive_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


CHECKS = {  # field -> (valid, what a valid value is)
    "epochs": (_positive_int, "must be an integer of at least 1"),
    "batch_size": (_positive_int, "must be an integer of at least 1"),
    "learning_rate": (lambda v: isinstance(v, (int, float)) and math.isfinite(v) and v > 0, "must be above 0"),
    "val": (lambda v: v is None or _positive_int(v), "must be an integer of at least 1"),
}


def check_options(opts: FinetuneOptions) -> None:
    for name, (valid, what) in CHECKS.items():
        value = getattr(opts, name)
        if not valid(value):
            flag = "--lr" if name == "learning_rate" else "--" + name.replace("_", "-")
            raise RetrainError(f"{flag} {what} (got {value!r})")


def multipliers_only(plan):
    """(the plan's multipliers as a Plan, notes on what was dropped)."""
    from approxhls.hls.plan import Plan, load_plan

    p = load_plan(plan)
    notes = [f"dropped the plan's {what} (made for the weights before fine-tuning)"
             for what, present in (("tuned weight maps", p.tuned_weights), ("bias offsets", p.bias_offsets)) if present]
    return Plan(p.default, dict(p.layers)), notes


def planned_network(model, plan, grid):
    """(the model converted with the plan, {Keras layer: products}) with every planned layer checked."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.retrain.products import graph_products
    from approxhls.retrain.tflayers import check_weights

    g = build_graph(model, ConvertOptions(input_precision=str(grid)), plan=plan)
    products = graph_products(g)
    if not products:
        raise RetrainError("the plan assigns no approximate multiplier to any layer of this model: there is nothing "
                           "to fine-tune for; give a plan that names approximate multipliers")
    check_weights(model, g.ir, products)
    return g, products


def emulated_correct(graph, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per sample, whether the converted network (the emulator, equal to the C-simulation) classifies it right."""
    from approxhls.sim.emulator import Emulator

    return np.argmax(Emulator(graph.ir, graph.assignments).predict(x), axis=1) == y


def split(info: dict, n_train: int, val: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(indices fine-tuned on, validation indices, where validation comes from), both in the training split."""
    fit = info.get("fit_samples")
    if fit and 0 < fit < n_train:
        source = f"training samples {fit}..{n_train - 1}, held out from training (train.json)"
    else:
        fit = int(n_train * (1 - HELD_OUT_FRACTION))
        source = (f"training samples {fit}..{n_train - 1}, held out from fine-tuning (no train.json says what "
                  f"training held out: the model may have been trained on them)")
    held = np.arange(fit, n_train)
    if val is not None:
        if val > len(held):
            raise RetrainError(f"--val {val} asks for more than the {len(held)} held-out training samples; give at "
                               f"most {len(held)}")
        held = held[:val]
    return np.arange(fit), held, source


def _from_logits(model) -> bool:
    """Whether the model's outputs are logits (the zoo's); a final softmax gives probabilities."""
    act = model.layers[-1].get_config().get("activation")
    return act != "softmax"


def snap_to_grid(model) -> None:
    """Every quantized kernel and bias set to its quantized value (where quantizing that again changes nothing), so
    the saved floats are the values the hardware holds."""
    for layer in model.layers:
        for var, qname in (("kernel", "kernel_quantizer_internal"), ("bias", "bias_quantizer_internal")):
            v, q = getattr(layer, var, None), getattr(layer, qname, None)
            if v is None or q is None:
                continue
            snapped = np.asarray(q(v))
            if np.array_equal(np.asarray(q(snapped)), snapped):
                v.assign(snapped)


def _progress(epochs: int, enabled: bool):
    from approxhls.models.training import _progress_callback

    return [_progress_callback(epochs)] if enabled else []


def retrain_weights(model, products: dict, x: np.ndarray, y: np.ndarray, opts: FinetuneOptions):
    """(a copy of ``model`` with the weights fine-tuned through the approximate products, on its quantizers' grids;
    the Keras history; seconds)."""
    import tensorflow as tf

    from approxhls.models.training import set_seeds
    from approxhls.retrain.tflayers import approximate_model

    set_seeds(opts.seed)
    twin = approximate_model(model, products)
    twin.compile(optimizer=tf.keras.optimizers.Adam(opts.learning_rate), metrics=["accuracy"],
                 loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=_from_logits(model)))
    t0 = time.perf_counter()
    hist = twin.fit(x, y, epochs=opts.epochs, batch_size=opts.batch_size, shuffle=True, verbose=0,
                    callbacks=_progress(opts.epochs, opts.progress))
    seconds = time.perf_counter() - t0
    tuned = tf.keras.models.clone_model(model)
    tuned.set_weights(twin.get_weights())
    snap_to_grid(tuned)
    return tuned, {k: [float(v) for v in vals] for k, vals in hist.history.items()}, seconds


@dataclass
class Finetuned:
    """A fine-tuned model with what was measured: the validation outcomes before and after, per image."""

    model: object
    plan: object
    before: np.ndarray
    after: np.ndarray
    history: dict
    seconds: float
    layers: list


def finetune_model(model, plan, grid, x_fit, y_fit, x_val, y_val, opts: FinetuneOptions) -> Finetuned:
    """Fine-tunes ``model`` for ``plan`` on (x_fit, y_fit); validation outcomes of the converted network before and
    after. The library step that ``approxhls finetune`` and ``approxhls search --retrain`` share."""
    check_options(opts)
    plan, _ = multipliers_only(plan)
    g, products = planned_network(model, plan, grid)
    before = emulated_correct(g, x_val, y_val)
    tuned, history, seconds = retrain_weights(model, products, x_fit, y_fit, opts)
    after_graph, _ = planned_network(tuned, plan, grid)
    layers = [{"layer": p.layer, "multiplier": p.multiplier, "factors": p.method, "rank": p.rank}
              for p in products.values()]
    return Finetuned(tuned, plan, before, emulated_correct(after_graph, x_val, y_val), history, seconds, layers)


def validation_record(before: np.ndarray, after: np.ndarray, source: str) -> dict:
    from approxhls.stats import paired_difference_interval, wilson_interval

    _, lo, hi = paired_difference_interval(after, before)
    return {"samples": int(len(before)), "source": source,
            "accuracy_before": float(before.mean()), "accuracy_after": float(after.mean()),
            "accuracy_before_ci95": list(wilson_interval(int(before.sum()), len(before))),
            "accuracy_after_ci95": list(wilson_interval(int(after.sum()), len(after))),
            "change_ci95": [lo, hi]}


def finetune_record(info: dict, ft: Finetuned, source_model: str, ds, opts: FinetuneOptions, fit: np.ndarray,
                    val_source: str, notes: list, fit_source: str | None = None) -> dict:
    """The new train.json: the original's description of the model, with what fine-tuning did. ``fit``: the
    training-split indices fine-tuned on; where they are the split's first samples, ``fit_samples`` says so (a search
    of the new model then holds out the same tail for validation), else it is left out."""
    kept = {k: v for k, v in info.items()
            if k not in ("history", "test_accuracy", "train_seconds", "finetune", "fit_samples")}
    prefix = bool(len(fit)) and np.array_equal(fit, np.arange(len(fit)))
    return kept | {
        "dataset": ds.name,
        "dataset_spec": opts.dataset or info.get("dataset_spec") or ds.name,
        "input_grid": str(ds.grid),
        **({"fit_samples": int(len(fit))} if prefix else {}),
        "finetune": {
            "from": source_model, "plan": ft.plan.to_json(), "plan_notes": notes, "layers": ft.layers,
            "epochs": opts.epochs, "learning_rate": opts.learning_rate, "batch_size": opts.batch_size,
            "seed": opts.seed,
            "fit": {"samples": int(len(fit)), "source": fit_source or f"training samples 0..{len(fit) - 1}"},
            "validation": validation_record(ft.before, ft.after, val_source),
            "accuracy": "the emulator's (bit-exact to the C-simulation) on the model converted with the plan",
            "test_set": "not used: fine-tuning and validation read the training split only",
            "history": ft.history, "seconds": round(ft.seconds, 2),
        },
    }


def save_finetuned(ft: Finetuned, record: dict, out: Path) -> None:
    """model.h5, train.json and plan.json into a directory."""
    from approxhls.models.modelio import TRAIN_JSON, save_model

    save_model(ft.model, out)
    ft.plan.save(out / PLAN_NAME)
    (out / TRAIN_JSON).write_text(json.dumps(record, indent=2))


def default_out(model_path) -> Path:
    p = Path(model_path)
    return p.parent / f"{p.stem if p.is_file() else p.name}_finetuned"


def finetune(model_path, plan, opts: FinetuneOptions, out_dir=None, overwrite: bool = False, ds=None,
             weights=None) -> dict:
    """Fine-tunes the model at ``model_path`` for ``plan`` and writes it to ``out_dir`` (default: beside it,
    NAME_finetuned), built beside it and moved in when complete; returns the new train.json."""
    from approxhls.fsutil import atomic_directory, check_output_dir
    from approxhls.models.datasets import DEFAULT_GRID, load_dataset
    from approxhls.models.modelio import load_model, load_train_info
    from approxhls.models.training import is_training_dir

    check_options(opts)
    final = check_output_dir(out_dir or default_out(model_path), "fine-tuned model directory", overwrite,
                             replaceable=is_training_dir, kind="an approxhls model directory")
    model, info = load_model(model_path, weights), load_train_info(model_path, weights)
    ds = ds or load_dataset(opts.dataset or info.get("dataset_spec") or info.get("dataset") or "digits",
                            grid=info.get("input_grid", DEFAULT_GRID))
    fit, val, source = split(info, len(ds.x_train), opts.val)
    shape = model.input_shape[1:]
    _, notes = multipliers_only(plan)
    ft = finetune_model(model, plan, ds.grid, ds.for_input(ds.x_train[fit], shape), ds.y_train[fit],
                        ds.for_input(ds.x_train[val], shape), ds.y_train[val], opts)
    record = finetune_record(info, ft, str(model_path), ds, opts, fit, source, notes)
    with atomic_directory(final) as out:
        save_finetuned(ft, record, out)
    return record


def options_record(opts: FinetuneOptions) -> dict:
    return {k: v for k, v in asdict(opts).items() if k != "progress"}
