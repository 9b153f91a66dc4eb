"""A whole-accelerator estimate of a converted model, before any HLS run: LUT, FF, DSP, BRAM18, latency and II.

Each IR node is priced by the rule registered for its operation (:data:`RULES`), from what the node holds (types,
shapes, weight codes, table sizes) and the project's io_type, strategy, reuse factor and clock:

- products: approximate and <= 8-bit exact products as :mod:`approxhls.cost.architecture` prices them (Yosys,
  constant weights in the dataflow); wider exact products go to a DSP48 unless the weight is small (|w| < 32) or has
  at most two nonzero canonical-signed-digit digits, which HLS builds from shifts and adds (one adder per extra
  digit); reuse factor R > 1 shares ceil(weights / R) generic multipliers;
- adder trees: one accumulator-wide adder per nonzero product beyond the first of each output, plus the bias;
- requantization: the result cast (rounding and saturation cost one LUT per bit each; truncation and wrap are free);
- activations: ReLU-like selects cost two LUTs per bit and element; table activations (sigmoid, tanh, ELU, softmax)
  an index computation per element and dual-port BRAM18 copies of the table, one per two parallel lookups;
- pooling: comparators (max) or adders (average) per window element;
- io_stream: FIFOs between layers (shift registers in LUTs, one per 32 words of depth), convolutions with line buffers;
- flip-flops: the io_parallel input register (hls4ml's top function registers its input array), pipeline
  registers of every cycle a layer's values cross, and the FIFO ports of io_stream.

Latency: io_parallel (latency strategy) chains each layer's combinational delay and counts clock edges (BRAM reads
take their own cycles); convolutions run pixel-serially (one output pixel per II in io_parallel, one input pixel per
cycle through the line buffer in io_stream); II is the slowest layer's. These are HLS-style first-order rules, not
Vitis HLS: ``bench/estimate.py`` measures them against hls4ml's published csynth reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

DSP_MIN_BITS = 10          # both operands at least this wide: an exact product goes to a DSP48 ...
SMALL_CONSTANT = 32        # ... unless |w| is below this,
SHIFT_ADD_DIGITS = 2       # ... or has at most this many nonzero CSD digits (shifts and adds instead)
SELECT_LUT_PER_BIT = 2.5   # compare-and-select (ReLU, max)
INDEX_LUT_PER_BIT = 8      # table index: scale, offset, two-sided clamp, and the read multiplexing of the copies
SRL_DEPTH = 32             # words per LUT shift register
BRAM18_BITS = 18 * 1024
DELAY_NS = {"dsp": 2.4, "lut_mult": 2.0, "add": 1.0, "select": 0.5, "index": 1.5}
BRAM_CYCLES = 2            # address register, then the BRAM's output register


@dataclass
class Config:
    io_type: str = "io_parallel"
    strategy: str = "latency"
    reuse_factor: int = 1
    clock_ns: float = 10.0
    plan: dict = field(default_factory=dict)  # layer -> multiplier name (absent: exact)
    progress: bool = False


@dataclass
class Part:
    lut: float = 0.0
    ff: float = 0.0
    dsp: int = 0
    bram18: int = 0
    delay_ns: float = 0.0       # combinational delay (io_parallel chaining)
    cycles: int = 0             # sequential cycles of its own (BRAM reads, pixel loops)
    ii: int = 1
    what: dict = field(default_factory=dict)  # LUTs by component

    def add(self, key: str, luts: float) -> None:
        self.lut += luts
        self.what[key] = self.what.get(key, 0) + luts


def csd_digits(v: int) -> int:
    """Nonzero digits of the canonical signed-digit form of |v|."""
    v, n = abs(int(v)), 0
    while v:
        if v & 1:
            n += 1
            v -= 2 - (v & 3)  # digit +1 if v = 1 mod 4, -1 if v = 3 mod 4
        v >>= 1
    return n


def _elements(node) -> int:
    return int(np.prod(node.shape))


def _bits(node, key="result") -> int:
    return node.type(key).width


def _cast_luts(src, dst) -> int:
    """The result cast: rounding and saturation cost a LUT per bit each; truncation and wrap-around are free."""
    mode = str(dst)
    return dst.width * (int("RND" in mode) + int("SAT" in mode)) if src.width > dst.width or "SAT" in mode else 0


# ---- rules ------------------------------------------------------------------------------------------------------------

RULES: dict = {}


def rule(*ops):
    def wrap(fn):
        for op in ops:
            RULES[op] = fn
        return fn
    return wrap


def _exact_wide_products(codes: dict, x_bits: int, w_bits: int) -> tuple[int, float]:
    """(DSPs, LUTs) of exact constant products too wide for the Yosys table: DSP48 unless shift-and-add is cheap."""
    dsp, luts = 0, 0.0
    for w, n in codes.items():
        if w == 0:
            continue
        digits, width = csd_digits(w), int(abs(w)).bit_length()
        if digits <= SHIFT_ADD_DIGITS:  # shifts and one add
            luts += n * (digits - 1) * (x_bits + width)
        elif abs(w) < SMALL_CONSTANT:  # a LUT multiplier by a narrow constant: half a LUT per partial-product bit
            luts += n * x_bits * width / 2
        else:
            dsp += n * dsps_per_product(x_bits, w_bits)
    return dsp, luts


def dsps_per_product(x_bits: int, w_bits: int) -> int:
    """DSP48s of one exact product: one up to 18 x 27 bits, two beyond (the wider operand split)."""
    small, large = sorted((x_bits, w_bits))
    return 1 if small <= 18 and large <= 27 else 2


def _products(node, ir, cfg: Config, count) -> Part:
    from approxhls.cost import architecture as arch
    from approxhls.multipliers.catalog import load_entries

    p = Part()
    mult = cfg.plan.get(node.name, arch.EXACT)
    x_bits, w_bits = count.x_bits, count.w_bits
    wide = x_bits >= DSP_MIN_BITS and w_bits >= DSP_MIN_BITS
    layer = arch.Layer.from_count(count)
    if cfg.reuse_factor > 1:
        inst = math.ceil(count.weights / cfg.reuse_factor)
        if wide and arch.is_exact(mult):
            p.dsp += inst * dsps_per_product(x_bits, w_bits)
        else:
            r = arch.reuse_multipliers([layer], {node.name: mult}, arch.flat_catalog(load_entries().values()),
                                       cfg.reuse_factor)
            p.add("multipliers", r["luts"])
        p.add("memory", arch.memory_luts_brams(count.weights, w_bits, cfg.reuse_factor)[0])
        p.bram18 += arch.memory_luts_brams(count.weights, w_bits, cfg.reuse_factor)[1]
        p.add("mux", inst * arch.mux_luts(cfg.reuse_factor, x_bits))
    elif wide and arch.is_exact(mult):
        dsp, luts = _exact_wide_products(count.weight_codes, x_bits, w_bits)
        p.dsp += dsp
        p.add("multipliers", luts)
    else:
        p.add("multipliers", arch.dataflow_multipliers([layer], {node.name: mult}, progress=cfg.progress)["luts"])
    p.delay_ns += DELAY_NS["dsp" if p.dsp else "lut_mult"]
    return p


def _adder_tree(node, count) -> tuple[float, int]:
    """(LUTs, tree depth) of summing each output's nonzero products and its bias at the accumulator width."""
    luts, depth = 0.0, 0
    acc = count.acc_bits
    bias = node.weights.get("bias")
    for g in count.groups:
        nz = np.count_nonzero(g, axis=0)  # nonzero products per output
        with_bias = nz + (1 if bias is not None and np.any(bias) else 0)
        luts += float(np.maximum(with_bias - 1, 0).sum()) * acc
        depth = max(depth, int(math.ceil(math.log2(max(1, with_bias.max())))) if len(with_bias) else 0)
    return luts, depth


