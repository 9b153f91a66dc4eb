"""docs/RESULTS.md, rendered from bench/results/*.json: every table and every number in the text comes from the data.

    .venv/bin/python bench/render_results.py            # write docs/RESULTS.md
    .venv/bin/python bench/render_results.py --check    # exit 1 when docs/RESULTS.md differs (a test runs this)

Each section is a function of its JSON file; a section whose file is missing says which command makes it.
Prose holds methods and conclusions; a number in it is computed here from the same data as the tables.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "RESULTS.md"


# ---- helpers ---------------------------------------------------------------------------------------------------

def results_path(name: str, quick: bool = False) -> Path:
    """Where a benchmark writes its JSON: bench/results/NAME.json, which this script renders, or, for a ``--quick``
    smoke run, bench/results/quick/NAME.json, so that a smoke run never replaces the real data."""
    return (RESULTS / "quick" if quick else RESULTS) / f"{name}.json"


def load(name: str):
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def table(rows: list[dict], columns: list[tuple[str, str]], right: set[str] = frozenset()) -> str:
    """Markdown table; ``columns``: (header, key); numbers already formatted by the caller."""
    head = "| " + " | ".join(h for h, _ in columns) + " |"
    sep = "|" + "|".join("---:" if k in right else "---" for _, k in columns) + "|"
    body = ["| " + " | ".join(str(r.get(k, "")) for _, k in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def f(x, digits=3) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def pct(x, digits=1) -> str:
    return "" if x is None else f"{100 * x:.{digits}f}%"


def missing(cmd: str) -> str:
    return f"(no data yet: run `{cmd}`)\n"


# ---- sections --------------------------------------------------------------------------------------------------

def header() -> str:
    return ("# Results\n\n"
            "Rendered by `bench/render_results.py` from `bench/results/*.json`: every number below comes from those "
            "files, each written by the benchmark command its section names (a test fails when this file and the "
            "data disagree). Measured on this project's development machine (2 cores, 24 GiB, Debian 12, Python "
            "3.11.7) unless a section says otherwise.\n")


def multipliers() -> str:
    d = load("multipliers")
    out = ["## The multiplier library\n",
           "Command: `.venv/bin/python bench/multipliers.py` (= `approxhls multipliers characterize` on every "
           "built-in design; Yosys `synth_xilinx -nodsp` for LUTs, `synth_xilinx` for DSP use). Errors are over all "
           "operand pairs (uniform), in % of the full-scale product 2^(2n) (as EvoApprox reports them). "
           "\"rel. energy\" is the switching-energy proxy: gate-output toggles per multiplication of the design "
           "synthesized to simple gates (`abc -g`), simulated on a seeded operand stream shaped like a neural "
           "network's (ReLU activations with half zeros, bell-shaped weights), relative to the exact multiplier of the "
           "same width and signedness.\n"]
    if d is None:
        return "\n".join(out) + missing("bench/multipliers.py")
    rows = d["designs"]
    ref = {(e["bits"], e["signed"]): e for e in rows if e["family"] == "exact"}
    out.append("Exact references: " + ", ".join(f"{e['name']} = {e['cost']['luts']} LUTs"
                                                for e in sorted(ref.values(), key=lambda e: (e["signed"], -e["bits"])))
               + f" ({d['yosys']}).\n")
    out.append("![cost vs error](multipliers.png)\n")
    shown = sorted(rows, key=lambda e: (e["signed"], e["bits"] != 8, e["metrics"]["mae_pct"]))
    out.append(table([_multiplier_row(e) for e in shown],
                     [("design", "name"), ("MAE %", "mae"), ("WCE %", "wce"), ("MRE %", "mre"), ("EP %", "ep"),
                      ("bias (LSB)", "bias"), ("LUTs", "luts"), ("DSP", "dsp"), ("rel. LUTs", "rl"),
                      ("rel. energy", "re")], {"mae", "wce", "mre", "ep", "bias", "luts", "dsp", "rl", "re"}))
    out += _multiplier_findings(rows)
    return "\n".join(out)


def _multiplier_row(e: dict) -> dict:
    m = e["metrics"]
    return {"name": e["name"], "mae": f(m["mae_pct"]), "wce": f(m["wce_pct"], 2), "mre": f(m["mre_pct"], 2),
            "ep": f(m["ep_pct"], 1), "bias": f(m["bias"], 1), "luts": e["cost"]["luts"], "dsp": e["cost"]["dsp"],
            "rl": f(e["rel_luts"], 2), "re": f(e["rel_energy"], 2)}


def _multiplier_findings(rows: list[dict]) -> list[str]:
    """The cheapest unsigned 8x8 design under 0.5% MAE, and the approximate ones dearer than exact."""
    u8 = [e for e in rows if e["bits"] == 8 and not e["signed"] and e["family"] != "exact"]
    dearer = sorted(e["name"] for e in u8 if e["rel_luts"] > 1)
    families_dearer = sorted({e["family"] for e in u8 if e["rel_luts"] > 1})
    best = min((e for e in u8 if e["metrics"]["mae_pct"] < 0.5), key=lambda e: e["rel_luts"])
    return ["\nWhat the table shows:",
            f"- The cheapest unsigned 8x8 design under 0.5% MAE is `{best['name']}`: "
            f"{pct(best['rel_luts'], 0)} of the exact LUTs at {f(best['metrics']['mae_pct'])}% MAE.",
            f"- {len(dearer)} of the {len(u8)} approximate unsigned 8x8 designs need more LUTs than the exact "
            f"multiplier (families: {', '.join(families_dearer)}): designs that save area in an ASIC (leading-one "
            f"detectors, shifters, 2x2 blocks) do not on LUT fabric, where Yosys maps the exact product to a "
            f"compact LUT/carry-chain array (the ApproxFPGAs observation).\n"]


def _constant_weight_findings(all_rows: list[dict], rows: list[dict]) -> list[str]:
    """What generic pricing overstates, and how the ranking moves under constant weights (``rows``: by bell mean)."""
    ex = next(r for r in all_rows if r["design"] == "exact_u8")
    gen_rank = [r["design"] for r in sorted(all_rows, key=lambda r: r["generic_luts"])]
    const_rank = [r["design"] for r in rows]
    moved = sum(1 for k, name in enumerate(const_rank) if gen_rank.index(name) != k)
    dearer = sorted(r["design"] for r in all_rows if r["rel_bell"] is not None and r["rel_bell"] > 1)
    return [f"\nWhat the table shows:\n- The exact multiplier costs {ex['generic_luts']} LUTs generic and "
            f"{ex['mean_bell']:.1f} on average with a constant bell-shaped weight "
            f"({ex['generic_luts'] / ex['mean_bell']:.1f}x less): a generic circuit overstates the exact dataflow "
            f"product by that factor, and the approximate designs by other factors.",
            f"- The ranking changes: {moved} of the {len(rows)} designs change place between the generic and the "
            f"constant-weight order." + (f" Under constant weights {', '.join(dearer)} cost more than the exact "
                                        f"product: their leading-one detectors, shifters and small multipliers "
                                        f"act on the activation and do not fold away with the weight, while the "
                                        f"exact product becomes a few shifted adds." if dearer else "")]


def constant_weight() -> str:
    d = load("constant_weight")
    out = ["## Multipliers with constant weights (hls4ml's dataflow)\n",
           "Command: `nice -n 10 .venv/bin/python bench/constant_weight.py` (Yosys `synth_xilinx -nodsp`, the design's "
           "weight operand tied to each magnitude 0..128, unsigned 8-bit activations; cached in "
           "`$APPROXHLS_HOME/constant_weight.json` and shipped for every design below). At reuse factor 1 every product has "
           "its own multiplier with a constant weight, which synthesis specializes: this, summed over a layer's weight "
           "codes, is what `approxhls cost` and the search price for the dataflow; the generic circuit is the price "
           "only where weights are streamed (reuse factor > 1, ALWANN's tiles).\n"]
    if d is None:
        return "\n".join(out) + missing("bench/constant_weight.py")
    rows = sorted(d["rows"], key=lambda r: r["mean_bell"])
    out.append(f"Bell-shaped weights: |round(N(0, {d['bell_sigma']:g}))|; uniform: the magnitudes of all 256 8-bit codes. "
               f"{d['yosys']}.\n")
    out.append(table([{"d": r["design"], "g": r["generic_luts"], "b": f(r["mean_bell"], 1), "u": f(r["mean_uniform"], 1),
                       "m": r["max"], "z": r["zero_weight"], "rg": f(r["rel_generic"], 2), "rb": f(r["rel_bell"], 2)}
                      for r in rows],
                     [("design", "d"), ("generic LUTs", "g"), ("mean LUTs, constant weight (bell)", "b"),
                      ("mean (uniform)", "u"), ("max", "m"), ("weight 0", "z"), ("rel. to exact: generic", "rg"),
                      ("rel. to exact: constant (bell)", "rb")], {"g", "b", "u", "m", "z", "rg", "rb"}))
    out += _constant_weight_findings(d["rows"], rows)
    out.append("")
    return "\n".join(out)


def da_baseline() -> str:
    d = load("da_baseline")
    out = ["## Exact baselines side by side\n",
           "Command: `APPROXHLS_DA4ML_PYTHON=... nice -n 10 .venv/bin/python bench/da_baseline.py` (da4ml 0.5.2 in its "
           "own environment: it does not install beside approxhls' pins). A layer's exact arithmetic three ways, as "
           "`approxhls cost` and the search price it: products in LUTs with their constant weights plus the adders "
           "that sum them (accumulator-wide), the same with pynq-z2's 220 DSP48 slices taking the dearest products, "
           "and hls4ml's distributed arithmetic as da4ml prices it with hls4ml's settings (adder bits).\n"]
    if d is None:
        return "\n".join(out) + missing("bench/da_baseline.py")
    out.append(f"Weights {d['weights']}; activations {d['activations']}; accumulators {d['acc_bits']} bits.\n")
    out.append(table([{"m": r["matrix"], "w": r["weights"], "l": f"{r['lut_fabric']:,}", "a": f"{r['adders']:,}",
                       "d": f"{r['dsp48_luts']:,} + {r['dsp48_dsp']} DSP",
                       "da": "" if r["da"] is None else f"{r['da']:,}", "s": f(r["seconds"], 0)} for r in d["rows"]],
                     [("matrix (inputs x outputs)", "m"), ("weights", "w"), ("LUT fabric", "l"), ("of which adders", "a"),
                      ("DSP48", "d"), ("distributed arithmetic", "da"), ("seconds (da4ml)", "s")],
                     {"w", "l", "a", "d", "da", "s"}))
    rows = [r for r in d["rows"] if r["da"]]
    if rows:
        out.append("\n- Distributed arithmetic needs " + ", ".join(
            f"{r['lut_fabric'] / r['da']:.1f}x fewer LUTs than the LUT fabric ({r['matrix']})" for r in rows)
            + ": it shares partial sums across a layer's constant weights and sizes every adder to the bits it needs, "
              "while the other two sum products at the accumulator's width (the adders alone exceed distributed "
              "arithmetic's total here). In hls4ml's dataflow it is the exact baseline an approximate plan must beat, "
              "and approximate multipliers only shrink the multipliers' share.")
    out.append("")
    return "\n".join(out)


def estimate() -> str:
    d = load("estimate")
    out = ["## The whole-accelerator estimate against published synthesis reports\n",
           "Command: `nice -n 10 .venv/bin/python bench/estimate.py` (rebuilds the models of hls4ml's "
           "test_keras_api.py that have csynth reports in hls4ml's test/pytest/baselines, as the tests build them but "
           "with seeded weights, converts them with hls4ml 1.3.0 and estimates them with `approxhls.cost.accelerator` "
           "at the reports' 5 ns clock). Error = estimate / report - 1; a report value of 0 (no DSPs, zero latency) "
           "has no relative error and is left out of the counts. The unit costs in `approxhls/cost/accelerator.py` "
           "(LUTs per bit of a select, of a table index, the DSP rule for small constants) were set with these "
           "reports in view, so the errors are in-sample; the other tool versions' reports of the same models are "
           "the only out-of-version check.\n"]
    if d is None:
        return "\n".join(out) + missing("bench/estimate.py")
    tool = d["tools"][0]
    cols = [("model", "c")]
    for m, name in ESTIMATE_METRICS:
        cols += [(f"{name} est.", f"e{m}"), (f"{name} {tool}", f"r{m}"), (f"{name} error", f"x{m}")]
    out.append(table([_estimate_row(r, tool) for r in d["rows"]], cols, {c for _, c in cols if c != "c"}))
    out.append("\nMedian and worst absolute relative error per tool version (n: reports with a nonzero value):\n")
    out.append(table([_estimate_summary_row(t, d["summary"][t]) for t in d["tools"]],
                     [("reports", "t"), ("LUT median / worst", "lut"), ("FF", "ff"), ("DSP", "dsp"),
                      ("latency", "latency_cycles")]))
    out += _estimate_findings(d, tool)
    out.append("")
    return "\n".join(out)


ESTIMATE_METRICS = (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"), ("latency_cycles", "latency"))


def _estimate_row(r: dict, tool: str) -> dict:
    """One model: the estimate, the tool's report and the relative error, per metric."""
    rep, errors = r["report"].get(tool, {}), r["error"].get(tool, {})
    row = {"c": r["case"]}
    for m, _ in ESTIMATE_METRICS:
        e = errors.get(m)
        row |= {f"e{m}": r["estimate"][m], f"r{m}": int(rep[m]) if m in rep else "",
                f"x{m}": "" if e is None else f"{100 * e:+.0f}%"}
    return row


