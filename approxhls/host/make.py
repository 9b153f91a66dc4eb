"""Building a target of an overlay directory's own Makefile (the wrapper's testbench, the simulated board's stream
library): one definition of each g++ command, rebuilt only when a firmware file changed. Through
:func:`approxhls.toolrun.run_tool`, so a hung compiler ends in an error naming the target and the limit."""

from __future__ import annotations

from pathlib import Path

from approxhls.errors import ApproxHLSError
from approxhls.toolrun import require, run_tool


def make_target(overlay_dir, target: str, what: str) -> Path:
    """``make -s -C overlay_dir target``; returns the built file. ``what`` names it in errors."""
    require("make")
    require("g++")
    d = Path(overlay_dir)
    r = run_tool(["make", "-s", "-C", d, target], what=f"building {what} ({d / target})", kind="compile")
    if r.returncode:
        raise ApproxHLSError(f"{what} did not compile ({d / target}):\n{(r.stderr or r.stdout)[-3000:]}")
    return d / target


def stream_library(overlay_dir, kernel_name: str) -> Path:
    """The stream wrapper as a shared library (the simulated board's stream side)."""
    return make_target(overlay_dir, f"build/libstream_{kernel_name}_axis.so", "the simulated board's stream library")


def testbench(overlay_dir, kernel_name: str) -> Path:
    """The stream wrapper's C-simulation testbench."""
    return make_target(overlay_dir, f"build/tb_{kernel_name}_axis", "the wrapper testbench")
