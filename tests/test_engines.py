"""The emulator's engines: the registry, which engines are candidates for a layer (only exact ones), and the pure
choice among them by probe timings. Layers are built by hand (no hls4ml, no TensorFlow): a Dense layer, which no
direct convolution applies to, so the candidates do not depend on what else this process has imported."""

import numpy as np
import pytest

from approxhls.fixedpoint import FixedType
from approxhls.multipliers.registry import get_design
from approxhls.sim import engines
from approxhls.sim.assignment import EXACT, Assignment
from approxhls.sim.engines import CODES, ENGINES, Engine, Options, Sums, Timing, candidates, choose, preferred
from approxhls.sim.ir import Node

X = FixedType.parse("ap_ufixed<8,0>")
W = FixedType.parse("ap_fixed<8,1>")


def _dense(accum="ap_fixed<40,25>", k=24, out=5, seed=0):
    """A Dense layer on X inputs with random 8-bit weight codes; products have 15 fractional bits, which
    ``accum`` (default) holds exactly and wraps."""
    rng = np.random.default_rng(seed)
    types = {"weight": str(W), "bias": str(W), "accum": accum, "result": "ap_fixed<16,6>"}
    return Node("d", "dense", ["x"], ["d"], [out], types, {"n_in": k, "n_out": out},
                {"weight": rng.integers(-128, 128, (k, out)), "bias": rng.integers(-128, 128, out)})


def _assignment(name):
    design = None if name == EXACT else get_design(name)
    return Assignment("d", name, "plan", X, W, design)


def _names(found):
    return [e.name for e in found]


class _Fake(Engine):
    method, dtype, label = "gemm", "float32", "numpy"

    def __init__(self, name):
        self.name = name


def _probe(**timings):
    """{name: Timing} from name=(seconds, sums)."""
    return {name: Timing(t, np.asarray(s)) for name, (t, s) in timings.items()}


def test_the_registry_lists_the_builtin_engines_in_candidate_order():
    """The engines exact by their bound (reference, gemm) come first: a race checks the others' sums against the
    first candidate."""
    assert list(ENGINES) == ["reference", "gemm", "conv2d", "conv2d-int8", "lut-conv", "lut"]
    with pytest.raises(ValueError, match="gemm"):
        engines.register("gemm", lambda layer: None)
    assert list(ENGINES)[1] == "gemm" and len(ENGINES) == 6  # the refused registration changed nothing


def test_a_registered_engine_is_a_candidate_exactly_where_its_builder_applies(monkeypatch):
    def build(layer):  # applies to exact products only
        return _Fake("fake") if layer.assignment.exact else None

    monkeypatch.setitem(ENGINES, "fake", build)
    node = _dense()
    assert _names(candidates(node, _assignment(EXACT), X)) == ["gemm", "lut-conv", "fake"]
    assert "fake" not in _names(candidates(node, _assignment("drum_u8_k4"), X))
    monkeypatch.setitem(ENGINES, "fake", lambda layer: _Fake("other"))
    with pytest.raises(ValueError, match="'fake' built one named 'other'"):
        candidates(node, _assignment(EXACT), X)


@pytest.mark.parametrize("name,expected", [
    (EXACT, ["gemm", "lut-conv"]),  # 8-bit exact products: the lookup may win (few channels)
    ("drum_u8_k4", ["gemm"]),  # separable: one GEMM over looked-up operands, the lookup cannot win
    ("tam_u8_k7", ["gemm", "lut-conv"]),  # high rank: the lookup is timed against it
    ("mitchell_u8_w5", ["lut-conv"]),  # no exact decomposition: no GEMM engine
])
def test_candidates_compute_every_sum_exactly(name, expected):
    """Each candidate's sums on random codes (rows and codes are the same for a Dense layer) equal the sums of the
    table's products read one by one, every element; an engine not exact for the layer is not listed."""
    node, a = _dense(), _assignment(name)
    found = candidates(node, a, X)
    assert _names(found) == expected
    rng = np.random.default_rng(1)
    x = rng.integers(X.code_min, X.code_max + 1, (33, 24))
    x[0] = X.code_max  # full scale: the largest sums
    x[1] = 0  # the code the lookup convolution skips
    w = node.weights["weight"]
    table = a.table()
    want = table[x[:, :, None] - X.code_min, w[None] - W.code_min].sum(axis=1)
    for engine in found:
        for codes in (x, x.astype(np.uint8)):  # codes come narrow after a fused ReLU
            assert np.array_equal(engine.sums(codes).total(), want), (engine.name, codes.dtype)
        assert np.array_equal(engine.rows.sums(x).total(), want), engine.name  # what an observer runs


@pytest.mark.parametrize("name", [EXACT, "drum_u8_k4", "mitchell_u8_w5"])
@pytest.mark.parametrize("accum", ["ap_fixed<40,25,AP_TRN,AP_SAT>", "ap_fixed<40,30>"])
def test_only_the_reference_is_exact_where_the_accumulator_saturates_or_rounds(name, accum):
    """A saturating accumulator (its sums depend on the order) or one with fewer fractional bits than the products
    (each product rounded): no engine that sums first is a candidate."""
    found = candidates(_dense(accum), _assignment(name), X)
    assert _names(found) == ["reference"] and found[0].ordered


