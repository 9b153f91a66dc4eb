"""Which engines can compute a layer exactly (:func:`candidates`), how they are timed on a probe batch
(:func:`measure`), and which one is taken (:func:`choose`, a pure function of the timings)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.fixedpoint import FixedType
from approxhls.sim.engines.base import ENGINES, Engine, Sums
from approxhls.sim.engines.layer import Layer, Options
from approxhls.sim.ir import Node


@dataclass(frozen=True)
class Timing:
    """One engine's run on the probe batch: its fastest time and its sums (int64, offset added)."""

    seconds: float
    sums: np.ndarray


def candidates(node: Node, assignment, x_type: FixedType, options: Options = Options()) -> list[Engine]:
    """The registered engines that compute ``node`` exactly with its product ``assignment`` on inputs of
    ``x_type``, in registration order (the first is exact by its bound: the race checks the others against it)."""
    layer = Layer(node, assignment, x_type, options)
    found = []
    for name, build in ENGINES.items():
        engine = build(layer)
        if engine is not None:
            if engine.name != name:
                raise ValueError(f"the engine registered as {name!r} built one named {engine.name!r}")
            found.append(engine)
    if not found:
        raise ApproxHLSError(f"no registered engine computes layer {node.name} ({node.op}) exactly")
    return found


def choose(node: Node, engines: Sequence[Engine], probe: Mapping[str, Timing]) -> Engine:
    """The fastest of ``engines`` by their ``probe`` timings among those whose probe sums equal the first's (an
    engine that would differ, e.g. a convolution algorithm that rounds, is never taken); ties go to the earlier.
    One engine needs no timing."""
    if not engines:
        raise ValueError(f"no engine to choose from for layer {node.name}")
    if len(engines) == 1:
        return engines[0]
    first = probe[engines[0].name].sums
    exact = [e for e in engines if np.array_equal(probe[e.name].sums, first)]
    return min(exact, key=lambda e: probe[e.name].seconds)


def preferred(engines: Sequence[Engine], names: Sequence[str]) -> Engine:
    """Without a race: the first engine named in ``names`` (an engine asked for), else the first candidate."""
    return next((e for e in engines if e.name in names), engines[0])


def timed_race(fns: list, repeat: int, drop: float = 2.0) -> list[tuple]:
    """[(fn's result, its fastest time)] per fn, timed in turns (each round runs every fn still in the race once), so
    that a change of the machine's speed during the race slows all of them alike. After the first round, a fn more
    than ``drop`` times slower than the fastest leaves the race (it cannot win; its time stays as measured). Each fn
    runs once untimed first: a first call pays one-time costs (TensorFlow builds oneDNN's primitive for a new kernel,
    measured 130-700 ms against 1-5 ms after), by which the drop would throw out the fastest engine."""
    for fn in fns:
        fn()
    outs, best = [None] * len(fns), [float("inf")] * len(fns)
    running = list(range(len(fns)))
    for r in range(repeat):
        for i in running:
            t0 = time.perf_counter()
            outs[i] = fns[i]()
            best[i] = min(best[i], time.perf_counter() - t0)
        if r == 0:
            running = [i for i in running if best[i] <= drop * min(best)]
    return list(zip(outs, best))


def measure(engines: Sequence[Engine], run: Callable[[Engine], Sums], repeat: int = 5) -> dict[str, Timing]:
    """{engine name: Timing} of ``run(engine)`` (the layer as it runs with that engine, on the probe batch: its sums,
    then whatever follows them), raced by :func:`timed_race`."""
    raced = timed_race([lambda e=e: run(e) for e in engines], repeat)
    return {e.name: Timing(seconds, sums.total()) for e, (sums, seconds) in zip(engines, raced)}
