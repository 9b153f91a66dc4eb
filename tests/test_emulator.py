"""The emulator's choice of method per multiplier, and its exactness where sums approach float limits."""

import numpy as np
import pytest

from approxhls.fixedpoint import FixedType
from approxhls.multipliers.registry import get_design
from approxhls.sim import lutkernel
from approxhls.sim.assignment import Assignment, product_table
from approxhls.sim.decompose import decompose

X = FixedType.parse("ap_ufixed<8,2>")
W = FixedType.parse("ap_fixed<8,1>")


def _table(name):
    x = np.arange(X.code_min, X.code_max + 1)
    w = np.arange(W.code_min, W.code_max + 1)
    return product_table(get_design(name), x, w), x, w


@pytest.mark.parametrize(
    "name,method",
    [("exact_u8", "exact"), ("tam_u8_k6", "low-rank"), ("bam_u8_h2_v8", "low-rank"), ("ppp_u8_j0_m2", "separable"),
     ("lsbt_u8_ka2_kb2", "separable"), ("drum_u8_k4", "separable"), ("roba_u8_modeboth", "low-rank"),
     ("kulkarni_u8_s16", "low-rank"), ("mitchell_u8_w5", None)],
)
def test_decomposition_methods_are_exact(name, method):
    t, x, w = _table(name)
    dec = decompose(t, x, w)
    if method is None:
        assert dec is None  # Mitchell's antilogarithm is not low-rank: the lookup kernel handles it
        return
    assert dec.method == method
    rebuilt = dec.base * x[:, None] * w[None, :] + dec.F @ dec.G
    assert np.array_equal(rebuilt, t)
    assert dec.rank <= 16


@pytest.mark.parametrize("name", ["tam_u8_k7", "etm_u8_m3", "bam_u8_h2_v8", "drum_u8_k4"])
def test_decomposition_on_used_weight_codes_is_exact_there(name):
    """Restricted to the codes a layer holds (small weights: fewer bit planes), the rank may drop; the rebuilt table
    equals the real one on every (x, used w) pair, and G is zero where the layer never looks."""
    from approxhls.sim.decompose import decompose_used

    t, x, w = _table(name)
    used = np.array([c for c in w if -20 <= c <= 20 and c % 3])  # small weights, a sparse subset
    full, dec = decompose(t, x, w), decompose_used(t, x, w, used)
    assert dec.rank <= full.rank
    rebuilt = dec.base * x[:, None] * w[None, :] + dec.F @ dec.G
    cols = used - w.min()
    assert np.array_equal(rebuilt[:, cols], t[:, cols])
    assert not np.delete(dec.G, cols, axis=1).any()
    if name == "etm_u8_m3":
        assert dec.rank < full.rank  # this one does drop


def test_lookup_kernel_equals_numpy_gather_and_direct_sum():
    rng = np.random.default_rng(0)
    t, x, w = _table("mitchell_u8_w5")
    w_idx = rng.integers(0, len(w), (37, 11))
    x_idx = rng.integers(0, len(x), (53, 37))
    layer = lutkernel.LutLayer(t, w_idx)
    got = layer(x_idx)
    direct = np.array([[t[x_idx[r], w_idx[:, j]].sum() for j in range(11)] for r in range(53)])
    assert np.array_equal(got, direct)
    assert lutkernel.available(), "the C lookup kernel should build here (gcc is installed)"


def test_float64_is_chosen_when_float32_could_round(tmp_path, monkeypatch):
    """A wide dense layer whose worst-case sum passes 2^24 must not be computed in float32."""
    from qkeras import QDense, quantized_bits
    from tensorflow import keras

    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.engines import choice
    from approxhls.sim.reference import evaluate

    # 8-bit exact products race the table lookup: the GEMM wins here, so the test is about the GEMM's dtype
    monkeypatch.setattr(choice, "timed_race", lambda fns, repeat: [(fn(), float(i)) for i, fn in enumerate(fns)])

    inp = keras.layers.Input((1024,), name="x_in")
    out = QDense(4, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1),
                 name="d")(inp)
    m = keras.Model(inp, out)
    m.get_layer("d").set_weights([np.full((1024, 4), -1.0), np.zeros(4)])
    g = build_graph(m, ConvertOptions())
    em = Emulator(g.ir, g.assignments)
    assert em.describe()[0]["dtype"] == "float64"  # 1024 * 255 * 128 > 2^24
    x = np.full((3, 1024), 255 / 256)
    x[1] = 1 / 256
    assert np.array_equal(em.predict(x), evaluate(g.ir, x, g.assignments))
    assert em.predict(x)[0, 0] == -1024 * 255 / 256  # the full-scale sum, exactly


def test_assignment_extra_bits():
    x, w = FixedType.parse("ap_ufixed<8,2>"), FixedType.parse("ap_fixed<8,1>")
    assert Assignment("l", "exact", "plan", x, w).extra_bits == 0
    a = Assignment("l", "roba_u8_modex", "plan", x, w, get_design("roba_u8_modex"))
    assert a.extra_bits == 1  # 256 * 128 > 255 * 128


