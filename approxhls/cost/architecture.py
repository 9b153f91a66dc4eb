"""Price per architecture what is built: the multipliers of a plan as the accelerator instantiates them.

- ``dataflow`` (hls4ml's io_parallel/io_stream at reuse factor 1): every weight has its own multiplier with a
  constant operand, which synthesis specializes. A product is priced as its design with the weight tied
  (:mod:`approxhls.multipliers.constweight`), summed over the layer's actual weight codes; a zero weight costs
  what its tied circuit costs (nothing for the exact product, which HLS removes).
- ``reuse`` (reuse factor R > 1): ceil(weights / R) generic multipliers, each fed by an R:1 activation multiplexer
  and a weight memory of depth R (LUT ROM up to 64 words, else BRAM18).
- ``tiles`` (ALWANN): n tiles of ``tile_size`` generic multipliers each, one design per tile; every mapped
  layer's weights stored on chip, each multiplier fed through a multiplexer over the tile's largest reuse.

Exact baselines, side by side: ``lut_fabric`` (the exact product in LUTs, constant-weight in the dataflow),
``dsp48`` (exact products in DSP48 slices, as many as the board has; the dearest products take them first, the
rest stay in LUTs) and ``da`` (hls4ml's distributed arithmetic through da4ml, dataflow only; see
:mod:`approxhls.cost.da`). Savings are stated against the cheapest available one (:func:`cheapest`), compared on
the arithmetic's LUTs (multipliers plus the adders that sum their products; distributed arithmetic builds both
as one adder graph).

Energy (one code path for ``approxhls search`` and ``approxhls cost``): the multiplier library's proxy, gate-output
toggles per multiplication of the design's generic gate netlist on synthetic NN-shaped operands
(:mod:`approxhls.multipliers.synth`), taken relative to the exact multiplier of the design's signedness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from approxhls.errors import ApproxHLSError

EXACT = "exact"
ENERGY_PROXY = ("gate-toggle proxy: gate-output toggles per multiplication of the multiplier's generic gate "
                "netlist (Yosys abc -g) on synthetic NN-shaped operands (ReLU activations, bell-shaped weights)")
ROM_WORDS_PER_LUT = 64      # a LUT6 is a 64x1 ROM
BRAM18_BITS = 18 * 1024
LUT_ROM_MAX_DEPTH = 64      # deeper weight memories go to BRAM (Vivado's usual choice)
MUX_INPUTS_PER_LUT = 4      # a LUT6 is a 4:1 multiplexer of one bit


@dataclass(frozen=True)
class Layer:
    """What pricing needs of a layer with multiplications."""

    name: str
    macs: int
    weights: int
    x_bits: int = 8
    w_bits: int = 8
    x_signed: bool = False
    codes: tuple = ()       # ((weight code, count), ...): the layer's weight codes
    adders: float = 0.0     # LUTs of the adders summing its products (the same whatever the multipliers)
    groups: tuple = field(default=(), compare=False, repr=False)  # weight matrices (k, out), for da4ml

    @classmethod
    def from_count(cls, c) -> "Layer":
        return cls(c.name, int(c.macs), int(c.weights), int(c.x_bits), int(c.w_bits), bool(c.x_signed),
                   tuple(sorted(c.weight_codes.items())), adder_luts(c.groups, c.acc_bits, True), tuple(c.groups))


def adder_luts(groups, acc_bits: int, bias: bool) -> float:
    """LUTs of the adders that sum each output's nonzero products (and its bias) at the accumulator width."""
    total = 0.0
    for g in groups:
        terms = np.count_nonzero(np.asarray(g), axis=0) + (1 if bias else 0)
        total += float(np.maximum(terms - 1, 0).sum()) * acc_bits
    return total


def is_exact(mult: str | None) -> bool:
    return mult in (None, EXACT, "-")


# ---- energy (relative to the exact multiplier of the design's signedness) -------------------------------------------

def relative_to_exact(catalog: dict, mult: str, key: str) -> float:
    """A design's generic cost ``key`` (toggles_per_op, luts) over the exact 8x8 multiplier of its signedness."""
    from approxhls.multipliers.registry import exact_reference

    if is_exact(mult):
        return 1.0
    entry = catalog.get(mult)
    if entry is None:
        raise ApproxHLSError(f"multiplier {mult} has no characterization: run "
                             f"`approxhls multipliers characterize --only {mult}`")
    ref = catalog[exact_reference(bool(entry.get("signed")))]
    return float(entry[key]) / float(ref[key])


