"""An hls4ml optimizer pass that makes the types hls4ml infers exact where its defaults round.

hls4ml 1.3.0 infers exact accumulator/result types for Dense, Conv and Add layers, but
- an ``ApplyAlpha`` layer (inserted for QKeras ``alpha='auto_po2'``) gets a power-of-two *exponent*
  type for its scale, which the precision inference does not understand, so its result falls back to
  the default ``ap_fixed<16,6>`` and rounds;
- an average pooling layer's result inherits its input type, dropping the bits that the division adds.
The pass runs in the ``convert`` flow just before ``infer_precision_types`` and replaces these with
types that hold every value exactly; hls4ml's own inference then propagates them downstream.

- a ReLU or linear activation that hls4ml splits off a Q layer with a float ``activation="relu"`` (or a float
  Keras activation layer) gets the model's default type and rounds, where Keras passes values through: it
  gets its input's type instead;
- a Dense/Conv layer with power-of-two weights (QKeras ``quantized_po2``) keeps the default accumulator,
  which rounds the shifted products: it gets one that holds every sum of its products exactly;
- an Average merge gets the type of the sum, which drops the bit the halving adds: it gets that bit.

It also widens the accumulator (and result) of Dense/Conv layers planned on an approximate multiplier
by the integer bits the approximate products may need beyond the exact ones (node attribute
``approxhls_extra_bits``, from the plan): hls4ml bounds the accumulator by exact products only.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

PASS_NAME = "approxhls_exact_precision"


def _is_unspecified(precision) -> bool:
    from hls4ml.model.types import UnspecifiedPrecisionType

    return isinstance(precision, UnspecifiedPrecisionType)


def exact_scale_type(scales: np.ndarray):
    """The narrowest unsigned fixed type that holds every power-of-two scale in ``scales`` exactly."""
    from hls4ml.model.types import FixedPrecisionType

    exps = np.log2(np.asarray(scales, dtype=np.float64))
    if not np.all(exps == np.round(exps)):
        raise ValueError("ApplyAlpha scales are not powers of two")
    emin, emax = int(exps.min()), int(exps.max())
    integer = max(emax + 1, 1)
    frac = max(-emin, 0)
    return FixedPrecisionType(width=integer + frac, integer=integer, signed=False)


def _make_pass():
    from hls4ml.model.optimizer import OptimizerPass
    from hls4ml.model.types import ExponentPrecisionType, FixedPrecisionType

    class ExactPrecision(OptimizerPass):
        def match(self, node):
            inp = node.get_input_variable()
            known = inp is not None and not _is_unspecified(inp.type.precision)
            if node.get_attr("approxhls_extra_bits", 0) and not node.get_attr("approxhls_widened", False):
                return known and _is_unspecified(node.types["accum_t"].precision)
            if node.class_name == "ApplyAlpha":
                return isinstance(node.types["scale_t"].precision, ExponentPrecisionType)
            if node.class_name in ("Pooling1D", "Pooling2D", "GlobalPooling1D", "GlobalPooling2D"):
                if node.get_attr("pool_op", "").lower() != "average":
                    return False
                return known and _is_unspecified(node.types["result_t"].precision)
            if node.class_name == "Activation" and str(node.get_attr("activation")).lower() in ("relu", "linear"):
                return known and not _has_quantizer(node) and not node.get_attr("approxhls_passthrough", False)
            if node.class_name == "Merge" and str(node.get_attr("op")).lower() == "average":
                ins = [node.get_input_variable(i) for i in node.inputs]
                return all(v is not None and not _is_unspecified(v.type.precision) for v in ins) and \
                    _is_unspecified(node.types["result_t"].precision)
            if node.class_name in ("Dense", "Conv1D", "Conv2D") and "weight" in node.weights:
                return (known and isinstance(node.weights["weight"].type.precision, ExponentPrecisionType)
                        and not node.get_attr("approxhls_po2_exact", False))
            return False

        def transform(self, model, node):
            if node.get_attr("approxhls_extra_bits", 0):
                return _widen_accumulator(node, int(node.get_attr("approxhls_extra_bits")))
            if node.class_name == "Merge":
                _set_type(node, "result_t", average_type(*[node.get_input_variable(i).type.precision
                                                            for i in node.inputs]))
                node.set_attr("approxhls_repair", "average merge: one more fractional bit than hls4ml's sum type")
                return True
            if node.class_name == "Activation":
                node.set_attr("approxhls_passthrough", True)
                _set_type(node, "result_t", node.get_input_variable().type.precision)
                node.set_attr("approxhls_repair", "float activation: its input's type instead of the default")
                return True
            if node.class_name in ("Dense", "Conv1D", "Conv2D"):
                node.set_attr("approxhls_po2_exact", True)
                acc = po2_accumulator(node)
                for t in ("accum_t", "result_t"):
                    _set_type(node, t, acc)
                node.set_attr("approxhls_repair", f"power-of-two weights: accumulator {acc} instead of the default")
                return True
            if node.class_name == "ApplyAlpha":
                scales = np.asarray(node.get_attr("scale_data"), dtype=np.float64)
                # Replace the exponent-typed weight by a plain fixed-point one holding the same values.
                node.set_attr("scale_quantizer", None)
                node.add_weights_variable(
                    name="scale", var_name="s{index}", data=scales, precision=exact_scale_type(scales)
                )
                return False
            inp = node.get_input_variable().type.precision
            if node.class_name.startswith("Global"):
                area = node.get_attr("in_height", 1) * node.get_attr("in_width", node.get_attr("n_in", 1))
            else:
                area = node.get_attr("pool_height", 1) * node.get_attr("pool_width")
            k = int(math.log2(area)) if area & (area - 1) == 0 else None
            if k is None:
                warnings.warn(
                    f"average pooling layer {node.name!r} divides by {area}, not a power of two: its "
                    "fixed-point result cannot equal Keras exactly",
                    stacklevel=1,
                )
                k = math.ceil(math.log2(area)) + 8
            exact = FixedPrecisionType(width=inp.width + 2 * k, integer=inp.integer + k, signed=inp.signed)
            for t in ("accum_t", "result_t"):
                _set_type(node, t, exact)
            return True

    return ExactPrecision


def average_type(a, b):
    """(a + b) * 0.5 exactly: the sum's integer bits, one more fractional bit than either input (hls4ml infers
    the sum's type, which drops that bit)."""
    from hls4ml.model.types import FixedPrecisionType

    signed = a.signed or b.signed
    integer = max(a.integer + (signed and not a.signed), b.integer + (signed and not b.signed)) + 1
    frac = max(a.width - a.integer, b.width - b.integer) + 1
    return FixedPrecisionType(width=integer + frac, integer=integer, signed=signed)


