"""C-simulation of a converted project on a dataset, compared element by element with Keras.

Where the project is not bit-exact by construction (lookup-table softmax/sigmoid/tanh, float parameters,
approximate multipliers), differences are expected: the report gives the class agreement and the largest
difference next to the mismatch counts, and names the layers that differ and why."""

from __future__ import annotations

import time

import numpy as np

from approxhls.checks import optional_whole
from approxhls.hls.verify import compare_outputs
from approxhls.project import Project
from approxhls.sim.csimlib import CSimLibrary


def run_csim(prj, dataset: str | None = None, limit: int | None = None, show_progress: bool = True,
             check_reference: bool = False) -> dict:
    """Compile (if stale) and run the project's C-simulation on the test split; compare with Keras.

    With a multiplier plan, Keras computes exact products, so differences from it are expected;
    ``check_reference`` also compares with the reference evaluator, which includes the plan.
    """
    from tqdm.auto import tqdm

    from approxhls.models.datasets import load_dataset

    limit = optional_whole("--limit", limit)
    project = Project.load(prj)
    project.require_single_io("approxhls csim (a dataset's test split)")
    meta = project.meta
    spec = dataset or project.dataset or "digits"
    ds = load_dataset(spec, grid=project.input_precision).limit(limit)
    lib = CSimLibrary(prj)
    lib.load()
    x = ds.for_input(ds.x_test, project.input_shape)
    keras_model = project.keras_model()
    y_keras = keras_model.predict(x, batch_size=512, verbose=0).reshape(len(x), -1)
    t0 = time.perf_counter()
    with tqdm(total=len(x), desc="C-simulation", unit="img", disable=not show_progress) as bar:
        y_csim = lib.predict(x, progress=bar.update)
    seconds = time.perf_counter() - t0
    report = {
        "project": str(prj),
        "dataset": ds.name,
        "n": int(len(x)),
        "accuracy_keras": float(np.mean(np.argmax(y_keras, axis=1) == ds.y_test)),
        "accuracy_csim": float(np.mean(np.argmax(y_csim, axis=1) == ds.y_test)),
        **compare_outputs(y_keras, y_csim),
        "class_agreement": float(np.mean(np.argmax(y_keras, axis=1) == np.argmax(y_csim, axis=1))),
        # what the project says of itself: true (exact, verified), false (not exact), null (no claim)
        "bit_exact_claimed": meta.get("bit_exact"),
        "not_exact_layers": {r["layer"]: r["reason"] for r in meta.get("exactness", []) if r["exact"] is False},
        "io_type": meta["io_type"],
        "strategy": meta["strategy"],
        "csim_seconds": round(seconds, 3),
        "csim_images_per_s": round(len(x) / seconds, 1) if seconds > 0 else None,
        "compiled": lib.rebuilt,
        "compile_seconds": round(lib.build_seconds, 1),
        "plan": {k: v["multiplier"] for k, v in (meta.get("plan") or {}).items()} or None,
    }
    if check_reference:
        from approxhls.sim.reference import evaluate

        y_ref = evaluate(project.ir(), x, project.assignments())
        report["mismatches_reference"] = compare_outputs(y_ref, y_csim)["mismatches"]
        report["accuracy_reference"] = float(np.mean(np.argmax(y_ref, axis=1) == ds.y_test))
    return report
