"""A plan's arithmetic and the exact baselines it is measured against, priced the same way (one code path for
``approxhls search`` and ``approxhls cost``).

Arithmetic LUTs: in the dataflow, the multipliers (constant weights) plus the adders summing their products (the
same for every option built from multipliers); distributed arithmetic builds both as one adder graph and is priced
whole by da4ml. With shared multipliers (reuse factor > 1, tiles) the accumulators are the same for every option
and left out; the multipliers' weight memories and operand multiplexers are counted.
"""

from __future__ import annotations

from approxhls.cost import architecture as arch
from approxhls.cost.architecture import EXACT, Baseline


def _shared(layers, plan, catalog, reuse_factor, tiles, tile_map, tile_size, dsp_budget=0) -> dict:
    if tiles is not None:
        return arch.tile_multipliers(layers, tiles, tile_map, tile_size, catalog, dsp_budget)
    return arch.reuse_multipliers(layers, plan, catalog, reuse_factor, dsp_budget)


def plan_luts(layers, plan: dict, catalog: dict, reuse_factor: int = 1, tiles: list | None = None,
              tile_map: dict | None = None, tile_size: int | None = None, progress: bool = False) -> float:
    """Arithmetic LUTs of a plan as the architecture builds it (no DSPs: approximate products are LUT circuits)."""
    if tiles is None and reuse_factor == 1:
        return arch.dataflow_multipliers(layers, plan, progress=progress)["luts"] + sum(ly.adders for ly in layers)
    r = _shared(layers, plan, catalog, reuse_factor, tiles, tile_map, tile_size)
    return r["luts"] + r["memory_luts"]


def exact_baselines(layers, catalog: dict, reuse_factor: int = 1, dsp_budget: int = 0, tiles: int | None = None,
                    tile_size: int | None = None, progress: bool = False, with_da: bool = True) -> list[Baseline]:
    """LUT fabric, DSP48 (``dsp_budget`` slices: the board's) and, in the dataflow, distributed arithmetic."""
    if tiles is not None or reuse_factor > 1:
        names = [EXACT] * tiles if tiles is not None else None
        lut = _shared(layers, {}, catalog, reuse_factor, names, None, tile_size)
        dsp = _shared(layers, {}, catalog, reuse_factor, names, None, tile_size, dsp_budget)
        why = "weights are stored and streamed: no constant matrix for distributed arithmetic"
        return [Baseline("lut_fabric", lut["luts"] + lut["memory_luts"]),
                Baseline("dsp48", dsp["luts"] + dsp["memory_luts"], dsp["dsp"]),
                Baseline("da", float("nan"), available=False, note=why)]
    adders = sum(ly.adders for ly in layers)
    lut = arch.dataflow_multipliers(layers, {}, progress=progress)
    dsp = arch.dataflow_multipliers(layers, {}, dsp_budget, progress=progress)
    return [Baseline("lut_fabric", lut["luts"] + adders),
            Baseline("dsp48", dsp["luts"] + adders, dsp["dsp"], note=f"{dsp_budget} DSP48 slices available"),
            da_baseline(layers) if with_da else Baseline("da", float("nan"), available=False, note="not asked for")]


def da_baseline(layers) -> Baseline:
    from approxhls.cost import da

    total = 0.0
    for ly in layers:
        c = da.layer_cost(list(ly.groups), ly.x_bits, ly.x_signed)
        if c is None:
            return Baseline("da", float("nan"), available=False, note=da.UNAVAILABLE)
        total += c
    return Baseline("da", total, note="da4ml's cost estimate (adder bits)")


def board_dsps(board: str | None) -> int:
    from approxhls.cost.boards import board_resources

    return board_resources(board).dsp if board else 0


def multiplier_baselines(cost, tiles: int | None = None) -> list[Baseline]:
    """The search's :class:`approxhls.search.costmodel.CostModel` baselines."""
    return exact_baselines([ly.layer() for ly in cost.layers], cost.catalog, cost.reuse_factor, board_dsps(cost.board),
                           tiles, cost.tile_size, cost.progress)
