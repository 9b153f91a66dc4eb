"""Hardware cost of a converted model per layer: multipliers, adders, quantization, memory.

LUTs: multipliers are priced as the architecture builds them (:mod:`approxhls.cost.architecture`): at reuse factor
1 every weight has its own multiplier specialized to its constant code; at reuse factor R > 1, ceil(weights / R)
generic multipliers with their operand multiplexers. Each multiplier has an accumulator adder; one requantization
module per output channel; weights and stored scales take ceil(bits / 64) LUTs (LUT6 as 64-bit ROM). Energy: the
gate-toggle proxy (gate-output toggles per operation of each circuit's gate netlist on synthetic operands, unit
capacitance) x operations per inference; a memory read costs the toggles per bit of a synthesized scale ROM times
the bits read (one weight per MAC, one scale per requantization). Every circuit is synthesized and simulated
(approxhls.cost.circuits); approximate multipliers' energy is the exact one's times their catalog ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from approxhls.cost import circuits
from approxhls.cost.count import SCALE_BITS, SHIFT_BITS, LayerCount

CATEGORIES = ("multipliers", "adders", "quantization", "memory")
ROM_BITS_PER_LUT = 64


# the circuit that performs one quantization operation of each kind
QUANT_CIRCUITS = {
    "shift": lambda q: circuits.requant_shift(q.in_bits, q.out_bits, q.shift, q.relu),
    "varshift": lambda q: circuits.requant_varshift(q.in_bits, q.out_bits, SHIFT_BITS, q.relu),
    "mult": lambda q: circuits.requant_mult(q.in_bits, q.out_bits, SCALE_BITS, q.shift, q.relu),
    "zero_point": lambda q: circuits.zero_point(q.in_bits, q.out_bits),
}


# bits of stored scale a quantization operation of each kind reads
SCALE_READ_BITS = {"mult": SCALE_BITS, "varshift": SHIFT_BITS}


def multiplier_instances(weights: int, reuse_factor: int) -> int:
    """Multipliers hls4ml's dataflow architecture instantiates for a layer: each of the layer's weights gets a
    multiplier, shared by ``reuse_factor`` products in turn (the search counts the same way)."""
    return math.ceil(weights / max(1, int(reuse_factor))) if weights else 0


@dataclass
class Costs:
    rows: list[dict]
    totals: dict


class Estimator:
    """Characterizes (once, cached) every circuit a count needs and prices layer counts."""

    def __init__(self, catalog: dict | None = None, reuse_factor: int = 1, progress=None, bars: bool = True):
        self.catalog = catalog  # name -> {"luts", "toggles_per_op", "signed", "dsp"} (architecture.flat_catalog)
        self.reuse_factor = max(1, int(reuse_factor))
        self.progress = progress
        self.bars = bars  # progress bars of constant-weight characterization
        self._memo: dict[str, dict] = {}

    @property
    def architecture(self) -> str:
        return "dataflow" if self.reuse_factor == 1 else "reuse"

    def flat_catalog(self) -> dict:
        if self.catalog is None:
            from approxhls.cost.architecture import flat_catalog
            from approxhls.multipliers.catalog import load_entries

            self.catalog = flat_catalog(load_entries().values())
        return self.catalog

    def circuit(self, c) -> dict:
        if c.key not in self._memo:
            if self.progress and circuits.cached(c) is None:
                self.progress(c.name)
            self._memo[c.key] = circuits.characterize(c)
        return self._memo[c.key]

    def _multiplier(self, layer: LayerCount) -> dict:
        """One layer's multipliers: LUTs as the architecture builds them, and the energy per multiplication (the
        exact multiplier of the layer's widths, synthesized here, times the design's catalog ratio to the exact
        multiplier of its signedness: the ratio the search uses)."""
        from approxhls.cost import architecture as arch

        exact = self.circuit(circuits.mult(layer.x_bits, layer.w_bits))
        lay = arch.Layer.from_count(layer)
        plan = {layer.name: layer.multiplier}
        if self.reuse_factor == 1:
            luts = arch.dataflow_multipliers([lay], plan, progress=self.bars)["luts"]
        else:
            luts = arch.reuse_multipliers([lay], plan, self.flat_catalog(), self.reuse_factor)["luts"]
        ratio = 1.0 if arch.is_exact(layer.multiplier) else \
            arch.relative_to_exact(self.flat_catalog(), layer.multiplier, "toggles_per_op")
        return {"luts": luts, "toggles_per_op": exact["toggles_per_op"] * ratio}

    def bit_energy(self) -> float:
        rom = self.circuit(circuits.scale_rom(64, SCALE_BITS))
        return rom["toggles_per_op"] / SCALE_BITS

    def price(self, layer: LayerCount) -> dict:
        """One layer's row; ``energy_quantization_unfused`` is the quantization energy without unified modules
        (the chain's other steps charged at the cost of its requantization)."""
        lut = dict.fromkeys(CATEGORIES, 0)
        energy = dict.fromkeys(CATEGORIES, 0.0)
        if layer.macs:
            self._price_macs(layer, lut, energy)
        e_bit = self.bit_energy()
        scale_reads, chain_op_energy = self._price_quantization(layer, lut, energy)
        unfused_extra = (layer.quant_ops_unfused - layer.quant_ops_fused) * chain_op_energy
        mem_bits = layer.weight_bits + layer.bias_bits + layer.scale_bits
        lut["memory"] = math.ceil(mem_bits / ROM_BITS_PER_LUT)
        energy["memory"] = (layer.macs * layer.w_bits + scale_reads) * e_bit
        row = {
            "layer": layer.name, "op": layer.op, "macs": layer.macs, "multiplier": layer.multiplier,
            "quant_kind": ",".join(sorted({q.kind for q in layer.quant_fused})) or "-",
            "quant_ops_unfused": layer.quant_ops_unfused, "quant_ops_bn_folded": layer.quant_ops_bn_folded,
            "quant_ops_fused": layer.quant_ops_fused, "memory_bits": mem_bits, "dsp": 0,
            "hls4ml_emits": all(q.emitted for q in layer.quant_fused),
            **{f"luts_{k}": v for k, v in lut.items()}, "luts": sum(lut.values()),
            **{f"energy_{k}": round(v, 1) for k, v in energy.items()}, "energy": round(sum(energy.values()), 1),
            "energy_quantization_unfused": round(energy["quantization"] + unfused_extra, 1),
        }
        notes = sorted({q.note for q in layer.quant_fused if q.note})
        if notes:
            row["notes"] = notes
        return row

    def _price_macs(self, layer: LayerCount, lut: dict, energy: dict) -> None:
        """The layer's multipliers and their accumulator adders (one per multiplier instance)."""
        m = self._multiplier(layer)
        lut["multipliers"] = m["luts"]
        energy["multipliers"] = layer.macs * m["toggles_per_op"]
        a = self.circuit(circuits.acc(layer.x_bits + layer.w_bits, layer.acc_bits))
        lut["adders"] = multiplier_instances(layer.weights, self.reuse_factor) * a["luts"]
        energy["adders"] = layer.macs * a["toggles_per_op"]

    def _price_quantization(self, layer: LayerCount, lut: dict, energy: dict) -> tuple[int, float]:
        """The layer's quantization modules; (stored scale bits read per inference, energy of the chain's own
        requantization operation)."""
        scale_reads = 0
        chain_op_energy = 0.0
        for i, q in enumerate(layer.quant_fused):
            c = self.circuit(QUANT_CIRCUITS[q.kind](q))
            lut["quantization"] += q.channels * c["luts"]
            energy["quantization"] += q.ops * c["toggles_per_op"]
            if i == 0:
                chain_op_energy = c["toggles_per_op"]
            scale_reads += q.ops * SCALE_READ_BITS.get(q.kind, 0)
        return scale_reads, chain_op_energy

    def estimate(self, layers: list[LayerCount]) -> Costs:
        rows = [self.price(layer) for layer in layers]
        keys = ["macs", "quant_ops_unfused", "quant_ops_bn_folded", "quant_ops_fused", "memory_bits", "dsp", "luts",
                "energy", "energy_quantization_unfused"] + [f"luts_{k}" for k in CATEGORIES] + [f"energy_{k}" for k in CATEGORIES]
        totals = {k: round(sum(r[k] for r in rows), 1) for k in keys}
        return Costs(rows, totals)
