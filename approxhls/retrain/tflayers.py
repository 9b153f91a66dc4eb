"""Keras layers whose sums are a plan's approximate products, exactly as the emulator computes them (TensorFlow).

A planned QDense/QConv2D of the model is replaced, in a clone, by :class:`ApproxQDense`/:class:`ApproxQConv2D`: the
same weights and quantizers, but the multiply-accumulate looks up the integer codes of the layer's quantized input
and weights in the factors of its product table (:mod:`approxhls.retrain.products`) and sums them in float64,
which holds every sum exactly; convolutions pad the input codes as hls4ml does before any product is formed. The
gradient is straight-through: that of the exact product of the quantized input and weights (whose quantizers pass
it on to the float weights, QKeras' STE), added as ``exact - stop_gradient(exact)``, which is zero in the forward
pass. This module imports TensorFlow: only :mod:`approxhls.retrain.finetune` and tests import it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from qkeras import QConv2D, QDense

from approxhls.retrain.products import LayerProducts, RetrainError


def _codes(values, t) -> tf.Tensor:
    """Integer codes (float64) of values on a fixed-point type's grid, clipped to its range."""
    c = tf.round(tf.cast(values, tf.float64) * 2.0**t.frac)
    return tf.clip_by_value(c, float(t.code_min), float(t.code_max))


def _lookup(factor: tf.Tensor, codes: tf.Tensor, code_min: int) -> tf.Tensor:
    """The factor's row of every code: codes.shape + (rank,)."""
    return tf.gather(factor, tf.cast(codes, tf.int32) - code_min)


class _Approximate:
    """What both approximate layers share: the factors as constants, the float64 pre-activation, the call."""

    products: LayerProducts | None = None

    def set_products(self, products: LayerProducts) -> None:
        self.products = products
        self._F = tf.constant(products.F, tf.float64)
        self._Gt = tf.constant(np.ascontiguousarray(products.G.T), tf.float64)

    def quantized(self):
        """(quantized kernel, quantized bias or None) as float64, the values the converted network holds."""
        k = self.kernel_quantizer_internal(self.kernel) if self.kernel_quantizer else self.kernel
        b = None
        if self.use_bias:
            b = self.bias_quantizer_internal(self.bias) if self.bias_quantizer else self.bias
            b = tf.cast(b, tf.float64)
        return tf.cast(k, tf.float64), b

    def weight_factors(self, wq: tf.Tensor) -> tf.Tensor:
        """G of every weight code, the rank moved next to the input axis: kernel.shape[:-1] + (rank, out)."""
        p = self.products
        g = _lookup(self._Gt, _codes(wq, p.w_type), p.w_type.code_min)  # kernel.shape + (rank,)
        perm = list(range(len(wq.shape) - 1)) + [len(wq.shape), len(wq.shape) - 1]
        return tf.transpose(g, perm)

    def preactivation(self, inputs) -> tf.Tensor:
        """The layer's sums of approximate products plus bias, float64, with the exact product's gradient."""
        if self.products is None:
            raise RetrainError(f"layer {self.name!r} has no products set (set_products)")
        wq, bias = self.quantized()
        x = tf.cast(inputs, tf.float64)
        exact = self.exact_sums(x, wq)
        y = self.approximate_sums(x, wq) * 2.0 ** -self.products.frac + (exact - tf.stop_gradient(exact))
        return y if bias is None else y + bias

    def call(self, inputs):
        y = tf.cast(self.preactivation(inputs), self.compute_dtype)
        return self.activation(y) if self.activation is not None else y


class ApproxQDense(_Approximate, QDense):
    """QDense whose products are a plan's multiplier (rows: samples, columns: the kernel's input axis)."""

    def exact_sums(self, x, wq):
        return tf.matmul(x, wq)

    def approximate_sums(self, x, wq):
        p = self.products
        k, r = int(wq.shape[0]), p.rank
        xf = _lookup(self._F, _codes(x, p.x_type), p.x_type.code_min)  # (n, k, r)
        g = self.weight_factors(wq)  # (k, r, out)
        return tf.matmul(tf.reshape(xf, (-1, k * r)), tf.reshape(g, (k * r, -1)))


