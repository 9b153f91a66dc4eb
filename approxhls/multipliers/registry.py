"""All multiplier designs by name: the built-in library (:mod:`approxhls.multipliers.builtin`) plus the ones a
user added (:mod:`approxhls.multipliers.user`). The registry reads both; neither reads the registry.
"""

from __future__ import annotations

from approxhls.errors import ApproxHLSError
from approxhls.multipliers.builtin import (
    BUILTIN_SPECS,
    EXACT_REFERENCE,
    EXACT_REFERENCE_SIGNED,
    EXACT_REFERENCES,
    builtin_by_name,
    builtin_designs,
    exact_reference,
)
from approxhls.multipliers.design import Design
from approxhls.multipliers.user import stored_key, user_designs

# The built-in library's names are handed on: callers take every multiplier name from the registry.
__all__ = ["BUILTIN_SPECS", "EXACT_REFERENCE", "EXACT_REFERENCE_SIGNED", "EXACT_REFERENCES", "builtin_by_name",
           "builtin_designs", "exact_reference", "all_designs", "get_design", "current_key", "families"]


def all_designs() -> list[Design]:
    return list(builtin_designs()) + user_designs()


def get_design(name: str) -> Design:
    for d in all_designs():
        if d.name == name:
            return d
    families = sorted({d.family for d in builtin_designs()})
    raise ApproxHLSError(
        f"no multiplier named {name!r}; `approxhls multipliers list` shows them (families: {', '.join(families)})"
    )


def current_key(name: str) -> str | None:
    """The key of the design called ``name`` now (None: no design has that name)."""
    builtin = builtin_by_name().get(name)
    return builtin.key if builtin is not None else stored_key(name)


def families() -> dict[str, str]:
    return {d.family: d.description for d in builtin_designs()}
