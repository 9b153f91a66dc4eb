"""The model zoo: small QKeras networks built from a quantization scheme.

Every builder takes the per-sample input shape, the number of classes and a :class:`Scheme`, and returns
an uncompiled ``keras.Model`` whose outputs are logits (no softmax: hls4ml's softmax is a lookup table
and would break bit-exactness). With ``fuse_bn=True`` each convolution is a ``QConv2DBatchnorm``, whose
batch-norm is folded into the quantized kernel and bias for inference. Layer names are C identifiers
because hls4ml turns them into C++ names. Builders live in :data:`MODELS`.
"""

from __future__ import annotations

import math
from typing import Callable

from approxhls.errors import ModelError
from approxhls.models.schemes import Scheme, parse_scheme

INPUT_NAME = "x_in"  # hls4ml reserves the name "input"


def _layers():
    from tensorflow.keras import layers  # noqa: PLC0415  (heavy import kept local)

    return layers


def _conv(x, scheme: Scheme, filters, kernel, name, strides=1, padding="same", fuse_bn=False):
    return scheme.conv(filters, kernel, name, strides=strides, padding=padding, fuse_bn=fuse_bn)(x)


def _dense(x, scheme: Scheme, units, name):
    return scheme.dense(units, name)(x)


def _relu(x, scheme: Scheme, name):
    return scheme.relu(name)(x)


def _scaled(n: int, width: float) -> int:
    return max(2, int(round(n * width)))


def build_mlp(input_shape, n_classes, scheme, fuse_bn=False, width=1.0):
    """Flat input -> Dense(32) -> ReLU -> Dense(32) -> ReLU -> Dense(classes). For the 8x8 digits."""
    from tensorflow import keras

    layers = _layers()
    if fuse_bn:
        raise ModelError("mlp has no convolutions to fuse batch-norm into (hls4ml has no QDenseBatchnorm handler)")
    n_in = int(math.prod(input_shape))
    inp = layers.Input(shape=(n_in,), name=INPUT_NAME)
    x = inp
    for i in (1, 2):
        x = _dense(x, scheme, _scaled(32, width), f"fc{i}")
        x = _relu(x, scheme, f"relu{i}")
    out = _dense(x, scheme, n_classes, "logits")
    return keras.Model(inp, out, name="mlp")


def build_cnn(input_shape, n_classes, scheme, fuse_bn=False, width=1.0):
    """Conv(16) -> ReLU -> MaxPool -> Conv(32) -> ReLU -> MaxPool -> Flatten -> Dense(classes).

    Convolutions are 'valid' on images of 16 pixels or more (28x28: 0.66 MMAC) and 'same' on smaller ones.
    """
    from tensorflow import keras

    layers = _layers()
    padding = "valid" if min(input_shape[:2]) >= 16 else "same"
    inp = layers.Input(shape=tuple(input_shape), name=INPUT_NAME)
    x = inp
    for i, filters in ((1, 16), (2, 32)):
        x = _conv(x, scheme, _scaled(filters, width), 3, f"conv{i}", padding=padding, fuse_bn=fuse_bn)
        x = _relu(x, scheme, f"relu{i}")
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    out = _dense(x, scheme, n_classes, "logits")
    return keras.Model(inp, out, name="cnn")


def build_resnet8(input_shape, n_classes, scheme, fuse_bn=False, width=1.0):
    """ResNet-8 in the style of MLPerf Tiny: a stem conv and three residual stacks (16, 32, 64 filters).

    The input is zero-padded to a power-of-two side so that the final average pooling divides by a power
    of two, which fixed-point hardware does exactly (28x28 -> 32x32 -> 8x8 final map).
    """
    from tensorflow import keras

    layers = _layers()
    h, w = int(input_shape[0]), int(input_shape[1])
    ph, pw = 1 << (h - 1).bit_length(), 1 << (w - 1).bit_length()
    if min(ph, pw) < 4:
        raise ModelError(f"resnet8 needs images of at least 4x4 pixels, got {h}x{w}")
    inp = layers.Input(shape=tuple(input_shape), name=INPUT_NAME)
    x = inp
    if (ph, pw) != (h, w):
        top, left = (ph - h) // 2, (pw - w) // 2
        x = layers.ZeroPadding2D(((top, ph - h - top), (left, pw - w - left)), name="pad")(x)
    x = _conv(x, scheme, _scaled(16, width), 3, "stem", fuse_bn=fuse_bn)
    x = _relu(x, scheme, "stem_relu")
    for stack, filters in ((1, 16), (2, 32), (3, 64)):
        f = _scaled(filters, width)
        stride = 1 if stack == 1 else 2
        y = _conv(x, scheme, f, 3, f"s{stack}_conv1", strides=stride, fuse_bn=fuse_bn)
        y = _relu(y, scheme, f"s{stack}_relu1")
        y = _conv(y, scheme, f, 3, f"s{stack}_conv2", fuse_bn=fuse_bn)
        if stride != 1:
            # The shortcut is a plain 1x1 convolution without batch-norm, as in MLPerf Tiny's ResNet-8.
            x = _conv(x, scheme, f, 1, f"s{stack}_skip", strides=stride)
        x = layers.Add(name=f"s{stack}_add")([x, y])
        x = _relu(x, scheme, f"s{stack}_relu2")
    x = layers.AveragePooling2D(pool_size=(ph // 4, pw // 4), name="avgpool")(x)
    x = layers.Flatten(name="flatten")(x)
    out = _dense(x, scheme, n_classes, "logits")
    return keras.Model(inp, out, name="resnet8")


MODELS: dict[str, Callable] = {
    "mlp": build_mlp,
    "cnn": build_cnn,
    "resnet8": build_resnet8,
}

# The dataset each model is meant for (the CLI's default when --dataset is not given).
DEFAULT_DATASET = {"mlp": "digits", "cnn": "fashion-mnist", "resnet8": "fashion-mnist"}


def build_model(name: str, input_shape, n_classes: int, scheme="fixed-w8a8", fuse_bn=False, width=1.0):
    builder = MODELS.get(name)
    if builder is None:
        raise ModelError(f"unknown model {name!r}; the zoo has {', '.join(sorted(MODELS))}")
    return builder(tuple(input_shape), int(n_classes), parse_scheme(scheme), fuse_bn=fuse_bn, width=width)
