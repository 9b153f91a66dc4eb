"""approxhls' conversion as named hls4ml optimizer passes, each with one job, in hls4ml's own flows.

hls4ml 1.3.0 runs a model through named flows of passes (``convert``, then the backend's ``init_layers``, ...,
``apply_templates``, and ``write`` when the project is written). approxhls registers its passes once per process
(:func:`install`) and places them with hls4ml's public ``update_flow``:

- in ``convert``, before hls4ml's batch-norm fusions: where hls4ml put a kernel's alpha scale (ApplyAlpha);
  before hls4ml's ``merge_linear_activation``: the input precision and two repairs that must
  precede the merge; before hls4ml's ``infer_precision_types``: the exact types of layers hls4ml would round,
  the multiplier plan, and the plan's weight changes;
- in the backend's ``write`` flow, around hls4ml's writer: tracing and product includes before it, the multiplier
  headers and the source repairs after it.

``update_flow`` can only append, so the hls4ml passes that must come after approxhls' are removed and appended
again behind them (their order among themselves unchanged). Every approxhls pass acts only inside a conversion
whose model config carries approxhls' settings (:mod:`approxhls.hls.passes.base`), so a conversion with hls4ml
alone in the same process is hls4ml's own.
"""

from __future__ import annotations

from approxhls.hls.passes import (exact_types, inputs, multipliers, product_hook, products, repairs, second_opinion,
                                  sources, weights)

# (pass name, class): in the order they run
BEFORE_FUSIONS = (
    ("approxhls_alpha_scale_source", repairs.AlphaScaleSource),
)
BEFORE_MERGE = (
    ("approxhls_input_precision", inputs.InputPrecision),
    ("approxhls_quantized_linear_activation", repairs.QuantizedLinearActivation),
    ("approxhls_softmax_name", repairs.SoftmaxName),
)
BEFORE_INFERENCE = (
    ("approxhls_alpha_scale", exact_types.AlphaScale),
    ("approxhls_average_pooling", exact_types.AveragePooling),
    ("approxhls_float_activation", exact_types.FloatActivation),
    ("approxhls_average_merge", exact_types.AverageMerge),
    ("approxhls_po2_bias", exact_types.PowerOfTwoBias),
    ("approxhls_po2_accumulator", exact_types.PowerOfTwoAccumulator),
    ("approxhls_multiplier_plan", multipliers.MultiplierPlan),
    ("approxhls_narrower_accumulator", second_opinion.NarrowerAccumulator),
    ("approxhls_tuned_weights", weights.TunedWeights),
    ("approxhls_bias_offsets", weights.BiasOffsets),
)
BEFORE_WRITE = (
    ("approxhls_trace_every_layer", repairs.TraceEveryLayer),
    ("approxhls_include_products", products.IncludeProducts),
)
AFTER_WRITE = (
    ("approxhls_write_multipliers", products.WriteMultipliers),
    ("approxhls_repair_sources", sources.RepairSources),
)
WRITERS = {"Vivado": "vivado:write_hls", "Vitis": "vitis:write_hls"}


def _register(entries) -> list[str]:
    from hls4ml.model.optimizer import get_available_passes, register_pass

    for name, cls in entries:
        if name not in get_available_passes():
            register_pass(name, cls)
    return [name for name, _ in entries]


def _insert_before(flow_name: str, anchor: str, names: list[str]) -> None:
    """Put ``names`` right before hls4ml's ``anchor`` in ``flow_name``: the anchor and the passes after it are
    removed and appended again behind ``names`` (update_flow only appends)."""
    from hls4ml.model.flow import get_flow, update_flow

    current = list(get_flow(flow_name).optimizers)
    if names[0] in current:
        return  # placed already in this process
    tail = current[current.index(anchor):]
    update_flow(flow_name, remove_optimizers=tail)
    update_flow(flow_name, add_optimizers=[*names, *tail])


def install(backend: str) -> None:
    """Register approxhls' passes and place them in hls4ml's flows (once per process), and hook the product."""
    from hls4ml.model.flow import get_flow, update_flow

    _insert_before("convert", "fuse_consecutive_batch_normalization", _register(BEFORE_FUSIONS))
    _insert_before("convert", "merge_linear_activation", _register(BEFORE_MERGE))
    _insert_before("convert", "infer_precision_types", _register(BEFORE_INFERENCE))
    write_flow = f"{backend.lower()}:write"
    _insert_before(write_flow, WRITERS[backend], _register(BEFORE_WRITE))
    after = _register(AFTER_WRITE)
    if after[0] not in get_flow(write_flow).optimizers:
        update_flow(write_flow, add_optimizers=after)
    product_hook.install_product_hook()