def test_emulate_command_reports_methods_and_throughput(tmp_path, monkeypatch):
    import json

    from approxhls.cli import main
    from approxhls.sim.engines import choice

    # the engine race is timed (tam_u8_k6's rank makes the table lookup a contender): here the GEMM always wins, so the
    # reported method does not depend on this machine's timing
    monkeypatch.setattr(choice, "timed_race", lambda fns, repeat: [(fn(), float(i)) for i, fn in enumerate(fns)])
    assert main(["train", "--epochs", "2", "--width", "0.5", "--out", str(tmp_path / "m")]) == 0
    (tmp_path / "plan.json").write_text(json.dumps({"default": "mitchell_u8_w7", "layers": {"fc1": "tam_u8_k6"}}))
    assert main(["emulate", str(tmp_path / "m"), "--plan", str(tmp_path / "plan.json"), "--json",
                 str(tmp_path / "e.json")]) == 0
    r = json.loads((tmp_path / "e.json").read_text())
    methods = {row["layer"]: row["method"] for row in r["layers"]}
    assert methods["fc1"].startswith("low-rank") and methods["logits"] == "lut"
    assert r["n"] == 450 and 0 < r["accuracy"] <= 1 and r["images_per_s"] > 0 and r["gmac_per_s"] > 0


def _conv_pair(side: int, mid: int, c2_padding: str, rng, c2_kernel=None, c2_size: int = 3, c2_stride: int = 1):
    """x_in (side, side, 3) -> QConv2D(mid, 3, stride 2, same) -> quantized ReLU -> QConv2D(5, c2_size, c2_stride,
    c2_padding), 8-bit weights drawn from ``rng`` (c2's kernel given, with zero biases, or drawn)."""
    from qkeras import QActivation, QConv2D, quantized_bits, quantized_relu
    from tensorflow import keras

    q = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1))
    inp = keras.layers.Input((side, side, 3), name="x_in")
    h = QConv2D(mid, 3, strides=2, padding="same", name="c1", **q)(inp)
    h = QActivation(quantized_relu(8, 2), name="r1")(h)
    m = keras.Model(inp, QConv2D(5, c2_size, strides=c2_stride, padding=c2_padding, name="c2", **q)(h))
    m.get_layer("c1").set_weights([rng.uniform(-1, 1, (3, 3, 3, mid)), rng.uniform(-0.5, 0.5, mid)])
    c2 = [c2_kernel, np.zeros(5)] if c2_kernel is not None else [rng.uniform(-1, 1, (c2_size, c2_size, mid, 5)),
                                                                  rng.uniform(-0.5, 0.5, 5)]
    m.get_layer("c2").set_weights(c2)
    return m


def _input_images(rng, signed: bool):
    """(input precision, 7 images (9, 9, 3) on its grid): signed ap_fixed<8,1> or unsigned ap_ufixed<8,0>."""
    if signed:
        return "ap_fixed<8,1>", rng.integers(-128, 128, (7, 9, 9, 3)) / 64
    return "ap_ufixed<8,0>", rng.integers(0, 256, (7, 9, 9, 3)) / 256


