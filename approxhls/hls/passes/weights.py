"""A plan's changes to weights, applied to the codes the kernels hold (each pass one change).

- weight tuning without retraining (ALWANN): per layer, weight code -> replacement code;
- bias compensation: per layer, an offset per output channel added to the bias codes.
The new codes must stay inside the variable's type (else the plan does not fit the layer: an error).
"""

from __future__ import annotations

import numpy as np

from approxhls.errors import ModelError
from approxhls.fixedpoint import FixedType
from approxhls.hls.passes.base import ApproxhlsPass


def rewrite_codes(node, var_name: str, what: str, change) -> None:
    """The integer codes of the node's ``var_name`` weights (in their type) go through ``change(codes)``."""
    var = node.weights[var_name]
    t = FixedType.parse(str(var.type.precision))
    codes = np.ldexp(np.asarray(var.data, dtype=np.float64), t.frac).astype(np.int64)
    new = change(codes)
    if new.min() < t.code_min or new.max() > t.code_max:
        raise ModelError(f"{what} of {node.name!r} leave the {var_name} type {t}")
    var.data = np.ldexp(new.astype(np.float64), -t.frac).reshape(np.shape(var.data))


class _PlanWeights(ApproxhlsPass):
    key = ""       # the plan's entry
    var_name = ""  # the weight variable it changes
    done = ""      # node attribute: applied once

    def applies(self, node, settings):
        plan = settings.get("plan") or {}
        return node.name in (plan.get(self.key) or {}) and self.var_name in node.weights \
            and not node.get_attr(self.done, False)

    def transform(self, model, node):
        from approxhls.hls.passes.base import settings

        self.change(node, settings(model)["plan"][self.key][node.name])
        node.set_attr(self.done, True)
        return False


class TunedWeights(_PlanWeights):
    key, var_name, done = "tuned_weights", "weight", "approxhls_weights_tuned"

    def change(self, node, mapping):
        lut = {int(k): int(v) for k, v in mapping.items()}
        rewrite_codes(node, "weight", "tuned weights",
                      lambda codes: np.vectorize(lambda c: lut.get(int(c), int(c)), otypes=[np.int64])(codes))


class BiasOffsets(_PlanWeights):
    key, var_name, done = "bias_offsets", "bias", "approxhls_biases_offset"

    def change(self, node, offsets):
        from approxhls.hls.plan import PlanError

        channels = int(np.size(node.weights["bias"].data))
        if len(offsets) != channels:
            raise PlanError(f"the plan gives {len(offsets)} bias offsets for {node.name!r}, which has {channels} "
                            f"output channels")
        rewrite_codes(node, "bias", "bias offsets",
                      lambda codes: codes.reshape(-1) + np.asarray(offsets, dtype=np.int64))
