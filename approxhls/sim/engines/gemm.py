"""Sums by matrix products on GEMM rows: exact products, or M(x, w) = base*x*w + F(x) @ G(w) with integer factors
(:mod:`approxhls.sim.decompose`) as one product over operands widened by a lookup.

Matrix products run in float32 when the largest possible |sum| is below 2^24, in float64 below 2^53 (both exact
for integers); exact products past that run in int64, a decomposition past it is not a GEMM engine's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from approxhls.fixedpoint import FLOAT32_SIGNIFICANT
from approxhls.sim.engines.base import ROWS, Engine, Sums

F32_LIMIT = 2**FLOAT32_SIGNIFICANT
F64_LIMIT = 2**53


def exact_dtype(bound: int, wide=np.int64):
    """The narrowest float type whose sums below ``bound`` are exact integers, else ``wide``."""
    return np.float32 if bound < F32_LIMIT else (np.float64 if bound < F64_LIMIT else wide)


class ExactGemm:
    """Exact products: one matrix product of the codes themselves (float when exact by the bound, else int64), on
    rows of any integer dtype (the product's own cast converts them). Inputs x_min..x_max."""

    features = None  # the codes are their own feature

    def __init__(self, W: np.ndarray, dtype, x_min: int, x_max: int):
        self.dtype, self.x_min, self.x_max = dtype, x_min, x_max
        self.weights = W.astype(dtype)

    def __call__(self, xc: np.ndarray) -> np.ndarray:
        return xc.astype(self.dtype) @ self.weights  # int64, or float values that are exact integers


class FeatureGemm:
    """x codes -> [base*x, F(x)] features by one lookup; one GEMM against the matching [W; G(W)] rows."""

    def __init__(self, dec, x_min: int, w_min: int, W: np.ndarray, dtype):
        self.x_min, self.dtype = x_min, dtype
        x_codes = np.arange(dec.F.shape[0]) + x_min
        cols = ([x_codes] if dec.base else []) + [dec.F[:, r] for r in range(dec.rank)]
        rows = ([W] if dec.base else []) + [dec.G[r][W - w_min] for r in range(dec.rank)]
        if not cols:  # a multiplier whose every product is 0: one zero feature keeps the shapes
            cols, rows = [np.zeros_like(x_codes)], [np.zeros_like(W)]
        self.features = np.stack(cols, axis=1).astype(dtype)  # (n_x, m): lookup row per input code
        self.x_max = x_min + len(self.features) - 1
        m = len(rows)
        self.weights = np.stack(rows, axis=1).reshape(W.shape[0] * m, W.shape[1]).astype(dtype)  # (k*m, out)

    def __call__(self, xc: np.ndarray) -> np.ndarray:
        a = self.features[np.asarray(xc, dtype=np.int64) - self.x_min]  # (rows, k, m)
        return a.reshape(len(xc), -1) @ self.weights  # float values that are exact integers (the finish reads them)


def decomposition_bound(dec, k: int, x_codes: np.ndarray, w_codes: np.ndarray) -> int:
    """The largest |sum| of k products by the decomposition's GEMM: per feature, max|f| x max|g|, added up."""
    fmax = [np.abs(x_codes).max()] * dec.base + [np.abs(dec.F[:, r]).max() for r in range(dec.rank)]
    gmax = [np.abs(w_codes).max()] * dec.base + [np.abs(dec.G[r]).max() for r in range(dec.rank)]
    return k * sum(int(f) * int(g) for f, g in zip(fmax, gmax))


@dataclass(eq=False)
class GemmEngine(Engine):
    """One kernel (ExactGemm or FeatureGemm) per weight group, on GEMM rows."""

    kernels: list
    method: str
    dtype: str
    label: str
    name = "gemm"
    reads = ROWS

    def sums(self, x: np.ndarray, group: int = 0) -> Sums:
        return Sums(self.kernels[group](x))


def build(layer) -> GemmEngine | None:
    return layer.gemm