@pytest.mark.parametrize("mult", ["exact", "drum_u8_k4", "tam_u8_k7", "roba_u8_modeboth"])
def test_direct_convolution_equals_reference(mult):
    """The conv2d engine (TensorFlow's float32 convolution) against the reference evaluator, every element: padding,
    stride, and a layer whose worst-case sum passes 2^24 so its channels are cut into exact chunks."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.reference import evaluate

    rng = np.random.default_rng(3)
    m = _conv_pair(10, 64, "valid", rng, np.full((3, 3, 64, 5), -1.0))  # c2: 9*64*255*128 > 2^24
    plan = None if mult == "exact" else {"default": mult}
    g = build_graph(m, ConvertOptions(input_precision="ap_ufixed<8,0>"), plan=plan)
    x = rng.integers(0, 256, (6, 10, 10, 3)) / 256
    x[0] = 255 / 256  # full-scale input: the largest sums
    want = evaluate(g.ir, x, g.assignments)
    direct = Emulator(g.ir, g.assignments, engine="conv2d")
    assert [m["engine"] for m in direct.describe()] == ["conv2d", "conv2d"]
    assert len(direct.direct["c2"].slices) >= 2  # the bound forced chunks
    assert np.array_equal(direct.predict(x), want)
    assert np.array_equal(Emulator(g.ir, g.assignments, engine="im2col").predict(x), want)


@pytest.mark.parametrize("mult", ["exact", "drum_u8_k4", "tam_u8_k7", "roba_u8_modeboth", "bam_u8_h1_v8"])
@pytest.mark.parametrize("signed_input", [False, True])
def test_int8_convolution_equals_reference(mult, signed_input):
    """The conv2d-int8 engine (oneDNN's u8 x s8 -> s32 convolution) against the reference evaluator, every element:
    features shifted to unsigned (signed inputs, error features below zero) and scaled into 8 bits (bit planes),
    padding whose features differ per channel, stride; on a CPU without VNNI the engine must refuse."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim.directconv import exact_int8_cpu
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.reference import evaluate

    rng = np.random.default_rng(5)
    m = _conv_pair(9, 16, "same", rng)
    plan = None if mult == "exact" else {"default": mult}
    grid, x = _input_images(rng, signed_input)
    g = build_graph(m, ConvertOptions(input_precision=grid), plan=plan)
    x[0] = x.max()  # full-scale input: the largest sums
    want = evaluate(g.ir, x, g.assignments)
    em = Emulator(g.ir, g.assignments, engine="conv2d-int8")
    engines = [m["engine"] for m in em.describe()]
    assert np.array_equal(em.predict(x), want)
    if exact_int8_cpu():
        assert "conv2d-int8" in engines
        # features looked up by 4-, 2- and 1-byte chunks, the weights' channels in the same order (16 channels of
        # several pieces); an exact product's shifted codes need no lookup
        assert em.direct["c2"].chunked == (mult != "exact"), em.direct["c2"].pieces
    else:
        assert "conv2d-int8" not in engines


@pytest.mark.parametrize("engine", ["conv2d", "conv2d-int8"])
@pytest.mark.parametrize("mult", ["exact", "tam_u8_k7"])
def test_strided_pointwise_convolution_builds_features_of_the_pixels_it_reads(engine, mult):
    """A 1x1 convolution with stride 2 (a residual skip) reads every second pixel of every second row: the direct
    engines take those before building features, and convolve them with stride 1. An odd input side (9 -> 5 outputs)
    checks the edges; every element against the reference."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim import directconv
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.reference import evaluate

    rng = np.random.default_rng(8)
    m = _conv_pair(17, 16, "same", rng, c2_size=1, c2_stride=2)
    plan = None if mult == "exact" else {"default": mult}
    g = build_graph(m, ConvertOptions(input_precision="ap_ufixed<8,0>"), plan=plan)
    assert g.ir.node("c2").attrs["in_height"] == 9 and g.ir.node("c2").attrs["out_height"] == 5
    x = rng.integers(0, 256, (6, 17, 17, 3)) / 256
    em = Emulator(g.ir, g.assignments, engine=engine)
    conv, images = em.direct.get("c2"), []
    if conv is None:  # the int8 engine on a CPU without VNNI
        assert engine == "conv2d-int8" and not directconv.exact_int8_cpu()
    else:
        assert conv.step == (2, 2) and directconv.pointwise_step(g.ir.node("c1").attrs) == (1, 1)
        if engine == "conv2d":
            own = conv.conv2d
            conv.conv2d = lambda x, *a: images.append(x.shape) or own(x, *a)
        else:
            own = conv.conv
            conv.conv = lambda x: images.append(x.shape) or own(x)
    y = em.predict(x)
    assert conv is None or (images and all(shape[1:3] == (5, 5) for shape in images))
    assert np.array_equal(y, evaluate(g.ir, x, g.assignments))


def _recording_sums(partial, writeable: list):
    def run(*args):
        sums, offset = partial(*args)
        writeable.append(sums.flags.writeable)
        return sums, offset
    return run


def test_direct_engines_hand_tensorflow_their_features_without_a_copy():
    """Converting a numpy array to a tensor copies it, holding the GIL (measured: 1.6 of 4.2 ms of resnet8's first
    u8 convolution on 64 images); the engines build their features 64-byte aligned and pass them through DLPack,
    which shares the memory. An array TensorFlow could not use as it is (unaligned, strided) is still converted.
    The sums come back the same way (``tensor.numpy()`` copies): a read-only view of the tensor's memory, or a copy
    where DLPack cannot export the tensor."""
    import tensorflow as tf

    from approxhls import fixedkernels
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim import directconv
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.reference import evaluate

    for shape, dtype in [((3, 5, 7, 11), np.uint8), ((2, 9, 9, 6), np.float32), ((5, 3), np.int32)]:
        a = fixedkernels.aligned_empty(shape, dtype)
        assert a.shape == shape and a.dtype == dtype and a.ctypes.data % fixedkernels.ALIGN == 0
    assert fixedkernels.aligned_empty((0, 4), np.int32).shape == (0, 4)
    a = fixedkernels.aligned_empty((4, 6, 6, 8), np.uint8)
    a[...] = np.arange(a.size).reshape(a.shape) % 251
    shared = directconv.as_tensor(tf, a)
    a[0, 0, 0, 0] = 250
    assert shared.numpy()[0, 0, 0, 0] == 250  # the same memory
    for other in (a.reshape(-1)[1:], a[:, ::2]):  # unaligned, not contiguous: converted, equal values
        t = directconv.as_tensor(tf, other)
        assert np.array_equal(t.numpy(), other)
        first = (0,) * other.ndim
        other[first] = 7 if other[first] != 7 else 8
        assert not np.array_equal(t.numpy(), other)
    view = directconv.as_array(tf, shared)  # a -> tensor -> array: one memory throughout
    a[1, 2, 3, 4] = 249
    assert view[1, 2, 3, 4] == 249 and not view.flags.writeable and np.array_equal(view, a)
    del shared
    assert np.array_equal(view, a)  # the view keeps the tensor's memory alive
    for t in (tf.constant(["ab", "c"]), tf.bitcast(tf.constant(np.arange(4, dtype=np.int32)), tf.qint32)):
        copied = directconv.as_array(tf, t)  # types DLPack does not carry: the usual copy
        assert copied.flags.writeable and np.array_equal(copied, t.numpy())

    rng = np.random.default_rng(9)
    g = build_graph(_conv_pair(9, 16, "same", rng), ConvertOptions(input_precision="ap_ufixed<8,0>"),
                    plan={"default": "tam_u8_k7"})
    x = rng.integers(0, 256, (6, 9, 9, 3)) / 256
    for engine in directconv.DIRECT_ENGINES:
        em = Emulator(g.ir, g.assignments, engine=engine)
        if not em.direct:  # the int8 engine on a CPU without VNNI
            assert engine == "conv2d-int8" and not directconv.exact_int8_cpu()
            continue
        calls, shared_calls, own = [], [], tf.experimental.dlpack.from_dlpack
        sums_writeable = []
        for conv in em.direct.values():
            name = "conv2d" if engine == "conv2d" else "conv"
            inner = getattr(conv, name)
            setattr(conv, name, lambda x, *a, inner=inner: calls.append(1) or inner(x, *a))
            conv.partial = _recording_sums(conv.partial, sums_writeable)
        tf.experimental.dlpack.from_dlpack = lambda c: shared_calls.append(1) or own(c)
        try:
            y = em.predict(x)
        finally:
            tf.experimental.dlpack.from_dlpack = own
        assert calls and len(shared_calls) == len(calls)
        assert sums_writeable and not any(sums_writeable)  # every layer's sums: TensorFlow's memory, not a copy
        assert np.array_equal(y, evaluate(g.ir, x, g.assignments))


def test_int8_engine_refuses_features_too_wide_for_it():
    """etm_u8_m4's error features span up to 12 bits with no common factor: cut into 8-bit pieces they would be more
    work than the float convolution, so the int8 engine refuses (saying why) and the layer keeps an exact engine."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim.directconv import Int8Conv, exact_int8_cpu
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.reference import evaluate

    rng = np.random.default_rng(5)
    g = build_graph(_conv_pair(9, 16, "same", rng), ConvertOptions(input_precision="ap_ufixed<8,0>"),
                    plan={"default": "etm_u8_m4"})
    em = Emulator(g.ir, g.assignments, engine="conv2d-int8")
    assert not em.direct
    node = g.ir.node("c2")
    impl = em.chosen["c2"].rows.kernels[0]  # the layer's GEMM: its weight rows and input features
    conv = Int8Conv(node, impl.weights, impl.features, impl.x_min, impl.x_min + len(impl.features) - 1)
    assert not conv.ok
    assert ("more work than the float convolution" in conv.why) if exact_int8_cpu() else ("VNNI" in conv.why)
    x = rng.integers(0, 256, (5, 9, 9, 3)) / 256
    assert np.array_equal(em.predict(x), evaluate(g.ir, x, g.assignments))


def test_int8_engine_needs_vnni(tmp_path):
    """Without VNNI (or AMX), oneDNN adds pairs of u8 x s8 products in int16 with saturation: not exact, refused."""
    from approxhls.sim.directconv import exact_int8_cpu, int8_hardware

    with_vnni, without, amx = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    with_vnni.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw\n")
    amx.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_vnni amx_bf16 amx_tile amx_int8 avx_vnni\n")
    assert exact_int8_cpu(str(with_vnni)) and not exact_int8_cpu(str(without))
    assert not exact_int8_cpu(str(tmp_path / "missing"))
    # what the benchmark records beside its ratios (oneDNN takes AMX where it is)
    assert int8_hardware(str(amx)) == ["avx512_vnni", "avx_vnni", "amx_int8"]
    assert int8_hardware(str(with_vnni)) == ["avx512_vnni"] and int8_hardware(str(without)) == []


def test_fused_relus_equal_the_unfused_graph():
    """A ReLU is fused into its producer (MAC finish, residual add) only where nothing else reads the producer's
    output; fused, unfused (an observer sees every node) and the reference agree on every element."""
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim.emulator import Emulator, fusable_relus
    from approxhls.sim.reference import evaluate

    q = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1))
    inp = keras.layers.Input((8, 8, 2), name="x_in")
    c1 = QConv2D(4, 3, padding="same", name="c1", **q)(inp)
    r1 = QActivation(quantized_relu(6, 2), name="r1")(c1)  # fused into c1
    c2 = QConv2D(4, 3, padding="same", name="c2", **q)(r1)
    r2 = QActivation(quantized_relu(8, 3), name="r2")(c2)
    s = keras.layers.Add(name="add")([c2, r2])  # c2 is read twice: its ReLU stays a node of its own
    r3 = QActivation(quantized_relu(7, 2), name="r3")(s)  # fused into the add
    flat = keras.layers.Flatten(name="flat")(r3)
    out = QDense(3, name="d", **q)(flat)
    m = keras.Model(inp, out)
    rng = np.random.default_rng(5)
    for layer in ("c1", "c2", "d"):
        w, b = m.get_layer(layer).get_weights()
        m.get_layer(layer).set_weights([rng.uniform(-1, 1, w.shape), rng.uniform(-0.5, 0.5, b.shape)])
    g = build_graph(m, ConvertOptions(input_precision="ap_ufixed<8,0>"), plan={"default": "tam_u8_k7"})
    fused = fusable_relus(g.ir)
    assert {k: v.name for k, v in fused.items()} == {"c1": "r1", "add": "r3"}
    x = rng.integers(0, 256, (300, 8, 8, 2)) / 256
    want = evaluate(g.ir, x, g.assignments)
    em = Emulator(g.ir, g.assignments)
    seen = {}
    unfused = em.predict(x, observe=lambda node, codes, t: seen.setdefault(node.name, codes))
    assert np.array_equal(em.predict(x), want)
    assert np.array_equal(unfused, want)
    assert seen["c1"].min() < 0  # the observer saw c1's own result, before its ReLU


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_narrow_codes_between_layers_equal_the_reference(io_type):
    """Fused finishes and adds pass codes on in their narrowest dtype (uint8 after an 8-bit ReLU); operations that need
    int64 get them widened (a multiply of two uint8 codes would wrap, a pooling sum too). Every element equals the
    reference, and the narrow codes did flow: into the zero padding, the convolution, the add and the multiply."""
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.reference import evaluate

    q = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1))
    inp = keras.layers.Input((10, 10, 2), name="x_in")
    r1 = QActivation(quantized_relu(8, 4), name="r1")(QConv2D(8, 3, padding="same", name="c1", **q)(inp))
    r2 = QActivation(quantized_relu(8, 4), name="r2")(QConv2D(8, 3, padding="same", name="c2", **q)(r1))
    r3 = QActivation(quantized_relu(8, 4), name="r3")(keras.layers.Add(name="add")([r1, r2]))
    prod = keras.layers.Multiply(name="mul")([r1, r3])  # up to 255 x 255: wraps in uint8
    pool = keras.layers.AveragePooling2D(2, name="pool")(prod)
    out = QDense(4, name="d", **q)(keras.layers.Flatten(name="flat")(pool))
    m = keras.Model(inp, out)
    rng = np.random.default_rng(8)
    for layer in ("c1", "c2", "d"):
        w, b = m.get_layer(layer).get_weights()
        m.get_layer(layer).set_weights([rng.uniform(-1, 1, w.shape), rng.uniform(0, 0.5, b.shape)])
    g = build_graph(m, ConvertOptions(io_type=io_type, input_precision="ap_ufixed<8,0>"), plan={"default": "tam_u8_k7"})
    x = rng.integers(0, 256, (200, 10, 10, 2)) / 256
    em = Emulator(g.ir, g.assignments)
    dtypes, evaluate_node = {}, em._evaluate

    def record(node, ins, ctx):
        dtypes.setdefault(node.op, set()).update(c.dtype.name for c, _ in ins)
        return evaluate_node(node, ins, ctx)

    em._evaluate = record
    got = em.predict(x, batch=100)
    assert np.array_equal(got, evaluate(g.ir, x, g.assignments))
    assert "uint8" in dtypes["merge"] and "uint8" in dtypes["conv"]
    if io_type == "io_stream":
        assert "uint8" in dtypes["zeropad"]
    assert (np.abs(got) > 0).mean() > 0.5  # the products did not all saturate or vanish


