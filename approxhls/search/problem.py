"""The search as a pymoo problem: a candidate is an integer vector (:mod:`approxhls.search.accelerators`);
objectives are calibration error and relative energy (optionally LUTs); an optional constraint keeps the accuracy
loss within ``max_loss``."""

from __future__ import annotations

import math

import numpy as np
from pymoo.core.problem import Problem


class AlwannProblem(Problem):
    """Objectives of candidates decoded by ``accel``, priced by ``cost``, their accuracy from ``fitness``
    (:class:`approxhls.search.evaluator.Fitness`: evaluation, cache and count live there, not here)."""

    def __init__(self, accel, cost, fitness, exact_accuracy: float, max_loss: float | None = None,
                 with_luts: bool = False):
        lo, hi = accel.bounds()
        super().__init__(n_var=accel.n_var, n_obj=3 if with_luts else 2,
                         n_ieq_constr=1 if max_loss is not None else 0, xl=lo, xu=hi, vtype=int)
        self.accel, self.cost, self.fitness = accel, cost, fitness
        self.exact_accuracy, self.max_loss, self.with_luts = exact_accuracy, max_loss, with_luts

    def _evaluate(self, X, out, *args, **kwargs):
        decoded = [self.accel.decode(np.rint(x).astype(int)) for x in X]
        acc = self.fitness([d.assignment for d in decoded])
        out["F"] = self.objectives(decoded, acc)
        if self.max_loss is not None:
            out["G"] = ((self.exact_accuracy - acc) - self.max_loss)[:, None]

    def objectives(self, decoded: list, acc: np.ndarray) -> np.ndarray:
        F = [1.0 - acc, [self.cost.relative_energy(d.assignment) for d in decoded]]
        if self.with_luts:
            F.append([self.accel.luts(self.cost, d) for d in decoded])
        return np.column_stack(F)


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
