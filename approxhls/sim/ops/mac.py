"""Multiplying operations: Dense, convolutions (1D/2D, pointwise) and depthwise convolutions.

Each is a set of weight groups: a group is a matrix W (k, out) with its biases, applied to input rows (rows, k)
that the operation cuts from its input (a flattened sample, im2col patches, one channel's patches). The
multiply-accumulate of a group is the evaluator's (``ctx.mac``): the reference looks every product up in the
layer's multiplier table, the emulator uses exact GEMMs; everything around it is here, shared.

1D layers are 2D layers of height 1: one code path, hls4ml's weight order (filter height, width, channel).
"""

from __future__ import annotations

import numpy as np

from approxhls.errors import UnsupportedLayerError
from approxhls.fixedpoint import FixedType
from approxhls.sim.ops import register
from approxhls.sim.ops.base import EXACT, Exactness, Op, pad_image

CONV_GEOMETRY = ("in_height", "in_width", "n_chan", "n_filt", "filt_height", "filt_width", "stride_height",
                 "stride_width", "out_height", "out_width", "pad_top", "pad_bottom", "pad_left", "pad_right",
                 "depth_multiplier")
AS_2D = {"in_height": 1, "out_height": 1, "filt_height": 1, "stride_height": 1, "pad_top": 0, "pad_bottom": 0}


def patches(x: np.ndarray, fh: int, fw: int, sh: int, sw: int, oh: int, ow: int) -> np.ndarray:
    """(n, oh, ow, fh, fw, c) view of the windows (no copy)."""
    v = np.lib.stride_tricks.sliding_window_view(x, (fh, fw), axis=(1, 2))  # (n, H', W', c, fh, fw)
    return v[:, : sh * oh : sh, : sw * ow : sw].transpose(0, 1, 2, 4, 5, 3)


def image(node, xc: np.ndarray, n: int) -> np.ndarray:
    """The input as (n, H, W, C), zero-padded as the layer pads it."""
    a = node.attrs
    return pad_image(xc.reshape(n, a["in_height"], a["in_width"], a["n_chan"]), a)


def windows(node, xc: np.ndarray, n: int) -> np.ndarray:
    a = node.attrs
    return patches(image(node, xc, n), a["filt_height"], a["filt_width"], a["stride_height"], a["stride_width"],
                   a["out_height"], a["out_width"])


def conv_attrs(layer, ex) -> dict:
    """Geometry of an hls4ml convolution as a 2D one (1D layers get height 1)."""
    attrs = ex.int_attrs(layer, CONV_GEOMETRY)
    if layer.class_name.endswith("1D"):
        attrs |= AS_2D
    return attrs


class MacOp(Op):
    multiplies = True
    role = "mac"
    product_kinds = ("mult",)

    def groups(self, node) -> list[tuple[np.ndarray, np.ndarray]]:
        """(W (k, out), bias (out,)) per weight group."""
        raise NotImplementedError

    def columns(self, node, xc: np.ndarray, n: int) -> list[np.ndarray]:
        """Input rows (rows, k) of every group."""
        raise NotImplementedError

    def assemble(self, node, outs: list[np.ndarray], n: int) -> np.ndarray:
        return outs[0].reshape((n, *node.shape))

    def rows(self, node) -> int:
        """Output positions per sample (how often each weight is used)."""
        return 1

    def macs(self, node) -> int:
        return self.rows(node) * sum(int(w.size) for w, _ in self.groups(node))

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        if node.attrs.get("binary_input"):  # ap_uint<1> codes 0/1 stand for -1/+1 (hls4ml's data_binary product)
            xc, x_t = 2 * xc - 1, FixedType(2, 2, True)
        if ctx.layer is not None:
            out = ctx.layer(node, xc, x_t)
            if out is not None:
                return out
        cols = self.columns(node, xc, ctx.n)
        return self.assemble(node, [ctx.mac(node, g, c, x_t) for g, c in enumerate(cols)], ctx.n)

    def reads_narrow(self, node, in_types):
        # the emulator's direct engines read any dtype, and its GEMMs widen their rows where they need to; binary
        # inputs are mapped by 2 * x - 1 here
        return not node.attrs.get("binary_input")

    def exactness(self, node, ir) -> Exactness:
        if not node.attrs.get("quantized_weights", True):
            return Exactness(False, f"float weights rounded to {node.types['weight']}")
        if not node.attrs.get("on_grid", True):
            return Exactness(False, f"float biases rounded to {node.types.get('bias')}")
        if node.attrs.get("product_note"):
            return Exactness(False, node.attrs["product_note"])
        if node.attrs.get("scale_moved"):  # not the Keras layer's values, yet the layers after may equal theirs
            return Exactness(None, node.attrs["scale_moved"])
        return EXACT


