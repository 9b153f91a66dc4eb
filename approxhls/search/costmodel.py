"""Hardware cost of a per-layer multiplier assignment: the search's view of :mod:`approxhls.cost.architecture`.

One counter (:func:`approxhls.cost.count.count_ir`) gives every layer's MACs, weights and weight codes; the pricing
is ``approxhls cost``'s own (:mod:`approxhls.cost.architecture`), so both commands agree on what a plan saves:

- energy: :func:`approxhls.cost.architecture.multiplication_energy`, the gate-toggle proxy of each design's generic
  netlist on synthetic operands relative to the exact multiplier of its signedness, multiplications only;
- LUTs, dataflow (reuse factor 1): every product specialized to its constant weight code (Yosys, cached), summed over
  the layer's codes; a layer whose codes are unknown (built by hand) falls back to generic multipliers;
- LUTs, reuse factor R > 1 and tiles: generic shared multipliers (``dataflow_luts`` / ``tiled_luts``), and with
  weight storage and operand multiplexing (``architecture_cost``);
- ``exact_baselines``: LUT fabric, DSP48 (the board's DSPs) and, in the dataflow, distributed arithmetic; savings are
  measured against the cheapest (``relative_luts``).

The tiled accelerator (ALWANN) runs each mapped layer on a tile at the same reuse factor, so a tile holds as many
multipliers as the largest layer mapped onto tiles needs (``tile_size``, derived unless given).
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXACT = "exact"


@dataclass(frozen=True)
class LayerCost:
    name: str
    macs: int  # multiplications per inference
    weights: int = 0  # weight count (multiplier instances at reuse 1); 0: not known, MACs are used
    signed: bool = False  # signed activations: priced against the signed exact multiplier
    codes: tuple = ()  # ((weight code, count), ...); empty: unknown (generic multipliers are priced)
    x_bits: int = 8
    w_bits: int = 8
    adders: float = 0.0  # LUTs of the adders summing the layer's products (for baselines on the whole arithmetic)
    groups: tuple = field(default=(), compare=False, repr=False)  # weight matrices, for distributed arithmetic

    @classmethod
    def from_count(cls, count, signed: bool) -> "LayerCost":
        from approxhls.cost.architecture import Layer

        lay = Layer.from_count(count)
        return cls(count.name, int(count.macs), int(count.weights), bool(signed), lay.codes, lay.x_bits, lay.w_bits,
                   lay.adders, lay.groups)

    def layer(self):
        from approxhls.cost.architecture import Layer

        return Layer(self.name, self.macs, self.weights or self.macs, self.x_bits, self.w_bits, self.signed, self.codes,
                     self.adders, self.groups)


class CostModel:
    def __init__(self, layers: list[LayerCost], catalog: dict[str, dict], reuse_factor: int = 1,
                 tile_size: int | None = None, board: str = "pynq-z2", progress: bool = False):
        from approxhls.cost.estimate import multiplier_instances

        self.layers = layers
        self.catalog = catalog  # multiplier name -> {"toggles_per_op", "luts", "signed"}; exact references included
        self.reuse_factor = max(1, int(reuse_factor))
        self.instances = {layer.name: multiplier_instances(layer.weights or layer.macs, self.reuse_factor)
                          for layer in layers}
        self.tile_size = int(tile_size) if tile_size else max(self.instances.values(), default=1)
        self.total_macs = sum(layer.macs for layer in layers)
        self.board = board
        self.progress = progress
        self._layer_luts: dict[tuple[str, str], float] = {}
        self._baselines: dict = {}

    def _reference(self, signed: bool) -> dict:
        from approxhls.multipliers.registry import exact_reference

        return self.catalog[exact_reference(signed)]

    def _relative(self, mult: str, key: str) -> float:
        """A design's cost over the exact multiplier of its signedness (1 for exact)."""
        from approxhls.cost.architecture import relative_to_exact

        return relative_to_exact(self.catalog, mult, key)

    def relative_energy(self, assignment: dict[str, str]) -> float:
        """Multiplication energy relative to the all-exact network (gate-toggle proxy, multiplications only)."""
        from approxhls.cost.architecture import multiplication_energy

        return multiplication_energy(self.layers, assignment, self.catalog)

    def luts(self, mult: str, signed: bool = False) -> float:
        """LUTs of one generic multiplier instance on a layer of that activation signedness."""
        return self._relative(mult, "luts") * float(self._reference(signed)["luts"])

    def _dataflow_layer(self, layer: LayerCost, mult: str) -> float:
        """A layer's multiplier LUTs in the dataflow: constant weights when its codes are known."""
        key = (layer.name, mult)
        if key not in self._layer_luts:
            if self.reuse_factor == 1 and layer.codes:
                from approxhls.cost.architecture import dataflow_multipliers

                self._layer_luts[key] = dataflow_multipliers([layer.layer()], {layer.name: mult},
                                                             progress=self.progress)["luts"]
            else:
                self._layer_luts[key] = self.instances[layer.name] * self.luts(mult, layer.signed)
        return self._layer_luts[key]

    def dataflow_luts(self, assignment: dict[str, str]) -> int:
        return round(sum(self._dataflow_layer(layer, assignment.get(layer.name, EXACT)) for layer in self.layers))

    def tiled_luts(self, tile_mults: list[str]) -> int:
        return round(sum(self.tile_size * self.luts(m) for m in tile_mults))

    # ---- the architecture, whole: storage, multiplexers, baselines ---------------------------------------------------
    def architecture_cost(self, assignment: dict[str, str], tiles: list[str] | None = None,
                          tile_map: dict | None = None) -> dict:
        """LUTs (and BRAM18) of the plan's multipliers as built: dataflow constant weights, or generic shared
        multipliers with their weight memories and operand multiplexers (reuse factor > 1, tiles)."""
        from approxhls.cost import architecture as arch

        if tiles is not None:
            return arch.tile_multipliers([ly.layer() for ly in self.layers], tiles, tile_map, self.tile_size, self.catalog)
        if self.reuse_factor > 1:
            return arch.reuse_multipliers([ly.layer() for ly in self.layers], assignment, self.catalog, self.reuse_factor)
        return {"luts": self.dataflow_luts(assignment), "dsp": 0, "memory_luts": 0, "bram18": 0}

    def exact_baselines(self, tiles: int | None = None) -> list:
        """The exact options, priced on the same multipliers: LUT fabric, DSP48 (the board's DSPs) and, in the
        dataflow, distributed arithmetic (where da4ml is reachable)."""
        from approxhls.cost.baselines import multiplier_baselines

        if tiles not in self._baselines:
            self._baselines[tiles] = multiplier_baselines(self, tiles)
        return self._baselines[tiles]

    def cheapest_baseline(self, tiles: int | None = None):
        """The exact option savings are measured against: the cheapest of :meth:`exact_baselines`."""
        from approxhls.cost.architecture import cheapest

        return cheapest(self.exact_baselines(tiles))

    def plan_luts(self, assignment: dict[str, str], tiles: list[str] | None = None,
                  tile_map: dict | None = None) -> float:
        """The plan's arithmetic LUTs as built (:func:`approxhls.cost.baselines.plan_luts`), the dataflow's
        constant-weight multipliers priced once per layer and design (the search asks for every candidate)."""
        if tiles is None and self.reuse_factor == 1 and all(ly.codes for ly in self.layers):
            return float(sum(self._dataflow_layer(ly, assignment.get(ly.name, EXACT)) + ly.adders
                             for ly in self.layers))
        from approxhls.cost.baselines import plan_luts

        return plan_luts([ly.layer() for ly in self.layers], assignment, self.catalog, self.reuse_factor, tiles,
                         tile_map, self.tile_size, self.progress)

    def relative_luts(self, assignment: dict[str, str], tiles: list[str] | None = None,
                      tile_map: dict | None = None) -> float:
        """The plan's arithmetic LUTs as built over the cheapest exact baseline's of the same architecture."""
        base = self.cheapest_baseline(len(tiles) if tiles else None)
        return self.plan_luts(assignment, tiles, tile_map) / base.luts if base.luts else float("nan")
