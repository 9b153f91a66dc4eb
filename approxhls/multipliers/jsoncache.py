"""A JSON file of cached results that several processes may extend at once: read-modify-write under an exclusive
lock, written atomically (a complete temporary file renamed over it), refused with its path when corrupt."""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from approxhls.errors import ApproxHLSError


@contextmanager
def locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read(path: Path, version: int, what: str) -> dict:
    """The file's ``entries`` ({} when absent or of another version, recomputed on demand)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        if data.get("version") != version:
            return {}
        entries = data["entries"]
        if not isinstance(entries, dict):
            raise TypeError("'entries' is not an object")
        return entries
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as e:
        raise ApproxHLSError(f"the {what} {path} is corrupt ({type(e).__name__}: {e}); delete it (its results are "
                             f"recomputed on demand)") from None


def update(path: Path, version: int, what: str, change) -> dict:
    """Apply ``change(entries)`` (in place) under the lock and write the result atomically; returns the entries."""
    with locked(path):
        entries = read(path, version, what)
        change(entries)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": version, "entries": entries}, sort_keys=True, separators=(",", ":")))
        tmp.replace(path)
    return entries
