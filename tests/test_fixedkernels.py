"""The compiled one-pass kernels (approxhls.fixedkernels) against the numpy definitions, element by element, on
every rounding and overflow mode: ties, negative codes, overflow on both sides, left and right shifts."""

import itertools
import zlib

import numpy as np
import pytest

from approxhls import fixedkernels
from approxhls.fixedpoint import OVERFLOW_MODES, ROUNDING_MODES, FixedType
from approxhls.sim.ops.base import align, cast, wide

pytestmark = pytest.mark.skipif(fixedkernels.kernels() is None, reason="numba is part of the laptop install")


def codes(seed: int, n: int = 20000, span: int = 1 << 20) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.integers(-span, span, size=n)
    c[: 64] = np.arange(-32, 32) * 512 + 256  # exact ties for shift 9 (half = 256), both signs
    c[64:80] = [0, 1, -1, span - 1, -span] + list(range(-5, 6))
    return c


@pytest.mark.parametrize("rounding,overflow", list(itertools.product(ROUNDING_MODES, OVERFLOW_MODES)))
@pytest.mark.parametrize("signed", [True, False])
def test_requantize_equals_numpy(rounding, overflow, signed):
    c = codes(zlib.crc32(f"{rounding}{overflow}{signed}".encode()))
    for width, integer, src_frac in ((8, 3, 14), (8, 3, 9), (6, 6, 0), (16, 2, 20), (12, 4, 5), (4, 1, 1)):
        t = FixedType(width, integer, signed, rounding, overflow)
        want = t.requantize_numpy(c, src_frac)
        got = fixedkernels.requantize(c, src_frac, t)
        if overflow == "SAT_SYM":
            assert got is None  # left to numpy on purpose
            continue
        assert got is not None and got.dtype == np.int64
        np.testing.assert_array_equal(got, want, err_msg=f"{t} from frac {src_frac}")
        relu = fixedkernels.requantize(c, src_frac, t, relu=True)
        np.testing.assert_array_equal(relu, np.where(c > 0, want, 0))


FINISH_TYPES = ["ap_fixed<8,3,AP_RND_CONV,AP_SAT>", "ap_ufixed<8,2,AP_RND,AP_SAT>", "ap_fixed<10,4>", "ap_fixed<22,10>",
                "ap_fixed<9,2,AP_TRN_ZERO,AP_SAT_ZERO>"]


def _finish_params():
    # every result type on int64 sums, two on float sums in the default run (each pair builds its own kernel); the
    # other float pairs in the slow run
    return [pytest.param(res, dtype, marks=[pytest.mark.slow] if dtype is not np.int64 and i >= 2 else [],
                         id=f"{np.dtype(dtype).name}-{res}")
            for dtype in (np.int64, np.float32, np.float64) for i, res in enumerate(FINISH_TYPES)]


@pytest.mark.parametrize("res,dtype", _finish_params())
def test_finish_equals_numpy(res, dtype):
    rng = np.random.default_rng(1)
    sums = rng.integers(-(1 << 22), 1 << 22, size=(300, 37))
    bias = rng.integers(-(1 << 12), 1 << 12, size=37)
    acc_t, res_t = FixedType.parse("ap_fixed<22,8>"), FixedType.parse(res)  # 22 bits: the sums wrap
    want = cast(acc_t.codes_from_int((sums << 1) + bias[None, :]), acc_t, res_t)
    got = fixedkernels.finish(sums.astype(dtype), 1, bias, acc_t, res_t)
    np.testing.assert_array_equal(got, want)
    narrow = fixedkernels.finish(sums.astype(dtype), 1, bias, acc_t, res_t, narrow=True)
    assert got.dtype == np.int64 and narrow.dtype == res_t.code_dtype and np.array_equal(narrow, want)
    for relu in ("ap_ufixed<6,2,AP_RND,AP_SAT>", "ap_ufixed<8,1,AP_TRN,AP_WRAP>", "ap_fixed<12,6,AP_RND_CONV,AP_SAT>"):
        relu_t = FixedType.parse(relu)  # the fused ReLU: requantize to its type, 0 where the result code <= 0
        want_relu = np.where(want > 0, cast(want, res_t, relu_t), 0)
        for narrow in (False, True):
            fused = fixedkernels.finish(sums.astype(dtype), 1, bias, acc_t, res_t, relu_t, narrow)
            assert fused.dtype == (relu_t.code_dtype if narrow else np.int64)
            np.testing.assert_array_equal(fused, want_relu, err_msg=relu)


