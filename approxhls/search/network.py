"""A network prepared for search: exact IR, layer MACs, per-layer candidate multipliers, data splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from approxhls.search.costmodel import EXACT, LayerCost


@dataclass
class SearchData:
    """calib: fitness during the search; val: choosing points (held out from training where train.json says which
    samples were); test: reporting only. ``calib_index`` and ``val_index`` are the training-split indices they are."""

    x_calib: np.ndarray
    y_calib: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    val_source: str = ""
    calib_index: np.ndarray | None = None
    val_index: np.ndarray | None = None


def _size(flag: str, asked: int | None, default: int, available: int, where: str) -> int:
    """``asked`` samples (None: up to ``default``), refused when the split has fewer."""
    if asked is None:
        return min(default, available)
    if asked > available:
        from approxhls.search.options import SearchOptionError

        raise SearchOptionError(f"{flag} {asked} asks for more samples than the {available} {where}; give at most "
                                f"{available}")
    return asked


def split_indices(n_train: int, calib: int | None, val: int | None, fit_samples: int | None, seed: int):
    """(calibration indices, validation indices, where validation comes from) into the training split.

    With ``fit_samples`` (train.json: Keras held out x_train[fit_samples:]), validation is drawn from the held-out
    tail and calibration from the fitted part; otherwise both from the training split, disjoint. A size of None
    takes up to the default (1000 / 2000), as many as the split has; a larger size than the split has is refused."""
    from approxhls.search.options import DEFAULT_CALIB, DEFAULT_VAL

    rng = np.random.default_rng(seed)
    if fit_samples and 0 < fit_samples < n_train:
        calib = _size("--calib", calib, DEFAULT_CALIB, fit_samples, "training samples the model was fitted on")
        val = _size("--val", val, DEFAULT_VAL, n_train - fit_samples, "training samples held out from fitting")
        cal = rng.permutation(fit_samples)[:calib]
        val_idx = fit_samples + rng.permutation(n_train - fit_samples)[:val]
        return cal, val_idx, f"training samples {fit_samples}..{n_train - 1} (never used for weight updates)"
    calib = _size("--calib", calib, DEFAULT_CALIB, n_train, "samples of the training split")
    val = _size("--val", val, DEFAULT_VAL, n_train - calib, "samples of the training split left after calibration")
    perm = rng.permutation(n_train)
    return (perm[:calib], perm[calib : calib + val],
            "training split, disjoint from calibration (train.json does not say what training held out)")


CANDIDATE_SETS = ("builtin", "user", "all")


def _selected_designs(selection: str) -> tuple[list, set]:
    """(designs a selection names, names the user gave one by one)."""
    from approxhls.errors import ApproxHLSError
    from approxhls.multipliers.registry import all_designs, builtin_designs, get_design

    if selection in CANDIDATE_SETS:
        builtin = list(builtin_designs())
        users = [d for d in all_designs() if d.family == "user"]
        return {"builtin": builtin, "user": users, "all": builtin + users}[selection], set()
    named = [n.strip() for n in selection.split(",") if n.strip()]
    if not named:
        raise ApproxHLSError(f"--candidates takes {', '.join(CANDIDATE_SETS)} or a list of multiplier names")
    return [get_design(n) for n in named], set(named)


def _uncharacterized(name: str) -> str:
    return (f"{name} has no characterized circuit (LUTs/energy unknown): add its Verilog "
            f"(`approxhls multipliers add MODEL.c --verilog MODEL.v`) or run `approxhls multipliers characterize`")


def _priced(entries: list[dict], named: set) -> tuple[dict[str, dict], list[str]]:
    """The cost of each characterized entry; notes on those without one (an error for a design named by hand)."""
    from approxhls.errors import ApproxHLSError

    out, notes = {}, []
    for e in entries:
        if not e.get("cost"):
            if e["name"] in named:
                raise ApproxHLSError(_uncharacterized(e["name"]))
            notes.append(_uncharacterized(e["name"]))
            continue
        out[e["name"]] = {"toggles_per_op": e["cost"]["toggles_per_op"], "luts": e["cost"]["luts"],
                          "mae_pct": e["metrics"]["mae_pct"], "signed": e["signed"]}
    return out, notes


def candidate_catalog(selection: str = "builtin") -> tuple[dict[str, dict], list[str]]:
    """The 8x8 designs a search may use, with their characterized cost: name -> {"toggles_per_op", "luts",
    "mae_pct", "signed"}, and notes on designs left out. ``selection``: builtin, user, all, or NAME,NAME,...
    Unsigned designs serve any 8-bit layer by sign-magnitude; signed ones where the operands fit (signed
    activations). Exact designs are not candidates (every layer can stay exact); the exact references (exact_u8,
    exact_s8) are in the catalog to price that choice and to scale the others."""
    from approxhls.errors import ApproxHLSError
    from approxhls.multipliers.catalog import characterize
    from approxhls.multipliers.registry import exact_reference, get_design

    pool, named = _selected_designs(selection)
    references = [get_design(exact_reference(signed)) for signed in (False, True)]
    pool = [d for d in pool if d.bits == 8 and d.family != "exact"]
    out, notes = _priced(characterize(pool + references, progress=False, with_synthesis=False), named)
    missing = [r.name for r in references if r.name not in out]
    if missing:
        raise RuntimeError(f"the multiplier catalog has no cost for {', '.join(missing)}; "
                           f"run `approxhls multipliers characterize`")
    if len(out) == len(references):
        raise ApproxHLSError(f"no candidate multipliers with a known cost in {selection!r}" +
                             (f" ({notes[0]})" if notes else ""))
    return out, notes


def layer_candidates(ir, catalog: dict[str, dict]) -> dict[str, list[str]]:
    """Per plannable layer: EXACT, then the catalog's designs that fit its operands, least error first."""
    from approxhls.hls.plan import fits
    from approxhls.multipliers.registry import EXACT_REFERENCES, get_design

    names = sorted((n for n in catalog if n not in EXACT_REFERENCES), key=lambda n: catalog[n]["mae_pct"])
    per_layer = {}
    for node in ir.plannable_nodes():
        x_t, w_t = ir.input_type_of(node), node.type("weight")
        per_layer[node.name] = [EXACT] + [n for n in names if fits(get_design(n), x_t, w_t) is None]
    return per_layer


