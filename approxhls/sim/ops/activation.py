"""Element-wise operations hls4ml computes without tables: ReLU, linear (a cast), scale-and-bias (batch-norm,
QKeras' alpha scales), hard sigmoid / hard tanh (QKeras' quantized_sigmoid / quantized_tanh), binary and ternary
tanh, leaky ReLU and PReLU. Each evaluates exactly the C++ of ``nnet_activation.h`` / ``nnet_batchnorm.h``: exact
ap_fixed arithmetic where the C++ uses ``auto`` results, one cast (rounding and overflow of the result type) at
the assignment."""

from __future__ import annotations

import numpy as np

from approxhls import fixedkernels
from approxhls.fixedpoint import FLOAT32_SIGNIFICANT, FixedType
from approxhls.sim.ops import register
from approxhls.sim.ops.base import EXACT, Exactness, Op, align, cast, cast_product, wide


def _activation(layer) -> str:
    return str(layer.get_attr("activation") or "").lower()


@register
class ReLU(Op):
    name = "relu"
    role = "chain"

    @classmethod
    def claims(cls, layer):
        return layer.class_name == "Activation" and _activation(layer) == "relu"

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        fast = fixedkernels.requantize(np.asarray(xc), x_t.frac, node.type(), relu=True)
        return fast if fast is not None else np.where(xc > 0, cast(xc, x_t, node.type()), 0)

    def exactness(self, node, ir):
        return _cast_exactness(node, ir, "ReLU", positive=True)


@register
class Linear(Op):
    """A linear activation: an assignment to the result type."""

    name = "cast"
    role = "chain"

    @classmethod
    def claims(cls, layer):
        return layer.class_name == "Activation" and _activation(layer) == "linear"

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        return cast(xc, x_t, node.type()).reshape((ctx.n, *node.shape))

    def exactness(self, node, ir):
        return _cast_exactness(node, ir, "linear activation")


def _cast_exactness(node, ir, what: str, positive: bool = False) -> Exactness:
    """A cast equals Keras when the node's own quantizer set its type (QKeras computes the same rounding), or when
    the result type holds every input value (a float Keras activation passes values through)."""
    if node.attrs.get("quantizer"):
        return EXACT
    src, dst = ir.input_type_of(node), node.type()
    lo = 0 if positive else src.code_min
    holds = dst.frac >= src.frac and dst.contains(np.array([lo * src.lsb, src.max]))
    return EXACT if holds else Exactness(False, f"{what} output type {dst} does not hold its input type {src}")


@register
class ScaleBias(Op):
    """x * scale + bias per channel (or per element): batch-norm, QKeras' alpha (ApplyAlpha)."""

    name = "scale_bias"
    hls_classes = ("BatchNormalization", "ApplyAlpha")
    role = "chain"

    @classmethod
    def extract(cls, layer, ex):
        node = ex.node(layer, cls.name, weights=("scale", "bias"))
        node.weights["scale"] = node.weights["scale"].reshape(-1)
        node.weights["bias"] = node.weights["bias"].reshape(-1)
        return [node]

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        s_t, b_t = node.type("scale"), node.type("bias")
        s, b = node.weights["scale"], node.weights["bias"]
        if s.size != node.shape[-1]:  # one scale per element (hls4ml's n_filt = -1)
            s, b = s.reshape(node.shape), b.reshape(node.shape)
        frac = max(x_t.frac + s_t.frac, b_t.frac)
        v = align(xc * s, wide(x_t.frac + s_t.frac), frac) + align(b, b_t, frac)
        return cast(v, wide(frac), node.type())

    def exactness(self, node, ir):
        if not node.attrs.get("on_grid", True):
            return Exactness(False, f"float scale/bias rounded to {node.types['scale']} / {node.types['bias']}")
        if node.attrs.get("source_class") == "BatchNormalization":
            return Exactness(False, "batch-norm: Keras computes gamma*(x-mean)/sqrt(var+eps)+beta in float32")
        return EXACT


