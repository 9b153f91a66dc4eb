"""hls4ml's own bit-exact mode as a second opinion on the accumulator types.

hls4ml 1.3.0 derives types model-wide by interval arithmetic when converting with ``bit_exact=True`` (its
``BitExact`` pass; QKeras models must ask for it). approxhls converts the same (prepared) Keras model that way too,
with hls4ml alone, and hands the Dense/Conv types it finds to its own conversion: where hls4ml's accumulator is
narrower than the one hls4ml infers by default, approxhls checks it against its own bound (every sum the layer's
weights can make over its input type, :func:`sum_bounds`) and adopts it only if it holds them all. The intervals
assume exact products: a layer planned on an approximate multiplier keeps approxhls' own widened type.

hls4ml's bit-exact mode refuses many QKeras models (it expects an explicit quantizer after every input): the
second opinion then says why, and nothing changes.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings

import numpy as np

MAC_CLASSES = ("Dense", "Conv1D", "Conv2D", "Conv2DBatchnorm", "PointwiseConv1D", "PointwiseConv2D",
               "DepthwiseConv1D", "DepthwiseConv2D")


def input_layer_names(model) -> list[str]:
    return [layer["config"]["name"] for layer in model.get_config()["layers"] if layer["class_name"] == "InputLayer"]


# hls4ml's interval arithmetic unrolls every convolution window in numpy: beyond this many elements in one layer's
# output (a 512x512 image) it takes minutes to hours, and the second opinion is not asked
MAX_ELEMENTS = 1 << 18


def largest_output(model) -> int:
    sizes = [int(np.prod([d for d in shape[1:] if d])) for layer in model.layers
             for shape in (layer.output_shape if isinstance(layer.output_shape, list) else [layer.output_shape])]
    return max(sizes, default=0)


def hls4ml_bit_exact_types(model, opts, grid) -> dict:
    """{"status": "converted" | the reason hls4ml could not, "layers": {layer: {"accum_t": str, "result_t": str}}}
    of hls4ml 1.3.0 alone converting ``model`` with ``bit_exact=True`` (nothing written)."""
    import hls4ml

    largest = largest_output(model)
    if largest > MAX_ELEMENTS:
        return {"status": f"not asked: a layer outputs {largest:,} elements, beyond the {MAX_ELEMENTS:,} hls4ml's "
                          f"interval arithmetic handles in reasonable time", "layers": {}}

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=opts.hls_backend,
                                               default_precision=opts.default_precision)
    for name in input_layer_names(model):
        cfg["LayerName"].setdefault(name, {}).setdefault("Precision", {})["result"] = str(grid)
    with tempfile.TemporaryDirectory(prefix="approxhls-bitexact-") as tmp, warnings.catch_warnings(), \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            hm = hls4ml.converters.convert_from_keras_model(
                model, hls_config=cfg, output_dir=tmp, backend=opts.hls_backend, io_type=opts.io_type,
                part=opts.part, bit_exact=True)
        except Exception as e:  # hls4ml's refusal is the second opinion's answer, not an error of the conversion
            return {"status": f"hls4ml 1.3.0 bit_exact=True could not convert it: {type(e).__name__}: {e}"[:400],
                    "layers": {}}
    layers = {layer.name: {k: str(layer.types[k].precision) for k in ("accum_t", "result_t") if k in layer.types}
              for layer in hm.get_layers() if layer.class_name in MAC_CLASSES}
    return {"status": "converted", "layers": layers}


def value_range(precision) -> tuple[float, float]:
    frac = precision.width - precision.integer
    lo = -(2.0 ** (precision.integer - 1)) if precision.signed else 0.0
    hi = 2.0 ** (precision.integer - (1 if precision.signed else 0)) - 2.0 ** -frac
    return lo, hi


def sum_bounds(node) -> tuple[float, float, int]:
    """The smallest and largest sum a Dense/Conv layer makes over every input its type allows (zero padding lies
    inside that range), and the fractional bits its products and bias need."""
    from approxhls.hls.passes.exact_types import frac_and_max

    x = node.get_input_variable().type.precision
    x_lo, x_hi = value_range(x)
    w = np.asarray(node.weights["weight"].data, dtype=np.float64)
    has_bias = "bias" in node.weights
    b = np.asarray(node.weights["bias"].data, dtype=np.float64).ravel() if has_bias else np.zeros(w.shape[-1])
    cols = w.reshape(-1, b.size)  # (products per output, outputs): Keras' kernel layouts end with the outputs
    lo = np.minimum(cols * x_lo, cols * x_hi).sum(axis=0) + b
    hi = np.maximum(cols * x_lo, cols * x_hi).sum(axis=0) + b
    w_p = node.weights["weight"].type.precision
    frac = (x.width - x.integer) + (w_p.width - w_p.integer)
    if has_bias:
        frac = max(frac, frac_and_max(node.weights["bias"])[0])
    return float(lo.min()), float(hi.max()), frac


def holds(precision, lo: float, hi: float, frac: int) -> bool:
    """Whether a fixed type holds every value from lo to hi on a grid of ``frac`` fractional bits."""
    t_lo, t_hi = value_range(precision)
    return precision.width - precision.integer >= frac and t_lo <= lo and hi <= t_hi
