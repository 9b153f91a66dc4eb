"""approxhls.cost: what a model's arithmetic and quantization cost in hardware, per layer, before building it.

    from approxhls.cost import estimate_cost
    report = estimate_cost("runs/cnn")            # a trained model directory/.h5, or a converted project
"""

from __future__ import annotations

import copy
from pathlib import Path

from approxhls.cost.count import count_ir
from approxhls.cost.estimate import CATEGORIES, Estimator


def _from_project(prj: Path, plan):
    from approxhls.hls.plan import load_plan, resolve_plan
    from approxhls.sim.assignment import project_assignments
    from approxhls.sim.ir import IR
    from approxhls.sim.project import load_project

    meta = load_project(prj)
    ir = IR.load(prj)
    assignments = resolve_plan(load_plan(plan), ir) if plan is not None else project_assignments(prj)
    bn = {r["name"] for r in meta["layers"] if r["class"] == "Conv2DBatchnorm"}
    scheme = meta.get("scheme") or {}
    return (ir, assignments, scheme.get("family"), scheme.get("weight_bits"), bn, int(meta.get("reuse_factor", 1)),
            str(prj))


def _from_model(path, plan, weights=None):
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.models.lsq import lsq_family
    from approxhls.models.modelio import load_model, load_train_info, resolve_model_path

    src = resolve_model_path(path, weights)
    info = load_train_info(src, weights)
    model = load_model(src, weights)
    scheme = info.get("scheme") or {}
    family = scheme.get("family") or lsq_family(model)
    code_bits = scheme.get("weight_bits") or next((layer.weight_bits for layer in model.layers
                                                   if hasattr(layer, "weight_bits")), None)
    g = build_graph(model, ConvertOptions(), info, plan)
    bn = {layer.name for layer in g.hls_model.get_layers() if layer.class_name == "Conv2DBatchnorm"}
    return g.ir, g.assignments, family, code_bits, bn, 1, str(src)


def estimate_cost(target, plan=None, progress: bool = True, weights=None) -> dict:
    """Per-layer and total LUTs, DSPs and energy proxy of ``target`` (a converted project or a Keras model),
    with the plan's multipliers, relative to the same network with exact multipliers."""
    target = Path(target)
    if (target / "approxhls.json").exists():
        ir, assignments, family, code_bits, bn, rf, source = _from_project(target, plan)
    else:
        ir, assignments, family, code_bits, bn, rf, source = _from_model(target, plan, weights)
    layers = count_ir(ir, assignments, family, bn, code_bits)
    say = (lambda name: print(f"  characterizing {name} (Yosys, once)", flush=True)) if progress else None
    est = Estimator(reuse_factor=rf, progress=say)
    fused = est.estimate(layers)
    exact_layers = copy.deepcopy(layers)
    for layer in exact_layers:
        if layer.macs:
            layer.multiplier = "exact"
    baseline = est.estimate(exact_layers)
    t = fused.totals
    unfused_quant = t["energy_quantization_unfused"]
    notes = sorted({n for r in fused.rows for n in r.get("notes", [])})
    rel = {k: (fused.totals[k] / baseline.totals[k] if baseline.totals[k] else None) for k in ("luts", "energy")}
    return {
        "target": source, "scheme_family": family, "reuse_factor": rf,
        "layers": fused.rows, "totals": fused.totals,
        "unfused_totals": {"energy": round(t["energy"] - t["energy_quantization"] + unfused_quant, 1),
                           "energy_quantization": unfused_quant},
        "baseline": {"what": "same network, exact multipliers", **{k: baseline.totals[k] for k in ("luts", "energy", "dsp")}},
        "relative_to_baseline": rel,
        "notes": notes,
        "units": {"energy": "gate toggles per inference (unit-capacitance switching proxy, as the multiplier library)",
                  "luts": "Yosys synth_xilinx LUTs (no DSP); dsp: DSP48 count when multipliers may use DSPs"},
    }


def plot_cost(report: dict, path) -> Path:
    """Stacked bars per layer: where the energy and the LUTs go."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["layers"]
    names = [r["layer"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.2 * len(rows) + 4), 4.5))
    colors = {"multipliers": "#4c72b0", "adders": "#55a868", "quantization": "#c44e52", "memory": "#8172b2"}
    for ax, what, label in ((axes[0], "energy", "energy proxy (gate toggles / inference)"), (axes[1], "luts", "LUTs")):
        bottom = [0.0] * len(rows)
        for cat in CATEGORIES:
            vals = [r[f"{what}_{cat}"] for r in rows]
            ax.bar(names, vals, bottom=bottom, label=cat, color=colors[cat])
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_ylabel(label)
        ax.tick_params(axis="x", rotation=45)
    axes[0].legend()
    t = report["totals"]
    fig.suptitle(f"{Path(report['target']).name}: {t['energy']:.3g} toggles, {t['luts']:.0f} LUTs "
                 f"({report['relative_to_baseline']['energy']:.2f}x / {report['relative_to_baseline']['luts']:.2f}x "
                 f"of exact multipliers)")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = ["estimate_cost", "plot_cost", "count_ir", "Estimator"]
