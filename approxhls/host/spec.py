"""overlay.json: everything the host needs about an overlay (written by `approxhls overlay`).

    {"format": "approxhls-overlay/1", "name": ..., "board": "zcu104", "clock_mhz": 100,
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

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from approxhls.errors import ProjectError
from approxhls.fixedpoint import FixedType
from approxhls.host import schema

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


def _stream(d: dict) -> Stream:
    return Stream([int(x) for x in d["shape"]], FixedType.parse(d["type"]), int(d["field_bits"]))


_PROJECT_SCHEMA = schema.Obj({
    "input_shape": schema.List(schema.Int(at_least=1), min_len=1), "output_shape": schema.List(schema.Int(at_least=1), min_len=1),
    "input_precision": schema.FixedTypeStr(), "layers": schema.List(schema.Any(dict), min_len=1)})


def load_target(target) -> TargetSpec:
    """The overlay directory's overlay.json or the project's approxhls.json, checked (errors name file and key)."""
    p = Path(target)
    if (p / OVERLAY_JSON).exists():
        path = p / OVERLAY_JSON
        data = schema.read_json(path)
        if data.get("format") != FORMAT:
            raise ProjectError(f"{path}: key 'format' is {data.get('format')!r}, expected {FORMAT!r} (written by "
                               f"another approxhls version, or not an overlay: rewrite it with `approxhls overlay`)")
        schema.check_overlay(data, path)
        return TargetSpec("overlay", p, data, _stream(data["input"]), _stream(data["output"]), int(data["word_bits"]))
    if (p / "approxhls.json").exists():
        path = p / "approxhls.json"
        meta = schema.read_json(path)
        schema.check(meta, _PROJECT_SCHEMA, path)
        out_type = next((r.get("types", {}).get("result_t") for r in reversed(meta["layers"])
                         if isinstance(r.get("types"), dict) and "result_t" in r["types"]), None)
        if out_type is None:
            raise ProjectError(f"{path}: no layer has 'types.result_t': the project is damaged; convert it again")
        return TargetSpec("project", p, meta,
                          Stream(meta["input_shape"], FixedType.parse(meta["input_precision"]), 0),
                          Stream(meta["output_shape"], FixedType.parse(out_type), 0), 64)
    if not p.exists():
        raise ProjectError(f"{target} does not exist: give an overlay directory or a converted project")
    raise ProjectError(f"{target} is neither an overlay directory ({OVERLAY_JSON}) nor a converted project "
                       f"(approxhls.json)")


def load_golden(spec: TargetSpec) -> tuple:
    """golden.npz's inputs (n, elements) and output words (n, words), checked against overlay.json."""
    from approxhls.host import packing

    path = spec.dir / GOLDEN_NPZ
    if spec.kind != "overlay" or not path.exists():
        raise ProjectError(f"{path} is missing: the self-test needs the overlay's golden vectors; write them with "
                           f"`approxhls overlay PROJECT --out {spec.dir} --force` (--golden N, the default 64)")
    g = schema.load_npz(path, {"x": "f", "words": "iu"})
    x, words = g["x"], g["words"]
    n = len(x)
    if n < 1:
        raise schema.SchemaError(f"{path}: key 'x' holds no samples")
    schema.check_rows(path, "x", x, None, spec.input.elements)
    out_words = packing.words_per_sample(spec.output.elements, spec.output.field_bits, spec.word_bits)
    schema.check_rows(path, "words", words.reshape(len(words), -1) if words.ndim else words, n, out_words)
    if n > int(spec.data["max_batch"]):
        raise schema.SchemaError(f"{path}: key 'x' has {n} samples, more than the overlay's batch "
                                 f"{spec.data['max_batch']}")
    return x.reshape(n, -1).astype(np.float64), words.reshape(n, -1).astype(np.uint64)


def load_samples(spec: TargetSpec) -> tuple | None:
    """The overlay's shipped samples (x (n, elements), y, name), checked; None when the overlay ships none."""
    shipped = spec.data.get("dataset") if spec.kind == "overlay" else None
    if not shipped:
        return None
    path = spec.dir / shipped["file"]
    d = schema.load_npz(path, {"x": "f", "y": "iu", "name": "U"})
    x, y = d["x"], d["y"]
    schema.check_rows(path, "x", x, None, spec.input.elements)
    if y.ndim != 1 or len(y) != len(x):
        raise schema.SchemaError(f"{path}: key 'y' has shape {y.shape}, expected ({len(x)},): one label per sample")
    if len(y) and (y.min() < 0 or y.max() >= spec.output.elements):
        raise schema.SchemaError(f"{path}: key 'y' holds labels outside 0..{spec.output.elements - 1}")
    return x.reshape(len(x), -1).astype(np.float64), y.astype(np.int64), str(d["name"])
