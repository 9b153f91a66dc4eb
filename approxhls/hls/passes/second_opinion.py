"""hls4ml's bit-exact accumulators, adopted where narrower and proven to hold every sum
(:mod:`approxhls.hls.second_opinion` converts with hls4ml alone and puts its types into the settings)."""

from __future__ import annotations

from hls4ml.model.types import FixedPrecisionType

from approxhls.hls.passes.base import ApproxhlsPass, input_known, is_unspecified, record_repair, set_type
from approxhls.hls.passes.multipliers import ASSIGNMENT_ATTR, MAC_CLASSES, plannable_operands

OPINION_ATTR = "approxhls_second_opinion"


class NarrowerAccumulator(ApproxhlsPass):
    """Runs after the plan: an exact multiplying layer whose accumulator hls4ml would infer (not set by a quantizer)
    takes hls4ml's bit-exact accumulator when that one is narrower and holds every sum of the layer."""

    def applies(self, node, settings):
        opinion = (settings.get("second_opinion") or {}).get(node.name)
        return (opinion is not None and node.class_name in MAC_CLASSES and input_known(node)
                and node.get_attr(OPINION_ATTR) is None and is_unspecified(node.types["accum_t"].precision))

    def transform(self, model, node):
        from hls4ml.model.optimizer import get_optimizer

        from approxhls.hls.passes.base import settings
        from approxhls.hls.second_opinion import holds, sum_bounds

        theirs = model.config.backend.convert_precision_string(settings(model)["second_opinion"][node.name])
        a = node.get_attr(ASSIGNMENT_ATTR)
        result_auto = is_unspecified(node.types["result_t"].precision)
        get_optimizer("infer_precision_types").transform(model, node)
        ours = node.types["accum_t"].precision
        row = {"layer": node.name, "hls4ml_bit_exact": str(theirs), "approxhls": str(ours), "adopted": False}
        if a and not a.exact:
            row["why"] = "approximate multiplier: hls4ml's intervals assume exact products"
        elif plannable_operands(node) is None or not isinstance(theirs, FixedPrecisionType):
            row["why"] = "not a fixed-point multiplication"
        elif theirs.width >= ours.width:
            row["why"] = "not narrower"
        else:
            lo, hi, frac = sum_bounds(node)
            row["adopted"] = holds(theirs, lo, hi, frac)
            row["why"] = (f"holds every sum ({lo:g} .. {hi:g}, {frac} fractional bits)" if row["adopted"] else
                          f"does not hold every sum ({lo:g} .. {hi:g}, {frac} fractional bits): kept approxhls'")
        if row["adopted"]:
            set_type(node, "accum_t", theirs)
            if result_auto:
                set_type(node, "result_t", theirs)
            record_repair(node, f"accumulator {theirs} from hls4ml's bit-exact mode ({row['why']}) instead of {ours}")
        node.set_attr(OPINION_ATTR, row)
        return True


def opinions(hls_model) -> list[dict]:
    return [layer.get_attr(OPINION_ATTR) for layer in hls_model.get_layers() if layer.get_attr(OPINION_ATTR)]
