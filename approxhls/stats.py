"""Confidence intervals for accuracies measured on a finite test set (95% unless told otherwise).

Both take arrays too (one interval per count, or per row of outcomes), so that their coverage can be checked on
thousands of simulated test sets at once."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.96


def _plain(x):
    """A Python float for a 0-d result (what the JSON reports hold), the array otherwise."""
    return float(x) if np.ndim(x) == 0 else x


def wilson_interval(k, n: int, z: float = Z95) -> tuple:
    """Wilson score interval of a proportion k/n (an accuracy); ``k`` may be an array of counts."""
    if n == 0:
        return (math.nan, math.nan)
    p = np.asarray(k, dtype=np.float64) / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return _plain(c - h), _plain(c + h)


def paired_difference_interval(a, b, z: float = Z95) -> tuple:
    """(mean, low, high) of mean(a - b) for per-sample 0/1 outcomes of two classifiers on the same samples (normal
    approximation of the paired difference; tighter than two independent intervals since both see the same images).
    Samples run along the last axis: 2-d outcomes give one interval per row."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    n = d.shape[-1]
    if n == 0:
        return (math.nan, math.nan, math.nan)
    m = d.mean(axis=-1)
    h = z * d.std(axis=-1, ddof=1) / math.sqrt(n) if n > 1 else np.full_like(m, math.nan)
    return _plain(m), _plain(m - h), _plain(m + h)
