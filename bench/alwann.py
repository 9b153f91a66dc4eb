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
# (tiles, tune, compensate, max_loss, full scale, objective); tiles must be fewer than the layers: the cnn has 3,
# resnet8 9 plannable. The next resnet8 searches repeat the first two with a 2 pp calibration-loss constraint: NSGA-II
# keeps to the region the choice looks at, and infeasible candidates stop early. Then the search-at-scale goal itself,
# pop 50 x 50 generations, timed (about half an hour on 2 cores). The "luts" rows search and choose by the arithmetic's
# LUTs as built (constant weights in the dataflow; shared multipliers, memories and multiplexers on tiles) over the
# cheapest exact baseline, where the others search and choose by multiplication energy
CONFIGS = {"cnn": [(None, True, False, None, False, "energy"), (None, True, True, None, False, "energy"),
                   (2, True, True, None, False, "energy"), (None, True, True, None, False, "luts"),
                   (2, True, True, None, False, "luts")],
           "resnet8": [(None, True, True, None, False, "energy"), (2, True, True, None, False, "energy"),
                       (None, True, True, 0.02, False, "energy"), (2, True, True, 0.02, False, "energy"),
                       (None, True, True, None, True, "energy"), (None, True, True, None, False, "luts"),
                       (2, True, True, None, False, "luts")]}
FULL_POP = FULL_GENS = 50


def label_of(name: str, tiles: int | None, tune: bool, comp: bool, max_loss_pp: float | None, full: bool = False,
             objective: str = "energy") -> str:
    return (f"{name}_{'dataflow' if tiles is None else f'tiles{tiles}'}_{'tuned' if tune else 'plain'}"
            f"{'_compensated' if comp else ''}{'' if max_loss_pp is None else f'_maxloss{max_loss_pp:g}'}"
            f"{f'_pop{FULL_POP}x{FULL_GENS}' if full else ''}{'' if objective == 'energy' else f'_{objective}'}")


def row_label(row: dict) -> str:
    tiles = None if row["accelerator"] == "dataflow" else int(row["accelerator"].split("-")[1])
    return label_of(row["model"], tiles, row["tuned"], row.get("compensated", False), row.get("max_loss_pp"),
                    is_full_scale(row), row.get("objective", "energy"))


def is_full_scale(row: dict) -> bool:
    return (row.get("pop"), row.get("gens")) == (FULL_POP, FULL_GENS)


