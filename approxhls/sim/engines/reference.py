"""The reference evaluator's multiply-accumulate, product by product in order: the only exact way where the
accumulator rounds each product or saturates, or where the inputs are too wide for a product table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from approxhls.fixedpoint import FixedType
from approxhls.sim.engines.base import ROWS, Engine
from approxhls.sim.reference import reference_mac


@dataclass(eq=False)
class ReferenceEngine(Engine):
    """``assignment``: the layer's product (exact, a table, or computed product by product)."""

    assignment: object
    name = "reference"
    method = "reference"
    dtype = None
    label = "numpy"
    reads = ROWS
    ordered = True

    def result(self, x: np.ndarray, w: np.ndarray, bias: np.ndarray, node, x_t: FixedType) -> np.ndarray:
        """The result codes of one weight group ``w`` (k, out) with its ``bias`` on rows ``x`` (before any ReLU)."""
        return reference_mac(np.asarray(x, dtype=np.int64), w, bias, node, x_t, self.assignment)


def build(layer) -> ReferenceEngine | None:
    return ReferenceEngine(layer.assignment) if layer.ordered else None
