"""``approxhls cost``: the workflow behind the command, and the text it prints.

For a converted project (or a trained model, converted in memory): per layer, what its multipliers, adders,
quantization and memory cost (LUTs as the architecture builds them, the gate-toggle energy proxy), the plan's
arithmetic against the exact baselines (LUT fabric, DSP48, distributed arithmetic) and the cheapest of them, the
whole-accelerator estimate (LUT, FF, DSP, BRAM18, latency, II) and whether it fits the board.
"""

from __future__ import annotations

import copy
from pathlib import Path

from approxhls.cost import architecture as arch
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
    return ir, assignments, scheme.get("family"), scheme.get("weight_bits"), bn, meta, str(prj)


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
    opts = ConvertOptions()
    g = build_graph(model, opts, info, plan)
    bn = {layer.name for layer in g.hls_model.get_layers() if layer.class_name == "Conv2DBatchnorm"}
    meta = {"io_type": opts.io_type, "strategy": opts.strategy, "reuse_factor": opts.reuse_factor,
            "clock_period_ns": opts.clock_period}
    return g.ir, g.assignments, family, code_bits, bn, meta, str(src)


def _load(target: Path, plan, weights):
    """(ir, assignments, scheme family, trained weight bits, batch-norm-fused layers, metadata, source)."""
    if (target / "approxhls.json").exists():
        return _from_project(target, plan)
    return _from_model(target, plan, weights)


def _with_exact_multipliers(counts: list) -> list:
    exact_counts = copy.deepcopy(counts)
    for c in exact_counts:
        if c.macs:
            c.multiplier = arch.EXACT
    return exact_counts


def _relative(totals: dict, baseline: dict) -> dict:
    """The plan's LUTs and energies as fractions of the same network with exact multipliers (None where 0)."""
    return {k: (totals[k] / baseline[k] if baseline[k] else None) for k in ("luts", "energy", "energy_multipliers")}


def _arithmetic(counts: list, plan_names: dict, est: Estimator, rf: int, board: str, progress: bool) -> dict:
    """The plan's arithmetic (multipliers and adders) against the exact options and the cheapest of them."""
    from approxhls.cost.baselines import board_dsps, exact_baselines, plan_luts

    layers = [arch.Layer.from_count(c) for c in counts if c.macs]
    catalog = est.flat_catalog()
    bases = exact_baselines(layers, catalog, rf, board_dsps(board), progress=progress)
    best = arch.cheapest(bases)
    plan_arith = plan_luts(layers, plan_names, catalog, rf, progress=progress)
    return {"plan_luts": round(plan_arith), "baselines": [b.to_json() for b in bases],
            "cheapest": best.name, "cheapest_text": arch.BASELINE_TEXT[best.name],
            "saving_vs_cheapest": arch.saving(plan_arith, best), "board": board}


def _accelerator(ir, counts: list, meta: dict, rf: int, plan_names: dict, progress: bool) -> dict:
    from approxhls.cost.accelerator import Config, estimate_accelerator

    cfg = Config(meta.get("io_type", "io_parallel"), meta.get("strategy", "latency"), rf,
                 float(meta.get("clock_period_ns", 10.0)), {k: v for k, v in plan_names.items() if not arch.is_exact(v)},
                 progress)
    return estimate_accelerator(ir, cfg, {c.name: c for c in counts if c.macs})


def _characterizing(progress: bool):
    return (lambda name: print(f"  characterizing {name} (Yosys, once)", flush=True)) if progress else None


def estimate_cost(target, plan=None, progress: bool = True, weights=None, board: str = "pynq-z2") -> dict:
    """The cost report of ``target`` (a converted project or a Keras model) with the plan's multipliers."""
    from approxhls.cost.boards import fit

    ir, assignments, family, code_bits, bn, meta, source = _load(Path(target), plan, weights)
    rf = int(meta.get("reuse_factor", 1))
    counts = count_ir(ir, assignments, family, bn, code_bits)
    est = Estimator(reuse_factor=rf, progress=_characterizing(progress), bars=progress)
    fused = est.estimate(counts)
    baseline_net = est.estimate(_with_exact_multipliers(counts))
    t = fused.totals
    rel = _relative(t, baseline_net.totals)
    plan_names = {c.name: c.multiplier for c in counts if c.macs}
    arithmetic = _arithmetic(counts, plan_names, est, rf, board, progress)
    acc = _accelerator(ir, counts, meta, rf, plan_names, progress)
    return {
        "target": source, "scheme_family": family, "reuse_factor": rf,
        "architecture": est.architecture,
        "layers": fused.rows, "totals": t,
        "unfused_totals": {"energy": round(t["energy"] - t["energy_quantization"] + t["energy_quantization_unfused"], 1),
                           "energy_quantization": t["energy_quantization_unfused"]},
        "baseline": {"what": "same network, exact multipliers in LUTs",
                     **{k: baseline_net.totals[k] for k in ("luts", "energy", "energy_multipliers", "dsp")}},
        "relative_to_baseline": rel,
        "arithmetic": arithmetic,
        "energy": {"proxy": arch.ENERGY_PROXY, "total": t["energy"], "multiplications": t["energy_multipliers"],
                   "relative_total": rel["energy"], "relative_multiplications": rel["energy_multipliers"]},
        "accelerator": acc,
        "fit": fit(acc, board),
        "notes": sorted({n for r in fused.rows for n in r.get("notes", [])}),
        "units": {"energy": "gate toggles per inference (" + arch.ENERGY_PROXY + "; unit capacitance)",
                  "luts": "Yosys synth_xilinx -nodsp LUTs, multipliers as the architecture builds them "
                          "(constant weights at reuse factor 1)"},
    }


