"""The product of planned layers: the C++ that defines it, written by two writer steps.

The layer config that hls4ml's template writes names the product through hls4ml's own hook
(:mod:`approxhls.hls.passes.product_hook`). Two writer steps finish the job: the planned layers include
``approxhls_product.h`` (set after hls4ml's templates, which set a layer's includes themselves), and the project gets
``firmware/nnet_utils/approxhls_multipliers.h``: the designs' C++, one descriptor per planned layer and the product
class each layer names.
"""

from __future__ import annotations

from pathlib import Path

from approxhls.hls.passes.base import ApproxhlsModelPass
from approxhls.hls.passes.multipliers import ASSIGNMENT_ATTR
from approxhls.hls.passes.product_hook import product_name

PRODUCT_HEADER = Path(__file__).resolve().parent.parent / "templates" / "approxhls_product.h"
MULTIPLIERS_HEADER = "approxhls_multipliers.h"


def planned(model) -> dict:
    """{layer name: Assignment} of the layers an approximate multiplier computes."""
    out = {}
    for layer in model.get_layers():
        a = layer.get_attr(ASSIGNMENT_ATTR)
        if a and not a.exact:
            out[layer.name] = a
    return out


class IncludeProducts(ApproxhlsModelPass):
    """Planned layers include the product header (after hls4ml's templates have set the layers' includes)."""

    def run(self, model, settings):
        for name, _ in planned(model).items():
            layer = model.graph[name]
            includes = list(layer.get_attr("include_header", []))
            if f"nnet_utils/{PRODUCT_HEADER.name}" not in includes:
                layer.set_attr("include_header", includes + [f"nnet_utils/{PRODUCT_HEADER.name}"])
        return False


def layer_descriptor(a) -> str:
    d = a.design
    call = f"{d.name}(a, b)" if d.signed else f"(int32_t){d.name}((uint32_t)a, (uint32_t)b)"
    out_bits = max(int(abs(a.table()).max()).bit_length(), 1)
    return (
        f"struct layer_{a.layer} {{  // {a.layer}: {d.name}, x {a.x_type}, w {a.w_type}\n"
        f"    static const bool x_signed = {str(a.x_type.signed).lower()};\n"
        f"    static const bool w_signed = {str(a.w_type.signed).lower()};\n"
        f"    static const bool native_signed = {str(d.signed).lower()};\n"
        f"    static const int out_bits = {out_bits};  // |P| < 2^out_bits on this layer's operands\n"
        f"    static inline int32_t mul(int32_t a, int32_t b) {{ return {call}; }}\n"
        f"}};\n"
    )


def product_class(a) -> str:
    """The class a planned layer's config names as its product: approxhls_mult with the layer's descriptor."""
    return (f"template <class x_T, class w_T> class {product_name(a.layer)}\n"
            f"    : public approxhls_mult<x_T, w_T, approxhls::layer_{a.layer}> {{}};\n")


def multipliers_header(assignments: dict) -> str:
    from approxhls.multipliers.codegen import cpp_header

    planned_ = [a for a in assignments.values() if not a.exact]
    designs = list({a.design.name: a.design for a in planned_}.values())
    body = cpp_header(designs, guard="APPROXHLS_DESIGNS_H_")
    structs = "".join(layer_descriptor(a) for a in planned_)
    return ("#ifndef APPROXHLS_MULTIPLIERS_H_\n#define APPROXHLS_MULTIPLIERS_H_\n"
            f"{body}\nnamespace approxhls {{\n{structs}}}  // namespace approxhls\n#endif\n")


def products_header(assignments: dict) -> str:
    planned_ = [a for a in assignments.values() if not a.exact]
    classes = "".join(product_class(a) for a in planned_)
    return f"namespace nnet {{\nnamespace product {{\n{classes}}}  // namespace product\n}}  // namespace nnet\n"


class WriteMultipliers(ApproxhlsModelPass):
    """After hls4ml has written the project: the multipliers header (designs, descriptors, product classes) and
    the product template, in firmware/nnet_utils."""

    def run(self, model, settings):
        assignments = planned(model)
        if not assignments:
            return False
        nnet = Path(model.config.get_output_dir()) / "firmware" / "nnet_utils"
        template = PRODUCT_HEADER.read_text().replace("// approxhls: product classes", products_header(assignments))
        (nnet / MULTIPLIERS_HEADER).write_text(multipliers_header(assignments))
        (nnet / PRODUCT_HEADER.name).write_text(template)
        return False
