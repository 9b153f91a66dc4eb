"""Max and average pooling, 1D/2D, windowed and global (``nnet_pooling.h``, ``nnet_pooling_stream.h``).

Max: the window's maximum in the input type, cast to ``accum_t`` and then to the result type. Average: the
window summed in ``accum_t`` (io_parallel adds element by element, io_stream in a balanced tree; the same
when the accumulator is exact), divided by the number of elements rounding toward zero (ap_fixed division),
cast to the result type. Padded positions hold the type's most negative value (max) or 0 (average; the
divisor then counts only the image's elements, as Keras does). Global pooling is one window over the image.
"""

from __future__ import annotations

import numpy as np

from approxhls.sim.ops import register
from approxhls.sim.ops.base import EXACT, Exactness, Op, align, cast, pad_image, trunc_div
from approxhls.sim.ops.mac import patches
from approxhls.sim.ops.softmax import tree_sum

POOL_GEOMETRY = ("in_height", "in_width", "n_filt", "pool_height", "pool_width", "stride_height", "stride_width",
                 "out_height", "out_width", "pad_top", "pad_bottom", "pad_left", "pad_right", "n_in", "n_out",
                 "count_pad")


def pool_attrs(layer, ex) -> dict:
    """Geometry as a 2D pooling: 1D layers get height 1, global pooling one window over the whole input."""
    a = ex.int_attrs(layer, POOL_GEOMETRY)
    cls = layer.class_name
    if cls.endswith("1D"):
        a |= {"in_height": 1, "out_height": 1, "pool_height": 1, "stride_height": 1, "pad_top": 0, "pad_bottom": 0}
        a.setdefault("in_width", a.get("n_in"))
        a.setdefault("out_width", a.get("n_out"))
    if cls.startswith("GlobalPooling"):
        a |= {"pool_height": a["in_height"], "pool_width": a["in_width"], "stride_height": a["in_height"],
              "stride_width": a["in_width"], "out_height": 1, "out_width": 1, "pad_top": 0, "pad_bottom": 0,
              "pad_left": 0, "pad_right": 0}
    for k in ("pad_top", "pad_bottom", "pad_left", "pad_right", "count_pad"):
        a.setdefault(k, 0)
    return a


def padded_input(node, xc: np.ndarray, n: int, fill: int) -> np.ndarray:
    """The input as (n, H, W, C), padded with ``fill`` as the layer pads it."""
    a = node.attrs
    return pad_image(xc.reshape(n, a["in_height"], a["in_width"], a["n_filt"]), a, fill)


def _geometry(node) -> tuple:
    a = node.attrs
    return a["pool_height"], a["pool_width"], a["stride_height"], a["stride_width"], a["out_height"], a["out_width"]


def window_counts(node) -> np.ndarray:
    """(oh, ow): how many image elements (not padding) each window covers."""
    a = node.attrs
    valid = patches(pad_image(np.ones((1, a["in_height"], a["in_width"], 1), np.int64), a), *_geometry(node))
    return valid.reshape(*valid.shape[1:3], -1).sum(axis=-1)


