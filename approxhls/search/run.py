"""``approxhls search``: the whole ALWANN flow, from a trained model to a Pareto front of plans."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from approxhls.hls.plan import Plan
from approxhls.multipliers.registry import EXACT_REFERENCES
from approxhls.report import write_json
from approxhls.search.accelerators import DataflowAccelerator, TiledAccelerator
from approxhls.search.costmodel import EXACT, CostModel
from approxhls.search.evaluator import Evaluator, Pool
from approxhls.stats import paired_difference_interval, wilson_interval


@dataclass
class SearchOptions:
    dataset: str | None = None
    tiles: int | None = None  # None: hls4ml's dataflow (one multiplier per layer)
    pop: int = 24
    gens: int = 12
    tune: bool = False
    uniform_tuning: bool = False
    calib: int = 1000
    val: int = 2000  # validation samples (choosing points), held out from training where train.json says
    compensate: bool = False  # bias compensation of each approximate layer's expected error
    max_loss: float | None = None  # accuracy loss allowed, as a fraction (0.005 = 0.5 pp)
    with_luts: bool = False
    jobs: int = 1
    scheduler: str | None = None
    seed: int = 0
    reuse_factor: int = 1
    tile_size: int | None = None  # multipliers per tile; None: the largest mapped layer's instances
    test_limit: int | None = None
    candidates: str = "builtin"  # builtin, user, all, or NAME,NAME,...
    weights: str | None = None   # weights file of a model given as JSON
    progress: bool = True


def _accelerator(opts: SearchOptions, candidates: dict[str, list[str]], layers: list[str]):
    if not opts.tiles:
        return DataflowAccelerator(layers, candidates)
    shared = candidates[layers[0]]
    for layer in layers[1:]:
        shared = [m for m in shared if m in candidates[layer]] if len(candidates[layer]) > 1 else shared
    mapped = [layer for layer in layers if len(candidates[layer]) > 1]
    fixed = [layer for layer in layers if len(candidates[layer]) == 1]
    return TiledAccelerator(mapped, shared, opts.tiles, fixed_exact=fixed)


def run_search(model_path, out_dir, opts: SearchOptions) -> dict:
    from approxhls.models.datasets import load_dataset
    from approxhls.models.modelio import load_model, load_train_info
    from approxhls.plots import plot_pareto
    from approxhls.search.network import prepare

    out = Path(out_dir)
    (out / "plans").mkdir(parents=True, exist_ok=True)
    model, info = load_model(model_path, opts.weights), load_train_info(model_path, opts.weights)
    ds = load_dataset(opts.dataset or info.get("dataset_spec") or info.get("dataset") or "digits",
                      grid=info.get("input_grid", "ap_ufixed<8,0>")).limit(opts.test_limit)
    ir, layers, candidates, catalog, data, notes = prepare(model, ds, opts.calib, opts.seed, opts.reuse_factor,
                                                           candidates=opts.candidates, val=opts.val,
                                                           fit_samples=info.get("fit_samples"))
    names = [layer.name for layer in layers]
    cost = CostModel(layers, catalog, opts.reuse_factor, opts.tile_size)
    accel = _accelerator(opts, candidates, names)
    if opts.tiles and not opts.tile_size:  # a tile runs any layer mapped onto it at the same reuse factor
        cost.tile_size = max(cost.instances[layer] for layer in accel.layers)

    from approxhls.sim.emulator import Emulator

    hist = Emulator(ir).input_histograms(data.x_calib) if (opts.tune or opts.compensate) else {}
    evaluator = Evaluator(ir, data, hist, opts.uniform_tuning, opts.compensate)
    exact = {layer: EXACT for layer in names}
    exact_calib = evaluator.accuracy(exact)
    exact_val = evaluator.accuracy(exact, split="val") if len(data.x_val) else None
    exact_correct = evaluator.correct(exact, split="test")
    exact_test = float(exact_correct.mean())

    from approxhls.search.nsga import run_nsga2

    if opts.max_loss is not None:  # candidates beyond the allowed loss stop as soon as that is certain
        evaluator.max_wrong = max_wrong(len(data.y_calib), exact_calib, opts.max_loss)
    pool = Pool(evaluator, opts.jobs, opts.scheduler)
    try:
        X, problem, seconds = run_nsga2(accel, cost, pool, exact_calib, opts.pop, opts.gens, opts.tune,
                                        opts.max_loss, opts.with_luts, opts.seed, opts.progress)
    finally:
        pool.close()
    exact_luts = accel.luts(cost, accel.decode(accel.exact_genes()))
    points = []
    seen = set()
    for genes in X:
        d = accel.decode(genes)
        key = tuple(sorted(d.assignment.items()))
        if key in seen:
            continue
        seen.add(key)
        correct = evaluator.correct(d.assignment, opts.tune, split="test")
        loss, lo, hi = paired_difference_interval(exact_correct, correct)
        p = {
            "plan": d.assignment,
            "tiles": d.tiles,
            "tile_map": d.tile_map,
            "calib_accuracy": problem.seen.get(key),
            "val_accuracy": evaluator.accuracy(d.assignment, opts.tune, split="val") if exact_val is not None else None,
            "test_accuracy": float(correct.mean()),
            "test_accuracy_ci95": list(wilson_interval(int(correct.sum()), len(correct))),
            "test_loss_ci95": [lo, hi],  # exact minus this point, paired over the same test images
            "relative_energy": cost.relative_energy(d.assignment),
            "luts": int(accel.luts(cost, d)),
        }
        p["relative_luts"] = p["luts"] / exact_luts if exact_luts else None
        # the effect of tuning / compensation on the same plans, on the split points are chosen on (cheaper than
        # the test set, and it keeps the test set for reporting chosen points)
        effect = "val" if exact_val is not None else "test"
        if opts.tune:
            p[f"{effect}_accuracy_untuned"] = evaluator.accuracy(d.assignment, False, split=effect, compensate=False)
        if opts.compensate:
            p[f"{effect}_accuracy_uncompensated"] = evaluator.accuracy(d.assignment, opts.tune, split=effect,
                                                                       compensate=False)
        points.append(p)
    points.sort(key=lambda p: p["relative_energy"])
    for i, p in enumerate(points):
        tuned = {layer: {a: b for a, b in evaluator.tuned_weights(layer, m)[1].items() if a != b}
                 for layer, m in p["plan"].items() if m != EXACT} if opts.tune else {}
        offsets = {}
        if opts.compensate:
            for layer, m in p["plan"].items():
                o = evaluator.bias_offsets(layer, m, opts.tune) if m != EXACT else None
                if o is not None and o.any():
                    offsets[layer] = [int(v) for v in o]
        p["plan_file"] = f"plans/point_{i:02d}.json"
        Plan(EXACT, {k: v for k, v in p["plan"].items() if v != EXACT}, tuned, offsets).save(out / p["plan_file"])
    result = {
        "model": str(model_path),
        "dataset": ds.name,
        "accelerator": accel.name,
        "tuned": opts.tune,
        "tuning_distribution": ("uniform" if opts.uniform_tuning else "calibration") if opts.tune else None,
        "compensated": opts.compensate,
        "exact": {"calib_accuracy": exact_calib, "val_accuracy": exact_val, "test_accuracy": exact_test,
                  "test_accuracy_ci95": list(wilson_interval(int(exact_correct.sum()), len(exact_correct))),
                  "luts": int(exact_luts)},
        "protocol": {"calibration": int(len(data.x_calib)), "validation": int(len(data.x_val)),
                     "validation_source": data.val_source, "test": int(len(data.x_test)),
                     "fitness": "calibration accuracy", "choice": "validation accuracy",
                     "reported": "test accuracy, Wilson 95% interval; loss: paired 95% interval"},
        "layers": [{"name": layer.name, "macs": layer.macs, "multipliers": cost.instances[layer.name],
                    "candidates": len(candidates[layer.name]) - 1} for layer in layers],
        "cost_model": {"instances": "ceil(weights / reuse factor) per layer (approxhls.cost)",
                       "reuse_factor": cost.reuse_factor, "tile_size": cost.tile_size if opts.tiles else None},
        "candidates": {"selection": opts.candidates, "designs": sorted(n for n in catalog if n not in EXACT_REFERENCES),
                       "left_out": notes},
        "search": {"pop": opts.pop, "gens": opts.gens, "evaluations": problem.evaluations,
                   "seconds": round(seconds, 1), "evals_per_s": round(problem.evaluations / seconds, 2),
                   "calibration_samples": int(len(data.x_calib)), "test_samples": int(len(data.x_test)),
                   "parallel": pool.kind, "max_loss": opts.max_loss,
                   "prefix_reuse": round(pool.reuse, 3), "stopped_infeasible": pool.stopped,
                   "stopping": ("an evaluation stops once the candidate has more wrong calibration answers than "
                                "--max-loss allows; its calibration accuracy is then an upper bound")
                   if opts.max_loss is not None else None},
        "points": points,
    }
    write_json(out / "pareto.json", result)
    plot_pareto(result, out / "pareto.png")
    return result


def max_wrong(n: int, exact_accuracy: float, max_loss: float) -> int:
    """The most wrong answers out of ``n`` that keep a candidate feasible, by the same float test as the search's
    constraint ((exact - accuracy) - max_loss <= 0, accuracy = 1 - wrong / n)."""
    def feasible(w: int) -> bool:
        return (exact_accuracy - (1 - w / n)) - max_loss <= 0

    w = min(n, max(-1, math.floor(n * (1 - exact_accuracy + max_loss))))
    while w + 1 <= n and feasible(w + 1):
        w += 1
    while w >= 0 and not feasible(w):
        w -= 1
    return w


def best_within(result: dict, max_loss: float, split: str = "val") -> dict | None:
    """The lowest-energy front point whose accuracy on ``split`` (validation: the test set only reports) is within
    ``max_loss`` of the exact network's; results without a validation split fall back to calibration."""
    key = f"{split}_accuracy"
    if result["exact"].get(key) is None:
        key = "calib_accuracy"
    ok = [p for p in result["points"]
          if p.get(key) is not None and result["exact"][key] - p[key] <= max_loss + 1e-12]
    return min(ok, key=lambda p: p["relative_energy"]) if ok else None

