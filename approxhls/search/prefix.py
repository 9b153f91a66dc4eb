"""Re-use of the work candidates share: the graph's state at the cut before each multiplying layer.

A candidate's activations before its d-th multiplying layer (in topological order) depend only on the
multipliers of the d layers before it. Candidates evaluated in lexicographic order of their per-layer
multipliers share with their predecessor the longest prefix any earlier candidate offers, so a stack of states
(one per cut of the current candidate) is all the cache needs: a candidate resumes at the deepest cut it shares
and runs only the layers after it. States are kept per batch as the narrowest integer codes, within a memory
budget (the deepest cuts first: they save the most work and hold the smallest tensors).
"""

from __future__ import annotations

import numpy as np

from approxhls.sim.reference import output_values, run_nodes

DEFAULT_BUDGET = 1 << 30  # bytes of kept states per process


def _narrow(t) -> np.dtype:
    for dt in (np.int8, np.int16, np.int32):
        info = np.iinfo(dt)
        if info.min <= t.code_min and t.code_max <= info.max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def multiplier_key(ir, assignment: dict[str, str], exact: str = "exact") -> tuple:
    """A candidate's multiplier per multiplying node, in topological order: candidates sorted by it share prefixes
    with their neighbours."""
    return tuple(assignment.get(node.name, exact) for node in ir.multiplying_nodes())


class PrefixRunner:
    """Evaluates candidates of one network on fixed inputs ``x``, resuming each at the deepest cut it shares with
    the previous one; a candidate is named by its :func:`multiplier_key`."""

    def __init__(self, ir, x: np.ndarray, batch: int, budget: int = DEFAULT_BUDGET):
        self.ir, self.x, self.batch = ir, np.asarray(x, dtype=np.float64), batch
        self.cuts = [i for i, n in enumerate(ir.nodes) if n.multiplies]  # the nodes multiplier_key lists
        producer = {v: n for n in ir.nodes for v in n.outputs}
        self.live = []  # per cut: variables produced before it and read at or after it (or the output)
        for i in self.cuts:
            read = {v for n in ir.nodes[i:] for v in n.inputs} | {ir.output}
            self.live.append(sorted(v for v in read if v in producer and ir.nodes.index(producer[v]) < i))
        size = {v: int(np.prod(producer[v].shape)) * _narrow(producer[v].type()).itemsize for v in producer}
        cut_bytes = [len(self.x) * sum(size[v] for v in live) for live in self.live]
        self.kept, used = set(), 0
        for d in reversed(range(len(self.cuts))):
            if used + cut_bytes[d] <= budget:
                self.kept.add(d)
                used += cut_bytes[d]
        self.kept_bytes = used
        self.stack: list[tuple[tuple, list | None]] = []  # depth d: (key prefix of d layers, states per batch)
        self.nodes_run = self.nodes_total = 0

    def predict(self, emulator, key: tuple, tag=None, stop=None) -> np.ndarray:
        """The emulator's outputs on ``x`` for a candidate of that key (``tag`` separates e.g. tuned weights).
        ``stop(start, outputs)``, if given, sees each batch's outputs in order and may end the run early (True): the
        outputs so far are returned, and the states of that candidate's unfinished cuts are not kept."""
        prefixes = [(tag, key[:d]) for d in range(len(self.cuts))]
        depth = 0
        while depth < len(self.stack) and self.stack[depth][0] == prefixes[depth]:
            depth += 1
        del self.stack[depth:]
        resume = max((d for d in range(depth) if self.stack[d][1] is not None), default=-1)
        fresh = {d: [] for d in range(depth, len(self.cuts)) if d in self.kept}
        at_cut = {self.cuts[d]: d for d in fresh}
        outs = []
        for b in range(0, len(self.x), self.batch):
            xb = self.x[b : b + self.batch]
            ctx = emulator.context(xb)
            if resume >= 0:
                env = {v: (c.astype(np.int64), t) for v, (c, t) in self.stack[resume][1][b // self.batch].items()}
                start = self.cuts[resume]
            else:
                env, start = {}, 0

            def keep(i, env):
                d = at_cut.get(i)
                if d is not None:
                    fresh[d].append({v: (env[v][0].astype(_narrow(env[v][1])), env[v][1]) for v in self.live[d]})

            run_nodes(emulator.ir, ctx, env, start, len(self.ir.nodes), at=keep)  # the candidate's (tuned) nodes
            outs.append(output_values(self.ir, env, len(xb)))
            self.nodes_run += len(self.ir.nodes) - start
            self.nodes_total += len(self.ir.nodes)
            if stop is not None and stop(b, outs[-1]) and b + self.batch < len(self.x):
                fresh = {}  # states of only some batches: not kept
                break
        for d in range(depth, len(self.cuts)):
            self.stack.append((prefixes[d], fresh.get(d)))
        return np.concatenate(outs)

    @property
    def reuse(self) -> float:
        """Share of node evaluations the cache saved so far."""
        return 1 - self.nodes_run / self.nodes_total if self.nodes_total else 0.0
