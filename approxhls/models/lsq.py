"""Learned step size quantization: LSQ (Esser et al., ICLR 2020) and LSQ+ (Bhalgat et al., CVPR-W 2020).

Training form: Keras layers whose quantization steps (and, for LSQ+, activation offsets) are trainable
variables, with LSQ's straight-through rounding and gradient scale g = 1/sqrt(N * Qp). Steps are stored as
log2 (``log2_kernel_step``, ``log2_step``) so that Adam's updates are relative changes of the step.

    LSQDense / LSQConv2D   weights w_q = s_c * clip(round(w / s_c), -2^(b-1), 2^(b-1) - 1), s per output
                           channel (or one per tensor); bias on the 16-bit grid of the other schemes
    LSQReLU                y = s * clip(round((x - beta) / s), 0, 2^b - 1) + beta  (beta = 0 for LSQ)

Deployed form (:func:`deploy`): what hls4ml can express exactly is fixed point, i.e. power-of-two steps.
Each learned step is rounded to the nearest power of two; per-channel weight steps become one fixed-point
weight type wide enough for every channel's grid (the hardware pays for that width in its multipliers);
an LSQ+ offset is folded into the biases of the layer before and the layer after, which is exact when the
next MAC layer sees every input (Dense, valid convolution) and not at a zero-padded border. With steps
that already are powers of two (and zero offsets) the deployed model computes the trained one exactly.
The float-step hardware (a fixed-point multiplier per channel for requantization, zero points in the
datapath) is what :mod:`approxhls.cost` charges for these schemes.
"""

from __future__ import annotations

import math

import numpy as np

from approxhls.errors import ModelError
from approxhls.models.bias import BIAS_FRAC, BIAS_INTEGER, BIAS_RANGE


def _tf():
    import tensorflow as tf

    return tf


def _ste_round(x):
    tf = _tf()
    return x + tf.stop_gradient(tf.round(x) - x)


def _grad_scale(x, g: float):
    """x unchanged (bit for bit: x*g + (x - x*g) is not), its gradient times g."""
    tf = _tf()

    @tf.custom_gradient
    def scaled(v):
        return tf.identity(v), lambda dy: dy * g

    return scaled(x)


def lsq_quantize(x, step, qn: int, qp: int, g: float):
    s = _grad_scale(step, g)
    return _ste_round(_tf().clip_by_value(x / s, qn, qp)) * s


def _bias_q(b):
    tf = _tf()
    scale = 2.0 ** BIAS_FRAC
    return _ste_round(tf.clip_by_value(b, -BIAS_RANGE, BIAS_RANGE - 1 / scale) * scale) / scale


def _layer_classes():
    """Built on first use so that importing approxhls does not import TensorFlow."""
    tf = _tf()
    keras = tf.keras

    class _LSQWeights:
        def _init_step(self, kernel_shape):
            qp = 2 ** (self.weight_bits - 1) - 1
            channels = kernel_shape[-1]
            shape = (channels,) if self.per_channel else ()
            n = int(np.prod(kernel_shape)) // (channels if self.per_channel else 1)
            self._g = 1.0 / math.sqrt(n * qp)
            kernel = self.kernel

            def init(shape, dtype=None):  # LSQ's initial step 2 mean|w| / sqrt(Qp), stored as log2
                return tf.fill(shape, tf.math.log(2.0 * tf.reduce_mean(tf.abs(kernel)) / math.sqrt(qp)) / math.log(2.0))

            # log2 of the step: Adam moves it by ~lr per update, a relative change (a raw step of 2^-8 would
            # be swept away by updates of lr, whatever LSQ's gradient scale says)
            self.log2_kernel_step = self.add_weight(name="log2_kernel_step", shape=shape, initializer=init,
                                                    trainable=True)

        @property
        def kernel_step(self):
            return tf.pow(2.0, self.log2_kernel_step)

        def quantized_kernel(self):
            b = self.weight_bits
            return lsq_quantize(self.kernel, self.kernel_step, -(2 ** (b - 1)), 2 ** (b - 1) - 1, self._g)

        # shared by LSQDense and LSQConv2D (the mixin comes first in their bases: super() is the Keras layer)
        def build(self, input_shape):
            super().build(input_shape)
            self._init_step(self.kernel.shape)

        def get_config(self):
            return super().get_config() | {"weight_bits": self.weight_bits, "per_channel": self.per_channel}

    @keras.utils.register_keras_serializable("approxhls")
    class LSQDense(_LSQWeights, keras.layers.Dense):
        def __init__(self, units, weight_bits=8, per_channel=True, **kw):
            super().__init__(units, **kw)
            self.weight_bits, self.per_channel = int(weight_bits), bool(per_channel)

        def call(self, x):
            y = tf.matmul(x, self.quantized_kernel())
            return y + _bias_q(self.bias) if self.use_bias else y

    @keras.utils.register_keras_serializable("approxhls")
    class LSQConv2D(_LSQWeights, keras.layers.Conv2D):
        def __init__(self, filters, kernel_size, weight_bits=8, per_channel=True, **kw):
            super().__init__(filters, kernel_size, **kw)
            self.weight_bits, self.per_channel = int(weight_bits), bool(per_channel)

        def call(self, x):
            y = self.convolution_op(x, self.quantized_kernel())
            return tf.nn.bias_add(y, _bias_q(self.bias)) if self.use_bias else y

    @keras.utils.register_keras_serializable("approxhls")
    class LSQReLU(keras.layers.Layer):
        """ReLU quantized with a learned step (LSQ) and, with ``offset``, a learned offset (LSQ+)."""

        def __init__(self, bits=8, offset=False, init_step=None, **kw):
            super().__init__(**kw)
            self.bits, self.offset = int(bits), bool(offset)
            self.init_step = float(init_step) if init_step else 2.0 ** (2 if bits >= 6 else 1) / 2 ** bits

        def build(self, input_shape):
            qp = 2 ** self.bits - 1
            n = int(np.prod([d for d in input_shape[1:] if d]))
            self._g = 1.0 / math.sqrt(n * qp)
            self.log2_step = self.add_weight(name="log2_step", shape=(), trainable=True,
                                             initializer=keras.initializers.Constant(math.log2(self.init_step)))
            self.beta = self.add_weight(name="offset", shape=(), trainable=self.offset,
                                        initializer="zeros")

        @property
        def step(self):
            return tf.pow(2.0, self.log2_step)

        def call(self, x):
            return lsq_quantize(x - self.beta, self.step, 0, 2 ** self.bits - 1, self._g) + self.beta

        def get_config(self):
            return super().get_config() | {"bits": self.bits, "offset": self.offset, "init_step": self.init_step}

    return {"LSQDense": LSQDense, "LSQConv2D": LSQConv2D, "LSQReLU": LSQReLU}


