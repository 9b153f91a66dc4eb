"""Bringing your own multiplier: C models and tables, and every way they can be wrong."""

import numpy as np
import pytest

from approxhls.errors import ApproxHLSError
from approxhls.multipliers.registry import all_designs
from approxhls.multipliers.sim import first_difference, tabulate_cpp
from approxhls.multipliers.library import add_multiplier
from approxhls.multipliers.user import user_dir

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


EXACT = np.arange(256)[:, None] * np.arange(256)[None, :]


def _with(entry, value, base=EXACT):
    t = base.astype(np.float64 if isinstance(value, float) else base.dtype)
    t[entry] = value
    return t


@pytest.mark.parametrize(
    "content,needle",
    [
        (np.zeros((255, 256)), "must be 256x256, got shape (255, 256)"),
        (np.zeros((256, 256, 1)), "must be 256x256, got shape (256, 256, 1)"),
        (np.full((256, 256), 70000), "entry [0,0] = 70000 (row a=0, column b=0) is outside the unsigned 16-bit range"),
        (np.full((256, 256), -1), "entry [0,0] = -1"),
        (np.full((256, 256), 0.5), "entry [0,0] = 0.5 (row a=0, column b=0) is not a finite integer (65535 more"),
        (_with((3, 7), float("nan")), "entry [3,7] = nan (row a=3, column b=7) is not a finite integer"),
        (_with((200, 100), float("inf")), "entry [200,100] = inf (row a=200, column b=100) is not a finite integer"),
        (_with((5, 9), float("-inf")), "entry [5,9] = -inf"),
        (_with((255, 254), 65536), "entry [255,254] = 65536 (row a=255, column b=254) is outside"),
        (_with((12, 34), 21.5), "entry [12,34] = 21.5"),
        (EXACT.astype(np.complex128), "must be integers, got dtype complex128"),
        (EXACT > 5, "must be integers, got dtype bool"),
    ],
)
def test_bad_tables_are_refused_and_nothing_is_added(tmp_path, content, needle):
    np.save(tmp_path / "bad.npy", content)
    before = {d.name for d in all_designs()}
    with pytest.raises(ApproxHLSError) as e:
        add_multiplier(tmp_path / "bad.npy", "bad_table")
    assert needle in str(e.value) and str(tmp_path / "bad.npy") in str(e.value)
    assert {d.name for d in all_designs()} == before
    assert not (user_dir() / "bad_table").exists()


def test_signed_tables_have_the_signed_range(tmp_path):
    codes = np.where(np.arange(256) > 127, np.arange(256) - 256, np.arange(256))
    exact = codes[:, None] * codes[None, :]
    np.save(tmp_path / "s.npy", _with((1, 2), 40000, exact))
    with pytest.raises(ApproxHLSError, match=r"entry \[1,2\] = 40000 .* outside the signed 16-bit range"):
        add_multiplier(tmp_path / "s.npy", "s_table", signed=True)
    np.save(tmp_path / "s.npy", exact)
    assert np.array_equal(add_multiplier(tmp_path / "s.npy", "s_table", signed=True).table(), exact)


def test_unreadable_table_files_are_refused(tmp_path):
    # a header that claims a huge array: refused by the header, the data is never read
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1), np.int64)) | {"shape": (100000, 100000)}
    with open(tmp_path / "huge.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
    with pytest.raises(ApproxHLSError, match="huge.npy: not a numpy table"):
        add_multiplier(tmp_path / "huge.npy", "huge")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ApproxHLSError, match="obj.npy: not a numpy table"):
        add_multiplier(tmp_path / "obj.npy", "obj")
    (tmp_path / "t.csv").write_text("1,2,three\n")
    with pytest.raises(ApproxHLSError, match="t.csv: not a table of numbers"):
        add_multiplier(tmp_path / "t.csv", "words")
    assert not user_dir().exists() or not any(user_dir().iterdir())


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
    with pytest.raises(ApproxHLSError, match="exact product"):
        add_multiplier(tmp_path / "t.npy", "exact")
