"""ALWANN experiment: Fashion-MNIST, the zoo's cnn and resnet8 at 8 bits, per-layer multipliers (hls4ml's
dataflow) and 2 tiles (ALWANN's accelerator), weight tuning and bias compensation, no retraining.

Protocol: NSGA-II fitness on calibration images from the fitted part of the training split; the point reported
per row is the lowest-energy one within 0.5 pp of the exact network on a validation split that training held out
(train.json: fit_samples); that point is then measured on the full 10,000-image test set, with the loss's paired
95% interval. The effect of compensation and tuning is measured on the same plans (validation split).

Trains the models first when MODELDIR/{cnn,resnet8} do not exist. Prints a table, writes bench/results/alwann.json
(``--quick``: a smoke run written to bench/results/quick/ so it never replaces the real data).

    .venv/bin/python bench/alwann.py --models runs/alwann [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from render_results import results_path  # bench/, this script's directory

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

GOAL_SAVING, GOAL_LOSS = 0.45, 0.005  # resnet8: >= 45% multiplication energy saved at <= 0.5 pp test loss
FULL_SCALE = 50 * 50  # pop 50 x 50 generations: the evaluations the search-at-scale goal asks for
TRAIN = {"cnn": dict(epochs=6), "resnet8": dict(epochs=3, limit_train=30000)}
# (tiles, tune, compensate, max_loss, full scale); tiles must be fewer than the layers: the cnn has 3, resnet8 9
# plannable. The next resnet8 searches repeat the first two with a 2 pp calibration-loss constraint: NSGA-II keeps to the
# region the choice looks at, and infeasible candidates stop early. The last one is the search-at-scale goal itself,
# pop 50 x 50 generations, timed (about an hour on 2 cores)
CONFIGS = {"cnn": [(None, True, False, None, False), (None, True, True, None, False), (2, True, True, None, False)],
           "resnet8": [(None, True, True, None, False), (2, True, True, None, False), (None, True, True, 0.02, False),
                       (2, True, True, 0.02, False), (None, True, True, None, True)]}
FULL_POP = FULL_GENS = 50


def label_of(name: str, tiles: int | None, tune: bool, comp: bool, max_loss_pp: float | None, full: bool = False) -> str:
    return (f"{name}_{'dataflow' if tiles is None else f'tiles{tiles}'}_{'tuned' if tune else 'plain'}"
            f"{'_compensated' if comp else ''}{'' if max_loss_pp is None else f'_maxloss{max_loss_pp:g}'}"
            f"{f'_pop{FULL_POP}x{FULL_GENS}' if full else ''}")


def row_label(row: dict) -> str:
    tiles = None if row["accelerator"] == "dataflow" else int(row["accelerator"].split("-")[1])
    return label_of(row["model"], tiles, row["tuned"], row.get("compensated", False), row.get("max_loss_pp"),
                    is_full_scale(row))


def is_full_scale(row: dict) -> bool:
    return (row.get("pop"), row.get("gens")) == (FULL_POP, FULL_GENS)


def row_of(name: str, r: dict, tune: bool, comp: bool, wall: float, max_loss: float | None = None) -> dict:
    from approxhls.search.run import best_within

    best = best_within(r, GOAL_LOSS, split="val")
    proto, ex = r["protocol"], r["exact"]
    row = {"model": name, "accelerator": r["accelerator"], "tuned": tune, "compensated": comp,
           "exact_test_acc": ex["test_accuracy"], "exact_val_acc": ex["val_accuracy"],
           "sizes": f"{proto['calibration']} / {proto['validation']} / {proto['test']}",
           "calibration": proto["calibration"], "validation": proto["validation"], "test": proto["test"],
           "tile_size": r["cost_model"]["tile_size"], "evaluations": r["search"]["evaluations"],
           "search_s": r["search"]["seconds"], "evals_per_s": r["search"]["evals_per_s"],
           "prefix_reuse": r["search"]["prefix_reuse"], "wall_s": round(wall, 1),
           "max_loss_pp": None if max_loss is None else round(100 * max_loss, 2),
           "stopped_infeasible": r["search"].get("stopped_infeasible", 0),
           "pop": r["search"]["pop"], "gens": r["search"]["gens"], "front": len(r["points"]), "cores": os.cpu_count(),
           "code": code_version()}
    if best is None:
        return row | {"energy_saving_%": None}
    row |= architecture_cost(r, best)
    lo, hi = best["test_loss_ci95"]
    row |= {"best_rel_energy": round(best["relative_energy"], 3),
            "energy_saving_%": round(100 * (1 - best["relative_energy"]), 1),
            "val_loss_pp": round(100 * (ex["val_accuracy"] - best["val_accuracy"]), 2),
            "test_acc": best["test_accuracy"],
            "loss_pp": round(100 * (ex["test_accuracy"] - best["test_accuracy"]), 2),
            "loss_ci_pp": f"{100 * lo:+.2f} .. {100 * hi:+.2f}", "loss_ci95": [lo, hi], "plan": best["plan"],
            "val_acc": best["val_accuracy"], "val_acc_uncompensated": best.get("val_accuracy_uncompensated"),
            "val_acc_untuned": best.get("val_accuracy_untuned")}
    return row


def architecture_cost(r: dict, best: dict) -> dict:
    """The chosen point's arithmetic as built, against the cheapest exact baseline, in the row's architecture and in
    the other one: a tiled plan is also priced as a dataflow (each layer's design with its constant weights), a
    dataflow plan also on tiles of its layers' designs (approxhls.cost.report.price_plan)."""
    from approxhls.cost.report import price_plan

    model = r["model"]
    df = price_plan(model, best["plan"])
    out = {"dataflow_luts": df["plan_luts"], "dataflow_baseline": df["cheapest"],
           "dataflow_baseline_luts": next(b["luts"] for b in df["baselines"] if b["name"] == df["cheapest"]),
           "dataflow_lut_saving_%": None if df["saving_vs_cheapest"] is None else round(100 * df["saving_vs_cheapest"], 1),
           "dataflow_baselines": df["baselines"]}
    if best.get("tiles"):
        t = price_plan(model, best["plan"], best["tiles"], best["tile_map"], r["cost_model"]["tile_size"])
        out |= {"tiles_luts": t["plan_luts"], "tiles_baseline": t["cheapest"],
                "tiles_baseline_luts": next(b["luts"] for b in t["baselines"] if b["name"] == t["cheapest"]),
                "tiles_lut_saving_%": None if t["saving_vs_cheapest"] is None else round(100 * t["saving_vs_cheapest"], 1),
                "tiles_baselines": t["baselines"]}
    return out


def code_version() -> str | None:
    """The commit the timings were measured on (a row kept by --keep keeps its own), or None outside a git checkout."""
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).parent)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def search_name(r: dict) -> str:
    return (r["accelerator"] + (f", --max-loss {r['max_loss_pp']} pp" if r.get("max_loss_pp") else "")
            + (f", pop {FULL_POP} x {FULL_GENS}" if is_full_scale(r) else ""))


