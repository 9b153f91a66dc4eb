"""Counting, from a converted model's IR: MACs, multipliers, quantization operations and memory per layer.

A *chain* is a MAC layer (Dense/Conv) and the scale/batch-norm and activation layers that follow it. Without
unified modules every step of a chain quantizes its output (MAC output, batch-norm, activation: one
quantization operation per element each); with batch-norm folded into the convolution (QConv2DBatchnorm)
the batch-norm step disappears; a unified module (bias, batch-norm and activation fused with the
requantization, Geng et al. 2019) quantizes once per output element. Average pooling and residual adds
requantize on their own.

The kind of a requantization follows the scheme: a constant shift (fixed point, power-of-two per tensor),
a per-channel shift (power-of-two per channel), or a fixed-point multiplier per channel (float scales: the
`scaled` family and learned steps). What hls4ml does not emit for a scheme (float-step requantization of
LSQ, zero points of LSQ+ at padded convolutions) is still counted and marked ``emitted=False``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from approxhls.fixedpoint import FixedType
from approxhls.sim.ir import IR

_RANK = {"shift": 0, "varshift": 1, "mult": 2}
SCALE_BITS = 16        # stored per-channel multiplier of a float scale
SHIFT_BITS = 4         # stored per-channel shift of a power-of-two scale
# learned-step families: requantization they need in hardware and whether scales are per channel
LEARNED = ("lsq", "lsqt", "lsq+")
SCHEME_REQUANT = {"scaled": ("mult", True), "lsq": ("mult", True), "lsq+": ("mult", True), "lsqt": ("mult", False)}


@dataclass
class QuantOp:
    where: str          # node whose output is quantized
    kind: str           # shift / varshift / mult / zero_point
    ops: int            # operations per inference
    in_bits: int
    out_bits: int
    shift: int
    relu: bool
    channels: int
    emitted: bool = True  # False: the scheme needs it, hls4ml does not generate it
    note: str = ""


@dataclass
class LayerCount:
    name: str
    op: str
    macs: int
    weights: int
    x_bits: int
    w_bits: int
    acc_bits: int
    multiplier: str
    channels: int
    quant_fused: list = field(default_factory=list)   # unified module: one op per output element
    quant_ops_unfused: int = 0                         # every step quantizes
    quant_ops_bn_folded: int = 0                       # batch-norm folded into the MAC layer
    weight_bits: int = 0
    bias_bits: int = 0
    scale_bits: int = 0
    x_signed: bool = False
    weight_codes: dict = field(default_factory=dict)              # weight code -> how many weights have it
    groups: list = field(default_factory=list, repr=False)        # weight matrices (k, out) of the layer's groups

    @property
    def quant_ops_fused(self) -> int:
        return sum(q.ops for q in self.quant_fused)


def _elements(shape) -> int:
    return int(math.prod(int(d) for d in shape))


def _scale_kind(scale_codes: np.ndarray, scale_type: FixedType) -> str:
    vals = np.abs(scale_type.from_codes(scale_codes))
    vals = vals[vals > 0]
    po2 = np.all(np.isclose(np.log2(vals), np.round(np.log2(vals)))) if len(vals) else True
    if not po2:
        return "mult"
    return "shift" if len(np.unique(vals)) <= 1 else "varshift"


def count_ir(ir: IR, assignments: dict | None = None, scheme_family: str | None = None,
             bn_fused_layers: set[str] = frozenset(), weight_code_bits: int | None = None) -> list[LayerCount]:
    """Per MAC layer counts (each with its chain's quantization), plus pseudo-layers for pooling/add.

    For learned-step schemes ``weight_code_bits`` is the trained weight width: their hardware multiplies
    b-bit codes and rescales per channel, where hls4ml's power-of-two deployment widens the weights instead.
    """
    assignments = assignments or {}
    consumers = ir.consumers()
    rows: list[LayerCount] = []
    for node in ir.nodes:
        role = node.operation.role
        if role == "mac":
            rows.append(_chain(ir, node, consumers, assignments, scheme_family, node.name in bn_fused_layers,
                               weight_code_bits))
        elif role == "requant":
            t_out = node.type("result")
            t_in = ir.producer(node.inputs[0]).type("result")
            if node.op == "pool_avg" or str(t_out) != str(t_in):
                e = _elements(node.shape)
                q = QuantOp(node.name, "shift", e, t_in.width + 2, t_out.width, max(0, t_in.frac + 2 - t_out.frac),
                            not t_out.signed, int(node.shape[-1]))
                rows.append(LayerCount(node.name, node.op, 0, 0, 0, 0, 0, "-", int(node.shape[-1]), [q], e, e))
    return rows


def _chain(ir, node, consumers, assignments, scheme_family, bn_in_conv, weight_code_bits=None) -> LayerCount:
    w = node.weights["weight"]
    t_x, t_w, t_acc = ir.input_type_of(node), node.type("weight"), node.type("accum")
    w_bits = _weight_code_width(t_w, scheme_family, weight_code_bits)
    out_elems = _elements(node.shape)
    channels = int(node.shape[-1])
    a = assignments.get(node.name)
    steps = _chain_steps(node, consumers)
    last = steps[-1]
    req = _requantization(steps, scheme_family, w_bits, t_w)
    t_out = last.type("result")
    relu = last.op == "relu"
    fused = [QuantOp(last.name, req.kind, out_elems, t_acc.width, t_out.width, _requant_shift(req.kind, t_acc, t_out),
                     relu, channels, req.emitted, req.note)]
    if scheme_family == "lsq+" and relu:
        fused += _zero_points(ir, last, consumers, t_out)
    unfused, bn_folded = _step_quant_ops(steps, out_elems, bn_in_conv)
    extra = sum(q.ops for q in fused[1:])
    return LayerCount(
        node.name, node.op, node.operation.macs(node), int(w.size), t_x.width, w_bits, t_acc.width,
        a.multiplier if a is not None else "exact", channels, fused, unfused + extra, bn_folded + extra,
        int(w.size) * w_bits, _bias_bits(node), _scale_bits(steps, req, channels), bool(t_x.signed),
        _weight_codes(w), [np.asarray(g, dtype=np.int64) for g, _ in node.operation.groups(node)],
    )


def _weight_code_width(t_w: FixedType, scheme_family, weight_code_bits) -> int:
    """The weights' width in hardware: learned-step schemes multiply their trained b-bit codes."""
    if scheme_family in LEARNED and weight_code_bits and weight_code_bits < t_w.width:
        return weight_code_bits
    return t_w.width


def _chain_steps(node, consumers) -> list:
    """The MAC node and the scale/batch-norm and activation nodes that follow it alone."""
    steps = [node]
    while True:
        nxt = consumers.get(steps[-1].outputs[0], [])
        if len(nxt) != 1 or nxt[0].operation.role != "chain":
            return steps
        steps.append(nxt[0])


@dataclass
class _Requant:
    kind: str              # shift / varshift / mult
    per_channel: bool
    emitted: bool = True
    note: str = ""


def _requantization(steps, scheme_family, w_bits: int, t_w: FixedType) -> _Requant:
    """The chain's requantization: the strongest its scales need, raised to what the scheme needs (then marked not
    emitted: hls4ml rounds the scheme's float scales)."""
    kinds = ["shift"] + [_scale_kind(s.weights["scale"], s.type("scale")) for s in steps if s.op == "scale_bias"]
    kind = max(kinds, key=_RANK.get)
    if scheme_family not in SCHEME_REQUANT:
        return _Requant(kind, kind == "varshift")
    need, per_channel = SCHEME_REQUANT[scheme_family]
    if _RANK[need] <= _RANK[kind]:
        return _Requant(kind, per_channel)
    note = (f"{scheme_family}: float scales need a fixed-point multiplier "
            f"{'per channel' if per_channel else 'per tensor'} for requantization; hls4ml emits "
            f"power-of-two/rounded scales instead")
    if w_bits < t_w.width:
        note += f" (and {t_w.width}-bit weights where the trained codes have {w_bits} bits)"
    return _Requant(need, per_channel, False, note)


def _requant_shift(kind: str, t_acc: FixedType, t_out: FixedType) -> int:
    m_bits = SCALE_BITS if kind == "mult" else 0
    return max(0, t_acc.frac - t_out.frac) + (m_bits - 1 if m_bits else 0)


def _step_quant_ops(steps, out_elems: int, bn_in_conv: bool) -> tuple[int, int]:
    """(every step quantizes, batch-norm folded into the MAC layer): quantization operations of the chain."""
    bn_steps = sum(1 for s in steps if s.op == "scale_bias") + (1 if bn_in_conv else 0)
    unfused = out_elems * (len(steps) + (1 if bn_in_conv else 0))
    return unfused, unfused - out_elems * bn_steps


def _scale_bits(steps, req: _Requant, channels: int) -> int:
    """Stored scales: the chain's own, or the multipliers the scheme needs where hls4ml emits none."""
    if not req.emitted:
        return (channels if req.per_channel else 1) * SCALE_BITS
    return sum(int(s.weights["scale"].size) * s.type("scale").width for s in steps if s.op == "scale_bias")


def _bias_bits(node) -> int:
    bias = node.weights.get("bias")
    return int(bias.size) * node.type("bias").width if bias is not None else 0


def _weight_codes(w) -> dict:
    codes, counts = np.unique(np.asarray(w, dtype=np.int64), return_counts=True)
    return {int(c): int(k) for c, k in zip(codes, counts)}


def _zero_points(ir, relu_node, consumers, t_act) -> list[QuantOp]:
    """LSQ+: an activation offset is folded into the next MAC layer's bias unless that layer zero-pads its
    input (the padded positions would carry the offset): then every input element is offset in the datapath."""
    node = relu_node
    while True:
        nxt = consumers.get(node.outputs[0], [])
        if len(nxt) != 1:
            return []
        node = nxt[0]
        if node.op == "zeropad" or (node.op == "conv" and any(node.attrs.get(p, 0) for p in ("pad_top", "pad_left"))):
            e = _elements(ir.producer(node.inputs[0]).shape)
            return [QuantOp(node.name, "zero_point", e, t_act.width, t_act.width, 0, False, 1, False,
                            "lsq+: activation offset at a zero-padded convolution handled in the datapath")]
        if node.multiplies:
            return []