_CLASSES: dict = {}


def lsq_classes() -> dict:
    if not _CLASSES:
        _CLASSES.update(_layer_classes())
    return _CLASSES


def is_lsq_model(model) -> bool:
    return any(type(layer).__name__ in lsq_classes() for layer in model.layers)


def lsq_family(model) -> str | None:
    """The learned-step scheme family of a model's layers (lsq, lsqt, lsq+), or None."""
    layers = [layer for layer in model.layers if type(layer).__name__ in lsq_classes()]
    if not layers:
        return None
    if any(getattr(layer, "offset", False) for layer in layers):
        return "lsq+"
    return "lsq" if any(getattr(layer, "per_channel", False) for layer in layers) else "lsqt"


# ---- deployment --------------------------------------------------------------------------------------------

def _po2(x) -> np.ndarray:
    return 2.0 ** np.round(np.log2(np.maximum(np.asarray(x, dtype=np.float64), 2.0 ** -24)))


def _bias_grid(b) -> np.ndarray:
    """The trained layer's bias as it computes it (:func:`_bias_q`): on 2^-10, clipped to [-32, 32)."""
    scale = 2.0 ** BIAS_FRAC
    return np.round(np.clip(np.asarray(b, dtype=np.float64), -BIAS_RANGE, BIAS_RANGE - 1 / scale) * scale) / scale


_MAC_KINDS = ("LSQDense", "LSQConv2D")
_PASS_THROUGH = ("MaxPooling2D", "AveragePooling2D", "Flatten", "Reshape", "Dropout")


def _consumers(layer) -> list:
    return [node.outbound_layer for node in layer._outbound_nodes]


def _offset_target(relu):
    """The MAC layer that receives an LSQ+ ReLU's output (through pooling/flatten), and whether folding the
    offset into its bias is exact (every input position seen: Dense or a valid convolution)."""
    layer = relu
    while True:
        nxt = _consumers(layer)
        if len(nxt) != 1:
            raise ModelError(f"{relu.name}: an LSQ+ offset feeding {len(nxt)} layers cannot be folded into a bias")
        layer = nxt[0]
        kind = type(layer).__name__
        if kind in _PASS_THROUGH:
            continue
        if kind in _MAC_KINDS:
            exact = kind == "LSQDense" or layer.padding == "valid"
            return layer, exact
        raise ModelError(f"{relu.name}: an LSQ+ offset feeding {kind} {layer.name!r} cannot be folded into a bias")


def _producer(layer):
    return layer._inbound_nodes[0].inbound_layers


def _weight_plan(layer, notes: list) -> dict:
    """A MAC layer's deployed weights: codes at power-of-two steps, one fixed-point type wide enough for every
    channel's grid (an all-zero channel's step is free), biases on the shared grid."""
    b = layer.weight_bits
    step = _po2(layer.kernel_step.numpy())
    kernel = layer.kernel.numpy()
    codes = np.clip(np.round(kernel / step), -(2 ** (b - 1)), 2 ** (b - 1) - 1)
    k = np.log2(step).astype(int)
    used = np.any(codes.reshape(-1, codes.shape[-1]) != 0, axis=0) if step.ndim else np.array([True])
    if not used.any():
        raise ModelError(f"{layer.name}: every weight quantizes to zero; the layer has learned nothing")
    k_used = np.broadcast_to(k, used.shape)[used]  # an all-zero channel's step is free: no width for it
    kmin, kmax = int(np.min(k_used)), int(np.max(k_used))
    if step.ndim:
        step = np.where(used, step, 2.0 ** kmax)
    integer = max(0, b - 1 + kmax)  # QKeras needs integer >= 0: small steps get sign-extension bits
    bits = integer + 1 - kmin
    if bits > b:
        notes.append(f"{layer.name}: per-channel power-of-two steps 2^{kmin}..2^{kmax} need {bits}-bit weights "
                     f"(trained: {b}-bit codes)")
    return {"kernel": codes * step, "bias": _bias_grid(layer.bias.numpy()),
            "bits": bits, "integer": integer, "bias_frac": BIAS_FRAC}


