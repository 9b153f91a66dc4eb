"""Direct convolution of integer codes with TensorFlow's float32 conv2d (oneDNN on x86), exact by bounds.

A convolution's sums are integers. float32 holds every integer below 2^24, and a sum whose terms' absolute
values add up to less than 2^24 is exact in any order of addition, so a float32 convolution of integer codes
is exact when, for every output channel, sum over the kernel of max|input feature| x |weight| < 2^24. Input
channels are cut into chunks that each keep that bound (from the layer's actual weights); chunk results are
added in int64. No im2col copy is made, which is where the GEMM path spends its time on larger layers.

Whether this beats the im2col GEMM for a layer is measured by the emulator on a probe batch, which also checks
that both give the same sums (a convolution algorithm that is not exact, e.g. Winograd, is then refused). It is
used where TensorFlow is already loaded (or asked for): importing it is not the emulator's business.
"""

from __future__ import annotations

import sys

import numpy as np

from approxhls import fixedkernels
from approxhls.sim.ops.mac import image

F32_LIMIT = 2**24


def tensorflow(load: bool = False):
    """The tensorflow module where this process has loaded it (the laptop toolchain: Keras, search workers), else
    None: the emulator itself stays numpy-only (a saved project is evaluated without TensorFlow) unless ``load``."""
    tf = sys.modules.get("tensorflow")
    if tf is None and load:
        try:
            import tensorflow as tf
        except ImportError:
            return None
    return tf


def chunks(contrib: np.ndarray, limit: int = F32_LIMIT) -> list[slice] | None:
    """Consecutive column ranges whose summed contribution stays below ``limit`` for every output;
    ``contrib`` (columns, outputs) >= 0. None when a single column alone reaches it."""
    out, start, acc = [], 0, np.zeros(contrib.shape[1])
    for col in range(contrib.shape[0]):
        if (contrib[col] >= limit).any():
            return None
        if (acc + contrib[col] >= limit).any():
            out.append(slice(start, col))
            start, acc = col, np.zeros(contrib.shape[1])
        acc = acc + contrib[col]
    out.append(slice(start, contrib.shape[0]))
    return out


class DirectConv:
    """One conv layer's sums (rows = pixels, out; float arrays holding exact integers) from its input codes, for
    the weight rows of the emulator's GEMM (``W`` (fh*fw*C*m, out): m features per input code, in kernel order)
    and the features of each input code (``lookup`` (n_codes, m) indexed by code - x_min; None: the code itself,
    m = 1)."""

    def __init__(self, node, W: np.ndarray, lookup: np.ndarray | None, x_min: int, x_max: int):
        tf = tensorflow()
        a = node.attrs
        self.node, self.x_min = node, x_min
        fh, fw, c = a["filt_height"], a["filt_width"], a["n_chan"]
        m = W.shape[0] // (fh * fw * c)
        w4 = W.reshape(fh, fw, c * m, W.shape[1])
        fmax = (np.abs(lookup).max(axis=0) if lookup is not None else np.array([max(abs(x_min), abs(x_max))]))
        contrib = np.tile(fmax.astype(np.float64), c)[:, None] * np.abs(w4).sum(axis=(0, 1), dtype=np.float64)
        self.slices = chunks(contrib)
        self.ok = self.slices is not None
        if not self.ok:
            return
        self.conv2d = tf.nn.conv2d
        self.lookup = None if lookup is None else lookup.astype(np.float32)
        self.kernels = [tf.constant(w4[:, :, s].astype(np.float32)) for s in self.slices]
        # zero padding may be applied to features only where code 0 has all-zero features
        self.pad_features = self.lookup is None or not self.lookup[-x_min].any()
        pads = [[0, 0], [a["pad_top"], a["pad_bottom"]], [a["pad_left"], a["pad_right"]], [0, 0]]
        self.padding = pads if self.pad_features else "VALID"
        self.strides = [1, a["stride_height"], a["stride_width"], 1]
        self.oh, self.ow = a["out_height"], a["out_width"]

    def __call__(self, xc: np.ndarray, n: int) -> np.ndarray:
        a = self.node.attrs
        if self.pad_features:
            x = np.asarray(xc).reshape(n, a["in_height"], a["in_width"], a["n_chan"])
        else:
            x = image(self.node, xc, n)  # pad the codes: the features of code 0 are not zero
        if self.lookup is None:
            feats = x.astype(np.float32)
        else:
            feats = fixedkernels.features(x, self.x_min, self.lookup).reshape(*x.shape[:3], -1)
        total = None
        for s, k in zip(self.slices, self.kernels):
            part = feats if len(self.slices) == 1 else feats[..., s]
            y = self.conv2d(part, k, self.strides, self.padding).numpy()[:, : self.oh, : self.ow]
            total = y if total is None else total + y.astype(np.float64)  # chunks < 2^24 each: exact in float64
        return total.reshape(n * self.oh * self.ow, -1)  # float values that are exact integers