def _estimate_summary_row(t: str, s: dict) -> dict:
    return {"t": t, **{m: (f"{100 * s[m]['median_abs']:.0f}% / {100 * s[m]['worst_abs']:.0f}% (n={s[m]['n']})"
                           if s[m]["n"] else "") for m, _ in ESTIMATE_METRICS}}


def _estimate_findings(d: dict, tool: str) -> list[str]:
    """The goal's verdict, where the error comes from, and rule4ml's comparison."""
    s = d["summary"][tool]
    goal = all(s[m]["median_abs"] is not None and s[m]["median_abs"] <= 0.25 for m in ("lut", "dsp"))
    conv = [r for r in d["rows"] if r["case"].startswith(("conv", "depthwise")) and tool in r["error"]]
    r4 = d.get("rule4ml")
    return [f"\nGoal (median error <= 25% on LUT and DSP, {tool}): {'met, in sample' if goal else 'not met'} "
            f"(LUT {100 * s['lut']['median_abs']:.0f}%, DSP {100 * s['dsp']['median_abs']:.0f}%).",
            f"- The median is carried by the {len(d['rows']) - len(conv) - 2} activation and pooling models, which "
            f"per-element rules fit; the convolutions, closest to approxhls' networks, are off by "
            + ", ".join(f"{100 * r['error'][tool]['lut']:+.0f}% ({r['case']})" for r in conv)
            + " in LUTs: their line buffers, pixel loops and partial products are where the rules are weakest.",
            "- rule4ml: " + (r4["text"] + ". rule4ml was trained on other models and boards (out of sample); "
                             "this estimate's unit costs were set on these reports (in sample)."
                             if r4 else "not compared.")]


def rule4ml() -> str:
    d = load("rule4ml")
    out = ["### rule4ml's coverage\n",
           "Command: `/work/venvs/rule4ml/bin/python bench/rule4ml_predict.py --board alveo-u250` in rule4ml's own "
           "environment (rule4ml 0.2.0 with TensorFlow 2.15.1 and PyTorch 2.13, which approxhls' pins exclude); the "
           "comparison above reads its predictions.\n"]
    if d is None:
        return "\n".join(out) + missing("bench/rule4ml_predict.py")
    ok = [r["case"] for r in d["rows"] if "prediction" in r]
    refused = {}
    for r in d["rows"]:
        if "refused" in r:
            refused.setdefault(r["refused"].split(":")[0] + ": " + r["refused"].split(":", 1)[1][:70].strip(), []).append(r["case"])
    out.append(f"Board {d['board']} (of {', '.join(d['boards'])}), hls4ml {d['hls4ml_version']}, Vivado "
               f"{d['vivado_version']}. Predicted: {', '.join(ok)}. Refused:")
    out += [f"- {', '.join(cases)}: `{why}...`" for why, cases in refused.items()]
    out.append("")
    return "\n".join(out)


