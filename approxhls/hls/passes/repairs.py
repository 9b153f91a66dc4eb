"""Defects of hls4ml 1.3.0's conversion, repaired before they take effect (each pass one defect)."""

from __future__ import annotations

from approxhls.hls.passes.base import ApproxhlsModelPass, ApproxhlsPass, record_repair
from approxhls.hls.passes.exact_types import has_quantizer


class KeptQuantization:
    """What hls4ml's MergeLinearActivation reads from a node's ``quantizer`` attribute: the type to give the
    layer the activation is merged into (and, for the record, which activation it was)."""

    def __init__(self, hls_type, source: str):
        self.hls_type = hls_type
        self.source = source


class QuantizedLinearActivation(ApproxhlsPass):
    """A linear activation merged into an 'auto'-typed parent (Dense, Conv, ...) hands the parent its ``quantizer``
    attribute, but a QActivation(quantized_bits) keeps its quantizer in ``activation_quantizer``, so the merge
    drops the quantization altogether: such an activation gets the ``quantizer`` the merge expects (its own,
    QKeras-rounding, result type). Runs before hls4ml's ``merge_linear_activation``."""

    def applies(self, node, settings):
        return (node.class_name == "Activation" and node.get_attr("activation") == "linear"
                and has_quantizer(node) and node.get_attr("quantizer") is None)

    def transform(self, model, node):
        node.set_attr("quantizer", KeptQuantization(node.get_output_variable().type.precision, node.name))
        return False


class SoftmaxName(ApproxhlsPass):
    """A Keras ``Softmax`` layer keeps the activation name 'Softmax', which names its config struct differently from
    the function call that uses it (the project does not compile): it is named 'softmax'."""

    def applies(self, node, settings):
        return node.class_name == "Softmax" and node.get_attr("activation") != "softmax"

    def transform(self, model, node):
        node.set_attr("activation", "softmax")
        record_repair(node, "Keras Softmax layer named 'softmax' (config and call names agree)")
        return False


class AlphaScaleSource(ApproxhlsPass):
    """hls4ml moves a QKeras kernel's alpha scale out of the Dense/Conv layer into an ApplyAlpha node after it,
    which its batch-norm fusions may then merge into the next layer: the layer's own output is the unscaled sum.
    Recorded on the layer (before those fusions) so that it is never said equal to the Keras layer."""

    def applies(self, node, settings):
        src = node.get_input_node() if node.class_name == "ApplyAlpha" else None
        return src is not None and src.get_attr("approxhls_scaled_by") is None

    def transform(self, model, node):
        node.get_input_node().set_attr("approxhls_scaled_by", node.name)
        return False


class TraceEveryLayer(ApproxhlsModelPass):
    """Every layer's output readable from the C-simulation (``convert --verify`` and ``approxhls diff`` compare
    them with Keras), those hls4ml inserts after the Keras layers included (hls4ml's config reaches only the layers
    Keras names). Runs just before hls4ml writes the project; the tracing code is outside synthesis."""

    def run(self, model, settings):
        on = bool(settings.get("trace"))
        model.config.trace_output = on
        for layer in model.get_layers():
            layer.set_attr("trace", on)
        return False


def repairs(hls_model) -> list[str]:
    """What approxhls changed in hls4ml's conversion of this model, layer by layer."""
    out = []
    for layer in hls_model.get_layers():
        out += [f"{layer.name}: {text}" for text in layer.get_attr("approxhls_repairs", [])]
        q = layer.get_attr("quantizer")
        if isinstance(q, KeptQuantization):
            out.append(f"{layer.name}: kept the quantization of {q.source} ({q.hls_type}), which hls4ml's "
                       f"linear-activation merge drops")
    return out
