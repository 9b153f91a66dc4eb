"""Checks of the numbers users give commands: each refusal names the option and what a valid value is.
Standard library only (the board's host library uses it)."""

from __future__ import annotations

import math
from numbers import Integral

from approxhls.errors import ApproxHLSError


def whole(name: str, value, least: int = 1) -> int:
    """A whole number of at least ``least`` (a count, a size), or an error naming the option."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < least:
        raise ApproxHLSError(f"{name} must be a whole number of at least {least}, got {value!r}")
    return int(value)


def optional_whole(name: str, value, least: int = 1) -> int | None:
    """None (the default) or a whole number of at least ``least``."""
    return None if value is None else whole(name, value, least)


def finite_positive(name: str, value) -> float:
    """A finite number above 0 (a deadline, a duration), or an error naming the option."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ApproxHLSError(f"{name} must be a number above 0, got {value!r}") from None
    if not (math.isfinite(f) and f > 0):
        raise ApproxHLSError(f"{name} must be a finite number above 0, got {value!r}")
    return f