@pytest.mark.parametrize("dst", ["ap_fixed<8,3,AP_RND,AP_SAT>", "ap_fixed<9,4>", "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"])
def test_add_equals_numpy(dst):
    rng = np.random.default_rng(2)
    a_t, b_t, d = FixedType.parse("ap_fixed<8,3>"), FixedType.parse("ap_fixed<10,3>"), FixedType.parse(dst)
    a, b = rng.integers(-128, 128, size=(64, 100)), rng.integers(-512, 512, size=(64, 100))
    frac = max(a_t.frac, b_t.frac)
    want = cast(align(a, a_t, frac) + align(b, b_t, frac), wide(frac), d)
    np.testing.assert_array_equal(fixedkernels.add(a, a_t.frac, b, b_t.frac, d), want)
    relu_t = FixedType.parse("ap_ufixed<7,2,AP_RND,AP_SAT>")
    np.testing.assert_array_equal(fixedkernels.add(a, a_t.frac, b, b_t.frac, d, relu_t),
                                  np.where(want > 0, cast(want, d, relu_t), 0))
    assert fixedkernels.add(a, a_t.frac, b, b_t.frac, d, FixedType.parse("ap_ufixed<7,2,AP_RND,AP_SAT_SYM>")) is None
    # codes in their narrowest dtypes (as the emulator passes them), out in the result's narrowest: the same values
    narrow = fixedkernels.add(a.astype(np.int8), a_t.frac, b.astype(np.int16), b_t.frac, d, relu_t, narrow=True)
    assert narrow.dtype == np.uint8
    np.testing.assert_array_equal(narrow, np.where(want > 0, cast(want, d, relu_t), 0))


def test_small_or_unsupported_inputs_use_numpy():
    t = FixedType(8, 3)
    assert fixedkernels.requantize(np.arange(10), 6, t) is None  # too small to pay for a call
    assert fixedkernels.requantize(np.arange(10000, dtype=np.int32), 6, t) is None
    assert fixedkernels.requantize(np.arange(10000), 6, FixedType(64, 10)) is None  # 1 << 64 does not fit


def test_feature_gather_equals_numpy_indexing():
    rng = np.random.default_rng(4)
    table = rng.integers(-300, 300, size=(256, 5)).astype(np.float32)
    x = rng.integers(-128, 128, size=(7, 11, 13, 3))
    got = fixedkernels.image_features(x, -128, table, (0, 0, 0, 0), 0)
    np.testing.assert_array_equal(got, table[x + 128].reshape(7, 11, 13, 15))


@pytest.mark.parametrize("pads", [(1, 1, 1, 1), (0, 2, 1, 0), (0, 0, 0, 0)])
def test_image_features_equal_the_padded_gather(pads):
    """Features written straight into the padded image: the numpy gather, then padding with a fill per channel."""
    from approxhls.sim.ops.base import pad_image

    rng = np.random.default_rng(5)
    table = rng.integers(0, 256, size=(256, 3)).astype(np.uint8)
    x = rng.integers(-128, 128, size=(4, 20, 17, 6))
    fill = rng.integers(0, 256, size=18).astype(np.uint8)
    attrs = dict(zip(("pad_top", "pad_bottom", "pad_left", "pad_right"), pads))
    want = pad_image(table[x + 128].reshape(4, 20, 17, 18), attrs, fill)
    got = fixedkernels.image_features(x, -128, table, pads, fill)
    assert got.dtype == np.uint8 and np.array_equal(got, want)
    for narrow in (np.int8, np.int16):  # the codes of a layer before, in a narrow dtype
        assert np.array_equal(fixedkernels.image_features(x.astype(narrow), -128, table, pads, fill), want)
    u = x + 128  # unsigned codes (after a ReLU) as uint8, with a table whose first code is 0
    assert np.array_equal(fixedkernels.image_features(u.astype(np.uint8), 0, table, pads, fill), want)


@pytest.mark.parametrize("c, m, pads", [(8, 1, (1, 1, 1, 1)), (4, 2, (0, 2, 1, 0)), (16, 3, (1, 1, 1, 1)),
                                        (3, 4, (2, 0, 0, 3)), (8, 5, (1, 1, 1, 1)), (16, 6, (1, 1, 1, 1)),
                                        (2, 6, (0, 1, 0, 1)), (8, 7, (0, 0, 0, 0)), (1, 8, (1, 1, 1, 1)),
                                        (4, 11, (1, 0, 1, 0)), (32, 6, (0, 0, 0, 0))])
