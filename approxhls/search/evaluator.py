"""Accuracy of candidate assignments with the emulator, in this process, local worker processes or Dask.

An :class:`Evaluator` is picklable (numpy arrays and names): it is shipped once to each worker, which
builds its own caches (product tables, decompositions, tuned weights, prefix states) and reuses them across
candidates and generations. Candidates are sorted by their per-layer multipliers and each worker walks a
contiguous share of them, so it resumes every candidate at the deepest layer whose state it keeps
(:mod:`approxhls.search.prefix`).
"""

from __future__ import annotations

import copy
from collections import deque
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from approxhls.errors import ApproxHLSError
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
        return _in_job_order([order], [[self.accuracy(*jobs[i]) for i in order]], len(jobs))


def _in_job_order(chunks: list[list[int]], results: list[list[float]], n: int) -> list[float]:
    """Results computed in chunks of job indices, back in the jobs' order."""
    out = [0.0] * n
    for chunk, accs in zip(chunks, results):
        for i, a in zip(chunk, accs):
            out[i] = a
    return out


# ---- parallel maps ------------------------------------------------------------------------------------
_worker: Evaluator | None = None


def _init(ev: Evaluator):
    global _worker
    from threadpoolctl import threadpool_limits

    from approxhls.sim import emulator
    from approxhls.sim.directconv import tensorflow

    threadpool_limits(1)  # one BLAS thread per worker process: the processes are the parallelism
    emulator.THREADS = 1  # and one batch at a time
    tf = tensorflow(load=True)  # the emulator's direct convolutions use TensorFlow where it is loaded
    try:  # one TensorFlow thread too; a spawned process has not started its pools unless the user's module ran ops
        if tf is not None:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    _worker = ev


def _chunk(jobs, announce=None):
    return _chunk_on(_worker, jobs, announce)


def _chunk_on(ev: Evaluator, jobs, announce=None):
    before = ev.stopped
    return ev.accuracies(jobs, announce), ev.prefix().reuse, ev.stopped - before


CHUNK = 2  # jobs per task sent to a local worker: all workers finish within about that many of each other


class Shares:
    """Job indices in prefix order cut into one contiguous share per worker. A worker takes the next ``size`` jobs
    from the front of its own share (each job's neighbour is the one before it: they share prefixes); one whose
    share is done takes from the back of the largest share left, so no worker idles while others have a queue."""

    def __init__(self, order: list[int], workers: int, size: int = CHUNK):
        n = max(1, min(workers, len(order)))
        self.shares = [deque(order[k * len(order) // n : (k + 1) * len(order) // n]) for k in range(n)]
        self.size = size

    def take(self, worker: int) -> list[int]:
        own = self.shares[worker]
        if own:
            return [own.popleft() for _ in range(min(self.size, len(own)))]
        other = max(self.shares, key=len)
        return [other.pop() for _ in range(min(self.size, len(other)))][::-1]

    def next_of(self, worker: int) -> int | None:
        """The job this worker takes next from its own share, if any."""
        own = self.shares[worker]
        return own[0] if own else None


class Pool:
    """map(jobs) -> accuracies, in-process (jobs=1), in local processes, or on a Dask cluster. Jobs are sorted by
    their multipliers; a local worker walks its contiguous share of them a few at a time (:class:`Shares`), told of
    the job it takes next so that the prefix it shares with it is kept; on Dask, contiguous chunks (two per worker)."""

    def __init__(self, evaluator: Evaluator, jobs: int = 1, scheduler: str | None = None, client=None):
        self.evaluator = evaluator
        self.kind = "dask" if (scheduler or client) else ("processes" if jobs > 1 else "in-process")
        self.workers = max(1, jobs)
        if self.kind == "processes" and evaluator.state_budget is None:  # local workers share this memory
            from approxhls.search.prefix import state_budget

            evaluator.state_budget = state_budget(self.workers)
        self.reuse = 0.0  # share of node evaluations the prefix caches saved so far (mean over the last chunks)
        self.stopped = 0  # evaluations stopped early as infeasible (Evaluator.max_wrong)
        self._executor = self._client = self._remote = None
        if self.kind == "dask":
            from distributed import Client

            self._client = client or Client(scheduler)
            self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
            self._remote = self._client.scatter(evaluator, broadcast=True)
        elif self.kind == "processes":
            import multiprocessing

            # spawned, not forked: the parent has TensorFlow's thread pools running, which a fork does not survive
            self._executor = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_init, initargs=(evaluator,))

    def map(self, jobs: list) -> list[float]:
        if not jobs:
            return []
        if self.kind == "in-process":
            out, self.reuse, stopped = _chunk_on(self.evaluator, jobs)
            self.stopped += stopped
            return out
        order = self.evaluator.prefix_order(jobs)
        if self.kind == "dask":
            n = min(len(order), 2 * self.workers)
            chunks = [order[k * len(order) // n : (k + 1) * len(order) // n] for k in range(n)]
            payload = [[jobs[i] for i in c] for c in chunks]
            futures = self._client.map(_chunk_on, [self._remote] * len(payload), payload, pure=False)
            results = self._client.gather(futures)
            self.reuse = float(np.mean([r for _, r, _ in results]))
            self.stopped += sum(s for _, _, s in results)
            return _in_job_order(chunks, [accs for accs, _, _ in results], len(jobs))
        return self._map_shares(jobs, order)

    def _map_shares(self, jobs: list, order: list[int]) -> list[float]:
        """One task per worker in flight: the worker that finished a task is the one idle, so it gets the next
        task of its share (and its prefix states)."""
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        shares = Shares(order, self.workers)
        announced = [set() for _ in shares.shares]  # per worker: jobs its prefix cache was told of
        futures, chunks, accs, reuse = {}, [], [], {}

        def submit(worker: int) -> None:
            chunk = shares.take(worker)
            if not chunk:
                return
            ahead = shares.next_of(worker)
            tell = [i for i in chunk + ([ahead] if ahead is not None else []) if i not in announced[worker]]
            announced[worker].update(tell)
            futures[self._executor.submit(_chunk, [jobs[i] for i in chunk], [jobs[i] for i in tell])] = (worker, chunk)

        try:
            for worker in range(len(shares.shares)):
                submit(worker)
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for f in done:
                    worker, chunk = futures.pop(f)
                    out, reuse[worker], stopped = f.result()
                    chunks.append(chunk)
                    accs.append(out)
                    self.stopped += stopped
                    submit(worker)
        except BrokenProcessPool as e:
            raise ApproxHLSError(
                "a search worker process died. Workers are spawned: a script that runs the search with jobs > 1 "
                "must call it under `if __name__ == \"__main__\":` (else every worker re-runs the script); "
                "otherwise the worker ran out of memory (try fewer --jobs or a smaller --calib)") from e
        self.reuse = float(np.mean(list(reuse.values())))
        return _in_job_order(chunks, accs, len(jobs))

    def close(self):
        if self._executor is not None:
            self._executor.shutdown()