LAYER_COLUMNS = ["layer", "op", "macs", "multiplier", "quant_kind", "quant_ops_unfused", "quant_ops_bn_folded",
                 "quant_ops_fused", "memory_bits", "luts_multipliers", "luts_adders", "luts_quantization",
                 "luts_memory", "energy_multipliers", "energy_adders", "energy_quantization", "energy_memory",
                 "hls4ml_emits"]


def format_report(rep: dict) -> str:
    """What ``approxhls cost`` prints."""
    from approxhls.cost.boards import fit_text
    from approxhls.report import format_table

    t, rel, ar, acc = rep["totals"], rep["relative_to_baseline"], rep["arithmetic"], rep["accelerator"]
    lines = [format_table(rep["layers"], LAYER_COLUMNS), ""]
    lines.append(f"architecture: {rep['architecture']} (reuse factor {rep['reuse_factor']}); LUTs {t['luts']:.0f} "
                 f"({rel['luts']:.3f}x of the same network with exact multipliers in LUTs)")
    bases = ", ".join(f"{b['name']} {b['luts']:,} LUTs" + (f" + {b['dsp']} DSP" if b["dsp"] else "")
                      if b["available"] else f"{b['name']} unavailable ({b['note'][:60]}...)" for b in ar["baselines"])
    s = ar["saving_vs_cheapest"]
    lines.append(f"arithmetic (multipliers + adders): plan {ar['plan_luts']:,} LUTs; exact baselines: {bases}; "
                 f"against the cheapest ({ar['cheapest']}: {ar['cheapest_text']}): "
                 + (f"{100 * s:+.1f}% saved" if s is not None and s >= 0 else
                    f"{-100 * s:.1f}% MORE" if s is not None else "n/a"))
    e = rep["energy"]
    lines.append(f"energy ({e['proxy']}): total {e['total']:.4g} toggles/inference ({e['relative_total']:.3f}x of "
                 f"exact), multiplications only {e['multiplications']:.4g} ({e['relative_multiplications']:.3f}x)")
    shares = {k: t[f"energy_{k}"] / t["energy"] for k in CATEGORIES} if t["energy"] else {}
    lines.append("energy shares: " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items()))
    lines.append(f"quantization ops {t['quant_ops_fused']:.0f} fused vs {t['quant_ops_unfused']:.0f} unfused "
                 f"({t['quant_ops_bn_folded']:.0f} with batch-norm folded); without unified modules the energy would "
                 f"be {rep['unfused_totals']['energy']:.4g}")
    lines.append(f"whole accelerator (estimate, {acc['io_type']}, {acc['strategy']}): LUT {acc['lut']:,}, FF {acc['ff']:,}, "
                 f"DSP {acc['dsp']}, BRAM18 {acc['bram18']}, latency {acc['latency_cycles']} cycles "
                 f"({acc['latency_ns']:.0f} ns at {acc['clock_ns']:g} ns), II {acc['ii']}")
    lines.append(fit_text(rep["fit"]) + " (with the overlay's DMA and interconnect)")
    lines += [f"note: {n}" for n in rep["notes"]]
    return "\n".join(lines)


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


def price_plan(model_path, plan: dict, tiles: list | None = None, tile_map: dict | None = None,
               tile_size: int | None = None, reuse_factor: int = 1, board: str = "pynq-z2", weights=None,
               progress: bool = False) -> dict:
    """A search point's arithmetic as built, against the exact baselines of the same architecture: the dataflow
    (``tiles`` None) or ALWANN's tiles. {"architecture", "plan_luts", "baselines", "cheapest", "saving_vs_cheapest"}."""
    from approxhls.cost.baselines import board_dsps, exact_baselines, plan_luts
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.models.modelio import load_model, load_train_info

    info = load_train_info(model_path, weights)
    g = build_graph(load_model(model_path, weights), ConvertOptions(reuse_factor=reuse_factor), info)
    layers = [arch.Layer.from_count(c) for c in count_ir(g.ir) if c.macs]
    est = Estimator(reuse_factor=reuse_factor, bars=progress)
    catalog = est.flat_catalog()
    size = tile_size or max((ly.weights for ly in layers), default=1)
    luts = plan_luts(layers, plan, catalog, reuse_factor, tiles, tile_map, size, progress)
    bases = exact_baselines(layers, catalog, reuse_factor, board_dsps(board), len(tiles) if tiles else None, size,
                            progress)
    best = arch.cheapest(bases)
    return {"architecture": f"tiles-{len(tiles)}" if tiles else ("dataflow" if reuse_factor == 1 else "reuse"),
            "plan_luts": round(luts), "baselines": [b.to_json() for b in bases], "cheapest": best.name,
            "saving_vs_cheapest": arch.saving(luts, best), "board": board}
