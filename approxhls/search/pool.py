"""Evaluating jobs (assignment, tuned) -> calibration accuracies in this process, in local worker processes or on
a Dask cluster. Jobs are sorted by their per-layer multipliers and each worker walks a contiguous share of them, so
it resumes every candidate at the deepest layer whose state it keeps (:mod:`approxhls.search.prefix`).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.search.evaluator import Evaluator, in_job_order

# ---- parallel maps ------------------------------------------------------------------------------------
_worker: Evaluator | None = None


def _init(ev: Evaluator):
    global _worker
    import signal

    from threadpoolctl import threadpool_limits

    # Ctrl-C reaches the whole process group: the parent stops the search and its workers, which would otherwise
    # each print a traceback of their own
    signal.signal(signal.SIGINT, signal.SIG_IGN)

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
            return in_job_order(chunks, [accs for accs, _, _ in results], len(jobs))
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
        return in_job_order(chunks, accs, len(jobs))

    def close(self, cancel: bool = False):
        """Ends the workers; ``cancel``: drops the tasks not started (an interrupted search)."""
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=cancel)