def test_chunked_features_are_the_padded_gather_in_chunk_order(c, m, pads):
    """uint8 features written by chunks of a code's bytes (4, then 2, then 1: one lookup each) equal the numpy
    gather with its channels in chunked_order, every element, for codes of every width the emulator passes; the
    padding around the image (its fill given in the same order) included."""
    from approxhls.sim.ops.base import pad_image

    order = fixedkernels.chunked_order(c, m)
    assert sorted(order) == list(range(c * m))  # a permutation of the channel-by-channel layout
    rng = np.random.default_rng(c * 10 + m)
    table = rng.integers(0, 256, size=(256, m)).astype(np.uint8)
    x = rng.integers(-128, 128, size=(4, 33, 35, c))  # MIN_SIZE codes and more: the compiled path
    fill = rng.integers(0, 256, size=c * m).astype(np.uint8)
    attrs = dict(zip(("pad_top", "pad_bottom", "pad_left", "pad_right"), pads))
    want = pad_image(table[x + 128].reshape(4, 33, 35, c * m), attrs, fill)[..., order]
    key = ("chunked_features", c, m // 4, m % 4 // 2, m % 2)
    fixedkernels._special.pop(key, None)
    for dtype in (np.int8, np.int16, np.int64):
        got = fixedkernels.image_features(x.astype(dtype), -128, table, pads, fill[order], chunked=True)
        assert got.dtype == np.uint8 and np.array_equal(got, want), dtype
    assert key in fixedkernels._special  # the chunk kernel wrote them
    u = x + 128  # unsigned codes after a ReLU (uint8), the table's first code 0
    assert np.array_equal(fixedkernels.image_features(u.astype(np.uint8), 0, table, pads, fill[order], True), want)
    small = x[:1, :3, :3]  # below MIN_SIZE: numpy writes the same layout
    want_small = pad_image(table[small + 128].reshape(1, 3, 3, c * m), attrs, fill)[..., order]
    assert np.array_equal(fixedkernels.image_features(small, -128, table, pads, fill[order], True), want_small)


def test_chunked_layout_only_where_every_chunk_is_aligned():
    """A 4-byte chunk needs pixels of a multiple of 4 bytes (c * m), a 2-byte one of 2: otherwise no layout, and
    asking for one says so instead of writing misaligned words."""
    assert fixedkernels.chunked_order(3, 6) is None and fixedkernels.chunked_order(1, 3) is None
    assert fixedkernels.chunked_order(1, 1) is not None and fixedkernels.chunked_order(2, 3) is not None
    assert list(fixedkernels.chunked_order(2, 3)) == [0, 1, 3, 4, 2, 5]  # (ch0 r0 r1, ch1 r0 r1), then (ch0 r2, ch1 r2)
    with pytest.raises(ValueError, match="no chunked layout for 3 channels of 6"):
        fixedkernels.image_features(np.zeros((1, 2, 2, 3), np.uint8), 0, np.zeros((256, 6), np.uint8), (0, 0, 0, 0),
                                    np.zeros(18, np.uint8), chunked=True)


@pytest.mark.parametrize("signed", [False, True])
def test_shifted_image_equals_the_lookup_of_shifted_codes(signed):
    """An exact product's int8 features are the codes less their minimum: the subtraction equals the lookup of that
    table, for codes of every dtype the emulator passes (the arithmetic wraps in int8, the uint8 result does not)."""
    rng = np.random.default_rng(6)
    x_min = -128 if signed else 0
    x = rng.integers(x_min, x_min + 256, size=(3, 9, 7, 5))
    table = np.arange(256)[:, None].astype(np.uint8)
    fill = np.full(5, -x_min, dtype=np.uint8)
    want = fixedkernels.image_features(x, x_min, table, (1, 2, 0, 1), fill)
    for dtype in (np.int8 if signed else np.uint8, np.int16, np.int64):
        got = fixedkernels.shifted_image(x.astype(dtype), x_min, (1, 2, 0, 1), fill, np.uint8)
        assert got.dtype == np.uint8 and np.array_equal(got, want), dtype
