"""Every external tool approxhls starts (g++, yosys, iverilog/vvp, tclsh, make, vitis_hls, vivado, pip) goes
through :func:`run_tool`: a deadline that becomes an error naming the tool, what it was doing and the limit, and a
missing executable that becomes an error naming the package to install. Nothing here knows any particular tool.

Numpy-free and import-light: the board's host library uses it too.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from approxhls.errors import ToolMissingError, ToolTimeoutError

# Seconds a tool may run before it is stopped, by kind of work; APPROXHLS_TIMEOUT_SCALE multiplies them all
# (a slow machine sets it above 1 instead of editing code).
LIMITS = {
    "compile": 600.0,      # g++ building a C-simulation or a table
    "run": 600.0,          # a compiled program tabulating or simulating
    "synth": 600.0,        # yosys synthesizing one circuit
    "parse": 120.0,        # yosys/iverilog reading a user file
    "probe": 60.0,         # a tool printing its version
    "install": 1800.0,     # pip installing into a virtual environment
    "build": 24 * 3600.0,  # vitis_hls / vivado building an overlay
}


def limit(kind: str) -> float:
    scale = os.environ.get("APPROXHLS_TIMEOUT_SCALE", "1")
    try:
        factor = float(scale)
    except ValueError:
        factor = float("nan")
    if not (factor > 0 and factor != float("inf")):
        raise ToolTimeoutError(f"APPROXHLS_TIMEOUT_SCALE={scale!r}: give a finite number above 0")
    return LIMITS[kind] * factor


def require(tool: str, package: str | None = None) -> str:
    """The absolute path of ``tool`` on PATH, or an error naming the Debian package that provides it."""
    path = shutil.which(tool)
    if path is None:
        pkg = package or tool
        raise ToolMissingError(f"{tool} is not installed: `make test` installs it as root (tools/sysdeps.sh); "
                               f"otherwise `sudo apt-get install {pkg}`")
    return path


def run_tool(args, *, what: str, kind: str = "run", timeout: float | None = None, cwd=None, env=None,
             input: bytes | str | None = None, text: bool = True, stdout=subprocess.PIPE,
             stderr=subprocess.PIPE) -> subprocess.CompletedProcess:
    """Run ``args`` (a list: never a shell string) and return the completed process, whatever its exit code.

    ``what`` says in words what the tool is doing ("compiling the C-simulation of runs/cnn_prj") and appears in
    the error when the deadline passes; ``timeout`` defaults to the limit of ``kind``. On the deadline the tool
    and everything it started are killed, so no orphan keeps running.
    """
    args = [str(a) for a in args]
    seconds = limit(kind) if timeout is None else float(timeout)
    if not (seconds > 0 and seconds != float("inf")):
        raise ValueError(f"timeout for {what} must be a finite number of seconds above 0, got {timeout!r}")
    try:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.PIPE if input is not None else None,
                                stdout=stdout, stderr=stderr, text=text, start_new_session=True)
    except FileNotFoundError:
        raise ToolMissingError(f"{args[0]} is not installed (needed for {what})") from None
    try:
        out, err = proc.communicate(input=input, timeout=seconds)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ToolTimeoutError(f"{Path(args[0]).name} did not finish {what} within {seconds:g} s and was "
                               f"stopped (set APPROXHLS_TIMEOUT_SCALE above 1 on a slow machine)") from None
    except BaseException:  # Ctrl-C: stop the tool with us
        _kill_group(proc)
        raise
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=10)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        pass
