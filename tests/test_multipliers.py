"""The multiplier library: registry, exhaustive numpy == C++ == Verilog, and known error properties."""

import re

import numpy as np
import pytest

from approxhls.multipliers.registry import builtin_designs, families, get_design
from approxhls.multipliers.sim import (
    first_difference,
    tabulate_cpp,
    tabulate_verilog,
    tabulate_verilog_many,
)

DESIGNS = list(builtin_designs())
REQUIRED_FAMILIES = {"exact", "tam", "bam", "ppp", "lsbt", "drum", "mitchell", "roba", "kulkarni", "etm"}


def test_library_size_and_families():
    assert len(DESIGNS) >= 40
    assert REQUIRED_FAMILIES <= set(families())
    assert any(d.signed for d in DESIGNS) and any(not d.signed for d in DESIGNS)
    for fam in REQUIRED_FAMILIES - {"exact"}:
        assert sum(d.family == fam for d in DESIGNS) >= 3, fam
    assert len({d.name for d in DESIGNS}) == len(DESIGNS)
    assert len({d.key for d in DESIGNS}) == len(DESIGNS)


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: d.name)
def test_cpp_is_synthesizable_style(design):
    src = design.cpp()
    assert not re.search(r"\b(float|double|malloc|new|while)\b", src), "HLS C++ must be integer-only, bounded"
    for bound in re.findall(r"for \(.*?;\s*\w+\s*<\s*([^;]+);", src):
        assert re.fullmatch(r"\d+u?", bound.strip()), f"loop bound {bound!r} is not a constant"


def test_numpy_equals_cpp_for_every_design_exhaustively():
    tables = tabulate_cpp(DESIGNS)
    problems = [first_difference(d.table(), tables[d.name], d) for d in DESIGNS]
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)


def test_numpy_equals_verilog_for_every_design_exhaustively():
    tables = tabulate_verilog_many(DESIGNS, jobs=2)
    problems = [first_difference(d.table(), tables[d.name], d) for d in DESIGNS]
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)


def test_the_proof_catches_a_wrong_circuit():
    from approxhls.multipliers.families.drum import DRUM

    good = DRUM(bits=8, signed=False, k=4)

    class Broken(DRUM):  # the unbiasing LSB forgotten in C++ and Verilog only
        def cpp(self):
            return super().cpp().replace("| 1u)", "| 0u)")

        def verilog(self):
            return super().verilog().replace("| 1;", "| 0;")

    bad = Broken(bits=8, signed=False, k=4)
    msg = first_difference(good.table(), tabulate_cpp([bad])[bad.name], good)
    assert msg and "first difference at a=" in msg
    assert first_difference(good.table(), tabulate_verilog(bad), good)


# ---- known values ----------------------------------------------------------------------------------

def _err(name):
    d = get_design(name)
    return d, d.table() - d.exact_table()


def test_exact_designs_have_zero_error():
    for name in ("exact_u8", "exact_s8", "exact_u4"):
        d, e = _err(name)
        assert not e.any(), name


def test_truncation_is_negatively_biased():
    for d in DESIGNS:
        if d.family in ("tam", "bam", "lsbt") and not d.signed:
            assert (d.table() - d.exact_table()).mean() < 0, d.name
            assert (d.table() <= d.exact_table()).all(), d.name  # dropping bits never adds


def test_drum_is_nearly_unbiased():
    mean_product = get_design("exact_u8").exact_table().mean()
    for k in (3, 4, 5, 6):
        d, e = _err(f"drum_u8_k{k}")
        assert abs(e.mean()) < 0.01 * mean_product
        # errors of both signs: the bias is well under half the mean error (a truncated array's bias
        # is its whole mean error)
        assert abs(e.mean()) < 0.5 * np.abs(e).mean()
        assert (e > 0).any() and (e < 0).any()
    _, t = _err("tam_u8_k6")
    assert abs(t.mean()) == np.abs(t).mean()


def test_family_definitions_on_chosen_values():
    assert get_design("kulkarni_u8_s16").model(3, 3) == 7
    assert get_design("kulkarni_u8_s16").model(0b1111, 0b1111) == 7 * 16 + 2 * 7 * 4 + 7  # 2x2 blocks of 3
    a, b = np.arange(256)[:, None], np.arange(256)[None, :]
    assert np.array_equal(get_design("lsbt_u8_ka2_kb2").model(a, b), ((a >> 2) << 2) * ((b >> 2) << 2))
    assert np.array_equal(get_design("ppp_u8_j1_m2").model(a, b), a * (b & ~0b110))
    _, e = _err("mitchell_u8_w7")
    assert (e <= 0).all()  # Mitchell never overestimates
    assert get_design("mitchell_u8_w7").model(64, 32) == 2048  # powers of two are exact
    assert get_design("drum_u8_k4").model(15, 7) == 105  # operands below 2^k: exact
    assert get_design("drum_u8_k4").model(200, 1) == 0b11010000  # 200 = 1100_1000 -> (1100 | 1) << 4 = 208
    assert get_design("roba_u8_modeboth").model(64, 100) == 6400  # a power of two: exact
    assert abs(_err("roba_u8_modeboth")[1].mean()) < 1.0
    etm = get_design("etm_u8_m3")
    assert etm.model(7, 5) == 35  # both high parts zero: exact
    assert etm.model(8, 9) == ((1 * 1) << 6) + 0b11  # high parts 1x1; low parts 0|1: ones from bit 1 down
    s = get_design("tam_s8_k5")
    assert s.model(-128, -128) == 16384 and s.model(-1, 1) < 0


def test_the_multiplier_package_has_no_import_cycle():
    """Built-ins and user designs below the registry, the catalog above it, adding and reporting on top; the home
    directory is a module of its own that nothing here sits under."""
    from importgraph import find_cycle, graph_of, module_files

    graph = graph_of(module_files("multipliers", "home.py"))
    assert graph["approxhls.home"] == []
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)
    assert "approxhls.multipliers.user" not in graph["approxhls.multipliers.catalog"]
    assert "approxhls.multipliers.registry" in graph["approxhls.multipliers.catalog"]