def _compensation_and_tuning(r: dict) -> list[str]:
    """What bias compensation and weight tuning changed on a row's chosen plan (validation accuracy)."""
    out = []
    if r.get("val_acc_uncompensated") is not None:
        gain = 100 * (r["val_acc"] - r["val_acc_uncompensated"])
        out.append(f"{r['model']} {search_name(r)}: on the chosen plan, bias compensation changes validation "
                   f"accuracy by {gain:+.2f} pp (same plan and tuned weights without offsets).")
    if r.get("val_acc_untuned") is not None:
        gain = 100 * (r["val_acc"] - r["val_acc_untuned"])
        what = "tuning and compensation change" if r["compensated"] else "tuning changes"
        out.append(f"{r['model']} {search_name(r)}: {what} validation accuracy of the chosen plan by "
                   f"{gain:+.2f} pp against the plain plan.")
    return out


def _saving_goal(r: dict) -> str:
    """Whether a resnet8 row's chosen point meets the saving-at-loss goal (and whether only its point estimate does)."""
    saved = r.get("energy_saving_%")
    met = saved is not None and saved >= 100 * GOAL_SAVING and r["loss_pp"] <= 100 * GOAL_LOSS
    at = "" if saved is None else f"{saved}% at {r['loss_pp']:.2f} pp (95% CI {r['loss_ci_pp']})"
    if met and r["loss_ci95"][1] > GOAL_LOSS:
        at += f"; met by the point estimate only: the interval reaches {100 * r['loss_ci95'][1]:.2f} pp"
    return (f"Goal (resnet8 {search_name(r)}: >= {100 * GOAL_SAVING:.0f}% saved at "
            f"<= {100 * GOAL_LOSS:.1f} pp test loss): {'met' if met else 'not met'}: "
            f"{at or 'no point within 0.5 pp on validation'}.")


