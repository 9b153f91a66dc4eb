"""NSGA-II over multiplier assignments (pymoo): objectives error and relative energy (optionally LUTs),
an optional constraint on accuracy loss, progress per generation."""

from __future__ import annotations

import time

import numpy as np


def _problem_class():
    from pymoo.core.problem import Problem

    class AlwannProblem(Problem):
        def __init__(self, accel, cost, pool, exact_accuracy: float, tuned: bool, max_loss: float | None,
                     with_luts: bool):
            lo, hi = accel.bounds()
            super().__init__(n_var=accel.n_var, n_obj=3 if with_luts else 2, n_ieq_constr=1 if max_loss is not None else 0,
                             xl=lo, xu=hi, vtype=int)
            self.accel, self.cost, self.pool = accel, cost, pool
            self.exact_accuracy, self.tuned, self.max_loss, self.with_luts = exact_accuracy, tuned, max_loss, with_luts
            self.seen: dict[tuple, float] = {}  # assignment -> calibration accuracy
            self.evaluations = 0

        def _evaluate(self, X, out, *args, **kwargs):
            decoded = [self.accel.decode(np.rint(x).astype(int)) for x in X]
            keys = [tuple(sorted(d.assignment.items())) for d in decoded]
            todo = list({k: d for k, d in zip(keys, decoded) if k not in self.seen}.items())
            for (k, _), acc in zip(todo, self.pool.map([(d.assignment, self.tuned) for _, d in todo])):
                self.seen[k] = acc
            self.evaluations += len(todo)
            acc = np.array([self.seen[k] for k in keys])
            F = [1.0 - acc, [self.cost.relative_energy(d.assignment) for d in decoded]]
            if self.with_luts:
                F.append([self.accel.luts(self.cost, d) for d in decoded])
            out["F"] = np.column_stack(F)
            if self.max_loss is not None:
                out["G"] = ((self.exact_accuracy - acc) - self.max_loss)[:, None]

    return AlwannProblem


def run_nsga2(accel, cost, pool, exact_accuracy: float, pop: int, gens: int, tuned: bool = False,
              max_loss: float | None = None, with_luts: bool = False, seed: int = 0, progress: bool = True):
    """Returns (genes of the final non-dominated set, problem, seconds)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.callback import Callback
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.optimize import minimize
    from tqdm.auto import tqdm

    problem = _problem_class()(accel, cost, pool, exact_accuracy, tuned, max_loss, with_luts)
    rng = np.random.default_rng(seed)
    lo, hi = accel.bounds()
    init = rng.integers(lo, hi + 1, size=(pop, accel.n_var))
    init[0] = accel.exact_genes()  # the exact network is always a candidate
    t0 = time.perf_counter()
    bar = tqdm(total=gens, desc=f"NSGA-II ({accel.name})", unit="gen", disable=not progress)

    class Progress(Callback):
        def notify(self, algorithm):
            F = algorithm.opt.get("F")
            ok = F[F[:, 0] <= (1 - exact_accuracy) + 0.005] if len(F) else F
            rate = problem.evaluations / max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix_str(f"front={len(F)} min_err={F[:, 0].min():.4f} "
                                f"energy@<=0.5pp={ok[:, 1].min() if len(ok) else float('nan'):.3f} evals/s={rate:.1f}")
            bar.update(1)

    algorithm = NSGA2(pop_size=pop, sampling=init.astype(float), eliminate_duplicates=True,
                      crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
                      mutation=PM(eta=20, vtype=float, repair=RoundingRepair()))
    res = minimize(problem, algorithm, ("n_gen", gens), seed=seed, callback=Progress(), verbose=False)
    bar.close()
    X = res.X if res.X is not None else np.zeros((0, accel.n_var))
    X = np.atleast_2d(np.rint(X).astype(int))
    return X, problem, time.perf_counter() - t0
