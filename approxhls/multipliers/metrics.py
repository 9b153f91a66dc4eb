"""Error metrics of a multiplier table against the exact product, over all operand pairs (uniform).

Absolute metrics are in units of the product's LSB; the ``*_pct`` variants are relative to the
full-scale product 2^(2n) as the EvoApprox library reports them (2^16 for 8x8).
"""

from __future__ import annotations

import numpy as np


def error_metrics(approx: np.ndarray, exact: np.ndarray, bits: int) -> dict:
    approx = np.asarray(approx, dtype=np.int64)
    exact = np.asarray(exact, dtype=np.int64)
    err = (approx - exact).astype(np.float64)
    nz = exact != 0
    full_scale = float(2 ** (2 * bits))
    mae = float(np.abs(err).mean())
    wce = float(np.abs(err).max())
    return {
        "mae": mae,
        "wce": wce,
        "mre": float((np.abs(err[nz]) / np.abs(exact[nz])).mean()),
        "ep": float((err != 0).mean()),
        "bias": float(err.mean()),
        "variance": float(err.var()),
        "mse": float((err**2).mean()),
        "mae_pct": 100.0 * mae / full_scale,
        "wce_pct": 100.0 * wce / full_scale,
        "mre_pct": 100.0 * float((np.abs(err[nz]) / np.abs(exact[nz])).mean()),
        "ep_pct": 100.0 * float((err != 0).mean()),
        "bias_pct": 100.0 * float(err.mean()) / full_scale,
    }
