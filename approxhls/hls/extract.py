"""hls4ml's ModelGraph -> approxhls' IR (:mod:`approxhls.sim.ir`): the one place that reads hls4ml layers.

Every layer is handed to the operation that claims it (:func:`approxhls.sim.ops.op_for_layer`), which builds
its node through the :class:`Extractor` helpers here: fixed-point types, geometry, parameters read exactly as
the C++ reads them (hls4ml writes each value as decimal text with as many digits as its type has fractional
bits; the C++ parses a double and converts it with the type's rounding and overflow), products of power-of-two
and binary weights, and the lookup tables of table-based activations (made by hls4ml's own C++).
"""

from __future__ import annotations

import numpy as np

from approxhls.errors import UnsupportedLayerError
from approxhls.fixedpoint import FixedType
from approxhls.hls.tables import TableSpec, make_tables
from approxhls.sim.assignment import ShiftProduct
from approxhls.sim.ir import IR, Node
from approxhls.sim.ops import op_for_layer


def _precision(named_type):
    return getattr(named_type, "precision", named_type)


def kind_of(precision) -> str:
    """fixed, exponent (power-of-two weights), xnor (binary) or other (unspecified, float)."""
    from hls4ml.model.types import (
        ExponentPrecisionType,
        FixedPrecisionType,
        IntegerPrecisionType,
        XnorPrecisionType,
    )

    if isinstance(precision, ExponentPrecisionType):
        return "exponent"
    if isinstance(precision, XnorPrecisionType):
        return "xnor"
    if isinstance(precision, (FixedPrecisionType, IntegerPrecisionType)):
        return "fixed"
    return "other"


def fixed(precision) -> FixedType | None:
    """A FixedType for hls4ml's fixed/integer precisions (None for exponent, xnor or unspecified ones)."""
    if kind_of(precision) != "fixed":
        return None
    return FixedType.parse(str(precision))


def keras_order(layer, kernel: np.ndarray) -> np.ndarray:
    """A kernel in Keras' order (inputs ..., outputs): hls4ml's resource strategy stores Dense, convolution and
    recurrent kernels outputs first (its ApplyResourceStrategy pass), and its C++ reads them that way."""
    return np.moveaxis(kernel, 0, -1) if layer.get_attr("_weights_transposed", False) else kernel


def _note_hls4ml_changes(node: Node, layer) -> None:
    """What hls4ml changed about a MAC layer's arithmetic, noted on its node."""
    scaled_by = layer.get_attr("approxhls_scaled_by")
    if scaled_by and scaled_by not in layer.model.graph:  # the scale went into a later layer's arithmetic
        node.attrs["scale_moved"] = ("hls4ml applies the kernel quantizer's alpha scale after this layer, merged "
                                     "into a later layer: this layer's output is the unscaled sum")
    bias = layer.weights.get("bias")
    if bias is not None and kind_of(_precision(bias.type)) != "fixed":
        node.attrs["product_note"] = "hls4ml's binary-network path replaced this layer's biases by zeros"