def layer_costs(ir) -> list[LayerCost]:
    """MACs and weights of every plannable multiplying layer, from the cost package's counter (shift/select
    products have no multiplier to trade)."""
    from approxhls.cost.count import count_ir

    plannable = {n.name for n in ir.plannable_nodes()}
    counts = {c.name: c for c in count_ir(ir) if c.macs}
    return [LayerCost.from_count(counts[n.name], ir.input_type_of(n).signed)
            for n in ir.multiplying_nodes() if n.name in plannable]


def search_data(ds, shape: list[int], calib: int | None, val: int | None, fit_samples: int | None,
                seed: int) -> SearchData:
    """Calibration and validation images drawn from the training split (:func:`split_indices`), the test split."""
    idx, val_idx, val_source = split_indices(len(ds.x_train), calib, val, fit_samples, seed)
    return SearchData(ds.for_input(ds.x_train[idx], shape), ds.y_train[idx],
                      ds.for_input(ds.x_test, shape), ds.y_test,
                      ds.for_input(ds.x_train[val_idx], shape), ds.y_train[val_idx], val_source, idx, val_idx)


def prepare(model, ds, calib: int | None = 1000, seed: int = 0, reuse_factor: int = 1, io_type: str = "io_parallel",
            input_precision: str | None = None, candidates: str = "builtin", val: int | None = 0,
            fit_samples: int | None = None):
    """(IR, layer costs, per-layer candidates, cost catalog, data splits, notes on left-out designs)."""
    from approxhls.hls.convert import ConvertOptions, build_graph

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        from approxhls.errors import ModelError

        raise ModelError(f"approxhls search evaluates a dataset's images on a model with one input and one output; "
                         f"this one has {len(model.inputs)} inputs and {len(model.outputs)} outputs")
    g = build_graph(model, ConvertOptions(io_type=io_type, reuse_factor=reuse_factor,
                                          input_precision=input_precision or str(ds.grid)))
    catalog, notes = candidate_catalog(candidates)
    data = search_data(ds, [int(d) for d in model.input_shape[1:]], calib, val, fit_samples, seed)
    return g.ir, layer_costs(g.ir), layer_candidates(g.ir, catalog), catalog, data, notes