@rule("dense", "conv", "depthwise")
def _mac(node, ir, cfg: Config, count) -> Part:
    p = _products(node, ir, cfg, count)
    tree, depth = _adder_tree(node, count)
    p.add("adders", tree)
    p.add("requantization", _cast_luts(node.type("accum"), node.type()) * int(node.shape[-1]))
    p.delay_ns += depth * DELAY_NS["add"]
    if node.op != "dense":  # pixel-serial: one output pixel per cycle (io_parallel), one input pixel (io_stream)
        a = node.attrs
        p.cycles += (a["in_height"] * a["in_width"]) if cfg.io_type == "io_stream" else (a["out_height"] * a["out_width"])
        p.ii = p.cycles + 1
        if cfg.io_type == "io_stream":  # line buffer: filter_height - 1 rows of the input; the window in registers
            bits = a["n_chan"] * _bits(ir.producer(node.inputs[0]))
            p.add("line_buffer", bits * math.ceil(max((a["filt_height"] - 1) * a["in_width"], 1) / SRL_DEPTH))
            p.ff += a["filt_height"] * a["filt_width"] * bits
    return p


@rule("relu", "leaky_relu", "hard", "binary_tanh", "ternary_tanh", "threshold_tanh", "cast", "scale_bias")
def _elementwise(node, ir, cfg: Config, count) -> Part:
    p = Part()
    n, src = _elements(node), ir.producer(node.inputs[0]).type()
    if node.op == "leaky_relu" and node.attrs["alpha"] == int(node.type("param").to_codes(1.0)):
        return p  # slope 1: the identity, which HLS removes
    per = {"relu": SELECT_LUT_PER_BIT, "leaky_relu": SELECT_LUT_PER_BIT + 1, "hard": 2 * SELECT_LUT_PER_BIT,
           "scale_bias": 0}.get(node.op, 1)
    p.add("activation", n * per * _bits(node))
    p.add("requantization", n * _cast_luts(src, node.type()))
    slopes = node.attrs.get("prelu_slopes", 0)
    if slopes:  # PReLU's nonzero slopes: a product each
        p.dsp += slopes if src.width >= DSP_MIN_BITS else 0
    if node.op == "scale_bias":
        p.add("adders", n * _bits(node))
        p.dsp += n if src.width >= DSP_MIN_BITS and node.type("scale").width >= DSP_MIN_BITS else 0
    p.delay_ns += DELAY_NS["select"]
    return p


