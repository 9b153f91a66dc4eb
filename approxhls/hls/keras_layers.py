"""Which Keras/QKeras layers approxhls converts, checked before hls4ml sees the model, so that a refusal names
the layer, its class and quantizer, and what to use instead (hls4ml's own errors name none of these)."""

from __future__ import annotations

from approxhls.errors import UnsupportedLayerError

# Keras layer classes hls4ml 1.3.0 converts and approxhls evaluates bit for bit (vs its C-simulation).
SUPPORTED_LAYERS = frozenset({
    "InputLayer", "Dense", "QDense", "Conv1D", "QConv1D", "Conv2D", "QConv2D", "QConv2DBatchnorm",
    "DepthwiseConv1D", "DepthwiseConv2D", "QDepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "QSeparableConv1D",
    "QSeparableConv2D", "Activation", "QActivation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Flatten", "Reshape", "Dropout",
    "ZeroPadding1D", "ZeroPadding2D", "UpSampling1D", "UpSampling2D", "Add", "Subtract", "Multiply", "Average",
    "Maximum", "Minimum", "Concatenate", "BatchNormalization", "QBatchNormalization", "LSTM", "QLSTM",
})
RECURRENT = frozenset({"LSTM", "QLSTM"})  # their activations are checked by _check_recurrent
# Keras activation functions (as strings, in Activation layers or built into Dense/Conv layers)
ACTIVATIONS = frozenset({"relu", "linear", "softmax", "sigmoid", "tanh", "softplus", "softsign", "elu"})
# QKeras activation quantizers hls4ml 1.3.0 implements
QUANTIZED_ACTIVATIONS = frozenset({"quantized_relu", "quantized_bits", "quantized_tanh", "quantized_sigmoid",
                                   "binary", "ternary", "binary_tanh", "ternary_tanh"})

HINTS = {
    "GRU": "GRU is not evaluated by approxhls's emulator (LSTM is); convert it with hls4ml directly",
    "SimpleRNN": "SimpleRNN is not evaluated by approxhls's emulator (LSTM is); convert it with hls4ml directly",
    "QGRU": "QGRU is not evaluated by approxhls's emulator (QLSTM is); convert it with hls4ml directly",
    "Conv3D": "hls4ml has no 3D convolution; use Conv2D over stacked frames",
    "QDenseBatchnorm": "hls4ml 1.3.0 has no handler for it; use QDense followed by BatchNormalization",
    "Cropping1D": "crop the input before the model", "Cropping2D": "crop the input before the model",
    "Embedding": "embeddings are not evaluated by approxhls's emulator",
    "Permute": "transposes are not evaluated by approxhls's emulator; keep channels last",
}
ACTIVATION_HINT = ("use relu, linear, sigmoid, tanh, softmax, softplus, softsign or elu, or a QActivation with "
                   "quantized_relu / quantized_bits / quantized_tanh / quantized_sigmoid")
QUANTIZER_HINTS = {
    "quantized_relu_po2": "hls4ml 1.3.0 has no power-of-two activation; use quantized_relu(bits, integer)",
    "quantized_po2": "power-of-two quantizers are for weights (kernel_quantizer); for activations use "
                     "quantized_bits or quantized_relu",
    "quantized_ulaw": "use quantized_bits", "quantized_hswish": "use quantized_relu",
    "stochastic_binary": "use binary", "stochastic_ternary": "use ternary",
}


def quantizer_name(q) -> str:
    if q is None:
        return ""
    if isinstance(q, str):
        return q.split("(")[0].strip()
    if isinstance(q, dict):
        return q.get("class_name", "")
    return getattr(q, "__name__", None) or type(q).__name__


def describe_quantizer(q) -> str:
    if q is None:
        return ""
    return q if isinstance(q, str) else str(q)


def check_layers(model, io_type: str = "io_parallel") -> None:
    """Refuse what approxhls cannot convert bit-exactly, naming the layer, its class, its quantizer and the
    supported alternative."""
    for layer in model.layers:
        cls = type(layer).__name__
        if cls not in SUPPORTED_LAYERS:
            hint = HINTS.get(cls, "the supported layers are listed by `approxhls info`")
            raise UnsupportedLayerError(f"layer {layer.name!r} of type {cls} is not supported: {hint}")
        _check_activation(layer, cls)
        _check_specials(layer, cls, io_type)