def test_engines_race_on_each_layers_inputs_from_the_probe_samples(monkeypatch):
    """Given samples, each layer's engines race on the codes that layer receives from them (a ReLU's zeros, which the
    lookup kernel skips, are in them; uniform random codes undervalued it), and the emulator stays exact."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim import emulator as emulator_module
    from approxhls.sim.reference import evaluate

    rng = np.random.default_rng(9)
    g = build_graph(_conv_pair(12, 16, "same", rng), ConvertOptions(input_precision="ap_ufixed<8,0>"),
                    plan={"default": "tam_u8_k7"})
    x = rng.integers(0, 256, (70, 12, 12, 3)) / 256
    seen = {}
    n = 32  # the probe: one batch of predict's size (of 70 samples here)
    monkeypatch.setattr(emulator_module, "auto_batch", lambda ir: n)
    want = evaluate(g.ir, x[:n], g.assignments,
                    observe=lambda node, codes, t: seen.setdefault(node.name, codes))
    raced, measure = {}, emulator_module.Emulator._measure

    def spy(self, node, engines, xc):  # the codes each layer's engines are timed on
        raced[node.name] = xc
        return measure(self, node, engines, xc)

    monkeypatch.setattr(emulator_module.Emulator, "_measure", spy)
    em = emulator_module.Emulator(g.ir, g.assignments, probe=x)
    assert set(raced) == {"c1", "c2"}
    assert np.array_equal(raced["c1"], g.ir.node("x_in").type().to_codes(x[:n]).reshape(n, -1))
    c2_input = seen[g.ir.producer(g.ir.node("c2").inputs[0]).name]  # the ReLU's codes
    assert np.array_equal(raced["c2"], c2_input.reshape(n, -1)) and (c2_input == 0).mean() > 0.2
    assert np.array_equal(em.predict(x[:n]), want)
    raced.clear()
    empty = emulator_module.Emulator(g.ir, g.assignments, probe=x[:0])  # no samples: the races run on random codes
    codes = raced["c2"]  # uniform over the ReLU's 8-bit codes: its zeros are rare, its range covered
    assert codes.shape == (n, c2_input[0].size) and (codes == 0).mean() < 0.05
    assert codes.min() == 0 and codes.max() == 255
    assert np.array_equal(empty.predict(x[:n]), want)


def test_race_times_each_engine_as_the_layer_runs_it(monkeypatch):
    """Each contender is timed as the layer runs it: its own sums (the int8 engine's without its shift constant,
    which the finish folds into the bias) followed by the fused finish, on the codes in the dtype the layer receives
    (uint8 after a fused ReLU). Timing int64 copies and an offset pass that the layer never makes picked the float
    convolution where the int8 one runs the network 1.4x faster (resnet8, drum). The winner is still exact."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim import directconv
    from approxhls.sim import emulator as emulator_module
    from approxhls.sim.engines import choice
    from approxhls.sim.reference import evaluate

    rng = np.random.default_rng(21)
    g = build_graph(_conv_pair(12, 16, "same", rng), ConvertOptions(input_precision="ap_ufixed<8,0>"),
                    plan={"default": "drum_u8_k4"})
    x = rng.integers(0, 256, (40, 12, 12, 3)) / 256
    finishes, inputs = [], {}
    finish = emulator_module.Emulator._finish
    monkeypatch.setattr(emulator_module.Emulator, "_finish",
                        lambda self, node, *a, **k: finishes.append(node.name) or finish(self, node, *a, **k))
    for name, engine in directconv.DIRECT_ENGINES.items():
        def partial(self, xc, n, name=name, own=engine.partial):
            inputs.setdefault((self.node.name, name), xc.dtype)
            return own(self, xc, n)
        monkeypatch.setattr(engine, "partial", partial)
    runs = []

    def last_wins(fns, repeat):
        out = []
        for i, fn in enumerate(fns):
            finishes.clear()
            out.append((fn(), -float(i)))
            runs.append(list(finishes))
        return out

    monkeypatch.setattr(choice, "timed_race", last_wins)
    em = emulator_module.Emulator(g.ir, g.assignments, probe=x)
    assert runs and all(len(r) == 1 for r in runs)  # every timed run ends in its layer's finish
    int8 = directconv.exact_int8_cpu()
    assert inputs[("c2", "conv2d")] == np.uint8 and (not int8 or inputs[("c2", "conv2d-int8")] == np.uint8)
    engines = {d["layer"]: d["engine"] for d in em.describe()}
    # drum's features are negative (offset != 0): the int8 sums count as equal once their constant is added
    assert engines == {"c1": "conv2d-int8" if int8 else "conv2d", "c2": "conv2d-int8" if int8 else "conv2d"}
    assert np.array_equal(em.predict(x), evaluate(g.ir, x, g.assignments))


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_average_pooling_plain_sum_equals_windowed_accumulation(monkeypatch, io_type):
    """Where accum_t holds every partial sum, average pooling sums with strided adds; the windowed element-by-element
    (io_parallel) and tree (io_stream) accumulations must give the same codes: padded, strided and global windows."""
    from qkeras import QActivation, QConv2D, quantized_bits, quantized_relu
    from tensorflow import keras

    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim.ops import pooling
    from approxhls.sim.reference import evaluate

    q = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1))
    inp = keras.layers.Input((9, 9, 2), name="x_in")
    h = QActivation(quantized_relu(8, 2), name="r0")(QConv2D(4, 3, padding="same", name="c1", **q)(inp))
    h = keras.layers.AveragePooling2D(2, strides=1, padding="valid", name="p1")(h)
    h = keras.layers.AveragePooling2D(2, strides=2, padding="same", name="p2")(h)
    out = keras.layers.GlobalAveragePooling2D(name="g")(h)
    m = keras.Model(inp, out)
    rng = np.random.default_rng(6)
    w, b = m.get_layer("c1").get_weights()
    m.get_layer("c1").set_weights([rng.uniform(-1, 1, w.shape), rng.uniform(-0.5, 0.5, b.shape)])
    g = build_graph(m, ConvertOptions(io_type=io_type, input_precision="ap_ufixed<8,0>"))
    pools = [n for n in g.ir.nodes if n.op == "pool_avg"]
    assert len(pools) == 3 and all(pooling.exact_accumulation(n, g.ir.input_type_of(n), n.type("accum")) for n in pools)
    x = rng.integers(0, 256, (40, 9, 9, 2)) / 256
    seen = {}
    fast = evaluate(g.ir, x, observe=lambda node, codes, t: seen.setdefault(node.name, []).append(codes))
    monkeypatch.setattr(pooling, "exact_accumulation", lambda *a: False)
    slow = {}
    windowed = evaluate(g.ir, x, observe=lambda node, codes, t: slow.setdefault(node.name, []).append(codes))
    assert np.array_equal(fast, windowed)
    for n in pools:
        assert np.array_equal(np.concatenate(seen[n.name]), np.concatenate(slow[n.name])), n.name


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("relu", [True, False])
def test_pooling_reads_narrow_codes_and_equals_the_reference(monkeypatch, relu, kind):
    """Pooling takes the codes in the narrow dtype the layer before passes on (uint8 after an 8-bit ReLU; a signed
    one without): max pooling passes them on narrow where its types are its input's; average pooling sums them in
    int64. Padded (max: the fill is the type's most negative code), strided and global windows, every element against
    the reference evaluator, which runs on int64 codes."""
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.ops import pooling
    from approxhls.sim.reference import evaluate

    q = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1))
    inp = keras.layers.Input((9, 9, 2), name="x_in")
    h = QConv2D(4, 3, padding="same", name="c1", **q)(inp)
    if relu:
        h = QActivation(quantized_relu(8, 2), name="r0")(h)
    layers = {"max": (keras.layers.MaxPooling2D, keras.layers.GlobalMaxPooling2D),
              "average": (keras.layers.AveragePooling2D, keras.layers.GlobalAveragePooling2D)}
    pool, global_pool = layers[kind]
    h = pool(2, strides=2, padding="same", name="p1")(h)
    h = pool(2, strides=1, padding="valid", name="p2")(h)
    m = keras.Model(inp, QDense(3, name="c2", **q)(global_pool(name="g")(h)))
    rng = np.random.default_rng(9)
    for name in ("c1", "c2"):
        w, b = m.get_layer(name).get_weights()
        m.get_layer(name).set_weights([rng.uniform(-1, 1, w.shape), rng.uniform(-0.5, 0.5, b.shape)])
    g = build_graph(m, ConvertOptions(input_precision="ap_ufixed<8,0>"))
    x = rng.integers(0, 256, (70, 9, 9, 2)) / 256
    dtypes = {}
    op = {"max": pooling.MaxPool, "average": pooling.AvgPool}[kind]
    own = op.evaluate

    def evaluate_pool(self, node, ins, ctx):
        out = own(self, node, ins, ctx)
        dtypes.setdefault(node.name, (ins[0][0].dtype, out.dtype))
        return out

    monkeypatch.setattr(op, "evaluate", evaluate_pool)
    want = evaluate(g.ir, x)
    dtypes.clear()
    assert np.array_equal(Emulator(g.ir).predict(x, batch=32), want)
    pools = [n.name for n in g.ir.nodes if n.op == op.name]
    assert len(pools) == 3 and sorted(dtypes) == sorted(pools)
    # an average's result is int64 (its division widens): only the first pooling gets codes from the convolution
    narrow_in = pools if kind == "max" else ["p1"]
    assert all(dtypes[n][0].itemsize < 8 and dtypes[n][0].kind == ("u" if relu else "i") for n in narrow_in), dtypes
    if kind == "average":  # where the accumulator holds every sum (p1 here), the plain sum reads narrow codes
        p1 = g.ir.node("p1")
        assert pooling.exact_accumulation(p1, g.ir.input_type_of(p1), p1.type("accum"))
    if kind == "max":  # p1 and p2 keep their input's type, so their codes stay narrow; g has hls4ml's ap_fixed<16,6>
        same = {n: g.ir.input_type_of(g.ir.node(n)) == g.ir.node(n).type() for n in pools}
        assert same == {"p1": True, "p2": True, "g": False}
        assert all(dtypes[n][1] == dtypes[n][0] for n in pools if same[n]), dtypes


