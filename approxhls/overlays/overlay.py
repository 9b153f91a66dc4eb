"""``approxhls overlay``: a converted project -> the directory that builds its PYNQ overlay.

    OUT/
      overlay.json         everything the host library needs (approxhls.host.spec)
      build_ip.tcl         Vitis HLS: C synthesis of the stream wrapper, export as IP
      build_overlay.tcl    Vivado: block design, bitstream, NAME.bit + NAME.hwh
      Makefile             make ip / overlay / all / csim
      hls/firmware/        the project's kernel + the stream wrapper + its testbench
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError, ProjectError
from approxhls.fsutil import atomic_directory
from approxhls.host.spec import FORMAT, OVERLAY_JSON, SAMPLES_NPZ
from approxhls.names import check_path
from approxhls.overlays.boards import Board, check_clock, get_board
from approxhls.overlays.kernel import Kernel, read_kernel
from approxhls.overlays.wrapper import (
    Layout,
    ScriptTemplate,
    ip_cell,
    load_template,
    stream_layout,
    top_name,
    write_wrapper,
)

# Vitis HLS / Vivado releases: hls4ml 1.3.0 states Vitis HLS 2022.2 or newer; the scripts are written for
# 2023.2 and check the running release against 2022.2 (refused below) .. 2025.2 (PYNQ 4.0's toolchain; a warning
# above). 2025.1 and later run build_ip.tcl through vitis-run (see approxhls.overlays.build).
from approxhls.overlays.build import NEWEST_CHECKED, OLDEST, VITIS_RUN_FROM  # noqa: E402

TOOL_VERSION = "2023.2"
TOOL_VERSIONS_SUPPORTED = (OLDEST, NEWEST_CHECKED)  # oldest, newest release the scripts were written against
SAMPLES_KEPT = 1000
DMA_NAME = "axi_dma_0"
MIN_SG_WIDTH, MAX_SG_WIDTH = 14, 26   # AXI DMA 7.1 buffer length register width (c_sg_length_width)
BATCH_OFFSET, CONTROL_OFFSET = 0x10, 0x00


DEFAULT_BOARD = "zcu104"  # PYNQ 4.0's reference board, with PMBus power rails; pynq-z2 runs PYNQ 3.x images


@dataclass
class OverlayOptions:
    board: str = DEFAULT_BOARD
    clock_mhz: float | None = None  # default: the board's
    batch: int = 1024               # the largest batch one DMA transfer carries
    word_bits: int = 64


def dma_length_width(batch: int, layout: Layout) -> int:
    """Bits of the DMA length register for a batch; refuses a batch no AXI DMA can move in one transfer."""
    if batch < 1:
        raise ApproxHLSError(f"batch {batch} is impossible: it must be at least 1")
    per_sample = max(layout.bytes_per_sample)
    need = batch * per_sample
    width = max(MIN_SG_WIDTH, need.bit_length())
    if width > MAX_SG_WIDTH:
        most = ((1 << MAX_SG_WIDTH) - 1) // per_sample
        raise ApproxHLSError(
            f"batch {batch} needs {need:,}-byte DMA transfers ({per_sample} bytes per sample), more than the AXI DMA's "
            f"largest transfer of {(1 << MAX_SG_WIDTH) - 1:,} bytes ({MAX_SG_WIDTH}-bit length register): use "
            f"--batch {most} or less (the host splits larger inputs into batches)"
        )
    return width


def _tcl_dict(props: dict) -> str:
    return " ".join(f"{k} {{{v}}}" for k, v in props.items())


def script_fields(kernel: Kernel, board: Board, clock_mhz: float, layout: Layout, sg_width: int) -> dict:
    from approxhls import __version__

    ps = board.ps_kind
    clock_value = f"{int(round(clock_mhz))}" if ps.integer_clock else f"{clock_mhz:g}"
    props = dict(ps.enable) | {ps.clock_property: clock_value}
    return {
        "version": __version__, "board": board.name, "part": board.part, "board_part": board.board_part,
        "board_files": board.board_files, "kernel": kernel.name, "top": top_name(kernel),
        "ip": ip_cell(kernel), "dma": DMA_NAME, "period_ns": f"{1000.0 / clock_mhz:.4g}",
        "clock_mhz": f"{clock_mhz:g}", "vitis_version": TOOL_VERSION, "vivado_version": TOOL_VERSION,
        "ps": ps.cell, "ps_ip": ps.ip, "ps_rule": ps.automation_rule, "ps_rule_config": ps.automation_config,
        "ps_properties": _tcl_dict(props), "ps_master": ps.master, "ps_memory": ps.memory_port,
        "ps_clock": ps.clock_pin, "sg_width": sg_width, "word_bits": layout.word_bits,
        "tool_oldest": TOOL_VERSIONS_SUPPORTED[0], "tool_newest": TOOL_VERSIONS_SUPPORTED[1],
        "vitis_run_from": VITIS_RUN_FROM, "vitis_run_from_code": VITIS_RUN_FROM.replace(".", ""),
        "board_glob": board.board_glob, "fan_tcl": fan_tcl(board),
    }


def fan_tcl(board: Board) -> str:
    """Block-design lines that hold a board's fan enable on (a constant 0 on an active-low pin, plus its XDC)."""
    if board.fan is None:
        return ""
    port, pin, iostd = board.fan
    return (f"# {board.name}: the carrier's fan enable ({port}, active low) is a PL pin: hold it on, or the fan stops\n"
            f"create_bd_cell -type ip -vlnv [approxhls_vlnv xlconstant] fan_on\n"
            f"set_property -dict [list CONFIG.CONST_VAL {{0}} CONFIG.CONST_WIDTH {{1}}] [get_bd_cells fan_on]\n"
            f"create_bd_port -dir O {port}\n"
            f"connect_bd_net [get_bd_pins fan_on/dout] [get_bd_ports {port}]\n"
            f"set fan_xdc [file join $here vivado fan.xdc]\n"
            f"file mkdir [file dirname $fan_xdc]\n"
            f"set fh [open $fan_xdc w]\n"
            f"puts $fh \"set_property PACKAGE_PIN {pin} \\[get_ports {port}\\]\"\n"
            f"puts $fh \"set_property IOSTANDARD {iostd} \\[get_ports {port}\\]\"\n"
            f"close $fh\n"
            f"add_files -fileset constrs_1 -norecurse $fan_xdc\n")