def _search_time(r: dict, measured: bool) -> str | None:
    """A resnet8 row's search time at scale: measured for a full-scale row; else extrapolated, unless some row
    measured it (then the extrapolations are superseded and None)."""
    search = search_name(r)
    if is_full_scale(r):
        minutes = r["search_s"] / 60
        return (f"Search at scale (resnet8 {search} generations, {r['calibration']} calibration images, "
                f"{r.get('cores')} cores): {minutes:.1f} min measured for "
                f"{r['evaluations']} evaluations ({r['evals_per_s']} evaluations/s, prefix reuse "
                f"{100 * r['prefix_reuse']:.0f}%): {'met' if minutes <= 30 else 'not met'} (goal <= 30 min).")
    if measured:
        return None
    stopped = f" ({r['stopped_infeasible']} stopped early as infeasible)" if r.get("max_loss_pp") else ""
    minutes = FULL_SCALE / r["evals_per_s"] / 60 if r["evals_per_s"] else None
    return (f"Search at scale (resnet8 {search}, {r['calibration']} calibration images, "
            f"{r['evaluations']} evaluations{stopped} measured at {r['evals_per_s']} evaluations/s, prefix reuse "
            f"{100 * r['prefix_reuse']:.0f}%): pop 50 x 50 generations would take about {minutes:.0f} min "
            f"(extrapolated from this short search, whose first evaluations also prepare every layer's "
            f"multipliers).")


def findings(rows: list[dict]) -> list[str]:
    out = [line for r in rows for line in _compensation_and_tuning(r)]
    measured = any(is_full_scale(r) for r in rows)  # then the short searches' extrapolations are superseded
    for r in (r for r in rows if r["model"] == "resnet8"):
        out.append(_saving_goal(r))
        time_line = _search_time(r, measured)
        if time_line:
            out.append(time_line)
    if any(r.get("code") != rows[0].get("code") for r in rows):
        out.append("Timings (eval/s, wall time) are those of the code each row ran on (the code column: its commit; "
                   "empty: an earlier version, from before rows named their commit). The fronts do not depend on it: "
                   "every evaluation is bit-exact.")
    return out


PROTOCOL = ("Fitness: calibration accuracy (images from the fitted part of the training split). Choice: the "
            "lowest-energy front point within 0.5 pp of the exact network on a validation split the training held "
            "out (never used for weight updates). Reported: that point on the full test set; loss = exact minus "
            "point, with a paired 95% interval over the same test images. Energy: the gate-toggle proxy of the "
            "multipliers' generic netlists on synthetic operands, multiplications only, relative to the all-exact "
            "network (one cost model with `approxhls cost`). LUTs: the chosen point's arithmetic as built "
            "(dataflow: every product specialized to its constant weight, plus the adders; tiles: generic shared "
            "multipliers with weight storage and operand multiplexing), saving against the cheapest exact baseline "
            "of the same architecture (exact products in LUTs, in the board's 220 DSP48s, or distributed "
            "arithmetic where da4ml is reachable).")
SHOW = ["model", "accelerator", "tuned", "compensated", "energy_saving_%", "dataflow_lut_saving_%",
        "dataflow_baseline", "tiles_lut_saving_%", "tiles_baseline", "val_loss_pp", "loss_pp", "loss_ci_pp",
        "evaluations", "evals_per_s", "sizes"]