@pytest.mark.parametrize("lut_wins", [False, True])
def test_measured_choice_between_decomposition_and_table_lookup(monkeypatch, lut_wins):
    """A high-rank decomposition is timed against the table-lookup kernel on a probe; whichever is taken, the outputs
    equal the reference on every element (the probe timing is replaced to force each outcome)."""
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim import emulator
    from approxhls.sim.engines import choice
    from approxhls.sim.reference import evaluate

    q = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1))
    inp = keras.layers.Input((40,), name="x_in")
    h = QActivation(quantized_relu(8, 2), name="r")(QDense(24, name="d1", **q)(inp))
    m = keras.Model(inp, QDense(5, name="d2", **q)(h))
    rng = np.random.default_rng(7)
    for layer in ("d1", "d2"):
        w, b = m.get_layer(layer).get_weights()
        m.get_layer(layer).set_weights([rng.uniform(-1, 1, w.shape), rng.uniform(-0.5, 0.5, b.shape)])
    g = build_graph(m, ConvertOptions(input_precision="ap_ufixed<8,0>"), plan={"default": "etm_u8_m4"})
    races = []

    def fake_race(fns, repeat):  # per layer: the GEMM first, then the lookup
        races.append(len(fns))
        return [(fn(), t) for fn, t in zip(fns, (1.0, 0.0) if lut_wins else (0.0, 1.0))]

    monkeypatch.setattr(choice, "timed_race", fake_race)
    em = emulator.Emulator(g.ir, g.assignments)
    methods = {d["layer"]: d["method"] for d in em.describe()}
    assert races == [2, 2]  # both layers raced (rank >= LUT_RIVAL_RANK)
    assert all((mth == "lut") == lut_wins for mth in methods.values()), methods
    x = rng.integers(0, 256, (200, 40)) / 256
    assert np.array_equal(em.predict(x), evaluate(g.ir, x, g.assignments))


