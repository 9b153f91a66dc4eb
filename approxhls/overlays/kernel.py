"""What the stream wrapper needs to know about a converted project's hls4ml top function.

Read from the project: the top prototype in ``firmware/NAME.h`` (argument names and array sizes), the io
type, and the fixed-point types of the input and of the last layer's result (approxhls.json).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from approxhls.errors import ProjectError
from approxhls.fixedpoint import FixedType
from approxhls.sim.project import load_project

FIELD_CHOICES = (8, 16, 32, 64)
_PARALLEL_ARG = re.compile(r"^\s*(\w+)\s+(\w+)\s*\[\s*(\d+)\s*\]\s*$")
_STREAM_ARG = re.compile(r"^\s*hls::stream<\s*(\w+)\s*>\s*&\s*(\w+)\s*$")


@dataclass
class Port:
    arg: str           # argument name of the top function
    ctype: str         # input_t / result_t as defined in defines.h
    type: FixedType    # element type
    shape: list[int]
    chunk: int = 1     # io_stream: elements per stream entry (nnet::array size)

    @property
    def elements(self) -> int:
        return math.prod(int(d) for d in self.shape)

    @property
    def field_bits(self) -> int:
        """The smallest byte-multiple field that holds one element (a field never straddles a word)."""
        return next(f for f in FIELD_CHOICES if f >= self.type.width)


@dataclass
class Kernel:
    name: str
    io_type: str
    input: Port
    output: Port
    part: str
    dir: Path
    plan: dict
    meta: dict = field(default_factory=dict, repr=False)  # the project's approxhls.json


def _prototype_args(header: Path, name: str) -> list[str]:
    text = header.read_text()
    m = re.search(rf"void\s+{re.escape(name)}\s*\((.*?)\)\s*;", text, re.S)
    if not m:
        raise ProjectError(f"{header} has no prototype of the top function {name}(); re-create the project "
                           f"with `approxhls convert`")
    return [a for a in (s.strip() for s in m.group(1).split(",")) if a]


def _array_size(defines: str, ctype: str) -> int:
    m = re.search(rf"typedef\s+nnet::array<.*,\s*([\d\s*]+)>\s+{re.escape(ctype)}\s*;", defines)
    if not m:
        raise ProjectError(f"defines.h has no nnet::array typedef of {ctype}")
    return math.prod(int(f) for f in m.group(1).split("*"))


def read_kernel(prj) -> Kernel:
    meta = load_project(prj)
    name, io_type = meta["project_name"], meta["io_type"]
    args = _prototype_args(Path(prj) / "firmware" / f"{name}.h", name)
    if len(args) != 2:
        raise ProjectError(f"the top function {name}() has {len(args)} arguments; the stream wrapper supports "
                           f"one input and one output")
    pattern = _PARALLEL_ARG if io_type == "io_parallel" else _STREAM_ARG
    parsed = [pattern.match(a) for a in args]
    if not all(parsed):
        raise ProjectError(f"cannot read the {io_type} top function {name}({', '.join(args)})")
    out_type = next(r["types"]["result_t"] for r in reversed(meta["layers"]) if "result_t" in r["types"])
    defines = (Path(prj) / "firmware" / "defines.h").read_text()
    in_type = FixedType.parse(meta["input_precision"])
    ports = []
    for m, t, shape in zip(parsed, (in_type, FixedType.parse(out_type)), (meta["input_shape"], meta["output_shape"])):
        ctype, arg = m.group(1), m.group(2)
        port = Port(arg, ctype, t, [int(s) for s in shape])
        if io_type == "io_stream":
            port.chunk = _array_size(defines, ctype)
        if io_type == "io_parallel" and int(m.group(3)) != port.elements:
            raise ProjectError(f"{name}(): {arg}[{m.group(3)}] does not match the shape {shape} in approxhls.json")
        ports.append(port)
    return Kernel(name, io_type, ports[0], ports[1], meta["part"], Path(prj), meta.get("plan") or {}, meta)
