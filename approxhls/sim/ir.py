"""A small, framework-free description of a converted network that every evaluator reads.

At conversion time :func:`approxhls.hls.extract.extract_ir` walks hls4ml's ModelGraph and records, per node,
its operation (one registered class in :mod:`approxhls.sim.ops`), its input and output variables, the
fixed-point types of its result/accumulator/weights/tables, its geometry (strides, padding, windows) and its
parameters as integer codes (weights, and lookup tables dumped from hls4ml's own C++). It is saved in the
project (``ir.json`` + ``ir_weights.npz``) so the reference evaluator and the emulator run without hls4ml or
TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from approxhls.errors import ProjectError
from approxhls.fixedpoint import FixedType

IR_JSON = "ir.json"
IR_WEIGHTS = "ir_weights.npz"
IR_VERSION = 2
# IR version 1 (projects converted by earlier releases): op name -> (op name, attributes it implied)
LEGACY_OPS = {"conv2d": ("conv", {}), "add": ("merge", {"op": "add"})}


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]
    outputs: list[str]
    shape: list[int]
    types: dict[str, str]
    attrs: dict = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # integer codes

    def type(self, key: str = "result") -> FixedType:
        return FixedType.parse(self.types[key])

    @property
    def operation(self):
        from approxhls.sim.ops import get_op

        return get_op(self.op)

    @property
    def multiplies(self) -> bool:
        return self.operation.multiplies


@dataclass
class IR:
    nodes: list[Node]
    input_type: str
    output: str                      # the first output (most networks have one)
    outputs: list[str] = None        # every output, in the order of the model's outputs

    def __post_init__(self):
        if self.outputs is None:
            self.outputs = [self.output]

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def producer(self, var: str) -> Node:
        for n in self.nodes:
            if var in n.outputs:
                return n
        raise KeyError(var)

    def consumers(self) -> dict[str, list[Node]]:
        """Variable -> the nodes that read it."""
        out: dict[str, list[Node]] = {}
        for n in self.nodes:
            for i in n.inputs:
                out.setdefault(i, []).append(n)
        return out

    def input_type_of(self, node: Node) -> FixedType:
        """The fixed-point type of a node's (first) input variable (binary activations, stored as 0/1 codes of
        ap_uint<1> for -1/+1, read by a multiplying node as ap_int<2> values)."""
        if node.attrs.get("binary_input"):
            return FixedType(2, 2, True)
        return self.producer(node.inputs[0]).type()

    def multiplying_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.multiplies]

    def plannable_nodes(self) -> list[Node]:
        """Multiplying nodes whose hls4ml product is a multiplication (``mult``), the one a plan can replace;
        power-of-two weights shift, binary/ternary weights select."""
        return [n for n in self.multiplying_nodes() if n.attrs.get("product", "mult") == "mult"]

    # ---- persistence ------------------------------------------------------------------------------
    def save(self, directory) -> None:
        d = Path(directory)
        meta = {"version": IR_VERSION, "input_type": self.input_type, "output": self.output, "outputs": self.outputs,
                "nodes": [{k: getattr(n, k) for k in ("name", "op", "inputs", "outputs", "shape", "types", "attrs")}
                          for n in self.nodes]}
        (d / IR_JSON).write_text(json.dumps(meta, indent=1))
        arrays = {f"{n.name}/{k}": v for n in self.nodes for k, v in n.weights.items()}
        np.savez_compressed(d / IR_WEIGHTS, **arrays)

    @classmethod
    def load(cls, directory) -> "IR":
        d = Path(directory)
        if not (d / IR_JSON).exists():
            raise ProjectError(f"{d} has no {IR_JSON}; re-create the project with `approxhls convert`")
        meta = json.loads((d / IR_JSON).read_text())
        with np.load(d / IR_WEIGHTS) as w:
            arrays = {k: w[k] for k in w.files}
        nodes = []
        for m in meta["nodes"]:
            weights = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.split("/", 1)[0] == m["name"]}
            if m["op"] in LEGACY_OPS:
                op, implied = LEGACY_OPS[m["op"]]
                m = dict(m, op=op, attrs=implied | m["attrs"])
            if m["op"] == "input":
                m = dict(m, inputs=[])  # version 1 listed the graph input's name
            nodes.append(Node(**m, weights=weights))
        return cls(nodes, meta["input_type"], meta["output"], meta.get("outputs"))