def test_timed_race_runs_contenders_in_turns_and_drops_the_hopeless(monkeypatch):
    """Each round times every contender once (a drift of the machine's speed hits all alike); one more than twice as
    slow as the fastest after the first round runs no more, and its first time stands. A first, untimed call takes
    the one-time costs (conv's first call here is 100x its others): they decide nothing."""
    from approxhls.sim.engines import choice

    clock, calls = [0.0], []
    monkeypatch.setattr(choice.time, "perf_counter", lambda: clock[0])

    def contender(name, cost, first=None):
        def run():
            clock[0] += cost if name in calls or first is None else first
            calls.append(name)
            return name
        return run

    out = choice.timed_race([contender("gemm", 3.0), contender("conv", 1.0, first=100.0), contender("int8", 1.5)],
                              repeat=3)
    assert out == [("gemm", 3.0), ("conv", 1.0), ("int8", 1.5)]
    assert calls == ["gemm", "conv", "int8"] * 2 + ["conv", "int8"] * 2


def _rows_by_gather(node, xc, table, w_index, x_min):
    """The sums of a layer's products read one by one from ``table`` on its im2col rows (numpy, no kernel)."""
    from approxhls.sim.ops import get_op

    rows = get_op(node.op).columns(node, xc, len(xc))[0] - x_min
    return np.stack([table[rows, w_index[:, j]].sum(axis=1) for j in range(w_index.shape[1])], axis=1)