def _check_activation(layer, cls: str) -> None:
    if cls in RECURRENT:
        return
    if cls == "QActivation":
        q = getattr(layer, "quantizer", None) or layer.activation
    else:
        q = layer.get_config().get("activation")
        if q is None or (isinstance(q, str) and "(" not in q):
            if q is not None and q not in ACTIVATIONS:
                raise UnsupportedLayerError(f"layer {layer.name!r} ({cls}, activation {q!r}) is not supported: "
                                            f"{ACTIVATION_HINT}")
            return
    name = quantizer_name(q)
    if name not in QUANTIZED_ACTIVATIONS:
        hint = QUANTIZER_HINTS.get(name, "use quantized_relu, quantized_bits, quantized_tanh or quantized_sigmoid")
        shown = describe_quantizer(q) if isinstance(q, str) else name
        raise UnsupportedLayerError(f"layer {layer.name!r} ({cls}, quantizer {shown}) is not supported by hls4ml "
                                    f"1.3.0: {hint}")


def _check_specials(layer, cls: str, io_type: str) -> None:
    """The options of a supported class that hls4ml 1.3.0 does not compute as Keras does (:data:`CLASS_CHECKS`)."""
    cfg = layer.get_config()
    _check_channels_last(layer, cls, cfg)
    for check in CLASS_CHECKS.get(cls, ()):
        check(layer, cfg, io_type)


def _check_channels_last(layer, cls: str, cfg: dict) -> None:
    if cfg.get("data_format") != "channels_first":
        return
    why = ("Keras flattens in channels-first order, which hls4ml 1.3.0 ignores (the elements would come out in "
           "another order)" if cls == "Flatten" else
           "approxhls converts channels-last models only (hls4ml transposes channels-first tensors, which "
           "approxhls does not evaluate)")
    raise UnsupportedLayerError(f"layer {layer.name!r} ({cls}, data_format='channels_first') is not supported: "
                                f"{why}; use data_format='channels_last'")


def _check_conv_batchnorm(layer, cfg: dict, io_type: str) -> None:
    if io_type == "io_stream" and tuple(cfg["kernel_size"]) == (1, 1) and tuple(cfg["strides"]) != (1, 1):
        # hls4ml 1.3.0 streams this case through its generic conv and computes wrong values.
        raise UnsupportedLayerError(
            f"layer {layer.name!r} of type QConv2DBatchnorm (1x1 kernel, strides {tuple(cfg['strides'])}) "
            f"is computed wrongly by hls4ml 1.3.0 under io_stream; use io_parallel, or a QConv2D "
            f"(batch-norm unfused) for this layer")


def _check_relu(layer, cfg: dict, io_type: str) -> None:
    if cfg.get("max_value") is not None or cfg.get("negative_slope") or cfg.get("threshold"):
        raise UnsupportedLayerError(f"layer {layer.name!r} (ReLU with max_value/negative_slope/threshold) is not "
                                    f"supported: use ReLU() or a QActivation quantized_relu(bits, integer) to clip")


def _check_upsampling(layer, cfg: dict, io_type: str) -> None:
    if cfg.get("interpolation", "nearest") != "nearest":
        raise UnsupportedLayerError(f"layer {layer.name!r} ({type(layer).__name__}, interpolation "
                                    f"{cfg['interpolation']!r}) is not supported: hls4ml implements nearest-neighbour "
                                    f"upsampling only")


def _check_convolution(layer, cfg: dict, io_type: str) -> None:
    cls = type(layer).__name__
    rate = cfg.get("dilation_rate", 1)
    if any(r != 1 for r in (rate if isinstance(rate, (list, tuple)) else [rate])):
        raise UnsupportedLayerError(f"layer {layer.name!r} ({cls}, dilation {rate}) is not supported: "
                                    f"hls4ml 1.3.0 has no dilated convolution")
    if cfg.get("groups", 1) != 1:
        raise UnsupportedLayerError(f"layer {layer.name!r} ({cls}, groups {cfg['groups']}) is not supported: "
                                    f"use a DepthwiseConv2D or separate convolutions")