def _table_bram(entries: int, bits: int, lookups: int) -> int:
    return math.ceil(lookups / 2) * math.ceil(entries * bits / BRAM18_BITS)


@rule("lut")
def _table(node, ir, cfg: Config, count) -> Part:
    p = Part()
    n = _elements(node)
    lookups = n if cfg.io_type == "io_parallel" else int(node.shape[-1])
    src = ir.producer(node.inputs[0]).type()
    p.add("activation", n * INDEX_LUT_PER_BIT * src.width)
    p.bram18 += _table_bram(node.attrs["table_size"], node.type("table").width, lookups)
    p.ff += n * _bits(node)  # the BRAM output register
    p.delay_ns += DELAY_NS["index"]
    p.cycles += BRAM_CYCLES
    return p


@rule("softmax")
def _softmax(node, ir, cfg: Config, count) -> Part:
    p = Part()
    n = _elements(node)
    bits = node.type("table").width
    p.bram18 += _table_bram(node.attrs["exp_table_size"], bits, n) + _table_bram(node.attrs["inv_table_size"], bits, 1)
    p.add("activation", n * INDEX_LUT_PER_BIT * bits + (n - 1) * bits)
    p.dsp += n  # exp x 1/sum
    p.cycles += 2 * BRAM_CYCLES + int(math.ceil(math.log2(max(n, 2))))
    return p


@rule("pool_max", "pool_avg")
def _pool(node, ir, cfg: Config, count) -> Part:
    p = Part()
    n = _elements(node)
    area = node.attrs.get("pool_height", 1) * node.attrs.get("pool_width", 1)
    bits = _bits(ir.producer(node.inputs[0]))
    per = SELECT_LUT_PER_BIT * bits if node.op == "pool_max" else bits
    p.add("pooling", n * (area - 1) * per)
    p.delay_ns += math.ceil(math.log2(max(area, 2))) * DELAY_NS["add"]
    return p


@rule("merge")
def _merge(node, ir, cfg: Config, count) -> Part:
    p = Part()
    p.add("adders", _elements(node) * _bits(node))
    p.delay_ns += DELAY_NS["add"]
    return p


# ---- the whole accelerator ----------------------------------------------------------------------------------------------

