"""Keras/QKeras model -> hls4ml project whose C-simulation equals QKeras bit for bit wherever hls4ml allows.

One hls4ml conversion does everything: approxhls' named optimizer passes (:mod:`approxhls.hls.passes`) run inside
hls4ml's own flows and give the input its grid, repair what hls4ml 1.3.0 gets wrong, make rounding types exact, and
apply a multiplier plan (resolved against the operand types the kernels will have). Whether each layer equals
Keras is derived from its types (every IR operation says exact or not, and why) and, with ``verify``, checked on
samples through Keras and the C-simulation, layer by layer; the project says ``bit_exact: true`` only when both
hold. A project is written beside its destination and moved into place complete
(:func:`approxhls.fsutil.atomic_directory`), so a failure or Ctrl-C leaves the old one as it was.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from approxhls import __version__
from approxhls.errors import ApproxHLSError, ModelError
from approxhls.fixedpoint import FLOAT32_SIGNIFICANT, FixedType
from approxhls.hls.keras_layers import check_layers  # noqa: F401  (part of this module's API)
from approxhls.hls.options import (  # noqa: F401  (re-exported: the options live with the conversion)
    BACKENDS,
    DEFAULT_PART,
    IO_TYPES,
    SOFTMAX_CHOICES,
    STRATEGIES,
    ConvertOptions,
)
from approxhls.project import CONVERT_LOG, FORMAT, KERAS_COPY, Port, Project

AVERAGE_POOLING = ("AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D")
DEFAULT_GRID = "ap_ufixed<8,0>"


# ---- hls4ml's configuration ------------------------------------------------------------------------------------

def _is_softmax(layer) -> bool:
    return type(layer).__name__ == "Softmax" or layer.get_config().get("activation") == "softmax"


def _layer_config(layer, layer_cfg: dict, opts: ConvertOptions, cfg: dict) -> None:
    cls = type(layer).__name__
    layer_cfg["ReuseFactor"] = int(opts.reuse_factor)
    layer_cfg["Strategy"] = opts.strategy.capitalize()
    if cls in AVERAGE_POOLING:  # its exact type comes from an approxhls pass, which needs 'auto' here
        layer_cfg["Precision"] = {"result": "auto", "accum": "auto"}
    if "SeparableConv" in cls:  # QKeras computes a separable convolution in float: its depthwise half must not round
        precision = layer_cfg.setdefault("Precision", {})
        if isinstance(precision, dict):
            precision.update({"depthwise_result": "auto", "depthwise_accum": "auto", "pointwise_accum": "auto"})
    if opts.softmax == "argmax" and _is_softmax(layer):
        layer_cfg["Implementation"] = "argmax"
        # a softmax built into a Dense/Conv layer becomes a layer of its own, named after it
        cfg["LayerName"].setdefault(f"{layer.name}_softmax", {})["Implementation"] = "argmax"


def hls_config(model, opts: ConvertOptions, grid: FixedType, plan=None, second_opinion: dict | None = None) -> dict:
    """hls4ml's configuration of the model, carrying approxhls' settings for its passes."""
    import hls4ml

    from approxhls.hls.passes.base import SETTINGS_KEY

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=opts.hls_backend,
                                               default_precision=opts.default_precision)
    cfg["Model"]["Strategy"] = opts.strategy.capitalize()
    cfg["Model"]["ReuseFactor"] = int(opts.reuse_factor)
    # every layer traced: its output readable from the C-simulation (verification, diff); outside synthesis only
    cfg["Model"][SETTINGS_KEY] = {"input_precision": str(grid), "trace": True,
                                  "plan": plan.to_json() if plan is not None else None,
                                  "second_opinion": second_opinion or {}}
    for layer in model.layers:
        layer_cfg = cfg["LayerName"].get(layer.name)
        if layer_cfg is not None:  # None: layers hls4ml drops (Dropout)
            _layer_config(layer, layer_cfg, opts, cfg)
    return cfg


def _to_hls(model, cfg: dict, out: Path, opts: ConvertOptions, log: io.StringIO, caught: list):
    import hls4ml

    from approxhls.hls.passes import install

    install(opts.hls_backend)
    with warnings.catch_warnings(record=True) as w, contextlib.redirect_stdout(log):
        warnings.simplefilter("always")
        try:
            hls_model = hls4ml.converters.convert_from_keras_model(
                model, hls_config=cfg, output_dir=str(out), project_name=opts.project_name,
                backend=opts.hls_backend, io_type=opts.io_type, part=opts.part, clock_period=opts.clock_period,
            )
        except ApproxHLSError:
            raise
        except Exception as e:  # hls4ml's own refusals (assertions, KeyErrors) name no layer
            raise ModelError(f"hls4ml 1.3.0 could not convert the model: {type(e).__name__}: {e}") from e
    caught.extend(w)
    return hls_model


# ---- the graph ---------------------------------------------------------------------------------------------------

@dataclass
class Graph:
    """A converted (not yet written) network: hls4ml's ModelGraph, approxhls' IR and the resolved plan."""

    hls_model: object
    ir: object
    assignments: dict
    plan: object
    notes: list
    grid: FixedType
    log: str
    model: object = None                                   # the Keras model converted (LSQ deployed, renamed)
    deployment_notes: list = field(default_factory=list)   # how the model changed before conversion
    exactness: list = field(default_factory=list)          # per IR node: exact vs Keras, and why not
    repairs: list = field(default_factory=list)            # what approxhls changed in hls4ml's conversion
    user_names: dict = field(default_factory=dict)         # layer name inside the conversion -> the user's
    second_opinion: dict = field(default_factory=dict)     # hls4ml's bit-exact accumulators, side by side

    @property
    def exact(self) -> bool | None:
        """True when every layer is exact by its types, False when one is not, None when one is unknown."""
        return derived_exactness(self.exactness)


def derived_exactness(rows: list[dict]) -> bool | None:
    values = [row["exact"] for row in rows]
    return False if False in values else (None if None in values else True)


def float32_sums_exact(node, ir) -> bool:
    """A Dense/Conv layer whose every partial sum, over every input its type allows, stays below 2^24 units of its
    products' grid: float32 adds them without rounding in any order (then its wide type does not matter)."""
    groups = getattr(node.operation, "groups", None)
    if groups is None or node.attrs.get("binary_input"):
        return False
    x_t, w_t = ir.input_type_of(node), node.type("weight")
    x_max = max(abs(x_t.code_min), abs(x_t.code_max))
    frac = x_t.frac + w_t.frac  # the products' grid; a finer bias grid refines the sums'
    bias_frac = node.type("bias").frac if "bias" in node.types else None
    for w, b in groups(node):
        w = np.abs(np.asarray(w, dtype=np.float64)).reshape(-1, np.shape(w)[-1])
        has_bias = b is not None and bias_frac is not None
        grid = max(frac, bias_frac) if has_bias else frac
        bound = w.sum(axis=0) * x_max * 2.0 ** (grid - frac)
        if has_bias:
            bound = bound + np.abs(np.asarray(b, dtype=np.float64)).ravel() * 2.0 ** (grid - bias_frac)
        if bound.max() >= 2.0 ** FLOAT32_SIGNIFICANT:
            return False
    return True


