"""Writing a directory so that a failure never leaves it half-written and never loses what was there.

One overwrite policy for every command that writes a directory (convert, overlay, search, train):
:func:`check_output_dir` refuses the working directory and its ancestors, refuses an existing directory without
``--force``, and with it replaces only a directory of the same kind (a project by a project, an overlay by an
overlay); :func:`atomic_directory` builds the new one beside it and swaps it in only when it is complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from approxhls.errors import ApproxHLSError


class OutputError(ApproxHLSError):
    """An output directory that must not be written (or replaced) as asked."""


def _refuse_working_directory(out: Path, what: str, path) -> None:
    resolved, cwd = out.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise OutputError(f"{what} {str(path)!r} is the working directory or one of its parents; writing it would "
                          f"replace what you are working in: give a new directory")


def _refuse_replacing(out: Path, what: str, path, overwrite: bool, replaceable, kind: str) -> None:
    """An existing ``out`` may be replaced only if it is a real directory, with ``overwrite``, and (when not empty)
    of the kind ``replaceable`` accepts."""
    if not out.is_dir() or out.is_symlink():
        raise OutputError(f"{what} {str(path)!r} exists and is not a directory; give a new directory")
    if not overwrite:
        raise OutputError(f"{what} {str(path)!r} exists; choose another or pass --force to replace it")
    if any(out.iterdir()) and replaceable is not None and not replaceable(out):
        raise OutputError(f"{what} {str(path)!r} is not {kind or 'an output of this command'}; refusing to "
                          f"replace it (its files would be lost): give a new directory")


def check_output_dir(path, what: str, overwrite: bool, replaceable=None, kind: str = "") -> Path:
    """The output directory ``path``, or an error that says why it cannot be written.

    ``replaceable(path)`` says whether an existing non-empty directory is one this command may replace (with
    ``overwrite``); ``kind`` names such a directory in the message."""
    out = Path(path)
    if not str(path).strip():
        raise OutputError(f"{what} is empty")
    _refuse_working_directory(out, what, path)
    if out.exists() or out.is_symlink():
        _refuse_replacing(out, what, path, overwrite, replaceable, kind)
    return out


@contextlib.contextmanager
def atomic_directory(final: Path):
    """Yield a fresh sibling directory; on success it replaces ``final``, on failure (Ctrl-C included) it is
    removed and ``final`` is as it was. The old directory is moved aside before the new one is moved in, so no
    moment leaves neither."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}-"))
    try:
        yield tmp
        _swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_in(new: Path, final: Path) -> None:
    if not final.exists():
        new.rename(final)
        return
    old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}-old-"))
    os.rmdir(old)
    final.rename(old)
    try:
        new.rename(final)
    except BaseException:
        old.rename(final)
        raise
    shutil.rmtree(old, ignore_errors=True)
