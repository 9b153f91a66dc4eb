"""The network's inputs take the conversion's input precision (the grid the model was trained on).

Found by class, not by name: a Sequential model has no InputLayer of its own (hls4ml makes one, named
``<first layer>_input``), and taking ``model.layers[0]`` for the input typed the first real layer instead.
The type keeps hls4ml's name (``input_t``), which the generated top function and the overlay wrapper use.
"""

from __future__ import annotations

from approxhls.hls.passes.base import ApproxhlsPass


class InputPrecision(ApproxhlsPass):
    def applies(self, node, settings):
        return (node.class_name == "Input" and settings.get("input_precision") is not None
                and not node.get_attr("approxhls_input_typed", False))

    def transform(self, model, node):
        from approxhls.hls.passes.base import settings

        precision = model.config.backend.convert_precision_string(settings(model)["input_precision"])
        node.types["result_t"].precision = precision
        node.set_attr("approxhls_input_typed", True)
        return False
