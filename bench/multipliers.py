"""The built-in multiplier library characterized: error metrics, Yosys LUTs/DSPs, the switching-energy proxy.

    .venv/bin/python bench/multipliers.py [--force]

Writes bench/results/multipliers.json and docs/multipliers.png (results are cached in the catalog; --force
recomputes every design with Yosys), and approxhls/multipliers/netlists.json, the gate netlists the HLS kernels'
C++ is written from (entries of unchanged designs are kept).
"""

from __future__ import annotations

import argparse
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--force", action="store_true", help="re-run Yosys and the energy proxy for every design")
    ap.add_argument("--out", default="bench/results/multipliers.json")
    ap.add_argument("--plot", default="docs/multipliers.png")
    args = ap.parse_args()

    from approxhls.multipliers import catalog
    from approxhls.multipliers.registry import builtin_designs
    from approxhls.multipliers.synth import yosys_version
    from approxhls.plots import plot_multiplier_tradeoffs
    from approxhls.report import write_json

    from approxhls.multipliers.netlist import write_shipped

    entries = catalog.characterize(list(builtin_designs()), force=args.force)
    write_json(args.out, {"designs": entries, "yosys": yosys_version()})
    print(f"wrote {write_shipped(list(builtin_designs()))}")
    plot_multiplier_tradeoffs(entries, args.plot)
    print(f"wrote {args.out} and {args.plot}")


if __name__ == "__main__":
    sys.exit(main())
