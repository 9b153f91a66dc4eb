"""What every approxhls pass shares: it acts only inside an approxhls conversion.

approxhls' passes live in hls4ml's global flows (hls4ml has no per-conversion flows), so a conversion made with
hls4ml alone in the same process must not see them: a conversion is approxhls' when its model config carries the
``Approxhls`` settings (the same place hls4ml keeps its own ``BitExact`` switch), and each pass asks first.
"""

from __future__ import annotations

from hls4ml.model.optimizer import ModelOptimizerPass, OptimizerPass
from hls4ml.model.types import UnspecifiedPrecisionType

SETTINGS_KEY = "Approxhls"


def settings(model) -> dict | None:
    """The approxhls settings of a conversion (plain data: it is written into hls4ml_config.yml), or None."""
    return model.config.config.get("HLSConfig", {}).get("Model", {}).get(SETTINGS_KEY)


def is_unspecified(precision) -> bool:
    return isinstance(precision, UnspecifiedPrecisionType)


def input_known(node) -> bool:
    inp = node.get_input_variable()
    return inp is not None and not is_unspecified(inp.type.precision)


def set_type(node, key: str, precision) -> None:
    """Give the node its own named type (hls4ml shares types by name in defines.h) with ``precision``."""
    node.types[key].name = f"{node.name}_{key}"
    node.types[key].precision = precision


def record_repair(node, text: str) -> None:
    """What approxhls changed in hls4ml's conversion of this node (listed in the project's ``repairs``)."""
    done = list(node.get_attr("approxhls_repairs", []))
    if text not in done:
        node.set_attr("approxhls_repairs", done + [text])


class ApproxhlsPass(OptimizerPass):
    """A node pass that matches only inside an approxhls conversion; subclasses implement ``applies``."""

    def match(self, node):
        s = settings(node.model)
        return s is not None and self.applies(node, s)

    def applies(self, node, settings: dict) -> bool:
        raise NotImplementedError


class ApproxhlsModelPass(ModelOptimizerPass):
    """A model pass (writer steps) that runs only inside an approxhls conversion; subclasses implement ``run``."""

    def __init__(self):
        pass

    def transform(self, model):
        s = settings(model)
        return False if s is None else self.run(model, s)

    def run(self, model, settings: dict) -> bool:
        raise NotImplementedError
