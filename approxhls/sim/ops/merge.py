"""Element-wise merges of two tensors (``nnet_merge.h``): add, subtract, multiply, average, maximum, minimum.

The C++ computes each in exact ap_fixed arithmetic (average as (a + b) * 0.5) and assigns the result to the
result type; a smaller second input is broadcast by repeating it (index modulo its size)."""

from __future__ import annotations

import numpy as np

from approxhls import fixedkernels
from approxhls.sim.ops import register
from approxhls.sim.ops.base import EXACT, Exactness, Op, align, cast, wide

MERGE_OPS = ("add", "subtract", "multiply", "average", "maximum", "minimum")


@register
class Merge(Op):
    name = "merge"
    hls_classes = ("Merge",)
    role = "requant"

    @classmethod
    def claims(cls, layer):
        return layer.class_name == "Merge" and str(layer.get_attr("op")).lower() in MERGE_OPS

    @classmethod
    def extract(cls, layer, ex):
        return [ex.node(layer, cls.name, {"op": str(layer.get_attr("op")).lower()})]

    def evaluate(self, node, ins, ctx):
        (a, a_t), (b, b_t) = ins
        n = ctx.n
        a, b = a.reshape(n, -1), b.reshape(n, -1)
        size = max(a.shape[1], b.shape[1])
        if a.shape[1] != b.shape[1]:  # broadcast the smaller input (e.g. a per-channel one) by repetition
            a, b = a[:, np.arange(size) % a.shape[1]], b[:, np.arange(size) % b.shape[1]]
        op = node.attrs["op"]
        if op == "add":  # the common residual add: one compiled pass where available
            fast = fixedkernels.add(a, a_t.frac, b, b_t.frac, node.type())
            if fast is not None:
                return fast.reshape((n, *node.shape))
        if op == "multiply":
            v, frac = a * b, a_t.frac + b_t.frac
        else:
            frac = max(a_t.frac, b_t.frac)
            a, b = align(a, a_t, frac), align(b, b_t, frac)
            v = {"add": lambda: a + b, "subtract": lambda: a - b, "maximum": lambda: np.where(a > b, a, b),
                 "minimum": lambda: np.where(a < b, a, b), "average": lambda: a + b}[op]()
            if op == "average":
                frac += 1  # * ap_ufixed<1,0>(0.5): one more fractional bit, exact
        return cast(v, wide(frac), node.type()).reshape((n, *node.shape))

    def reads_narrow(self, node, in_types):
        return node.attrs["op"] != "multiply"  # the others align (to int64) first; the compiled add takes any dtype

    def exactness(self, node, ir):
        a_t, b_t = (ir.producer(v).type() for v in node.inputs)
        op, dst = node.attrs["op"], node.type()
        frac = a_t.frac + b_t.frac if op == "multiply" else max(a_t.frac, b_t.frac) + (op == "average")
        corners = {"add": [a_t.min + b_t.min, a_t.max + b_t.max], "subtract": [a_t.min - b_t.max, a_t.max - b_t.min],
                   "multiply": [x * y for x in (a_t.min, a_t.max) for y in (b_t.min, b_t.max)],
                   "average": [(a_t.min + b_t.min) / 2, (a_t.max + b_t.max) / 2],
                   "maximum": [min(a_t.min, b_t.min), max(a_t.max, b_t.max)],
                   "minimum": [min(a_t.min, b_t.min), max(a_t.max, b_t.max)]}[op]
        if dst.frac >= frac and dst.contains(np.array([min(corners), max(corners)])):
            return EXACT
        return Exactness(False, f"{op} of {a_t} and {b_t} rounds or saturates in {dst}")
