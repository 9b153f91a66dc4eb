"""``approxhls diff``: where do Keras, the emulator and the C-simulation part ways, layer by layer?

The model (or a project's Keras copy, with the project's own options and plan) is converted once more and written
with hls4ml's tracing on, so the C-simulation reports every layer's output (:mod:`approxhls.hls.trace`). Per IR
node: how many elements differ between Keras and the C-simulation and between the emulator and the C-simulation,
and the first difference with its sample, index, both values and the types involved.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np


def _inputs(meta: dict, dataset: str | None, n: int):
    if dataset or meta.get("dataset"):
        from approxhls.models.datasets import load_dataset

        ds = load_dataset(dataset or meta["dataset"], grid=meta["input_precision"]).limit(n)
        return ds.for_input(ds.x_test, meta["input_shape"]), ds.name
    from approxhls.hls.verify import verification_inputs

    return verification_inputs(meta, n), "random codes of the input type"


def _source(target, weights, opts):
    """(Keras model, train info, options, plan) to convert: a project's Keras copy with its options and plan, or a
    model with the given options."""
    from approxhls.hls.options import ConvertOptions
    from approxhls.models.modelio import load_model, load_train_info
    from approxhls.project import Project, is_project

    if is_project(target):
        prj = Project.load(target)
        info = {"dataset": prj.dataset, "input_grid": prj.input_precision}
        return prj.keras_model(), info, prj.reconvert_options(), prj.plan_to_reapply()
    return load_model(target, weights), load_train_info(target, weights), opts or ConvertOptions(), None


def _row(t, exactness: dict, ir) -> dict:
    from approxhls.hls.trace import first_difference

    node = t.node
    row = {"layer": node.name, "op": node.op, "type": node.types.get("result"),
           "input_type": str(ir.input_type_of(node)) if node.inputs else None,
           "exact_by_types": exactness.get(node.name), "keras_layer": t.keras_layer,
           "elements": int(np.prod(node.shape)), "traced": t.csim is not None}
    if t.csim is not None and t.emulator is not None:
        row["emulator_vs_csim"] = int(np.sum(t.emulator != t.csim))
    if t.csim is not None and t.keras is not None and t.keras.shape == t.csim.shape:
        row["keras_vs_csim"] = int(np.sum(t.keras != t.csim))
        row["max_abs_diff"] = float(np.abs(t.keras - t.csim).max())
        row["first"] = first_difference(t.keras, t.csim)
    return row


def _traced_project(target, weights, opts, plan, tmp: Path):
    """A traced project of the target: the project itself when it is traced, else a conversion into ``tmp``."""
    from approxhls.hls.convert import convert_model
    from approxhls.project import Project, is_project

    if is_project(target) and plan is None and Project.load(target).meta.get("traced"):
        prj = Project.load(target)
        return prj, prj.keras_model()
    model, info, opts, project_plan = _source(target, weights, opts)
    convert_model(model, tmp / "traced", opts, info, str(target), plan if plan is not None else project_plan)
    prj = Project.load(tmp / "traced")
    return prj, prj.keras_model()


def run_diff(target, dataset: str | None = None, limit: int = 100, weights=None, opts=None, plan=None) -> dict:
    from approxhls.checks import whole
    from approxhls.hls.trace import trace_layers

    limit = whole("--limit", limit)
    with tempfile.TemporaryDirectory(prefix="approxhls-diff-") as tmp:
        prj, model = _traced_project(target, weights, opts, plan, Path(tmp))
        meta = prj.meta
        x, source = _inputs(meta, dataset, limit)
        ir = prj.ir()
        _, traces = trace_layers(prj.dir, ir, prj.assignments(), model, x)
    user_names = meta.get("user_names") or {}
    exactness = {r["layer"]: r["exact"] for r in meta["exactness"]}
    rows = []
    for t in traces:
        row = _row(t, exactness, ir)
        row["layer"] = user_names.get(row["layer"], row["layer"])
        row["exact_by_types"] = exactness.get(row["layer"])
        rows.append(row)
    first_bad = next((r for r in rows if r.get("keras_vs_csim")), None)
    return {"target": str(target), "samples": int(len(x)), "inputs": source, "io_type": meta["io_type"],
            "layers": rows, "first_keras_difference": first_bad and first_bad["layer"],
            "emulator_equals_csim": all(r.get("emulator_vs_csim", 0) == 0 for r in rows),
            "notes": meta["notes"]}
