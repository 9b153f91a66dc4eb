"""Operations that move values without arithmetic: the input, reshape/flatten, clone (stream fan-out), zero
padding, nearest-neighbour upsampling and concatenation. Each assigns its values to its result type."""

from __future__ import annotations

import numpy as np

from approxhls.sim.ops import register
from approxhls.sim.ops.base import EXACT, Exactness, Op, cast, pad_image

PAD_KEYS = ("pad_top", "pad_bottom", "pad_left", "pad_right")


def holds(dst, src) -> bool:
    """True when type ``dst`` represents every value of ``src`` exactly."""
    return dst.frac >= src.frac and dst.contains(np.array([src.min, src.max]))


class _Move(Op):
    def reads_narrow(self, node, in_types):
        return all(t == node.type() for t in in_types)  # then cast() leaves the codes alone: they are only moved

    def exactness(self, node, ir):
        src = [ir.producer(v).type() for v in node.inputs]
        bad = [str(t) for t in src if not holds(node.type(), t)]
        return EXACT if not bad else Exactness(False, f"result type {node.types['result']} does not hold {', '.join(bad)}")


@register
class Input(Op):
    name = "input"
    hls_classes = ("Input", "InputLayer")

    @classmethod
    def extract(cls, layer, ex):
        node = ex.node(layer, cls.name)
        node.inputs = []  # hls4ml names the graph's input; no node produces it
        return [node]

    def evaluate(self, node, ins, ctx):
        # a sample is its inputs side by side (one input: all of it); the bridge's double -> input_t
        start = node.attrs.get("offset", 0)
        flat = ctx.x.reshape(ctx.n, -1)[:, start:start + int(np.prod(node.shape))]
        return node.type().to_codes(flat.reshape((ctx.n, *node.shape)))

    def exactness(self, node, ir):
        return Exactness(True, "on inputs on its grid")


@register
class Reshape(_Move):
    name = "reshape"
    hls_classes = ("Reshape", "Flatten")

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        return cast(xc, x_t, node.type()).reshape((ctx.n, *node.shape))


@register
class Identity(_Move):
    name = "identity"
    hls_classes = ("Clone", "Repack")  # stream fan-out; io_stream re-chunking after a reshape
    evaluate = Reshape.evaluate


@register
class ZeroPad(_Move):
    name = "zeropad"
    hls_classes = ("ZeroPadding1D", "ZeroPadding2D")

    @classmethod
    def extract(cls, layer, ex):
        a = ex.int_attrs(layer, ("in_height", "in_width", "n_chan", "out_height", "out_width") + PAD_KEYS)
        if layer.class_name.endswith("1D"):
            a |= {"in_height": 1, "out_height": 1, "pad_top": 0, "pad_bottom": 0}
        return [ex.node(layer, cls.name, a)]

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        a = node.attrs
        out = pad_image(xc.reshape(ctx.n, a["in_height"], a["in_width"], -1), a)
        return cast(out, x_t, node.type()).reshape((ctx.n, *node.shape))


@register
class Upsample(_Move):
    """Nearest neighbour: output row i reads input row (i * ((H << 16) / H' + 1)) >> 16 (``nnet_image.h``)."""

    name = "upsample"
    hls_classes = ("Resize",)

    @classmethod
    def extract(cls, layer, ex):
        from approxhls.errors import UnsupportedLayerError

        algo = str(layer.get_attr("algorithm", "nearest"))
        if algo != "nearest":
            raise UnsupportedLayerError(f"layer {layer.name!r} (UpSampling, interpolation {algo!r}) is not supported: "
                                        f"hls4ml implements nearest-neighbour upsampling only")
        a = ex.int_attrs(layer, ("in_height", "in_width", "out_height", "out_width", "n_chan"))
        a.setdefault("in_height", 1)
        a.setdefault("out_height", 1)
        return [ex.node(layer, cls.name, a)]

    @staticmethod
    def _source(n_in: int, n_out: int) -> np.ndarray:
        ratio = ((n_in << 16) // n_out) + 1
        return (np.arange(n_out) * ratio) >> 16

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        a = node.attrs
        x = xc.reshape(ctx.n, a["in_height"], a["in_width"], -1)
        x = x[:, self._source(a["in_height"], a["out_height"])][:, :, self._source(a["in_width"], a["out_width"])]
        return cast(x, x_t, node.type()).reshape((ctx.n, *node.shape))


@register
class Concatenate(_Move):
    name = "concat"
    hls_classes = ("Concatenate",)

    @classmethod
    def extract(cls, layer, ex):
        return [ex.node(layer, cls.name, {"axis": int(layer.get_attr("axis", -1))})]

    def evaluate(self, node, ins, ctx):
        # Keras' axis counts the batch dimension, as the batch-first arrays here do
        return np.concatenate([cast(c, t, node.type()) for c, t in ins], axis=node.attrs["axis"])
