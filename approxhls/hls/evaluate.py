"""Accuracy of a planned network from the emulator, for a converted project or a Keras model + plan."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_target(target, plan=None, io_type: str = "io_parallel", weights=None):
    """A project directory (its IR and plan) or a model (converted in memory): see
    :func:`approxhls.hls.target.resolve_target`."""
    from approxhls.hls.options import ConvertOptions
    from approxhls.hls.target import resolve_target

    return resolve_target(target, plan, weights, ConvertOptions(io_type=io_type))


def run_emulation(target, plan=None, dataset: str | None = None, limit: int | None = None,
                  keras_reference: bool = True, weights=None) -> dict:
    from approxhls.errors import ApproxHLSError
    from approxhls.models.datasets import load_dataset
    from approxhls.sim.emulator import Emulator

    from approxhls.checks import optional_whole

    limit = optional_whole("--limit", limit)
    t = load_target(target, plan, weights=weights)
    if sum(1 for n in t.ir.nodes if n.op == "input") != 1 or len(t.ir.outputs) != 1:
        raise ApproxHLSError(f"approxhls emulate runs a dataset through a model with one input and one output; "
                             f"{target} has several (`approxhls diff` and `convert --verify` check such models)")
    ds = load_dataset(dataset or t.dataset or "digits", grid=t.input_precision).limit(limit)
    x = ds.for_input(ds.x_test, t.input_shape)
    em = Emulator(t.ir, t.assignments, probe=x)  # each layer's engines race on its inputs from these images
    em.predict(x[: min(len(x), 64)])  # warm-up: builds the lookup kernel, touches the weights
    y, timing = em.timed_predict(x)
    report = {
        "target": str(target),
        "dataset": ds.name,
        "n": int(len(x)),
        "accuracy": float(np.mean(np.argmax(y, axis=1) == ds.y_test)),
        "images_per_s": round(timing["images_per_s"], 1),
        "gmac_per_s": float(f"{timing['gmac_per_s']:.3g}"),  # significant digits: a small model's rate is < 0.001
        "macs_per_image": em.macs_per_sample(),
        "layers": em.describe(),
    }
    if keras_reference and t.keras_model is not None:
        from approxhls.models.modelio import load_model

        km = t.keras_model if not isinstance(t.keras_model, (str, Path)) else load_model(t.keras_model)
        yk = km.predict(x, batch_size=512, verbose=0)
        report["accuracy_exact_keras"] = float(np.mean(np.argmax(yk, axis=1) == ds.y_test))
    return report
