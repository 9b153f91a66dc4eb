"""``approxhls overlay`` as one function: write the overlay directory, its golden vectors, optionally check the
stream wrapper by C-simulation and run the Xilinx tools; each result line goes to ``say``."""

from __future__ import annotations

from typing import Callable

from approxhls.checks import whole
from approxhls.errors import ApproxHLSError, ToolMissingError
from approxhls.overlays.build import build_overlay
from approxhls.overlays.overlay import OverlayOptions, write_overlay
from approxhls.overlays.wrapper import verify_wrapper, write_golden


def summary_row(spec: dict) -> dict:
    return {"board": spec["board"], "part": spec["part"], "clock_mhz": spec["clock_mhz"], "io_type": spec["io_type"],
            "input": f"{spec['input']['shape']} {spec['input']['type']} in {spec['input']['field_bits']}-bit fields",
            "output": f"{spec['output']['shape']} {spec['output']['type']} in {spec['output']['field_bits']}-bit fields",
            "word_bits": spec["word_bits"], "max_batch": spec["max_batch"],
            "dma_max_transfer_bytes": spec["dma"]["max_transfer_bytes"],
            "approx_layers": sum(1 for v in spec["plan"].values()
                                 if not str(v.get("multiplier", "")).startswith("exact"))}


def create_overlay(project, out, opts: OverlayOptions, golden: int = 64, check: int = 0, build: bool = False,
                   jobs: int | None = None, force: bool = False, say: Callable[[str], None] = lambda s: None) -> dict:
    """Returns {"spec": overlay.json, "golden": ..., "check": ..., "build": ...}; every count is checked first."""
    golden, check = whole("--golden", golden, 0), whole("--check", check, 0)
    if jobs is not None:
        whole("--jobs", jobs, 1)
    spec = write_overlay(project, out, opts, overwrite=force)
    result = {"spec": spec}
    if golden:
        try:
            g = result["golden"] = write_golden(out, golden)
            say(f"golden vectors: {g['samples']} samples through the wrapper's C-simulation -> {out}/golden.npz "
                f"({g['testbench']})")
        except ToolMissingError as e:
            say(f"warning: no golden.npz ({e}); `run --self-test` needs it")
    if check:
        res = result["check"] = verify_wrapper(out, n=check)
        say(f"wrapper C-simulation: {res['testbench']}; equal to the project's C-simulation: "
            f"{res.get('equal_to_csim', 'project not found')}")
        if res.get("equal_to_csim") is False:
            raise ApproxHLSError(f"the stream wrapper differs from the kernel in {res['mismatches_vs_csim']} outputs")
    if build:
        result["build"] = build_overlay(out, jobs=jobs)
    return result
