"""Accuracy of candidate assignments with the emulator (:class:`Evaluator`), and the search's fitness: each
distinct candidate's calibration accuracy computed once (:class:`Fitness`, the evaluation cache).

An :class:`Evaluator` is picklable (numpy arrays and names): it is shipped once to each worker
(:mod:`approxhls.search.pool`), which builds its own caches (product tables, decompositions, tuned weights, prefix
states) and reuses them across candidates and generations.
"""

from __future__ import annotations

import copy

import numpy as np

from approxhls.search.costmodel import EXACT
from approxhls.search.network import SearchData
from approxhls.search.prefix import multiplier_key


class Evaluator:
    def __init__(self, ir, data: SearchData, histograms: dict | None = None, uniform_tuning: bool = False,
                 compensate: bool = False):
        self.ir = ir
        self.data = data
        self.histograms = histograms or {}
        self.uniform_tuning = uniform_tuning
        self.compensate = compensate  # bias compensation of each approximate layer's expected error
        # a candidate with more wrong calibration answers than this is infeasible (--max-loss): its evaluation stops
        # there, and its calibration accuracy is an upper bound (1 - wrong so far / images)
        self.max_wrong: int | None = None
        self.stopped = 0  # evaluations stopped early, in this process
        self.state_budget: int | None = None  # bytes of prefix states per process (None: prefix.state_budget())
        self._reset_caches()

    def _reset_caches(self):
        self._assignments, self._tuned, self._emulator_cache, self.tuned_maps, self._offsets = {}, {}, {}, {}, {}
        self._prefix = None

    def __getstate__(self):
        state = self.__dict__.copy()
        for k in ("_assignments", "_tuned", "_emulator_cache", "tuned_maps", "_offsets"):
            state[k] = {}
        state["_prefix"] = None
        return state

    def prefix(self):
        """The prefix-state cache over the calibration images (built on first use, per process)."""
        if self._prefix is None:
            from approxhls.search.prefix import PrefixRunner, state_budget
            from approxhls.sim.emulator import auto_batch

            budget = self.state_budget if self.state_budget is not None else state_budget()
            self._prefix = PrefixRunner(self.ir, self.data.x_calib, auto_batch(self.ir), budget)
        return self._prefix

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
            h = self.histograms.get(layer)
            p = None if (self.uniform_tuning or h is None) else h.sum(axis=0)  # the layer's input distribution
            mapping = tuned_codes(a.table(), x, w, p, W)
            lut = np.arange(w.min(), w.max() + 1)
            for k, v in mapping.items():
                lut[k - w.min()] = v
            self._tuned[key] = (lut[W - w.min()], mapping)
        return self._tuned[key]

    def bias_offsets(self, layer: str, mult: str, tuned: bool) -> np.ndarray | None:
        """Per output channel, the bias-code offset that cancels the layer's expected multiplier error (cached);
        None where the layer has several weight groups (depthwise) or no bias."""
        from approxhls.search.tuning import bias_offsets
        from approxhls.sim.ops import get_op
        from approxhls.sim.reference import product_frac

        key = (layer, mult, tuned)
        if key not in self._offsets:
            node = self.ir.node(layer)
            groups = get_op(node.op).groups(node)
            if len(groups) != 1 or "bias" not in node.weights:
                self._offsets[key] = None
                return None
            a = self.assignment(layer, mult)
            x, w = a.codes()
            W = groups[0][0]
            used = self.tuned_weights(layer, mult)[0].reshape(W.shape) if tuned else W
            b_t = node.type("bias")
            shift = b_t.frac - product_frac(node, self.ir.input_type_of(node))
            bias = node.weights["bias"]
            self._offsets[key] = bias_offsets(a.table(), x, w, self.histograms.get(layer), W, used, shift,
                                              bias.reshape(-1), b_t.code_min, b_t.code_max)
        return self._offsets[key]

    def network(self, assignment: dict[str, str], tuned: bool, compensate: bool | None = None):
        """The IR (weights tuned, biases compensated where asked) and Assignments for {layer: multiplier}."""
        compensate = self.compensate if compensate is None else compensate
        ir = self.ir
        if tuned or compensate:
            ir = copy.copy(self.ir)
            ir.nodes = []
            for node in self.ir.nodes:
                mult = assignment.get(node.name, EXACT)
                if node.multiplies and mult != EXACT:
                    node = copy.copy(node)
                    if tuned:
                        node.weights = dict(node.weights, weight=self.tuned_weights(node.name, mult)[0])
                    offsets = self.bias_offsets(node.name, mult, tuned) if compensate else None
                    if offsets is not None:
                        bias = node.weights["bias"]
                        node.weights = dict(node.weights, bias=(bias.reshape(-1) + offsets).reshape(bias.shape))
                ir.nodes.append(node)
        return ir, {layer: self.assignment(layer, m) for layer, m in assignment.items()}

    def accuracy(self, assignment: dict[str, str], tuned: bool = False, split: str = "calib",
                 compensate: bool | None = None) -> float:
        if split == "calib" and self.max_wrong is not None:
            return self._bounded_accuracy(assignment, tuned, compensate)
        return float(np.mean(self.correct(assignment, tuned, split, compensate)))

    def _bounded_accuracy(self, assignment: dict[str, str], tuned: bool, compensate: bool | None) -> float:
        """Calibration accuracy, counting wrong answers batch by batch and stopping once they pass ``max_wrong``
        (then the value is an upper bound, and the candidate is infeasible either way)."""
        compensate = self.compensate if compensate is None else compensate
        ir, asg = self.network(assignment, tuned, compensate)
        y = self.data.y_calib
        wrong = 0

        def stop(start: int, out: np.ndarray) -> bool:
            nonlocal wrong
            wrong += int((np.argmax(out, axis=1) != y[start : start + len(out)]).sum())
            return wrong > self.max_wrong

        self.prefix().predict(self.emulator(ir, asg), multiplier_key(self.ir, assignment, EXACT),
                              tag=(tuned, compensate), stop=stop)
        self.stopped += wrong > self.max_wrong
        return 1 - wrong / len(y)

    def correct(self, assignment: dict[str, str], tuned: bool = False, split: str = "calib",
                compensate: bool | None = None) -> np.ndarray:
        """Per sample of the split, whether the candidate classifies it correctly."""
        compensate = self.compensate if compensate is None else compensate
        ir, asg = self.network(assignment, tuned, compensate)
        emulator = self.emulator(ir, asg)
        x, y = self.split(split)
        if split == "calib":
            out = self.prefix().predict(emulator, multiplier_key(self.ir, assignment, EXACT), tag=(tuned, compensate))
        else:
            out = emulator.predict(x)
        return np.argmax(out, axis=1) == y

    def emulator(self, ir, asg):
        """A candidate's emulator: layers prepared once per search (the cache), their engines raced on calibration
        images."""
        from approxhls.sim.emulator import Emulator

        return Emulator(ir, asg, cache=self._emulator_cache, probe=self.data.x_calib)

    def split(self, name: str):
        d = self.data
        return {"calib": (d.x_calib, d.y_calib), "val": (d.x_val, d.y_val), "test": (d.x_test, d.y_test)}[name]

    def prefix_order(self, jobs: list) -> list[int]:
        """Indices of jobs (assignment, tuned) sorted so that neighbours share the longest prefixes."""
        return sorted(range(len(jobs)), key=lambda i: (jobs[i][1], multiplier_key(self.ir, jobs[i][0], EXACT)))

    def accuracies(self, jobs: list, announce: list | None = None) -> list[float]:
        """Calibration accuracy of every job, evaluated in prefix order, returned in the jobs' order. The prefixes
        that the ``announce``d jobs (default: these; a worker's next ones too) share are kept as they are computed."""
        order = self.prefix_order(jobs)
        for a, tuned in jobs if announce is None else announce:
            self.prefix().expect([multiplier_key(self.ir, a, EXACT)], tag=(tuned, self.compensate))
        return in_job_order([order], [[self.accuracy(*jobs[i]) for i in order]], len(jobs))


