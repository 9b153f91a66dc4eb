"""A multiplier plan applied inside hls4ml's conversion: one pass assigns each multiplying layer its multiplier.

It runs before hls4ml's precision inference, on each Dense/Conv layer as soon as the layer's input type is known,
so the plan is resolved against the operand types the kernels will have (one conversion, not an exact one first).
For an approximate multiplier it
- widens the layer's accumulator and result types (inferred by hls4ml for exact products) by the integer bits
  the multiplier's largest product over the layer's operand codes needs beyond the largest exact one;
- names the layer's product through hls4ml's product hook (:mod:`approxhls.hls.passes.product_hook`): the layer
  config that hls4ml's template writes says ``using product = nnet::product::approxhls_<layer><x_T, y_T>``.
"""

from __future__ import annotations

import copy

from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType

from approxhls.fixedpoint import FixedType
from approxhls.hls.passes.base import ApproxhlsPass, input_known, is_unspecified, record_repair, set_type
from approxhls.hls.passes.product_hook import PRODUCT_ATTR, builtin_product_type, product_name

MAC_CLASSES = ("Dense", "Conv1D", "Conv2D", "Conv2DBatchnorm", "PointwiseConv1D", "PointwiseConv2D",
               "DepthwiseConv1D", "DepthwiseConv2D")
ASSIGNMENT_ATTR = "approxhls_assignment"


def plannable_operands(node) -> tuple[FixedType, FixedType] | None:
    """The layer's (input, weight) types where hls4ml multiplies them (its product ``mult``), else None: a plan
    replaces multiplications only, not the shifts of power-of-two weights or the selections of binary/ternary ones."""
    x_p, w_p = node.get_input_variable().type.precision, node.weights["weight"].type.precision
    fixed = (FixedPrecisionType, IntegerPrecisionType)
    if builtin_product_type(x_p, w_p) != "mult" or not isinstance(x_p, fixed) or not isinstance(w_p, fixed):
        return None
    return FixedType.parse(str(x_p)), FixedType.parse(str(w_p))


class MultiplierPlan(ApproxhlsPass):
    def applies(self, node, settings):
        return (settings.get("plan") is not None and node.class_name in MAC_CLASSES and "weight" in node.weights
                and input_known(node) and node.get_attr(ASSIGNMENT_ATTR) is None)

    def transform(self, model, node):
        from approxhls.hls.passes.base import settings
        from approxhls.hls.plan import assign

        operands = plannable_operands(node)
        if operands is None:
            node.set_attr(ASSIGNMENT_ATTR, False)
            return False
        a = assign(node.name, *operands, settings(model)["plan"])
        node.set_attr(ASSIGNMENT_ATTR, a)
        if a.exact:
            return False
        _refuse_widened_input(model, node)
        _type_sums(model, node, a)
        precision = copy.copy(node.weights["weight"].type.precision)
        setattr(precision, PRODUCT_ATTR, product_name(node.name))
        node.weights["weight"].type.precision = precision
        return True


def _refuse_widened_input(model, node) -> None:
    """A planned layer reads the result of an upstream planned layer whose result type approxhls widened: its
    operands are not those of the exact network the plan was made for (a search evaluates that one)."""
    from approxhls.hls.plan import PlanError

    producer = _producer(model, node)
    while producer is not None and producer.get_attr("approxhls_passthrough", False):  # float ReLU: same type
        producer = _producer(model, producer)
    if producer is not None and producer.get_attr("approxhls_result_widened", False):
        raise PlanError(f"layer {node.name!r}: its input comes from {producer.name!r}, whose result type the plan "
                        f"widens for its approximate products, so its operand types are not the exact network's; "
                        f"plan {producer.name!r} exact or quantize the layer's input (a QActivation between them)")


def _producer(model, node):
    return next((n for n in model.get_layers() if node.inputs and node.inputs[0] in n.outputs), None)


def _type_sums(model, node, a) -> None:
    """hls4ml's exact types for the node (its own inference, run now), widened by the integer bits the approximate
    products need beyond the exact ones (hls4ml bounds the sums by exact products)."""
    from hls4ml.model.optimizer import get_optimizer

    widen = [k for k in ("accum_t", "result_t") if is_unspecified(node.types[k].precision)]
    get_optimizer("infer_precision_types").transform(model, node)
    extra = a.extra_bits
    if not extra:
        return
    for k in widen:
        p = node.types[k].precision
        set_type(node, k, FixedPrecisionType(p.width + extra, p.integer + extra, p.signed))
    node.set_attr("approxhls_result_widened", "result_t" in widen)
    record_repair(node, f"{a.multiplier}: {', '.join(widen) or 'no type'} widened by {extra} integer bits for its "
                        f"products (hls4ml bounds sums by exact products)")
