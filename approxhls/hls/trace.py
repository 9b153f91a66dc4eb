"""Every layer's output three ways: Keras (one sub-model per layer), the emulator and the traced C-simulation.

A traced build is the project's own conversion written once more with hls4ml's tracing on (every layer's output
readable through the bridge); its arithmetic is the project's (tracing adds only copies outside synthesis).
``approxhls diff`` prints the rows; ``convert --verify`` stops at a layer claimed exact that differs from Keras.

An IR node is compared with the Keras layer it stands for (:func:`keras_sources`): the layer of its name, or, for a
node hls4ml inserts after a layer (``c1_relu`` for a QConv2D's float activation, ``sep_pointwise`` of a separable
convolution), that layer when the node is the last one derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _component_of(node_name: str, keras_names: list[str]) -> str | None:
    """The Keras layer a node hls4ml made from it is named after: ``c1_relu`` (a prefix) or ``bnbt_t1_scale`` (a
    component); the longest name wins."""
    for k in sorted(keras_names, key=len, reverse=True):
        if node_name.startswith(k + "_") or f"_{k}_" in f"_{node_name}_":
            return k
    return None


def keras_sources(ir, keras_graph: list[tuple[str, list[str], bool]]) -> dict[str, str]:
    """IR node -> the Keras layer whose output it equals (the last node derived from each layer).

    ``keras_graph``: (layer name, names of its inbound layers, whether hls4ml may fold it into its parent) in model
    order. A layer with no node of its own that hls4ml folds into its parent without changing the parent's values
    (a Dropout, a linear quantizer merged into the parent's result type) takes over its parent's node; any other
    layer without a node is not compared."""
    keras_names = [name for name, _, _ in keras_graph]
    last = {}  # Keras layer -> the last node derived from it
    for node in ir.nodes:
        k = node.name if node.name in keras_names else _component_of(node.name, keras_names)
        if k is not None:
            last[k] = node.name
    for name, inbound, folds in keras_graph:
        if name not in last and folds and len(inbound) == 1 and inbound[0] in last:
            last[name] = last.pop(inbound[0])
    return {n: k for k, n in last.items()}


def _folds_into_parent(layer) -> bool:
    """Dropout, a linear activation, or a QActivation with a linear quantizer (quantized_bits): hls4ml folds these
    into the layer before them, whose output then equals theirs."""
    cls = type(layer).__name__
    if cls == "Dropout":
        return True
    act = getattr(layer, "quantizer", None) or layer.get_config().get("activation")
    name = act if isinstance(act, str) else type(act).__name__
    return cls in ("Activation", "QActivation") and str(name).split("(")[0] in ("linear", "quantized_bits")


def keras_graph(model) -> list[tuple[str, list[str], bool]]:
    graph = []
    for layer in model.layers:
        inbound = []
        for node in layer.inbound_nodes:
            layers = node.inbound_layers if isinstance(node.inbound_layers, list) else [node.inbound_layers]
            inbound += [lay.name for lay in layers]
        graph.append((layer.name, inbound, _folds_into_parent(layer)))
    return graph


def keras_inputs(model, x: np.ndarray):
    """Samples as approxhls holds them (a sample: the model's inputs side by side) -> what Keras takes."""
    x = np.asarray(x)
    if len(model.inputs) == 1:
        return x.reshape((len(x), *model.inputs[0].shape[1:]))
    n, parts, start = len(x), [], 0
    flat = x.reshape(n, -1)
    for t in model.inputs:
        shape = tuple(int(d) for d in t.shape[1:])
        size = int(np.prod(shape))
        parts.append(flat[:, start:start + size].reshape((n, *shape)))
        start += size
    return parts


def keras_predict(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's outputs (n, elements) float64, several outputs side by side in the model's order."""
    outs = model.predict(keras_inputs(model, x), batch_size=batch_size, verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    return np.concatenate([np.asarray(o, dtype=np.float64).reshape(len(x), -1) for o in outs], axis=1)


def keras_layer_outputs(model, names: list[str], x) -> dict[str, np.ndarray]:
    """(n, elements) float64 outputs of the named Keras layers on x."""
    from tensorflow import keras

    if not names:
        return {}
    outs = keras.Model(model.inputs, [model.get_layer(k).output for k in names]).predict(keras_inputs(model, x),
                                                                                        verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    return {k: np.asarray(o, dtype=np.float64).reshape(len(x), -1) for k, o in zip(names, outs)}


def first_difference(a: np.ndarray, b: np.ndarray):
    """(sample, index, a value, b value) of the first element where a and b differ, or None."""
    bad = np.argwhere(a != b)
    if not len(bad):
        return None
    s, i = map(int, bad[0])
    return s, i, float(a[s, i]), float(b[s, i])


@dataclass
class LayerTrace:
    """One IR node's output from each evaluator (None where an evaluator cannot see it)."""

    node: object
    keras_layer: str | None
    keras: np.ndarray | None
    emulator: np.ndarray | None
    csim: np.ndarray | None


def trace_layers(traced_dir, ir, assignments: dict, model, x) -> tuple[np.ndarray, list[LayerTrace]]:
    """The traced C-simulation's outputs and every node's output from Keras, the emulator and the C-simulation."""
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator

    sizes = {n.name: int(np.prod(n.shape)) for n in ir.nodes}
    y_csim, traces = CSimLibrary(traced_dir).trace(x, sizes)
    emulated: dict[str, list] = {}
    Emulator(ir, assignments).predict(x, observe=lambda node, codes, t: emulated.setdefault(node.name, []).append(
        t.from_codes(codes).reshape(len(codes), -1)))
    sources = keras_sources(ir, keras_graph(model))
    keras_out = keras_layer_outputs(model, sorted(set(sources.values())), x)
    rows = []
    for node in ir.nodes:
        c = traces.get(node.name)
        if c is None and node.name == ir.output:
            c = y_csim
        e = emulated.get(node.name)
        k = keras_out.get(sources.get(node.name, ""))
        rows.append(LayerTrace(node, sources.get(node.name), k, None if e is None else np.concatenate(e), c))
    return y_csim, rows
