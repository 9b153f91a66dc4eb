"""Accuracy of candidate assignments with the emulator, in this process, local worker processes or Dask.

An :class:`Evaluator` is picklable (numpy arrays and names): it is shipped once to each worker, which
builds its own caches (product tables, decompositions, tuned weights) and reuses them across candidates.
"""

from __future__ import annotations

import copy
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from approxhls.search.costmodel import EXACT
from approxhls.search.network import SearchData


class Evaluator:
    def __init__(self, ir, data: SearchData, histograms: dict | None = None, uniform_tuning: bool = False):
        self.ir = ir
        self.data = data
        self.histograms = histograms or {}
        self.uniform_tuning = uniform_tuning
        self._reset_caches()

    def _reset_caches(self):
        self._assignments, self._tuned, self._emulator_cache, self.tuned_maps = {}, {}, {}, {}

    def __getstate__(self):
        state = self.__dict__.copy()
        for k in ("_assignments", "_tuned", "_emulator_cache", "tuned_maps"):
            state[k] = {}
        return state

    # ---- building blocks -----------------------------------------------------------------------------
    def assignment(self, layer: str, mult: str):
        from approxhls.multipliers.registry import get_design
        from approxhls.sim.assignment import Assignment

        key = (layer, mult)
        if key not in self._assignments:
            node = self.ir.node(layer)
            design = None if mult == EXACT else get_design(mult)
            self._assignments[key] = Assignment(layer, mult, "search", self.ir.input_type_of(node),
                                                node.type("weight"), design)
        return self._assignments[key]

    def tuned_weights(self, layer: str, mult: str):
        """(tuned weight codes, {w: w'}) of a layer on a multiplier (cached)."""
        from approxhls.search.tuning import tuned_codes

        key = (layer, mult)
        if key not in self._tuned:
            a = self.assignment(layer, mult)
            W = self.ir.node(layer).weights["weight"]
            x, w = a.codes()
            p = None if self.uniform_tuning else self.histograms.get(layer)
            mapping = tuned_codes(a.table(), x, w, p, W)
            lut = np.arange(w.min(), w.max() + 1)
            for k, v in mapping.items():
                lut[k - w.min()] = v
            self._tuned[key] = (lut[W - w.min()], mapping)
        return self._tuned[key]

    def network(self, assignment: dict[str, str], tuned: bool):
        """The IR (weights tuned where asked) and Assignments for an assignment {layer: multiplier}."""
        ir = self.ir
        if tuned:
            ir = copy.copy(self.ir)
            ir.nodes = []
            for node in self.ir.nodes:
                mult = assignment.get(node.name, EXACT)
                if node.multiplies and mult != EXACT:
                    node = copy.copy(node)
                    node.weights = dict(node.weights, weight=self.tuned_weights(node.name, mult)[0])
                ir.nodes.append(node)
        return ir, {layer: self.assignment(layer, m) for layer, m in assignment.items()}

    def accuracy(self, assignment: dict[str, str], tuned: bool = False, split: str = "calib") -> float:
        from approxhls.sim.emulator import Emulator

        ir, asg = self.network(assignment, tuned)
        x, y = (self.data.x_calib, self.data.y_calib) if split == "calib" else (self.data.x_test, self.data.y_test)
        out = Emulator(ir, asg, cache=self._emulator_cache).predict(x)
        return float(np.mean(np.argmax(out, axis=1) == y))


# ---- parallel maps ------------------------------------------------------------------------------------
_worker: Evaluator | None = None


def _init(ev: Evaluator):
    global _worker
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one BLAS thread per worker process: the processes are the parallelism
    _worker = ev


def _accuracy(job):
    assignment, tuned = job
    return _worker.accuracy(assignment, tuned)


def _accuracy_on(ev: Evaluator, job):
    assignment, tuned = job
    return ev.accuracy(assignment, tuned)


class Pool:
    """map(jobs) -> accuracies, in-process (jobs=1), in local processes, or on a Dask cluster."""

    def __init__(self, evaluator: Evaluator, jobs: int = 1, scheduler: str | None = None, client=None):
        self.evaluator = evaluator
        self.kind = "dask" if (scheduler or client) else ("processes" if jobs > 1 else "in-process")
        self._executor = self._client = self._remote = None
        if self.kind == "dask":
            from distributed import Client

            self._client = client or Client(scheduler)
            self._remote = self._client.scatter(evaluator, broadcast=True)
        elif self.kind == "processes":
            self._executor = ProcessPoolExecutor(jobs, initializer=_init, initargs=(evaluator,))

    def map(self, jobs: list) -> list[float]:
        if not jobs:
            return []
        if self.kind == "dask":
            futures = self._client.map(_accuracy_on, [self._remote] * len(jobs), jobs, pure=False)
            return self._client.gather(futures)
        if self.kind == "processes":
            return list(self._executor.map(_accuracy, jobs))
        return [self.evaluator.accuracy(a, t) for a, t in jobs]

    def close(self):
        if self._executor is not None:
            self._executor.shutdown()
