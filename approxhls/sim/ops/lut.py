"""Activations hls4ml computes by table lookup: sigmoid, tanh, softplus, softsign, and the negative side of ELU.

``nnet_activation.h``: ``index = int(x * N / R) + N/2`` clamped to the table (R = 16, tanh 8), the product and
the division in ap_fixed arithmetic and the conversion to int rounding toward zero, so the index is
``trunc(x * N / R) + N/2``; then ``res = table[index]`` cast to the result type. The tables themselves are made by
hls4ml's own C++ (``init_*_table`` with single-precision libm), dumped at conversion time into the IR: a table
recomputed in numpy could differ from the C-simulation in the last bit.
"""

from __future__ import annotations

import numpy as np

from approxhls.sim.ops import register
from approxhls.errors import UnsupportedLayerError
from approxhls.fixedpoint import FixedType
from approxhls.sim.ops.base import Exactness, Op, cast, trunc_div, wide

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
        return lookup(node.weights["table"], node.attrs["function"], xc, x_t, node.type("table"), node.type())

    def exactness(self, node, ir):
        return Exactness(False, f"{node.attrs['function']} from a {node.attrs['table_size']}-entry table of "
                                f"{node.types['table']}")


def table_index(xc: np.ndarray, x_t: FixedType, size: int, function: str) -> np.ndarray:
    """``nnet::sigmoid`` / ``nnet::tanh``'s index into a table of ``size`` entries for codes of ``x_t``."""
    index = trunc_div(np.asarray(xc, dtype=np.int64) * size, LUT_FUNCTIONS[function] << x_t.frac) + size // 2
    return np.clip(index, 0, size - 1)


def lookup(table: np.ndarray, function: str, xc: np.ndarray, x_t: FixedType, table_t: FixedType,
           res_t: FixedType) -> np.ndarray:
    """A table activation (the table's codes in ``table_t``) of codes of ``x_t``, cast to ``res_t``."""
    return cast(table[table_index(xc, x_t, table.size, function)], table_t, res_t)


def index_overflows(x_t: FixedType, size: int, function: str) -> bool:
    """Whether ``x * size / R`` can leave the C int the index is computed in (or int64 codes here)."""
    return (-x_t.code_min * size) >> x_t.frac >= LUT_FUNCTIONS[function] << 31 or x_t.width + size.bit_length() > 62


# ELU's table spans [-8, 0): entry i holds exp(-8 i / N) - 1
ELU_RANGE = 8


@register
class Elu(Op):
    """``nnet::elu`` (Keras ELU layers and Activation('elu'), hls4ml's ParametrizedActivation 'elu'): x itself for
    x >= 0 (cast to the result type); else ``alpha * table[index]`` with ``index = int(x * N / -8)`` clamped to
    N - 1 (ap_fixed's division and the conversion to int both round toward zero, and the quotient is positive,
    so the index is floor(|x| * N / 8)); alpha is the literal hls4ml writes, in param_t, and the product is exact
    until the cast to the result type."""

    name = "elu"
    role = "chain"

    @classmethod
    def claims(cls, layer):
        return layer.class_name == "ParametrizedActivation" and str(layer.get_attr("activation")).lower() == "elu"

    @classmethod
    def extract(cls, layer, ex):
        size = int(layer.get_attr("table_size"))
        x_t = ex.input_type(layer)
        if x_t is not None and (-x_t.code_min * size) >> x_t.frac >= ELU_RANGE << 31:
            raise UnsupportedLayerError(
                f"layer {layer.name!r} (ELU): hls4ml 1.3.0 computes its table index x * {size} / -8 as a C int, "
                f"which overflows for inputs of {x_t}; quantize the layer's input to fewer integer bits (a "
                f"QActivation before it)")
        node = ex.node(layer, cls.name, {"table_size": size})
        t = FixedType.parse(str(layer.get_attr("param_t").precision))
        node.types["param"] = str(t)
        node.attrs["alpha"] = int(t.to_codes(float(layer.get_attr("activ_param", 1.0))))
        ex.table(node, "table", "elu", size, node.type("table"))
        return [node]

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        xc = np.asarray(xc, dtype=np.int64)
        size, res_t = node.attrs["table_size"], node.type()
        negative = xc < 0
        index = np.minimum(trunc_div(np.where(negative, -xc, 0) * size, ELU_RANGE << x_t.frac), size - 1)
        frac = node.type("param").frac + node.type("table").frac
        scaled = cast(node.weights["table"][index] * node.attrs["alpha"], wide(frac), res_t)
        return np.where(negative, scaled, cast(xc, x_t, res_t))

    def exactness(self, node, ir):
        return Exactness(False, f"elu's negative side from a {node.attrs['table_size']}-entry table of "
                                f"{node.types['table']} (exp(x) - 1 at multiples of {ELU_RANGE}/"
                                f"{node.attrs['table_size']}, single precision)")
