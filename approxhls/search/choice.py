"""The choice of a front point: on validation images, never on the test set, which only reports the point chosen."""

from __future__ import annotations

from approxhls.search.options import OBJECTIVES

TOLERANCE = 1e-12  # accuracies are ratios of counts: a loss equal to the allowed one stays within it


def best_within(result: dict, max_loss: float, split: str = "val") -> dict | None:
    """The cheapest front point (by the search's objective: energy, or LUTs as built) whose accuracy on ``split``
    (validation: the test set only reports) is within ``max_loss`` of the exact network's; results without a
    validation split fall back to calibration."""
    key = f"{split}_accuracy"
    if result["exact"].get(key) is None:
        key = "calib_accuracy"
    ok = [p for p in result["points"]
          if p.get(key) is not None and result["exact"][key] - p[key] <= max_loss + TOLERANCE]
    cost = OBJECTIVES[result.get("objective", "energy")]
    return min(ok, key=lambda p: p[cost]) if ok else None
