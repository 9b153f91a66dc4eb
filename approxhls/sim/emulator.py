"""Fast bit-exact emulation of a (planned) network: the C-simulation's outputs at GEMM speed.

Per Dense/Conv layer the emulator picks the fastest method that is exact, and says which:
- ``gemm``: exact products: one matrix product of the integer codes;
- ``separable`` / ``low-rank``: M(x, w) = base*x*w + F(x) @ G(w) with integer factors
  (:mod:`approxhls.sim.decompose`, on the weight codes the layer holds): one matrix product over operands widened
  by lookups;
- ``lut``: any other table, or a decomposition of rank >= LUT_RIVAL_RANK (or exact products of operands of at most
  LUT_EXACT_BITS) where the compiled table-lookup kernel (:mod:`approxhls.sim.lutkernel`) is faster on the probe
  batch. A Dense or Conv layer's lookup runs by kernel position (engine ``lut-conv``: per position and input code,
  the products with 16 outputs' weights added as one vector, no im2col rows, code 0 skipped), elsewhere on GEMM
  rows.
Matrix products run in float32 when the largest possible |sum| is below 2^24, in float64 below 2^53 (both
exact for integers), otherwise the layer uses the lookup kernel. A convolution's GEMM runs on im2col rows, as a
direct float32 convolution or as an int8 one (u8 features x s8 weights -> int32, where they fit; on VNNI cores)
(:mod:`approxhls.sim.directconv`), whichever is fastest on a probe batch (the engine; all must give the same sums).
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
from dataclasses import dataclass

import numpy as np

from approxhls import fixedkernels
from approxhls.fixedpoint import FixedType
from approxhls.sim.assignment import EXACT, Assignment, builtin_product
from approxhls.sim.decompose import decompose_used
from approxhls.sim.ir import IR, Node
from approxhls.sim.lutkernel import LutConv, LutLayer
from approxhls.sim.ops import get_op
from approxhls.sim.ops.base import Context, cast
from approxhls.sim.reference import product_frac, reference_mac, run_graph, run_nodes

F32_LIMIT = 2**24
F64_LIMIT = 2**53
MAX_TABLE_BITS = 16  # widest input type whose product table the emulator builds
THREADS: int | None = None  # batches evaluated at once; None: the CPUs this process may use (search workers: 1)
LUT_RIVAL_RANK = 2  # decompositions of this rank or more are timed against the table-lookup kernel
LUT_EXACT_BITS = 8  # exact products of operands this wide or narrower are timed against it too
BATCH_ELEMENTS = 2**21  # auto_batch's target: elements of a pass' biggest tensor
MAX_HISTOGRAM_BINS = 1 << 22  # per-position input histograms above this are kept as one distribution
LUT_ENGINE = {True: "lut-conv", False: "numpy"}  # a table lookup: by kernel position (LutConv) or on GEMM rows


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


@dataclass
class LayerMethod:
    layer: str
    multiplier: str
    method: str  # gemm / separable / low-rank r=.. / lut / reference
    dtype: str | None
    macs_per_sample: int
    engine: str = "numpy"  # convolutions on a GEMM: im2col, conv2d or conv2d-int8 (the fastest measured); a table
    # lookup by kernel position: lut-conv; else numpy


class _GemmMAC:
    """x codes -> [base*x, F(x)] features by one lookup; one GEMM against the matching [W; G(W)] rows."""

    def __init__(self, dec, x_min, w_min, W, dtype):
        self.x_min, self.dtype = x_min, dtype
        x_codes = np.arange(dec.F.shape[0]) + x_min
        cols = ([x_codes] if dec.base else []) + [dec.F[:, r] for r in range(dec.rank)]
        rows = ([W] if dec.base else []) + [dec.G[r][W - w_min] for r in range(dec.rank)]
        if not cols:  # a multiplier whose every product is 0: one zero feature keeps the shapes
            cols, rows = [np.zeros_like(x_codes)], [np.zeros_like(W)]
        self.features = np.stack(cols, axis=1).astype(dtype)  # (n_x, m): lookup row per input code
        m = len(rows)
        self.weights = np.stack(rows, axis=1).reshape(W.shape[0] * m, W.shape[1]).astype(dtype)  # (k*m, out)

    def __call__(self, xc: np.ndarray) -> np.ndarray:
        a = self.features[xc - self.x_min]  # (rows, k, m)
        return a.reshape(len(xc), -1) @ self.weights  # float values that are exact integers (the finish reads them)


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS tells it, e.g. Linux; else all of them)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def timed_race(fns: list, repeat: int, drop: float = 2.0) -> list[tuple]:
    """[(fn's result, its fastest time)] per fn, timed in turns (each round runs every fn still in the race once), so
    that a change of the machine's speed during the race slows all of them alike. After the first round, a fn more
    than ``drop`` times slower than the fastest leaves the race (it cannot win; its time stays as measured). Each fn
    runs once untimed first: a first call pays one-time costs (TensorFlow builds oneDNN's primitive for a new kernel,
    measured 130-700 ms against 1-5 ms after), by which the drop would throw out the fastest engine."""
    for fn in fns:
        fn()
    outs, best = [None] * len(fns), [float("inf")] * len(fns)
    running = list(range(len(fns)))
    for r in range(repeat):
        for i in running:
            t0 = time.perf_counter()
            outs[i] = fns[i]()
            best[i] = min(best[i], time.perf_counter() - t0)
        if r == 0:
            running = [i for i in running if best[i] <= drop * min(best)]
    return list(zip(outs, best))


def _int_sums(sums: np.ndarray, offset: np.ndarray | None) -> np.ndarray:
    """A MAC's sums (float values that are exact integers, or integers) plus its offset per output, in int64."""
    out = np.asarray(sums).astype(np.int64)
    return out if offset is None else out + offset


def _lut_macs(node: Node, table, groups, x_min: int, w_min: int) -> tuple[list, LutConv | None]:
    """The layer's table-lookup MACs on GEMM rows (per group), and its lookup convolution where one applies."""
    direct = LutConv.create(node, table, groups[0][0] - w_min, x_min) if len(groups) == 1 else None
    return [("lut", (LutLayer(table, w - w_min), x_min)) for w, _ in groups], direct


class _ExactGemm:
    """Exact products: one matrix product of the codes themselves (float when exact by the bound, else int64)."""

    reads_narrow = True  # rows of uint8/int16 codes are converted by the product's own cast

    def __init__(self, W, dtype):
        self.dtype = dtype
        self.weights = W.astype(dtype)

    def __call__(self, xc: np.ndarray) -> np.ndarray:
        return xc.astype(self.dtype) @ self.weights  # int64, or float values that are exact integers


class Emulator:
    """``cache`` (a dict shared between emulators of the same network) keeps each layer's prepared
    multiply-accumulate per (layer, multiplier, weights): a search re-uses them across candidates. ``engine``:
    auto (per convolution, the fastest of im2col, conv2d and conv2d-int8 on a probe batch), or one of them for every
    convolution where it applies (tests)."""

    ENGINES = ("auto", "im2col", "conv2d", "conv2d-int8")

    def __init__(self, ir: IR, assignments: dict | None = None, cache: dict | None = None, engine: str = "auto",
                 probe: np.ndarray | None = None):
        if engine not in self.ENGINES:
            raise ValueError(f"engine must be one of {', '.join(self.ENGINES)}, got {engine!r}")
        self.ir, self.engine = ir, engine
        # samples (real inputs of the network) on which each layer's engines race, one batch of predict's size (the
        # engines' relative speed depends on it: measured at 32 samples, the float convolution won layers where int8
        # runs batches of 64 faster): the layer sees its own inputs (ReLU zeros, image backgrounds, which the lookup
        # kernel skips); without them, uniform random codes
        self.probe_size = auto_batch(ir)
        self._probe = None if probe is None or not len(probe) else (
            np.asarray(probe[: self.probe_size], np.float64), {}, [0])
        self.assignments = assignments or {}
        self.macs: dict[str, list] = {}
        self.direct: dict[str, object] = {}  # layer -> its direct convolution, where one was measured fastest
        self.methods: list[LayerMethod] = []
        self._observe = None
        self.relu_after = fusable_relus(ir)
        self._fused = {relu.name for relu in self.relu_after.values()}
        self._fuse = True  # off while predict() has an observer: it must see each node's own output
        for node in ir.multiplying_nodes():
            a = self.assignments.get(node.name)
            key = (node.name, a.multiplier if a else "exact", id(node.weights["weight"]), engine)
            if cache is not None and key in cache:
                self.macs[node.name], method, direct = cache[key]
                self.methods.append(method)
                if direct is not None:
                    self.direct[node.name] = direct
                continue
            self._choose_engine(node, self._prepare(node))
            if cache is not None:
                cache[key] = (self.macs[node.name], self.methods[-1], self.direct.get(node.name))
        self._probe = None  # the probe's activations are not needed after the races

    # ---- set-up per layer -------------------------------------------------------------------------
    def _prepare(self, node: Node):
        """Sets the layer's MAC and method; returns a builder of its table-lookup MAC where that may be faster (a
        high-rank decomposition: timed against it by _choose_engine), else None."""
        op = get_op(node.op)
        x_t, w_t = self.ir.input_type_of(node), node.type("weight")
        a = self.assignments.get(node.name) or builtin_product(node) or Assignment(node.name, EXACT, "exact", x_t, w_t)
        groups = op.groups(node)
        macs = op.macs(node)
        acc_t = node.type("accum")
        if acc_t.frac < product_frac(node, x_t) or acc_t.overflow != "WRAP":
            # products rounded one by one, or a saturating accumulator: sum in order, as the reference does
            self.macs[node.name] = [("reference", a)] * len(groups)
            self.methods.append(LayerMethod(node.name, a.multiplier, "reference", None, macs))
            return
        k = max(w.shape[0] for w, _ in groups)
        if a.exact:  # no table: the codes' own product (operands of any width)
            bound = k * max(abs(x_t.code_min), x_t.code_max) * max(abs(w_t.code_min), w_t.code_max)
            dtype = np.float32 if bound < F32_LIMIT else (np.float64 if bound < F64_LIMIT else np.int64)
            self.macs[node.name] = [("gemm", _ExactGemm(w, dtype)) for w, _ in groups]
            self.methods.append(LayerMethod(node.name, a.multiplier, "gemm", np.dtype(dtype).name, macs))
            if max(a.x_type.width, a.w_type.width) <= LUT_EXACT_BITS and len(groups) == 1:
                x_codes, w_codes = a.codes()  # a small table of exact products: its lookup may win (few channels)
                return lambda: _lut_macs(node, a.table(), groups, x_codes.min(), w_codes.min())
            return None
        if a.x_type.width > MAX_TABLE_BITS:  # a table over every input code would not fit: product by product
            self.macs[node.name] = [("reference", a)] * len(groups)
            self.methods.append(LayerMethod(node.name, a.multiplier, "reference", None, macs))
            return
        x_codes, w_codes = a.codes()
        table = a.table()
        dec = decompose_used(table, x_codes, w_codes, np.unique(np.concatenate([w.ravel() for w, _ in groups])))
        if dec is not None:
            fmax = [np.abs(x_codes).max()] * dec.base + [np.abs(dec.F[:, r]).max() for r in range(dec.rank)]
            gmax = [np.abs(w_codes).max()] * dec.base + [np.abs(dec.G[r]).max() for r in range(dec.rank)]
            bound = k * sum(int(f) * int(g) for f, g in zip(fmax, gmax))
            dtype = np.float32 if bound < F32_LIMIT else (np.float64 if bound < F64_LIMIT else None)
            if dtype is not None:
                self.macs[node.name] = [("gemm", _GemmMAC(dec, x_codes.min(), w_codes.min(), w, dtype)) for w, _ in groups]
                label = "gemm" if dec.method == "exact" else dec.label()
                self.methods.append(LayerMethod(node.name, a.multiplier, label, np.dtype(dtype).name, macs))
                if dec.rank >= LUT_RIVAL_RANK and len(groups) == 1:  # (rank + 1) x the GEMM work: the table may win
                    return lambda: _lut_macs(node, table, groups, x_codes.min(), w_codes.min())
                return None
        self.macs[node.name], direct = _lut_macs(node, table, groups, x_codes.min(), w_codes.min())
        self.methods.append(LayerMethod(node.name, a.multiplier, "lut", "int64", macs, LUT_ENGINE[direct is not None]))
        if direct is not None:
            self.direct[node.name] = direct

    def _choose_engine(self, node: Node, rival=None, repeat: int = 5) -> None:
        """The fastest exact way to run a layer on a GEMM, by measured time on a probe batch (the layer's inputs on the
        probe samples where the emulator was given them, else random input codes):
        im2col rows or a direct convolution (float32 or int8) for a convolution, and for a high-rank decomposition
        also the table-lookup kernel. An alternative is taken only if its sums equal the GEMM's on that batch."""
        from approxhls.sim.directconv import DIRECT_ENGINES, tensorflow

        kind, impl = self.macs[node.name][0]
        rival = rival if self.engine == "auto" else None
        if kind != "gemm" or node.attrs.get("binary_input"):
            return
        x_t, op = self.ir.input_type_of(node), get_op(node.op)
        convs = {}  # engine -> the layer's direct convolution, where that engine applies
        if node.op == "conv" and self.engine != "im2col" and tensorflow(load=self.engine != "auto") is not None:
            if isinstance(impl, _GemmMAC):
                lookup, lo, hi = impl.features, impl.x_min, impl.x_min + len(impl.features) - 1
            else:
                lookup, lo, hi = None, x_t.code_min, x_t.code_max
            for name, engine in DIRECT_ENGINES.items():
                if self.engine in ("auto", name):
                    conv = engine(node, impl.weights, lookup, lo, hi)
                    if conv.ok:
                        convs[name] = conv
        if self.engine != "auto" or (not convs and rival is None):
            for name, conv in convs.items():  # an engine asked for: used wherever it applies
                self.direct[node.name] = conv
                self.methods[-1].engine = name
            return
        xc = self._probe_input(node)
        if xc is None:
            rng = np.random.default_rng(0)
            size = (self.probe_size, int(np.prod(self.ir.producer(node.inputs[0]).shape)))
            xc = rng.integers(x_t.code_min, x_t.code_max + 1, size=size)
        probe = len(xc)
        _, bias = op.groups(node)[0]

        def rows(mac):  # the layer's GEMM rows as _mac gives them to this MAC
            return self._readable(op.columns(node, xc, probe)[0], mac)

        # (engine, its sums and offset on the probe, its direct convolution, its table-lookup MACs); im2col first
        contenders = [("im2col" if node.op == "conv" else "numpy", lambda: (impl(rows(impl)), None), None, None)]
        for name, conv in convs.items():
            contenders.append((name, lambda conv=conv: conv.partial(xc, probe), conv, None))
        if rival is not None:
            macs, direct = rival()
            lut, x_min = macs[0][1]
            run = (lambda: direct.partial(xc, probe)) if direct is not None else (
                lambda: (lut(rows(macs[0][1]) - x_min), None))
            contenders.append((LUT_ENGINE[direct is not None], run, direct, macs))

        def as_run(partial):  # timed as the layer runs: the sums, then the fused finish that reads them
            def run():
                sums, offset = partial()
                self._finish(node, sums, bias, x_t, offset)
                return sums, offset
            return run

        timed = timed_race([as_run(c[1]) for c in contenders], repeat)
        y_gemm = _int_sums(*timed[0][0])
        options = [(t, name, conv, macs) for (y, t), (name, _, conv, macs) in zip(timed, contenders)
                   if np.array_equal(y_gemm, _int_sums(*y))]
        _, engine, conv, macs = min(options, key=lambda o: o[0])
        self.methods[-1].engine = engine
        if conv is not None:
            self.direct[node.name] = conv
        if macs is not None:  # the table lookup was faster than (rank + 1) products
            self.macs[node.name] = macs
            self.methods[-1].method, self.methods[-1].dtype = "lut", "int64"

    def _probe_input(self, node: Node) -> np.ndarray | None:
        """The layer's input codes (samples, features) on the probe samples, or None without a probe: the nodes before
        it run with the layers prepared so far (the multiplying nodes are prepared in graph order)."""
        if self._probe is None:
            return None
        x, env, done = self._probe
        stop = self.ir.nodes.index(node)
        run_nodes(self.ir, self.context(x), env, done[0], stop)
        done[0] = stop
        return np.asarray(env[node.inputs[0]][0]).reshape(len(x), -1)  # in the dtype the layer receives

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
        direct = self.direct.get(node.name)
        if direct is None or self._observe is not None:  # histograms count the codes of every product: GEMM rows
            return None
        n = len(xc)
        sums, offset = direct.partial(xc, n)
        _, bias = get_op(node.op).groups(node)[0]
        return self._finish(node, sums, bias, x_t, offset).reshape((n, *node.shape))

    def _mac(self, node: Node, group: int, xc, x_t: FixedType):
        kind, impl = self.macs[node.name][group]
        xc = np.asarray(xc, dtype=np.int64) if self._observe is not None else self._readable(xc, impl)
        if self._observe is not None:
            self._observe(node, xc, x_t)
        w, bias = get_op(node.op).groups(node)[group]
        if kind == "reference":
            out = reference_mac(xc, w, bias, node, x_t, impl)
            relu = self._relu(node)
            return out if relu is None else self._apply_relu(relu, out, node.type("result"))
        if kind == "gemm":
            sums = impl(xc)
        else:
            lut, x_min = impl
            sums = lut(xc - x_min)
        return self._finish(node, sums, bias, x_t)

    @staticmethod
    def _readable(xc: np.ndarray, impl) -> np.ndarray:
        """GEMM rows as a MAC reads them: narrow codes from the layer before are widened to int64 (lookups and the
        reference index and subtract with them) unless the MAC reads any dtype."""
        return xc if xc.dtype == np.int64 or getattr(impl, "reads_narrow", False) else xc.astype(np.int64)

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
        return [m.__dict__ for m in self.methods]

    def timed_predict(self, x: np.ndarray, batch: int | None = None) -> tuple[np.ndarray, dict]:
        t0 = time.perf_counter()
        y = self.predict(x, batch)
        s = time.perf_counter() - t0
        return y, {"seconds": s, "images_per_s": len(x) / s if s else None,
                   "gmac_per_s": len(x) * self.macs_per_sample() / s / 1e9 if s else None}

