"""hls4ml's LSTM (Keras LSTM and QKeras QLSTM), evaluated as ``nnet::lstm_stack`` / ``nnet::lstm_static`` of
``nnet_recurrent.h`` compute it, step by step over the sequence, in integer codes:

- the input and the previous output h (result type) go through two dense kernels (``DenseLatency``: each exact
  product cast to accum_t, added to the bias cast to accum_t, every sum in accum_t); their sum per gate is cast to
  accum_t;
- the input, forget and output gates (Keras order i, f, c, o) go through the recurrent activation's table, the
  candidate through the activation's table, both into accum_t (``nnet::sigmoid`` / ``nnet::tanh``: the index
  computed as for a standalone activation, :func:`approxhls.sim.ops.lut.table_index`);
- the cell state c = g * i + c * f and the output h = o * act(c) are exact ap_fixed products and sums, each cast
  once to the result type (the C++ keeps both states in it); act(c) reads c in the result type into accum_t;
- h and c start at zero for every sample (``reset_state`` on the first step); the output is the last h, or every
  step's h with ``return_sequences``.

The multiplications are hls4ml's own exact ones: a multiplier plan does not reach recurrent layers.
"""

from __future__ import annotations

import numpy as np

from approxhls.errors import UnsupportedLayerError
from approxhls.fixedpoint import FixedType
from approxhls.sim.ops import register
from approxhls.sim.ops.base import Exactness, Op, cast, cast_product, wide
from approxhls.sim.ops.lut import LUT_FUNCTIONS, index_overflows, lookup

GATES = 4  # i, f, c, o
WEIGHTS = ("weight", "recurrent_weight", "bias", "recurrent_bias")


def dense(xc: np.ndarray, x_t: FixedType, w: np.ndarray, w_t: FixedType, b: np.ndarray, b_t: FixedType,
          acc_t: FixedType) -> np.ndarray:
    """``nnet::DenseLatency`` into accum_t: every product cast to accum_t, added to the bias in input order, each sum
    wrapping or saturating as accum_t does."""
    acc = np.broadcast_to(cast(b, b_t, acc_t), (len(xc), w.shape[1])).copy()
    for k in range(w.shape[0]):
        acc = acc_t.codes_from_int(acc + cast_product(xc[:, k, None], x_t, w[k][None, :], w_t, acc_t))
    return acc


def sum_of_products(terms: list, dst: FixedType) -> np.ndarray:
    """Exact sum of ap_fixed products ``[(a, a_t, b, b_t), ...]`` cast once to ``dst`` (int64 where it holds every
    product, Python integers beyond)."""
    frac = max(a_t.frac + b_t.frac for _, a_t, _, b_t in terms)
    bits = max(a_t.width + b_t.width + frac - a_t.frac - b_t.frac for _, a_t, _, b_t in terms) + len(terms)
    dtype = np.int64 if bits <= 62 else object
    total = 0
    for a, a_t, b, b_t in terms:
        p = np.asarray(a, dtype=np.int64).astype(dtype) * np.asarray(b, dtype=np.int64).astype(dtype)
        total = total + p * (1 << (frac - a_t.frac - b_t.frac))
    if dtype is object:
        return dst.requantize_numpy(np.asarray(total), frac)
    return cast(total, wide(frac), dst)