def emulator() -> str:
    d = load("emulator")
    n_alt = (d or {}).get("meta", {}).get("alternations", 3)  # data written before the field: 3
    out = ["## The bit-exact emulator\n",
           "Command: `make bench` (runs `bench/emulator.py`). Two Keras baselines, hls4ml's C-simulation, the "
           "reference evaluator and the emulator on the same Fashion-MNIST test images in one run. The baselines: "
           "the QKeras model itself (\"QKeras\": fake quantization of kernels and activations on every call) and its "
           "plain float twin (\"plain float\", `approxhls.models.floatmodel`: float Dense/Conv2D/Activation layers "
           "holding the QKeras layers' unquantized weights, what a user would run for float inference), same "
           f"images, batch and threads. QKeras, the emulator and plain float are timed alternately {n_alt} times per "
           "row, the emulator in the middle; every emulator output on the C-simulation's images "
           "compared element by element. Each emulator / baseline ratio is judged side by side: per alternation, the "
           "baseline's time over the emulator's time taken next to it (adjacent timings share the machine's speed "
           "of the moment), and the worst alternation is the row's ratio (every one must meet the goal); the median "
           "alternation is shown beside it. The last ratio column, not judged, divides the emulator's best by the "
           "fastest QKeras over all of the model's rows: those timings can lie minutes apart, and the machine's "
           f"speed drifts within a run ({keras_spread(d)}), so that ratio measures the drift as much as the "
           "emulator.\n"]
    if d is None:
        return "\n".join(out) + missing("make bench")
    m = d["meta"]
    out.append(f"Images: Keras and emulator {m['images']['keras_emulator']}, C-simulation {m['images']['csim']}, "
               f"reference {m['images']['reference']}; {m['cores']} cores{cpu_text(m)}.\n")
    goals = m.get("goals")
    has_float = all(FLOAT_PAIRS in r for r in d["rows"])

    def goal_of(r):
        return goals["emu_vs_keras"].get(r["kind"], 1.0) if goals else 1.0

    rows = [{"model": f"{r['model']} ({r['io_type']})", "mult": r["multiplier"], "method": r["methods"],
             "engine": r.get("engines", ""),
             "keras": f(r["keras_img_s"], 0), "kbest": f(r.get("keras_best_img_s", r["keras_img_s"]), 0),
             "float": f(r["float_img_s"], 0) if has_float else "",
             "csim": f(r["csim_img_s"], 1), "ref": f(r["reference_img_s"], 1),
             "emu": f(r["emulator_img_s"], 0), "vc": f"{r['emu_vs_csim']:.0f}x",
             "vk": ratio_text(speed_ratio(r), goal_of(r)), "gmac": f(r["emu_gmac_s"], 2),
             "paired": f"{statistics.median(alternation_ratios(r)):.2f}",
             "vf": ratio_text(speed_ratio(r, FLOAT_PAIRS), float_goal_of(r, goals)) if has_float else "",
             "vfm": f"{statistics.median(alternation_ratios(r, FLOAT_PAIRS)):.2f}" if has_float else "",
             "vkb": f"{cross_row_ratio(r):.2f}",
             "eq": r["emulator_equals_csim"]} for r in d["rows"]]
    float_cols = [("plain float img/s", "float"), ("emulator / plain float (worst alternation)", "vf"),
                  ("emulator / plain float (median alternation)", "vfm")] if has_float else []
    out.append(table(rows, [("model", "model"), ("multiplier", "mult"), ("method", "method"), ("engine", "engine"),
                            ("QKeras img/s (this row)", "keras"), ("QKeras img/s (best of model)", "kbest"),
                            ("C-sim img/s", "csim"), ("reference img/s", "ref"), ("emulator img/s", "emu"),
                            ("emulator / C-sim", "vc"), ("emulator / QKeras (worst alternation)", "vk"),
                            ("emulator / QKeras (median alternation)", "paired"), *float_cols,
                            ("emulator / best QKeras of model (not judged)", "vkb"), ("emulator GMAC/s", "gmac"),
                            ("emulator == C-sim", "eq")],
                      {"keras", "kbest", "float", "csim", "ref", "emu", "vc", "vk", "paired", "vf", "vfm", "vkb",
                       "gmac"}))
    if goals:
        vk = goals["emu_vs_keras"]
        out.append(f"\nGoals: emulator / QKeras >= {vk['exact']:g} for exact, separable and low-rank multipliers, "
                   f">= {vk['table']:g} for arbitrary tables; emulator / C-sim >= {goals['emu_vs_csim']}x in every row. "
                   f"The engine column says how the layers ran: `conv2d` (TensorFlow's float32 convolution on "
                   f"integer codes, exact below 2^24 per channel chunk), `conv2d-int8` (oneDNN's u8 x s8 -> int32 "
                   f"convolution on 8-bit pieces of the features, on VNNI cores), `im2col` (numpy GEMM), `lut-conv` "
                   f"(the compiled table lookup by kernel position: per position and input code, the products with "
                   f"16 outputs' weights added as one vector; code 0 skipped) or `numpy` (a GEMM, or the lookup on GEMM "
                   f"rows, where no direct engine applies), "
                   f"chosen per layer by a race on that layer's inputs from the first batch of benchmark images (of "
                   f"the size predict runs), each engine timed as the layer runs it (its sums and the fused finish). "
                   f"Codes pass between layers in their narrowest integer type (uint8 after an 8-bit ReLU).")
        for r in d["rows"]:
            if not meets_goal(r, goals):
                out.append(f"- {r['model']} / {r['multiplier']} ({r['kind']}): **not met** (emulator / QKeras "
                           f"{ratio_text(speed_ratio(r), goal_of(r))}, emulator / C-sim {r['emu_vs_csim']:.0f}x).")
        met = sum(1 for r in d["rows"] if meets_goal(r, goals))
        out.append(f"- {met} of {len(d['rows'])} rows meet both goals.")
        out.append(float_findings(d["rows"], goals, m, "this run"))
    if d.get("rank_sweep"):
        out.append(rank_sweep(d))
    out.append(held_isa(d))
    out.append("")
    return "\n".join(out)


def cpu_text(m: dict) -> str:
    """The CPU, its ISA flags and oneDNN's int8 kernel, as the meta of a run records them."""
    if "cpu" not in m:
        return ""
    # the int8 engine's speed, so each ratio to Keras, depends on the CPU's int8 instructions; plain float Keras'
    # on its vector width
    isa = f"; ISA flags: {', '.join(m['isa']) or 'none of ' + ', '.join(ISA_FLAGS)}" if "isa" in m else ""
    held = (f"; oneDNN held to {m['onednn_max_cpu_isa']}" if m.get("onednn_max_cpu_isa", "default") != "default"
            else "")
    int8 = ", ".join(m["int8_hardware"]) or "none (the int8 engine is off)"
    kernel = f"; oneDNN's int8 convolution here: `{m['int8_kernel']}`" if m.get("int8_kernel") else ""
    return f" ({m['cpu']}{isa}{held}; int8 instructions oneDNN may use: {int8}{kernel})"


# the CPU features bench/emulator.py records: they decide the baselines' and the emulator's speed (oneDNN's float
# and int8 kernels)
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "amx_tile")


def float_goal_of(r: dict, goals: dict | None) -> float:
    return goals["emu_vs_float"][r["kind"]] if goals and "emu_vs_float" in goals else 1.0


def meets_float_goal(r: dict, goals: dict) -> bool:
    """The goal against plain float Keras, on the worst alternation."""
    return speed_ratio(r, FLOAT_PAIRS) >= float_goal_of(r, goals)


def float_findings(rows: list[dict], goals: dict, meta: dict, run: str) -> str:
    """Met / not met, row by row, of the goals against plain float Keras; where the data has no float timings, says
    so."""
    vf = goals.get("emu_vs_float")
    if not vf or not all(FLOAT_PAIRS in r for r in rows):
        return (f"\nGoals against plain float Keras: not measured in {run} (its data predates the plain float "
                "baseline; run `make bench`).")
    amx = "amx_int8" in meta.get("isa", [])
    where = ("this CPU has AMX: the goals are set for a CPU without it, so these rows do not show them met there"
             if amx else "this CPU has no AMX" if "isa" in meta else "the CPU's ISA was not recorded")
    out = [f"\nGoals against plain float Keras (emulator / plain float, worst alternation), {run}: exact >= "
           f"{vf['exact']:g}, separable >= {vf['separable']:g}, low-rank >= {vf['low-rank']:g}, arbitrary tables >= "
           f"{vf['table']:g} ({where}):"]
    for r in rows:
        x, goal = speed_ratio(r, FLOAT_PAIRS), float_goal_of(r, goals)
        verdict = "met" if x >= goal else "**not met**"
        out.append(f"- {r['model']} / {r['multiplier']} ({r['kind']}): {verdict} ({ratio_text(x, goal)} against "
                   f"{goal:g}).")
    met = sum(1 for r in rows if meets_float_goal(r, goals))
    out.append(f"- {met} of {len(rows)} rows meet the goal against plain float Keras.")
    return "\n".join(out)