def overlay_spec(kernel: Kernel, board: Board, clock_mhz: float, layout: Layout, sg_width: int, batch: int,
                 project_rel: str) -> dict:
    """The overlay.json contract (see approxhls.host.spec)."""
    top = top_name(kernel)

    def stream(port, field):
        return {"shape": port.shape, "type": str(port.type), "field_bits": field}

    return {
        "format": FORMAT, "name": kernel.name, "board": board.name, "part": board.part, "clock_mhz": clock_mhz,
        "bitfile": f"{kernel.name}.bit", "project": project_rel, "io_type": kernel.io_type,
        "ip": {"name": ip_cell(kernel), "vlnv": f"approxhls:hls:{top}:1.0", "batch_offset": BATCH_OFFSET,
               "control_offset": CONTROL_OFFSET},
        "dma": {"name": DMA_NAME, "max_transfer_bytes": (1 << sg_width) - 1, "length_width": sg_width},
        "max_batch": batch,
        "input": stream(kernel.input, layout.in_field), "output": stream(kernel.output, layout.out_field),
        "word_bits": layout.word_bits,
        "plan": kernel.plan,
        "tools": {"written_for": TOOL_VERSION, "oldest": OLDEST, "newest": NEWEST_CHECKED,
                  "hls_launcher": {f"{OLDEST}..2024.2": "vitis_hls -f build_ip.tcl",
                                   f"{VITIS_RUN_FROM}..": "vitis-run --mode hls --tcl build_ip.tcl"}},
        "timing": timing_estimate(kernel, layout),
    }