def pool_windows(node, xc: np.ndarray, n: int, fill: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, oh, ow, c, window) windows of the padded input, and how many image elements each window covers."""
    w = patches(padded_input(node, xc, n, fill), *_geometry(node))
    return w.reshape(*w.shape[:3], -1, w.shape[-1]).swapaxes(-1, -2), window_counts(node)


class _Pool(Op):
    hls_classes = ("Pooling1D", "Pooling2D", "GlobalPooling1D", "GlobalPooling2D")
    kind = ""

    @classmethod
    def claims(cls, layer):
        op = str(layer.get_attr("pool_op", "")).lower()
        return layer.class_name in cls.hls_classes and op.startswith(cls.kind)

    @classmethod
    def extract(cls, layer, ex):
        return [ex.node(layer, cls.name, pool_attrs(layer, ex) | {"io_type": ex.io_type})]


@register
class MaxPool(_Pool):
    name = "pool_max"
    kind = "max"

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        acc_t = node.type("accum") if "accum" in node.types else x_t
        return cast(cast(window_max(node, xc, ctx.n, x_t.code_min), x_t, acc_t), acc_t,
                    node.type()).reshape((ctx.n, *node.shape))

    def reads_narrow(self, node, in_types):
        # a maximum is the same in any integer dtype that holds the codes, and so is the padding's x_t.code_min; the
        # casts widen where the types differ. Equal types (the usual case) keep the narrow codes: a quarter to an
        # eighth of the memory passes, and the next layer gets them narrow
        return True


def window_reduce(node, xc: np.ndarray, n: int, fill: int, ufunc, dtype=np.int64) -> np.ndarray:
    """(n, oh, ow, c) reductions (np.maximum, np.add) of the windows in ``dtype`` (None: the input's): one element-wise
    step per window position over strided slices of the padded input (the same values as reducing pool_windows,
    without a pass over a windowed view per element)."""
    x = padded_input(node, xc, n, fill)
    dtype = dtype or x.dtype
    ph, pw, sh, sw, oh, ow = _geometry(node)
    if (oh, ow) == (1, 1) and x.shape[1:3] == (ph, pw):  # global: one reduction over the image
        return ufunc.reduce(x.reshape(n, ph * pw, -1), axis=1, dtype=dtype).reshape(n, 1, 1, -1)
    out = None
    for i in range(ph):
        for j in range(pw):
            part = x[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            out = part.astype(dtype) if out is None else ufunc(out, part, out=out)
    return out


def window_max(node, xc: np.ndarray, n: int, fill: int) -> np.ndarray:
    """Window maxima in the codes' own dtype."""
    return window_reduce(node, xc, n, fill, np.maximum, dtype=None)


def exact_accumulation(node, x_t, acc_t) -> bool:
    """Whether accum_t holds every partial sum of a window exactly (then the order of the additions, element by
    element or in a tree, cannot matter)."""
    if acc_t.frac < x_t.frac:
        return False
    area, shift = node.attrs["pool_height"] * node.attrs["pool_width"], acc_t.frac - x_t.frac
    return acc_t.code_min <= (area * x_t.code_min) << shift and (area * x_t.code_max) << shift <= acc_t.code_max


@register
class AvgPool(_Pool):
    name = "pool_avg"
    kind = "av"
    role = "requant"

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        acc_t = node.type("accum")
        if exact_accumulation(node, x_t, acc_t):  # the plain sum: strided adds, no windowed copy
            total = window_reduce(node, xc, ctx.n, 0, np.add) << (acc_t.frac - x_t.frac)
            area = node.attrs["pool_height"] * node.attrs["pool_width"]
            divisor = area if node.attrs.get("count_pad") else window_counts(node)[None, :, :, None]
            return cast(trunc_div(total, divisor), acc_t, node.type()).reshape((ctx.n, *node.shape))
        win, count = pool_windows(node, xc, ctx.n, 0)
        if node.attrs.get("io_type") == "io_stream":  # the window is copied into accum_t, then a tree of adds
            total = tree_sum(cast(win, x_t, acc_t), acc_t)
        else:  # y += x[i]: each exact sum assigned to accum_t
            f = max(acc_t.frac, x_t.frac)
            total = np.zeros(win.shape[:-1], dtype=np.int64)
            for k in range(win.shape[-1]):
                total = acc_t.requantize(align(total, acc_t, f) + align(win[..., k], x_t, f), f)
        divisor = win.shape[-1] if node.attrs.get("count_pad") else count[None, :, :, None]
        return cast(trunc_div(total, divisor), acc_t, node.type()).reshape((ctx.n, *node.shape))

    def reads_narrow(self, node, in_types):
        # the plain sum adds in int64 whatever the codes' dtype; the windowed accumulations cast the codes as they come
        return exact_accumulation(node, in_types[0], node.type("accum"))

    def exactness(self, node, ir):
        a = node.attrs
        area = a["pool_height"] * a["pool_width"]
        if area & (area - 1):
            return Exactness(False, f"average over {area} elements, not a power of two: the division rounds")
        if any(a.get(p, 0) for p in ("pad_top", "pad_bottom", "pad_left", "pad_right")):
            return Exactness(False, "padded average: border windows divide by other element counts")
        return EXACT
