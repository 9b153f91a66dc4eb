import numpy as np
import pytest

from approxhls.fixedpoint import FixedType


def test_parse_and_print_roundtrip():
    t = FixedType.parse("ap_fixed<8,1,AP_RND_CONV,AP_SAT>")
    assert (t.width, t.integer, t.signed, t.rounding, t.overflow) == (8, 1, True, "RND_CONV", "SAT")
    assert FixedType.parse(str(t)) == t
    u = FixedType.parse("ufixed<8,0>")
    assert (u.signed, u.frac, u.max) == (False, 8, 255 / 256)
    i = FixedType.parse("ap_int<4>")
    assert (i.integer, i.code_min, i.code_max) == (4, -8, 7)


@pytest.mark.parametrize("bad", ["fixed", "ap_fixed<8>", "float", "ap_fixed<8,1,AP_FOO>"])
def test_parse_rejects_garbage(bad):
    with pytest.raises(ValueError):
        FixedType.parse(bad)


def test_rounding_modes_on_ties():
    # Codes at .5 positions: 2.5 -> RND_CONV 2 (even), RND 3, TRN 2; -2.5 -> RND_CONV -2, RND -2, TRN -3
    vals = np.array([2.5, -2.5, 3.5, 1.25]) / 4  # F = 2 for ap_fixed<8,6>
    expect = {
        "RND_CONV": [2, -2, 4, 1],
        "RND": [3, -2, 4, 1],
        "TRN": [2, -3, 3, 1],
        "TRN_ZERO": [2, -2, 3, 1],
        "RND_ZERO": [2, -2, 3, 1],
        "RND_INF": [3, -3, 4, 1],
        "RND_MIN_INF": [2, -3, 3, 1],
    }
    for mode, codes in expect.items():
        t = FixedType(8, 6, True, mode, "SAT")
        assert t.to_codes(vals).tolist() == codes, mode


def test_overflow_modes():
    t = FixedType(4, 4, True, "TRN", "WRAP")
    assert t.to_codes([8, -9, 7]).tolist() == [-8, 7, 7]
    assert FixedType(4, 4, True, "TRN", "SAT").to_codes([8, -9]).tolist() == [7, -8]
    assert FixedType(4, 4, True, "TRN", "SAT_SYM").to_codes([8, -9]).tolist() == [7, -7]
    assert FixedType(4, 4, False, "TRN", "SAT").to_codes([-1, 16]).tolist() == [0, 15]


def test_contains_and_nan():
    t = FixedType.parse("ap_ufixed<8,0>")
    assert t.contains([0.0, 0.5, 255 / 256])
    assert not t.contains([1.0])
    assert not t.contains([1 / 512])
    with pytest.raises(ValueError):
        t.to_codes([np.nan])


@pytest.mark.parametrize("mode", ["TRN", "TRN_ZERO", "RND", "RND_CONV", "RND_ZERO", "RND_INF", "RND_MIN_INF"])
@pytest.mark.parametrize("overflow", ["WRAP", "SAT"])
def test_integer_requantize_equals_float_path(mode, overflow):
    rng = np.random.default_rng(1)
    codes = np.concatenate([rng.integers(-5000, 5000, 4000), np.arange(-64, 65)])
    for src_frac in (3, 6, 9):
        t = FixedType(8, 4, True, mode, overflow)
        via_float = t.to_codes(np.ldexp(codes.astype(np.float64), -src_frac))
        assert np.array_equal(t.requantize(codes, src_frac), via_float), (mode, overflow, src_frac)


def test_code_dtype_is_the_narrowest_that_holds_every_code():
    cases = {"ap_ufixed<8,2>": np.uint8, "ap_fixed<8,3>": np.int8, "ap_ufixed<9,2>": np.uint16,
             "ap_fixed<10,4>": np.int16, "ap_fixed<16,6>": np.int16, "ap_ufixed<16,6>": np.uint16, "ap_fixed<25,12>": np.int32,
             "ap_ufixed<32,2>": np.int64, "ap_fixed<40,8>": np.int64}
    for text, dtype in cases.items():
        t = FixedType.parse(text)
        assert t.code_dtype == dtype, text
        info = np.iinfo(t.code_dtype)
        assert info.min <= t.code_min and t.code_max <= info.max
