"""hls4ml's product hook, extended once per process: a planned layer's weight precision names its product.

hls4ml's layer templates write ``using product = nnet::product::{product_type}<x_T, y_T>;`` with ``product_type``
from the backend's ``product_type(data_T, weight_T)``. A weight precision that carries a product name (set by
:class:`~approxhls.hls.passes.multipliers.MultiplierPlan` on the planned layer's own copy) gets that name, every
other precision hls4ml's choice. Conversions with hls4ml alone never carry the name, so they are unchanged.

Both the plan pass (which asks hls4ml's own choice) and the product writer steps
(:mod:`approxhls.hls.passes.products`) read it, so it sits below both.
"""

from __future__ import annotations

PRODUCT_ATTR = "approxhls_product"  # on a weight precision: the product class its layer's template names
_HOOKED = "approxhls_hooked"
_builtin = {}


def product_name(layer: str) -> str:
    return f"approxhls_{layer}"


def install_product_hook() -> None:
    """Extend the Vivado backend's ``product_type`` (the one every Vivado/Vitis template calls), once."""
    from hls4ml.backends import get_backend

    backend = get_backend("vivado")
    if getattr(backend.product_type, _HOOKED, False):
        return
    builtin = backend.product_type
    _builtin["vivado"] = builtin

    def product_type(data_T, weight_T):
        return getattr(weight_T, PRODUCT_ATTR, None) or builtin(data_T, weight_T)

    setattr(product_type, _HOOKED, True)
    backend.product_type = product_type


def builtin_product_type(data_T, weight_T) -> str:
    """hls4ml's own choice of product for these operand precisions ('mult' for a multiplication)."""
    from hls4ml.backends import get_backend

    return _builtin.get("vivado", get_backend("vivado").product_type)(data_T, weight_T)
