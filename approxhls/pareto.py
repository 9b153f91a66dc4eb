"""Non-dominated points (all objectives minimised)."""

from __future__ import annotations

import numpy as np


def pareto_mask(points) -> np.ndarray:
    """True for each row of ``points`` (n, k) that no other row dominates (<= everywhere, < somewhere)."""
    p = np.asarray(points, dtype=np.float64)
    n = len(p)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = np.all(p <= p[i], axis=1) & np.any(p < p[i], axis=1)
        if dominated.any():
            keep[i] = False
    return keep
