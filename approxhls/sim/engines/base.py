"""What every engine is: a named way to compute one multiplying layer's integer accumulator sums, exactly.

An engine reads either a weight group's GEMM rows (``ROWS``: (rows, k) input codes, im2col patches for a
convolution, as the operation cuts them) or the layer's input codes whole (``CODES``: (n, ...) samples; a direct
convolution builds what it needs from them). Whatever it reads may come in any integer dtype (uint8 after a fused
8-bit ReLU): an engine widens what it must. An engine that reads ``CODES`` names the engine on GEMM rows that
computes the same products (``rows``): an observer of every product's input (histograms, ``approxhls diff``) runs
that one.

The sums exclude the bias; the emulator's finish aligns them, adds the bias and casts, as hls4ml's kernel does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

ROWS = "rows"  # a weight group's GEMM rows (rows, k)
CODES = "codes"  # the layer's input codes (n, ...), whole


@dataclass(frozen=True)
class Sums:
    """A layer's sums of products per output: ``values`` (rows, out), integers or float arrays holding exact
    integers, plus ``offset`` (out,) where the engine leaves a constant per output out (the finish folds it into the
    bias instead of a pass over the sums)."""

    values: np.ndarray
    offset: np.ndarray | None = None

    def total(self) -> np.ndarray:
        """The sums with their offset, in int64."""
        out = np.asarray(self.values).astype(np.int64)
        return out if self.offset is None else out + self.offset


class Engine:
    """One layer's sums by one method. Subclasses set ``name`` (the registry's), ``method`` (how the products are
    formed: gemm, separable, low-rank r=.., lut, reference), ``dtype`` (what the arithmetic runs in, or None) and
    ``label`` (the engine as reports name it: im2col, conv2d, conv2d-int8, lut-conv, numpy)."""

    name: str
    method: str
    dtype: str | None
    label: str
    reads: str = ROWS
    # True where the accumulator rounds or saturates product by product: there are no sums to finish, the engine
    # gives the layer's result codes (``result``) instead
    ordered: bool = False

    @property
    def rows(self) -> Engine:
        """The engine on GEMM rows with the same products (itself where it reads rows)."""
        return self

    def sums(self, x: np.ndarray, group: int = 0) -> Sums:
        """The sums of weight group ``group`` on ``x`` (what the engine ``reads``)."""
        raise NotImplementedError(f"engine {self.name} gives no sums")


@dataclass(eq=False)
class OnCodes(Engine):
    """An engine whose ``kernel`` reads the layer's input codes whole (``kernel.partial(codes, n)`` gives the sums and
    their offset), with ``twin``: the engine on GEMM rows with the same products."""

    kernel: object
    twin: Engine
    reads = CODES

    @property
    def rows(self) -> Engine:
        return self.twin

    def sums(self, x: np.ndarray, group: int = 0) -> Sums:
        values, offset = self.kernel.partial(x, len(x))
        return Sums(values, offset)


Builder = Callable[["object"], "Engine | None"]  # a Layer (approxhls.sim.engines.layer) -> its engine, or None

ENGINES: dict[str, Builder] = {}  # name -> builder, in the order candidates are listed (see register)


def register(name: str, build: Builder) -> Builder:
    """Adds an engine: ``build(layer)`` gives the layer's engine named ``name``, or None where it cannot compute that
    layer exactly (or where a cheaper candidate always beats it). Candidates are listed in registration order; the
    first that applies is the one the others' sums are checked against in a race, so engines that are exact by their
    bound register first."""
    if name in ENGINES:
        raise ValueError(f"an engine named {name!r} is already registered")
    ENGINES[name] = build
    return build