@register
class HardActivation(Op):
    """hard_sigmoid: clip(slope*x + shift, 0, 1); hard_tanh: 2*hard_sigmoid - 1 (exact, then one cast)."""

    name = "hard"
    hls_classes = ("HardActivation",)
    role = "chain"

    @classmethod
    def extract(cls, layer, ex):
        attrs = {"function": _activation(layer)}
        node = ex.node(layer, cls.name, attrs)
        for what in ("slope", "shift"):
            t = FixedType.parse(str(layer.get_attr(f"{what}_t").precision))
            node.types[what] = str(t)
            node.attrs[what] = int(t.to_codes(float(layer.get_attr(what))))
        return [node]

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        sl_t, sh_t = node.type("slope"), node.type("shift")
        frac = max(x_t.frac + sl_t.frac, sh_t.frac)
        v = align(xc * node.attrs["slope"], wide(x_t.frac + sl_t.frac), frac) + (node.attrs["shift"] << (frac - sh_t.frac))
        one = 1 << frac
        v = np.clip(v, 0, one)  # the C++ compares with 1 and 0 in the exact type of slope*x + shift
        if node.attrs["function"] == "hard_tanh":
            v = 2 * v - one
        return cast(v, wide(frac), node.type())

    def exactness(self, node, ir):
        return Exactness(None, "QKeras quantizes its hard sigmoid/tanh with its own clipping; hls4ml casts once to "
                               f"{node.types['result']}")


@register
class BinaryTanh(Op):
    """+1 for x >= 0, else -1 (stored as 1/0 when the result type is ap_uint<1>, hls4ml's binary encoding)."""

    name = "binary_tanh"
    role = "chain"

    @classmethod
    def claims(cls, layer):
        return layer.class_name == "Activation" and _activation(layer) == "binary_tanh"

    def evaluate(self, node, ins, ctx):
        xc, _ = self.one(ins)
        t = node.type()
        if t.width == 1 and not t.signed:
            return (xc >= 0).astype(np.int64)
        return cast(np.where(xc >= 0, 1, -1), FixedType(2, 2, True), t)


@register
class TernaryTanh(Op):
    """+1 for 2x > 1, 0 for -1 < 2x <= 1, -1 otherwise (QKeras' ternary with threshold 0.5)."""

    name = "ternary_tanh"
    hls_classes = ("TernaryTanh",)
    role = "chain"

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        one = 1 << x_t.frac  # datareg = 2 * data[ii] stays in data_T: doubling wraps like the C++ assignment
        twice = x_t.codes_from_int(2 * xc)
        v = np.where(twice > one, 1, np.where(twice > -one, 0, -1))
        return cast(v, FixedType(2, 2, True), node.type())


@register
class LeakyReLU(Op):
    """x for x > 0, else alpha * x with alpha in its own type (param_t)."""

    name = "leaky_relu"
    role = "chain"

    @classmethod
    def claims(cls, layer):
        return layer.class_name in ("LeakyReLU", "ParametrizedActivation") and \
            _activation(layer).replace("_", "") == "leakyrelu"

    @classmethod
    def extract(cls, layer, ex):
        node = ex.node(layer, cls.name)
        t = FixedType.parse(str(layer.get_attr("param_t").precision))
        node.types["param"] = str(t)
        node.attrs["alpha"] = int(t.to_codes(float(layer.get_attr("activ_param"))))
        return [node]

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        p_t, res_t = node.type("param"), node.type()
        frac = x_t.frac + p_t.frac
        neg = cast(xc * node.attrs["alpha"], wide(frac), res_t)
        return np.where(xc > 0, cast(xc, x_t, res_t), neg)

    def exactness(self, node, ir):
        return Exactness(None, f"negative slope in {node.types['param']}, QKeras quantizes the negative side itself")


