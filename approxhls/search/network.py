"""A network prepared for search: exact IR, layer MACs, per-layer candidate multipliers, data splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from approxhls.search.costmodel import EXACT, LayerCost


@dataclass
class SearchData:
    """calib: fitness during the search; val: choosing points (held out from training where train.json says which
    samples were); test: reporting only."""

    x_calib: np.ndarray
    y_calib: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    val_source: str = ""


def split_indices(n_train: int, calib: int, val: int, fit_samples: int | None, seed: int):
    """(calibration indices, validation indices, where validation comes from) into the training split.

    With ``fit_samples`` (train.json: Keras held out x_train[fit_samples:]), validation is drawn from the held-out
    tail and calibration from the fitted part; otherwise both from the training split, disjoint."""
    rng = np.random.default_rng(seed)
    if fit_samples and 0 < fit_samples < n_train:
        cal = rng.permutation(fit_samples)[:calib]
        val_idx = fit_samples + rng.permutation(n_train - fit_samples)[:val]
        return cal, val_idx, f"training samples {fit_samples}..{n_train - 1} (never used for weight updates)"
    perm = rng.permutation(n_train)
    return (perm[:calib], perm[calib : calib + val],
            "training split, disjoint from calibration (train.json does not say what training held out)")


CANDIDATE_SETS = ("builtin", "user", "all")


def candidate_catalog(selection: str = "builtin") -> tuple[dict[str, dict], list[str]]:
    """The 8x8 designs a search may use, with their characterized cost: name -> {"toggles_per_op", "luts",
    "mae_pct", "signed"}, and notes on designs left out. ``selection``: builtin, user, all, or NAME,NAME,...
    Unsigned designs serve any 8-bit layer by sign-magnitude; signed ones where the operands fit (signed
    activations). Exact designs are not candidates (every layer can stay exact); the exact references (exact_u8,
    exact_s8) are in the catalog to price that choice and to scale the others."""
    from approxhls.errors import ApproxHLSError
    from approxhls.multipliers.catalog import characterize
    from approxhls.multipliers.registry import all_designs, builtin_designs, exact_reference, get_design

    builtin = list(builtin_designs())
    if selection in CANDIDATE_SETS:
        users = [d for d in all_designs() if d.family == "user"]
        pool = {"builtin": builtin, "user": users, "all": builtin + users}[selection]
        named = set()
    else:
        named = [n.strip() for n in selection.split(",") if n.strip()]
        if not named:
            raise ApproxHLSError(f"--candidates takes {', '.join(CANDIDATE_SETS)} or a list of multiplier names")
        pool = [get_design(n) for n in named]
    references = [get_design(exact_reference(signed)) for signed in (False, True)]
    pool = [d for d in pool if d.bits == 8 and d.family != "exact"]
    entries = characterize(pool + references, progress=False, with_synthesis=False)
    out, notes = {}, []
    for e in entries:
        if not e.get("cost"):
            why = (f"{e['name']} has no characterized circuit (LUTs/energy unknown): add its Verilog "
                   f"(`approxhls multipliers add MODEL.c --verilog MODEL.v`) or run `approxhls multipliers characterize`")
            if e["name"] in named:
                raise ApproxHLSError(why)
            notes.append(why)
            continue
        out[e["name"]] = {"toggles_per_op": e["cost"]["toggles_per_op"], "luts": e["cost"]["luts"],
                          "mae_pct": e["metrics"]["mae_pct"], "signed": e["signed"]}
    missing = [r.name for r in references if r.name not in out]
    if missing:
        raise RuntimeError(f"the multiplier catalog has no cost for {', '.join(missing)}; "
                           f"run `approxhls multipliers characterize`")
    if len(out) == len(references):
        raise ApproxHLSError(f"no candidate multipliers with a known cost in {selection!r}" +
                             (f" ({notes[0]})" if notes else ""))
    return out, notes


def prepare(model, ds, calib: int = 1000, seed: int = 0, reuse_factor: int = 1, io_type: str = "io_parallel",
            input_precision: str | None = None, candidates: str = "builtin", val: int = 0,
            fit_samples: int | None = None):
    """(IR, layer costs, per-layer candidates, cost catalog, data splits, notes on left-out designs)."""
    from approxhls.cost.count import count_ir
    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.hls.plan import fits
    from approxhls.multipliers.registry import EXACT_REFERENCES, get_design

    g = build_graph(model, ConvertOptions(io_type=io_type, reuse_factor=reuse_factor,
                                          input_precision=input_precision or str(ds.grid)))
    ir = g.ir
    plannable = {n.name for n in ir.plannable_nodes()}  # shift/select products have no multiplier to trade
    counts = {c.name: c for c in count_ir(ir) if c.macs}  # the cost package's counter: MACs and weights
    layers = [LayerCost.from_count(counts[n.name], ir.input_type_of(n).signed)
              for n in ir.multiplying_nodes() if n.name in plannable]
    catalog, notes = candidate_catalog(candidates)
    names = sorted((n for n in catalog if n not in EXACT_REFERENCES), key=lambda n: catalog[n]["mae_pct"])
    per_layer = {}
    for node in ir.plannable_nodes():
        x_t, w_t = ir.input_type_of(node), node.type("weight")
        per_layer[node.name] = [EXACT] + [n for n in names if fits(get_design(n), x_t, w_t) is None]
    idx, val_idx, val_source = split_indices(len(ds.x_train), calib, val, fit_samples, seed)
    shape = [int(d) for d in model.input_shape[1:]]
    data = SearchData(ds.for_input(ds.x_train[idx], shape), ds.y_train[idx],
                      ds.for_input(ds.x_test, shape), ds.y_test,
                      ds.for_input(ds.x_train[val_idx], shape), ds.y_train[val_idx], val_source)
    return ir, layers, per_layer, catalog, data, notes
