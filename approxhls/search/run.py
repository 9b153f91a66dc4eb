"""``approxhls search``: the whole ALWANN flow, from a trained model to a Pareto front of plans, as named steps:
data -> baseline -> search -> re-evaluation -> intervals -> files and plot."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from approxhls.multipliers.registry import EXACT_REFERENCES
from approxhls.search.accelerators import DataflowAccelerator, TiledAccelerator
from approxhls.search.checkpoint import Checkpoint, SearchInterrupted, checkpoint_path, fingerprint
from approxhls.search.choice import best_within
from approxhls.search.costmodel import EXACT, CostModel
from approxhls.search.evaluator import Evaluator, Fitness
from approxhls.search.front import plan_of, reevaluate, with_intervals
from approxhls.search.options import SearchOptions, check, cost_objectives, result_options
from approxhls.search.output import check_target, discard_checkpoint, publish
from approxhls.search.problem import max_wrong
from approxhls.stats import wilson_interval

__all__ = ["SearchOptions", "SearchInterrupted", "best_within", "max_wrong", "run_search"]


@dataclass
class Prepared:
    """A model ready to search: its IR, layers, candidates and prices, the images, the evaluator."""

    model: str
    dataset: str
    layers: list
    candidates: dict
    catalog: dict
    notes: list
    cost: object
    accel: object
    evaluator: Evaluator


@dataclass
class Baseline:
    """The exact network on every split."""

    calib: float
    val: float | None
    test_correct: np.ndarray
    luts: int  # the exact plan's arithmetic LUTs, multipliers in LUTs (the lut_fabric baseline)


@dataclass
class Found:
    """What NSGA-II found: the genes of its final front, the fitness (cache and count), the pool's statistics."""

    X: np.ndarray
    fitness: Fitness
    seconds: float
    parallel: str
    reuse: float


def _accelerator(opts: SearchOptions, candidates: dict[str, list[str]], layers: list[str]):
    if not opts.tiles:
        return DataflowAccelerator(layers, candidates)
    mapped = [layer for layer in layers if len(candidates[layer]) > 1]
    shared = [m for m in candidates[layers[0]] if all(m in candidates[layer] for layer in mapped)]
    fixed = [layer for layer in layers if len(candidates[layer]) == 1]
    return TiledAccelerator(mapped, shared, opts.tiles, fixed_exact=fixed)


def load(model_path, opts: SearchOptions) -> Prepared:
    """Step 1, data: the model, its dataset's splits, candidates, prices and the evaluator."""
    from approxhls.models.datasets import load_dataset
    from approxhls.models.modelio import load_model, load_train_info
    from approxhls.search.network import prepare
    from approxhls.sim.emulator import Emulator

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
    hist = Emulator(ir).input_histograms(data.x_calib) if (opts.tune or opts.compensate) else {}
    evaluator = Evaluator(ir, data, hist, opts.uniform_tuning, opts.compensate)
    return Prepared(str(model_path), ds.name, layers, candidates, catalog, notes, cost, accel, evaluator)


def baseline(p: Prepared) -> Baseline:
    """Step 2: the exact network's accuracy on calibration, validation and (per image) test images, and its LUTs."""
    ev, exact = p.evaluator, {layer.name: EXACT for layer in p.layers}
    return Baseline(ev.accuracy(exact), ev.accuracy(exact, split="val") if len(ev.data.x_val) else None,
                    ev.correct(exact, split="test"), round(p.cost.plan_luts(exact, *_exact_tiles(p.accel))))


def _exact_tiles(accel) -> tuple:
    """(tiles, tile map) of the exact network on the accelerator: (None, None) in the dataflow."""
    d = accel.decode(accel.exact_genes())
    return d.tiles, d.tile_map


def search(p: Prepared, base: Baseline, opts: SearchOptions, checkpoint: Checkpoint, resume: bool) -> Found:
    """Step 3: NSGA-II, checkpointed after every generation."""
    from approxhls.search.nsga import run_nsga2
    from approxhls.search.pool import Pool
    from approxhls.search.problem import AlwannProblem

    if opts.max_loss is not None:  # candidates beyond the allowed loss stop as soon as that is certain
        p.evaluator.max_wrong = max_wrong(len(p.evaluator.data.y_calib), base.calib, opts.max_loss)
    pool = Pool(p.evaluator, opts.jobs, opts.scheduler)
    fitness = Fitness(pool, opts.tune)
    problem = AlwannProblem(p.accel, p.cost, fitness, base.calib, opts.max_loss, cost_objectives(opts))
    interrupted = True
    try:
        X, seconds = run_nsga2(problem, opts.pop, opts.gens, opts.seed, opts.progress, checkpoint, resume)
        interrupted = False
    finally:
        pool.close(cancel=interrupted)
    return Found(X, fitness, seconds, pool.kind, pool.reuse)