@pytest.mark.parametrize("entries", ["int16", "int32"])
def test_lookup_convolution_equals_the_gather_on_rows(entries):
    """LutConv (products per kernel position and input code, no im2col) against a gather on im2col rows, every element:
    a strided same-padded convolution on signed inputs, a valid one, strides past the filter (1x1 stride 2, 2x2
    stride 3: rows and columns no window reads, which the kernel does not index), and a Dense layer; a table whose
    row for code 0 is not zero (moved into the offset), with entries that fit 16 bits or need 32."""
    from qkeras import QDense, quantized_bits
    from tensorflow import keras

    from approxhls.hls.convert import ConvertOptions, build_graph

    rng = np.random.default_rng(11)
    g = build_graph(_conv_pair(9, 20, "valid", rng), ConvertOptions(input_precision="ap_fixed<8,1>"))
    q = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1))
    inp = keras.layers.Input((37,), name="x_in")
    dense = build_graph(keras.Model(inp, QDense(21, name="d", **q)(inp)), ConvertOptions()).ir.node("d")
    strided = [build_graph(_conv_pair(9, 20, "valid", rng, c2_size=size, c2_stride=stride),
                           ConvertOptions()).ir.node("c2") for size, stride in ((1, 2), (2, 3))]
    big = 2**14 if entries == "int16" else 2**20  # entries less code 0's: twice that
    for node, x_min, nx in ((g.ir.node("c1"), -128, 256), (g.ir.node("c2"), 0, 256), (strided[0], 0, 256),
                            (strided[1], -2, 7), (dense, -3, 9)):
        k, out = node.weights["weight"].reshape(-1, node.weights["weight"].shape[-1]).shape
        table = rng.integers(-big, big, (nx, 256))
        w_index = rng.integers(0, 256, (k, out))
        conv = lutkernel.LutConv.create(node, table, w_index, x_min)
        assert conv is not None and conv.P.dtype == np.dtype(entries)
        assert conv.offset is not None  # code 0's row is random: its products are a constant per output
        shape = (6, k) if node is dense else (6, node.attrs["in_height"], node.attrs["in_width"], node.attrs["n_chan"])
        xc = rng.integers(x_min, x_min + nx, shape)
        xc[0] = 0  # every input at the skipped code
        assert np.array_equal(conv(xc, len(xc)), _rows_by_gather(node, xc, table, w_index, x_min))


