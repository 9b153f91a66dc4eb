"""Confidence intervals for accuracies measured on a finite test set (95% unless told otherwise)."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.96


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (an accuracy)."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


def paired_difference_interval(a: np.ndarray, b: np.ndarray, z: float = Z95) -> tuple[float, float, float]:
    """(mean, low, high) of mean(a - b) for per-sample 0/1 outcomes of two classifiers on the same samples (normal
    approximation of the paired difference; tighter than two independent intervals since both see the same images)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    n = len(d)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    m = float(d.mean())
    h = z * float(d.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return m, m - h, m + h
