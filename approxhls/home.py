"""The approxhls home directory (``$APPROXHLS_HOME``, default ``~/.approxhls``) and the lock on changes to it.

The home holds what outlives one command: the user's multipliers and catalog, compiled kernels and tables.
Commands that change the multiplier catalog or the user multiplier folder hold :func:`home_lock` while they
read, modify and write, so concurrent commands never lose each other's work. Readers take no lock: every file
is replaced whole (a complete temporary file renamed over it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path

from approxhls.errors import ApproxHLSError

LOCK_FILE = ".lock"

# flock() excludes other processes; threads of this process are excluded by this lock, which also makes the
# home lock reentrant (a second flock() on a new descriptor in the same process would wait for itself).
_threads = threading.RLock()
_held: list = []  # the open lock file while this process holds the lock, and how deep


def _after_fork_in_child() -> None:
    """A forked worker starts without the lock, even if a thread of its parent held it at the fork."""
    global _threads
    _threads = threading.RLock()
    _held.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def home() -> Path:
    return Path(os.environ.get("APPROXHLS_HOME", Path.home() / ".approxhls"))


def build_cache() -> Path:
    """Where compiled helpers and tables are kept, each under a digest of everything it is made from (so any number
    of homes may share it): ``$APPROXHLS_CACHE``, else the home's ``build`` folder."""
    return Path(os.environ.get("APPROXHLS_CACHE") or home() / "build")


@contextlib.contextmanager
def home_lock():
    """Hold the home's exclusive lock (waits for other processes and threads; reentrant within one thread)."""
    with _threads:
        if not _held:
            _held.append(_acquire())
        else:
            _held.append(None)
        try:
            yield
        finally:
            fh = _held.pop()
            if fh is not None:
                fh.close()  # closing the descriptor releases the flock


def _acquire():
    root = home()
    try:
        root.mkdir(parents=True, exist_ok=True)
        fh = open(root / LOCK_FILE, "a")
    except OSError as e:
        raise ApproxHLSError(f"the approxhls home {root} cannot be written ({e.strerror}); set APPROXHLS_HOME to a "
                             f"writable directory") from None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    except BaseException:
        fh.close()
        raise
    return fh
