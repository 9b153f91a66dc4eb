"""Fast bit-exact emulation of a (planned) network: the C-simulation's outputs at GEMM speed.

Per Dense/Conv layer the emulator runs one engine (:mod:`approxhls.sim.engines`) and says which, with its method:
- ``gemm``: exact products: one matrix product of the integer codes;
- ``separable`` / ``low-rank``: M(x, w) = base*x*w + F(x) @ G(w) with integer factors
  (:mod:`approxhls.sim.decompose`, on the weight codes the layer holds): one matrix product over operands widened
  by lookups;
- ``lut``: any other table, or a high-rank decomposition (or small exact products) where the compiled table-lookup
  kernel (:mod:`approxhls.sim.lutkernel`) is faster on the probe batch: by kernel position for a Dense or Conv layer
  (engine ``lut-conv``), elsewhere on GEMM rows;
- ``reference``: product by product, where the accumulator rounds or saturates.
A convolution's GEMM runs on im2col rows, as a direct float32 convolution or as an int8 one (on VNNI cores)
(:mod:`approxhls.sim.directconv`). Of the engines that compute a layer exactly (``engines.candidates``), the
emulator takes the fastest on a probe batch whose sums equal the first's (``engines.choose``).
Batches run side by side in threads (``THREADS``). Everything else (casts with rounding and saturation, pooling,
additions) is shared with the reference evaluator, so only the MAC differs. One step is fused: a ReLU whose input
nothing else reads is applied by its producer (a MAC layer's finish, a residual add) in the same pass, and the ReLU
node passes the codes on (:func:`fusable_relus`; off while an observer looks at every node's output). The fused
kernels write codes in their type's narrowest dtype (uint8 after an 8-bit ReLU: an eighth of int64's memory traffic
for the padding, the next layer's features and the residual add); an operation that cannot read them
(``Op.reads_narrow``) gets them widened to int64.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from approxhls import fixedkernels
from approxhls.fixedpoint import FixedType
from approxhls.sim.assignment import EXACT, Assignment, builtin_product
from approxhls.sim.engines import CODES, Engine, Options, Sums, candidates, choose, measure, preferred
from approxhls.sim.ir import IR, Node
from approxhls.sim.ops import get_op
from approxhls.sim.ops.base import Context, cast
from approxhls.sim.reference import product_frac, run_graph, run_nodes

THREADS: int | None = None  # batches evaluated at once; None: the CPUs this process may use (search workers: 1)
BATCH_ELEMENTS = 2**21  # auto_batch's target: elements of a pass' biggest tensor
MAX_HISTOGRAM_BINS = 1 << 22  # per-position input histograms above this are kept as one distribution


def auto_batch(ir: IR) -> int:
    """Samples per pass: the largest power of two (8..256) whose biggest tensor stays near 2^21 elements. Larger
    passes pay TensorFlow's and Python's per-call costs fewer times; smaller ones keep the passes between layers in
    cache, where codes travel as uint8 (measured, 2 cores, 5,000 images: resnet8 1.2-1.5x faster at 64 than at 16 for
    every multiplier kind, and 5-10% slower at 128; cnn 1.1-1.2x faster at 64-128 than at 32)."""
    largest = max((int(np.prod(n.shape)) for n in ir.nodes if n.shape), default=1)
    return int(min(256, max(8, 2 ** int(np.log2(max(1, BATCH_ELEMENTS // largest))))))


def fusable_relus(ir: IR) -> dict[str, Node]:
    """{producer: ReLU node} for each ReLU whose input is read by nothing else and comes from a multiplying layer or
    an add: decided by the graph alone, so every emulator of a network fuses the same way (prefix states agree)."""
    readers = ir.consumers()
    out = {}
    for node in ir.nodes:
        if not (node.multiplies or (node.op == "merge" and node.attrs.get("op") == "add")) or len(node.outputs) != 1:
            continue
        (v,) = node.outputs
        after = readers.get(v, [])
        if v not in ir.outputs and len(after) == 1 and after[0].op == "relu":
            src_t, relu_t = node.type(), after[0].type()
            # the fused codes stand under the producer's variable (a prefix state may keep it in that type's dtype)
            if src_t.code_min <= relu_t.code_min and relu_t.code_max <= src_t.code_max:
                out[node.name] = after[0]
    return out


@dataclass(frozen=True)
class LayerMethod:
    """How the emulator computes one layer (what ``describe`` reports)."""

    layer: str
    multiplier: str
    method: str  # gemm / separable / low-rank r=.. / lut / reference
    dtype: str | None
    macs_per_sample: int
    engine: str  # im2col (a convolution's GEMM rows), conv2d, conv2d-int8, lut-conv; numpy: other rows


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS tells it, e.g. Linux; else all of them)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# the engine option -> which candidates a layer gets: auto races them all; a named convolution engine is used
# wherever it applies (tests), im2col keeps convolutions on their GEMM rows
MODES = {
    "auto": Options(),
    "im2col": Options(direct=(), lookup_rival=False, race=False),
    "conv2d": Options(direct=("conv2d",), load_tensorflow=True, lookup_rival=False, race=False),
    "conv2d-int8": Options(direct=("conv2d-int8",), load_tensorflow=True, lookup_rival=False, race=False),
}


class Emulator:
    """``cache`` (a dict shared between emulators of the same network) keeps each layer's chosen engine per
    (layer, multiplier, weights, engine option): a search re-uses them across candidates. ``engine``: auto (per
    layer, the fastest exact engine on a probe batch), or one convolution engine for every convolution where it
    applies (tests). ``probe``: samples (real inputs of the network) on which the engines race."""

    ENGINES = tuple(MODES)

    def __init__(self, ir: IR, assignments: dict | None = None, cache: dict | None = None, engine: str = "auto",
                 probe: np.ndarray | None = None):
        if engine not in MODES:
            raise ValueError(f"engine must be one of {', '.join(MODES)}, got {engine!r}")
        self.ir, self.engine, self.options = ir, engine, MODES[engine]
        # one batch of predict's size (the engines' relative speed depends on it: measured at 32 samples, the float
        # convolution won layers where int8 runs batches of 64 faster): each layer races on its own inputs (ReLU
        # zeros, image backgrounds, which the lookup kernel skips); without samples, on uniform random codes
        self.probe_size = auto_batch(ir)
        self.assignments = assignments or {}
        self._observe = None
        self.relu_after = fusable_relus(ir)
        self._fused = {relu.name for relu in self.relu_after.values()}
        self._fuse = True  # off while predict() has an observer: it must see each node's own output
        samples = None if probe is None or not len(probe) else np.asarray(probe[: self.probe_size], np.float64)
        self.chosen: dict[str, Engine] = {}  # layer -> its engine
        self._choose_engines(cache, samples)
        self.methods = [self._method(node) for node in ir.multiplying_nodes()]

    # ---- set-up per layer -------------------------------------------------------------------------
    def _assignment(self, node: Node):
        """The layer's product: its planned multiplier, its own (po2 shifts), or exact."""
        return (self.assignments.get(node.name) or builtin_product(node)
                or Assignment(node.name, EXACT, "exact", self.ir.input_type_of(node), node.type("weight")))

    def _choose_engines(self, cache: dict | None, samples: np.ndarray | None) -> None:
        """Each multiplying layer's engine, in graph order: from the cache, the only candidate, the one asked for, or
        the fastest on the probe (the nodes before a raced layer run on the samples with the engines chosen so
        far, from where the last race left off)."""
        env, ran = {}, 0  # the samples' activations, evaluated up to node index ``ran``
        for node in self.ir.multiplying_nodes():
            a = self._assignment(node)
            key = (node.name, a.multiplier, id(node.weights["weight"]), self.engine)
            if cache is not None and key in cache:
                self.chosen[node.name] = cache[key]
                continue
            engines = candidates(node, a, self.ir.input_type_of(node), self.options)
            if self.options.race and len(engines) > 1:
                stop = self.ir.nodes.index(node)
                if samples is not None:
                    run_nodes(self.ir, self.context(samples), env, ran, stop)
                    ran = stop
                xc = self._probe_codes(node, env, samples)
                chosen = choose(node, engines, self._measure(node, engines, xc))
            else:
                chosen = preferred(engines, self.options.direct)
            self.chosen[node.name] = chosen
            if cache is not None:
                cache[key] = chosen

    def _probe_codes(self, node: Node, env: dict, samples: np.ndarray | None) -> np.ndarray:
        """The layer's input codes (samples, features) on the probe samples, in the dtype the layer receives; without
        samples, uniform random codes of its input type."""
        if samples is not None:
            return np.asarray(env[node.inputs[0]][0]).reshape(len(samples), -1)
        x_t = self.ir.input_type_of(node)
        size = (self.probe_size, int(np.prod(self.ir.producer(node.inputs[0]).shape)))
        return np.random.default_rng(0).integers(x_t.code_min, x_t.code_max + 1, size=size)

    def _measure(self, node: Node, engines: list[Engine], xc: np.ndarray) -> dict:
        """Each engine timed as the layer runs it on the probe codes ``xc``: its sums (on GEMM rows or on the codes,
        as it reads), then the finish that reads them."""
        op, x_t = get_op(node.op), self.ir.input_type_of(node)
        _, bias = op.groups(node)[0]

        def run(engine: Engine) -> Sums:
            sums = engine.sums(xc if engine.reads == CODES else op.columns(node, xc, len(xc))[0])
            self._finish(node, sums.values, bias, x_t, sums.offset)
            return sums

        return measure(engines, run)

    def _method(self, node: Node) -> LayerMethod:
        e = self.chosen[node.name]
        return LayerMethod(node.name, self._assignment(node).multiplier, e.method, e.dtype,
                           get_op(node.op).macs(node), e.label)

    @property
    def direct(self) -> dict:
        """{layer: the kernel of its engine} for the layers whose engine reads their input codes whole."""
        return {name: e.kernel for name, e in self.chosen.items() if e.reads == CODES}

    # ---- evaluation -----------------------------------------------------------------------------------
    def _relu(self, node: Node) -> Node | None:
        """The ReLU fused into this node's result, if any."""
        return self.relu_after.get(node.name) if self._fuse else None

    @staticmethod
    def _apply_relu(relu: Node, codes: np.ndarray, src_t: FixedType) -> np.ndarray:
        return get_op("relu").evaluate(relu, [(codes, src_t)], None)

    def _finish(self, node: Node, sums: np.ndarray, bias: np.ndarray, x_t: FixedType, offset=None) -> np.ndarray:
        """Integer sums of products (+ ``offset`` per output, if given) -> the layer's result codes (alignment, bias,
        casts; a fused ReLU)."""
        b_t, acc_t, res_t = node.type("bias"), node.type("accum"), node.type("result")
        lshift, bias_acc = acc_t.frac - product_frac(node, x_t), cast(bias, b_t, acc_t)
        if offset is not None:  # the accumulator wraps modulo 2^width: adding the offset before or after is the same
            bias_acc = bias_acc + (np.asarray(offset, dtype=np.int64) << lshift)
        relu = self._relu(node)
        fast = fixedkernels.finish(sums, lshift, bias_acc, acc_t, res_t, relu.type() if relu is not None else None,
                                   self._narrow(node))
        if fast is not None:
            return fast
        acc = (sums.astype(np.int64, copy=False) << lshift) + bias_acc[None, :]
        out = cast(acc_t.codes_from_int(acc), acc_t, res_t)
        return out if relu is None else self._apply_relu(relu, out, res_t)

    def _layer(self, node: Node, xc, x_t: FixedType):
        """The layer's result where its engine reads the input codes whole, else None (the operation then cuts GEMM
        rows for ``_mac``); histograms count the codes of every product: on GEMM rows."""
        engine = self.chosen[node.name]
        if engine.reads != CODES or self._observe is not None:
            return None
        sums = engine.sums(xc)
        _, bias = get_op(node.op).groups(node)[0]
        return self._finish(node, sums.values, bias, x_t, sums.offset).reshape((len(xc), *node.shape))

    def _mac(self, node: Node, group: int, xc, x_t: FixedType):
        engine = self.chosen[node.name].rows
        if self._observe is not None:
            xc = np.asarray(xc, dtype=np.int64)
            self._observe(node, xc, x_t)
        w, bias = get_op(node.op).groups(node)[group]
        if engine.ordered:
            out = engine.result(xc, w, bias, node, x_t)
            relu = self._relu(node)
            return out if relu is None else self._apply_relu(relu, out, node.type("result"))
        sums = engine.sums(xc, group)
        return self._finish(node, sums.values, bias, x_t, sums.offset)

    def _narrow(self, node: Node) -> bool:
        """Whether this node's codes go on in their narrowest dtype (not the network's output, nor to an observer)."""
        return self._fuse and not set(self.ir.outputs) & set(node.outputs)

    def _evaluate(self, node: Node, ins: list, ctx: Context) -> np.ndarray:
        """A node's result codes, with the fused ReLUs: applied by their producer, passed on by themselves. Codes
        come in their narrowest dtype from the fused kernels; an operation that needs int64 gets them widened."""
        if self._fuse and node.name in self._fused:
            return ins[0][0]  # the producer already applied this ReLU
        op = get_op(node.op)
        if any(c.dtype != np.int64 for c, _ in ins) and not op.reads_narrow(node, [t for _, t in ins]):
            ins = [(np.asarray(c, dtype=np.int64), t) for c, t in ins]
        relu = self._relu(node)
        if relu is None or node.multiplies:  # a MAC layer applies its ReLU in _finish
            return op.evaluate(node, ins, ctx)
        (a, a_t), (b, b_t) = ins  # a residual add
        if a.shape == b.shape:
            fast = fixedkernels.add(a, a_t.frac, b, b_t.frac, node.type(), relu.type(), self._narrow(node))
            if fast is not None:
                return fast.reshape((ctx.n, *node.shape))
        return self._apply_relu(relu, op.evaluate(node, ins, ctx), node.type())

    def context(self, x: np.ndarray) -> Context:
        """The evaluation context of one batch (the prefix runner resumes graphs with it)."""
        return Context(len(x), x, self._mac, self._layer, self._evaluate)

    def predict(self, x: np.ndarray, batch: int | None = None, observe=None) -> np.ndarray:
        """Outputs (n, outputs) float64, equal to the C-simulation's element for element; ``observe(node, codes,
        type)`` sees every node's output (the layer-by-layer comparison of ``approxhls diff``)."""
        batch = batch or auto_batch(self.ir)
        x = np.asarray(x, dtype=np.float64)
        starts = range(0, len(x), batch)

        def run(i):
            return run_graph(self.ir, x[i : i + batch], self._mac, observe, self._layer, self._evaluate)

        # batches side by side in threads (the compiled kernels, BLAS, TensorFlow and the lookup kernel release the
        # GIL); one at a time where an observer collects results in order
        threads = min(len(starts), THREADS or _usable_cpus())
        self._fuse = observe is None
        try:
            if threads > 1 and observe is None and self._observe is None:
                with ThreadPoolExecutor(threads) as pool:
                    outs = list(pool.map(run, starts))
            else:
                outs = [run(i) for i in starts]
        finally:
            self._fuse = True
        return np.concatenate(outs) if outs else np.zeros((0,))

    def input_histograms(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Per multiplying layer, how often each input code occurs at each position k of its products' rows:
        (k, codes) counts (index = code - code_min); summed over k, the layer's input distribution."""
        hist: dict[str, np.ndarray] = {}

        def observe(node, xc, x_t):
            n_codes = x_t.code_max - x_t.code_min + 1
            rows = xc.reshape(len(xc), -1)
            k = rows.shape[1]
            if k * n_codes > MAX_HISTOGRAM_BINS:  # wide inputs: one distribution for all positions, (1, codes)
                rows, k = rows.reshape(-1, 1), 1
            flat = (rows - x_t.code_min) + np.arange(k)[None, :] * n_codes  # one bin per (position, code)
            h = np.bincount(flat.ravel(), minlength=k * n_codes).reshape(k, n_codes)
            hist[node.name] = hist.get(node.name, 0) + h

        self._observe = observe
        try:
            self.predict(x)
        finally:
            self._observe = None
        return hist

    def macs_per_sample(self) -> int:
        return sum(m.macs_per_sample for m in self.methods)

    def describe(self) -> list[dict]:
        return [asdict(m) for m in self.methods]

    def timed_predict(self, x: np.ndarray, batch: int | None = None) -> tuple[np.ndarray, dict]:
        t0 = time.perf_counter()
        y = self.predict(x, batch)
        s = time.perf_counter() - t0
        return y, {"seconds": s, "images_per_s": len(x) / s if s else None,
                   "gmac_per_s": len(x) * self.macs_per_sample() / s / 1e9 if s else None}

