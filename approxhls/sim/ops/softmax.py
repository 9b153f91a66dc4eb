"""Softmax as hls4ml computes it (``nnet_activation.h``), implementation by implementation.

- ``stable``: d_i = x_max - x_i in the unsigned type ``inp_norm_t``; e_i = exp_table[top bits of d_i] (the table
  holds exp(-d)); the sum is a balanced tree of additions in ``accum_t``; 1/sum = inv_table[top bits of the sum
  as ``inv_inp_t``]; y_i = e_i * (1/sum) cast to the result type.
- ``latency``: the same without the max: e_i = exp_table[top bits of x_i].
- ``argmax``: 1 at the first maximum, 0 elsewhere.
- ``legacy``: e_i = sum_j exp_table[trunc((x_j - x_i) N / 16) + N/2] in ``table_t``; y_i = inv_table[trunc(e_i N / 64)].

Tables come from hls4ml's own C++ (dumped at conversion). The slice a softmax normalizes is the last axis
(``n_outer`` x ``n_slice`` x ``n_inner`` as hls4ml lays it out) under io_parallel; under io_stream every
implementation normalizes each word of the stream (``data_T::size`` values: the last axis), whatever the layer's
n_outer/n_inner say, so extraction records that layout.
"""

from __future__ import annotations

import numpy as np

from approxhls.fixedpoint import FixedType
from approxhls.sim.ops import register
from approxhls.sim.ops.base import Exactness, Op, cast, trunc_div, wide

IMPLEMENTATIONS = ("stable", "latency", "argmax", "legacy")


def top_bits(codes: np.ndarray, t: FixedType, n_bits: int) -> np.ndarray:
    """The unsigned number formed by the top ``n_bits`` of each code's bit pattern (ap_fixed's x(W-1, W-N)).

    Codes are int64 (sign-extended), so the pattern's bits are the code's own bits at any width W: above bit 62 they
    are copies of the sign. Shifting the code itself avoids a 2^W mask, which numpy cannot hold for W >= 64."""
    c = np.asarray(codes, dtype=np.int64)
    mask = (1 << n_bits) - 1
    shift = t.width - n_bits
    if shift >= 63:  # only sign bits up there
        return np.where(c < 0, mask, 0)
    return (c >> shift) & mask


def tree_sum(x: np.ndarray, t: FixedType) -> np.ndarray:
    """nnet::reduce with Op_add<t> over the last axis: a balanced tree, every partial sum cast to ``t``."""
    n = x.shape[-1]
    if n == 1:
        return x[..., 0]
    if n == 2:
        return t.codes_from_int(x[..., 0] + x[..., 1])  # same type: the sum only overflows
    left = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n: hls4ml's pow2(floorlog2(n - 1))
    return t.codes_from_int(tree_sum(x[..., :left], t) + tree_sum(x[..., left:], t))


@register
class Softmax(Op):
    name = "softmax"
    hls_classes = ("Softmax",)
    role = "chain"

    @classmethod
    def extract(cls, layer, ex):
        node = ex.softmax_node(layer, cls.name)
        if layer.model.config.get_config_value("IOType") == "io_stream":
            # nnet_activation_stream.h: one softmax per stream word (data_T::size values: the last axis)
            pack = int(node.shape[-1])
            node.attrs.update(n_outer=int(node.attrs["n_in"]) // pack, n_slice=pack, n_inner=1)
        return [node]

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        a = node.attrs
        x = xc.reshape(ctx.n, a["n_outer"], a["n_slice"], a["n_inner"]).transpose(0, 1, 3, 2)  # slice last
        y = getattr(self, f"_{a['implementation']}")(node, x, x_t)
        return y.transpose(0, 1, 3, 2).reshape((ctx.n, *node.shape))

    def _normalize(self, node, e: np.ndarray) -> np.ndarray:
        """e (accum_t codes of the exponentials, slice last) -> e * inv_table[top bits of the sum] in result_t."""
        acc_t, inv_in_t, inv_t = node.type("accum"), node.type("inv_inp"), node.type("inv_table")
        total = cast(tree_sum(e, acc_t), acc_t, inv_in_t)
        n_inv = node.attrs["inv_table_size"].bit_length() - 1
        inv = node.weights["inv_table"][top_bits(total, inv_in_t, n_inv)]
        return cast(e * inv[..., None], wide(acc_t.frac + inv_t.frac), node.type())

    def _exp(self, node, codes, index_t):
        n_exp = node.attrs["exp_table_size"].bit_length() - 1
        e = node.weights["exp_table"][top_bits(codes, index_t, n_exp)]
        return cast(e, node.type("exp_table"), node.type("accum"))

    def _stable(self, node, x, x_t):
        norm_t = node.type("inp_norm")
        d = x.max(axis=-1, keepdims=True) - x  # exact, then assigned to inp_norm_t (same fractional bits)
        return self._normalize(node, self._exp(node, cast(d, wide(x_t.frac), norm_t), norm_t))

    def _latency(self, node, x, x_t):
        return self._normalize(node, self._exp(node, x, x_t))

    def _argmax(self, node, x, x_t):
        one = node.type().to_codes(1.0)
        return np.where(np.arange(x.shape[-1]) == x.argmax(axis=-1)[..., None], one, 0)  # argmax: first maximum

    def _legacy(self, node, x, x_t):
        t, size = node.type("table"), node.attrs["exp_table_size"]
        diff = x[..., None, :] - x[..., :, None]  # [i, j] = x_j - x_i, exact
        index = np.clip(trunc_div(diff * size, 16 << x_t.frac) + size // 2, 0, size - 1)
        terms = node.weights["exp_table"][index]
        eye = np.eye(x.shape[-1], dtype=bool)
        terms = np.where(eye, t.to_codes(1.0), terms)
        e = np.zeros(x.shape, dtype=np.int64)
        for j in range(x.shape[-1]):  # exp_res[i] += ... in table_t, j by j
            e = t.codes_from_int(e + terms[..., j])
        inv_size = node.attrs["inv_table_size"]
        index = np.clip(trunc_div(e * inv_size, 64 << t.frac), 0, inv_size - 1)
        return cast(node.weights["inv_table"][index], t, node.type())

    def exactness(self, node, ir):
        if node.attrs["implementation"] == "argmax":
            return Exactness(False, "argmax: one-hot of the first maximum instead of probabilities")
        return Exactness(False, f"softmax ({node.attrs['implementation']}) from {node.attrs['exp_table_size']}- and "
                                f"{node.attrs['inv_table_size']}-entry tables, result {node.types['result']}")