def row_of(name: str, r: dict, tune: bool, comp: bool, wall: float, max_loss: float | None = None) -> dict:
    from approxhls.search.run import best_within

    best = best_within(r, GOAL_LOSS, split="val")
    proto, ex = r["protocol"], r["exact"]
    row = {"model": name, "accelerator": r["accelerator"], "objective": r.get("objective", "energy"),
           "tuned": tune, "compensated": comp,
           "exact_test_acc": ex["test_accuracy"], "exact_val_acc": ex["val_accuracy"],
           "sizes": f"{proto['calibration']} / {proto['validation']} / {proto['test']}",
           "calibration": proto["calibration"], "validation": proto["validation"], "test": proto["test"],
           "tile_size": r["cost_model"]["tile_size"], "evaluations": r["search"]["evaluations"],
           "search_s": r["search"]["seconds"], "evals_per_s": r["search"]["evals_per_s"],
           "prefix_reuse": r["search"]["prefix_reuse"], "wall_s": None if wall is None else round(wall, 1),
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
    """The chosen point's arithmetic as built, against the cheapest exact baseline, in the row's architecture and,
    for a tiled plan, also as a dataflow (each layer's design with its constant weights; approxhls.cost.report.price_plan)."""
    return dataflow_cost(r["model"], best["plan"]) | (tiles_cost(r, best) if best.get("tiles") else {})


def dataflow_cost(model, plan: dict) -> dict:
    from approxhls.cost.report import price_plan

    df = price_plan(model, plan)
    out = {"dataflow_luts": df["plan_luts"], "dataflow_baseline": df["cheapest"],
           "dataflow_baseline_luts": next(b["luts"] for b in df["baselines"] if b["name"] == df["cheapest"]),
           "dataflow_lut_saving_%": None if df["saving_vs_cheapest"] is None else round(100 * df["saving_vs_cheapest"], 1),
           "dataflow_baselines": df["baselines"]}
    return out


def tiles_cost(r: dict, best: dict) -> dict:
    from approxhls.cost.report import price_plan

    t = price_plan(r["model"], best["plan"], best["tiles"], best["tile_map"], r["cost_model"]["tile_size"])
    return {"tiles_luts": t["plan_luts"], "tiles_baseline": t["cheapest"],
            "tiles_baseline_luts": next(b["luts"] for b in t["baselines"] if b["name"] == t["cheapest"]),
            "tiles_lut_saving_%": None if t["saving_vs_cheapest"] is None else round(100 * t["saving_vs_cheapest"], 1),
            "tiles_baselines": t["baselines"]}


def restated(row: dict, model: Path) -> dict:
    """A kept dataflow row from before the architecture-true cost, its chosen plan priced as built (the plan and the
    trained model suffice; a tiled row would need its tile map, which such a row does not keep)."""
    if row.get("dataflow_luts") is not None or row.get("plan") is None or row["accelerator"] != "dataflow":
        return row
    return row | dataflow_cost(model, row["plan"]) | {"restated": True}


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
    return (r["accelerator"] + ("" if r.get("compensated", True) else ", not compensated")
            + (f", --max-loss {r['max_loss_pp']} pp" if r.get("max_loss_pp") else "")
            + (f", pop {FULL_POP} x {FULL_GENS}" if is_full_scale(r) else "")
            + (", searched by LUTs" if r.get("objective") == "luts" else ""))


def findings(rows: list[dict]) -> list[str]:
    out = []
    for r in rows:
        if r.get("val_acc_uncompensated") is not None:
            gain = 100 * (r["val_acc"] - r["val_acc_uncompensated"])
            out.append(f"{r['model']} {search_name(r)}: on the chosen plan, bias compensation changes validation "
                       f"accuracy by {gain:+.2f} pp (same plan and tuned weights without offsets).")
        if r.get("val_acc_untuned") is not None:
            gain = 100 * (r["val_acc"] - r["val_acc_untuned"])
            what = "tuning and compensation change" if r["compensated"] else "tuning changes"
            out.append(f"{r['model']} {search_name(r)}: {what} validation accuracy of the chosen plan by "
                       f"{gain:+.2f} pp against the plain plan.")
    out += lut_findings(rows)
    measured = any(is_full_scale(r) for r in rows)  # then the short searches' extrapolations are superseded
    for r in rows:
        if r["model"] != "resnet8" or r.get("objective", "energy") != "energy":  # the goal is an energy saving
            continue
        search = search_name(r)
        saved = r.get("energy_saving_%")
        met = saved is not None and saved >= 100 * GOAL_SAVING and r["loss_pp"] <= 100 * GOAL_LOSS
        at = "" if saved is None else f"{saved}% at {r['loss_pp']:.2f} pp (95% CI {r['loss_ci_pp']})"
        if met and r["loss_ci95"][1] > GOAL_LOSS:
            at += f"; met by the point estimate only: the interval reaches {100 * r['loss_ci95'][1]:.2f} pp"
        out.append(f"Goal (resnet8 {search}: >= {100 * GOAL_SAVING:.0f}% saved at "
                   f"<= {100 * GOAL_LOSS:.1f} pp test loss): {'met' if met else 'not met'}: "
                   f"{at or 'no point within 0.5 pp on validation'}.")
        stopped = f" ({r['stopped_infeasible']} stopped early as infeasible)" if r.get("max_loss_pp") else ""
        if is_full_scale(r):
            minutes = r["search_s"] / 60
            out.append(f"Search at scale (resnet8 {search} generations, {r['calibration']} calibration images, "
                       f"{r.get('cores')} cores): {minutes:.1f} min measured for "
                       f"{r['evaluations']} evaluations ({r['evals_per_s']} evaluations/s, prefix reuse "
                       f"{100 * r['prefix_reuse']:.0f}%): {'met' if minutes <= 30 else 'not met'} (goal <= 30 min).")
            continue
        if measured:
            continue
        minutes = FULL_SCALE / r["evals_per_s"] / 60 if r["evals_per_s"] else None
        out.append(f"Search at scale (resnet8 {search}, {r['calibration']} calibration images, "
                   f"{r['evaluations']} evaluations{stopped} measured at {r['evals_per_s']} evaluations/s, prefix reuse "
                   f"{100 * r['prefix_reuse']:.0f}%): pop 50 x 50 generations would take about {minutes:.0f} min "
                   f"(extrapolated from this short search, whose first evaluations also prepare every layer's "
                   f"multipliers).")
    if any(r.get("collected") for r in rows):
        out.append("Rows without a wall time were assembled from their finished search's pareto.json (the bench run "
                   "that searched them ended before writing its table); their search time is the search's own.")
    if any(r.get("code") != rows[0].get("code") for r in rows):
        out.append("Timings (eval/s, wall time) are those of the code each row ran on (the code column: its commit; "
                   "empty: an earlier version, from before rows named their commit). The fronts do not depend on it: "
                   "every evaluation is bit-exact.")
    return out


def unpriced_if_another_model(rows: list[dict]) -> list[dict]:
    """Restated rows keep their LUT prices only where the model priced now is the one they searched: the rows searched
    in this run on the same model score the same exact test accuracy (10,000 images). Otherwise the prices go."""
    lut_keys = ("dataflow_luts", "dataflow_baseline", "dataflow_baseline_luts", "dataflow_lut_saving_%",
                "dataflow_baselines")
    out = []
    for r in rows:
        now = {x["exact_test_acc"] for x in rows if x["model"] == r["model"] and not x.get("restated")}
        if r.get("restated") and now and now != {r["exact_test_acc"]}:
            r = {k: v for k, v in r.items() if k not in lut_keys + ("restated",)} | {"not_restated": "another model"}
        out.append(r)
    return out


def da_note(rows: list[dict]) -> list[str]:
    """Where the dataflow rows could not price distributed arithmetic, why, and what it did on layer-shaped matrices
    (bench/da_baseline.py's data)."""
    import json

    notes = {b["note"] for r in rows for b in r.get("dataflow_baselines", []) if b["name"] == "da" and not b["available"]}
    if not notes:
        return []
    text = (f"Distributed arithmetic (hls4ml's multiplier-free exact strategy) is not among these rows' dataflow "
            f"baselines: {sorted(notes)[0]}")
    da = Path(__file__).parent / "results" / "da_baseline.json"
    if da.exists():
        ratios = [m["lut_fabric"] / m["da"] for m in json.loads(da.read_text())["rows"] if m.get("da")]
        if ratios:
            text += (f". On the layer-shaped matrices of \"Exact baselines side by side\" it needed "
                     f"{min(ratios):.1f}-{max(ratios):.1f}x fewer LUTs than the LUT fabric: where it applies, it is "
                     f"likely the cheapest exact baseline, and every dataflow saving here would shrink or turn negative "
                     f"against it")
    return [text + "."]


def lut_findings(rows: list[dict]) -> list[str]:
    """The chosen plans in LUTs as built, against the cheapest exact baseline of their architecture; the energy- and
    LUT-searched rows of one model and accelerator side by side; what the restated rows were measured on."""
    out = []
    for r in rows:
        arch = "dataflow" if r["accelerator"] == "dataflow" else "tiles"
        saving = r.get(f"{arch}_lut_saving_%")
        if saving is None:
            continue
        dsp = next((b["dsp"] for b in r.get(f"{arch}_baselines", []) if b["name"] == r[f"{arch}_baseline"]), 0)
        out.append(f"{r['model']} {search_name(r)}: the chosen plan's arithmetic as built is {r[f'{arch}_luts']:,} "
                   f"LUTs, {abs(saving):.1f}% {'fewer' if saving >= 0 else 'MORE'} than the cheapest exact baseline, "
                   f"{r[f'{arch}_baseline']} ({r[f'{arch}_baseline_luts']:,} LUTs{f' + {dsp} DSP48' if dsp else ''}), "
                   f"at {r['loss_pp']:.2f} pp test loss.")
    out += da_note(rows)
    by = {}
    for r in rows:
        if r.get("max_loss_pp") is None and not is_full_scale(r) and r.get("energy_saving_%") is not None:
            by.setdefault((r["model"], r["accelerator"], r["compensated"]), {})[r.get("objective", "energy")] = r
    for (model, acc, _), pair in by.items():
        arch = "dataflow" if acc == "dataflow" else "tiles"
        if {"energy", "luts"} <= set(pair) and all(r.get(f"{arch}_lut_saving_%") is not None for r in pair.values()):
            e, lut = pair["energy"], pair["luts"]
            out.append(f"{model} {acc}: searched by LUTs, the chosen plan saves {lut[f'{arch}_lut_saving_%']:+.1f}% "
                       f"of the cheapest exact baseline's LUTs and {lut['energy_saving_%']:+.1f}% of the multiplication "
                       f"energy; searched by energy, {e[f'{arch}_lut_saving_%']:+.1f}% and {e['energy_saving_%']:+.1f}% "
                       f"(same budget, same images; negative: costs more).")
    unpriced = [f"{r['model']} {search_name(r)}" for r in rows if r.get("energy_saving_%") is not None
                and r.get("dataflow_luts") is None]
    if unpriced:
        out.append(f"Not priced in LUTs: {'; '.join(unpriced)}. They were searched before the LUT pricing, on a "
                   f"trained model that differs from the one of this run's rows (another exact test accuracy), or "
                   f"on tiles whose map such rows do not keep.")
    for r in rows:
        if r.get("restated"):
            now = [x["exact_test_acc"] for x in rows if x["model"] == r["model"] and not x.get("restated")]
            same = all(abs(a - r["exact_test_acc"]) < 1e-12 for a in now)
            out.append(f"{r['model']} {search_name(r)} is restated: searched at {r.get('code') or 'an earlier commit'}, "
                       f"its plan priced on the model the other rows searched, whose exact network scores "
                       f"{', '.join(f'{a:.4f}' for a in sorted(set(now))) or 'no other row'} on the test set against "
                       f"{r['exact_test_acc']:.4f} then ({'the same' if same and now else 'NOT the same'}).")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="runs/alwann", help="directory with (or for) the trained models")
    ap.add_argument("--quick", action="store_true", help="a smoke run (written under bench/results/quick/)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", nargs="*", default=["cnn", "resnet8"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true",
                    help="keep the rows OUT already has for a configuration (same searches: same fronts) and run only "
                         "the configurations it lacks")
    ap.add_argument("--collect", action="store_true",
                    help="search nothing: take each configuration from its finished search under MODELS/search/LABEL "
                         "where there is one, else from OUT (--keep), else leave it out")
    ap.add_argument("--redo", nargs="*", default=[], metavar="LABEL",
                    help="with --keep: search these configurations again (labels as in the plots' names, e.g. "
                         "cnn_tiles2_tuned_compensated)")
    args = ap.parse_args()
    out_path = Path(args.out or results_path("alwann", args.quick))
    kept = {}
    if args.keep and out_path.exists():
        import json

        kept = {row_label(r): r for r in json.loads(out_path.read_text())["rows"] if row_label(r) not in args.redo}

    from approxhls.models.training import TrainOptions, train
    from approxhls.report import format_table, write_json
    from approxhls.search.run import SearchOptions, run_search

    root = Path(args.models)
    budget = {"cnn": dict(pop=24, gens=12, calib=2000, val=3000), "resnet8": dict(pop=24, gens=8, calib=2000, val=3000)}
    if args.quick:  # a smoke run: few candidates, those whose constant-weight costs ship (no Yosys runs to wait for)
        from constant_weight import DESIGNS

        quick = ",".join(d for d in DESIGNS if not d.startswith("exact"))
        budget = {k: dict(pop=6, gens=2, calib=200, val=300, test_limit=500, candidates=quick) for k in budget}
    rows, plots, left_out = [], [], []
    for name in args.only:
        mdir = root / name
        if not (mdir / "model.h5").exists():
            train(TrainOptions(model=name, dataset="fashion-mnist", scheme="fixed-w8a8", **TRAIN[name]), mdir,
                  overwrite=True)
        for tiles, tune, comp, max_loss, full, objective in CONFIGS[name]:
            label = label_of(name, tiles, tune, comp, None if max_loss is None else round(100 * max_loss, 2), full,
                             objective)
            png = (out_path.parent if args.quick else Path("docs")) / f"alwann_{label}.png"  # beside RESULTS.md
            done = root / "search" / label / "pareto.json"
            if args.collect and done.exists():  # a search this bench finished (in a run that ended before writing)
                import json

                rows.append(row_of(name, json.loads(done.read_text()), tune, comp, None, max_loss) | {"collected": True})
                shutil.copyfile(done.with_name("pareto.png"), png)
                plots.append(png.name)
                continue
            if label in kept:
                rows.append(restated(kept[label], mdir))
                plots.append(png.name)
                continue
            t0 = time.perf_counter()
            if (full and args.quick) or args.collect:  # the smoke run has no full scale; --collect searches nothing
                left_out.append(label)
                continue
            size = budget[name] | (dict(pop=FULL_POP, gens=FULL_GENS) if full else {})
            r = run_search(mdir, root / "search" / label, SearchOptions(tiles=tiles, tune=tune, compensate=comp,
                                                                        max_loss=max_loss, objective=objective,
                                                                        jobs=args.jobs, progress=False, **size),
                           overwrite=True)  # a row not kept (--keep) is searched again
            rows.append(row_of(name, r, tune, comp, time.perf_counter() - t0, max_loss))
            png.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / "search" / label / "pareto.png", png)
            plots.append(png.name)
            print(format_table([{k: v for k, v in rows[-1].items()
                                if k not in ("plan", "loss_ci95", "dataflow_baselines", "tiles_baselines")}]), flush=True)
    show = ["model", "accelerator", "objective", "tuned", "compensated", "energy_saving_%", "dataflow_lut_saving_%",
            "dataflow_baseline", "tiles_lut_saving_%", "tiles_baseline", "val_loss_pp", "loss_pp", "loss_ci_pp",
            "evaluations", "evals_per_s", "sizes"]
    rows = unpriced_if_another_model(rows)
    print("\n" + format_table(rows, show))
    notes = findings(rows)
    print("\n".join(notes + ([f"Not run: {', '.join(left_out)}."] if left_out else [])))
    protocol = ("Fitness: calibration accuracy (images from the fitted part of the training split). Choice: the "
                "cheapest front point by the row's search objective (energy: multiplication energy; LUTs: the "
                "arithmetic's LUTs as built) within 0.5 pp of the exact network on a validation split the training held "
                "out (never used for weight updates). Reported: that point on the full test set; loss = exact minus "
                "point, with a paired 95% interval over the same test images. Energy: the gate-toggle proxy of the "
                "multipliers' generic netlists on synthetic operands, multiplications only, relative to the all-exact "
                "network (one cost model with `approxhls cost`). LUTs: the chosen point's arithmetic as built "
                "(dataflow: every product specialized to its constant weight, plus the adders; tiles: generic shared "
                "multipliers with weight storage and operand multiplexing), saving against the cheapest exact baseline "
                "of the same architecture (exact products in LUTs, in the board's 220 DSP48s, or distributed "
                "arithmetic where da4ml is reachable). Rows marked restated are dataflow rows searched before the "
                "LUT pricing, their chosen plan priced as built afterwards on the same trained model.")
    write_json(out_path, {"rows": rows, "budget": budget, "cores": os.cpu_count(), "protocol": protocol,
                          "findings": notes, "plots": plots,
                          "goals": {"resnet8_saving": GOAL_SAVING, "resnet8_max_loss": GOAL_LOSS,
                                    "search_full_scale_evaluations": FULL_SCALE, "search_minutes": 30}})
    print(f"wrote {out_path}")


if __name__ == "__main__":
    sys.exit(main())