def multiplication_energy(layers, plan: dict, catalog: dict) -> float:
    """Multiplication energy of a plan relative to the all-exact network (the proxy; multiplications only)."""
    total = sum(layer.macs for layer in layers)
    used = sum(layer.macs * relative_to_exact(catalog, plan.get(layer.name, EXACT), "toggles_per_op")
               for layer in layers)
    return used / total if total else 1.0


# ---- dataflow: constant weights -------------------------------------------------------------------------------------

def constant_circuit(layer: Layer, mult: str):
    from approxhls.multipliers.constweight import design_circuit, exact_circuit
    from approxhls.multipliers.registry import get_design

    if is_exact(mult):
        return exact_circuit(layer.x_bits, layer.x_signed, layer.w_bits)
    return design_circuit(get_design(mult), layer.x_signed)


def product_luts(layer: Layer, mult: str, progress: bool = True, jobs: int | None = None) -> list[tuple[int, int]]:
    """(LUTs of one product, how many products) per weight code of the layer, its multiplier specialized to the code."""
    from approxhls.multipliers.constweight import constant_luts, weight_key

    if not layer.codes:
        raise ApproxHLSError(f"layer {layer.name}: its weight codes are unknown, so its constant-weight multipliers "
                             f"cannot be priced")
    c = constant_circuit(layer, mult)
    table = constant_luts(c, [weight_key(c, w) for w, _ in layer.codes], jobs=jobs, progress=progress)
    return [(table[weight_key(c, w)], n) for w, n in layer.codes]


def dataflow_multipliers(layers, plan: dict, dsp_budget: int = 0, progress: bool = True) -> dict:
    """LUTs and DSPs of a plan's multipliers in the dataflow: every product specialized to its weight; up to
    ``dsp_budget`` exact products (the dearest in LUTs first) go to DSP48 slices."""
    items, per_layer = [], {}
    for layer in layers:
        mult = plan.get(layer.name, EXACT)
        prods = product_luts(layer, mult, progress)
        per_layer[layer.name] = sum(luts * n for luts, n in prods)
        items += [(luts, n, layer.name) for luts, n in prods if is_exact(mult) and luts > 0]
    budget, dsp, moved = int(dsp_budget), 0, {}
    for luts, n, name in sorted(items, key=lambda t: -t[0]):
        if budget <= 0:
            break
        k = min(n, budget)
        budget, dsp = budget - k, dsp + k
        moved[name] = moved.get(name, 0) + k * luts
    per_layer = {name: v - moved.get(name, 0) for name, v in per_layer.items()}
    return {"luts": sum(per_layer.values()), "dsp": dsp, "per_layer": per_layer}


# ---- shared generic multipliers: reuse factor > 1, tiles ------------------------------------------------------------

def flat_catalog(entries) -> dict:
    """name -> {"luts", "dsp", "toggles_per_op", "signed"} from catalog entries (generic circuits)."""
    return {e["name"]: {"luts": e["cost"]["luts"], "dsp": e["cost"].get("dsp", 0),
                        "toggles_per_op": e["cost"]["toggles_per_op"], "signed": bool(e.get("signed"))}
            for e in entries if e.get("cost")}


def generic_luts(catalog: dict, mult: str, layer: Layer) -> float:
    """LUTs of one generic (non-constant) multiplier of the layer's operands: the design's characterized circuit,
    plus |x| for an unsigned core on signed activations (the product's sign is an add/subtract of the accumulator,
    and stored weights are kept in sign-magnitude). The exact 8x8 product is the catalog's exact design of the
    activations' signedness, as the approximate designs are priced; other widths are synthesized."""
    from approxhls.multipliers.registry import exact_reference

    if is_exact(mult):
        if (layer.x_bits, layer.w_bits) == (8, 8) and exact_reference(layer.x_signed) in catalog:
            return float(catalog[exact_reference(layer.x_signed)]["luts"])
        return float(exact_generic(layer.x_bits, layer.w_bits))
    entry = catalog[mult]
    return float(entry["luts"]) + (layer.x_bits if layer.x_signed and not entry.get("signed") else 0)


def exact_generic(x_bits: int, w_bits: int) -> int:
    """LUTs of the exact generic product of an unsigned activation and a signed weight of these widths."""
    from approxhls.cost import circuits

    return int(circuits.characterize(circuits.mult(x_bits, w_bits))["luts"])


