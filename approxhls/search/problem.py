"""The search as a pymoo problem: a candidate is an integer vector (:mod:`approxhls.search.accelerators`);
objectives are calibration error and the hardware costs asked for (:data:`COSTS`: relative multiplication energy,
relative arithmetic LUTs as built); an optional constraint keeps the accuracy loss within ``max_loss``."""

from __future__ import annotations

import math

import numpy as np
from pymoo.core.problem import Problem


# a cost objective -> its value for a decoded candidate; each is relative to an exact reference (smaller is cheaper)
COSTS = {
    # multiplication energy over the all-exact network's (gate-toggle proxy, multiplications only)
    "energy": lambda cost, d: cost.relative_energy(d.assignment),
    # the arithmetic's LUTs as the architecture builds it over the cheapest exact baseline's
    "luts": lambda cost, d: cost.relative_luts(d.assignment, d.tiles, d.tile_map),
}


class AlwannProblem(Problem):
    """Objectives of candidates decoded by ``accel``, priced by ``cost``, their accuracy from ``fitness``
    (:class:`approxhls.search.evaluator.Fitness`: evaluation, cache and count live there, not here)."""

    def __init__(self, accel, cost, fitness, exact_accuracy: float, max_loss: float | None = None,
                 costs: tuple[str, ...] = ("energy",)):
        lo, hi = accel.bounds()
        super().__init__(n_var=accel.n_var, n_obj=1 + len(costs),
                         n_ieq_constr=1 if max_loss is not None else 0, xl=lo, xu=hi, vtype=int)
        self.accel, self.cost, self.fitness = accel, cost, fitness
        self.exact_accuracy, self.max_loss, self.costs = exact_accuracy, max_loss, tuple(costs)

    def _evaluate(self, X, out, *args, **kwargs):
        decoded = [self.accel.decode(np.rint(x).astype(int)) for x in X]
        acc = self.fitness([d.assignment for d in decoded])
        out["F"] = self.objectives(decoded, acc)
        if self.max_loss is not None:
            out["G"] = ((self.exact_accuracy - acc) - self.max_loss)[:, None]

    def objectives(self, decoded: list, acc: np.ndarray) -> np.ndarray:
        return np.column_stack([1.0 - acc] + [[COSTS[c](self.cost, d) for d in decoded] for c in self.costs])


def max_wrong(n: int, exact_accuracy: float, max_loss: float) -> int:
    """The most wrong answers out of ``n`` that keep a candidate feasible, by the same float test as the problem's
    constraint ((exact - accuracy) - max_loss <= 0, accuracy = 1 - wrong / n)."""
    def feasible(w: int) -> bool:
        return (exact_accuracy - (1 - w / n)) - max_loss <= 0

    w = min(n, max(-1, math.floor(n * (1 - exact_accuracy + max_loss))))
    while w + 1 <= n and feasible(w + 1):
        w += 1
    while w >= 0 and not feasible(w):
        w -= 1
    return w
