"""Exact decompositions of a layer's product table, for emulation with ordinary matrix products.

Many approximate multipliers are x*w plus a low-rank error: M(x, w) = x*w + sum_k f_k(x) g_k(w) (truncation,
perforation and broken arrays are sums over partial-product bit planes; RoBA's error is -(x - x_r)(w - w_r));
others are separable outright, M = f(x) g(w) (DRUM, LSB truncation). With integer factors, a layer becomes
one GEMM over operands transformed by lookups, exact as long as the sums stay representable (checked by the
emulator). A decomposition is accepted only after F @ G reproduces the table exactly in integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_RANK = 16


@dataclass
class Decomposition:
    """table[x, w] = base * x*w + F[x, :] @ G[:, w], exactly, over the layer's codes."""

    method: str  # "exact", "separable", "low-rank"
    base: int  # 1 when the exact product is part of the decomposition, else 0
    F: np.ndarray  # (n_x, r) int64
    G: np.ndarray  # (r, n_w) int64

    @property
    def rank(self) -> int:
        return self.F.shape[1]

    def label(self) -> str:
        return self.method if self.method != "low-rank" else f"low-rank r={self.rank}"


def _preferred_order(values: np.ndarray) -> np.ndarray:
    """Column candidates: powers of two first (bit planes), then small magnitudes."""
    mag = np.abs(values)
    pow2 = (mag > 0) & ((mag & (mag - 1)) == 0)
    return np.lexsort((mag, ~pow2))


def _integer_factor(E: np.ndarray, codes: np.ndarray, rank: int):
    """E = F @ K with F = E[:, pivots] (integers) and K integral, or None."""
    chosen: list[int] = []
    for c in _preferred_order(codes):
        trial = chosen + [int(c)]
        if np.linalg.matrix_rank(E[:, trial].astype(np.float64)) == len(trial):
            chosen = trial
            if len(chosen) == rank:
                break
    if len(chosen) != rank:
        return None
    F = E[:, chosen]
    K, *_ = np.linalg.lstsq(F.astype(np.float64), E.astype(np.float64), rcond=None)
    Ki = np.round(K).astype(np.int64)
    if np.array_equal(F @ Ki, E):
        return F.astype(np.int64), Ki
    return None


def _factor(E: np.ndarray, x: np.ndarray, w: np.ndarray):
    if not E.any():
        return np.zeros((len(x), 0), np.int64), np.zeros((0, len(w)), np.int64)
    rank = int(np.linalg.matrix_rank(E.astype(np.float64)))
    if rank > MAX_RANK:
        return None
    found = _integer_factor(E, w, rank)
    if found is not None:
        return found
    found = _integer_factor(E.T, x, rank)  # pivot rows instead: E = H @ E[rows, :]
    if found is not None:
        Ft, Kt = found
        return Kt.T, Ft.T
    return None


def decompose(table: np.ndarray, x: np.ndarray, w: np.ndarray) -> Decomposition | None:
    """The cheapest exact decomposition of ``table`` (rows: x codes, columns: w codes), or None."""
    exact = x[:, None] * w[None, :]
    options = []
    for base in (1, 0):
        found = _factor(table - base * exact, x, w)
        if found is not None:
            F, G = found
            method = "exact" if base and F.shape[1] == 0 else ("separable" if not base and F.shape[1] == 1 else "low-rank")
            options.append(Decomposition(method, base, F, G))
    if not options:
        return None
    return min(options, key=lambda d: d.base + d.rank)


def decompose_used(table: np.ndarray, x: np.ndarray, w: np.ndarray, used: np.ndarray) -> Decomposition | None:
    """The cheapest exact decomposition of ``table`` on the weight codes a layer actually holds (``used``, a subset of
    ``w``): a layer's weights span a fraction of the codes, and the error restricted to them often has a lower rank
    (fewer bit planes). G is given over all of ``w`` (zero on unused codes, which the layer never looks up)."""
    cols = np.asarray(used) - w.min()
    # the restricted one first: on equal rank it is kept (None where its pivots give no integral factors)
    options = [d for d in (decompose(table[:, cols], x, np.asarray(used)), decompose(table, x, w)) if d is not None]
    if not options:
        return None
    best = min(options, key=lambda d: d.base + d.rank)
    if best.G.shape[1] == len(w):
        return best
    G = np.zeros((best.rank, len(w)), np.int64)
    G[:, cols] = best.G
    return Decomposition(best.method, best.base, best.F, G)
