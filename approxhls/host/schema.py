"""Checking what the host reads from an overlay directory (overlay.json, golden.npz, samples.npz) before it is used:
every error names the file and the key, so a tampered or truncated file is a message, never a traceback.

A schema is a tree of small checkers (:class:`Obj`, :class:`Int`, :class:`Num`, :class:`Str`, :class:`List`,
:class:`OneOf`, :class:`FixedTypeStr`); ``check(data, schema, file)`` walks it. No dependency beyond the standard
library and numpy (this runs on the board).
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np

from approxhls.errors import ProjectError


class SchemaError(ProjectError):
    """A file the host reads is missing a key, or a key has a value that cannot be right."""


class _Checker:
    def __call__(self, value, where: str, fail) -> None:
        raise NotImplementedError


class Num(_Checker):
    def __init__(self, above: float | None = None, at_least: float | None = None, at_most: float | None = None):
        self.above, self.at_least, self.at_most = above, at_least, at_most

    def __call__(self, value, where, fail):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail(where, f"must be a finite number, got {value!r}")
        if self.above is not None and not value > self.above:
            fail(where, f"must be above {self.above:g}, got {value!r}")
        if self.at_least is not None and value < self.at_least:
            fail(where, f"must be at least {self.at_least:g}, got {value!r}")
        if self.at_most is not None and value > self.at_most:
            fail(where, f"must be at most {self.at_most:g}, got {value!r}")


class Int(Num):
    def __call__(self, value, where, fail):
        if isinstance(value, bool) or not isinstance(value, int):
            fail(where, f"must be a whole number, got {value!r}")
        super().__call__(value, where, fail)


class Str(_Checker):
    def __init__(self, equals: str | None = None, plain_name: bool = False):
        self.equals, self.plain_name = equals, plain_name

    def __call__(self, value, where, fail):
        if not isinstance(value, str) or not value:
            fail(where, f"must be a non-empty string, got {value!r}")
        if self.equals is not None and value != self.equals:
            fail(where, f"must be {self.equals!r}, got {value!r}")
        if self.plain_name and (value in (".", "..") or "/" in value or "\\" in value):
            fail(where, f"must be a file name inside the overlay directory, got {value!r}")


class OneOf(_Checker):
    def __init__(self, *choices):
        self.choices = choices

    def __call__(self, value, where, fail):
        if isinstance(value, bool) or value not in self.choices:
            fail(where, f"must be one of {', '.join(map(str, self.choices))}, got {value!r}")


class FixedTypeStr(_Checker):
    def __call__(self, value, where, fail):
        from approxhls.fixedpoint import FixedType

        if not isinstance(value, str):
            fail(where, f"must be a fixed-point type such as 'ap_fixed<16,6>', got {value!r}")
        try:
            FixedType.parse(value)
        except (ValueError, TypeError, KeyError) as e:
            fail(where, f"is not a fixed-point type ({e})")


class List(_Checker):
    def __init__(self, item: _Checker, min_len: int = 0, max_len: int | None = None):
        self.item, self.min_len, self.max_len = item, min_len, max_len

    def __call__(self, value, where, fail):
        if not isinstance(value, list):
            fail(where, f"must be a list, got {type(value).__name__}")
        if len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len):
            fail(where, f"must have {self.min_len} to {self.max_len or 'any number of'} entries, got {len(value)}")
        for i, v in enumerate(value):
            self.item(v, f"{where}[{i}]", fail)


class Obj(_Checker):
    """A JSON object with required and optional keys (others are allowed: newer writers may add some)."""

    def __init__(self, required: dict, optional: dict | None = None, nullable: bool = False):
        self.required, self.optional, self.nullable = required, optional or {}, nullable

    def __call__(self, value, where, fail):
        if value is None and self.nullable:
            return
        if not isinstance(value, dict):
            fail(where, f"must be an object, got {type(value).__name__}")
        for key, checker in self.required.items():
            if key not in value:
                fail(f"{where}.{key}" if where else key, "is missing")
            checker(value[key], f"{where}.{key}" if where else key, fail)
        for key, checker in self.optional.items():
            if key in value and value[key] is not None:
                checker(value[key], f"{where}.{key}" if where else key, fail)


class Any(_Checker):
    def __init__(self, kind: type):
        self.kind = kind

    def __call__(self, value, where, fail):
        if not isinstance(value, self.kind):
            fail(where, f"must be a {self.kind.__name__}, got {type(value).__name__}")


def check(data, schema: _Checker, file) -> None:
    def fail(where, why):
        raise SchemaError(f"{file}: key '{where}' {why}; rewrite it with `approxhls overlay` (--force)")

    schema(data, "", fail)


FIELD_BITS = (8, 16, 32, 64)
_STREAM = Obj({"shape": List(Int(at_least=1), min_len=1, max_len=8), "type": FixedTypeStr(),
               "field_bits": OneOf(*FIELD_BITS)})

OVERLAY_SCHEMA = Obj(
    required={
        "format": Str(), "name": Str(), "board": Str(), "clock_mhz": Num(above=0, at_most=1000),
        "bitfile": Str(plain_name=True),
        "ip": Obj({"name": Str()}, {"batch_offset": Int(at_least=0, at_most=0xFFFF),
                                    "control_offset": Int(at_least=0, at_most=0xFFFF), "vlnv": Str()}),
        "dma": Obj({"name": Str()}, {"max_transfer_bytes": Int(at_least=1, at_most=(1 << 26) - 1),
                                     "length_width": Int(at_least=8, at_most=26)}),
        "max_batch": Int(at_least=1, at_most=1 << 30),
        "input": _STREAM, "output": _STREAM, "word_bits": OneOf(*FIELD_BITS),
    },
    optional={
        "project": Str(), "io_type": OneOf("io_parallel", "io_stream"), "part": Str(), "plan": Any(dict),
        "tools": Any(dict),
        "timing": Obj({}, {"ii_cycles": Num(at_least=0), "latency_cycles": Num(at_least=0)}),
        "dataset": Obj({"name": Str(), "file": Str(plain_name=True)}, {"samples": Int(at_least=0)}),
    },
)


def read_json(path: Path) -> dict:
    """A JSON file as a dict, or a SchemaError naming the file (missing, unreadable, not JSON, not an object)."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SchemaError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SchemaError(f"{path} cannot be read ({e})") from None
    except json.JSONDecodeError as e:
        raise SchemaError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); it is damaged "
                          f"or truncated: rewrite it with `approxhls overlay` (--force)") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{path} must hold a JSON object, not {type(data).__name__}")
    return data


