"""Bringing your own multiplier: C models and tables, and every way they can be wrong."""

import numpy as np
import pytest

from approxhls.errors import ApproxHLSError
from approxhls.multipliers.registry import all_designs
from approxhls.multipliers.sim import first_difference, tabulate_cpp
from approxhls.multipliers.user import add_multiplier, user_dir

EVO_STYLE = """#include <stdint.h>
#include <stdlib.h>
/* an EvoApprox-style C model: drops the two lowest partial-product columns */
uint16_t mul8u_demo(uint8_t A, uint8_t B)
{
  uint16_t P = 0;
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 8; j++)
      if (i + j >= 2 && ((A >> i) & 1) && ((B >> j) & 1)) P += (uint16_t)(1u << (i + j));
  return P;
}
"""

SIGNED = """#include <stdint.h>
uint16_t mul8s_trunc(uint8_t a, uint8_t b)
{
  int16_t p = (int16_t)((int8_t)a * (int8_t)b);
  return (uint16_t)(p & ~3);   /* two LSBs of the two's complement product cleared */
}
"""


def test_add_c_model_tabulates_and_matches_builtin(tmp_path):
    src = tmp_path / "mul8u_demo.c"
    src.write_text(EVO_STYLE)
    d = add_multiplier(src, "mul8u_demo")
    a = np.arange(256)[:, None]
    b = np.arange(256)[None, :]
    kept = sum(((a >> i) & 1) * ((b >> j) & 1) << (i + j) for i in range(8) for j in range(8) if i + j >= 2)
    assert np.array_equal(d.table(), kept)
    assert "mul8u_demo" in [x.name for x in all_designs()]
    # its C source goes into HLS projects unchanged, and the wrapper compiles as C++ and agrees
    assert EVO_STYLE.strip() in d.cpp()
    assert first_difference(d.table(), tabulate_cpp([d])[d.name], d) is None


def test_add_signed_c_model(tmp_path):
    src = tmp_path / "s.c"
    src.write_text(SIGNED)
    d = add_multiplier(src, "strunc", signed=True, function="mul8s_trunc")
    codes = d.codes()
    exact = codes[:, None] * codes[None, :]
    assert np.array_equal(d.table(), exact & ~3)
    assert d.model(-3, 5) == (-15 & ~3)
    assert first_difference(d.table(), tabulate_cpp([d])[d.name], d) is None


def test_add_tables(tmp_path):
    t = (np.arange(256)[:, None] * np.arange(256)[None, :]) >> 3 << 3
    np.save(tmp_path / "t.npy", t)
    np.savetxt(tmp_path / "t.csv", t, delimiter=",", fmt="%d")
    d1 = add_multiplier(tmp_path / "t.npy", "tab_npy")
    d2 = add_multiplier(tmp_path / "t.csv", "tab_csv")
    assert np.array_equal(d1.table(), t) and np.array_equal(d2.table(), t)
    assert first_difference(d1.table(), tabulate_cpp([d1])[d1.name], d1) is None  # ROM form of the table


@pytest.mark.parametrize(
    "content,needle",
    [
        (np.zeros((255, 256)), "must be 256x256"),
        (np.full((256, 256), 70000), "outside the unsigned 16-bit range"),
        (np.full((256, 256), -1), "entry [0,0] = -1"),
        (np.full((256, 256), 0.5), "not an integer"),
    ],
)
def test_bad_tables_are_refused_and_nothing_is_added(tmp_path, content, needle):
    np.save(tmp_path / "bad.npy", content)
    before = {d.name for d in all_designs()}
    with pytest.raises(ApproxHLSError) as e:
        add_multiplier(tmp_path / "bad.npy", "bad_table")
    assert needle in str(e.value)
    assert {d.name for d in all_designs()} == before
    assert not (user_dir() / "bad_table").exists()


def test_bad_c_files_are_refused(tmp_path):
    broken = tmp_path / "broken.c"
    broken.write_text("#include <stdint.h>\nuint16_t f(uint8_t a, uint8_t b) { return a * ; }\n")
    with pytest.raises(ApproxHLSError, match="does not compile"):
        add_multiplier(broken, "f")
    other = tmp_path / "other.c"
    other.write_text("#include <stdint.h>\nint g(int a) { return a; }\n")
    with pytest.raises(ApproxHLSError, match="defines no function of two integer operands"):
        add_multiplier(other, "mymul")
    assert not user_dir().exists() or not any(p.name in ("f", "mymul") for p in user_dir().iterdir())


def test_names_are_checked(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((256, 256), dtype=np.int64))
    with pytest.raises(ApproxHLSError):
        add_multiplier(tmp_path / "t.npy", "bad name")
    with pytest.raises(ApproxHLSError, match="built-in"):
        add_multiplier(tmp_path / "t.npy", "exact_u8")