def result_of(p: Prepared, base: Baseline, found: Found, points: list[dict], opts: SearchOptions) -> dict:
    """Step 6a: pareto.json's content."""
    ev, cost = p.evaluator, p.cost
    data, evaluations = ev.data, found.fitness.evaluations
    return {
        "model": p.model,
        "dataset": p.dataset,
        "accelerator": p.accel.name,
        "tuned": opts.tune,
        "tuning_distribution": ("uniform" if opts.uniform_tuning else "calibration") if opts.tune else None,
        "compensated": opts.compensate,
        "exact": {"calib_accuracy": base.calib, "val_accuracy": base.val,
                  "test_accuracy": float(base.test_correct.mean()),
                  "test_accuracy_ci95": list(wilson_interval(int(base.test_correct.sum()), len(base.test_correct))),
                  "luts": int(base.luts), "relative_luts": base.luts / cost.cheapest_baseline(opts.tiles).luts},
        "protocol": {"calibration": int(len(data.x_calib)), "validation": int(len(data.x_val)),
                     "validation_source": data.val_source, "test": int(len(data.x_test)),
                     "fitness": "calibration accuracy", "choice": "validation accuracy",
                     "reported": "test accuracy, Wilson 95% interval; loss: paired 95% interval"},
        "layers": [{"name": layer.name, "macs": layer.macs, "multipliers": cost.instances[layer.name],
                    "candidates": len(p.candidates[layer.name]) - 1} for layer in p.layers],
        "objective": opts.objective,
        "cost_model": {"instances": "ceil(weights / reuse factor) per layer (approxhls.cost)",
                       "reuse_factor": cost.reuse_factor, "tile_size": cost.tile_size if opts.tiles else None,
                       "energy": "multiplications only, gate-toggle proxy, relative to the all-exact network",
                       "luts": "arithmetic as built, relative to the cheapest exact baseline",
                       "baselines": [b.to_json() for b in cost.exact_baselines(opts.tiles)],
                       "cheapest": cost.cheapest_baseline(opts.tiles).name},
        "candidates": {"selection": opts.candidates,
                       "designs": sorted(n for n in p.catalog if n not in EXACT_REFERENCES), "left_out": p.notes},
        "search": {"pop": opts.pop, "gens": opts.gens, "evaluations": evaluations,
                   "seconds": round(found.seconds, 1), "evals_per_s": round(evaluations / found.seconds, 2),
                   "calibration_samples": int(len(data.x_calib)), "test_samples": int(len(data.x_test)),
                   "parallel": found.parallel, "max_loss": opts.max_loss,
                   "prefix_reuse": round(found.reuse, 3), "stopped_infeasible": found.fitness.pool.stopped,
                   "stopping": ("an evaluation stops once the candidate has more wrong calibration answers than "
                                "--max-loss allows; its calibration accuracy is then an upper bound")
                   if opts.max_loss is not None else None},
        "points": points,
    }


def retrain(p: Prepared, base: Baseline, result: dict, plans: dict, opts: SearchOptions, model_path):
    """Step 6b, with --retrain: front points fine-tuned and the choice on validation (in ``result``); returns what
    writes the retrained models, or None."""
    if not opts.retrain:
        return None
    from approxhls.search.options import SearchOptionError
    from approxhls.search.retraining import retrain_front

    if base.val is None:
        raise SearchOptionError("--retrain chooses on validation images, and this search has none (give --val)")
    return retrain_front(p, base, result, plans, opts, model_path).write


@contextlib.contextmanager
def _interrupt_message(out: Path, checkpoint: Checkpoint, gens: int):
    """Ctrl-C becomes :class:`SearchInterrupted`, whose one-line message says what was saved and how to go on."""
    try:
        yield
    except SearchInterrupted:
        raise
    except KeyboardInterrupt:
        done = checkpoint.generation()
        if done is None:
            raise SearchInterrupted(f"search interrupted before its first generation was complete; nothing was "
                                    f"saved, {out} is unchanged") from None
        raise SearchInterrupted(f"search interrupted after generation {done} of {gens}; its state is in "
                                f"{checkpoint.path}: run the same command with --resume to continue") from None


def run_search(model_path, out_dir, opts: SearchOptions, overwrite: bool = False, resume: bool = False) -> dict:
    """Searches ``model_path``'s multipliers and writes the front to ``out_dir`` (pareto.json, pareto.png,
    plans/). An existing ``out_dir`` is refused unless ``overwrite`` (it is then replaced when the new results are
    complete); ``resume`` continues the search interrupted there, with the same options, as it would have run on."""
    check(opts)
    check_target(out_dir, model_path, overwrite, resume)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    if overwrite:
        discard_checkpoint(out)
    checkpoint = Checkpoint(checkpoint_path(out), result_options(opts))
    if resume:
        checkpoint.read()  # other options: refused before any work
    with _interrupt_message(out, checkpoint, opts.gens):
        p = load(model_path, opts)
        checkpoint.data = fingerprint(p.evaluator.ir, p.evaluator.data)
        if resume:
            checkpoint.read()  # another network or other images: refused before the search
        base = baseline(p)
        found = search(p, base, opts, checkpoint, resume)
        measured = reevaluate(found.X, p.evaluator, found.fitness, p.cost, p.accel, opts)
        points = with_intervals(measured, base.test_correct, opts.objective)
        result = result_of(p, base, found, points, opts)
        plans = {pt["plan_file"]: plan_of(pt, p.evaluator, opts) for pt in points}
        publish(out, result, plans, retrain(p, base, result, plans, opts, model_path))
    return result