def in_job_order(chunks: list[list[int]], results: list[list[float]], n: int) -> list[float]:
    """Results computed in chunks of job indices, back in the jobs' order."""
    out = [0.0] * n
    for chunk, accs in zip(chunks, results):
        for i, a in zip(chunk, accs):
            out[i] = a
    return out


def assignment_key(assignment: dict[str, str]) -> tuple:
    """The one key of a candidate, its (layer, multiplier) pairs: the evaluation cache's and the front's."""
    return tuple(sorted(assignment.items()))


class Fitness:
    """Calibration accuracy of candidates, each distinct assignment evaluated once per search through a pool
    (``pool.map(jobs) -> accuracies``); the cache and the count of evaluations go into checkpoints."""

    def __init__(self, pool, tuned: bool = False):
        self.pool, self.tuned = pool, tuned
        self.seen: dict[tuple, float] = {}  # assignment_key -> calibration accuracy
        self.evaluations = 0

    def __call__(self, assignments: list[dict[str, str]]) -> np.ndarray:
        keys = [assignment_key(a) for a in assignments]
        todo = list({k: a for k, a in zip(keys, assignments) if k not in self.seen}.items())
        for (k, _), acc in zip(todo, self.pool.map([(a, self.tuned) for _, a in todo])):
            self.seen[k] = acc
        self.evaluations += len(todo)
        return np.array([self.seen[k] for k in keys])

    def get(self, assignment: dict[str, str]) -> float | None:
        """The calibration accuracy found for a candidate, if it was evaluated."""
        return self.seen.get(assignment_key(assignment))

    def state(self) -> dict:
        return {"seen": dict(self.seen), "evaluations": self.evaluations, "stopped": self.pool.stopped}

    def restore(self, state: dict) -> None:
        self.seen, self.evaluations = dict(state["seen"]), state["evaluations"]
        self.pool.stopped = state["stopped"]


