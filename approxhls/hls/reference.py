"""The reference evaluator: what the C-simulation computes, written plainly in numpy.

Every tensor is held as integer codes with its fixed-point type. Each layer does what hls4ml's kernel
does: products (looked up one by one in the layer's multiplier table) cast to the accumulator type,
summed with the bias, cast to the result type with its rounding and overflow modes. It favours clarity
over speed: it is the oracle the fast emulator is tested against.
"""

from __future__ import annotations

import numpy as np

from approxhls.fixedpoint import FixedType
from approxhls.hls.ir import IR, Node


def wide(frac: int) -> FixedType:
    """A type wide enough to hold any intermediate exactly, with ``frac`` fractional bits."""
    return FixedType(62, 62 - frac, True)


def cast(codes: np.ndarray, src: FixedType, dst: FixedType) -> np.ndarray:
    """Convert codes of ``src`` to ``dst`` as an ap_fixed assignment does (dst's rounding and overflow)."""
    if src == dst:
        return codes  # same type: an ap_fixed assignment changes nothing
    return dst.requantize(codes, src.frac)


def _align(codes: np.ndarray, src: FixedType, frac: int) -> np.ndarray:
    """Exact codes at a finer (or equal) fractional position."""
    assert frac >= src.frac
    return np.asarray(codes, dtype=np.int64) << (frac - src.frac)


def _mac(x: np.ndarray, w: np.ndarray, bias: np.ndarray, node: Node, x_t: FixedType, assignment) -> np.ndarray:
    """x (rows, k) codes times w (k, out) codes through the layer's multiplier, plus bias -> result codes."""
    w_t, b_t, acc_t, res_t = node.type("weight"), node.type("bias"), node.type("accum"), node.type("result")
    prod_t = wide(x_t.frac + w_t.frac)
    if assignment is None or assignment.exact:
        table, x0, w0 = None, 0, 0
    else:
        table = assignment.table()
        x0, w0 = assignment.x_type.code_min, assignment.w_type.code_min
    acc = np.broadcast_to(cast(bias, b_t, acc_t), (x.shape[0], w.shape[1])).copy()
    for k in range(x.shape[1]):
        xs, ws = x[:, k][:, None], w[k][None, :]
        products = xs * ws if table is None else table[xs - x0, ws - w0]  # one lookup per product
        acc = acc_t.codes_from_int(acc + cast(products, prod_t, acc_t))  # accumulator wraps like ap_fixed
    return cast(acc, acc_t, res_t)


def _patches(x: np.ndarray, fh: int, fw: int, sh: int, sw: int, oh: int, ow: int) -> np.ndarray:
    """(n, oh, ow, fh, fw, c) view of the windows (no copy)."""
    v = np.lib.stride_tricks.sliding_window_view(x, (fh, fw), axis=(1, 2))  # (n, H', W', c, fh, fw)
    return v[:, : sh * oh : sh, : sw * ow : sw].transpose(0, 1, 2, 4, 5, 3)


def _im2col(x: np.ndarray, node: Node) -> np.ndarray:
    a = node.attrs
    n = x.shape[0]
    if a["pad_top"] or a["pad_bottom"] or a["pad_left"] or a["pad_right"]:
        x = np.pad(x, ((0, 0), (a["pad_top"], a["pad_bottom"]), (a["pad_left"], a["pad_right"]), (0, 0)))
    fh, fw, oh, ow = a["filt_height"], a["filt_width"], a["out_height"], a["out_width"]
    cols = _patches(x, fh, fw, a["stride_height"], a["stride_width"], oh, ow)
    return cols.reshape(n * oh * ow, fh * fw * x.shape[3])  # copies: rows in (pixel), columns in kernel order


def _windows(x: np.ndarray, node: Node) -> np.ndarray:
    a = node.attrs
    ph, pw = a["pool_height"], a["pool_width"]
    w = _patches(x, ph, pw, a["stride_height"], a["stride_width"], a["out_height"], a["out_width"])
    return w.reshape(*w.shape[:3], ph * pw, w.shape[-1]).swapaxes(-1, -2)  # (n, oh, ow, c, window)


