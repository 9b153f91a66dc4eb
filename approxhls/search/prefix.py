"""Re-use of the work candidates share: the graph's state at the cut before each multiplying layer.

A candidate's activations before its d-th multiplying layer (in topological order) depend only on the
multipliers of the d layers before it (its key prefix). A runner keeps such states and resumes each candidate at
the deepest cut whose prefix it holds, so only the layers after it run. It keeps the states of prefixes that at
least ``ADMIT`` of the candidates it has seen or been told of (:meth:`PrefixRunner.expect`) share: within a
sorted chunk that is every prefix a neighbour shares, and across NSGA-II generations the prefixes of the
population's common ancestry, which children keep re-using. A state unique to one candidate is never re-read, so it
is not kept. Within the byte budget, the states of the least shared prefixes (then the least recently used) go
first. States are kept per batch as the narrowest integer codes.
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np

from approxhls.sim.reference import output_values, run_nodes

MAX_BUDGET = 2 << 30  # bytes of kept states per process, at most (measured on resnet8: more adds little reuse)
ADMIT = 2  # candidates sharing a prefix before its state is kept


def available_memory() -> int:
    """Bytes of memory available to new allocations (Linux: MemAvailable, else free pages; 0 when unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def state_budget(processes: int = 1) -> int:
    """Bytes of prefix states each of ``processes`` runners may keep: a quarter of the available memory shared
    among them, at most MAX_BUDGET each (the workers' own tables and batches need the rest)."""
    avail = available_memory()
    return MAX_BUDGET if not avail else int(min(MAX_BUDGET, avail // (4 * max(1, processes))))


def _nbytes(states: list) -> int:
    """Bytes of one cut's kept state (per batch: {variable: (codes, type)})."""
    return sum(c.nbytes for state in states for c, _ in state.values())


def multiplier_key(ir, assignment: dict[str, str], exact: str = "exact") -> tuple:
    """A candidate's multiplier per multiplying node, in topological order: candidates sorted by it share prefixes
    with their neighbours."""
    return tuple(assignment.get(node.name, exact) for node in ir.multiplying_nodes())


class PrefixRunner:
    """Evaluates candidates of one network on fixed inputs ``x``, resuming each at the deepest cut whose state it
    keeps; a candidate is named by its :func:`multiplier_key` (and a ``tag``: e.g. tuned weights)."""

    def __init__(self, ir, x: np.ndarray, batch: int, budget: int = MAX_BUDGET):
        self.ir, self.x, self.batch, self.budget = ir, np.asarray(x, dtype=np.float64), batch, budget
        self.cuts = [i for i, n in enumerate(ir.nodes) if n.multiplies]  # the nodes multiplier_key lists
        producer = {v: n for n in ir.nodes for v in n.outputs}
        self.live = []  # per cut: variables produced before it and read at or after it (or the output)
        for i in self.cuts:
            read = {v for n in ir.nodes[i:] for v in n.inputs} | set(ir.outputs)
            self.live.append(sorted(v for v in read if v in producer and ir.nodes.index(producer[v]) < i))
        self.states: dict[tuple, list] = {}  # (tag, key prefix of d layers) -> the state at cut d, per batch
        self.kept_bytes = 0
        self.shared = Counter()  # (tag, key prefix) -> candidates seen or expected with that prefix
        self._last_use: dict[tuple, int] = {}
        self._clock = 0
        self._expected = Counter()  # (tag, key) announced by expect() and not evaluated yet
        self.nodes_run = self.nodes_total = 0

    def _prefixes(self, key: tuple, tag) -> list[tuple]:
        return [(tag, key[:d]) for d in range(len(self.cuts))]

    def expect(self, keys: list[tuple], tag=None) -> None:
        """Announces candidates about to be evaluated (e.g. a chunk of a generation): their shared prefixes are
        kept as they are computed."""
        for key in keys:
            self.shared.update(self._prefixes(key, tag)[1:])
            self._expected[(tag, key)] += 1

    def predict(self, emulator, key: tuple, tag=None, stop=None) -> np.ndarray:
        """The emulator's outputs on ``x`` for a candidate of that key (``tag`` separates e.g. tuned weights).
        ``stop(start, outputs)``, if given, sees each batch's outputs in order and may end the run early (True): the
        outputs so far are returned, and no state of that candidate is kept."""
        prefixes = self._prefixes(key, tag)
        self._count(tag, key, prefixes)
        resume = self._deepest_kept(prefixes)
        fresh = {d: [] for d in range(resume + 1, len(prefixes)) if self.shared[prefixes[d]] >= ADMIT}
        outs = []
        for b in range(0, len(self.x), self.batch):
            outs.append(self._run_batch(emulator, b, prefixes[resume] if resume else None, fresh))
            if stop is not None and stop(b, outs[-1]) and b + self.batch < len(self.x):
                fresh = {}  # states of only some batches: not kept
                break
        for d, states in fresh.items():
            self._keep(prefixes[d], states)
        return np.concatenate(outs)

    def _count(self, tag, key: tuple, prefixes: list[tuple]) -> None:
        """One more candidate with these prefixes (already counted if expect() announced it)."""
        self._clock += 1
        if self._expected[(tag, key)] > 0:
            self._expected[(tag, key)] -= 1
        else:  # not announced by expect(): counted now
            self.shared.update(prefixes[1:])

    def _deepest_kept(self, prefixes: list[tuple]) -> int:
        """The deepest cut whose state is kept for these prefixes (0: none, run from the input)."""
        resume = max((d for d in range(1, len(prefixes)) if prefixes[d] in self.states), default=0)
        if resume:
            self._last_use[prefixes[resume]] = self._clock
        return resume

    def _run_batch(self, emulator, b: int, kept: tuple | None, fresh: dict[int, list]) -> np.ndarray:
        """Outputs of the batch starting at image ``b``, resumed from the ``kept`` prefix's state (None: from the
        input); the states at the cuts in ``fresh`` are appended to its lists as they pass."""
        xb = self.x[b : b + self.batch]
        ctx = emulator.context(xb)
        if kept is not None:
            env = {v: (c.copy(), t) for v, (c, t) in self.states[kept][b // self.batch].items()}
            start = self.cuts[len(kept[1])]
        else:
            env, start = {}, 0
        at_cut = {self.cuts[d]: d for d in fresh}

        def keep(i, env):
            d = at_cut.get(i)
            if d is not None:
                fresh[d].append({v: (env[v][0].astype(env[v][1].code_dtype), env[v][1]) for v in self.live[d]})

        run_nodes(emulator.ir, ctx, env, start, len(self.ir.nodes), at=keep)  # the candidate's (tuned) nodes
        self.nodes_run += len(self.ir.nodes) - start
        self.nodes_total += len(self.ir.nodes)
        return output_values(self.ir, env, len(xb))

    def _keep(self, prefix: tuple, states: list) -> None:
        self.states[prefix] = states
        self._last_use[prefix] = self._clock
        self.kept_bytes += _nbytes(states)
        while self.kept_bytes > self.budget:  # the least shared, then least recently used, go first
            victim = min(self.states, key=lambda p: (self.shared[p], self._last_use[p]))
            self.kept_bytes -= _nbytes(self.states.pop(victim))
            del self._last_use[victim]

    @property
    def reuse(self) -> float:
        """Share of node evaluations the cache saved so far."""
        return 1 - self.nodes_run / self.nodes_total if self.nodes_total else 0.0