def _has_quantizer(node) -> bool:
    """True when a QKeras quantizer chose the node's type (QActivation): QKeras rounds the same way."""
    return bool(node.get_attr("activation_quantizer") or node.get_attr("trusted"))


def _set_type(node, key: str, precision) -> None:
    """Give the node its own named type (types are shared by name in defines.h) with ``precision``."""
    node.types[key].name = f"{node.name}_{key}"
    node.types[key].precision = precision


def po2_accumulator(node):
    """A fixed type that holds every sum of a power-of-two-weight layer's shifted products and its bias.

    The products are hls4ml's ``weight_exponential``: in r_T = ap_fixed<2(E+Wx), E+Wx>, so they sit on a grid of
    E+Wx fractional bits; the integer bits bound n_in * max|x| * 2^max_exponent + max|bias|."""
    from hls4ml.model.types import FixedPrecisionType

    x = node.get_input_variable().type.precision
    w = node.weights["weight"]
    e_bits = int(w.type.precision.width)
    frac = max(e_bits + x.width, node.weights["bias"].type.precision.width - node.weights["bias"].type.precision.integer)
    n_in = int(np.prod(np.shape(w.data))) // int(np.shape(w.data)[-1])
    e_max = int(np.max(np.log2(np.abs(np.asarray(w.data, dtype=np.float64)))))
    x_max = 2.0 ** (x.integer - (1 if x.signed else 0))
    bias = np.abs(np.asarray(node.weights["bias"].data, dtype=np.float64))
    bound = n_in * x_max * 2.0 ** e_max + (float(bias.max()) if bias.size else 0.0)
    integer = int(math.ceil(math.log2(bound))) + 2 if bound > 0 else 2  # sign + one bit of margin for the bound
    return FixedPrecisionType(width=integer + frac, integer=integer, signed=True)


