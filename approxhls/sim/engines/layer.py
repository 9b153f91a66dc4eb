"""What the engines of one multiplying layer share, each computed once when an engine first asks: the layer's
weight groups, its product table and exact decomposition, its GEMM engine and its lookup engines."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from approxhls.fixedpoint import FixedType
from approxhls.sim.decompose import decompose_used
from approxhls.sim.engines.gemm import ExactGemm, FeatureGemm, GemmEngine, decomposition_bound, exact_dtype
from approxhls.sim.engines.lookup import LookupRows
from approxhls.sim.ir import Node
from approxhls.sim.lutkernel import LutConv
from approxhls.sim.ops import get_op
from approxhls.sim.reference import product_frac

MAX_TABLE_BITS = 16  # widest input type whose product table the engines build
LUT_RIVAL_RANK = 2  # decompositions of this rank or more are timed against the table lookup ((rank + 1) x the work)
LUT_EXACT_BITS = 8  # exact products of operands this wide or narrower are timed against it too (few channels)


@dataclass(frozen=True)
class Options:
    """Which engines may be candidates: ``direct``, the direct convolutions (by name) to try; ``load_tensorflow``,
    whether to import TensorFlow for them (else only where this process has loaded it); ``lookup_rival``, whether a
    table lookup is timed against a GEMM engine where it may be faster; ``race``: candidates are timed and the
    fastest exact one taken (else the first of ``direct`` that applies, or the first candidate)."""

    direct: tuple[str, ...] = ("conv2d", "conv2d-int8")
    load_tensorflow: bool = False
    lookup_rival: bool = True
    race: bool = True


class Layer:
    """One multiplying ``node`` with its product ``assignment`` (an Assignment or a layer's own product table) and
    its input type ``x_type`` (the IR's)."""

    def __init__(self, node: Node, assignment, x_type: FixedType, options: Options = Options()):
        self.node, self.assignment, self.x_type, self.options = node, assignment, x_type, options

    @cached_property
    def groups(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return get_op(self.node.op).groups(self.node)

    @cached_property
    def ordered(self) -> bool:
        """Whether products must be accumulated one by one: the accumulator rounds each product or saturates, or the
        inputs are too wide for a table of an approximate product."""
        acc_t = self.node.type("accum")
        if acc_t.frac < product_frac(self.node, self.x_type) or acc_t.overflow != "WRAP":
            return True
        return not self.assignment.exact and self.assignment.x_type.width > MAX_TABLE_BITS

    @cached_property
    def k(self) -> int:
        """Products per sum (the longest weight group)."""
        return max(w.shape[0] for w, _ in self.groups)

    @cached_property
    def decomposition(self):
        """The table's cheapest exact decomposition on the weight codes the layer holds, or None (exact products
        need none)."""
        if self.ordered or self.assignment.exact:
            return None
        x_codes, w_codes = self.assignment.codes()
        used = np.unique(np.concatenate([w.ravel() for w, _ in self.groups]))
        return decompose_used(self.assignment.table(), x_codes, w_codes, used)

    @cached_property
    def gemm(self) -> GemmEngine | None:
        """The layer's GEMM engine where its sums are exact in some dtype: exact products always, a decomposition
        within float64's bound."""
        if self.ordered:
            return None
        if self.assignment.exact:
            return self._exact_gemm()
        dec = self.decomposition
        if dec is None:
            return None
        x_codes, w_codes = self.assignment.codes()
        dtype = exact_dtype(decomposition_bound(dec, self.k, x_codes, w_codes), wide=None)
        if dtype is None:
            return None
        kernels = [FeatureGemm(dec, int(x_codes.min()), int(w_codes.min()), w, dtype) for w, _ in self.groups]
        return GemmEngine(kernels, "gemm" if dec.method == "exact" else dec.label(), np.dtype(dtype).name,
                          self._rows_label())

    def _exact_gemm(self) -> GemmEngine:
        x_t, w_t = self.x_type, self.node.type("weight")
        bound = self.k * max(abs(x_t.code_min), x_t.code_max) * max(abs(w_t.code_min), w_t.code_max)
        dtype = exact_dtype(bound)
        kernels = [ExactGemm(w, dtype, x_t.code_min, x_t.code_max) for w, _ in self.groups]
        return GemmEngine(kernels, "gemm", np.dtype(dtype).name, self._rows_label())

    def _rows_label(self) -> str:
        return "im2col" if self.node.op == "conv" else "numpy"

    @cached_property
    def lookup_wanted(self) -> bool:
        """Whether the table lookup is a candidate: where no GEMM engine is exact, and as a rival of one where it may
        be faster (a high-rank decomposition, or small exact products: few channels) on a single weight group."""
        if self.ordered:
            return False
        if self.gemm is None:
            return True
        a = self.assignment
        may_win = (max(a.x_type.width, a.w_type.width) <= LUT_EXACT_BITS if a.exact
                   else self.decomposition.rank >= LUT_RIVAL_RANK)
        return (self.options.lookup_rival and may_win and len(self.groups) == 1
                and not self.node.attrs.get("binary_input"))

    @cached_property
    def _table_and_origin(self) -> tuple[np.ndarray, int, int]:
        x_codes, w_codes = self.assignment.codes()
        return self.assignment.table(), int(x_codes.min()), int(w_codes.min())

    @cached_property
    def lut_rows(self) -> LookupRows | None:
        """The table lookup on GEMM rows, where the lookup is wanted."""
        if not self.lookup_wanted:
            return None
        table, x_min, w_min = self._table_and_origin
        return LookupRows.create(table, self.groups, x_min, w_min)

    @cached_property
    def lut_conv(self) -> LutConv | None:
        """The lookup convolution, where the lookup is wanted and LutConv applies (one weight group)."""
        if not self.lookup_wanted or len(self.groups) != 1:
            return None
        table, x_min, w_min = self._table_and_origin
        return LutConv.create(self.node, table, self.groups[0][0] - w_min, x_min)
