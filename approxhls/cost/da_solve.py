"""da4ml's solution of each constant matrix in an .npz file (imports numpy and da4ml only: it also runs as a script
in another interpreter, ``python da_solve.py FILE.npz``, which prints the result as JSON)."""

import json
import sys

import numpy as np

HARD_DC = 2


def solve_file(path) -> list[dict]:
    from da4ml.cmvm.api import solve
    from da4ml.cmvm.types import QInterval

    data = np.load(path)
    lo, hi = float(data["lo"]), float(data["hi"])
    out = []
    for k in range(int(data["n"])):
        w = data[f"w{k}"].astype(np.float64)
        # as hls4ml 1.3.0's distributed_arithmetic pass asks: HWConfig(adder_size=1, carry_size=-1), so an adder
        # costs its bits (about one LUT each on the carry chain), and a latency slack of DA_HARD_DC = 2
        sol = solve(w, qintervals=[QInterval(lo, hi, 1.0)] * w.shape[0], hard_dc=HARD_DC, adder_size=1, carry_size=-1)
        out.append({"cost": float(sol.cost), "latency": float(max(sol.latency))})
    return out


if __name__ == "__main__":
    print(json.dumps(solve_file(sys.argv[1])))
