"""Types that hold every value exactly where hls4ml 1.3.0's defaults round (each pass one case).

hls4ml infers exact accumulator/result types for Dense, Conv and Add layers; these passes run just before its
``infer_precision_types`` and give exact types to the layers it would leave to a rounding default. hls4ml's own
inference then propagates them downstream.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from hls4ml.model.types import ExponentPrecisionType, FixedPrecisionType

from approxhls.fixedpoint import FixedType
from approxhls.hls.passes.base import ApproxhlsPass, input_known, is_unspecified, record_repair, set_type

POOLING = ("Pooling1D", "Pooling2D", "GlobalPooling1D", "GlobalPooling2D")


def has_quantizer(node) -> bool:
    """True when a QKeras quantizer chose the node's type (QActivation): QKeras rounds the same way."""
    return bool(node.get_attr("activation_quantizer") or node.get_attr("trusted"))


def exact_scale_type(scales: np.ndarray) -> FixedPrecisionType:
    """The narrowest unsigned fixed type that holds every power-of-two scale in ``scales`` exactly."""
    exps = np.log2(np.asarray(scales, dtype=np.float64))
    if not np.all(exps == np.round(exps)):
        raise ValueError("ApplyAlpha scales are not powers of two")
    integer = max(int(exps.max()) + 1, 1)
    frac = max(-int(exps.min()), 0)
    return FixedPrecisionType(width=integer + frac, integer=integer, signed=False)


class AlphaScale(ApproxhlsPass):
    """QKeras ``alpha='auto_po2'``: hls4ml's ApplyAlpha gets an exponent-typed scale its precision inference does
    not understand, so its result falls back to the default and rounds: the scale becomes a fixed type holding
    the same powers of two, and hls4ml infers the rest."""

    def applies(self, node, settings):
        return node.class_name == "ApplyAlpha" and isinstance(node.types["scale_t"].precision, ExponentPrecisionType)

    def transform(self, model, node):
        scales = np.asarray(node.get_attr("scale_data"), dtype=np.float64)
        node.set_attr("scale_quantizer", None)
        node.add_weights_variable(name="scale", var_name="s{index}", data=scales, precision=exact_scale_type(scales))
        return False


class AveragePooling(ApproxhlsPass):
    """Average pooling: hls4ml's result inherits the input type and drops the bits the division adds."""

    def applies(self, node, settings):
        return (node.class_name in POOLING and node.get_attr("pool_op", "").lower() == "average"
                and input_known(node) and is_unspecified(node.types["result_t"].precision))

    def transform(self, model, node):
        inp = node.get_input_variable().type.precision
        if node.class_name.startswith("Global"):
            area = node.get_attr("in_height", 1) * node.get_attr("in_width", node.get_attr("n_in", 1))
        else:
            area = node.get_attr("pool_height", 1) * node.get_attr("pool_width")
        if area & (area - 1) == 0:
            k = int(math.log2(area))
        else:
            warnings.warn(f"average pooling layer {node.name!r} divides by {area}, not a power of two: its "
                          "fixed-point result cannot equal Keras exactly", stacklevel=1)
            k = math.ceil(math.log2(area)) + 8
        exact = FixedPrecisionType(width=inp.width + 2 * k, integer=inp.integer + k, signed=inp.signed)
        for t in ("accum_t", "result_t"):
            set_type(node, t, exact)
        return True


MULTIPLICATIVE_WEIGHTS = ("weight", "depthwise", "pointwise", "scale")


def on_grid(var) -> bool:
    """True when every value of the weight variable is exactly one of its fixed-point type's codes."""
    if is_unspecified(var.type.precision) or not isinstance(var.type.precision, FixedPrecisionType):
        return False
    t = FixedType.parse(str(var.type.precision))
    codes = np.ldexp(np.asarray(var.data, dtype=np.float64), t.frac)
    return bool(np.all(np.isfinite(codes)) and np.all(codes == np.round(codes))
                and (codes.size == 0 or (codes.min() >= t.code_min and codes.max() <= t.code_max)))


def rounds_weights(node) -> bool:
    """True when the node multiplies by float weights its types round (a float Keras Dense/Conv/BatchNorm): its
    result differs from Keras whatever the types after it, so an exact type downstream buys nothing."""
    return any(name in node.weights and not on_grid(node.weights[name]) for name in MULTIPLICATIVE_WEIGHTS)


class FloatActivation(ApproxhlsPass):
    """A ReLU or linear activation hls4ml splits off a Q layer with a float ``activation="relu"`` (or a float Keras
    activation layer) gets the model's default type and rounds where Keras passes values through: it gets its
    input's type instead. Not after a layer that rounds float weights: that layer is not exact anyway, and its exact
    result type (input + weight + sum bits) would grow ~20 bits per layer through a float network (hls4ml's default
    type there, as hls4ml alone)."""

    def applies(self, node, settings):
        return (node.class_name == "Activation" and str(node.get_attr("activation")).lower() in ("relu", "linear")
                and input_known(node) and not has_quantizer(node)
                and not node.get_attr("approxhls_passthrough", False)
                and not rounds_weights(node.get_input_node()))

    def transform(self, model, node):
        node.set_attr("approxhls_passthrough", True)
        set_type(node, "result_t", node.get_input_variable().type.precision)
        record_repair(node, "float activation: its input's type instead of the default")
        return True


