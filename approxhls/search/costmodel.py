"""Hardware cost of a per-layer multiplier assignment: the cost package's counts, priced with the catalog.

One counter (:func:`approxhls.cost.count.count_ir`) gives every layer's MACs and weights; one rule
(:func:`approxhls.cost.estimate.multiplier_instances`) turns weights into multiplier instances of hls4ml's
dataflow architecture, ceil(weights / reuse factor), as ``approxhls cost`` does. A design's energy and LUTs are
taken relative to the exact multiplier of its own signedness (:func:`approxhls.multipliers.registry.exact_reference`),
again as ``approxhls cost`` prices it, so both commands agree on what a plan saves.

Energy of the multiplications per inference = sum over layers of MACs x the design's relative switching energy,
reported relative to the all-exact network. LUTs are in LUTs of the exact 8x8 multiplier of each layer's operand
signedness. The tiled accelerator (ALWANN) runs each mapped layer on a tile at the same reuse factor, so a tile
holds as many multipliers as the largest layer mapped onto tiles needs (``tile_size``, derived unless given).
"""

from __future__ import annotations

from dataclasses import dataclass

EXACT = "exact"


@dataclass(frozen=True)
class LayerCost:
    name: str
    macs: int  # multiplications per inference
    weights: int = 0  # weight count (multiplier instances at reuse 1); 0: not known, MACs are used
    signed: bool = False  # signed activations: priced against the signed exact multiplier

    @classmethod
    def from_count(cls, count, signed: bool) -> "LayerCost":
        return cls(count.name, int(count.macs), int(count.weights), bool(signed))


class CostModel:
    def __init__(self, layers: list[LayerCost], catalog: dict[str, dict], reuse_factor: int = 1,
                 tile_size: int | None = None):
        from approxhls.cost.estimate import multiplier_instances

        self.layers = layers
        self.catalog = catalog  # multiplier name -> {"toggles_per_op", "luts", "signed"}; exact references included
        self.reuse_factor = max(1, int(reuse_factor))
        self.instances = {layer.name: multiplier_instances(layer.weights or layer.macs, self.reuse_factor)
                          for layer in layers}
        self.tile_size = int(tile_size) if tile_size else max(self.instances.values(), default=1)
        self.total_macs = sum(layer.macs for layer in layers)

    def _reference(self, signed: bool) -> dict:
        from approxhls.multipliers.registry import exact_reference

        return self.catalog[exact_reference(signed)]

    def _relative(self, mult: str, key: str) -> float:
        """A design's cost over the exact multiplier of its signedness (1 for exact)."""
        if mult == EXACT:
            return 1.0
        entry = self.catalog[mult]
        return float(entry[key]) / float(self._reference(bool(entry.get("signed")))[key])

    def relative_energy(self, assignment: dict[str, str]) -> float:
        e = sum(layer.macs * self._relative(assignment.get(layer.name, EXACT), "toggles_per_op")
                for layer in self.layers)
        return e / self.total_macs

    def luts(self, mult: str, signed: bool = False) -> float:
        """LUTs of one multiplier instance on a layer of that activation signedness."""
        return self._relative(mult, "luts") * float(self._reference(signed)["luts"])

    def dataflow_luts(self, assignment: dict[str, str]) -> int:
        return round(sum(self.instances[layer.name] * self.luts(assignment.get(layer.name, EXACT), layer.signed)
                         for layer in self.layers))

    def tiled_luts(self, tile_mults: list[str]) -> int:
        return round(sum(self.tile_size * self.luts(m) for m in tile_mults))