@register
class Dense(MacOp):
    name = "dense"
    hls_classes = ("Dense",)

    @classmethod
    def extract(cls, layer, ex):
        return [ex.mac_node(layer, cls.name, ex.int_attrs(layer, ("n_in", "n_out")))]

    def groups(self, node):
        w = node.weights["weight"]
        return [(w.reshape(-1, w.shape[-1]), node.weights["bias"])]

    def columns(self, node, xc, n):
        return [xc.reshape(n, -1)]


@register
class Conv(MacOp):
    name = "conv"
    hls_classes = ("Conv1D", "Conv2D", "Conv2DBatchnorm", "PointwiseConv1D", "PointwiseConv2D")

    @classmethod
    def extract(cls, layer, ex):
        return [ex.mac_node(layer, cls.name, conv_attrs(layer, ex))]

    def groups(self, node):
        return [(node.weights["weight"].reshape(-1, node.attrs["n_filt"]), node.weights["bias"])]

    def columns(self, node, xc, n):
        w = windows(node, xc, n)
        return [w.reshape(n * w.shape[1] * w.shape[2], -1)]  # copies: rows = pixels, columns in kernel order

    def rows(self, node):
        return node.attrs["out_height"] * node.attrs["out_width"]


@register
class DepthwiseConv(MacOp):
    """One filter bank per input channel (depth multiplier m): output channel c*m + j."""

    name = "depthwise"
    hls_classes = ("DepthwiseConv1D", "DepthwiseConv2D")

    @classmethod
    def extract(cls, layer, ex):
        if ex.io_type == "io_parallel" and str(layer.get_attr("strategy", "")).lower() == "resource":
            raise UnsupportedLayerError(f"layer {layer.name!r} ({layer.class_name}): hls4ml 1.3.0 has no Resource "
                                        f"strategy for it under io_parallel (its C++ stops with an assertion); use "
                                        f"--strategy latency or io_stream")
        attrs = conv_attrs(layer, ex)
        attrs.setdefault("depth_multiplier", attrs["n_filt"] // attrs["n_chan"])
        return [ex.mac_node(layer, cls.name, attrs)]

    def groups(self, node):
        a = node.attrs
        c, m = a["n_chan"], a["depth_multiplier"]
        w = node.weights["weight"].reshape(a["filt_height"] * a["filt_width"], c, m)
        b = node.weights["bias"].reshape(c, m)
        return [(w[:, ch, :], b[ch]) for ch in range(c)]

    def columns(self, node, xc, n):
        w = windows(node, xc, n)  # (n, oh, ow, fh, fw, c)
        rows = w.reshape(-1, w.shape[3] * w.shape[4], w.shape[5])
        return [np.ascontiguousarray(rows[:, :, ch]) for ch in range(w.shape[5])]

    def assemble(self, node, outs, n):
        return np.stack(outs, axis=1).reshape((n, *node.shape))  # (rows, c, m) -> channel c*m + j

    def rows(self, node):
        return node.attrs["out_height"] * node.attrs["out_width"]
