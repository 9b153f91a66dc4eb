"""Constant-weight characterization: what each multiplier costs when its weight is a constant (hls4ml's dataflow at
reuse factor 1), next to its generic (streamed-weight) cost.

For every built-in 8-bit design for unsigned activations, Yosys `synth_xilinx -nodsp` with the weight operand tied to
each magnitude 0..128 (an unsigned core's operand under sign-magnitude; |w| of an 8-bit two's complement weight). Means: over
the magnitudes of uniform 8-bit weights, and over bell-shaped weights (|round(N(0, 24))|, the shape of trained 8-bit
layers). Also writes the shipped cache (approxhls/multipliers/constant_weight.json) for these circuits.

    nice -n 10 .venv/bin/python bench/constant_weight.py [--jobs 2]

Prints a table, writes bench/results/constant_weight.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from render_results import results_path  # noqa: E402  (bench/, this script's directory)

# the headline designs (a quick search's candidates, bench/alwann.py --quick); a full run covers every built-in one
DESIGNS = ["exact_u8", "tam_u8_k7", "tam_u8_k8", "tam_u8_k10", "bam_u8_h2_v6", "bam_u8_h1_v8", "ppp_u8_j0_m2",
           "lsbt_u8_ka2_kb2", "drum_u8_k4", "mitchell_u8_w4", "kulkarni_u8_s8", "etm_u8_m3", "roba_u8_modeboth"]
CODES = range(0, 129)
BELL_SIGMA = 24.0


def builtin_designs() -> list[str]:
    """The headline designs, then every other built-in 8-bit design for unsigned activations a search may use."""
    from approxhls.search.network import candidate_catalog

    catalog, _ = candidate_catalog("builtin")
    return DESIGNS + sorted(n for n, e in catalog.items() if not e["signed"] and n not in DESIGNS and n != "exact_s8")


def bell_weights(n: int = 200_000, seed: int = 0) -> np.ndarray:
    """Histogram of |w| over codes 0..128 for w = round(N(0, sigma)) clipped to 8-bit two's complement."""
    w = np.clip(np.round(np.random.default_rng(seed).normal(0, BELL_SIGMA, n)), -128, 127).astype(int)
    return np.bincount(np.abs(w), minlength=129)[:129]


def uniform_weights() -> np.ndarray:
    return np.bincount(np.abs(np.arange(-128, 128)), minlength=129)[:129]


def _row(name: str, generic: dict, codes: list[int], jobs: int) -> tuple[dict, str]:
    """One design's constant-weight LUTs per code and their means over uniform and bell-shaped weights; its circuit's
    identity (for the shipped cache)."""
    from approxhls.multipliers.constweight import constant_luts, design_circuit
    from approxhls.multipliers.registry import get_design

    bell, uni = bell_weights()[codes], uniform_weights()[codes]
    c = design_circuit(get_design(name), x_signed=False)
    luts = constant_luts(c, codes, jobs=jobs)
    v = np.array([luts[k] for k in codes], dtype=float)
    return ({"design": name, "generic_luts": generic[name]["cost"]["luts"],
             "mean_uniform": round(float(v @ uni / uni.sum()), 2), "mean_bell": round(float(v @ bell / bell.sum()), 2),
             "max": int(v.max()), "zero_weight": int(luts[0]), "luts": {str(k): luts[k] for k in codes}}, c.ident)


def _relative_to_exact(rows: list[dict]) -> None:
    ex = next(r for r in rows if r["design"] == "exact_u8")
    for r in rows:
        r["rel_generic"] = round(r["generic_luts"] / ex["generic_luts"], 3)
        r["rel_bell"] = round(r["mean_bell"] / ex["mean_bell"], 3) if ex["mean_bell"] else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=None, help="designs (default: every built-in 8-bit design)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: two designs, eight codes (bench/results/quick/)")
    args = ap.parse_args()

    from approxhls.multipliers.catalog import characterize
    from approxhls.multipliers.constweight import constant_luts, exact_circuit, write_shipped
    from approxhls.multipliers.registry import get_design
    from approxhls.multipliers.synth import yosys_version
    from approxhls.report import format_table, write_json

    names = (args.only or DESIGNS)[:2] if args.quick else (args.only or builtin_designs())
    codes = list(range(0, 40, 5)) if args.quick else list(CODES)
    generic = {e["name"]: e for e in characterize([get_design(n) for n in names], progress=False)}
    rows, idents = [], []
    for name in names:
        row, ident = _row(name, generic, codes, args.jobs)
        rows.append(row)
        idents.append(ident)
    for x_signed in (False, True):  # the exact products the estimate and the baselines use (8-bit layers)
        idents.append(exact_circuit(8, x_signed, 8).ident)
        constant_luts(exact_circuit(8, x_signed, 8), codes, jobs=args.jobs)
    _relative_to_exact(rows)
    print(format_table([{k: v for k, v in r.items() if k != "luts"} for r in rows],
                       ["design", "generic_luts", "mean_uniform", "mean_bell", "max", "zero_weight", "rel_generic",
                        "rel_bell"]))
    out = results_path("constant_weight", args.quick)
    write_json(out, {"rows": rows, "codes": [codes[0], codes[-1]], "bell_sigma": BELL_SIGMA, "yosys": yosys_version(),
                     "method": "synth_xilinx -nodsp, weight operand tied, activations unsigned 8-bit"})
    if not args.quick:
        print(f"wrote {write_shipped(idents)}")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
