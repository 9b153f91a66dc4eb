"""NSGA-II (pymoo) over an :class:`~approxhls.search.problem.AlwannProblem`, one generation at a time: progress per
generation, and a checkpoint after each (:mod:`approxhls.search.checkpoint`) from which a run continues as if it
had never stopped."""

from __future__ import annotations

import time

import numpy as np
from pymoo.core.callback import Callback


def initial_population(accel, pop: int, seed: int) -> np.ndarray:
    """``pop`` random candidates, the first of them the exact network (always a candidate)."""
    rng = np.random.default_rng(seed)
    lo, hi = accel.bounds()
    init = rng.integers(lo, hi + 1, size=(pop, accel.n_var))
    init[0] = accel.exact_genes()
    return init


def make_algorithm(accel, pop: int, seed: int):
    """NSGA-II with integer genes (SBX and polynomial mutation, rounded)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair

    return NSGA2(pop_size=pop, sampling=initial_population(accel, pop, seed).astype(float), eliminate_duplicates=True,
                 crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
                 mutation=PM(eta=20, vtype=float, repair=RoundingRepair()))


class Progress(Callback):
    """A progress bar per generation: front size, lowest error, lowest energy within 0.5 pp, evaluations per second."""

    def __init__(self, problem, gens: int, done: int = 0, show: bool = True):
        from tqdm.auto import tqdm

        super().__init__()
        self.problem, self.t0, self.evaluations0 = problem, time.perf_counter(), problem.fitness.evaluations
        self.bar = tqdm(total=gens, initial=done, desc=f"NSGA-II ({problem.accel.name})", unit="gen",
                        disable=not show)

    def notify(self, algorithm):
        F = algorithm.opt.get("F")
        ok = F[F[:, 0] <= (1 - self.problem.exact_accuracy) + 0.005] if len(F) else F
        rate = (self.problem.fitness.evaluations - self.evaluations0) / max(time.perf_counter() - self.t0, 1e-9)
        self.bar.set_postfix_str(f"front={len(F)} min_err={F[:, 0].min():.4f} "
                                 f"energy@<=0.5pp={ok[:, 1].min() if len(ok) else float('nan'):.3f} "
                                 f"evals/s={rate:.1f}")
        self.bar.update(1)

    def close(self):
        self.bar.close()


def run_nsga2(problem, pop: int, gens: int, seed: int = 0, progress: bool = True, checkpoint=None,
              resume: bool = False) -> tuple[np.ndarray, float]:
    """(genes of the final non-dominated set, seconds of search). With a ``checkpoint``, the state after every
    generation is saved there; ``resume`` continues from the state saved last."""
    t0 = time.perf_counter()
    before = 0.0
    if resume:
        algorithm, before = checkpoint.load(problem, lambda done: Progress(problem, gens, done, progress))
    else:
        algorithm = make_algorithm(problem.accel, pop, seed)
        algorithm.setup(problem, termination=("n_gen", gens), seed=seed, callback=Progress(problem, gens, 0, progress),
                        verbose=False)
    try:
        while algorithm.has_next():
            algorithm.next()
            if checkpoint is not None:
                checkpoint.save(algorithm, problem.fitness, before + time.perf_counter() - t0)
    finally:
        algorithm.callback.close()
    X = algorithm.result().X
    X = np.zeros((0, problem.accel.n_var)) if X is None else X
    return np.atleast_2d(np.rint(X).astype(int)), before + time.perf_counter() - t0