def check_overlay(data: dict, path) -> None:
    """overlay.json's keys and values, and the facts between them (a field holds its type, a word its field)."""
    check(data, OVERLAY_SCHEMA, path)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", data["name"]):
        raise SchemaError(f"{path}: key 'name' must be the kernel's C identifier, got {data['name']!r}")
    for side in ("input", "output"):
        s = data[side]
        from approxhls.fixedpoint import FixedType

        width = FixedType.parse(s["type"]).width
        if width > s["field_bits"]:
            raise SchemaError(f"{path}: key '{side}.field_bits' is {s['field_bits']}, narrower than its type "
                              f"{s['type']} ({width} bits)")
        if s["field_bits"] > data["word_bits"]:
            raise SchemaError(f"{path}: key '{side}.field_bits' ({s['field_bits']}) is wider than 'word_bits' "
                              f"({data['word_bits']})")


def load_npz(path: Path, keys: dict) -> dict:
    """Arrays of an .npz file, checked: ``keys`` maps each key to its numpy kind letters ('f', 'iu', 'U', ...).
    A missing, truncated or foreign file, or a missing key, is a SchemaError naming the file (and the key)."""
    path = Path(path)
    if not path.exists():
        raise SchemaError(f"{path} is missing")
    try:
        with np.load(path, allow_pickle=False) as z:
            present = set(z.files)
            out = {}
            for key, kinds in keys.items():
                if key not in present:
                    raise SchemaError(f"{path}: key '{key}' is missing (it has {', '.join(sorted(present)) or 'none'})")
                arr = z[key]
                if arr.dtype.kind not in kinds:
                    raise SchemaError(f"{path}: key '{key}' has dtype {arr.dtype}, expected kind {kinds!r}")
                out[key] = arr
    except SchemaError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise SchemaError(f"{path} cannot be read as an .npz archive ({type(e).__name__}: {e}); it is damaged or "
                          f"truncated: rewrite the overlay with `approxhls overlay` (--force)") from None
    return out


def check_rows(path, key: str, arr: np.ndarray, n: int | None, per_row: int) -> None:
    """``arr`` has ``n`` rows (when given) of ``per_row`` elements, all finite."""
    if arr.ndim < 1 or (n is not None and len(arr) != n):
        raise SchemaError(f"{path}: key '{key}' has {len(arr) if arr.ndim else 0} rows, expected {n}")
    if len(arr) and arr[0].size != per_row:
        raise SchemaError(f"{path}: key '{key}' has {arr[0].size} values per sample, expected {per_row}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise SchemaError(f"{path}: key '{key}' holds values that are not finite")
