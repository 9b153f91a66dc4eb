"""overlay.json: everything the host needs about an overlay (written by `approxhls overlay`).

    {"format": "approxhls-overlay/1", "name": ..., "board": "pynq-z2", "clock_mhz": 100,
     "bitfile": "NAME.bit",                         # NAME.hwh beside it
     "project": "hls_prj",                          # the converted project (C-simulation backend), optional
     "ip": {"name": "NAME_axis_0", "batch_offset": 16, "control_offset": 0},
     "dma": {"name": "axi_dma_0", "max_transfer_bytes": 67108863},
     "max_batch": 1024,
     "input":  {"shape": [..], "type": "ap_ufixed<8,0>", "field_bits": 8},
     "output": {"shape": [..], "type": "ap_fixed<26,11>", "field_bits": 32},
     "word_bits": 64,
     "plan": {...}}

A target is an overlay directory (overlay.json) or a converted project (approxhls.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from approxhls.errors import ProjectError
from approxhls.fixedpoint import FixedType

OVERLAY_JSON = "overlay.json"
GOLDEN_NPZ = "golden.npz"    # inputs and the output words of the wrapper's C-simulation (run --self-test)
SAMPLES_NPZ = "samples.npz"  # test samples of the project's dataset (accuracy on a board-only install)
FORMAT = "approxhls-overlay/1"


@dataclass
class Stream:
    shape: list[int]
    type: FixedType
    field_bits: int

    @property
    def elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= int(d)
        return n


@dataclass
class TargetSpec:
    kind: str  # "overlay" or "project"
    dir: Path
    data: dict
    input: Stream
    output: Stream
    word_bits: int

    @property
    def project_dir(self) -> Path | None:
        if self.kind == "project":
            return self.dir
        p = self.data.get("project")
        return (self.dir / p) if p else None

    @property
    def bitfile(self) -> Path | None:
        return self.dir / self.data["bitfile"] if self.kind == "overlay" else None


def _stream(d: dict, what: str) -> Stream:
    try:
        return Stream([int(s) for s in d["shape"]], FixedType.parse(d["type"]), int(d["field_bits"]))
    except (KeyError, ValueError, TypeError) as e:
        raise ProjectError(f"overlay.json: bad {what} stream description ({e})") from None


def load_target(target) -> TargetSpec:
    p = Path(target)
    if (p / OVERLAY_JSON).exists():
        data = json.loads((p / OVERLAY_JSON).read_text())
        if data.get("format") != FORMAT:
            raise ProjectError(f"{p / OVERLAY_JSON} has format {data.get('format')!r}, expected {FORMAT!r}")
        return TargetSpec("overlay", p, data, _stream(data["input"], "input"), _stream(data["output"], "output"),
                          int(data.get("word_bits", 64)))
    if (p / "approxhls.json").exists():
        meta = json.loads((p / "approxhls.json").read_text())
        out_type = next(r["types"]["result_t"] for r in reversed(meta["layers"]) if "result_t" in r["types"])
        return TargetSpec("project", p, meta,
                          Stream(meta["input_shape"], FixedType.parse(meta["input_precision"]), 0),
                          Stream(meta["output_shape"], FixedType.parse(out_type), 0), 64)
    raise ProjectError(f"{target} is neither an overlay directory ({OVERLAY_JSON}) nor a converted project "
                       f"(approxhls.json)")