def held_isa(d: dict) -> str:
    """The second run, oneDNN held to a smaller ISA (what a laptop has), as its own table and findings."""
    h = d.get("held_isa")
    if not h:
        return ("\n### oneDNN held to AVX2\n\nNot measured in this data (a run that predates it; `make bench` runs it "
                "in a subprocess with ONEDNN_MAX_CPU_ISA=AVX2).")
    goals = d["meta"]["goals"]
    rows = [{"model": f"{r['model']} ({r['io_type']})", "mult": r["multiplier"], "engine": r["engines"],
             "emu": f(r["emulator_img_s"], 0), "keras": f(r["keras_img_s"], 0), "float": f(r["float_img_s"], 0),
             "vk": ratio_text(speed_ratio(r), goals["emu_vs_keras"][r["kind"]]),
             "vf": ratio_text(speed_ratio(r, FLOAT_PAIRS), float_goal_of(r, goals)),
             "eq": r["emulator_equals_first_run"]} for r in h["rows"]]
    return "\n".join([
        f"\n### oneDNN held to {h['isa']}\n",
        f"The same rows again in a subprocess with ONEDNN_MAX_CPU_ISA={h['isa']} set before TensorFlow starts (both "
        "Keras baselines and the emulator's TensorFlow engines run on oneDNN), same images and alternations; every "
        "emulator output compared with the first run's (themselves equal to the C-simulation's on its images). "
        f"CPU{cpu_text(h['meta'])}.{same_isa_note(h)}\n",
        table(rows, [("model", "model"), ("multiplier", "mult"), ("engine", "engine"), ("emulator img/s", "emu"),
                     ("QKeras img/s", "keras"), ("plain float img/s", "float"),
                     ("emulator / QKeras (worst alternation)", "vk"),
                     ("emulator / plain float (worst alternation)", "vf"), ("emulator == first run", "eq")],
              {"emu", "keras", "float", "vk", "vf"}),
        float_findings(h["rows"], goals, h["meta"], f"oneDNN held to {h['isa']}"),
    ])