def float32_rounds(node, ir) -> str:
    """Why Keras may round this node's values (float32 holds 24 significant bits; a type whose values need more
    leaves equality to the verification, unless the layer's sums provably stay within them), or ""."""
    try:
        t = FixedType.parse(node.types["result"])
    except (KeyError, ValueError):
        return ""
    bits = t.width - t.signed
    if bits <= FLOAT32_SIGNIFICANT or float32_sums_exact(node, ir):
        return ""
    return (f"Keras holds this layer's values in float32 ({FLOAT32_SIGNIFICANT} significant bits); its type {t} has "
            f"{bits}: equal only where the verification shows it")


def layer_exactness(ir, assignments: dict) -> list[dict]:
    """Per node: does its output equal the Keras layer it comes from (on inputs on the grid), and why not."""
    rows = []
    for node in ir.nodes:
        e = node.operation.exactness(node, ir)
        exact, reason = e.exact, e.reason
        wider = float32_rounds(node, ir)
        if exact and wider:
            exact, reason = None, wider
        a = assignments.get(node.name)
        if a is not None and not a.exact:
            exact, reason = False, f"approximate multiplier {a.multiplier}"
        rows.append({"layer": node.name, "op": node.op, "exact": exact, "reason": reason})
    return rows


def graph_assignments(hls_model, ir) -> dict:
    """{layer: Assignment} of every plannable layer, as the conversion's plan pass resolved them."""
    from approxhls.hls.passes.multipliers import ASSIGNMENT_ATTR

    found = {layer.name: layer.get_attr(ASSIGNMENT_ATTR) for layer in hls_model.get_layers()}
    return {n.name: found[n.name] for n in ir.plannable_nodes() if found.get(n.name)}


def _input_grid(opts: ConvertOptions, train_info: dict | None) -> FixedType:
    """The input type: as asked, else the grid the model was trained on, else the default."""
    return FixedType.parse(opts.input_precision or (train_info or {}).get("input_grid") or DEFAULT_GRID)


def _adopted_accumulators(opinion: dict) -> dict:
    """{layer: accumulator type} hls4ml's bit-exact mode proposed (and approxhls' bound accepted)."""
    return {name: t["accum_t"] for name, t in opinion.get("layers", {}).items() if "accum_t" in t}


