"""Hardware cost of a per-layer multiplier assignment, from the multiplier catalog.

Energy of the multiplications per inference = sum over layers of MACs x the multiplier's switching
energy (catalog ``toggles_per_op``), reported relative to the all-exact network. LUTs: for hls4ml's
dataflow architecture every layer has ceil(MACs / reuse factor) multiplier instances; for the tiled
accelerator every tile has ``tile_size`` multipliers of its type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EXACT = "exact"
EXACT_DESIGN = "exact_u8"


@dataclass(frozen=True)
class LayerCost:
    name: str
    macs: int  # multiplications per inference


class CostModel:
    def __init__(self, layers: list[LayerCost], catalog: dict[str, dict], reuse_factor: int = 1, tile_size: int = 64):
        self.layers = layers
        self.catalog = catalog  # multiplier name -> {"toggles_per_op": .., "luts": ..}
        self.reuse_factor = max(1, int(reuse_factor))
        self.tile_size = tile_size
        self.total_macs = sum(layer.macs for layer in layers)
        self.exact_energy = self.total_macs * self.energy(EXACT)

    def _entry(self, mult: str) -> dict:
        return self.catalog[EXACT_DESIGN if mult == EXACT else mult]

    def energy(self, mult: str) -> float:
        return float(self._entry(mult)["toggles_per_op"])

    def luts(self, mult: str) -> int:
        return int(self._entry(mult)["luts"])

    def relative_energy(self, assignment: dict[str, str]) -> float:
        e = sum(layer.macs * self.energy(assignment.get(layer.name, EXACT)) for layer in self.layers)
        return e / self.exact_energy

    def dataflow_luts(self, assignment: dict[str, str]) -> int:
        return sum(math.ceil(layer.macs / self.reuse_factor) * self.luts(assignment.get(layer.name, EXACT))
                   for layer in self.layers)

    def tiled_luts(self, tile_mults: list[str]) -> int:
        return sum(self.tile_size * self.luts(m) for m in tile_mults)
