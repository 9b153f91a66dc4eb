"""What every operation of the IR is: one class that extracts itself from an hls4ml layer, evaluates itself
in numpy exactly as hls4ml's C++ does, and tells the cost model and the exactness report what it is.

Extraction reads hls4ml layer objects by duck typing (``class_name``, ``get_attr``, ``types``, ``weights``),
so this package never imports hls4ml; :mod:`approxhls.hls.extract` hands the layers over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from approxhls.fixedpoint import FixedType


def wide(frac: int) -> FixedType:
    """A type wide enough to hold any intermediate exactly, with ``frac`` fractional bits."""
    return FixedType(62, 62 - frac, True)


def cast(codes: np.ndarray, src: FixedType, dst: FixedType) -> np.ndarray:
    """Convert codes of ``src`` to ``dst`` as an ap_fixed assignment does (dst's rounding and overflow)."""
    if src == dst:
        return codes  # same type: an ap_fixed assignment changes nothing
    return dst.requantize(codes, src.frac)


def cast_product(a: np.ndarray, a_t: FixedType, b: np.ndarray, b_t: FixedType, dst: FixedType) -> np.ndarray:
    """The exact product of two ap_fixed values assigned to ``dst`` (its rounding and overflow); products wider than
    int64 holds are formed in Python integers (ap_fixed's product type is as wide as both operands)."""
    frac = a_t.frac + b_t.frac
    if a_t.width + b_t.width <= 62:
        return cast(np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64), wide(frac), dst)
    product = np.asarray(a, dtype=np.int64).astype(object) * np.asarray(b, dtype=np.int64).astype(object)
    return dst.requantize_numpy(product, frac)


def align(codes: np.ndarray, src: FixedType, frac: int) -> np.ndarray:
    """Exact codes at a finer (or equal) fractional position."""
    assert frac >= src.frac
    return np.asarray(codes, dtype=np.int64) << (frac - src.frac)


def pad_image(x: np.ndarray, attrs: dict, fill=0) -> np.ndarray:
    """(n, H, W, C) padded by the layer's pad_top/bottom/left/right with ``fill`` (a value, or one per channel): a
    filled array, then the image (what np.pad does, without its per-call set-up); ``x`` itself where nothing is
    padded."""
    top, bottom, left, right = (attrs[k] for k in ("pad_top", "pad_bottom", "pad_left", "pad_right"))
    if not (top or bottom or left or right):
        return x
    n, h, w, c = x.shape
    out = np.full((n, h + top + bottom, w + left + right, c), fill, dtype=x.dtype)
    out[:, top : top + h, left : left + w] = x
    return out


def trunc_div(a: np.ndarray, b: int) -> np.ndarray:
    """Integer division rounding toward zero (C, and ap_fixed's sdiv)."""
    a = np.asarray(a, dtype=np.int64)
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


@dataclass
class Context:
    """One evaluation of the graph on a batch of ``n`` samples; ``mac(node, group, rows, x_type)`` computes the
    multiply-accumulate of a multiplying node's weight group (the part the reference and the emulator differ in);
    ``layer(node, codes, x_type)``, if given, may compute a whole multiplying layer from its input codes (a direct
    convolution) and returns its result codes, or None to go through the weight groups; ``evaluate(node, ins, ctx)``,
    if given, evaluates every node in place of its operation (the emulator's fused steps)."""

    n: int
    x: np.ndarray
    mac: Callable
    layer: Callable | None = None
    evaluate: Callable | None = None


@dataclass(frozen=True)
class Exactness:
    """Whether a node's output equals the Keras layer it comes from, on inputs on its grid, and why (not):
    True (guaranteed by the types), False (it rounds differently), None (not known from the types alone:
    verification decides)."""

    exact: bool | None
    reason: str = ""


EXACT = Exactness(True)


class Op:
    """Base of every IR operation. Subclasses set ``name`` and ``hls_classes`` and implement ``evaluate``."""

    name: str = ""
    hls_classes: tuple[str, ...] = ()
    multiplies: bool = False
    # what the cost model sees: "mac" (Dense/Conv), "chain" (scale / activation steps after a MAC layer),
    # "requant" (a layer that requantizes on its own: average pooling, merges), None (wiring)
    role: str | None = None
    # why a multiplier plan may not name a node of this operation, where it multiplies nonetheless
    plan_note: str = ""

    @classmethod
    def claims(cls, layer) -> bool:
        return layer.class_name in cls.hls_classes

    @classmethod
    def extract(cls, layer, ex) -> list:
        """The IR node(s) of an hls4ml layer; ``ex`` is the extraction context (types, codes, tables)."""
        return [ex.node(layer, cls.name)]

    def evaluate(self, node, ins: list, ctx: Context) -> np.ndarray:
        """Result codes (in ``node.type()``) from the input (codes, type) pairs."""
        raise NotImplementedError

    def exactness(self, node, ir) -> Exactness:
        return EXACT

    def reads_narrow(self, node, in_types: list) -> bool:
        """Whether ``evaluate`` gives the same codes from inputs held in any integer dtype as from int64 ones: the
        emulator passes codes between layers in their narrowest dtype and widens the inputs of every other
        operation (numpy arithmetic on uint8 codes wraps)."""
        return False

    @staticmethod
    def one(ins):
        (xc, x_t), = ins
        return xc, x_t
