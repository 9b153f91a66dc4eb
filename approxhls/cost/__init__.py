"""approxhls.cost: what a model's arithmetic and quantization cost in hardware, per layer, before building it.

    from approxhls.cost import estimate_cost
    report = estimate_cost("runs/cnn")            # a trained model directory/.h5, or a converted project

Multipliers are priced as the architecture builds them (:mod:`approxhls.cost.architecture`), against the exact
baselines (:mod:`approxhls.cost.baselines`); :mod:`approxhls.cost.accelerator` estimates the whole accelerator and
:func:`approxhls.cost.boards.fit` says whether it fits a board.
"""

from __future__ import annotations

from approxhls.cost.count import count_ir
from approxhls.cost.estimate import CATEGORIES, Estimator
from approxhls.cost.report import estimate_cost, format_report, plot_cost


def fit(estimate: dict, board: str) -> dict:
    """Whether an accelerator estimate fits ``board`` and by how much (see :func:`approxhls.cost.boards.fit`)."""
    from approxhls.cost.boards import fit as board_fit

    return board_fit(estimate, board)


def estimate_project(project, board: str = "pynq-z2", progress: bool = False) -> dict:
    """For ``approxhls overlay`` before it builds: the converted project's whole-accelerator estimate and its fit
    on ``board`` ({"accelerator": ..., "fit": ...})."""
    rep = estimate_cost(project, progress=progress, board=board)
    return {"accelerator": rep["accelerator"], "fit": rep["fit"]}


__all__ = ["estimate_cost", "format_report", "plot_cost", "count_ir", "Estimator", "CATEGORIES", "fit",
           "estimate_project"]