def _widen_accumulator(node, extra: int) -> bool:
    """hls4ml's exact accumulator/result types for the node, plus ``extra`` integer bits."""
    from hls4ml.model.optimizer.passes.infer_precision import InferPrecisionTypes
    from hls4ml.model.types import FixedPrecisionType

    infer = InferPrecisionTypes()
    todo = [k for k, t in node.types.items() if _is_unspecified(t.precision)]
    done = infer._infer_precision(node, todo)
    for k in todo:
        if k not in done:
            infer._infer_default_type(node, k)
    for k in ("accum_t", "result_t"):
        p = node.types[k].precision
        node.types[k].precision = FixedPrecisionType(p.width + extra, p.integer + extra, p.signed)
    node.set_attr("approxhls_widened", True)
    return True


REPAIR_PASS = "approxhls_repairs"


class _Quantizer:
    """What hls4ml's MergeLinearActivation reads from a node's ``quantizer`` attribute: the type to give the
    layer the activation is merged into (and, for the record, which activation it was)."""

    def __init__(self, hls_type, source: str):
        self.hls_type = hls_type
        self.source = source


def repairs(hls_model) -> list[str]:
    """What approxhls changed in hls4ml's conversion of this model, layer by layer."""
    out = []
    for layer in hls_model.get_layers():
        if layer.get_attr("approxhls_repair"):
            out.append(f"{layer.name}: {layer.get_attr('approxhls_repair')}")
        q = layer.get_attr("quantizer")
        if isinstance(q, _Quantizer):
            out.append(f"{layer.name}: kept the quantization of {q.source} ({q.hls_type}), which hls4ml's "
                       f"linear-activation merge drops")
    return out


def _make_repair_pass():
    """Two defects of hls4ml 1.3.0's conversion, repaired before they take effect:

    - a linear activation merged into an 'auto'-typed parent (Dense, Conv, ...) hands the parent its ``quantizer``
      attribute, but a QActivation(quantized_bits) keeps its quantizer in ``activation_quantizer``, so the merge
      drops the quantization altogether: such an activation gets the ``quantizer`` the merge expects (its own,
      QKeras-rounding, result type);
    - a Keras ``Softmax`` layer keeps the activation name 'Softmax', which names its config struct differently from
      the function call that uses it (the project does not compile): it is named 'softmax'."""
    from hls4ml.model.optimizer import OptimizerPass

    class Repairs(OptimizerPass):
        def match(self, node):
            if node.class_name == "Softmax":
                return node.get_attr("activation") != "softmax"
            return (node.class_name == "Activation" and node.get_attr("activation") == "linear"
                    and _has_quantizer(node) and node.get_attr("quantizer") is None)

        def transform(self, model, node):
            if node.class_name == "Softmax":
                node.set_attr("activation", "softmax")
                node.set_attr("approxhls_repair", "Keras Softmax layer named 'softmax' (config and call names agree)")
            else:
                node.set_attr("quantizer", _Quantizer(node.get_output_variable().type.precision, node.name))
            return False

    return Repairs


def register() -> None:
    """Register the passes once per process: the exact-precision pass before hls4ml's precision inference, the
    repairs before hls4ml merges linear activations."""
    from hls4ml.model.flow import get_flow
    from hls4ml.model.optimizer import get_available_passes, register_pass

    flow = get_flow("convert")
    for name, make, before in ((PASS_NAME, _make_pass, "infer_precision_types"),
                               (REPAIR_PASS, _make_repair_pass, "merge_linear_activation")):
        if name not in get_available_passes():
            register_pass(name, make())
        if name not in flow._optimizers:  # hls4ml has no public "insert before" on flows
            flow._optimizers.insert(flow._optimizers.index(before), name)
