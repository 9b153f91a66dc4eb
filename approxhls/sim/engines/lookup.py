"""Sums by reading every product from the layer's table (:mod:`approxhls.sim.lutkernel`): any multiplier.

``lut`` reads GEMM rows (one compiled gather per weight group). ``lut-conv`` reads a Dense or Conv layer's input
codes: per kernel position and input code, the products with 16 outputs' weights added as one vector, no im2col
rows, code 0 skipped. Where ``lut-conv`` applies, ``lut`` is its rows twin and no candidate of its own (the lookup
convolution does the same work without the rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from approxhls.sim.engines.base import ROWS, Engine, OnCodes, Sums
from approxhls.sim.lutkernel import LutLayer


@dataclass(eq=False)
class LookupRows(Engine):
    """A LutLayer per weight group, on GEMM rows (codes - x_min index the table's rows)."""

    kernels: list[LutLayer]
    x_min: int
    name = "lut"
    method = "lut"
    dtype = "int64"
    label = "numpy"
    reads = ROWS

    @classmethod
    def create(cls, table: np.ndarray, groups: list, x_min: int, w_min: int) -> LookupRows:
        return cls([LutLayer(table, w - w_min) for w, _ in groups], x_min)

    def sums(self, x: np.ndarray, group: int = 0) -> Sums:
        return Sums(self.kernels[group](np.asarray(x, dtype=np.int64) - self.x_min))


class LookupConv(OnCodes):
    """A layer's LutConv on its input codes (``kernel``); ``twin``: the same table on GEMM rows (LookupRows)."""

    name = "lut-conv"
    method = "lut"
    dtype = "int64"
    label = "lut-conv"


def build_conv(layer) -> LookupConv | None:
    return None if layer.lut_conv is None else LookupConv(layer.lut_conv, layer.lut_rows)


def build_rows(layer) -> LookupRows | None:
    return layer.lut_rows if layer.lut_conv is None else None