def _fold_offset(relu, beta: float, grid: float, plans: dict, notes: list) -> None:
    """An LSQ+ offset into the biases: subtracted after the MAC layer before the ReLU, added back (through the
    weights) in the MAC layer after it, whose bias grid is refined to hold it."""
    prev = _producer(relu)
    if type(prev).__name__ not in _MAC_KINDS:
        raise ModelError(f"{relu.name}: an LSQ+ offset needs a Dense/Conv layer before it")
    plans[prev.name]["bias"] = plans[prev.name]["bias"] - beta
    target, exact = _offset_target(relu)
    p = plans[target.name]
    w = p["kernel"]
    p["bias"] = p["bias"] + beta * w.reshape(-1, w.shape[-1]).sum(axis=0)
    frac = max(BIAS_FRAC, -int(math.floor(math.log2(grid))) + (p["bits"] - 1 - p["integer"]))
    p["bias_frac"] = max(p["bias_frac"], frac)
    notes.append(f"{relu.name}: LSQ+ offset {beta:g} folded into the biases of {prev.name} and {target.name}"
                 + ("" if exact else " (not exact at the zero-padded border: the hardware needs the zero "
                                     "point in the datapath, charged by approxhls cost)"))


def _activation_plan(layer, plans: dict, notes: list) -> tuple[int, int]:
    """An LSQ ReLU's deployed quantized_relu (bits, integer) at its power-of-two step; its offset folded."""
    step = float(_po2(layer.step.numpy()))
    integer = int(round(math.log2(step))) + layer.bits
    if integer < 0:
        notes.append(f"{layer.name}: step {step:g} < 2^-{layer.bits}; deployed as quantized_relu({layer.bits - integer}, 0) "
                     f"(QKeras needs integer >= 0), which clips at 1 instead of {(2 ** layer.bits - 1) * step:g}")
    grid = max(step, 2.0 ** -BIAS_FRAC)
    beta = round(float(layer.beta.numpy()) / grid) * grid
    if beta != 0.0:  # LSQ+ learns it; a plain LSQ layer keeps 0 unless someone set it
        _fold_offset(layer, beta, grid, plans, notes)
    return layer.bits - min(integer, 0), max(integer, 0)


def _cloner(plans: dict, acts: dict):
    """Keras' clone function: LSQ layers as the QKeras layers of their plans, the others as they are."""
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    def mac(layer, cfg):
        p = plans[layer.name]
        common = dict(kernel_quantizer=quantized_bits(p["bits"], p["integer"], alpha=1),
                      bias_quantizer=quantized_bits(BIAS_INTEGER + 1 + p["bias_frac"], BIAS_INTEGER, alpha=1),
                      name=layer.name)
        if type(layer).__name__ == "LSQDense":
            return QDense(cfg["units"], **common)
        return QConv2D(cfg["filters"], cfg["kernel_size"], strides=cfg["strides"], padding=cfg["padding"], **common)

    def relu(layer, cfg):
        bits, integer = acts[layer.name]
        return QActivation(quantized_relu(bits, integer), name=layer.name)

    by_kind = {"LSQDense": mac, "LSQConv2D": mac, "LSQReLU": relu}

    def clone(layer):
        cfg = layer.get_config()
        make = by_kind.get(type(layer).__name__)
        return make(layer, cfg) if make else layer.__class__.from_config(cfg)

    return clone


def deploy(model):
    """LSQ/LSQ+ model -> (QKeras model hls4ml converts exactly, notes). Other models are returned as they are."""
    if not is_lsq_model(model):
        return model, []
    import tensorflow as tf

    notes = []
    # 1. weights: codes at power-of-two steps; one type wide enough for every channel's grid
    plans = {layer.name: _weight_plan(layer, notes) for layer in model.layers
             if type(layer).__name__ in _MAC_KINDS}
    # 2. activations: power-of-two step; LSQ+ offsets folded into the neighbouring biases
    acts = {layer.name: _activation_plan(layer, plans, notes) for layer in model.layers
            if type(layer).__name__ == "LSQReLU"}
    deployed = tf.keras.models.clone_model(model, clone_function=_cloner(plans, acts))
    for layer in deployed.layers:
        if layer.name in plans:
            layer.set_weights([plans[layer.name]["kernel"].astype(np.float32), plans[layer.name]["bias"].astype(np.float32)])
        elif layer.get_weights() and type(model.get_layer(layer.name)).__name__ not in lsq_classes():
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return deployed, notes