@register
class Lstm(Op):
    name = "lstm"
    hls_classes = ("LSTM",)
    plan_note = "a recurrent layer keeps hls4ml's exact products (no multiplier plan reaches recurrent layers)"

    @classmethod
    def extract(cls, layer, ex):
        attrs = {"n_timesteps": int(layer.get_attr("n_timesteps")), "n_in": int(layer.get_attr("n_in")),
                 "n_state": int(layer.get_attr("n_out")), "return_sequences": bool(layer.get_attr("return_sequences")),
                 "activation": str(layer.get_attr("activation")).lower(),
                 "recurrent_activation": str(layer.get_attr("recurrent_activation")).lower(),
                 "table_size": int(layer.get_attr("table_size"))}
        _check(layer, attrs, ex)
        node = ex.node(layer, cls.name, attrs, weights=WEIGHTS)
        if any(k not in node.weights for k in WEIGHTS) or "accum" not in node.types or "table" not in node.types:
            raise UnsupportedLayerError(f"layer {layer.name!r} (LSTM): hls4ml gave its weights, accumulator or tables "
                                        f"a type that is not fixed point; quantize its weights (quantized_bits)")
        for w, rows in (("weight", attrs["n_in"]), ("recurrent_weight", attrs["n_state"])):
            kernel = ex.keras_order(layer, node.weights[w])  # (inputs, 4 * units), gates i, f, c, o
            node.weights[w] = np.ascontiguousarray(kernel.reshape(rows, GATES * attrs["n_state"]))
        for w in ("bias", "recurrent_bias"):
            node.weights[w] = node.weights[w].reshape(-1)
        ex.table(node, "recurrent_table", attrs["recurrent_activation"], attrs["table_size"], node.type("table"))
        ex.table(node, "table", attrs["activation"], attrs["table_size"], node.type("table"))
        return [node]

    def evaluate(self, node, ins, ctx):
        xc, x_t = self.one(ins)
        a, w = node.attrs, node.weights
        u, acc_t, res_t, table_t = a["n_state"], node.type("accum"), node.type(), node.type("table")
        xc = np.asarray(xc, dtype=np.int64).reshape(ctx.n, a["n_timesteps"], a["n_in"])
        h = np.zeros((ctx.n, u), dtype=np.int64)
        c = np.zeros((ctx.n, u), dtype=np.int64)

        def gate_act(v, key, fn, v_t=acc_t):
            return lookup(w[key], a[fn], v, v_t, table_t, acc_t)

        steps = []
        for t in range(a["n_timesteps"]):
            pre = acc_t.codes_from_int(
                dense(xc[:, t], x_t, w["weight"], node.type("weight"), w["bias"], node.type("bias"), acc_t)
                + dense(h, res_t, w["recurrent_weight"], node.type("recurrent_weight"), w["recurrent_bias"],
                        node.type("recurrent_bias"), acc_t))
            i, f, g, o = (pre[:, k * u : (k + 1) * u] for k in range(GATES))
            i, f, o = (gate_act(v, "recurrent_table", "recurrent_activation") for v in (i, f, o))
            g = gate_act(g, "table", "activation")
            c = sum_of_products([(g, acc_t, i, acc_t), (c, res_t, f, acc_t)], res_t)
            h = sum_of_products([(o, acc_t, gate_act(c, "table", "activation", res_t), acc_t)], res_t)
            steps.append(h)
        out = np.stack(steps, axis=1) if a["return_sequences"] else h
        return out.reshape((ctx.n, *node.shape))

    def exactness(self, node, ir):
        a = node.attrs
        return Exactness(False, f"{a['recurrent_activation']} and {a['activation']} from {a['table_size']}-entry "
                                f"tables of {node.types['table']}; gates in {node.types['accum']}, states in "
                                f"{node.types['result']}")


def _check(layer, attrs: dict, ex) -> None:
    """What the emulator does not compute as hls4ml's C++ does, refused with the layer's name."""
    what = f"layer {layer.name!r} (LSTM)"
    for key in ("activation", "recurrent_activation"):
        if attrs[key] not in ("sigmoid", "tanh"):
            raise UnsupportedLayerError(f"{what}: {key} {attrs[key]!r} is not supported (hls4ml 1.3.0's recurrent "
                                        f"layers compute sigmoid, tanh or relu; approxhls emulates sigmoid and tanh); "
                                        f"use activation='tanh', recurrent_activation='sigmoid'")
    if not layer.get_attr("static", True):
        raise UnsupportedLayerError(f"{what}: hls4ml's non-static LSTM is not emulated; leave Static at its default "
                                    f"(true)")
    if layer.get_attr("pass_initial_states", False) or len(layer.inputs) != 1:
        raise UnsupportedLayerError(f"{what}: initial states given as inputs are not emulated; start from zero states")
    types = ex.types(layer)
    acc = types.get("accum")
    if acc and "SAT" in acc and str(layer.get_attr("strategy", "")).lower() != "latency":
        raise UnsupportedLayerError(f"{what}: a saturating accumulator sums in the resource strategy's order, which "
                                    f"approxhls does not emulate; use --strategy latency or a wrapping accumulator")
    for key, v_type in (("recurrent_activation", acc), ("activation", acc), ("activation", types.get("result"))):
        if v_type is not None and index_overflows(FixedType.parse(v_type), attrs["table_size"], attrs[key]):
            raise UnsupportedLayerError(f"{what}: its {attrs[key]} table index x * {attrs['table_size']} / "
                                        f"{LUT_FUNCTIONS[attrs[key]]} overflows a C int for values of {v_type}; use "
                                        f"narrower accumulator and result types")
