"""Keras/QKeras model -> hls4ml project whose C-simulation equals QKeras bit for bit wherever hls4ml allows.

Precisions: the input takes the dataset's grid; Dense/Conv/merge results are left to hls4ml's exact inference
('auto'); power-of-two alpha scales, average pooling, float activations hls4ml splits off Q layers and
power-of-two-weight accumulators are made exact by :mod:`approxhls.hls.precision`; quantized activations keep
QKeras' own rounding (RND_CONV) and saturation. Whether the result equals Keras is derived layer by layer
(each IR operation says exact or not, and why) and, with ``verify``, checked on samples through Keras and the
C-simulation; the project says ``bit_exact: true`` only when both hold. The project directory gets
``approxhls.json`` (everything later steps need) and a copy of the Keras model, so it is self-contained.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from approxhls import __version__
from approxhls.errors import ModelError, ProjectError
from approxhls.fixedpoint import FixedType
from approxhls.hls.keras_layers import check_layers
from approxhls.names import check_identifier, check_path
from approxhls.sim.project import KERAS_COPY, PROJECT_JSON

DEFAULT_PART = "xc7z020clg400-1"  # PYNQ-Z2
BACKENDS = {"vitis": "Vitis", "vivado": "Vivado"}
IO_TYPES = ("io_parallel", "io_stream")
STRATEGIES = ("latency", "resource")
SOFTMAX_CHOICES = ("keep", "argmax", "strip")
AVERAGE_POOLING = ("AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D")


@dataclass
class ConvertOptions:
    io_type: str = "io_parallel"
    strategy: str = "latency"
    reuse_factor: int = 1
    backend: str = "vitis"
    part: str = DEFAULT_PART
    clock_period: float = 10.0
    project_name: str = "approxhls_model"
    input_precision: str | None = None  # default: the training grid, else ap_ufixed<8,0>
    softmax: str = "keep"               # keep (hls4ml's stable softmax), argmax (one-hot), strip (logits out)
    trace: bool = False                 # every layer's output readable from the C-simulation (approxhls diff)
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        for what, value, choices in (("io_type", self.io_type, IO_TYPES), ("strategy", self.strategy, STRATEGIES),
                                     ("backend", self.backend, tuple(BACKENDS)),
                                     ("softmax", self.softmax, SOFTMAX_CHOICES)):
            if value not in choices:
                raise ModelError(f"{what} must be one of {', '.join(choices)}, got {value!r}")
        if int(self.reuse_factor) < 1:
            raise ModelError(f"reuse factor must be >= 1, got {self.reuse_factor}")
        check_identifier(self.project_name, "project name")
        if not all(c.isalnum() or c in "-_" for c in self.part):
            raise ModelError(f"FPGA part {self.part!r} has characters a part number never has")


# ---- the Keras side --------------------------------------------------------------------------------------------

def _is_softmax(layer) -> bool:
    cfg = layer.get_config()
    return type(layer).__name__ == "Softmax" or cfg.get("activation") == "softmax"


def strip_softmax(model):
    """The model without its final softmax (logits out), and a note; refused when the softmax is not last."""
    from tensorflow import keras

    last = model.layers[-1]
    if not _is_softmax(last):
        raise ModelError("--softmax strip: the model's output layer is not a softmax (nothing to strip)")
    if type(last).__name__ in ("Activation", "Softmax"):
        stripped = keras.Model(model.inputs, last.input, name=model.name)
    else:  # a Dense/Conv layer with activation='softmax': the same layer with a linear activation
        def clone(layer):
            cfg = layer.get_config()
            if layer is last:
                cfg["activation"] = "linear"
            return type(layer).from_config(cfg)

        stripped = keras.models.clone_model(model, clone_function=clone)
        stripped.set_weights(model.get_weights())
    return stripped, f"{last.name}: softmax stripped (the hardware outputs logits; their argmax is the class)"


def hls_config(model, opts: ConvertOptions, input_precision: FixedType) -> dict:
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(
        model, granularity="name", backend=BACKENDS[opts.backend], default_precision="fixed<16,6>"
    )
    cfg["Model"]["Strategy"] = opts.strategy.capitalize()
    cfg["Model"]["ReuseFactor"] = int(opts.reuse_factor)
    in_name = model.layers[0].name
    cfg["LayerName"][in_name]["Precision"]["result"] = str(FixedType(input_precision.width,
                                                                      input_precision.integer,
                                                                      input_precision.signed))
    for layer_cfg in cfg["LayerName"].values():
        layer_cfg["ReuseFactor"] = int(opts.reuse_factor)
        layer_cfg["Strategy"] = opts.strategy.capitalize()
    for layer in model.layers:
        cls = type(layer).__name__
        layer_cfg = cfg["LayerName"].get(layer.name)
        if layer_cfg is None:  # layers hls4ml drops (Dropout)
            continue
        # Average pooling gets an exact type from approxhls.hls.precision, which needs 'auto' here.
        if cls in AVERAGE_POOLING:
            layer_cfg["Precision"] = {"result": "auto", "accum": "auto"}
        # QKeras computes a separable convolution in float: its depthwise half must not round.
        if "SeparableConv" in cls:
            precision = layer_cfg.setdefault("Precision", {})
            if isinstance(precision, dict):
                precision.update({"depthwise_result": "auto", "depthwise_accum": "auto", "pointwise_accum": "auto"})
        if opts.softmax == "argmax" and _is_softmax(layer):
            layer_cfg["Implementation"] = "argmax"
            # a softmax built into a Dense/Conv layer becomes a layer of its own, named after it
            cfg["LayerName"].setdefault(f"{layer.name}_softmax", {})["Implementation"] = "argmax"
    return cfg


def _layer_table(hls_model) -> list[dict]:
    rows = []
    for layer in hls_model.get_layers():
        types = {k: str(v.precision) for k, v in layer.types.items()}
        rows.append({"name": layer.name, "class": layer.class_name, "types": types,
                     "shape": [int(d) for d in layer.get_output_variable().shape]})
    return rows


def _to_hls(model, cfg: dict, out: Path, opts: ConvertOptions, log: io.StringIO, caught: list):
    import hls4ml

    with warnings.catch_warnings(record=True) as w, contextlib.redirect_stdout(log):
        warnings.simplefilter("always")
        try:
            hls_model = hls4ml.converters.convert_from_keras_model(
                model, hls_config=cfg, output_dir=str(out), project_name=opts.project_name,
                backend=BACKENDS[opts.backend], io_type=opts.io_type, part=opts.part, clock_period=opts.clock_period,
            )
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
    model: object = None                                   # the Keras model converted (LSQ layers deployed)
    deployment_notes: list = field(default_factory=list)   # how the model changed before conversion
    exactness: list = field(default_factory=list)          # per IR node: exact vs Keras, and why not
    repairs: list = field(default_factory=list)            # what approxhls changed in hls4ml's conversion

    @property
    def exact(self) -> bool | None:
        """True when every layer is exact by its types, False when one is not, None when one is unknown."""
        return derived_exactness(self.exactness)


def derived_exactness(rows: list[dict]) -> bool | None:
    values = [row["exact"] for row in rows]
    return False if False in values else (None if None in values else True)


def layer_exactness(ir, assignments: dict) -> list[dict]:
    """Per node: does its output equal the Keras layer it comes from (on inputs on the grid), and why not."""
    rows = []
    for node in ir.nodes:
        e = node.operation.exactness(node, ir)
        exact, reason = e.exact, e.reason
        a = assignments.get(node.name)
        if a is not None and not a.exact:
            exact, reason = False, f"approximate multiplier {a.multiplier}"
        rows.append({"layer": node.name, "op": node.op, "exact": exact, "reason": reason})
    return rows


def build_graph(model, opts: ConvertOptions, train_info: dict | None = None, plan=None,
                out: Path | None = None) -> Graph:
    """Convert a Keras model in memory (nothing written), with exact precisions and the plan applied."""
    from approxhls.hls import plancode, precision
    from approxhls.hls.extract import extract_ir
    from approxhls.hls.plan import PlanError, load_plan, resolve_plan
    from approxhls.models.lsq import deploy

    opts.validate()
    train_info = train_info or {}
    model, deployment_notes = deploy(model)  # learned-step (LSQ) layers -> the fixed-point form hls4ml expresses
    if opts.softmax == "strip":
        model, note = strip_softmax(model)
        deployment_notes = deployment_notes + [note]
    check_layers(model, opts.io_type)
    grid = FixedType.parse(opts.input_precision or train_info.get("input_grid") or "ap_ufixed<8,0>")
    precision.register()
    cfg = hls_config(model, opts, grid)
    out = Path(out) if out is not None else Path("approxhls_unwritten")
    log, caught = io.StringIO(), []
    assignments = {}
    if plan is not None:
        # Operand types are known only after conversion: resolve the plan on an exact conversion first.
        plan = load_plan(plan)
        ir0 = extract_ir(_to_hls(model, copy.deepcopy(cfg), out, opts, io.StringIO(), []))
        assignments = resolve_plan(plan, ir0)
        for a in assignments.values():
            if not a.exact:
                # layers hls4ml adds itself (the depthwise and pointwise halves of a separable convolution) have
                # no entry of their own yet
                layer_cfg = cfg["LayerName"].setdefault(a.layer, {})
                layer_cfg["ApproxhlsMultiplier"] = a.multiplier
                layer_cfg["ApproxhlsExtraBits"] = a.extra_bits
        plancode.register_product_source(BACKENDS[opts.backend])
    hls_model = _to_hls(model, cfg, out, opts, log, caught)
    if plan is not None and plan.tuned_weights:
        apply_tuned_weights(hls_model, plan.tuned_weights)
    if plan is not None and plan.bias_offsets:
        apply_bias_offsets(hls_model, plan.bias_offsets)
    ir = extract_ir(hls_model)
    for a in assignments.values():
        node = ir.node(a.layer)
        if not a.exact and (ir.input_type_of(node) != a.x_type or node.type("weight") != a.w_type):
            raise PlanError(f"layer {a.layer!r}: its operand types changed when upstream layers were planned; "
                            f"plan the upstream layers exact or quantize this layer's input")
    plancode.apply_to_graph(hls_model, assignments)
    if opts.trace:  # every layer, those hls4ml inserts included
        hls_model.config.trace_output = True
        for layer in hls_model.get_layers():
            layer.set_attr("trace", True)
    exactness = layer_exactness(ir, assignments)
    notes = [f"{r['layer']}: {r['reason']}" for r in exactness if r["exact"] is not True]
    notes += [str(w.message) for w in caught if "approxhls" in str(w.filename) or "pooling" in str(w.message)]
    notes += [f"{a.layer}: {a.source}" for a in assignments.values() if a.source.startswith("exact (")]
    return Graph(hls_model, ir, assignments, plan, notes, grid, log.getvalue(), model, deployment_notes, exactness,
                 precision.repairs(hls_model))


def _rewrite_codes(hls_model, changes: dict, var_name: str, what: str, change) -> None:
    """For each layer named in ``changes``: the integer codes of its ``var_name`` weights (in their type) go through
    ``change(codes, changes[layer])``; the result must stay inside that type. Edits the graph that gets written."""
    for layer in hls_model.get_layers():
        spec = changes.get(layer.name)
        if not spec:
            continue
        var = layer.weights[var_name]
        t = FixedType.parse(str(layer.types[f"{var_name}_t"].precision))
        codes = np.ldexp(np.asarray(var.data, dtype=np.float64), t.frac).astype(np.int64)
        new = change(codes, spec)
        if new.min() < t.code_min or new.max() > t.code_max:
            raise ModelError(f"{what} of {layer.name!r} leave the {var_name} type {t}")
        var.data = np.ldexp(new.astype(np.float64), -t.frac).reshape(np.shape(var.data))


def apply_tuned_weights(hls_model, tuned: dict) -> None:
    """Replace weight codes per layer (weight tuning without retraining)."""
    def replace(codes, mapping):
        lut = {int(k): int(v) for k, v in mapping.items()}
        return np.vectorize(lambda c: lut.get(int(c), int(c)), otypes=[np.int64])(codes)

    _rewrite_codes(hls_model, tuned, "weight", "tuned weights", replace)


def apply_bias_offsets(hls_model, offsets: dict) -> None:
    """Add per-channel offsets to the bias codes (bias compensation of a multiplier's expected error)."""
    _rewrite_codes(hls_model, offsets, "bias", "bias offsets",
                   lambda codes, delta: codes.reshape(-1) + np.asarray(delta, dtype=np.int64))


# ---- writing a project ---------------------------------------------------------------------------------------------

def convert(model_path, out_dir, opts: ConvertOptions | None = None, overwrite: bool = False, plan=None,
            verify: int = 0, weights=None):
    """Convert the model at ``model_path`` into an hls4ml project at ``out_dir``; returns the ModelGraph.

    ``plan`` (a path, dict or Plan) puts approximate multipliers into the planned layers; ``verify`` runs that
    many samples through Keras and the C-simulation before the project may say it is bit-exact.
    """
    from approxhls.models.modelio import load_model, load_train_info, resolve_model_path

    opts = opts or ConvertOptions()
    opts.validate()
    out = check_path(out_dir, "project directory")
    src = resolve_model_path(model_path, weights)
    model = load_model(src, weights)
    info = load_train_info(src)
    if out.exists():
        if not overwrite:
            raise ProjectError(f"{out} exists; choose another --out or pass --force to replace it")
        if not out.is_dir() or (any(out.iterdir()) and not (out / PROJECT_JSON).is_file()):
            raise ProjectError(f"{out} is not an approxhls project (no {PROJECT_JSON}); refusing to replace it")
        shutil.rmtree(out)
    try:
        hls_model = convert_model(model, out, opts, train_info=info, source=str(src), plan=plan, verify=verify)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # nothing half-written
        raise
    return hls_model


def convert_model(model, out: Path, opts: ConvertOptions, train_info: dict | None = None, source: str = "",
                  plan=None, verify: int = 0):
    """Convert an in-memory Keras model and write the project (with ``verify`` > 0 also compiled and checked)."""
    import hls4ml

    from approxhls.hls import plancode
    from approxhls.hls.fixups import apply_fixups
    from approxhls.hls.plan import save_resolved

    out = Path(out)
    train_info = train_info or {}
    g = build_graph(model, opts, train_info, plan, out)
    model = g.model  # the saved Keras copy is the model the C-simulation is compared with
    hls_model, ir, assignments, grid = g.hls_model, g.ir, g.assignments, g.grid
    log = io.StringIO(g.log)
    log.seek(0, io.SEEK_END)
    with contextlib.redirect_stdout(log):
        hls_model.write()
    repairs = g.repairs + apply_fixups(out)
    for fix in repairs:
        log.write(f"approxhls repaired hls4ml 1.3.0: {fix}\n")
    plancode.write_headers(out, assignments)
    (out / "convert.log").write_text(log.getvalue())  # hls4ml's chatter, kept for reference
    model.save(out / KERAS_COPY, include_optimizer=False)
    ir.save(out)
    if assignments:
        save_resolved(out, g.plan, assignments)
    meta = {
        "approxhls_version": __version__,
        "hls4ml_version": hls4ml.__version__,
        "project_name": opts.project_name,
        "io_type": opts.io_type,
        "strategy": opts.strategy,
        "reuse_factor": int(opts.reuse_factor),
        "backend": opts.backend,
        "part": opts.part,
        "clock_period_ns": opts.clock_period,
        "softmax": opts.softmax,
        "input_precision": str(grid),
        "input_shape": [int(d) for d in model.input_shape[1:]],
        "output_shape": [int(d) for d in model.output_shape[1:]],
        "keras_model": KERAS_COPY,
        "source_model": source,
        "dataset": train_info.get("dataset"),
        "scheme": train_info.get("scheme"),
        "bit_exact_derived": g.exact,  # every layer exact by its types (true), one not (false), unknown (null)
        "bit_exact": None,             # set below: derived and verified, else false (or null: not verified)
        "verified": None,
        "exactness": g.exactness,
        "notes": g.notes,
        "deployment_notes": g.deployment_notes,  # how the model changed before conversion (LSQ, softmax)
        "repairs": repairs,                      # what approxhls changed in hls4ml's conversion and output
        "plan": {name: a.to_json() for name, a in assignments.items()} or None,
        "layers": _layer_table(hls_model),
    }
    (out / PROJECT_JSON).write_text(json.dumps(meta, indent=2))  # the C-simulation reads it
    if verify:
        meta["verified"] = verify_project(out, model, meta, verify)
    meta["bit_exact"] = claim(meta)
    (out / PROJECT_JSON).write_text(json.dumps(meta, indent=2))
    return hls_model


def claim(meta: dict) -> bool | None:
    """True only when every layer is exact by its types and a verification found no difference; False when a
    layer is known not to be exact or a verification differed; None otherwise (not verified, or some layer's
    exactness is not known from its types and the verified samples did not differ)."""
    verified, derived = meta.get("verified"), meta["bit_exact_derived"]
    if derived is False or (verified is not None and not verified["equal"]):
        return False
    return True if derived and verified is not None else None


def verification_inputs(meta: dict, n: int, seed: int = 0) -> np.ndarray:
    """n samples on the input grid: the all-zero and all-maximum corners, then uniformly random codes."""
    t = FixedType.parse(meta["input_precision"])
    rng = np.random.default_rng(seed)
    codes = rng.integers(t.code_min, t.code_max + 1, (max(n, 2), int(np.prod(meta["input_shape"]))))
    codes[0], codes[1] = 0, t.code_max
    return t.from_codes(codes[:n]).reshape((n, *meta["input_shape"]))


def verify_project(out: Path, model, meta: dict, n: int) -> dict:
    """Run n samples through Keras and the project's C-simulation; compare every output element."""
    from approxhls.hls.csim import compare_outputs
    from approxhls.sim.csimlib import CSimLibrary

    x = verification_inputs(meta, n)
    y_keras = model.predict(x, batch_size=256, verbose=0).reshape(n, -1)
    y_csim = CSimLibrary(out).predict(x)
    cmp = compare_outputs(y_keras, y_csim)
    return {"samples": int(n), "inputs": "random codes of the input type, with the all-zero and all-maximum corners",
            "mismatched_samples": cmp["mismatches"], "mismatched_elements": cmp["mismatched_elements"],
            "max_abs_diff": cmp["max_abs_diff"], "class_agreement": float(np.mean(y_keras.argmax(1) == y_csim.argmax(1))),
            "equal": cmp["mismatches"] == 0}