def _check_merge(layer, cfg: dict, io_type: str) -> None:
    if len(layer.input) > 2:
        cls = type(layer).__name__
        raise UnsupportedLayerError(f"layer {layer.name!r} ({cls} of {len(layer.input)} inputs) is not supported: "
                                    f"hls4ml 1.3.0 merges two tensors at a time; chain two-input {cls} layers")


def _check_softmax(layer, cfg: dict, io_type: str) -> None:
    if cfg.get("axis", -1) not in (-1,):
        raise UnsupportedLayerError(f"layer {layer.name!r} (Softmax over axis {cfg['axis']}) is not supported: "
                                    f"hls4ml normalizes the last axis")


def _check_prelu(layer, cfg: dict, io_type: str) -> None:
    if cfg.get("shared_axes") is not None:
        raise UnsupportedLayerError(f"layer {layer.name!r} (PReLU, shared_axes {cfg['shared_axes']}) is not supported: "
                                    f"hls4ml 1.3.0 takes one alpha per element; use PReLU without shared_axes")


def _check_depthwise1d(layer, cfg: dict, io_type: str) -> None:
    if cfg.get("depth_multiplier", 1) != 1:
        raise UnsupportedLayerError(f"layer {layer.name!r} (DepthwiseConv1D, depth_multiplier "
                                    f"{cfg['depth_multiplier']}) is not supported: hls4ml 1.3.0 computes a depth "
                                    f"multiplier of 1 only; use a Conv1D, or a DepthwiseConv2D over a (1, W, C) input")


RECURRENT_ACTIVATIONS = ("sigmoid", "tanh")
# LSTM options hls4ml 1.3.0 refuses or ignores (it would compute another function than Keras): option -> why
RECURRENT_OPTIONS = {
    "go_backwards": "hls4ml 1.3.0 ignores it and reads the sequence forwards",
    "stateful": "hls4ml starts every sample from zero states",
    "return_state": "hls4ml 1.3.0 cannot return the states",
    "time_major": "hls4ml 1.3.0 reads (batch, time, features) only",
}


def _check_recurrent(layer, cfg: dict, io_type: str) -> None:
    cls = type(layer).__name__
    for key in ("activation", "recurrent_activation"):
        if cfg.get(key) not in RECURRENT_ACTIVATIONS:
            raise UnsupportedLayerError(f"layer {layer.name!r} ({cls}, {key} {describe_quantizer(cfg.get(key))!r}) is "
                                        f"not supported: approxhls emulates hls4ml's recurrent layers with sigmoid and "
                                        f"tanh tables only; use activation='tanh', recurrent_activation='sigmoid'")
    for option, why in RECURRENT_OPTIONS.items():
        if cfg.get(option):
            raise UnsupportedLayerError(f"layer {layer.name!r} ({cls}, {option}=True) is not supported: {why}; "
                                        f"use {option}=False")
    if not cfg.get("use_bias", True):
        raise UnsupportedLayerError(f"layer {layer.name!r} ({cls}, use_bias=False) is not supported: hls4ml 1.3.0 "
                                    f"fails on a recurrent layer without biases; use use_bias=True (zero biases)")


CONVOLUTIONS = ("Conv1D", "Conv2D", "QConv1D", "QConv2D", "DepthwiseConv1D", "DepthwiseConv2D", "QDepthwiseConv2D",
                "SeparableConv1D", "SeparableConv2D", "QSeparableConv1D", "QSeparableConv2D")
MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")


def _by_class(entries) -> dict[str, tuple]:
    """{Keras class: its checks in the order of ``entries``} from (classes, check) pairs."""
    out: dict[str, list] = {}
    for classes, check in entries:
        for cls in classes:
            out.setdefault(cls, []).append(check)
    return {cls: tuple(checks) for cls, checks in out.items()}


# Keras class -> the checks, in order, of the options of that class hls4ml 1.3.0 does not compute as Keras does
CLASS_CHECKS = _by_class((
    (("QConv2DBatchnorm",), _check_conv_batchnorm), (("ReLU",), _check_relu),
    (("UpSampling1D", "UpSampling2D"), _check_upsampling), (("PReLU",), _check_prelu),
    (("DepthwiseConv1D",), _check_depthwise1d), (("LSTM", "QLSTM"), _check_recurrent),
    (CONVOLUTIONS, _check_convolution), (MERGES, _check_merge), (("Softmax",), _check_softmax),
))
