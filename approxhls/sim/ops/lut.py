"""Activations hls4ml computes by table lookup: sigmoid, tanh, softplus, softsign.

``nnet_activation.h``: ``index = int(x * N / R) + N/2`` clamped to the table (R = 16, tanh 8), the product and
the division in ap_fixed arithmetic and the conversion to int rounding toward zero, so the index is
``trunc(x * N / R) + N/2``; then ``res = table[index]`` cast to the result type. The tables themselves are made by
hls4ml's own C++ (``init_*_table`` with single-precision libm), dumped at conversion time into the IR: a table
recomputed in numpy could differ from the C-simulation in the last bit.
"""

from __future__ import annotations

import numpy as np

from approxhls.sim.ops import register
from approxhls.sim.ops.base import Exactness, Op, cast, trunc_div

# function -> input range R of the table (the table spans [-R/2, R/2))
LUT_FUNCTIONS = {"sigmoid": 16, "tanh": 8, "softplus": 16, "softsign": 16}


@register
class LutActivation(Op):
    name = "lut"
    role = "chain"

    @classmethod
    def claims(cls, layer):
        return layer.class_name == "Activation" and str(layer.get_attr("activation")).lower() in LUT_FUNCTIONS

    @classmethod
    def extract(cls, layer, ex):
        fn = str(layer.get_attr("activation")).lower()
        size = int(layer.get_attr("table_size"))
        node = ex.node(layer, cls.name, {"function": fn, "table_size": size})
        ex.table(node, "table", fn, size, node.type("table"))
        return [node]

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        size, rng = node.attrs["table_size"], LUT_FUNCTIONS[node.attrs["function"]]
        index = trunc_div(xc * size, rng << x_t.frac) + size // 2
        index = np.clip(index, 0, size - 1)
        return cast(node.weights["table"][index], node.type("table"), node.type())

    def exactness(self, node, ir):
        return Exactness(False, f"{node.attrs['function']} from a {node.attrs['table_size']}-entry table of "
                                f"{node.types['table']}")
