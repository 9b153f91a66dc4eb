"""The front NSGA-II found, measured for the report: each distinct candidate on the test set (reporting) and the
validation set (choosing), the effect of tuning and compensation on the same plans, 95% intervals, and the plan
file of each point."""

from __future__ import annotations

import numpy as np

from approxhls.search.costmodel import EXACT
from approxhls.search.evaluator import assignment_key
from approxhls.search.options import OBJECTIVES
from approxhls.stats import paired_difference_interval, wilson_interval


def front_candidates(X: np.ndarray, accel) -> list:
    """The distinct candidates (decoded) among the genes of the final non-dominated set, in NSGA-II's order."""
    seen, out = set(), []
    for genes in X:
        d = accel.decode(genes)
        key = assignment_key(d.assignment)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def measure(d, evaluator, fitness, cost, opts) -> tuple[dict, np.ndarray]:
    """(the point of one candidate: plan, accuracies, cost; its per-image test outcomes)."""
    has_val = evaluator.data.x_val is not None and len(evaluator.data.x_val) > 0
    correct = evaluator.correct(d.assignment, opts.tune, split="test")
    p = {
        "plan": d.assignment,
        "tiles": d.tiles,
        "tile_map": d.tile_map,
        "calib_accuracy": fitness.get(d.assignment),
        "val_accuracy": evaluator.accuracy(d.assignment, opts.tune, split="val") if has_val else None,
        "test_accuracy": float(correct.mean()),
        "relative_energy": cost.relative_energy(d.assignment),
        "luts": round(cost.plan_luts(d.assignment, d.tiles, d.tile_map)),  # the arithmetic as built
        "relative_luts": cost.relative_luts(d.assignment, d.tiles, d.tile_map),  # over the cheapest exact baseline
    }
    p |= effects(d.assignment, evaluator, opts, "val" if has_val else "test")
    return p, correct


def effects(assignment: dict[str, str], evaluator, opts, split: str) -> dict:
    """Accuracy of the same plan without tuning and without compensation, on the split points are chosen on
    (cheaper than the test set, and it keeps the test set for reporting chosen points)."""
    out = {}
    if opts.tune:
        out[f"{split}_accuracy_untuned"] = evaluator.accuracy(assignment, False, split=split, compensate=False)
    if opts.compensate:
        out[f"{split}_accuracy_uncompensated"] = evaluator.accuracy(assignment, opts.tune, split=split,
                                                                    compensate=False)
    return out


def add_intervals(point: dict, correct: np.ndarray, exact_correct: np.ndarray) -> None:
    """The point's test accuracy (Wilson) and its loss against the exact network, paired over the same test images,
    as 95% intervals."""
    _, lo, hi = paired_difference_interval(exact_correct, correct)
    point["test_accuracy_ci95"] = list(wilson_interval(int(correct.sum()), len(correct)))
    point["test_loss_ci95"] = [lo, hi]  # exact minus this point


def plan_of(point: dict, evaluator, opts):
    """The deployable plan of a point: its multipliers, tuned weight codes and bias offsets."""
    from approxhls.hls.plan import Plan

    approximate = {layer: m for layer, m in point["plan"].items() if m != EXACT}
    tuned = {layer: {a: b for a, b in evaluator.tuned_weights(layer, m)[1].items() if a != b}
             for layer, m in approximate.items()} if opts.tune else {}
    return Plan(EXACT, approximate, tuned, _offsets(approximate, evaluator, opts.tune) if opts.compensate else {})


def _offsets(approximate: dict[str, str], evaluator, tuned: bool) -> dict[str, list[int]]:
    """Per approximate layer with a nonzero bias compensation, its offsets."""
    out = {}
    for layer, m in approximate.items():
        o = evaluator.bias_offsets(layer, m, tuned)
        if o is not None and o.any():
            out[layer] = [int(v) for v in o]
    return out


def reevaluate(X, evaluator, fitness, cost, accel, opts) -> list[tuple[dict, np.ndarray]]:
    """Every distinct candidate of the front measured: (point, per-image test outcomes)."""
    return [measure(d, evaluator, fitness, cost, opts) for d in front_candidates(X, accel)]


def with_intervals(measured: list[tuple[dict, np.ndarray]], exact_correct: np.ndarray,
                   objective: str = "energy") -> list[dict]:
    """The points with their intervals, cheapest first by the search's objective, each named by its plan file."""
    for p, correct in measured:
        add_intervals(p, correct, exact_correct)
    points = sorted((p for p, _ in measured), key=lambda p: p[OBJECTIVES[objective]])
    for i, p in enumerate(points):
        p["plan_file"] = f"plans/point_{i:02d}.json"
    return points