class Extractor:
    def __init__(self, hls_model):
        self.io_type = hls_model.config.get_config_value("IOType")
        self._tables: list[tuple[Node, str, TableSpec]] = []

    # ---- helpers the operations call ----------------------------------------------------------------------
    def types(self, layer) -> dict[str, str]:
        out = {}
        for k, v in layer.types.items():
            t = fixed(_precision(v))
            if t is not None and k != "index_t":
                out[k.removesuffix("_t")] = str(t)
        return out

    keras_order = staticmethod(keras_order)

    @staticmethod
    def int_attrs(layer, keys) -> dict:
        return {k: int(layer.get_attr(k)) for k in keys if isinstance(layer.get_attr(k), (bool, int, np.integer))}

    @staticmethod
    def codes(var, t: FixedType) -> tuple[np.ndarray, bool]:
        """The codes the C++ holds for a weight variable (parsed from hls4ml's own text), and whether the values
        were on the type's grid (else the hardware rounds them)."""
        data = np.asarray(var.data, dtype=np.float64)
        text = np.array([float(s) for s in var], dtype=np.float64).reshape(data.shape)
        return t.to_codes(text), bool(t.contains(data))

    def node(self, layer, op: str, attrs: dict | None = None, weights=()) -> Node:
        types = self.types(layer)
        node = Node(name=layer.name, op=op, inputs=list(layer.inputs), outputs=list(layer.outputs),
                    shape=[int(d) for d in layer.get_output_variable().shape], types=types,
                    attrs={"source_class": layer.class_name} | dict(attrs or {}))
        on_grid = True
        for w in weights:
            if w in layer.weights and w in types:
                node.weights[w], ok = self.codes(layer.weights[w], FixedType.parse(types[w]))
                on_grid &= ok
        if weights:
            node.attrs["on_grid"] = on_grid
        if layer.get_attr("activation_quantizer") or layer.get_attr("trusted"):
            node.attrs["quantizer"] = True
        return node

    def mac_node(self, layer, op: str, attrs: dict) -> Node:
        """A Dense/Conv node: weights and biases as codes, and the product hls4ml's types select."""
        node = self.node(layer, op, attrs, weights=("bias",))
        var = layer.weights["weight"]
        precision = _precision(var.type)
        x_t = self._mac_input_type(node, layer)
        _note_hls4ml_changes(node, layer)
        read = getattr(self, self.WEIGHT_READERS.get(kind_of(precision), "_fixed_weights"))
        read(node, layer, var, precision, x_t)
        if "bias" not in node.weights:
            node.weights["bias"] = np.zeros(node.shape[-1], dtype=np.int64)
            node.types["bias"] = "ap_int<2>"
        if "accum" not in node.types:
            raise UnsupportedLayerError(f"layer {layer.name!r} ({layer.class_name}): hls4ml left its accumulator type "
                                        f"unspecified; quantize its weights and input")
        return node

    # weight precision kind (kind_of) -> the method that reads a MAC layer's weights of that kind (else fixed point)
    WEIGHT_READERS = {"exponent": "_po2_weights", "xnor": "_binary_weights"}

    @staticmethod
    def _mac_input_type(node: Node, layer) -> FixedType:
        """The MAC's input type; binary activations (hls4ml's xnor type) hold 0/1 for -1/+1."""
        if kind_of(layer.get_input_variable().type.precision) == "xnor":
            node.attrs["binary_input"] = True
            return FixedType(2, 2, True)
        return fixed(layer.get_input_variable().type.precision)

    def _po2_weights(self, node: Node, layer, var, precision, x_t: FixedType) -> None:
        self._po2(node, keras_order(layer, np.asarray(var.data, dtype=np.float64)), precision, x_t)

    @staticmethod
    def _binary_weights(node: Node, layer, var, precision, x_t: FixedType) -> None:
        """Binary weights, stored 0/1 for -1/+1 (hls4ml's product weight_binary, or both_binary)."""
        node.weights["weight"] = 2 * keras_order(layer, np.asarray(var.data, dtype=np.int64)) - 1
        node.types["weight"] = "ap_int<2>"
        node.attrs |= {"quantized_weights": True, "product": "both_binary" if node.attrs.get("binary_input")
                       else "weight_binary"}

    def _fixed_weights(self, node: Node, layer, var, precision, x_t: FixedType) -> None:
        node.weights["weight"], node.attrs["quantized_weights"] = self.codes(var, FixedType.parse(node.types["weight"]))
        node.weights["weight"] = keras_order(layer, node.weights["weight"])
        w_t = FixedType.parse(node.types["weight"])
        if w_t.width == 2 and w_t.integer == 2 and w_t.signed:  # hls4ml's weight_ternary product
            node.attrs["product"] = "weight_ternary"
        elif node.attrs.get("binary_input"):
            node.attrs["product"] = "data_binary"

    @staticmethod
    def input_type(layer) -> FixedType:
        return fixed(layer.get_input_variable().type.precision)

    @staticmethod
    def _po2(node: Node, data: np.ndarray, precision, x_t: FixedType) -> None:
        if not np.all(data != 0):
            raise UnsupportedLayerError(f"layer {node.name!r}: a power-of-two weight is 0, which hls4ml's exponent "
                                        f"type cannot hold; use quantized_bits weights for this layer")
        shift = ShiftProduct(x_t, int(precision.width), node.name)
        if shift.r_width > 62:
            raise UnsupportedLayerError(f"layer {node.name!r}: power-of-two weights read a {x_t} input, whose shifted "
                                        f"products are {shift.r_width} bits wide; quantize the layer's input (a "
                                        f"QActivation before it)")
        node.weights["weight"] = shift.encode(data)
        node.types["weight"] = str(shift.w_type)
        node.attrs |= {"product": "po2", "exp_bits": shift.exp_bits, "x_type": str(x_t), "product_frac": shift.frac,
                       "quantized_weights": True}
        if shift.truncates(node.weights["weight"]):
            node.attrs["product_note"] = (f"power-of-two products truncated: hls4ml shifts in a type with {shift.frac} "
                                          f"fractional bits, x*2^e needs more for the smallest weights")

    def table(self, node: Node, key: str, kind: str, size: int, t: FixedType, index_type: FixedType | None = None,
              exp_scale: float = 1.0) -> None:
        """Ask for a lookup table (all tables of a model are made by one compiled program, after the walk)."""
        self._tables.append((node, key, TableSpec(kind, size, t, index_type, exp_scale)))

    def softmax_node(self, layer, op: str) -> Node:
        """hls4ml's softmax config, computed as its config template does (core_templates.py)."""
        size = int(layer.get_attr("table_size", 1024))
        a = {"implementation": str(layer.get_attr("implementation", "stable")),
             "n_in": int(layer.get_attr("n_in")), "n_inner": int(layer.get_attr("n_inner", 1)),
             "n_outer": int(layer.get_attr("n_outer", 1)),
             "exp_table_size": int(layer.get_attr("exp_table_size", size)),
             "inv_table_size": int(layer.get_attr("inv_table_size", size)),
             "exp_scale": float(layer.get_attr("exp_scale", 1.0))}
        a["n_slice"] = a["n_in"] // a["n_inner"] // a["n_outer"]
        node = self.node(layer, op, a)
        in_t = fixed(layer.get_input_variable().type.precision)
        if layer.types["inv_inp_t"].name == "model_default_t":
            node.types["inv_inp"] = node.types["exp_table"]
        if a["implementation"] == "stable":
            if layer.get_attr("inp_norm_t") is not None:
                norm = fixed(_precision(layer.get_attr("inp_norm_t")))
            else:
                norm = FixedType(in_t.width - in_t.signed, in_t.integer - in_t.signed, False)
                if in_t.signed:
                    a["exp_table_size"] = min(a["inv_table_size"], 2 ** norm.width)
            node.types["inp_norm"] = str(norm)
            node.attrs.update(a)
            index_t, exp_kind = norm, "exp_negative"
        else:
            index_t, exp_kind = in_t, "exp"
        if a["implementation"] == "legacy":
            t = node.type("table")
            self.table(node, "exp_table", "exp_legacy", a["exp_table_size"], t)
            self.table(node, "inv_table", "invert_legacy", a["inv_table_size"], t)
        elif a["implementation"] != "argmax":
            self.table(node, "exp_table", exp_kind, node.attrs["exp_table_size"], node.type("exp_table"), index_t,
                       a["exp_scale"])
            self.table(node, "inv_table", "invert", a["inv_table_size"], node.type("inv_table"), node.type("inv_inp"))
        return node

    # ---- the walk ----------------------------------------------------------------------------------------
    def extract(self, hls_model) -> IR:
        nodes = []
        for layer in hls_model.get_layers():
            op = op_for_layer(layer)
            if op is None:
                raise UnsupportedLayerError(_unsupported(layer))
            nodes += type(op).extract(layer, self)
        for (node, key, _), table in zip(self._tables, make_tables([s for _, _, s in self._tables])):
            node.weights[key] = table
        offset = 0
        for name in hls_model.inputs:  # a sample is the model's inputs side by side
            node = next(n for n in nodes if n.name == name)
            node.attrs["offset"] = offset
            offset += int(np.prod(node.shape))
        return IR(nodes, nodes[0].types["result"], hls_model.outputs[0], list(hls_model.outputs))


def _unsupported(layer) -> str:
    what = layer.class_name
    detail = layer.get_attr("activation") or layer.get_attr("op") or layer.get_attr("pool_op")
    if detail:
        what += f" ({detail})"
    return (f"layer {layer.name!r} becomes hls4ml's {what}, which approxhls cannot evaluate bit-exactly; "
            f"the layers approxhls supports are listed by `approxhls info`")


def extract_ir(hls_model) -> IR:
    """The IR of a converted model: every parameter as the C++ holds it (values off their type's grid are
    rounded as the C++ rounds them, and the node says so)."""
    return Extractor(hls_model).extract(hls_model)