def evaluate(ir: IR, x: np.ndarray, assignments: dict | None = None, batch: int = 64) -> np.ndarray:
    """Outputs (n, ...) as float64 values for real inputs x (on the input grid)."""
    x = np.asarray(x, dtype=np.float64)
    mac = lambda xc, w, bias, node, x_t: _mac(xc, w, bias, node, x_t, (assignments or {}).get(node.name))  # noqa: E731
    outs = [run_graph(ir, x[i : i + batch], mac) for i in range(0, len(x), batch)]
    return np.concatenate(outs) if outs else np.zeros((0,))


def run_graph(ir: IR, x: np.ndarray, mac) -> np.ndarray:
    """Evaluate every node in order; ``mac(x_codes (rows, k), w (k, out), bias, node, x_type)`` does the
    multiply-accumulate of Dense/Conv layers and returns result codes (the part evaluators differ in)."""
    env: dict[str, tuple[np.ndarray, FixedType]] = {}
    n = len(x)
    for node in ir.nodes:
        res_t = node.type() if "result" in node.types else None
        ins = [env[v] for v in node.inputs if v in env]
        if node.op == "input":
            out = res_t.to_codes(x.reshape((n, *node.shape)))  # the bridge's double -> input type conversion
        elif node.op == "dense":
            (xc, x_t), = ins
            out = mac(xc.reshape(n, -1), node.weights["weight"], node.weights["bias"], node, x_t)
        elif node.op == "conv2d":
            (xc, x_t), = ins
            a = node.attrs
            cols = _im2col(xc, node)
            w = node.weights["weight"].reshape(-1, a["n_filt"])
            out = mac(cols, w, node.weights["bias"], node, x_t)
            out = out.reshape(n, a["out_height"], a["out_width"], a["n_filt"])
        elif node.op == "scale_bias":
            (xc, x_t), = ins
            s_t, b_t = node.type("scale"), node.type("bias")
            frac = max(x_t.frac + s_t.frac, b_t.frac)
            v = _align(xc * node.weights["scale"], wide(x_t.frac + s_t.frac), frac) + _align(node.weights["bias"], b_t, frac)
            out = cast(v, wide(frac), res_t)
        elif node.op == "relu":
            (xc, x_t), = ins
            out = np.where(xc > 0, cast(xc, x_t, res_t), 0)
        elif node.op in ("cast", "reshape", "identity"):
            (xc, x_t), = ins
            out = cast(xc, x_t, res_t).reshape((n, *node.shape))
        elif node.op == "pool_max":
            (xc, x_t), = ins
            out = cast(_windows(xc, node).max(axis=-1), x_t, res_t)
        elif node.op == "pool_avg":
            (xc, x_t), = ins
            acc_t = node.type("accum")
            win = _windows(xc, node)
            total = cast(win.sum(axis=-1), x_t, acc_t)
            quotient = np.floor_divide(total, win.shape[-1])  # accum_t y; y /= N (inputs are >= 0 after ReLU)
            out = cast(quotient, acc_t, res_t)
        elif node.op == "add":
            (a_c, a_t), (b_c, b_t) = ins
            frac = max(a_t.frac, b_t.frac)
            out = cast(_align(a_c, a_t, frac) + _align(b_c, b_t, frac), wide(frac), res_t)
        elif node.op == "zeropad":
            (xc, x_t), = ins
            a = node.attrs
            out = np.pad(xc, ((0, 0), (a["pad_top"], a["pad_bottom"]), (a["pad_left"], a["pad_right"]), (0, 0)))
            out = cast(out, x_t, res_t)
        else:  # pragma: no cover - extract_ir refuses other ops
            raise ValueError(node.op)
        for var in node.outputs:
            env[var] = (out, res_t)
    codes, t = env[ir.output]
    return t.from_codes(codes).reshape(n, -1)