def timing_estimate(kernel: Kernel, layout: Layout) -> dict:
    """Cycles per sample and latency of the DATAFLOW wrapper, estimated from the project (no synthesis report
    yet): io_parallel kernels take a sample every ReuseFactor cycles; io_stream layers take one output position
    per ReuseFactor cycles, so the largest feature map sets the interval. The packers move one word a cycle."""
    reuse = int(kernel.meta.get("reuse_factor", 1))
    positions = [math.prod(r["shape"][:-1]) if len(r.get("shape", [])) > 1 else 1 for r in kernel.meta["layers"]]
    stream = kernel.io_type == "io_stream"
    kernel_ii = reuse * (max(positions) if stream and positions else 1)
    latency = sum(reuse * (p if stream else 1) + 2 for p in positions)
    return {"ii_cycles": max(kernel_ii, layout.in_words, layout.out_words),
            "latency_cycles": latency + layout.in_words + layout.out_words,
            "source": "estimate from the project's layers and reuse factor (no synthesis report)"}


def check_output_dir(out: Path, prj: Path, overwrite: bool) -> None:
    """Refuse an output that replacing would destroy more than an old overlay: the working directory or one of
    its ancestors, a converted project, a directory holding the project, or any directory that is not an overlay."""
    where, cwd, project = out.resolve(), Path.cwd().resolve(), prj.resolve()
    if where == cwd or where in cwd.parents:
        raise ProjectError(f"--out {out} is the working directory or one of its parents: the overlay replaces its "
                           f"--out directory whole; give a new directory such as {out / 'overlay'}")
    if where == project or project.is_relative_to(where) or (where / "approxhls.json").exists():
        raise ProjectError(f"--out {out} is (or holds) the converted project {prj}: give a directory of its own")
    if out.exists():
        if not overwrite:
            raise ProjectError(f"{out} exists; choose another --out or pass --force to replace it")
        if not out.is_dir() or (any(out.iterdir()) and not (out / OVERLAY_JSON).exists()):
            raise ProjectError(f"{out} is not an overlay directory (no {OVERLAY_JSON}); refusing to replace it")


def _copy_firmware(prj: Path, dest: Path) -> None:
    shutil.copytree(prj / "firmware", dest, ignore=shutil.ignore_patterns("*.so", "*.o"))


def write_overlay(prj, out, opts: OverlayOptions | None = None, overwrite: bool = False) -> dict:
    """Write the overlay build directory; returns overlay.json's content. Nothing is left behind on failure."""
    opts = opts or OverlayOptions()
    prj = Path(prj)
    out = check_path(out, "overlay directory")
    board = get_board(opts.board)
    clock = check_clock(board, opts.clock_mhz if opts.clock_mhz is not None else board.default_clock_mhz)
    kernel = read_kernel(prj)
    layout = stream_layout(kernel, opts.word_bits)
    sg_width = dma_length_width(int(opts.batch), layout)
    check_output_dir(out, prj, overwrite)
    with atomic_directory(out) as tmp:
        firmware = tmp / "hls" / "firmware"
        _copy_firmware(prj, firmware)
        write_wrapper(kernel, firmware, layout, int(opts.batch))
        fields = script_fields(kernel, board, clock, layout, sg_width)
        for name in ("build_ip.tcl", "build_overlay.tcl", "Makefile"):
            (tmp / name).write_text(load_template(f"{name}.tmpl", ScriptTemplate).substitute(fields))
        spec = overlay_spec(kernel, board, clock, layout, sg_width, int(opts.batch),
                            os.path.relpath(prj.resolve(), out.resolve()))
        samples = _dataset_samples(kernel.meta.get("dataset"), kernel.input.type)
        if samples is not None:
            np.savez_compressed(tmp / SAMPLES_NPZ, **samples)
            spec["dataset"] = {"name": str(samples["name"]), "file": SAMPLES_NPZ, "samples": int(len(samples["y"]))}
        (tmp / OVERLAY_JSON).write_text(json.dumps(spec, indent=2) + "\n")
    return spec


def _dataset_samples(name: str | None, grid) -> dict | None:
    """Test samples of the project's dataset, on the input grid, shipped with the overlay so that a board-only
    install (no scikit-learn, no dataset package) can measure accuracy. None when the dataset is unknown."""
    if not name:
        return None
    try:
        from approxhls.models.datasets import load_dataset

        ds = load_dataset(name, grid=str(grid))
    except Exception:  # an unknown or absent dataset: `run --dataset` still works
        return None
    return {"x": ds.x_test[:SAMPLES_KEPT], "y": ds.y_test[:SAMPLES_KEPT], "name": np.array(ds.name)}