def _arguments():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="runs/alwann", help="directory with (or for) the trained models")
    ap.add_argument("--quick", action="store_true", help="a smoke run (written under bench/results/quick/)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", nargs="*", default=["cnn", "resnet8"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true",
                    help="keep the rows OUT already has for a configuration (same searches: same fronts) and run only "
                         "the configurations it lacks")
    return ap.parse_args()


def _budget(quick: bool) -> dict:
    """Search sizes per model; a smoke run's few candidates are those whose constant-weight costs ship (no Yosys
    runs to wait for)."""
    budget = {"cnn": dict(pop=24, gens=12, calib=2000, val=3000), "resnet8": dict(pop=24, gens=8, calib=2000, val=3000)}
    if quick:
        from constant_weight import DESIGNS

        quick_set = ",".join(d for d in DESIGNS if not d.startswith("exact"))
        budget = {k: dict(pop=6, gens=2, calib=200, val=300, test_limit=500, candidates=quick_set) for k in budget}
    return budget


def _search_row(name: str, mdir: Path, root: Path, label: str, config: tuple, size: dict, jobs: int, png: Path):
    """One configuration searched again: its row, its front's plot copied to ``png``."""
    from approxhls.report import format_table
    from approxhls.search.run import SearchOptions, run_search

    tiles, tune, comp, max_loss, full = config
    t0 = time.perf_counter()
    r = run_search(mdir, root / "search" / label, SearchOptions(tiles=tiles, tune=tune, compensate=comp,
                                                                max_loss=max_loss, jobs=jobs,
                                                                progress=False, **size),
                   overwrite=True)  # a row not kept (--keep) is searched again
    row = row_of(name, r, tune, comp, time.perf_counter() - t0, max_loss)
    png.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / "search" / label / "pareto.png", png)
    print(format_table([{k: v for k, v in row.items()
                         if k not in ("plan", "loss_ci95", "dataflow_baselines", "tiles_baselines")}]), flush=True)
    return row


def _model_rows(name: str, mdir: Path, root: Path, budget: dict, kept: dict, args, out_path: Path):
    """(row, plot name) of each of the model's configurations: kept, or searched again."""
    for config in CONFIGS[name]:
        tiles, tune, comp, max_loss, full = config
        label = label_of(name, tiles, tune, comp, None if max_loss is None else round(100 * max_loss, 2), full)
        png = (out_path.parent if args.quick else Path("docs")) / f"alwann_{label}.png"  # beside RESULTS.md
        if label not in kept and full and args.quick:  # the smoke run has no full scale
            continue
        size = budget | (dict(pop=FULL_POP, gens=FULL_GENS) if full else {})
        yield (kept[label] if label in kept else _search_row(name, mdir, root, label, config, size, args.jobs, png),
               png.name)


def main():
    args = _arguments()
    out_path = Path(args.out or results_path("alwann", args.quick))
    kept = {}
    if args.keep and out_path.exists():
        import json

        kept = {row_label(r): r for r in json.loads(out_path.read_text())["rows"]}

    from approxhls.models.training import TrainOptions, train
    from approxhls.report import format_table, write_json

    root = Path(args.models)
    budget = _budget(args.quick)
    rows, plots = [], []
    for name in args.only:
        mdir = root / name
        if not (mdir / "model.h5").exists():
            train(TrainOptions(model=name, dataset="fashion-mnist", scheme="fixed-w8a8", **TRAIN[name]), mdir,
                  overwrite=True)
        for row, png in _model_rows(name, mdir, root, budget[name], kept, args, out_path):
            rows.append(row)
            plots.append(png)
    print("\n" + format_table(rows, SHOW))
    notes = findings(rows)
    print("\n".join(notes))
    write_json(out_path, {"rows": rows, "budget": budget, "cores": os.cpu_count(), "protocol": PROTOCOL,
                          "findings": notes, "plots": plots,
                          "goals": {"resnet8_saving": GOAL_SAVING, "resnet8_max_loss": GOAL_LOSS,
                                    "search_full_scale_evaluations": FULL_SCALE, "search_minutes": 30}})
    print(f"wrote {out_path}")


if __name__ == "__main__":
    sys.exit(main())
