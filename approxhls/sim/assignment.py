"""The multiplier of one layer as the evaluators see it: its product table over the layer's operand codes.

An :class:`Assignment` is what a plan resolves to for a layer (``approxhls.hls.plan``): exact, or a design's
table applied to the layer's codes (unsigned cores by sign-magnitude: P = sign(x) sign(w) M(|x|, |w|); natively
signed designs take two's complement codes). Layers whose hls4ml product is not a multiplication (QKeras'
power-of-two weights: a shift) carry their own table, :class:`ShiftProduct`. A converted project stores its
resolved plan and tables, so :func:`project_assignments` needs neither the catalog nor hls4ml.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from approxhls.fixedpoint import FixedType

EXACT = "exact"
PLAN_FILE = "plan.json"
PLAN_TABLES = "plan_tables.npz"


@dataclass
class Assignment:
    """The multiplier of one layer, with its product table over the layer's operand codes."""

    layer: str
    multiplier: str
    source: str  # "plan", "default", or "exact (default does not fit: ...)"
    x_type: FixedType
    w_type: FixedType
    design: object = None  # a multipliers Design (None for exact, or when loaded from a project)
    stored_table: np.ndarray | None = None  # the table saved in a project

    @property
    def exact(self) -> bool:
        return self.multiplier == EXACT

    def codes(self) -> tuple[np.ndarray, np.ndarray]:
        return _domain(self.x_type), _domain(self.w_type)

    def table(self) -> np.ndarray:
        """P[x - x_min, w - w_min] for every x and w code of the layer (int64)."""
        if self.stored_table is None:
            x, w = self.codes()
            self.stored_table = x[:, None] * w[None, :] if self.exact else product_table(self.design, x, w)
        return self.stored_table

    @property
    def extra_bits(self) -> int:
        """Integer bits the accumulator needs beyond hls4ml's exact-product bound."""
        if self.exact:
            return 0
        x, w = self.codes()
        approx = int(np.abs(self.table()).max())
        exact = int(np.abs(x).max() * np.abs(w).max())
        return max(0, math.ceil(math.log2(approx / exact))) if approx > exact > 0 else 0

    def to_json(self) -> dict:
        return {"multiplier": self.multiplier, "source": self.source, "x_type": str(self.x_type),
                "w_type": str(self.w_type), "extra_bits": self.extra_bits}


def _domain(t: FixedType) -> np.ndarray:
    return np.arange(t.code_min, t.code_max + 1, dtype=np.int64)


def product_table(design, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The design's products over operand codes x (rows) and w (columns), sign-magnitude if unsigned."""
    if design.signed:
        return design.model(x[:, None], w[None, :]).astype(np.int64)
    mag = design.model(np.abs(x)[:, None], np.abs(w)[None, :]).astype(np.int64)
    # sign-magnitude: zero counts as positive (a core may return M(x, 0) != 0, e.g. ETM)
    sx, sw = np.where(x < 0, -1, 1), np.where(w < 0, -1, 1)
    return sx[:, None] * sw[None, :] * mag


def project_assignments(prj) -> dict[str, Assignment]:
    """The resolved plan of a converted project, self-contained (no catalog needed); {} when unplanned."""
    p = Path(prj) / PLAN_FILE
    if not p.exists():
        return {}
    resolved = json.loads(p.read_text()).get("resolved", {})
    with np.load(Path(prj) / PLAN_TABLES) as tables:
        stored = {k: tables[k] for k in tables.files}
    return {
        k: Assignment(k, v["multiplier"], v["source"], FixedType.parse(v["x_type"]), FixedType.parse(v["w_type"]),
                      stored_table=stored.get(k))
        for k, v in resolved.items()
    }


class ShiftProduct:
    """hls4ml's ``weight_exponential`` product of power-of-two weights (``nnet_mult.h``): the input, in
    r_T = ap_fixed<2(E+Wx), E+Wx>, shifted by the weight's exponent (right shifts drop bits: floor), negated
    for negative weights, wrapped to r_T. Weight codes are ``sign * (exponent + 2^(E-1) + 1)``."""

    multiplier = "po2-shift"
    exact = False
    source = "power-of-two weights (shift)"

    def __init__(self, x_type: FixedType, exp_bits: int, node_name: str = ""):
        self.layer = node_name
        self.x_type = x_type
        self.exp_bits = exp_bits
        self.w_type = FixedType(exp_bits + 2, exp_bits + 2, True)
        self.r_width = 2 * (exp_bits + x_type.width)
        self.frac = exp_bits + x_type.width  # fractional bits of r_T, the products' position
        self._table = None

    def codes(self):
        return _domain(self.x_type), _domain(self.w_type)

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Weight codes of power-of-two values (+-2^e)."""
        v = np.asarray(values, dtype=np.float64)
        e = np.round(np.log2(np.abs(v))).astype(np.int64)
        return np.where(v < 0, -1, 1) * (e + (1 << (self.exp_bits - 1)) + 1)

    def products(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """r_T codes of x << e (broadcast), negated for negative weights; weight code 0 (unused) gives 0."""
        x, w = np.asarray(x, dtype=np.int64), np.asarray(w, dtype=np.int64)
        e = np.abs(w) - (1 << (self.exp_bits - 1)) - 1
        v = x << (self.frac - self.x_type.frac)  # the input in r_T: exact
        shifted = np.where(e >= 0, v << np.maximum(e, 0), v >> np.maximum(-e, 0))
        r = FixedType(self.r_width, self.r_width, True)
        y = r.codes_from_int(np.where(w > 0, 1, -1) * r.codes_from_int(shifted))
        return np.where(w == 0, 0, y)

    def table(self) -> np.ndarray:
        if self._table is None:
            x, w = self.codes()
            self._table = self.products(x[:, None], w[None, :])
        return self._table

    def truncates(self, w_codes: np.ndarray) -> bool:
        """True when some product loses bits that the exact product x * 2^e has."""
        e = np.abs(np.asarray(w_codes)) - (1 << (self.exp_bits - 1)) - 1
        return bool(e.size) and int(e.min()) < self.x_type.frac - self.frac or \
            self.x_type.integer + int(max(e.max(), 0)) + 1 > self.r_width - self.frac


def builtin_product(node):
    """The product a layer computes when no multiplier is planned: None (a multiplication) or its own table."""
    if node.attrs.get("product") == "po2":
        return ShiftProduct(FixedType.parse(node.attrs["x_type"]), int(node.attrs["exp_bits"]), node.name)
    return None
