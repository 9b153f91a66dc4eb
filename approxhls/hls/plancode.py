"""Putting a resolved plan into hls4ml's generated code.

Each planned layer's config gets ``using product = nnet::product::approxhls_mult<x_T, y_T,
approxhls::layer_NAME>`` instead of hls4ml's ``mult`` (templates/approxhls_product.h, registered with
the backend as a source), and the project gets ``firmware/nnet_utils/approxhls_multipliers.h``: the
chosen designs' C++ and one descriptor per planned layer. Layers the plan leaves exact are untouched, so
their code is exactly hls4ml's.
"""

from __future__ import annotations

from pathlib import Path

from approxhls.errors import ApproxHLSError
from approxhls.multipliers.codegen import cpp_header

PRODUCT_HEADER = Path(__file__).with_name("templates") / "approxhls_product.h"
MULTIPLIERS_HEADER = "approxhls_multipliers.h"
_HLS4ML_PRODUCT = "using product = nnet::product::mult<x_T, y_T>;"
_registered: set[str] = set()


def register_product_source(backend_name: str) -> None:
    """Have hls4ml copy approxhls_product.h into every project's nnet_utils (once per backend)."""
    import hls4ml

    if backend_name in _registered:
        return
    backend = hls4ml.backends.get_backend(backend_name)
    if str(PRODUCT_HEADER) not in [str(s) for s in getattr(backend, "custom_source", {}).values()]:
        backend.register_source(str(PRODUCT_HEADER))
    _registered.add(backend_name)


def layer_descriptor(a) -> str:
    d = a.design
    call = (f"{d.name}(a, b)" if d.signed else f"(int32_t){d.name}((uint32_t)a, (uint32_t)b)")
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


def multipliers_header(assignments: dict) -> str:
    planned = [a for a in assignments.values() if not a.exact]
    designs = list({a.design.name: a.design for a in planned}.values())
    body = cpp_header(designs, guard="APPROXHLS_DESIGNS_H_")
    structs = "".join(layer_descriptor(a) for a in planned)
    return (
        "#ifndef APPROXHLS_MULTIPLIERS_H_\n#define APPROXHLS_MULTIPLIERS_H_\n"
        f"{body}\nnamespace approxhls {{\n{structs}}}  // namespace approxhls\n#endif\n"
    )


def apply_to_graph(hls_model, assignments: dict) -> None:
    """Swap the product of every planned layer in the generated configs."""
    for layer in hls_model.get_layers():
        a = assignments.get(layer.name)
        if a is None or a.exact:
            continue
        cfg = layer.get_attr("config_cpp")
        if cfg is None or cfg.count(_HLS4ML_PRODUCT) != 1:
            raise ApproxHLSError(
                f"layer {layer.name!r}: hls4ml did not generate the plain product this plan replaces "
                f"(weights of an unusual type, or the distributed_arithmetic strategy?)"
            )
        new = f"using product = nnet::product::approxhls_mult<x_T, y_T, approxhls::layer_{a.layer}>;"
        layer.set_attr("config_cpp", cfg.replace(_HLS4ML_PRODUCT, new))
        layer.set_attr("include_header", list(layer.get_attr("include_header", [])) + ["nnet_utils/approxhls_product.h"])


def write_headers(project_dir, assignments: dict) -> None:
    if not any(not a.exact for a in assignments.values()):
        return
    nnet = Path(project_dir) / "firmware" / "nnet_utils"
    (nnet / MULTIPLIERS_HEADER).write_text(multipliers_header(assignments))
    if not (nnet / PRODUCT_HEADER.name).exists():  # hls4ml copies it when registered; make sure
        (nnet / PRODUCT_HEADER.name).write_text(PRODUCT_HEADER.read_text())
