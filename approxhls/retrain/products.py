"""A planned layer's products as integer factors that TensorFlow can sum exactly (numpy only).

The emulator's multiply-accumulate of a layer is sum_k P[x_k, w_k] over the integer codes of its input and weights,
P the layer's product table (:class:`approxhls.sim.assignment.Assignment`). Written as P = F @ G (F: one row per
input code, G: one column per weight code), a layer's sums are an ordinary matrix product or convolution of the
looked-up factors: F[x] (n, k*r) by G[w] (k*r, m). The factors are those of the emulator's decomposition
(:mod:`approxhls.sim.decompose`: the exact product plus a low-rank error, or a separable product), with the exact
product folded in as one more rank; a table without one becomes F = identity, G = P (one rank per input code). Every
value is an integer and every sum is checked to stay below 2^53, so float64 arithmetic reproduces them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.fixedpoint import FixedType

FLOAT64_EXACT = 2.0**53  # integers below this add and multiply exactly in float64
# layers whose multiplications a Keras layer of the retraining model reproduces: IR op -> what the Keras layer is
SUPPORTED_OPS = {"dense": ("QDense",), "conv": ("QConv2D", "QConv1D")}


class RetrainError(ApproxHLSError):
    """A model or plan that approximation-aware retraining cannot handle, named with what to do."""


@dataclass
class LayerProducts:
    """The products of one planned layer: P[x, w] = F[x - x_min] @ G[:, w - w_min], exactly."""

    layer: str  # the Keras layer's name
    node: str  # its name in the converted network
    multiplier: str
    method: str  # "exact", "separable", "low-rank r=N" (the emulator's decomposition) or "table"
    x_type: FixedType
    w_type: FixedType
    F: np.ndarray  # (input codes, rank) float64 holding integers
    G: np.ndarray  # (rank, weight codes) float64 holding integers
    geometry: dict = field(default_factory=dict)  # convolutions: strides and the pads hls4ml applies to the codes

    @property
    def rank(self) -> int:
        return self.F.shape[1]

    @property
    def frac(self) -> int:
        """Fractional bits of a product: its value is P * 2^-frac."""
        return self.x_type.frac + self.w_type.frac

    def table(self) -> np.ndarray:
        """F @ G as int64: the layer's product table, for checks."""
        return np.rint(self.F @ self.G).astype(np.int64)


def factors(table: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """(method, F, G) with table = F @ G in integers: the emulator's decomposition with the exact product as one more
    rank, else the table itself against the identity."""
    from approxhls.sim.decompose import decompose

    d = decompose(table, x, w)
    if d is None:
        return "table", np.eye(len(x), dtype=np.int64), np.asarray(table, dtype=np.int64)
    F, G = d.F, d.G
    if d.base:
        F, G = np.concatenate([x[:, None], F], axis=1), np.concatenate([w[None, :], G], axis=0)
    return d.label(), F, G


def check_exact_sums(p: LayerProducts, fan_in: int) -> None:
    """Refuses a layer whose sums of looked-up factors could reach 2^53 (float64 would round them)."""
    bound = fan_in * float(np.sum(np.abs(p.F).max(axis=0) * np.abs(p.G).max(axis=1)))
    if bound >= FLOAT64_EXACT:
        raise RetrainError(f"layer {p.layer!r}: with {p.multiplier} its sums of {fan_in} products could reach "
                           f"{bound:.3g}, beyond the 2^53 that float64 adds exactly; plan another multiplier for it")


def layer_products(layer: str, node, assignment) -> LayerProducts:
    """The factors of one planned node of the converted network (its Assignment gives the table and types)."""
    if node.op not in SUPPORTED_OPS:
        raise RetrainError(f"layer {layer!r} ({node.op}): retraining with approximate products covers "
                           f"{', '.join(SUPPORTED_OPS)} layers; plan this one exact")
    x, w = assignment.codes()
    method, F, G = factors(assignment.table(), x, w)
    geometry = {}
    if node.op == "conv":
        a = node.attrs
        geometry = {k: int(a[k]) for k in ("stride_height", "stride_width", "pad_top", "pad_bottom", "pad_left",
                                           "pad_right", "in_height", "in_width", "filt_height", "filt_width")}
    p = LayerProducts(layer, node.name, assignment.multiplier, method, assignment.x_type, assignment.w_type,
                      F.astype(np.float64), G.astype(np.float64), geometry)
    check_exact_sums(p, int(node.weights["weight"].size // node.weights["bias"].size))
    return p


def graph_products(graph) -> dict[str, LayerProducts]:
    """{Keras layer name: its products} for every layer a converted graph (``build_graph`` with a plan) assigns an
    approximate multiplier."""
    out = {}
    for node_name, a in graph.assignments.items():
        if a.exact:
            continue
        layer = graph.user_names.get(node_name, node_name)
        out[layer] = layer_products(layer, graph.ir.node(node_name), a)
    return out
