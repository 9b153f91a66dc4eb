"""What the stream wrapper needs to know about a converted project's hls4ml top function.

Read from the project's ports, which the conversion recorded (argument names, C types, element types, shapes
and stream chunks), and its io type: nothing is parsed out of the generated C++.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from approxhls.errors import ProjectError
from approxhls.fixedpoint import FixedType
from approxhls.project import Project

FIELD_CHOICES = (8, 16, 32, 64)


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


def read_kernel(prj) -> Kernel:
    """The project's top function as its conversion recorded it (argument names, C types, element types, shapes
    and stream chunks: :meth:`approxhls.project.Project.ports`), checked to be one input and one output."""
    project = Project.load(prj)
    project.require_single_io("the stream wrapper of an overlay")
    ports = []
    for p in project.ports():
        port = Port(p.name, p.ctype, FixedType.parse(p.precision), list(p.shape))
        port.chunk = p.chunk if project.io_type == "io_stream" else 1
        if port.elements % port.chunk:
            raise ProjectError(f"{project.dir}: port {p.name} has {port.elements} elements in chunks of {p.chunk}; "
                               f"re-create the project with `approxhls convert`")
        ports.append(port)
    meta = project.meta | {"dir": str(prj)}
    return Kernel(project.name, project.io_type, ports[0], ports[1], meta["part"], Path(prj), project.plan, meta)
