"""A network prepared for search: exact IR, layer MACs, per-layer candidate multipliers, data splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from approxhls.search.costmodel import EXACT, EXACT_DESIGN, LayerCost


@dataclass
class SearchData:
    x_calib: np.ndarray
    y_calib: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def candidate_catalog() -> dict[str, dict]:
    """Unsigned 8x8 built-in designs with their characterized cost (they serve any 8-bit layer by
    sign-magnitude); name -> {"toggles_per_op", "luts", "mae_pct"}."""
    from approxhls.multipliers.catalog import characterize
    from approxhls.multipliers.registry import builtin_designs

    designs = [d for d in builtin_designs() if d.bits == 8 and not d.signed]
    out = {}
    for e in characterize(designs, progress=False, with_synthesis=False):
        if e.get("cost"):
            out[e["name"]] = {"toggles_per_op": e["cost"]["toggles_per_op"], "luts": e["cost"]["luts"],
                              "mae_pct": e["metrics"]["mae_pct"]}
    if EXACT_DESIGN not in out:
        raise RuntimeError("the multiplier catalog has no cost for exact_u8; run `approxhls multipliers characterize`")
    return out


def prepare(model, ds, calib: int = 1000, seed: int = 0, reuse_factor: int = 1, io_type: str = "io_parallel",
            input_precision: str | None = None):
    """(IR, layer costs, per-layer candidates, data splits) for a Keras model on a dataset."""
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.hls.emulator import Emulator
    from approxhls.hls.plan import fits
    from approxhls.multipliers.registry import get_design

    g = build_graph(model, ConvertOptions(io_type=io_type, reuse_factor=reuse_factor,
                                          input_precision=input_precision or str(ds.grid)))
    ir = g.ir
    em = Emulator(ir)
    layers = [LayerCost(m.layer, m.macs_per_sample) for m in em.methods]
    catalog = candidate_catalog()
    names = sorted((n for n in catalog if n != EXACT_DESIGN), key=lambda n: catalog[n]["mae_pct"])
    candidates = {}
    for node in ir.multiplying_nodes():
        x_t, w_t = ir.input_type_of(node), node.type("weight")
        candidates[node.name] = [EXACT] + [n for n in names if fits(get_design(n), x_t, w_t) is None]
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(ds.x_train))[:calib]
    shape = [int(d) for d in model.input_shape[1:]]
    data = SearchData(ds.for_input(ds.x_train[idx], shape), ds.y_train[idx],
                      ds.for_input(ds.x_test, shape), ds.y_test)
    return ir, layers, candidates, catalog, data