@register
class PReLU(Op):
    """``nnet::prelu``: x for x > 0, else alpha[i] * x, one alpha per element (a weight variable of param_t, which
    hls4ml gives the input's type); the product is exact until the cast to the result type."""

    name = "prelu"
    hls_classes = ("PReLU",)
    role = "chain"

    @classmethod
    def extract(cls, layer, ex):
        node = ex.node(layer, cls.name)
        var = layer.weights["param"]
        t = FixedType.parse(str(var.type.precision))
        node.types["param"] = str(t)
        node.weights["param"], node.attrs["on_grid"] = ex.codes(var, t)
        node.weights["param"] = node.weights["param"].reshape(-1)
        return [node]

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        xc = np.asarray(xc, dtype=np.int64).reshape(ctx.n, -1)
        res_t = node.type()
        negative = cast_product(xc, x_t, node.weights["param"][None, :], node.type("param"), res_t)
        return np.where(xc > 0, cast(xc, x_t, res_t), negative).reshape((ctx.n, *node.shape))

    def exactness(self, node, ir):
        """Keras computes relu(x) - alpha * relu(-x) in float32: equal to the C++ where alpha is on param_t's grid,
        the result type holds x and every alpha * x, and float32 holds every product (at most 24 significant
        bits)."""
        if not node.attrs.get("on_grid", True):
            return Exactness(False, f"float alpha rounded to {node.types['param']}")
        x_t, p_t, res_t = ir.input_type_of(node), node.type("param"), node.type()
        alpha = node.weights["param"].astype(np.int64)
        if not res_t.contains(np.array([x_t.max, 0.0])) or res_t.frac < x_t.frac:
            return Exactness(False, f"PReLU output type {res_t} does not hold its input type {x_t}")
        nonzero = alpha[alpha != 0]
        if nonzero.size == 0:
            return EXACT
        trailing = int(np.min([(int(a) & -int(a)).bit_length() - 1 for a in nonzero]))
        frac = x_t.frac + p_t.frac - trailing  # fractional bits of the finest product
        low = min(int(x_t.code_min) * int(nonzero.max()), int(x_t.code_min) * int(nonzero.min()), 0)
        high = max(int(x_t.code_min) * int(nonzero.max()), int(x_t.code_min) * int(nonzero.min()), 0)
        products = np.array([low, high], dtype=np.float64) * 2.0 ** -(x_t.frac + p_t.frac)
        if res_t.frac < frac or not res_t.contains(products):
            return Exactness(False, f"PReLU output type {res_t} does not hold alpha * x ({x_t} times {p_t})")
        significant = x_t.width + max(abs(int(a)).bit_length() - trailing for a in nonzero)
        if significant > FLOAT32_SIGNIFICANT:
            return Exactness(None, f"Keras multiplies alpha * x in float32, which rounds products of more than "
                                   f"{FLOAT32_SIGNIFICANT} significant bits ({x_t} times {p_t})")
        return EXACT


@register
class ThresholdTanh(Op):
    """hls4ml's batch-norm merged with a binary/ternary tanh (``normalize_binary_tanh`` / ``normalize_ternary_tanh``):
    binary: 1 where x >= threshold, else 0 (ap_uint<1>, meaning -1); ternary: 1 above threshold_hi, -1 at or below
    threshold_lo, else 0. The thresholds are in the input's type."""

    name = "threshold_tanh"
    hls_classes = ("BatchNormalizationQuantizedTanh",)
    role = "chain"

    @classmethod
    def extract(cls, layer, ex):
        quantize = int(layer.get_attr("quantize"))
        node = ex.node(layer, cls.name, {"quantize": quantize})
        x_t = ex.input_type(layer)
        node.types["threshold"] = str(x_t)
        for w in ("threshold", "threshold_hi", "threshold_lo"):
            if w in layer.weights:
                node.weights[w], _ = ex.codes(layer.weights[w], x_t)
        node.types["result"] = "ap_uint<1>" if quantize == 2 else "ap_int<2>"
        node.attrs["binary_output"] = quantize == 2
        return [node]

    def evaluate(self, node, ins, ctx):
        xc, _ = self.one(ins)
        w = node.weights
        if node.attrs["quantize"] == 2:
            return (xc >= w["threshold"]).astype(np.int64)
        return np.where(xc > w["threshold_hi"], 1, np.where(xc <= w["threshold_lo"], -1, 0))

    def exactness(self, node, ir):
        return Exactness(None, "binary/ternary thresholds computed from float batch-norm parameters, rounded to the "
                               "input grid")
