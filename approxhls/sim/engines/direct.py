"""Sums of a convolution by TensorFlow's convolutions on the layer's input codes, without im2col rows
(:mod:`approxhls.sim.directconv`): ``conv2d`` (float32, channels cut into chunks exact by their bound) and
``conv2d-int8`` (oneDNN's u8 x s8 -> s32, on VNNI/AMX cores). Both compute the layer's GEMM engine's products (its
weight rows and input features), which is their rows twin. They apply where TensorFlow is loaded (or the options
load it): importing it is not the emulator's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from approxhls.sim.directconv import DIRECT_ENGINES, tensorflow
from approxhls.sim.engines.base import OnCodes


@dataclass(eq=False)
class DirectEngine(OnCodes):
    """A direct convolution (``kernel``: DirectConv or Int8Conv) of the products of ``twin``, a GEMM engine."""

    name: str

    @property
    def method(self) -> str:
        return self.twin.method

    @property
    def dtype(self) -> str:
        return self.twin.dtype

    @property
    def label(self) -> str:
        return self.name


def builder(name: str):
    """The builder of the direct convolution ``name`` (of DIRECT_ENGINES)."""
    convolution = DIRECT_ENGINES[name]

    def build(layer) -> DirectEngine | None:
        gemm, node = layer.gemm, layer.node
        if (gemm is None or node.op != "conv" or node.attrs.get("binary_input") or name not in layer.options.direct
                or tensorflow(load=layer.options.load_tensorflow) is None):
            return None
        k = gemm.kernels[0]
        conv = convolution(node, k.weights, k.features, k.x_min, k.x_max)
        return DirectEngine(conv, gemm, name) if conv.ok else None

    return build