def estimate_accelerator(ir, cfg: Config, counts: dict | None = None) -> dict:
    """{"lut", "ff", "dsp", "bram18", "latency_cycles", "ii", "latency_ns", "layers": [...]} of the model."""
    from approxhls.cost.count import count_ir

    counts = counts if counts is not None else {c.name: c for c in count_ir(ir) if c.macs}
    layers, total_ns, cycles, ii = [], 0.0, 0, 1
    lut = dsp = bram = 0.0
    ff = _input_register_ff(ir.nodes[0], cfg)
    last = ir.nodes[-1].name
    for node in ir.nodes:
        fn = RULES.get(node.op)
        if fn is None:
            continue
        part = fn(node, ir, cfg, counts.get(node.name))
        if cfg.io_type == "io_stream":
            _stream_io(node, part, node.name != last)
        total_ns = _chain_delay(node, part, cfg, total_ns)
        cycles += part.cycles
        ii = max(ii, part.ii)
        lut, ff, dsp, bram = lut + part.lut, ff + part.ff, dsp + part.dsp, bram + part.bram18
        layers.append({"layer": node.name, "op": node.op, "lut": round(part.lut), "ff": round(part.ff),
                       "dsp": part.dsp, "bram18": part.bram18, **{f"lut_{k}": round(v) for k, v in part.what.items()}})
    latency = int(total_ns // cfg.clock_ns) + cycles
    if cfg.io_type == "io_parallel":
        ii = max(ii, cfg.reuse_factor)
    return {"lut": round(lut), "ff": round(ff), "dsp": int(dsp), "bram18": int(bram), "latency_cycles": latency,
            "ii": ii, "latency_ns": latency * cfg.clock_ns, "clock_ns": cfg.clock_ns, "io_type": cfg.io_type,
            "strategy": cfg.strategy, "reuse_factor": cfg.reuse_factor, "layers": layers}


def _input_register_ff(first, cfg: Config) -> float:
    """hls4ml's io_parallel top function registers its input array; io_stream one stream word."""
    if cfg.io_type == "io_parallel":
        return float(_elements(first) * _bits(first) + 2)
    return float(int(first.shape[-1]) * _bits(first))


def _stream_io(node, part: Part, has_fifo: bool) -> None:
    """io_stream: a cycle reading the layer's input stream, and the FIFO after every layer but the last."""
    part.cycles += 1
    if has_fifo:
        _stream_fifo(node, part)


def _chain_delay(node, part: Part, cfg: Config, total_ns: float) -> float:
    """The combinational delay so far with this layer's; in io_parallel, pipeline registers for each clock edge
    the layer's values cross."""
    edges = int(total_ns // cfg.clock_ns)
    total_ns += part.delay_ns
    new_edges = int(total_ns // cfg.clock_ns) - edges
    if new_edges and cfg.io_type == "io_parallel":
        serial = node.op in ("conv", "depthwise")  # one output pixel at a time: its channels are registered
        part.ff += new_edges * (int(node.shape[-1]) if serial else _elements(node)) * _bits(node)
    return total_ns


def _stream_fifo(node, part: Part) -> None:
    """The FIFO after a layer in io_stream: one word per pixel, depth the layer's pixels, in LUT shift registers."""
    word = int(node.shape[-1]) * _bits(node)
    depth = max(1, _elements(node) // int(node.shape[-1]))
    part.add("fifo", word * math.ceil(depth / SRL_DEPTH))
    part.ff += 2 * word


# ---- models the bit-exact IR cannot evaluate, estimated all the same ------------------------------------------------

class _TableStandIn:
    """hls4ml's table activations the IR does not evaluate (ParametrizedActivation elu/selu/...): priced as tables."""

    @classmethod
    def extract(cls, layer, ex):
        size = int(layer.get_attr("table_size", 1024))
        node = ex.node(layer, "lut", {"function": str(layer.get_attr("activation")), "table_size": size,
                                      "estimate_only": True})
        node.types.setdefault("table", node.types["result"])
        return [node]


class _PReLUStandIn:
    """PReLU: a select per element and, where its slope is not zero, a product by the slope (priced as ReLU, with
    the nonzero slopes' products counted)."""

    @classmethod
    def extract(cls, layer, ex):
        alphas = np.asarray(layer.weights["param"].data).ravel()
        return [ex.node(layer, "relu", {"prelu_slopes": int(np.count_nonzero(alphas)), "estimate_only": True})]


STAND_INS = {"ParametrizedActivation": _TableStandIn, "PReLU": _PReLUStandIn}


def estimate_ir(hls_model):
    """The IR of an hls4ml model for estimation: :func:`approxhls.hls.extract.extract_ir`, with stand-in nodes (never
    evaluated) for layers the bit-exact IR does not support but this estimate can price."""
    from unittest import mock

    from approxhls.hls import extract
    from approxhls.sim.ops import op_for_layer

    def claims(layer):
        op = op_for_layer(layer)
        return op if op is not None else (STAND_INS[layer.class_name]() if layer.class_name in STAND_INS else None)

    with mock.patch.object(extract, "op_for_layer", claims):
        return extract.extract_ir(hls_model)
