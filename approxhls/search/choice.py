"""The choice of a front point: on validation images, never on the test set, which only reports the point chosen."""

from __future__ import annotations

from approxhls.errors import ApproxHLSError
from approxhls.search.options import OBJECTIVES

TOLERANCE = 1e-12  # accuracies are ratios of counts: a loss equal to the allowed one stays within it
CHOICE_SPLITS = ("val", "calib")  # the splits a point may be chosen on; the test set only reports
# results without a validation split (pareto.json written before it had one, or a model whose train.json leaves
# nothing to hold out) are chosen on the calibration images the search scored them on: never on the test set
FALLBACK_SPLIT = "calib"


def choice_split(result: dict, split: str = "val") -> str:
    """The split :func:`best_within` chooses on: ``split``, or FALLBACK_SPLIT where the exact network has no
    accuracy on it; the test set is refused."""
    if split not in CHOICE_SPLITS:
        raise ApproxHLSError(f"a front point is chosen on {' or '.join(CHOICE_SPLITS)} images, not on {split!r}: "
                             "the test set only reports the point chosen")
    return split if result["exact"].get(f"{split}_accuracy") is not None else FALLBACK_SPLIT


def best_within(result: dict, max_loss: float, split: str = "val") -> dict | None:
    """The cheapest front point (by the search's objective: energy, or LUTs as built) whose accuracy is within
    ``max_loss`` of the exact network's, on the split :func:`choice_split` names (validation: the test set only
    reports)."""
    key = f"{choice_split(result, split)}_accuracy"
    ok = [p for p in result["points"]
          if p.get(key) is not None and result["exact"][key] - p[key] <= max_loss + TOLERANCE]
    cost = OBJECTIVES[result.get("objective", "energy")]
    return min(ok, key=lambda p: p[cost]) if ok else None
