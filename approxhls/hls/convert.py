"""Keras/QKeras model -> hls4ml project whose C-simulation equals QKeras bit for bit.

Precisions: the input takes the dataset's grid; Dense/Conv/Add results are left to hls4ml's exact
inference ('auto'); power-of-two alpha scales and average pooling are made exact by
:mod:`approxhls.hls.precision`; quantized activations keep QKeras' own rounding (RND_CONV) and
saturation. The project directory gets ``approxhls.json`` (everything later steps need) and a copy of the
Keras model, so it is self-contained.
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

from approxhls import __version__
from approxhls.errors import ModelError, ProjectError, UnsupportedLayerError
from approxhls.fixedpoint import FixedType
from approxhls.hls.project import KERAS_COPY, PROJECT_JSON
from approxhls.names import check_identifier, check_path

DEFAULT_PART = "xc7z020clg400-1"  # PYNQ-Z2
BACKENDS = {"vitis": "Vitis", "vivado": "Vivado"}
IO_TYPES = ("io_parallel", "io_stream")
STRATEGIES = ("latency", "resource")

# Keras layer classes approxhls converts, and whether hls4ml reproduces them exactly.
# Layers marked False convert, but their C-simulation can differ from Keras in the last bits.
SUPPORTED_LAYERS: dict[str, bool] = {
    "InputLayer": True,
    "QDense": True,
    "QConv2D": True,
    "QConv2DBatchnorm": True,
    "QActivation": True,
    "Dense": False,
    "Conv2D": False,
    "Activation": True,
    "ReLU": True,
    "MaxPooling2D": True,
    "AveragePooling2D": True,
    "Flatten": True,
    "Reshape": True,
    "Add": True,
    "ZeroPadding2D": True,
    "Dropout": True,
    "BatchNormalization": False,
    "QBatchNormalization": False,
}
EXACT_ACTIVATIONS = {"quantized_relu", "quantized_bits"}


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
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        if self.io_type not in IO_TYPES:
            raise ModelError(f"io_type must be one of {', '.join(IO_TYPES)}, got {self.io_type!r}")
        if self.strategy not in STRATEGIES:
            raise ModelError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.backend not in BACKENDS:
            raise ModelError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if int(self.reuse_factor) < 1:
            raise ModelError(f"reuse factor must be >= 1, got {self.reuse_factor}")
        check_identifier(self.project_name, "project name")
        if not all(c.isalnum() or c in "-_" for c in self.part):
            raise ModelError(f"FPGA part {self.part!r} has characters a part number never has")


def check_layers(model, io_type: str = "io_parallel") -> list[str]:
    """Refuse unsupported layers; return reasons why the model may not be bit-exact (empty when it is)."""
    notes = []
    for layer in model.layers:
        cls = type(layer).__name__
        if cls == "QConv2DBatchnorm" and io_type == "io_stream":
            cfg = layer.get_config()
            if tuple(cfg["kernel_size"]) == (1, 1) and tuple(cfg["strides"]) != (1, 1):
                # hls4ml 1.3.0 streams this case through its generic conv and computes wrong values.
                raise UnsupportedLayerError(
                    f"layer {layer.name!r} of type QConv2DBatchnorm (1x1 kernel, strides {tuple(cfg['strides'])}) "
                    f"is computed wrongly by hls4ml 1.3.0 under io_stream; use io_parallel, or a QConv2D "
                    f"(batch-norm unfused) for this layer"
                )
        if cls not in SUPPORTED_LAYERS:
            raise UnsupportedLayerError(
                f"layer {layer.name!r} of type {cls} is not supported; approxhls converts "
                f"{', '.join(sorted(SUPPORTED_LAYERS))}"
            )
        if layer.name == "input":
            raise ModelError("a layer is named 'input', which hls4ml reserves; rename it (e.g. 'x_in')")
        check_identifier(layer.name, f"layer name (layer of type {cls})")
        if not SUPPORTED_LAYERS[cls]:
            notes.append(f"{layer.name} ({cls}) is computed with float parameters rounded to fixed point")
        if cls == "QActivation":
            q = getattr(layer.activation, "__class__", type(None)).__name__
            if q not in EXACT_ACTIVATIONS:
                notes.append(f"{layer.name}: activation {q} is approximated by a lookup table in hls4ml")
        if cls in ("Activation",) and layer.get_config().get("activation") not in ("relu", "linear"):
            raise UnsupportedLayerError(
                f"layer {layer.name!r} of type Activation({layer.get_config().get('activation')}) is not supported; "
                f"use relu/linear or a QActivation"
            )
        for attr in ("kernel_quantizer_internal", "bias_quantizer_internal"):
            q = getattr(layer, attr, None)
            if q is not None and getattr(q, "alpha", 1) not in (1, 1.0, None, "auto_po2"):
                notes.append(f"{layer.name}: weight scale alpha={q.alpha!r} is a float, rounded in hardware")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(f"approxhls converts single-input single-output models; this one has "
                         f"{len(model.inputs)} inputs and {len(model.outputs)} outputs")
    return notes


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
        # Average pooling gets an exact type from approxhls.hls.precision, which needs 'auto' here.
        if type(layer).__name__ == "AveragePooling2D":
            cfg["LayerName"][layer.name]["Precision"] = {"result": "auto", "accum": "auto"}
    return cfg


def _layer_table(hls_model) -> list[dict]:
    rows = []
    for layer in hls_model.get_layers():
        types = {k: str(v.precision) for k, v in layer.types.items()}
        rows.append({"name": layer.name, "class": layer.class_name, "types": types,
                     "shape": [int(d) for d in layer.get_output_variable().shape]})
    return rows


def convert(model_path, out_dir, opts: ConvertOptions | None = None, overwrite: bool = False, plan=None):
    """Convert the model at ``model_path`` into an hls4ml project at ``out_dir``; returns the ModelGraph.

    ``plan`` (a path, dict or Plan) puts approximate multipliers into the planned layers.
    """
    from approxhls.models.modelio import load_model, load_train_info, resolve_model_path

    opts = opts or ConvertOptions()
    opts.validate()
    out = check_path(out_dir, "project directory")
    src = resolve_model_path(model_path)
    model = load_model(src)
    info = load_train_info(src)
    if out.exists():
        if not overwrite:
            raise ProjectError(f"{out} exists; choose another --out or pass --force to replace it")
        shutil.rmtree(out)
    try:
        hls_model = convert_model(model, out, opts, train_info=info, source=str(src), plan=plan)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # nothing half-written
        raise
    return hls_model


def _to_hls(model, cfg: dict, out: Path, opts: ConvertOptions, log: io.StringIO, caught: list):
    import hls4ml

    with warnings.catch_warnings(record=True) as w, contextlib.redirect_stdout(log):
        warnings.simplefilter("always")
        hls_model = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=cfg,
            output_dir=str(out),
            project_name=opts.project_name,
            backend=BACKENDS[opts.backend],
            io_type=opts.io_type,
            part=opts.part,
            clock_period=opts.clock_period,
        )
    caught.extend(w)
    return hls_model


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
    deployment_notes: list = field(default_factory=list)   # how learned steps became fixed point


def build_graph(model, opts: ConvertOptions, train_info: dict | None = None, plan=None,
                out: Path | None = None, strict_ir: bool = True) -> Graph:
    """Convert a Keras model in memory (nothing written), with exact precisions and the plan applied."""
    from approxhls.hls import plancode, precision
    from approxhls.hls.ir import extract_ir
    from approxhls.hls.plan import PlanError, load_plan, resolve_plan

    from approxhls.models.lsq import deploy

    opts.validate()
    train_info = train_info or {}
    model, deployment_notes = deploy(model)  # learned-step (LSQ) layers -> the fixed-point form hls4ml expresses
    notes = check_layers(model, opts.io_type)
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
                cfg["LayerName"][a.layer]["ApproxhlsMultiplier"] = a.multiplier
                cfg["LayerName"][a.layer]["ApproxhlsExtraBits"] = a.extra_bits
        plancode.register_product_source(BACKENDS[opts.backend])
    hls_model = _to_hls(model, cfg, out, opts, log, caught)
    if plan is not None and plan.tuned_weights:
        apply_tuned_weights(hls_model, plan.tuned_weights)
    ir = extract_ir(hls_model, strict=strict_ir)
    for a in assignments.values():
        node = ir.node(a.layer)
        if not a.exact and (ir.input_type_of(node) != a.x_type or node.type("weight") != a.w_type):
            raise PlanError(f"layer {a.layer!r}: its operand types changed when upstream layers were planned; "
                            f"plan the upstream layers exact or quantize this layer's input")
    plancode.apply_to_graph(hls_model, assignments)
    notes += [str(w.message) for w in caught if "approxhls" in str(w.filename) or "pooling" in str(w.message)]
    notes += [f"{a.layer}: {a.source}" for a in assignments.values() if a.source.startswith("exact (")]
    return Graph(hls_model, ir, assignments, plan, notes, grid, log.getvalue(), model, deployment_notes)


def apply_tuned_weights(hls_model, tuned: dict) -> None:
    """Replace weight codes per layer (weight tuning without retraining), in the graph that gets written."""
    import numpy as np

    for layer in hls_model.get_layers():
        mapping = tuned.get(layer.name)
        if not mapping:
            continue
        var = layer.weights["weight"]
        t = FixedType.parse(str(layer.types["weight_t"].precision))
        codes = np.ldexp(np.asarray(var.data, dtype=np.float64), t.frac).astype(np.int64)
        lut = {int(k): int(v) for k, v in mapping.items()}
        new = np.vectorize(lambda c: lut.get(int(c), int(c)), otypes=[np.int64])(codes)
        if new.min() < t.code_min or new.max() > t.code_max:
            raise ModelError(f"tuned weights of {layer.name!r} leave the weight type {t}")
        var.data = np.ldexp(new.astype(np.float64), -t.frac).reshape(np.shape(var.data))


def convert_model(model, out: Path, opts: ConvertOptions, train_info: dict | None = None, source: str = "",
                  plan=None):
    """Convert an in-memory Keras model and write the project (no C++ compile)."""
    import hls4ml

    from approxhls.hls import plancode
    from approxhls.hls.plan import save_resolved

    out = Path(out)
    train_info = train_info or {}
    g = build_graph(model, opts, train_info, plan, out)
    model = g.model  # the saved Keras copy is the deployed model the C-simulation equals
    hls_model, ir, assignments, notes, grid = g.hls_model, g.ir, g.assignments, g.notes, g.grid
    log = io.StringIO(g.log)
    log.seek(0, io.SEEK_END)
    with contextlib.redirect_stdout(log):
        hls_model.write()
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
        "input_precision": str(grid),
        "input_shape": [int(d) for d in model.input_shape[1:]],
        "output_shape": [int(d) for d in model.output_shape[1:]],
        "keras_model": KERAS_COPY,
        "source_model": source,
        "dataset": train_info.get("dataset"),
        "scheme": train_info.get("scheme"),
        "bit_exact": not notes,
        "notes": notes,
        "deployment_notes": g.deployment_notes,  # how a learned-step model became fixed point (vs. the trained model)
        "plan": {name: a.to_json() for name, a in assignments.items()} or None,
        "layers": _layer_table(hls_model),
    }
    (out / PROJECT_JSON).write_text(json.dumps(meta, indent=2))
    return hls_model
