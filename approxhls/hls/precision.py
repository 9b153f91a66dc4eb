"""An hls4ml optimizer pass that makes the types hls4ml infers exact where its defaults round.

hls4ml 1.3.0 infers exact accumulator/result types for Dense, Conv and Add layers, but
- an ``ApplyAlpha`` layer (inserted for QKeras ``alpha='auto_po2'``) gets a power-of-two *exponent*
  type for its scale, which the precision inference does not understand, so its result falls back to
  the default ``ap_fixed<16,6>`` and rounds;
- an average pooling layer's result inherits its input type, dropping the bits that the division adds.
The pass runs in the ``convert`` flow just before ``infer_precision_types`` and replaces these with
types that hold every value exactly; hls4ml's own inference then propagates them downstream.

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
            if node.get_attr("approxhls_extra_bits", 0) and not node.get_attr("approxhls_widened", False):
                inp = node.get_input_variable()
                return not _is_unspecified(inp.type.precision) and _is_unspecified(node.types["accum_t"].precision)
            if node.class_name == "ApplyAlpha":
                return isinstance(node.types["scale_t"].precision, ExponentPrecisionType)
            if node.class_name in ("Pooling1D", "Pooling2D"):
                if node.get_attr("pool_op", "").lower() != "average":
                    return False
                inp = node.get_input_variable()
                return (not _is_unspecified(inp.type.precision)) and _is_unspecified(
                    node.types["result_t"].precision
                )
            return False

        def transform(self, model, node):
            if node.get_attr("approxhls_extra_bits", 0):
                return _widen_accumulator(node, int(node.get_attr("approxhls_extra_bits")))
            if node.class_name == "ApplyAlpha":
                scales = np.asarray(node.get_attr("scale_data"), dtype=np.float64)
                # Replace the exponent-typed weight by a plain fixed-point one holding the same values.
                node.set_attr("scale_quantizer", None)
                node.add_weights_variable(
                    name="scale", var_name="s{index}", data=scales, precision=exact_scale_type(scales)
                )
                return False
            inp = node.get_input_variable().type.precision
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
                node.types[t].name = f"{node.name}_{t}"
                node.types[t].precision = exact
            return True

    return ExactPrecision


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


def register() -> None:
    """Register the pass once per process and put it before hls4ml's precision inference."""
    from hls4ml.model.flow import get_flow
    from hls4ml.model.optimizer import get_available_passes, register_pass

    if PASS_NAME not in get_available_passes():
        register_pass(PASS_NAME, _make_pass())
    flow = get_flow("convert")
    if PASS_NAME not in flow._optimizers:  # hls4ml has no public "insert before" on flows
        flow._optimizers.insert(flow._optimizers.index("infer_precision_types"), PASS_NAME)
