"""``approxhls search --retrain EPOCHS``: after the search, front points fine-tuned through their multipliers
(:mod:`approxhls.retrain`), measured again on the validation images, and the choice made on validation among the
points as searched and as retrained; the test set then reports the chosen configuration only.

Which points: the one chosen on validation without retraining (the cheapest within --max-loss) and up to
:data:`CHEAPER` cheaper ones (retraining may bring them within the loss); where no point is within it, the
:data:`CHEAPER` + 1 approximate points most accurate on validation. Fine-tuning reads the training samples the model
was fitted on (train.json), or, where train.json does not say, the training split without the validation images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from approxhls.search.choice import TOLERANCE
from approxhls.search.costmodel import EXACT
from approxhls.search.options import OBJECTIVES

CHEAPER = 2
RETRAINED_DIR = "retrained"
TARGETS = (f"the point chosen on validation without retraining and up to {CHEAPER} cheaper ones; where none is "
           f"within --max-loss, the {CHEAPER + 1} approximate points most accurate on validation")


def _approximate(point: dict) -> bool:
    return any(m != EXACT for m in point["plan"].values())


def targets(points: list[dict], exact_val: float, max_loss: float, objective: str) -> list[dict]:
    """The points to retrain (see the module's docstring), cheapest first."""
    cost = OBJECTIVES[objective]
    approx = sorted((p for p in points if _approximate(p)), key=lambda p: p[cost])
    within = [p for p in approx if exact_val - p["val_accuracy"] <= max_loss + TOLERANCE]
    if not within:
        best = sorted(approx, key=lambda p: -p["val_accuracy"])[: CHEAPER + 1]
        return sorted(best, key=lambda p: p[cost])
    chosen = within[0]
    return [p for p in approx if p[cost] < chosen[cost]][-CHEAPER:] + [chosen]


def fit_split(info: dict, n_train: int, val_index: np.ndarray) -> tuple[np.ndarray, str]:
    """(training-split indices to fine-tune on, where they come from): never a validation image."""
    fit = info.get("fit_samples")
    if fit and 0 < fit < n_train:
        return np.arange(fit), f"training samples 0..{fit - 1} (those the model was fitted on, train.json)"
    return (np.setdiff1d(np.arange(n_train), val_index),
            "the training split without the search's validation images (train.json does not say what was fitted)")


def configurations(points: list[dict], objective: str) -> list[dict]:
    """Every configuration the choice may pick: each point as searched, and retrained where it was."""
    out = []
    for p in points:
        out.append({"point": p, "retrained": False, "val_accuracy": p["val_accuracy"]})
        if "retrained" in p:
            out.append({"point": p, "retrained": True, "val_accuracy": p["retrained"]["val_accuracy_after"]})
    cost = OBJECTIVES[objective]
    return sorted(out, key=lambda c: (c["point"][cost], -c["val_accuracy"]))


def choose(points: list[dict], exact_val: float, max_loss: float, objective: str) -> dict | None:
    """The cheapest configuration within ``max_loss`` of the exact network on validation (of two configurations of
    one point, the more accurate on validation)."""
    for c in configurations(points, objective):
        if exact_val - c["val_accuracy"] <= max_loss + TOLERANCE:
            return c
    return None


class Retrainer:
    """Fine-tunes points of a search's front and keeps the fine-tuned models until they are written."""

    def __init__(self, p, opts, model_path):
        from approxhls.models.datasets import load_dataset
        from approxhls.models.modelio import load_model, load_train_info

        self.p, self.opts = p, opts
        self.info = load_train_info(model_path, opts.weights)
        self.model, self.model_path = load_model(model_path, opts.weights), str(model_path)
        self.ds = load_dataset(opts.dataset or self.info.get("dataset_spec") or self.info.get("dataset") or "digits",
                               grid=self.info.get("input_grid", "ap_ufixed<8,0>"))
        self.shape = [int(d) for d in self.model.input_shape[1:]]
        self.fit, self.fit_source = fit_split(self.info, len(self.ds.x_train), p.evaluator.data.val_index)
        self.done: dict[str, tuple] = {}  # retrained model directory -> (Finetuned, train.json record)

    def finetune_options(self):
        from approxhls.retrain.finetune import FinetuneOptions

        return FinetuneOptions(epochs=self.opts.retrain, seed=self.opts.seed, progress=self.opts.progress)

    def retrain(self, point: dict, plan) -> None:
        """Fine-tunes one point's plan; its before/after validation accuracies go into the point."""
        from approxhls.retrain.finetune import finetune_model, finetune_record, multipliers_only

        data, fopts = self.p.evaluator.data, self.finetune_options()
        _, notes = multipliers_only(plan)
        ft = finetune_model(self.model, plan, self.ds.grid, self.ds.for_input(self.ds.x_train[self.fit], self.shape),
                            self.ds.y_train[self.fit], data.x_val, data.y_val, fopts)
        name = f"{RETRAINED_DIR}/{Path(point['plan_file']).stem}"
        record = finetune_record(self.info, ft, self.model_path, self.ds, fopts, self.fit, data.val_source, notes,
                                 self.fit_source)
        self.done[name] = (ft, record)
        point["retrained"] = {"model": name, "plan_file": f"{name}/plan.json", "epochs": fopts.epochs,
                              "val_accuracy_before": point["val_accuracy"],
                              "val_accuracy_multipliers_only": float(ft.before.mean()),
                              "val_accuracy_after": float(ft.after.mean()), "seconds": round(ft.seconds, 1)}

    def test_outcomes(self, name: str) -> np.ndarray:
        """Per test image, whether a retrained configuration classifies it right (only ever the chosen one)."""
        from approxhls.retrain.finetune import emulated_correct, planned_network

        ft, _ = self.done[name]
        g, _ = planned_network(ft.model, ft.plan, self.ds.grid)
        data = self.p.evaluator.data
        return emulated_correct(g, data.x_test, data.y_test)

    def write(self, tmp: Path) -> None:
        from approxhls.retrain.finetune import save_finetuned

        for name, (ft, record) in self.done.items():
            (tmp / name).mkdir(parents=True)
            save_finetuned(ft, record, tmp / name)


def chosen_record(c: dict | None, retrainer: Retrainer, exact_correct: np.ndarray) -> dict | None:
    """The chosen configuration, with its test accuracy (computed now, after the choice, where it was retrained)."""
    from approxhls.search.front import add_intervals

    if c is None:
        return None
    p = c["point"]
    out = {"plan_file": p["plan_file"], "retrained": c["retrained"], "val_accuracy": c["val_accuracy"],
           "relative_energy": p["relative_energy"], "relative_luts": p["relative_luts"]}
    if not c["retrained"]:
        return out | {k: p[k] for k in ("test_accuracy", "test_accuracy_ci95", "test_loss_ci95")}
    correct = retrainer.test_outcomes(p["retrained"]["model"])
    out |= {"model": p["retrained"]["model"], "plan_file": p["retrained"]["plan_file"],
            "test_accuracy": float(correct.mean())}
    add_intervals(out, correct, exact_correct)
    return out


def retrain_front(p, base, result: dict, plans: dict, opts, model_path) -> Retrainer:
    """Retrains the target points of ``result`` (``plans``: plan file -> Plan), records the retraining and the choice
    in it; returns the Retrainer whose ``write`` puts the models into the output."""
    import time

    t0 = time.perf_counter()
    retrainer = Retrainer(p, opts, model_path)
    chosen_points = targets(result["points"], base.val, opts.max_loss, opts.objective)
    for point in chosen_points:
        retrainer.retrain(point, plans[point["plan_file"]])
    c = choose(result["points"], base.val, opts.max_loss, opts.objective)
    ft = retrainer.finetune_options()
    result["retraining"] = {
        "epochs": opts.retrain, "learning_rate": ft.learning_rate, "batch_size": ft.batch_size, "seed": ft.seed,
        "points": [q["plan_file"] for q in chosen_points], "which": TARGETS,
        "fit": {"samples": int(len(retrainer.fit)), "source": retrainer.fit_source},
        "validation": "the search's validation images; accuracies of the converted network (emulator)",
        "seconds": round(time.perf_counter() - t0, 1),
    }
    result["chosen"] = chosen_record(c, retrainer, base.test_correct)
    if result["chosen"] is not None:
        result["chosen"]["rule"] = ("the cheapest configuration within --max-loss of the exact network on validation, "
                                    "retrained points by their accuracy after retraining; the test set measured after "
                                    "the choice")
    return retrainer