class ApproxQConv2D(_Approximate, QConv2D):
    """QConv2D whose products are a plan's multiplier: the factor of each input code is an input channel of an
    ordinary convolution (C * rank channels), the kernel's factors its weights."""

    def _padded(self, x):
        g = self.products.geometry
        return tf.pad(x, [[0, 0], [g["pad_top"], g["pad_bottom"]], [g["pad_left"], g["pad_right"]], [0, 0]])

    def _strides(self):
        g = self.products.geometry
        return [1, g["stride_height"], g["stride_width"], 1]

    def exact_sums(self, x, wq):
        return tf.nn.conv2d(self._padded(x), wq, self._strides(), "VALID")

    def approximate_sums(self, x, wq):
        p = self.products
        xc = self._padded(_codes(x, p.x_type))  # hls4ml pads the codes with zeros: M(0, w) is a product too
        xf = _lookup(self._F, xc, p.x_type.code_min)  # (n, H, W, C, r)
        shape = tf.shape(xf)
        xf = tf.reshape(xf, tf.concat([shape[:3], [shape[3] * shape[4]]], 0))
        g = self.weight_factors(wq)  # (fh, fw, C, r, out)
        fh, fw, c, r, out = g.shape
        return tf.nn.conv2d(xf, tf.reshape(g, (fh, fw, c * r, out)), self._strides(), "VALID")


APPROXIMATE = {"QDense": ApproxQDense, "QConv2D": ApproxQConv2D}  # Keras class -> its approximate twin


def _check_layer(layer) -> None:
    name = type(layer).__name__
    if name not in APPROXIMATE:
        raise RetrainError(f"layer {layer.name!r} is a {name}; retraining with approximate products covers "
                           f"{', '.join(APPROXIMATE)} (plan this layer exact)")
    if getattr(layer, "dilation_rate", (1, 1)) not in ((1, 1), [1, 1]):
        raise RetrainError(f"layer {layer.name!r}: dilated convolutions are not covered; plan it exact")


def approximate_model(model, products: dict[str, LayerProducts]):
    """A clone of ``model`` (same weights) whose layers named in ``products`` compute those products."""
    for name in products:
        _check_layer(model.get_layer(name))

    def clone(layer):
        cls = APPROXIMATE[type(layer).__name__] if layer.name in products else type(layer)
        new = cls.from_config(layer.get_config())
        if layer.name in products:
            new.set_products(products[layer.name])
        return new

    twin = tf.keras.models.clone_model(model, clone_function=clone)
    twin.set_weights(model.get_weights())
    return twin


def weight_codes(layer, w_type) -> np.ndarray:
    """The codes of a layer's quantized kernel on ``w_type``'s grid (float64; integers where on the grid)."""
    k = layer.kernel_quantizer_internal(layer.kernel) if layer.kernel_quantizer else layer.kernel
    return np.asarray(k, dtype=np.float64) * 2.0**w_type.frac


def check_weights(model, ir, products: dict[str, LayerProducts]) -> None:
    """Each planned layer's quantized Keras kernel is the converted network's weight codes (else the products would
    be looked up for other weights: a batch-norm folded in, a moved scale), or a RetrainError naming the layer."""
    for name, p in products.items():
        layer = model.get_layer(name)
        _check_layer(layer)
        codes, want = weight_codes(layer, p.w_type), ir.node(p.node).weights["weight"]
        if codes.size != want.size or not np.array_equal(codes.reshape(want.shape), want):
            raise RetrainError(f"layer {name!r}: its quantized kernel is not the converted network's weight codes "
                               f"on {p.w_type} (a scaled quantizer, or a batch-norm folded in); retraining needs "
                               f"alpha=1 quantizers on that layer, or plan it exact")
