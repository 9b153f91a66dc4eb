"""Multiplier plans: which multiplier each Dense/Conv layer uses.

A plan (JSON or YAML) is ``{"default": NAME, "layers": {LAYER: NAME, ...}}``; ``exact`` means hls4ml's
own product. Resolving a plan against a converted network checks every name and every operand width:
a layer named in the plan must exist and multiply, its multiplier must exist and its operands must
fit the layer's input and weight codes (refused otherwise, with the reason). The default applies to
the multiplying layers the plan does not name, where it fits; where it does not, the layer stays exact
and the resolution says so.

Unsigned multiplier cores are applied by sign-magnitude: P = sign(x) sign(w) M(|x|, |w|). Natively
signed designs take the two's complement codes directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.fixedpoint import FixedType
from approxhls.sim.assignment import (  # noqa: F401
    EXACT,
    PLAN_FILE,
    PLAN_TABLES,
    Assignment,
    product_table,
)

PLAN_KEYS = ("default", "layers", "tuned_weights", "bias_offsets")


class PlanError(ApproxHLSError):
    """A plan that names something wrong or does not fit the network."""


@dataclass
class Plan:
    default: str = EXACT
    layers: dict[str, str] = field(default_factory=dict)
    # weight tuning without retraining: per layer, weight code -> replacement code
    tuned_weights: dict[str, dict[int, int]] = field(default_factory=dict)
    # bias compensation: per layer, one offset per output channel added to the bias codes
    bias_offsets: dict[str, list[int]] = field(default_factory=dict)

    def to_json(self) -> dict:
        d = {"default": self.default, "layers": dict(self.layers)}
        if self.tuned_weights:
            d["tuned_weights"] = {k: {str(a): int(b) for a, b in m.items()} for k, m in self.tuned_weights.items()}
        if self.bias_offsets:
            d["bias_offsets"] = {k: [int(v) for v in m] for k, m in self.bias_offsets.items()}
        return d

    def renamed(self, names: dict) -> "Plan":
        """The same plan with layer names mapped through ``names`` (the user's name -> the name in the conversion)."""
        def keys(d):
            return {names.get(k, k): v for k, v in d.items()}

        return Plan(self.default, keys(self.layers), keys(self.tuned_weights), keys(self.bias_offsets))

    def save(self, path) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_json(), indent=2))
        return p


def _read_yaml(text):
    import yaml

    return yaml.safe_load(text)


_PLAN_READERS = {".yaml": _read_yaml, ".yml": _read_yaml}  # any other suffix is read as JSON


def _plan_data(source):
    """The plan's data: a dict as it is, a file parsed by its suffix."""
    if isinstance(source, dict):
        return source
    p = Path(source)
    if not p.is_file():
        raise PlanError(f"plan file {p} does not exist")
    text = p.read_text()
    try:
        return _PLAN_READERS.get(p.suffix, json.loads)(text)
    except Exception as e:  # json/yaml parse errors
        raise PlanError(f"cannot parse plan {p}: {e}") from None


def _per_layer(data: dict, key: str, convert, what: str) -> dict:
    """``data[key]`` as {layer name: convert(value)}, or a PlanError saying what the entry must be."""
    try:
        return {str(k): convert(v) for k, v in (data.get(key) or {}).items()}
    except (AttributeError, TypeError, ValueError):
        raise PlanError(f"plan {key!r} must map layer names to {what}") from None


def _multiplier_names(data: dict) -> dict[str, str]:
    layers = data.get("layers") or {}
    if not isinstance(layers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in layers.items()):
        raise PlanError("plan 'layers' must map layer names to multiplier names")
    return dict(layers)


def _code_map(m) -> dict[int, int]:
    return {int(a): int(b) for a, b in m.items()}


def _integers(m) -> list[int]:
    return [int(v) for v in m]


def load_plan(source) -> Plan:
    """A Plan from a path (.json/.yaml/.yml), a dict, or a Plan."""
    if isinstance(source, Plan):
        return source
    data = _plan_data(source)
    if not isinstance(data, dict) or not set(data) <= set(PLAN_KEYS):
        raise PlanError('a plan is {"default": MULTIPLIER, "layers": {LAYER: MULTIPLIER}}; '
                        f"got keys {sorted(data) if isinstance(data, dict) else type(data).__name__}")
    return Plan(default=str(data.get("default") or EXACT), layers=_multiplier_names(data),
                tuned_weights=_per_layer(data, "tuned_weights", _code_map, "{weight code: replacement code}"),
                bias_offsets=_per_layer(data, "bias_offsets", _integers, "a list of integers (one per output channel)"))


