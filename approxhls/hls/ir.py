"""A small, framework-free description of a converted network that every evaluator reads.

At conversion time :func:`extract_ir` walks hls4ml's ModelGraph and records, per node, its operation,
its input and output variables, the fixed-point types of its result/accumulator/weights, geometry
(convolution strides and padding, pooling windows) and its weights as integer codes. It is saved in
the project (``ir.json`` + ``ir_weights.npz``) so the reference evaluator and the emulator run without
hls4ml or TensorFlow. Operations (:data:`OPS`) are the layer kinds the zoo produces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from approxhls.errors import ProjectError, UnsupportedLayerError
from approxhls.fixedpoint import FixedType

IR_JSON = "ir.json"
IR_WEIGHTS = "ir_weights.npz"
OPS = ("input", "dense", "conv2d", "scale_bias", "relu", "cast", "pool_max", "pool_avg", "reshape", "add",
       "zeropad", "identity")
MULTIPLYING = ("dense", "conv2d")


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
    def multiplies(self) -> bool:
        return self.op in MULTIPLYING


@dataclass
class IR:
    nodes: list[Node]
    input_type: str
    output: str

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

    def input_type_of(self, node: Node) -> FixedType:
        """The fixed-point type of a node's (first) input variable."""
        return self.producer(node.inputs[0]).type()

    def multiplying_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.multiplies]

    # ---- persistence ------------------------------------------------------------------------------
    def save(self, directory) -> None:
        d = Path(directory)
        meta = {"input_type": self.input_type, "output": self.output,
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
            nodes.append(Node(**m, weights=weights))
        return cls(nodes, meta["input_type"], meta["output"])


# ---- extraction from hls4ml ---------------------------------------------------------------------------

def _codes(weight_var, type_str: str, strict: bool = True) -> np.ndarray:
    t = FixedType.parse(type_str)
    data = np.asarray(weight_var.data, dtype=np.float64)
    codes = np.ldexp(data, t.frac)
    if not strict:  # off-grid parameters (float scales): what the C++ cast (AP_TRN) makes of them
        return np.floor(codes).astype(np.int64)
    if not np.array_equal(codes, np.round(codes)):
        raise UnsupportedLayerError(f"weights {weight_var.name} are not on the grid of {type_str}")
    return codes.astype(np.int64)


_GEOMETRY = ("in_height", "in_width", "n_chan", "n_filt", "filt_height", "filt_width", "stride_height",
             "stride_width", "out_height", "out_width", "pad_top", "pad_bottom", "pad_left", "pad_right",
             "pool_height", "pool_width", "n_in", "n_out")


def extract_ir(hls_model, strict: bool = True) -> IR:
    """The IR of a converted model; ``strict=False`` accepts parameters off their type's grid (for counting)."""
    nodes = []
    for layer in hls_model.get_layers():
        cls = layer.class_name
        types = {k.removesuffix("_t"): str(v.precision) for k, v in layer.types.items()
                 if k in ("result_t", "accum_t", "weight_t", "bias_t", "scale_t")}
        attrs = {k: int(layer.get_attr(k)) for k in _GEOMETRY if isinstance(layer.get_attr(k), (int, np.integer))}
        weights = {}
        if cls == "Input":
            op = "input"
        elif cls == "Dense":
            op = "dense"
        elif cls in ("Conv2D", "Conv2DBatchnorm", "PointwiseConv2D"):
            op = "conv2d"
        elif cls in ("ApplyAlpha", "BatchNormalization"):
            op = "scale_bias"
        elif cls == "Activation":
            act = str(layer.get_attr("activation")).lower()
            if act not in ("relu", "linear"):
                raise UnsupportedLayerError(f"layer {layer.name!r} (activation {act}) cannot be evaluated exactly")
            op = "relu" if act == "relu" else "cast"
        elif cls == "Pooling2D":
            op = "pool_max" if layer.get_attr("pool_op") == "Max" else "pool_avg"
            if any(layer.get_attr(p, 0) for p in ("pad_top", "pad_bottom", "pad_left", "pad_right")):
                raise UnsupportedLayerError(f"pooling layer {layer.name!r} with padding is not supported")
        elif cls == "Reshape":
            op = "reshape"
        elif cls == "Merge":
            if layer.get_attr("op") != "add":
                raise UnsupportedLayerError(f"merge layer {layer.name!r} ({layer.get_attr('op')}) is not supported")
            op = "add"
        elif cls == "ZeroPadding2D":
            op = "zeropad"
        elif cls == "Clone":
            op = "identity"
        else:
            raise UnsupportedLayerError(f"layer {layer.name!r} of hls4ml class {cls} cannot be evaluated by approxhls")
        for wname in ("weight", "bias", "scale"):
            if wname in layer.weights and f"{wname}" in types:
                weights[wname] = _codes(layer.weights[wname], types[wname], strict)
        if op == "scale_bias":
            weights["scale"] = weights["scale"].reshape(-1)
        nodes.append(Node(
            name=layer.name, op=op, inputs=list(layer.inputs), outputs=list(layer.outputs),
            shape=[int(d) for d in layer.get_output_variable().shape], types=types, attrs=attrs, weights=weights,
        ))
    return IR(nodes, nodes[0].types["result"], hls_model.outputs[0])