ABOVE_AVX2 = ("avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "amx_tile")  # what a cap at AVX2 holds back


def same_isa_note(h: dict) -> str:
    """Where the CPU has nothing above the cap, the held run is the first run again: say so."""
    isa = h["meta"].get("isa")
    if h["isa"] != "AVX2" or isa is None or any(flag in isa for flag in ABOVE_AVX2):
        return ""
    return (" This CPU has nothing above AVX2 to hold back: both runs used the same instructions, and their "
            "differences are the machine's drift between them.")


def keras_spread(d: dict | None) -> str:
    """How far QKeras' own best timing moved between the rows of one run, per model (the same network each time)."""
    if not d:
        return "no data"
    parts = []
    for model in dict.fromkeys(r["model"] for r in d["rows"]):
        speeds = [r["keras_img_s"] for r in d["rows"] + d.get("rank_sweep", []) if r["model"] == model]
        lo, hi = min(speeds), max(speeds)
        parts.append(f"QKeras on {model}: {lo:,.0f} to {hi:,.0f} img/s, {hi / lo:.2f}x")
    return "this run's rows measured " + "; ".join(parts)


FLOAT_PAIRS = "float_pair_seconds"  # a row's (plain float Keras, emulator) seconds per alternation


def alternation_ratios(r: dict, key: str = "pair_seconds") -> list[float]:
    """Per alternation, the baseline's seconds / the emulator's seconds timed next to them (the same moment's
    machine); ``key``: pair_seconds (QKeras) or FLOAT_PAIRS (plain float Keras)."""
    return [base / emulator for base, emulator in r[key]]


def speed_ratio(r: dict, key: str = "pair_seconds") -> float:
    """The judged emulator / baseline, unrounded (the JSON's ``emu_vs_keras`` is rounded to 2 decimals, and 0.996 must
    not count as reaching 1): the worst alternation."""
    return min(alternation_ratios(r, key))


def cross_row_ratio(r: dict) -> float:
    """The emulator's best / the fastest QKeras over the model's rows (timings that may lie minutes apart)."""
    return r["emulator_img_s"] / r["keras_best_img_s"]


def ratio_text(x: float, goal: float) -> str:
    """2 decimals, or 3 where 2 would put the ratio on the other side of its goal (0.996 -> 0.996, not 1.00)."""
    two = f"{x:.2f}"
    return two if (float(two) >= goal) == (x >= goal) else f"{x:.3f}"


def meets_goal(r: dict, goals: dict) -> bool:
    return speed_ratio(r) >= goals["emu_vs_keras"][r["kind"]] and r["emu_vs_csim"] >= goals["emu_vs_csim"]


def decomposition_rank(methods: str) -> int:
    """The highest decomposition rank among a row's layer methods (``low-rank r=6``); 0 for exact products."""
    return max([int(m.split("r=")[1]) for m in methods.split(",") if m.startswith("low-rank r=")] or [0])


def rank_sweep(d: dict) -> str:
    """The emulator's speed by the rank of the multiplier's decomposition, from the sweep rows and the model's exact
    and low-rank rows (one run, each row's ratio judged as in the main table)."""
    models = {r["model"] for r in d["rank_sweep"]}
    pts = [r for r in d["rows"] if r["model"] in models and r["kind"] in ("exact", "low-rank")] + d["rank_sweep"]
    pts.sort(key=lambda r: (r["model"], decomposition_rank(r["methods"])))
    rows = [{"model": r["model"], "mult": r["multiplier"], "rank": str(decomposition_rank(r["methods"])),
             "method": r["methods"], "engine": r["engines"], "emu": f(r["emulator_img_s"], 0),
             "vk": ratio_text(speed_ratio(r), 1.0), "eq": r["emulator_equals_csim"]} for r in pts]
    fast = [row for row, r in zip(rows, pts) if speed_ratio(r) >= 1.0]
    crossing = (f"at least as fast as Keras at rank {', '.join(r['rank'] for r in fast)}" if fast
                else "slower than Keras at every rank")
    ratios = "; ".join(f"rank {r['rank']} ({r['mult']}): {r['vk']}" for r in rows)
    return "\n".join([
        "\n### Emulator / Keras by the rank of the multiplier's decomposition\n",
        f"Same run and protocol, {', '.join(sorted(models))} (no goal: this measures what the low-rank goal asks at "
        "each rank). On the weight codes a layer holds, a truncated array multiplier's product table is a rank-r "
        "table, or x*w plus a rank-r error; the layer then runs r products per multiplication (r + 1 with the exact "
        "one), so its work grows with the rank while Keras' stays the same. Rank 0 is the exact multiplier.\n",
        table(rows, [("model", "model"), ("multiplier", "mult"), ("rank", "rank"), ("method", "method"),
                     ("engine", "engine"), ("emulator img/s", "emu"), ("emulator / Keras (worst alternation)", "vk"),
                     ("emulator == C-sim", "eq")], {"rank", "emu", "vk"}),
        f"\nEmulator / Keras by rank: {ratios}. The emulator is {crossing}.",
    ])


def _alwann_row(r: dict) -> dict:
    def opt(key, fmt):
        return "" if r.get(key) is None else fmt(r[key])

    return {"model": r["model"], "acc": r["accelerator"],
            "obj": {"energy": "energy", "luts": "LUTs as built"}[r.get("objective", "energy")]
            + (" (restated)" if r.get("restated") else ""),
            "tuned": "yes" if r["tuned"] else "no",
            "comp": "yes" if r.get("compensated") else "no", "exact": f(r["exact_test_acc"], 4),
            "save": opt("energy_saving_%", lambda v: f"{v:.1f}%"),
            "test": f(r.get("test_acc"), 4), "loss": opt("loss_pp", lambda v: f"{v:.2f}"),
            "vloss": opt("val_loss_pp", lambda v: f"{v:.2f}"),
            "ci": r.get("loss_ci_pp", ""), "evals": r["evaluations"], "wall": f(r["wall_s"], 1),
            "rate": f(r.get("evals_per_s"), 2), "reuse": pct(r.get("prefix_reuse"), 0),
            "sizes": r.get("sizes", ""), "search": f"{r['pop']} x {r['gens']}" if r.get("pop") else "",
            "maxloss": opt("max_loss_pp", lambda v: f"{v:g}"),
            "stopped": "" if r.get("max_loss_pp") is None else r.get("stopped_infeasible", 0),
            "code": r.get("code") or "",
            "dfl": _lut_saving(r, "dataflow"), "til": _lut_saving(r, "tiles")}


ALWANN_COLUMNS = [("model", "model"), ("accelerator", "acc"), ("searched and chosen by", "obj"), ("weights tuned", "tuned"),
                  ("bias compensated", "comp"), ("exact test acc.", "exact"),
                  ("multiplication energy saving (gate-toggle proxy)", "save"), ("val. loss (pp)", "vloss"),
                  ("test acc.", "test"), ("test loss (pp)", "loss"), ("test loss 95% CI (pp)", "ci"),
                  ("pop x gens", "search"), ("max calib. loss (pp)", "maxloss"), ("evaluations", "evals"),
                  ("stopped early", "stopped"), ("eval/s", "rate"), ("prefix reuse", "reuse"),
                  ("wall time (s)", "wall"), ("calib / val / test", "sizes"), ("code", "code"),
                  ("LUT saving as dataflow (vs)", "dfl"), ("LUT saving on tiles (vs)", "til")]
# columns shown only when some row has the field: column keys -> (field, whether a row has it)
ALWANN_OPTIONAL = [
    *(((key,), field, lambda r, fd: r.get(fd) is not None) for key, field in (
        ("vloss", "val_loss_pp"), ("search", "pop"), ("rate", "evals_per_s"), ("reuse", "prefix_reuse"),
        ("maxloss", "max_loss_pp"), ("stopped", "max_loss_pp"), ("code", "code"), ("dfl", "dataflow_luts"),
        ("til", "tiles_luts"))),
    (("comp",), "compensated", lambda r, fd: bool(r.get(fd))),
    (("sizes", "ci"), "sizes", lambda r, fd: bool(r.get(fd))),
]


def _alwann_columns(rows: list[dict]) -> list[tuple[str, str]]:
    hidden = {k for keys, field, has in ALWANN_OPTIONAL if not any(has(r, field) for r in rows) for k in keys}
    return [c for c in ALWANN_COLUMNS if c[1] not in hidden]


def alwann() -> str:
    d = load("alwann")
    out = ["## ALWANN: layer-wise approximate multipliers without retraining\n",
           "Command: `.venv/bin/python bench/alwann.py --models runs/alwann` (trains the models when absent).\n"]
    if d is None:
        return "\n".join(out) + missing("bench/alwann.py")
    if d.get("protocol"):
        out.append(d["protocol"] + "\n")
    out.append(table([_alwann_row(r) for r in d["rows"]], _alwann_columns(d["rows"]),
                     {"exact", "save", "test", "loss", "vloss", "evals", "wall", "rate", "reuse", "stopped"}))
    if d.get("findings"):
        out.append("\n" + "\n".join(f"- {x}" for x in d["findings"]))
    out += [f"\n![{png}]({png})" for png in d.get("plots", [])]
    out.append("")
    return "\n".join(out)


def _lut_saving(r: dict, arch: str) -> str:
    """The chosen point's LUT saving against the cheapest exact baseline of an architecture, and which baseline."""
    if r.get(f"{arch}_luts") is None:
        return ""
    saving = r.get(f"{arch}_lut_saving_%")
    return f"{'' if saving is None else f'{saving:+.1f}%'} ({r[f'{arch}_baseline']})"


def quant_cost() -> str:
    d = load("quant_cost")
    out = ["## What quantization costs in hardware\n",
           "Command: `.venv/bin/python bench/quant_cost.py` (trains the zoo's cnn on Fashion-MNIST under every scheme "
           "when `runs/quant_cost/SCHEME` is absent, then `approxhls cost` on every model). Yosys `synth_xilinx -nodsp` "
           "LUTs; energy = the multiplier library's switching proxy (gate toggles per operation of the `abc -g` "
           "netlist on NN-shaped inputs) times operations per inference; every circuit behind the numbers is generated "
           "as Verilog, simulated against its numpy model and synthesized. Counts assume hls4ml's dataflow at reuse "
           "factor 1 (one multiplier and accumulator per weight, one requantizer per output channel).\n"]
    if d is None:
        return "\n".join(out) + missing("bench/quant_cost.py")
    if not d.get("architecture_true"):
        out.append("These figures predate constant-weight pricing (issue 33): their multiplier LUTs are generic "
                   "circuits, one per weight, which overstates the dataflow's multipliers (see \"Multipliers with "
                   "constant weights\"); the energy proxy and the quantization figures are unaffected.\n")
    out.append(f"cnn trained {d['epochs']} epochs on {d['limit_train']} images; test accuracy on the 10,000 test "
               f"images. `acc deployed`: for LSQ/LSQ+ the learned steps rounded to powers of two and offsets folded "
               f"into biases (what hls4ml computes); energy relative to fixed-w8a8.\n")
    out.append(table([{"s": r["scheme"], "at": f(r["acc_trained"], 4), "ad": f(r["acc_deployed"], 4),
                       "k": r["quant_kind"], "u": f"{r['quant_ops_unfused']:,}", "fu": f"{r['quant_ops_fused']:,}",
                       "l": f"{r['luts'] / 1e6:.2f} M", "lq": f"{r['luts_quant']:,}", "e": f(r["rel_energy"]),
                       "q": pct(r["quant_share"]), "h": r["hls4ml_emits"]} for r in d["rows"]],
                     [("scheme", "s"), ("acc trained", "at"), ("acc deployed", "ad"), ("requant kind", "k"),
                      ("quant ops unfused", "u"), ("fused", "fu"), ("LUTs", "l"), ("LUTs quant.", "lq"),
                      ("energy", "e"), ("quant. share", "q"), ("hls4ml emits it", "h")],
                     {"at", "ad", "u", "fu", "l", "lq", "e", "q"}))
    p = d["per_op"]
    base = p["shift"]
    out.append("\nOne requantization of a 24-bit accumulator to 8 bits with ReLU:\n")
    names = {"shift": "constant shift + round half to even + saturate", "varshift": "per-channel shift (barrel shifter)",
             "mult": "16-bit fixed-point multiplier + shift + round + saturate"}
    out.append(table([{"c": names[k], "l": p[k]["luts"], "ld": p[k].get("luts_with_dsp", ""), "d": p[k].get("dsp", ""),
                       "t": f(p[k]["toggles_per_op"], 1),
                       "r": f"{p[k]['luts'] / base['luts']:.1f}x, {p[k]['toggles_per_op'] / base['toggles_per_op']:.1f}x"}
                      for k in ("shift", "varshift", "mult")],
                     [("requantizer", "c"), ("LUTs (no DSP)", "l"), ("with DSPs: LUTs", "ld"), ("DSPs", "d"),
                      ("gate toggles / op", "t"), ("vs shift (area, energy)", "r")], {"l", "ld", "d", "t"}))
    rows = {r["scheme"]: r for r in d["rows"]}
    savings = [1 - r["energy"] / r["energy_unfused"] for r in d["rows"] if r.get("energy_unfused")]
    area = p["mult"]["luts"] / base["luts"]
    energy = p["mult"]["toggles_per_op"] / base["toggles_per_op"]
    f8, l8 = rows.get("fixed-w8a8"), rows.get("lsq+-w8a8")
    f4, l4 = rows.get("fixed-w4a4"), rows.get("lsq+-w4a4")
    out.append("\nAgainst the two published claims:")
    out.append(f"- Unified (shift-only) quantization modules, Geng et al. 2019, ~15x less area and ~9x less energy per "
               f"quantization operation than a multiplier-based one: same direction, larger factors here, "
               f"{area:.1f}x LUTs and {energy:.1f}x energy (a 24x16 multiplier in LUTs against their ASIC design; with "
               f"DSPs allowed Yosys maps the multiplier to {p['mult'].get('dsp', '?')} DSP48 and "
               f"{p['mult'].get('luts_with_dsp', '?')} LUTs). Fusing bias, batch-norm and activation into one "
               f"requantization per output element saves {pct(min(savings))} to {pct(max(savings))} of the total "
               f"energy across the schemes: multiplications, accumulations and weight reads dominate this 0.66 MMAC "
               f"network.")
    if f8 and l8 and f4 and l4:
        out.append(f"- LSQ with scale and offset, ~0.1% more accuracy for ~3x less energy efficiency: lsq+ is "
                   f"{100 * (l8['acc_trained'] - f8['acc_trained']):+.2f} pp (8 bit) and "
                   f"{100 * (l4['acc_trained'] - f4['acc_trained']):+.2f} pp (4 bit) over fixed point as trained, "
                   f"{100 * (l8['acc_deployed'] - f8['acc_deployed']):+.2f} / "
                   f"{100 * (l4['acc_deployed'] - f4['acc_deployed']):+.2f} pp as deployed; its energy is "
                   f"{l8['rel_energy'] / f8['rel_energy']:.2f}x (8 bit) and {l4['rel_energy'] / f4['rel_energy']:.2f}x "
                   f"(4 bit) that of fixed point, far from 3x: in a fully unrolled dataflow the MAC array dwarfs one "
                   f"requantizer per channel (quantization share {pct(l8['quant_share'])} and "
                   f"{pct(l4['quant_share'])}).")
    out.append("")
    return "\n".join(out)


def corpus() -> str:
    d = load("corpus")
    out = ["## Models users bring: what converts, and what equals Keras\n",
           "Command: `.venv/bin/python bench/corpus.py` (the same models as `tests/test_corpus.py`, from "
           "`approxhls/models/corpus.py`, weights seeded over each quantizer's range). Each model is converted under "
           "io_parallel and io_stream and verified: random codes of its input type (with the all-zero and all-maximum "
           "corners) through Keras, hls4ml's C-simulation and the emulator, every output element compared. "
           "\"derived\" is the layer-by-layer derivation (yes: every layer exact by its types; no: a layer is not; "
           "unknown: a layer's exactness depends on its values), \"claim\" what the project says after verification.\n"]
    if d is None:
        return "\n".join(out) + missing("bench/corpus.py")
    word = {True: "yes", False: "no", None: "unknown"}
    rows = []
    for r in d["rows"]:
        reasons = "; ".join(f"{k}: {v}" for k, v in {**r["not_exact"], **r["unknown"]}.items())
        rows.append({"m": r["model"], "io": r["io_type"], "what": r["what"], "dv": word[r["derived"]],
                     "cl": word[r["claim"]], "mm": f"{r['mismatched_samples']} / {r['samples']}",
                     "md": f(r["max_abs_diff"], 4), "ca": f(r["class_agreement"], 3),
                     "eq": "yes" if r["emulator_equals_csim"] else "**no**", "why": reasons})
    out.append(table(rows, [("model", "m"), ("io type", "io"), ("layers", "what"), ("derived", "dv"), ("claim", "cl"),
                            ("samples differing from Keras", "mm"), ("max abs diff", "md"), ("class agreement", "ca"),
                            ("emulator == C-sim", "eq"), ("not (or not known) exact, and why", "why")],
                     {"mm", "md", "ca"}))
    n = len(d["rows"])
    emu = sum(r["emulator_equals_csim"] for r in d["rows"])
    exact = [r for r in d["rows"] if r["derived"] is True]
    ok = sum(r["mismatched_samples"] == 0 for r in exact)
    unknown = [r for r in d["rows"] if r["derived"] is None]
    out.append(f"\nThe emulator equals the C-simulation in {emu} of {n} conversions. Of the {len(exact)} conversions "
               f"derived exact, {ok} equal Keras on every verified sample (a derived-exact conversion that differed "
               f"would claim false). {len(unknown)} conversions have layers whose exactness the types do not decide; "
               f"they make no claim ({sum(r['mismatched_samples'] == 0 for r in unknown)} of them agreed with Keras on "
               f"all samples).\n")
    return "\n".join(out)


def _type_short(t: str | None) -> str:
    """fixed<13,7,TRN,WRAP,0> / ap_ufixed<8,0> -> 13,7 / u8,0 (the widths; rounding and overflow left out)."""
    if not t:
        return "?"
    inner = t[t.index("<") + 1 : t.rindex(">")].split(",")
    return ("u" if "ufixed" in t else "") + ",".join(p.strip() for p in inner[:2])


def _vs_cell(r: dict | None, samples: int) -> str:
    """A C-simulation against Keras: differing samples, largest difference, class agreement (or why none ran)."""
    if not r:
        return ""
    if "vs_keras" not in r:
        return ("refused: " if r.get("refused") else "error: ") + r.get("error", "?").split("\n")[0][:90]
    v = r["vs_keras"]
    return f"{v['mismatched_samples']}/{samples} · {v['max_abs_diff']:.3g} · {v['class_agreement']:.3f}"


CLAIM = {True: "exact", False: "not exact", None: "no claim"}


def _approx_cell(rec: dict | None) -> str:
    if rec is None:
        return ""
    a = rec.get("approxhls") or {}
    cell = _vs_cell(a, rec["samples"])
    if "vs_keras" not in a:
        return cell
    flags = [f"claims {CLAIM[a.get('bit_exact')]}"]
    v = rec.get("verdicts") or {}
    if a.get("emulator_vs_csim"):
        flags.append(f"**emulator != C-sim in {a['emulator_vs_csim']}**")
    if a.get("false_model_claim"):
        flags.append("**false bit_exact**")
    if a.get("false_layer_claims"):
        flags.append("**false layer claim: " + ", ".join(b["layer"] for b in a["false_layer_claims"]) + "**")
    if v.get("worse"):
        flags.append("**further from Keras than " + "; ".join(v["worse"]) + "**")
    return cell + " (" + "; ".join(flags) + ")"


def _widths_cell(approx: dict | None, hls: dict | None, bit_exact: dict | None) -> str:
    """Per Dense/Conv layer, accumulator/result types: approxhls · hls4ml · hls4ml bit_exact."""
    layers = {}
    for i, r in enumerate((approx, hls, bit_exact)):
        for name, types in ((r or {}).get("widths") or {}).items():
            acc, res = _type_short(types.get("accum_t")), _type_short(types.get("result_t"))
            layers.setdefault(name, ["–"] * 3)[i] = acc if acc == res else f"{acc}/{res}"
    return "; ".join(f"{name}: {' · '.join(w)}" for name, w in layers.items())


def conformance_rows(d: dict) -> list[dict]:
    """One row per model x io type: hls4ml (alone, bit_exact) once, approxhls on the test's model and its twin."""
    groups: dict[tuple, dict] = {}
    for rec in d["cases"]:
        g = groups.setdefault((rec["model"], rec["io_type"]), {})
        g["test" if rec["api"] == rec["test_api"] else "twin"] = rec
    rows = []
    for (model, io), g in groups.items():
        first = g.get("test") or g["twin"]
        approx_of = (g.get("test") or {}).get("approxhls") or (g.get("twin") or {}).get("approxhls")
        bugs = sorted({b for r in g.values() for b in r.get("known_bugs", {}).values()})
        rows.append({"m": model, "t": first["source"].split("::")[-1], "io": io.removeprefix("io_"),
                     "api": "seq" if first["test_api"] == "sequential" else "fn",
                     "h": _vs_cell(first.get("hls4ml"), first["samples"]),
                     "b": _vs_cell(first.get("hls4ml_bit_exact"), first["samples"]),
                     "a": _approx_cell(g.get("test")), "w": _approx_cell(g.get("twin")),
                     "wd": _widths_cell(approx_of, first.get("hls4ml"), first.get("hls4ml_bit_exact")),
                     "bug": "; ".join(bugs)})
    return rows


def _part(case: dict, key: str) -> dict:
    """One conversion's record in a conformance case ({} when it did not run)."""
    return case.get(key) or {}


def conformance_summary(d: dict) -> str:
    cases = d["cases"]
    v = [c.get("verdicts") or {} for c in cases]
    converted = [c for c in cases if "vs_keras" in _part(c, "approxhls")]
    refused = sum(bool(_part(c, "approxhls").get("refused")) for c in cases)
    exact = sum(c["approxhls"]["exact"] for c in converted)
    hls_exact, be_exact = (sum(bool(_part(c, k).get("exact")) for c in cases) for k in ("hls4ml", "hls4ml_bit_exact"))
    emulator_bad, worse, false_claims = (sum(x.get(k) is False for x in v) for k in ("emulator", "never_worse", "claims"))
    xfails = sum(bool(c.get("known_bugs")) for c in cases)
    minutes = (d.get("seconds_before", 0) + d.get("seconds_this_run", 0)) / 60
    return (f"{len(cases)} of {d['cases_total']} cases run (commit {d['commit']}, hls4ml {d['hls4ml_version']}, "
            f"C-simulations at {d['csim_opt']}, {minutes:.0f} min). approxhls converted {len(converted)} "
            f"({refused} refused, {len(cases) - len(converted) - refused} failed otherwise); {exact} equal Keras on "
            f"every element, against {hls_exact} for hls4ml alone and {be_exact} for hls4ml with bit_exact=True. "
            f"Rules broken: the emulator differs from the C-simulation in {emulator_bad} conversions; approxhls is "
            f"further from Keras than an hls4ml conversion in {worse}; a claim of exactness is false in "
            f"{false_claims}. {xfails} cases carry a known approxhls conversion bug (a strict xfail in the tests, "
            f"named in the last column).\n")


def conformance() -> str:
    d = load("conformance")
    scope = (d or {}).get("scope", "all")
    command = "bench/conformance.py" + (" --default" if scope == "default" else "")
    what = {"default": f"the default test run's cases of `tests/conformance/`, which hold every layer kind; the "
                       f"catalog has {(d or {}).get('catalog_cases', '?')}, the others run with `make test-slow`",
            "only": "a selection of the cases of `tests/conformance/`"}.get(scope, "every case of `tests/conformance/`")
    out = ["## Conformance with hls4ml's own test models\n",
           f"Command: `.venv/bin/python {command}` ({what}). "
           "Every model and parametrization of hls4ml 1.3.0's test_qkeras.py, test_softmax.py, test_pooling.py, "
           "test_merge.py, test_keras_api.py and test_cnn_mnist_qkeras.py whose layers hls4ml converts for "
           "Vivado/Vitis, built as the test builds it (seeded weights, the test's input distribution put on the grid "
           "of the input type hls4ml gives the model) and as its twin (functional for a Sequential test model, and "
           "the other way round). Each cell compares a C-simulation with Keras on the same inputs: samples differing "
           "in any element / samples · largest absolute difference · class agreement (argmax over the last axis). "
           "hls4ml converts the test's model as the test does, alone and with `bit_exact=True`; approxhls converts "
           "the test's model and the twin with `convert --verify 20`, and its cell gives the project's claim and "
           "any broken rule (the emulator against the C-simulation on every element; a layer said exact where a "
           "difference from Keras arises, from the C-simulation's trace of every layer; further from Keras than "
           "hls4ml). Widths: accumulator/result of each Dense/Conv layer, approxhls (test's model) · hls4ml · "
           "hls4ml bit_exact.\n"]
    if d is None:
        return "\n".join(out) + missing("bench/conformance.py")
    out.append(conformance_summary(d))
    out.append(table(conformance_rows(d), [("model", "m"), ("test", "t"), ("io", "io"), ("test API", "api"),
                                           ("hls4ml alone", "h"), ("hls4ml bit_exact", "b"),
                                           ("approxhls, test's model", "a"), ("approxhls, twin", "w"),
                                           ("widths (approxhls · hls4ml · bit_exact)", "wd"),
                                           ("known approxhls bug", "bug")]))
    return "\n".join(out) + "\n"


def third_party_rows(d: dict) -> list[dict]:
    """One row per model: how Keras loaded it, its inputs, hls4ml alone and bit_exact, approxhls with its flags."""
    rows = []
    for rec in sorted(d["models"], key=lambda m: m["model"]):
        if not rec.get("loaded"):
            why = rec["load_error"].split("\n")[0].split(". ")[0].replace("`", "'").replace("|", "/")
            rows.append({"m": rec["model"], "k": "not loaded by Keras: " + why})
            continue
        kinds = list(dict.fromkeys(rec["layers"]))
        rows.append({"m": rec["model"], "k": f"{rec['keras_class']}: {', '.join(kinds)}",
                     "i": f"{tuple(rec['input_shape'])} {rec['inputs']}",
                     "h": _vs_cell(rec.get("hls4ml"), rec["samples"]),
                     "b": _vs_cell(rec.get("hls4ml_bit_exact"), rec["samples"]), "a": _approx_cell(rec),
                     "wd": _widths_cell((rec.get("approxhls") or {}), rec.get("hls4ml"), rec.get("hls4ml_bit_exact"))})
    return rows


def _third_party_rules(loaded: list[dict]) -> dict:
    """Conversions breaking each rule, and the false claims."""
    v = [m.get("verdicts") or {} for m in loaded]
    return {"emulator": sum(x.get("emulator") is False for x in v),
            "worse": sum(x.get("never_worse") is False for x in v),
            "false_claims": sum(m.get("false_claims", 0) for m in loaded)}


def _third_party_counts(d: dict) -> dict:
    loaded = [m for m in d["models"] if m.get("loaded")]
    converted = [m for m in loaded if "vs_keras" in (m.get("approxhls") or {})]
    count = {k: sum(bool((m.get(k) or {}).get("exact")) for m in loaded)
             for k in ("approxhls", "hls4ml", "hls4ml_bit_exact")}
    count.update(_third_party_rules(loaded), models=len(d["models"]), loaded=len(loaded), converted=len(converted),
                 refused=sum(bool((m.get("approxhls") or {}).get("refused")) for m in loaded),
                 same=sum(_same_distance(m) for m in converted))
    count["failed"] = count["loaded"] - count["converted"] - count["refused"]
    return count


def third_party_summary(d: dict) -> str:
    c = _third_party_counts(d)
    return (f"{c['models']} models run (commit {d['commit']}, hls4ml {d['hls4ml_version']}, {d['samples']} seeded "
            f"samples each (seed {d['seed']}), {d['io_type']}, C-simulations at {d['csim_opt']}, "
            f"{(d.get('seconds_before', 0) + d['seconds']) / 60:.0f} min); Keras {d['tensorflow_version']} loads "
            f"{c['loaded']}. approxhls converted {c['converted']} ({c['refused']} refused, {c['failed']} failed "
            f"otherwise); {c['approxhls']} equal Keras on every element, against {c['hls4ml']} for hls4ml alone and "
            f"{c['hls4ml_bit_exact']} for hls4ml with bit_exact=True. Rules broken: the emulator differs from the "
            f"C-simulation in {c['emulator']} conversions; approxhls is further from Keras than an hls4ml conversion "
            f"in {c['worse']}; {c['false_claims']} false claims of exactness (model or layer). approxhls' "
            f"C-simulation is exactly as far from Keras as hls4ml alone's (the same differing samples, largest "
            f"difference and class agreement) on {c['same']} of {c['converted']} converted models.\n")


def _same_distance(rec: dict) -> bool:
    keys = ("mismatched_samples", "max_abs_diff", "class_agreement")
    a, h = rec["approxhls"]["vs_keras"], (rec.get("hls4ml") or {}).get("vs_keras")
    return h is not None and all(a[k] == h[k] for k in keys)


def third_party() -> str:
    d = load("third_party")
    names = " ".join(sorted(m["model"] for m in (d or {}).get("models", [])))
    out = ["## Models nobody on the team wrote: hls4ml's example models\n",
           "Command: `git clone https://github.com/fastmachinelearning/example-models`, then `.venv/bin/python "
           "bench/third_party.py --models example-models/keras" + (f" --only {names}" if names else "") + "` (the "
           "project does not vendor these files). Every `NAME.json` + `NAME_weights.h5` pair is loaded as published "
           "(Sequential or functional) and run through the conformance harness of the section above, on seeded "
           "inputs drawn from the distribution in the table and put on the grid of hls4ml's input type: hls4ml "
           "converts it as a user would (`config_from_keras_model(granularity=\"name\")`, Vitis), alone and with "
           "`bit_exact=True`; approxhls with `convert --verify 20`. Cells as in the conformance table: samples "
           "differing from Keras in any element / samples · largest absolute difference · class agreement, and "
           "approxhls' claim and any broken rule.\n"]
    if d is None:
        return "\n".join(out) + missing("bench/third_party.py --models example-models/keras")
    out.append(third_party_summary(d))
    out.append(table(third_party_rows(d), [("model", "m"), ("Keras model", "k"), ("inputs", "i"),
                                           ("hls4ml alone", "h"), ("hls4ml bit_exact", "b"), ("approxhls", "a"),
                                           ("widths (approxhls · hls4ml · bit_exact)", "wd")]))
    found = [f"- {m['model']}: {x}" for m in sorted(d["models"], key=lambda m: m["model"])
             for x in m.get("findings") or []]
    out.append("\nFindings (broken rules, failures other than a refusal, types wider than the emulator's integer "
               "codes): " + ("none." if not found else "\n" + "\n".join(found)))
    if d.get("skipped"):
        out.append("\nNot run: " + "; ".join(f"{n} ({why})" for n, why in d["skipped"].items()) + ".")
    return "\n".join(out) + "\n"


def import_library() -> str:
    d = load("import_library")
    out = ["## A published multiplier library, imported in bulk\n",
           "Command: `.venv/bin/python bench/import_library.py --library DIR...` (here the 8x8 sets of EvoApprox, "
           "`git clone https://github.com/ehw-fit/evoapproxlib`, `--library evoapproxlib/multiplers/8x8_unsigned "
           "evoapproxlib/multiplers/8x8_signed`). Every C model is tabulated, its Verilog simulated exhaustively with "
           "Icarus against it and synthesized with Yosys like the built-in designs; the search compares candidate "
           "sets on the same budget.\n"]
    if d is None:
        return "\n".join(out) + missing("bench/import_library.py --library DIR")
    out.append(_import_counts(d))
    if d["refused"]:
        out.append("Refused: " + "; ".join(f"{r['files']}: {r['reason']}" for r in d["refused"]) + "\n")
    out.append("![imported front](import_library.png)\n")
    rows = sorted(d["designs"], key=lambda r: (r["signed"], r["mae_pct"]))
    out.append(table([{"n": r["name"], "s": "signed" if r["signed"] else "unsigned", "m": f(r["mae_pct"], 4),
                       "w": f(r["wce_pct"], 2), "l": r["luts"], "rl": f(r["rel_luts"], 2),
                       "re": f(r["rel_energy"], 2)} for r in rows],
                     [("design", "n"), ("kind", "s"), ("MAE %", "m"), ("WCE %", "w"), ("LUTs", "l"), ("rel. LUTs", "rl"),
                      ("rel. energy", "re")], {"m", "w", "l", "rl", "re"}))
    out += _exact_imports(d["designs"])
    if d.get("searches"):
        out += _import_searches(d["searches"])
    out.append("")
    return "\n".join(out)


def _exact_imports(designs: list[dict]) -> list[str]:
    exact_like = [r for r in designs if r["mae_pct"] == 0 and not r["signed"]]
    if not exact_like:
        return []
    return [f"\nThe library's exact unsigned designs ({', '.join(r['name'] for r in exact_like)}) need "
            f"{', '.join(f(r['rel_luts'], 2) for r in exact_like)}x the LUTs of `exact_u8`: gate-level ASIC "
            f"netlists map to LUTs less compactly than the `*` that Yosys maps itself."]


def _import_counts(d: dict) -> str:
    c = d["counts"]
    return (f"{d['label']} at commit `{(d.get('commit') or '?')[:12]}`: {c['added'] + c['unchanged']} designs "
            f"imported (every one's Verilog equal to its C model on all 65,536 operand pairs), {c['skipped']} files "
            f"skipped (technology-mapped variants, the same circuit in several Pareto sets), {c['refused']} refused; "
            f"import {d['import_seconds']} s, characterization "
            + (f"{d['characterize_seconds']} s" if d['characterize_seconds'] >= 1 else
               f"{d['characterize_seconds']} s (Yosys results reused from the home directory's catalog: this run "
               f"did not synthesize; a fresh home re-synthesizes every design)")
            + f" on {d['cores']} cores.\n")


def _import_searches(searches: list[dict]) -> list[str]:
    """The ALWANN searches over each candidate set, and the protocol they followed."""
    out = ["\nALWANN search (cnn, Fashion-MNIST, dataflow, weights tuned, same budget) per candidate set:\n",
           table([{"c": s["candidates"], "n": s["designs"], "e": f(s["exact_test_acc"], 4),
                   "b": "" if s["best_rel_energy_within_0.5pp"] is None else f(s["best_rel_energy_within_0.5pp"]),
                   "t": f(s["test_acc"], 4), "l": s["loss_pp"], "v": s["evaluations"], "w": s["wall_s"]}
                  for s in searches],
                 [("candidates", "c"), ("designs", "n"), ("exact test acc.", "e"),
                  ("best rel. energy within 0.5 pp", "b"), ("test acc.", "t"), ("loss (pp)", "l"),
                  ("evaluations", "v"), ("wall (s)", "w")], {"n", "e", "b", "t", "l", "v", "w"})]
    if searches[0].get("protocol"):
        out.append("\n" + searches[0]["protocol"])
    else:  # produced before the validation protocol (see the ALWANN section)
        out.append("\nThese searches predate the validation protocol: their point was chosen within 0.5 pp on "
                   "the test set itself. Re-run `bench/import_library.py` to choose on held-out validation images.")
    return out


def board() -> str:
    d = load("board")
    out = ["## The board path against a simulated board\n"]
    if d is None:
        return "\n".join(out) + missing("bench/board.py")
    out.append(d["method"] + "\n")
    out.append(table([{"f": r["fault"], "i": r["injected"], "s": r["user_sees"].replace("|", "/"),
                       "r": "yes" if r["recovered"] else "**no**"} for r in d["faults"]],
                     [("fault", "f"), ("injected", "i"), ("what the user sees", "s"), ("next call works", "r")]))
    not_rec = [r["fault"] for r in d["faults"] if not r["recovered"]]
    out.append(f"\n{len(d['faults']) - len(not_rec)} of {len(d['faults'])} faults leave the board usable for the next "
               f"call" + (f"; not recovered: {', '.join(not_rec)} (by design: a core that never idles is broken "
                          f"hardware, and the message says so)" if not_rec else "") + ".")
    if d.get("self_test"):
        out.append(f"\nSelf-test on the simulated board (golden vectors from the wrapper's C-simulation): "
                   f"{d['self_test']['summary']}.")
    if d.get("throughput_simulated"):
        lat = d["single_sample_simulated"]["end_to_end_s"]
        out.append(f"\nWhat `approxhls run` measures, here on the simulated board (SIMULATION: g++ speed, not the "
                   f"FPGA's): single-sample latency end to end p50 {lat['p50'] * 1e6:.0f} us, p99 "
                   f"{lat['p99'] * 1e6:.0f} us over {lat['n']} samples; throughput by batch:\n")
        out.append(table([{"b": r["batch"], "e": f"{r['end_to_end_samples_per_s']:.0f}",
                           "h": f"{r['hardware_samples_per_s']:.0f}", "m": f(r["dram_mb_per_s"], 2),
                           "s": pct(r["host_share"])} for r in d["throughput_simulated"]],
                         [("batch", "b"), ("end to end (samples/s)", "e"), ("hardware only (samples/s)", "h"),
                          ("DRAM (MB/s)", "m"), ("host share of the time", "s")], {"b", "e", "h", "m", "s"}))
    if d.get("unverified"):
        out.append("\nNot verified without a real board and Vivado:\n" + "\n".join(f"- {x}" for x in d["unverified"]))
    out.append("")
    return "\n".join(out)


def _hostile_faults(r: dict) -> str:
    """What went wrong in one attempt beyond its outcome: a traceback, files lost or changed, a hang, a command run
    from a name, a half-written directory left; empty when none."""
    faults = [("traceback", r["traceback"]), (f"{len(r['lost'])} lost", r["lost"]),
              (f"{len(r['changed'])} changed", r["changed"]), ("hung", r["hung"]), ("injected", r["markers"]),
              ("left half-written", r["leftovers"])]
    return ", ".join(f"**{name}**" for name, bad in faults if bad)


def _hostile_cell(r: dict) -> str:
    """What the user read: the error (or interrupt) line; for a command that worked, its last line of output."""
    text = r["message"] if r["outcome"] not in ("worked", "recovered") else r.get("stdout_last", "")
    text = text if len(text) <= 150 else text[:147] + "..."
    return text.replace("|", "\\|")


def _hostile_summary(rows: list[dict]) -> str:
    """One sentence: attempts, outcomes, and every way an attempt can have gone wrong, counted."""
    count = {k: sum(bool(r[k]) for r in rows) for k in ("traceback", "lost", "changed", "hung", "markers",
                                                       "leftovers")}
    files = {k: sum(len(r[k]) for r in rows) for k in ("lost", "changed")}
    outcomes = {}
    for r in rows:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    unexpected = [r["attempt"] for r in rows if r["outcome"] != r["expected"]]
    return (f"{len(rows)} attempts in {len({r['class'] for r in rows})} classes: "
            + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items(), key=lambda kv: -kv[1]))
            + f". Tracebacks: {count['traceback']}; files lost: {files['lost']} (changed: {files['changed']}); "
            f"hangs: {count['hung']}; injections (a PWNED file appeared): {count['markers']}; half-written "
            f"directories left: {count['leftovers']}; outcomes other than the one expected: {len(unexpected)}"
            + (f" ({', '.join(unexpected)})" if unexpected else "") + ".\n")