def test_lookup_convolution_refuses_sums_past_int32():
    from approxhls.hls.convert import ConvertOptions, build_graph

    rng = np.random.default_rng(12)
    node = build_graph(_conv_pair(9, 20, "valid", rng), ConvertOptions()).ir.node("c2")
    k = node.weights["weight"].size // 5
    table = np.zeros((256, 256), dtype=np.int64)
    table[1] = -(-(2**31) // k)  # k of these reach 2^31
    assert lutkernel.LutConv.create(node, table, np.ones((k, 5), dtype=np.int64), 0) is None
    table[1] -= 1
    assert lutkernel.LutConv.create(node, table, np.ones((k, 5), dtype=np.int64), 0) is not None


@pytest.mark.parametrize("mult", ["etm_u8_m4", "mitchell_u8_w5"])
@pytest.mark.parametrize("signed_input", [False, True])
def test_table_layers_on_the_lookup_convolution_equal_reference(mult, signed_input):
    """Multipliers with no usable decomposition run on the lookup convolution (engine lut-conv), and the network's
    outputs equal the reference evaluator's on every element; with an observer (the GEMM-row kernel) too."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.reference import evaluate

    rng = np.random.default_rng(13)
    m = _conv_pair(9, 16, "same", rng)
    grid, x = _input_images(rng, signed_input)
    g = build_graph(m, ConvertOptions(input_precision=grid), plan={"default": mult})
    em = Emulator(g.ir, g.assignments)
    engines = {d["layer"]: d["engine"] for d in em.describe() if d["method"] == "lut"}
    assert engines == {"c1": "lut-conv", "c2": "lut-conv"}
    want = evaluate(g.ir, x, g.assignments)
    assert np.array_equal(em.predict(x), want)
    assert np.array_equal(em.predict(x, observe=lambda *a: None), want)


def test_exact_products_by_lookup_when_it_wins_the_race(monkeypatch):
    """8-bit exact products race the lookup convolution too (few channels: it can be the fastest); taken, it gives the
    reference's outputs on every element (the race is fixed so the lookup, the last contender, wins)."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.sim import emulator
    from approxhls.sim.engines import choice
    from approxhls.sim.reference import evaluate

    last_wins = lambda fns, repeat: [(fn(), -float(i)) for i, fn in enumerate(fns)]  # noqa: E731
    monkeypatch.setattr(choice, "timed_race", last_wins)
    rng = np.random.default_rng(14)
    g = build_graph(_conv_pair(9, 16, "same", rng), ConvertOptions(input_precision="ap_ufixed<8,0>"))
    em = emulator.Emulator(g.ir, g.assignments)
    assert {d["layer"]: (d["method"], d["engine"]) for d in em.describe()} == {"c1": ("lut", "lut-conv"),
                                                                               "c2": ("lut", "lut-conv")}
    _, x = _input_images(rng, False)
    assert np.array_equal(em.predict(x), evaluate(g.ir, x, g.assignments))
