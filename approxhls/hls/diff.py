"""``approxhls diff``: where do Keras, the emulator and the C-simulation part ways, layer by layer?

The model (or a project's Keras copy, with the project's options and plan) is converted once more into a
temporary project with hls4ml's tracing on, so the C-simulation reports every layer's output. The same samples
run through Keras (one sub-model per layer), the emulator (every node observed) and the traced C-simulation.
Per IR node: how many elements differ between Keras and the C-simulation and between the emulator and the
C-simulation, and the first difference with its sample, index, both values and the types involved.

An IR node is compared with the Keras layer of its name; a node hls4ml inserts after a layer (``c1_relu`` for a
QConv2D's float activation, ``sep_pointwise`` of a separable convolution) stands for that layer's output when it
is the last node derived from it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from approxhls.sim.project import KERAS_COPY, PROJECT_JSON


def keras_sources(ir, keras_graph: list[tuple[str, list[str]]]) -> dict[str, str]:
    """IR node -> the Keras layer whose output it equals (the last node derived from each layer).

    ``keras_graph``: (layer name, names of its inbound layers) in model order. A Keras layer hls4ml removed (a
    quantizing linear activation merged into its parent, a Dropout) takes over its parent's node."""
    keras_names = [name for name, _ in keras_graph]
    by_length = sorted(keras_names, key=len, reverse=True)
    source = {}
    for node in ir.nodes:
        if node.name in keras_names:
            source[node.name] = node.name
        else:
            k = next((k for k in by_length if node.name.startswith(k + "_")), None)
            if k is not None:
                source[node.name] = k
    last = {}
    for node in ir.nodes:
        if node.name in source:
            last[source[node.name]] = node.name
    for name, inbound in keras_graph:
        if name not in last and len(inbound) == 1 and inbound[0] in last:
            last[name] = last.pop(inbound[0])
    return {n: k for k, n in last.items()}


def _first(a: np.ndarray, b: np.ndarray):
    bad = np.argwhere(a != b)
    if not len(bad):
        return None
    s, i = map(int, bad[0])
    return s, i, float(a[s, i]), float(b[s, i])


def _inputs(meta: dict, dataset: str | None, n: int):
    if dataset or meta.get("dataset"):
        from approxhls.models.datasets import load_dataset

        ds = load_dataset(dataset or meta["dataset"], grid=meta["input_precision"]).limit(n)
        return ds.for_input(ds.x_test, meta["input_shape"]), ds.name
    from approxhls.hls.convert import verification_inputs

    return verification_inputs(meta, n), "random codes of the input type"


def run_diff(target, dataset: str | None = None, limit: int = 100, weights=None, opts=None, plan=None) -> dict:
    from tensorflow import keras

    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.models.modelio import load_model, load_train_info
    from approxhls.sim.assignment import project_assignments
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.ir import IR
    from approxhls.sim.project import load_project

    p = Path(target)
    if (p / PROJECT_JSON).exists():
        meta = load_project(p)
        model, info = load_model(p / KERAS_COPY), {"dataset": meta.get("dataset"), "input_grid": meta["input_precision"]}
        opts = ConvertOptions(io_type=meta["io_type"], strategy=meta["strategy"], reuse_factor=meta["reuse_factor"],
                              backend=meta["backend"], part=meta["part"], project_name=meta["project_name"],
                              input_precision=meta["input_precision"])
        if (p / "plan.json").exists():
            plan = json_plan(p)
    else:
        model, info = load_model(p, weights), load_train_info(p, weights)
        opts = opts or ConvertOptions()
    opts.trace = True
    with tempfile.TemporaryDirectory(prefix="approxhls-diff-") as tmp:
        prj = Path(tmp) / "traced"
        convert_model(model, prj, opts, info, str(p), plan=plan)
        meta, ir = load_project(prj), IR.load(prj)
        model = load_model(prj / KERAS_COPY)  # what was converted (LSQ deployed, softmax stripped)
        x, source = _inputs(meta, dataset, limit)
        sizes = {n.name: int(np.prod(n.shape)) for n in ir.nodes}
        y_csim, traces = CSimLibrary(prj).trace(x, sizes)
        emulated = {}
        Emulator(ir, project_assignments(prj)).predict(
            x, observe=lambda node, codes, t: emulated.setdefault(node.name, []).append(
                t.from_codes(codes).reshape(len(codes), -1)))
        emulated = {k: np.concatenate(v) for k, v in emulated.items()}
        graph = [(layer.name, [n.inbound_layers.name if not isinstance(n.inbound_layers, list) else "" for n in
                               layer.inbound_nodes]) for layer in model.layers]
        sources = keras_sources(ir, [(name, [i for i in inbound if i]) for name, inbound in graph])
        wanted = sorted(set(sources.values()))
        outs = keras.Model(model.inputs, [model.get_layer(k).output for k in wanted]).predict(x, verbose=0)
        outs = outs if isinstance(outs, list) else [outs]
        keras_out = {k: np.asarray(o, dtype=np.float64).reshape(len(x), -1) for k, o in zip(wanted, outs)}
        exact = {r["layer"]: r for r in meta["exactness"]}
        rows = []
        for node in ir.nodes:
            c = traces.get(node.name)
            if c is None and node.name == ir.output:
                c = y_csim
            e = emulated.get(node.name)
            k = keras_out.get(sources.get(node.name, ""))
            row = {"layer": node.name, "op": node.op, "type": node.types.get("result"),
                   "input_type": str(ir.input_type_of(node)) if node.inputs else None,
                   "exact_by_types": exact.get(node.name, {}).get("exact"),
                   "keras_layer": sources.get(node.name), "elements": int(np.prod(node.shape)),
                   "traced": c is not None}
            if c is not None and e is not None:
                row["emulator_vs_csim"] = int(np.sum(e != c))
            if c is not None and k is not None and k.shape == c.shape:
                row["keras_vs_csim"] = int(np.sum(k != c))
                row["max_abs_diff"] = float(np.abs(k - c).max())
                row["first"] = _first(k, c)
            rows.append(row)
    first_bad = next((r for r in rows if r.get("keras_vs_csim")), None)
    return {"target": str(target), "samples": int(len(x)), "inputs": source, "io_type": opts.io_type,
            "layers": rows, "first_keras_difference": first_bad and first_bad["layer"],
            "emulator_equals_csim": all(r.get("emulator_vs_csim", 0) == 0 for r in rows),
            "notes": meta["notes"]}


def json_plan(prj: Path):
    import json

    from approxhls.hls.plan import PLAN_KEYS, load_plan

    data = json.loads((prj / "plan.json").read_text())
    return load_plan({k: v for k, v in data.items() if k in PLAN_KEYS})
