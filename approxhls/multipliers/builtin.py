"""The built-in multiplier library: every generator family at several settings, and the names it reserves.

Built-ins are listed in :data:`BUILTIN_SPECS` as (generator class, parameters); each family contributes
several settings so the library spans the error/cost plane. Their names, and ``exact`` (a plan's word for the
exact product), are reserved: no user design may take one.
"""

from __future__ import annotations

from functools import lru_cache

from approxhls.multipliers.design import Design
from approxhls.multipliers.families.drum import DRUM
from approxhls.multipliers.families.etm import ETM
from approxhls.multipliers.families.kulkarni import Kulkarni
from approxhls.multipliers.families.mitchell import Mitchell
from approxhls.multipliers.families.ppmask import (
    BrokenArray,
    Exact,
    LSBTruncation,
    Perforated,
    TruncatedArray,
)
from approxhls.multipliers.families.roba import RoBA

U8 = {"bits": 8, "signed": False}
S8 = {"bits": 8, "signed": True}

BUILTIN_SPECS: list[tuple[type, dict]] = (
    [(Exact, U8), (Exact, S8), (Exact, {"bits": 4, "signed": False})]
    + [(TruncatedArray, U8 | {"k": k}) for k in (4, 6, 7, 8, 9, 10)]
    + [(TruncatedArray, {"bits": 4, "signed": False, "k": 3})]
    + [(BrokenArray, U8 | {"h": h, "v": v}) for h, v in ((1, 4), (1, 8), (2, 6), (2, 8), (3, 8), (2, 10))]
    + [(Perforated, U8 | {"j": j, "m": m}) for j, m in ((0, 1), (0, 2), (1, 1), (0, 3), (1, 2), (2, 2))]
    + [(LSBTruncation, U8 | {"ka": ka, "kb": kb}) for ka, kb in ((1, 1), (2, 0), (0, 2), (2, 2), (3, 3), (4, 4))]
    + [(DRUM, U8 | {"k": k}) for k in (3, 4, 5, 6)]
    + [(Mitchell, U8 | {"w": w}) for w in (7, 5, 4, 3)]
    + [(RoBA, U8 | {"mode": m}) for m in ("both", "x", "w")]
    + [(Kulkarni, U8 | {"s": s}) for s in (4, 8, 12, 16)]
    + [(ETM, U8 | {"m": m}) for m in (2, 3, 4)]
    + [(TruncatedArray, S8 | {"k": k}) for k in (3, 5, 7)]
    + [(LSBTruncation, S8 | {"ka": ka, "kb": kb}) for ka, kb in ((1, 1), (2, 2))]
)

# Costs are reported relative to the exact 8x8 multiplier of the same signedness.
EXACT_REFERENCE = "exact_u8"
EXACT_REFERENCE_SIGNED = "exact_s8"
EXACT_REFERENCES = (EXACT_REFERENCE, EXACT_REFERENCE_SIGNED)

# What a plan writes for the exact product (approxhls.sim.assignment.EXACT): a design of that name is unreachable.
EXACT_WORD = "exact"


def exact_reference(signed: bool) -> str:
    """The exact 8x8 design a design of that signedness is priced against (search and cost alike)."""
    return EXACT_REFERENCE_SIGNED if signed else EXACT_REFERENCE


@lru_cache(maxsize=None)
def builtin_designs() -> tuple[Design, ...]:
    designs = tuple(cls(**params) for cls, params in BUILTIN_SPECS)
    names = [d.name for d in designs]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate multiplier names: {dup}"
    return designs


@lru_cache(maxsize=None)
def builtin_by_name() -> dict[str, Design]:
    return {d.name: d for d in builtin_designs()}


def reserved_reason(name: str) -> str | None:
    """Why ``name`` cannot name a user design, or None when it can."""
    if name == EXACT_WORD:
        return "'exact' is what a plan writes for the exact product; a design of that name could never be chosen"
    if name in builtin_by_name():
        return f"{name!r} is a built-in multiplier"
    return None