def average_type(a, b) -> FixedPrecisionType:
    """(a + b) * 0.5 exactly: the sum's integer bits, one more fractional bit than either input."""
    signed = a.signed or b.signed
    integer = max(a.integer + (signed and not a.signed), b.integer + (signed and not b.signed)) + 1
    frac = max(a.width - a.integer, b.width - b.integer) + 1
    return FixedPrecisionType(width=integer + frac, integer=integer, signed=signed)


class AverageMerge(ApproxhlsPass):
    """An Average merge gets hls4ml's sum type, which drops the bit the halving adds."""

    def applies(self, node, settings):
        if node.class_name != "Merge" or str(node.get_attr("op")).lower() != "average":
            return False
        ins = [node.get_input_variable(i) for i in node.inputs]
        return (all(v is not None and not is_unspecified(v.type.precision) for v in ins)
                and is_unspecified(node.types["result_t"].precision))

    def transform(self, model, node):
        a, b = (node.get_input_variable(i).type.precision for i in node.inputs)
        set_type(node, "result_t", average_type(a, b))
        record_repair(node, "average merge: one more fractional bit than hls4ml's sum type")
        return True


def frac_and_max(var) -> tuple[int, float]:
    """Fractional bits that hold every value of a weight variable, and its largest magnitude: from its fixed type,
    or from the values themselves (power-of-two or float biases, whose types say neither)."""
    data = np.abs(np.asarray(var.data, dtype=np.float64)).ravel()
    biggest = float(data.max()) if data.size else 0.0
    precision = var.type.precision
    if isinstance(precision, FixedPrecisionType):
        return precision.width - precision.integer, biggest
    t = exact_signed_type(data)
    return t.width - t.integer, biggest


def exact_signed_type(values: np.ndarray) -> FixedPrecisionType:
    """The narrowest signed fixed type that holds every value (powers of two and zeros) exactly."""
    v = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    frac, biggest = 0, float(v.max()) if v.size else 0.0
    while frac < 64 and not np.all(np.ldexp(v, frac) == np.round(np.ldexp(v, frac))):
        frac += 1
    integer = max(int(math.floor(math.log2(biggest))) + 2, 1) if biggest > 0 else 1
    return FixedPrecisionType(width=integer + frac, integer=integer, signed=True)


class PowerOfTwoBias(ApproxhlsPass):
    """A power-of-two bias (QKeras ``bias_quantizer=quantized_po2``): hls4ml 1.3.0 writes it as an exponent struct
    that its Dense/Conv kernels cannot add to their accumulator (the C++ does not compile): it becomes a fixed type
    holding the same values exactly."""

    def applies(self, node, settings):
        return "bias" in node.weights and isinstance(node.weights["bias"].type.precision, ExponentPrecisionType)

    def transform(self, model, node):
        values = np.asarray(node.weights["bias"].data, dtype=np.float64)
        precision = exact_signed_type(values)
        node.add_weights_variable(name="bias", var_name="b{index}", data=values, precision=precision)
        record_repair(node, f"power-of-two bias as {precision} (hls4ml's exponent type does not compile there)")
        return False


def po2_accumulator(node) -> FixedPrecisionType:
    """A fixed type that holds every sum of a power-of-two-weight layer's shifted products and its bias.

    The products are hls4ml's ``weight_exponential``: in r_T = ap_fixed<2(E+Wx), E+Wx>, so they sit on a grid of
    E+Wx fractional bits; the integer bits bound n_in * max|x| * 2^max_exponent + max|bias|."""
    x = node.get_input_variable().type.precision
    w = node.weights["weight"]
    e_bits = int(w.type.precision.width)
    bias_frac, bias_max = frac_and_max(node.weights["bias"]) if "bias" in node.weights else (0, 0.0)
    frac = max(e_bits + x.width, bias_frac)
    n_in = int(np.prod(np.shape(w.data))) // int(np.shape(w.data)[-1])
    e_max = int(np.max(np.log2(np.abs(np.asarray(w.data, dtype=np.float64)))))
    x_max = 2.0 ** (x.integer - (1 if x.signed else 0))
    bound = n_in * x_max * 2.0 ** e_max + bias_max
    integer = int(math.ceil(math.log2(bound))) + 2 if bound > 0 else 2  # sign + one bit of margin for the bound
    return FixedPrecisionType(width=integer + frac, integer=integer, signed=True)


class PowerOfTwoAccumulator(ApproxhlsPass):
    """A Dense/Conv layer with power-of-two weights (QKeras ``quantized_po2``) keeps the default accumulator, which
    rounds the shifted products: it gets one that holds every sum of its products exactly."""

    def applies(self, node, settings):
        return (node.class_name in ("Dense", "Conv1D", "Conv2D") and "weight" in node.weights and input_known(node)
                and isinstance(node.weights["weight"].type.precision, ExponentPrecisionType)
                and not node.get_attr("approxhls_po2_exact", False))

    def transform(self, model, node):
        node.set_attr("approxhls_po2_exact", True)
        acc = po2_accumulator(node)
        set_type(node, "accum_t", acc)
        if is_unspecified(node.types["result_t"].precision):  # else a merged QActivation's quantization: kept
            set_type(node, "result_t", acc)
        record_repair(node, f"power-of-two weights: accumulator {acc} instead of the default")
        return True