def fits(design, x_type: FixedType, w_type: FixedType) -> str | None:
    """None when the design's operands hold every code of both types, else the reason."""
    for what, t in (("input", x_type), ("weight", w_type)):
        lo, hi = t.code_min, t.code_max
        if design.signed:
            ok = design.code_min <= lo and hi <= design.code_max
            need = f"codes {lo}..{hi}"
        else:
            ok = max(abs(lo), abs(hi)) <= design.code_max
            need = f"magnitudes up to {max(abs(lo), abs(hi))}"
        if not ok:
            return (f"{design.name} takes {design.bits}-bit {'signed' if design.signed else 'unsigned'} operands, "
                    f"but the layer's {what} type {t} needs {need}")
    return None


def design_of(name: str):
    """The multiplier design a plan names (None for ``exact``), or a PlanError naming the unknown name."""
    from approxhls.multipliers.registry import get_design

    if name == EXACT:
        return None
    try:
        return get_design(name)
    except ApproxHLSError as e:
        raise PlanError(str(e)) from None


def assign(layer: str, x_t: FixedType, w_t: FixedType, plan) -> Assignment:
    """One layer's Assignment under the plan: the multiplier it names (which must fit the layer's operands), else
    the default where it fits, else exact (and the Assignment says why)."""
    plan = load_plan(plan)
    named = plan.layers.get(layer)
    if named is not None:
        design = design_of(named)
        reason = fits(design, x_t, w_t) if design is not None else None
        if reason:
            raise PlanError(f"layer {layer!r}: {reason}")
        return Assignment(layer, named, "plan", x_t, w_t, design)
    default = design_of(plan.default)
    reason = fits(default, x_t, w_t) if default is not None else None
    if reason:
        return Assignment(layer, EXACT, f"exact (default does not fit: {reason})", x_t, w_t, None)
    return Assignment(layer, plan.default, "default", x_t, w_t, default)


def _check_named_layer(layer: str, ir, mult_nodes: dict) -> None:
    """A layer a plan assigns a multiplier to exists and has multiplications a plan can replace."""
    if layer not in {n.name for n in ir.nodes}:
        raise PlanError(f"the plan names layer {layer!r}, which the model does not have; "
                        f"layers with multiplications: {', '.join(mult_nodes)}")
    if layer not in mult_nodes:
        node = ir.node(layer)
        what = (f"its hls4ml product is {node.attrs['product']} (no multiplier to replace)" if node.multiplies
                else node.operation.plan_note or f"it is a {node.op} layer")
        raise PlanError(f"the plan names layer {layer!r}, which has no multiplications a plan can replace "
                        f"({what}); planable layers: {', '.join(mult_nodes)}")


def check_plan(plan, ir) -> None:
    """Every layer the plan names exists and has multiplications a plan can replace; bias offsets fit."""
    plan = load_plan(plan)
    mult_nodes = {n.name: n for n in ir.plannable_nodes()}
    for layer in plan.layers:
        _check_named_layer(layer, ir, mult_nodes)
    for layer in plan.tuned_weights:
        if layer not in mult_nodes:
            raise PlanError(f"the plan tunes the weights of {layer!r}, which is not a layer with multiplications")
    for layer, offsets in plan.bias_offsets.items():
        node = mult_nodes.get(layer)
        if node is None:
            raise PlanError(f"the plan offsets the biases of {layer!r}, which is not a layer with multiplications")
        if len(offsets) != node.weights["bias"].size:
            raise PlanError(f"the plan gives {len(offsets)} bias offsets for {layer!r}, which has "
                            f"{node.weights['bias'].size} output channels")
    design_of(plan.default)  # an unknown default is an error even where no layer takes it


def resolve_plan(plan, ir) -> dict[str, Assignment]:
    """A plan checked against a converted network's IR; one Assignment per multiplying layer (what the conversion's
    plan pass does, for costing or emulating a plan without converting again)."""
    plan = load_plan(plan)
    check_plan(plan, ir)
    return {n.name: assign(n.name, ir.input_type_of(n), n.type("weight"), plan) for n in ir.plannable_nodes()}


def save_resolved(prj, plan: Plan, assignments: dict[str, Assignment]) -> None:
    """plan.json (the plan and what it resolved to) and each planned layer's product table."""
    data = plan.to_json() | {"resolved": {k: a.to_json() for k, a in assignments.items()}}
    (Path(prj) / PLAN_FILE).write_text(json.dumps(data, indent=2))
    np.savez_compressed(Path(prj) / PLAN_TABLES, **{k: a.table() for k, a in assignments.items() if not a.exact})
