"""Exact decompositions of a layer's product table, for emulation with ordinary matrix products.

Many approximate multipliers are x*w plus a low-rank error: M(x, w) = x*w + sum_k f_k(x) g_k(w) (truncation,
perforation and broken arrays are sums over partial-product bit planes; RoBA's error is -(x - x_r)(w - w_r));
others are separable outright, M = f(x) g(w) (DRUM, LSB truncation). With integer factors, a layer becomes
one GEMM over operands transformed by lookups, exact as long as the sums stay representable (checked by the
emulator). A decomposition is accepted only after F @ G reproduces the table exactly in integers.
"""

from __future__ import annotations

import hashlib
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


def _independent(E: np.ndarray, order: np.ndarray, rank: int) -> list[int]:
    """The first ``rank`` columns of E, in ``order``, each independent of those before it: a column is kept where its
    residual against the kept ones' orthonormal basis is above rounding (Gram-Schmidt, twice; one projection per
    column instead of a rank computation per trial)."""
    A = E.astype(np.float64)
    scale = float(np.abs(A).max()) or 1.0
    tol = scale * max(A.shape) * np.finfo(np.float64).eps * 64
    basis = np.zeros((A.shape[0], 0))
    chosen: list[int] = []
    for c in order:
        r = A[:, c].copy()
        for _ in range(2):
            r -= basis @ (basis.T @ r)
        norm = float(np.linalg.norm(r))
        if norm > tol:
            chosen.append(int(c))
            basis = np.column_stack([basis, r / norm])
            if len(chosen) == rank:
                break
    return chosen


def _solve(E: np.ndarray, chosen: list[int]):
    """E = F @ K with F = E[:, chosen] (integers) and K integral, or None."""
    F = E[:, chosen]
    K, *_ = np.linalg.lstsq(F.astype(np.float64), E.astype(np.float64), rcond=None)
    Ki = np.round(K).astype(np.int64)
    if np.array_equal(F @ Ki, E):
        return F.astype(np.int64), Ki
    return None


def _factor(E: np.ndarray, x: np.ndarray, w: np.ndarray):
    if not E.any():
        return np.zeros((len(x), 0), np.int64), np.zeros((0, len(w)), np.int64)
    cols = _independent(E, _preferred_order(w), MAX_RANK + 1)  # E's rank, and its pivot columns
    if len(cols) > MAX_RANK:
        return None
    found = _solve(E, cols)
    if found is not None:
        return found
    rows = _independent(E.T, _preferred_order(x), len(cols))  # pivot rows instead: E = H @ E[rows, :]
    found = _solve(E.T, rows) if len(rows) == len(cols) else None
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


_WHOLE: dict[bytes, Decomposition | None] = {}  # digest of (table, x, w) -> its decomposition
_WHOLE_LIMIT = 256


def whole_table(table: np.ndarray, x: np.ndarray, w: np.ndarray) -> Decomposition | None:
    """decompose() of a multiplier's whole table, remembered: every layer with the same multiplier and operand types
    asks for the same one (a search, per candidate network)."""
    h = hashlib.blake2b(digest_size=20)
    for a in (table, x, w):
        a = np.ascontiguousarray(a, dtype=np.int64)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    key = h.digest()
    if key not in _WHOLE:
        if len(_WHOLE) >= _WHOLE_LIMIT:
            _WHOLE.clear()
        _WHOLE[key] = decompose(table, x, w)
    return _WHOLE[key]


def decompose_used(table: np.ndarray, x: np.ndarray, w: np.ndarray, used: np.ndarray) -> Decomposition | None:
    """The cheapest exact decomposition of ``table`` on the weight codes a layer actually holds (``used``, a subset of
    ``w``): a layer's weights span a fraction of the codes, and the error restricted to them often has a lower rank
    (fewer bit planes). G is given over all of ``w`` (zero on unused codes, which the layer never looks up)."""
    cols = np.asarray(used) - w.min()
    # the restricted one first: on equal rank it is kept (None where its pivots give no integral factors)
    options = [d for d in (decompose(table[:, cols], x, np.asarray(used)), whole_table(table, x, w)) if d is not None]
    if not options:
        return None
    best = min(options, key=lambda d: d.base + d.rank)
    if best.G.shape[1] == len(w):
        return best
    G = np.zeros((best.rank, len(w)), np.int64)
    G[:, cols] = best.G
    return Decomposition(best.method, best.base, best.F, G)