def memory_luts_brams(words: int, width: int, depth: int) -> tuple[int, int]:
    """A weight memory of ``words`` words of ``width`` bits read ``words / depth`` at a time: LUT ROM when shallow."""
    if words <= 0:
        return 0, 0
    parallel = math.ceil(words / max(1, depth))
    if depth <= LUT_ROM_MAX_DEPTH:
        return parallel * width * math.ceil(depth / ROM_WORDS_PER_LUT), 0
    return 0, math.ceil(parallel * width / 36) * math.ceil(depth / 512)  # BRAM18 as 512 x 36


def mux_luts(inputs: int, bits: int) -> int:
    """LUTs of an ``inputs``:1 multiplexer of ``bits`` bits (a tree of 4:1 LUT6 multiplexers)."""
    if inputs <= 1:
        return 0
    return bits * math.ceil((inputs - 1) / (MUX_INPUTS_PER_LUT - 1))


def reuse_multipliers(layers, plan: dict, catalog: dict, reuse_factor: int, dsp_budget: int = 0) -> dict:
    """Reuse factor R > 1: ceil(weights / R) generic multipliers per layer, R:1 activation multiplexers, weight memories."""
    r = max(1, int(reuse_factor))
    luts = mem_luts = brams = dsp = 0
    per_layer = {}
    budget = int(dsp_budget)
    for layer in layers:
        mult = plan.get(layer.name, EXACT)
        inst = math.ceil(layer.weights / r)
        in_dsp = min(inst, budget) if is_exact(mult) else 0
        budget -= in_dsp
        mul = (inst - in_dsp) * generic_luts(catalog, mult, layer) + inst * mux_luts(r, layer.x_bits)
        m_l, m_b = memory_luts_brams(layer.weights, layer.w_bits, r)
        per_layer[layer.name] = round(mul)
        luts, mem_luts, brams, dsp = luts + mul, mem_luts + m_l, brams + m_b, dsp + in_dsp
    return {"luts": round(luts), "dsp": dsp, "memory_luts": mem_luts, "bram18": brams, "per_layer": per_layer}


def tile_multipliers(layers, tiles: list[str], tile_map: dict | None, tile_size: int, catalog: dict,
                     dsp_budget: int = 0) -> dict:
    """ALWANN's tiles: ``len(tiles)`` tiles of ``tile_size`` generic multipliers, one design each; all mapped layers'
    weights on chip; each multiplier behind a multiplexer over the tile's reuse (its largest layer's weights per
    multiplier)."""
    luts = dsp = 0.0
    budget = int(dsp_budget)
    ref = max(layers, key=lambda layer: layer.weights) if layers else Layer("-", 0, 0)
    for t, mult in enumerate(tiles):
        mapped = layers if tile_map is None else [layer for layer in layers if tile_map.get(layer.name) == t]
        depth = max((math.ceil(layer.weights / tile_size) for layer in mapped), default=1)
        probe = mapped[0] if mapped else ref
        in_dsp = min(tile_size, budget) if is_exact(mult) else 0
        budget -= in_dsp
        luts += (tile_size - in_dsp) * generic_luts(catalog, mult, probe) + tile_size * mux_luts(depth, probe.x_bits)
        dsp += in_dsp
    mem = [memory_luts_brams(layer.weights, layer.w_bits, max(1, math.ceil(layer.weights / tile_size)))
           for layer in layers]
    return {"luts": round(luts), "dsp": int(dsp), "memory_luts": sum(m for m, _ in mem),
            "bram18": sum(b for _, b in mem)}


# ---- exact baselines ---------------------------------------------------------------------------------------------------

@dataclass
class Baseline:
    name: str
    luts: float             # arithmetic LUTs: multipliers + the adders summing their products
    dsp: int = 0
    available: bool = True
    note: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "luts": round(self.luts) if self.available else None, "dsp": self.dsp,
                "available": self.available, "note": self.note}


BASELINE_TEXT = {
    "lut_fabric": "exact products in LUTs",
    "dsp48": "exact products in DSP48 slices (the board's), the rest in LUTs",
    "da": "hls4ml distributed arithmetic (da4ml)",
}


def cheapest(baselines: list[Baseline]) -> Baseline:
    """The exact option a saving is measured against: the fewest arithmetic LUTs among the available ones."""
    ok = [b for b in baselines if b.available]
    if not ok:
        raise ApproxHLSError("no exact baseline is available")
    return min(ok, key=lambda b: b.luts)


def saving(plan_luts: float, base: Baseline) -> float | None:
    return 1.0 - plan_luts / base.luts if base.luts else None