def _conversion_notes(exactness: list[dict], caught: list, assignments: dict) -> list[str]:
    """What the conversion says about itself: layers not equal to Keras and why, approxhls' own warnings and
    hls4ml's pooling ones, and planned layers that stayed exact."""
    notes = [f"{r['layer']}: {r['reason']}" for r in exactness if r["exact"] is not True]
    notes += [str(w.message) for w in caught if "approxhls" in str(w.filename) or "pooling" in str(w.message)]
    notes += [f"{a.layer}: {a.source}" for a in assignments.values() if a.source.startswith("exact (")]
    return notes


def build_graph(model, opts: ConvertOptions, train_info: dict | None = None, plan=None,
                out: Path | None = None, second_opinion: bool = False) -> Graph:
    """Convert a Keras model in memory (nothing written), with exact precisions and the plan applied;
    ``second_opinion``: convert with hls4ml's bit-exact mode too and adopt its narrower accumulators where they
    provably hold every sum (:mod:`approxhls.hls.second_opinion`)."""
    from approxhls.hls.extract import extract_ir
    from approxhls.hls.keras_prep import prepare
    from approxhls.hls.passes.repairs import repairs
    from approxhls.hls.passes.second_opinion import opinions
    from approxhls.hls.plan import check_plan, load_plan
    from approxhls.hls.second_opinion import hls4ml_bit_exact_types

    opts.validate()
    prepared = prepare(model, opts)
    grid = _input_grid(opts, train_info)
    plan = load_plan(plan).renamed({old: new for new, old in prepared.user_names.items()}) if plan is not None else None
    opinion = hls4ml_bit_exact_types(prepared.model, opts, grid) if second_opinion else {"status": "not asked"}
    cfg = hls_config(prepared.model, opts, grid, plan, _adopted_accumulators(opinion))
    log, caught = io.StringIO(), []
    hls_model = _to_hls(prepared.model, cfg, Path(out) if out is not None else Path("approxhls_unwritten"), opts,
                        log, caught)
    ir = extract_ir(hls_model)
    assignments = {}
    if plan is not None:
        check_plan(plan, ir)
        assignments = graph_assignments(hls_model, ir)
    exactness = layer_exactness(ir, assignments)
    notes = _conversion_notes(exactness, caught, assignments)
    opinion["layers"] = opinions(hls_model)
    return Graph(hls_model, ir, assignments, plan, notes, grid, log.getvalue(), prepared.model, prepared.notes,
                 exactness, repairs(hls_model), prepared.user_names, opinion)


# ---- writing a project ---------------------------------------------------------------------------------------------

def convert(model_path, out_dir, opts: ConvertOptions | None = None, overwrite: bool = False, plan=None,
            verify: int = 0, weights=None):
    """Convert the model at ``model_path`` into an hls4ml project at ``out_dir``; returns the ModelGraph.

    ``plan`` (a path, dict or Plan) puts approximate multipliers into the planned layers; ``verify`` runs that
    many samples through Keras and the C-simulation before the project may say it is bit-exact. The project is
    built beside ``out_dir`` and replaces it only when complete (``overwrite``: an existing project may be
    replaced; anything else there is never touched).
    """
    from approxhls.checks import whole
    from approxhls.fsutil import atomic_directory, check_output_dir
    from approxhls.hls.plan import load_plan
    from approxhls.models.modelio import load_model, load_train_info, resolve_model_path

    opts = (opts or ConvertOptions()).validate()
    verify = whole("--verify", verify, 0)
    out = check_output_dir(out_dir, "project directory", overwrite, replaceable=_is_project,
                           kind="an approxhls project")
    src = resolve_model_path(model_path, weights)
    plan = load_plan(plan) if plan is not None else None  # read now: a plan file inside the old project is fine
    model = load_model(src, weights)
    info = load_train_info(src)
    with atomic_directory(out) as tmp:
        hls_model = convert_model(model, tmp, opts, train_info=info, source=str(src), plan=plan, verify=verify)
    return hls_model


def _is_project(path: Path) -> bool:
    from approxhls.project import is_project

    return is_project(path)


def _port(var, direction: str) -> Port:
    t = var.type
    n_elem, n_pack = getattr(t, "n_elem", None), getattr(t, "n_pack", 1)
    shape = tuple(int(d) for d in var.shape)
    chunk = int(n_elem) // int(n_pack) if getattr(t, "unpack", False) else \
        int(n_elem) * int(n_pack) if n_elem is not None else math.prod(shape)
    precision = getattr(t, "precision", None)
    return Port(var.name, direction, t.name, str(FixedType.parse(str(precision))), shape, chunk)


