"""Weight tuning without retraining (ALWANN's weight update).

For a layer on multiplier M, every weight code w becomes the code w' that minimises the expected
|M(x, w') - x*w| over the layer's input codes x, weighted by how often each x occurs on calibration data
(or uniformly, as in the original paper). The approximate products then track the exact ones as closely
as the multiplier allows; for the exact multiplier w' = w.
"""

from __future__ import annotations

import numpy as np


def distribution(p_x: np.ndarray | None, n_codes: int) -> np.ndarray:
    """Counts (..., codes) as probabilities along the last axis; None or all-zero rows: uniform."""
    p = np.ones(n_codes) if p_x is None else np.asarray(p_x, dtype=np.float64)
    total = p.sum(axis=-1, keepdims=True)
    return np.where(total > 0, p / np.where(total > 0, total, 1), 1.0 / n_codes)


def tuned_codes(table: np.ndarray, x_codes: np.ndarray, w_codes: np.ndarray, p_x: np.ndarray | None,
                used: np.ndarray) -> dict[int, int]:
    """{w: w'} for every weight code in ``used``; ``table`` rows are x codes, columns w codes."""
    p = distribution(p_x, len(x_codes))
    t = table.astype(np.float64)
    mapping = {}
    w0 = int(w_codes[0])
    for w in np.unique(used):
        target = x_codes.astype(np.float64) * float(w)
        cost = p @ np.abs(t - target[:, None])  # expected |M(x, w') - x*w| for every w'
        best = np.flatnonzero(cost == cost.min())
        # ties: keep w itself if it is among the best, else the nearest code
        choice = int(w) if (int(w) - w0) in best else int(w_codes[best[np.argmin(np.abs(w_codes[best] - w))]])
        mapping[int(w)] = choice
    return mapping


def mean_abs_error(table, x_codes, w_codes, p_x, weights: np.ndarray, mapping: dict[int, int] | None = None):
    """Expected |M(x, w') - x*w| over the layer's weights (w' = mapping[w], or w), weighted by p_x."""
    p = np.full(len(x_codes), 1.0 / len(x_codes)) if p_x is None else p_x / p_x.sum()
    w = weights.ravel()
    wp = np.array([mapping.get(int(v), int(v)) for v in w]) if mapping else w
    prods = table[:, wp - w_codes[0]]
    exact = x_codes[:, None] * w[None, :]
    return float(p @ np.abs(prods - exact).mean(axis=1))


def bias_offsets(table: np.ndarray, x_codes: np.ndarray, w_codes: np.ndarray, p_x: np.ndarray | None,
                 W: np.ndarray, W_used: np.ndarray, shift: int, bias: np.ndarray, bias_min: int,
                 bias_max: int) -> np.ndarray:
    """Bias compensation (a control variate for the multiplier's error): per output channel, the expected error of
    its sum, sum over k of E[M(x_k, w'_k) - x_k * w_k] (w' the weights actually multiplied, w the trained ones),
    subtracted from the bias. ``p_x``: the input codes' distribution, (k, codes) per position k of the products'
    rows (each position sees its own inputs: image borders, channels), or (codes,) for all, or None (uniform).
    ``W``/``W_used`` (k, out) codes; the offsets are in bias codes (``shift`` = bias fractional bits - product
    fractional bits), rounded to nearest and kept inside the bias type."""
    k = W.shape[0]
    p = distribution(p_x, len(x_codes)).reshape(-1, len(x_codes))
    p = np.broadcast_to(p, (k, len(x_codes)))  # (codes,) or (1, codes): every position alike
    mean_x = p @ x_codes.astype(np.float64)  # (k,)
    mean_product = p @ table.astype(np.float64)  # (k, n_w): E[M(x_k, w')] for every weight code w'
    err = np.take_along_axis(mean_product, W_used - w_codes[0], axis=1) - mean_x[:, None] * W  # (k, out)
    offsets = -np.rint(np.ldexp(err.sum(axis=0), shift)).astype(np.int64)
    return np.clip(bias.astype(np.int64) + offsets, bias_min, bias_max) - bias.astype(np.int64)
