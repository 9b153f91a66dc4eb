"""Validation of user-given names and paths that end up in generated C++, Tcl or shell scripts."""

from __future__ import annotations

import re
from pathlib import Path

from approxhls.errors import InvalidNameError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Characters that are safe unquoted in C++ string literals, Tcl words and sh: no spaces, quotes, ;,
# $, `, braces, brackets or backslashes (Tcl substitutes $ and [ ], groups with { }).
_PATH_CHARS = re.compile(r"^[A-Za-z0-9_./+=@,:~-]+$")
_RESERVED = {
    # C/C++ keywords that could be chosen as a project or layer name, and hls4ml's reserved "input".
    "input", "auto", "bool", "break", "case", "char", "class", "const", "continue", "default", "delete",
    "do", "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "new",
    "operator", "private", "protected", "public", "return", "short", "signed", "sizeof", "static", "struct",
    "switch", "template", "this", "typedef", "union", "unsigned", "void", "volatile", "while", "namespace",
}


def is_safe_identifier(name) -> bool:
    """A plain C identifier that is neither reserved nor too long (it can name C++ functions and Tcl projects)."""
    return isinstance(name, str) and bool(_IDENT.match(name)) and name not in _RESERVED and len(name) <= 64


def check_identifier(name: str, what: str = "name") -> str:
    """Refuse a name that is not a plain C identifier (it becomes a C++ function or Tcl project name)."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise InvalidNameError(
            f"{what} {name!r} is not allowed: use letters, digits and underscores, starting with a letter "
            f"or underscore (it becomes a C++ identifier and a Tcl project name)"
        )
    if name in _RESERVED:
        raise InvalidNameError(f"{what} {name!r} is reserved in C++ or hls4ml; choose another")
    if len(name) > 64:
        raise InvalidNameError(f"{what} {name!r} is longer than 64 characters")
    return name


def check_path(path, what: str = "path") -> Path:
    """Refuse a path whose text would break a C++ string, a Tcl word or a shell command."""
    text = str(path)
    if not text:
        raise InvalidNameError(f"{what} is empty")
    if ".." in Path(text).parts:
        raise InvalidNameError(f"{what} {text!r} contains '..': give a path without parent-directory steps")
    if not _PATH_CHARS.match(text):
        bad = sorted({c for c in text if not _PATH_CHARS.match(c)})
        shown = ", ".join(repr(c) for c in bad)
        raise InvalidNameError(
            f"{what} {text!r} contains {shown}: paths reach generated C++, Tcl and shell scripts, so only "
            f"letters, digits and _ . / + = @ , : ~ - are allowed"
        )
    return Path(text)