def _hostile_class_row(c: str, what: str, rows: list[dict]) -> dict:
    mine = [r for r in rows if r["class"] == c]
    return {"c": c, "w": what, "n": len(mine),
            "o": ", ".join(f"{sum(r['outcome'] == o for r in mine)} {o}" for o in sorted({r["outcome"] for r in mine}))}


def hostile() -> str:
    d = load("hostile")
    out = ["## Hostile and careless use of the command line\n"]
    if d is None:
        return "\n".join(out) + missing("bench/hostile.py")
    rows = d["attempts"]
    out.append(f"Command: `.venv/bin/python bench/hostile.py` (commit {d['commit']}, {d['cpus']} CPUs, C-simulations "
               f"at {d['csim_opt']}, {d['wall_seconds']:.0f} s). {d['method']}\n")
    out.append(_hostile_summary(rows))
    by_class = [_hostile_class_row(c, what, rows) for c, what in d["classes"].items()
                if any(r["class"] == c for r in rows)]
    out.append(table(by_class, [("class", "c"), ("what was tried", "w"), ("attempts", "n"), ("outcomes", "o")],
                     {"n"}))
    out.append(f"\nEvery attempt (`$TMP` is the scratch directory; the directory named like code is "
               f"`` {d['hostile_name']} ``):\n")
    out.append(table([{"c": r["class"], "a": r["attempt"].replace("|", "\\|"), "o": r["outcome"],
                       "x": r["exit_code"], "m": _hostile_cell(r), "f": _hostile_faults(r) or "none",
                       "s": f"{r['seconds']:.1f}"} for r in rows],
                     [("class", "c"), ("attempt", "a"), ("outcome", "o"), ("exit", "x"), ("what the user read", "m"),
                      ("traceback, lost, hung, injected", "f"), ("s", "s")], {"x", "s"}))
    out.append("")
    return "\n".join(out)


SECTIONS = [header, multipliers, constant_weight, da_baseline, emulator, alwann, quant_cost, estimate, rule4ml,
            corpus, conformance, third_party, import_library, board, hostile]


def render() -> str:
    return "\n".join(s() for s in SECTIONS).rstrip() + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="exit 1 when docs/RESULTS.md is not what the data renders")
    args = ap.parse_args()
    text = render()
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} differs from what bench/results renders: run bench/render_results.py")
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
