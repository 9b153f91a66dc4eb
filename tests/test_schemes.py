import pytest

from approxhls.errors import ApproxHLSError
from approxhls.models.schemes import FAMILIES, parse_scheme


def test_parse_scheme_names():
    s = parse_scheme("po2-w4a4")
    assert (s.family.name, s.weight_bits, s.act_bits, s.name) == ("po2", 4, 4, "po2-w4a4")
    assert parse_scheme("FIXED-W8A8").name == "fixed-w8a8"


@pytest.mark.parametrize("bad, reason", [
    ("fixed", "write FAMILY-wWaA"), ("fixed-w8", "write FAMILY-wWaA"), ("po2-a8w8", "write FAMILY-wWaA"),
    ("foo-w8a8", "unknown scheme family 'foo'"),
    ("fixed-w1a8", "weight bits must be between 2 and 16"), ("fixed-w8a32", "activation bits must be between 2 and 16"),
])
def test_bad_schemes_are_refused_with_reason(bad, reason):
    with pytest.raises(ApproxHLSError) as e:
        parse_scheme(bad)
    assert reason in str(e.value) and (repr(bad) in str(e.value) or bad.startswith("foo"))


@pytest.mark.parametrize("family,alpha", [("fixed", 1), ("po2", "auto_po2"), ("scaled", "auto")])
def test_quantizers_follow_family(family, alpha):
    s = parse_scheme(f"{family}-w6a5")
    wq, aq = s.weight_quantizer(), s.activation_quantizer()
    assert wq.bits == 6 and wq.alpha == alpha
    assert aq.bits == 5 and type(aq).__name__ == "quantized_relu"
    assert s.bias_quantizer().alpha == 1


def test_registry_has_required_families():
    assert {"fixed", "po2", "scaled"} <= set(FAMILIES)
    assert FAMILIES["fixed"].bit_exact and FAMILIES["po2"].bit_exact and not FAMILIES["scaled"].bit_exact
