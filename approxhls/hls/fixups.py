"""Defects of hls4ml 1.3.0's generated projects that approxhls repairs in every project it writes.

Each fix is a literal replacement in one file of the written project, applied only where the defective text
is present, and recorded in the project's convert.log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Fixup:
    path: str
    old: str
    new: str
    why: str


FIXUPS = [
    Fixup("firmware/nnet_utils/nnet_sepconv1d_latency.h",
          "#ifndef NNET_SEPARABLE_CONV2D_LATENCY_H_\n#define NNET_SEPARABLE_CONV2D_LATENCY_H_",
          "#ifndef NNET_SEPARABLE_CONV1D_LATENCY_H_\n#define NNET_SEPARABLE_CONV1D_LATENCY_H_",
          "nnet_sepconv1d_latency.h reuses nnet_sepconv2d_latency.h's include guard, so a model with 1D and 2D "
          "depthwise convolutions does not compile under io_parallel"),
]


def apply_fixups(project: Path) -> list[str]:
    """Repair the written project; returns what was repaired."""
    done = []
    for f in FIXUPS:
        p = Path(project) / f.path
        if p.is_file() and f.old in (text := p.read_text()):
            p.write_text(text.replace(f.old, f.new))
            done.append(f"{f.path}: {f.why}")
    return done