def test_exact_products_past_float32s_bound_run_in_float64():
    """1024 products of 255 x 128 pass 2^24: float32 could round the sums, so the GEMM engine runs in float64."""
    node = _dense(k=1024)
    node.weights["weight"][:] = -128
    (gemm, *_) = candidates(node, _assignment(EXACT), X)
    assert gemm.dtype == "float64"
    x = np.full((2, 1024), X.code_max)
    assert np.array_equal(gemm.sums(x).total(), np.full((2, 5), -1024 * 255 * 128))
    assert candidates(_dense(k=16), _assignment(EXACT), X)[0].dtype == "float32"


def test_options_leave_out_the_lookup_rival():
    """Without the lookup rival (an engine asked for), a GEMM layer has one candidate; a table layer keeps its
    lookup (its only exact engine)."""
    plain = Options(direct=(), lookup_rival=False, race=False)
    assert _names(candidates(_dense(), _assignment("tam_u8_k7"), X, plain)) == ["gemm"]
    assert _names(candidates(_dense(), _assignment("mitchell_u8_w5"), X, plain)) == ["lut-conv"]


def test_choose_takes_the_fastest_exact_engine():
    """Pure: the fastest engine whose probe sums equal the first candidate's; one that differs is never taken, however
    fast; the timings and the engines are left as they were, and the same timings give the same choice."""
    node = _dense()
    gemm, conv, int8, lut = (_Fake(n) for n in ("gemm", "conv2d", "conv2d-int8", "lut-conv"))
    sums = [[1, 2], [3, 4]]
    probe = _probe(gemm=(3.0, sums), conv2d=(2.0, sums), **{"conv2d-int8": (1.0, [[1, 2], [3, 5]])},
                   **{"lut-conv": (2.5, sums)})
    before = {k: (t.seconds, t.sums.copy()) for k, t in probe.items()}
    assert choose(node, [gemm, conv, int8, lut], probe) is conv
    assert choose(node, [gemm, conv, int8, lut], probe) is conv
    assert {k: (t.seconds, t.sums.tolist()) for k, t in probe.items()} == {k: (s, a.tolist()) for k, (s, a) in
                                                                          before.items()}
    assert all(vars(e) == {"name": e.name} for e in (gemm, conv, int8, lut))
    assert choose(node, [gemm, lut], probe) is lut
    assert choose(node, [gemm, int8], probe) is gemm  # the only exact one
    tie = _probe(gemm=(1.0, sums), conv2d=(1.0, sums))
    assert choose(node, [gemm, conv], tie) is gemm  # ties go to the earlier candidate
    assert choose(node, [lut], {}) is lut  # one candidate: nothing to time
    with pytest.raises(ValueError, match="layer d"):
        choose(node, [], probe)


def test_choose_reads_sums_with_their_offsets():
    """Sums compare with their per-output offsets added (the int8 convolution leaves its shift's constant out)."""
    assert np.array_equal(Sums(np.array([[1.0, 2.0]], np.float32), np.array([10, 20])).total(), [[11, 22]])
    node = _dense()
    gemm, int8 = _Fake("gemm"), _Fake("conv2d-int8")
    probe = {"gemm": Timing(2.0, Sums(np.array([[11, 22]])).total()),
             "conv2d-int8": Timing(1.0, Sums(np.array([[1, 2]], np.int32), np.array([10, 20])).total())}
    assert choose(node, [gemm, int8], probe) is int8


def test_preferred_takes_the_engine_asked_for_where_it_applies():
    gemm, conv = _Fake("gemm"), _Fake("conv2d")
    assert preferred([gemm, conv], ("conv2d",)) is conv
    assert preferred([gemm], ("conv2d",)) is gemm
    assert preferred([gemm, conv], ()) is gemm


def test_measure_times_each_engine_on_its_own_run(monkeypatch):
    """measure runs each engine through the race and keeps its fastest time and its total sums."""
    from approxhls.sim.engines import choice

    monkeypatch.setattr(choice, "timed_race", lambda fns, repeat: [(fn(), 0.5 + i) for i, fn in enumerate(fns)])
    ran = []

    def run(engine):
        ran.append(engine.name)
        return Sums(np.array([[len(engine.name)]]), np.array([1]))

    out = engines.measure([_Fake("gemm"), _Fake("lut-conv")], run)
    assert ran == ["gemm", "lut-conv"]
    assert {k: (t.seconds, t.sums.tolist()) for k, t in out.items()} == {"gemm": (0.5, [[5]]),
                                                                        "lut-conv": (1.5, [[9]])}


def test_a_lookup_convolution_reads_codes_and_observers_get_its_rows_twin():
    (lut,) = candidates(_dense(), _assignment("mitchell_u8_w5"), X)
    assert lut.reads == CODES and lut.rows.reads == "rows" and lut.rows.name == "lut"
    assert (lut.method, lut.dtype, lut.label) == ("lut", "int64", "lut-conv")