def record_ports(hls_model) -> list[Port]:
    """The top function's arguments as hls4ml writes them (inputs, then outputs)."""
    return ([_port(v, "in") for v in hls_model.get_input_variables()] +
            [_port(v, "out") for v in hls_model.get_output_variables()])


def _layer_table(hls_model, user_names: dict) -> list[dict]:
    rows = []
    for layer in hls_model.get_layers():
        types = {k: str(v.precision) for k, v in layer.types.items()}
        rows.append({"name": user_names.get(layer.name, layer.name), "class": layer.class_name, "types": types,
                     "shape": [int(d) for d in layer.get_output_variable().shape]})
    return rows


def _user_rows(rows: list[dict], user_names: dict) -> list[dict]:
    return [r | {"layer": user_names.get(r["layer"], r["layer"])} for r in rows]


def project_meta(g: Graph, opts: ConvertOptions, train_info: dict, source: str) -> dict:
    import hls4ml

    model = g.model
    return {
        "format": FORMAT,
        "approxhls_version": __version__,
        "hls4ml_version": hls4ml.__version__,
        "options": opts.to_json(),
        "project_name": opts.project_name,
        "io_type": opts.io_type,
        "strategy": opts.strategy,
        "reuse_factor": int(opts.reuse_factor),
        "backend": opts.backend,
        "part": opts.part,
        "clock_period_ns": opts.clock_period,
        "softmax": opts.softmax,
        "input_precision": str(g.grid),
        "input_shape": [int(d) for d in model.inputs[0].shape[1:]],     # the first input's (most models have one)
        "output_shape": [int(d) for d in model.outputs[0].shape[1:]],
        "input_shapes": [[int(d) for d in t.shape[1:]] for t in model.inputs],   # a sample: these side by side
        "output_shapes": [[int(d) for d in t.shape[1:]] for t in model.outputs],
        "ports": [p.to_json() for p in record_ports(g.hls_model)],
        "keras_model": KERAS_COPY,
        "traced": True,  # every layer's output readable from the C-simulation (hls4ml's trace, outside synthesis)
        "source_model": source,
        "dataset": train_info.get("dataset"),
        "scheme": train_info.get("scheme"),
        "user_names": g.user_names,                 # layer name inside the generated code -> the user's name
        "bit_exact_derived": g.exact,  # every layer exact by its types (true), one not (false), unknown (null)
        "bit_exact": None,             # set below: derived and verified, else false (or null: not verified)
        "verified": None,
        "exactness": _user_rows(g.exactness, g.user_names),
        "notes": g.notes,
        "deployment_notes": g.deployment_notes,  # how the model changed before conversion (LSQ, softmax, names)
        "repairs": g.repairs,                    # what approxhls changed in hls4ml's conversion and output
        "second_opinion": {"status": g.second_opinion["status"],  # hls4ml's bit-exact mode, side by side
                           "layers": _user_rows(g.second_opinion.get("layers", []), g.user_names)},
        "plan": {g.user_names.get(name, name): a.to_json() for name, a in g.assignments.items()} or None,
        "layers": _layer_table(g.hls_model, g.user_names),
    }


def convert_model(model, out: Path, opts: ConvertOptions, train_info: dict | None = None, source: str = "",
                  plan=None, verify: int = 0):
    """Convert an in-memory Keras model and write the project into ``out`` (with ``verify`` > 0 also compiled and
    checked); returns hls4ml's ModelGraph."""
    from approxhls.hls.passes.sources import SOURCE_REPAIRS_ATTR
    from approxhls.hls.plan import save_resolved
    from approxhls.hls.verify import claim, verify_project
    from approxhls.sim.csimlib import check_stack

    out = Path(out)
    train_info = train_info or {}
    g = build_graph(model, opts, train_info, plan, out, second_opinion=True)
    project = Project(out, project_meta(g, opts, train_info, source))
    check_stack(project.meta, "this model")  # before anything is written
    log = io.StringIO(g.log)
    log.seek(0, io.SEEK_END)
    with contextlib.redirect_stdout(log):
        g.hls_model.write()
    g.repairs += getattr(g.hls_model, SOURCE_REPAIRS_ATTR, [])
    for fix in g.repairs:
        log.write(f"approxhls repaired hls4ml 1.3.0: {fix}\n")
    (out / CONVERT_LOG).write_text(log.getvalue())  # hls4ml's chatter, kept for reference
    g.model.save(out / KERAS_COPY, include_optimizer=False)
    g.ir.save(out)
    if g.assignments:
        save_resolved(out, g.plan, g.assignments)
    project.write_meta()  # the C-simulation reads it
    if verify:
        project.meta["verified"] = verify_project(project, g.model, verify, g.user_names)
    project.meta["bit_exact"] = claim(project.meta)
    project.write_meta()
    return g.hls_model
