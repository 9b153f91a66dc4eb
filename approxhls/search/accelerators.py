"""Candidate encodings: an integer vector per candidate, decoded to a per-layer multiplier assignment.

- Dataflow (hls4ml's architecture): one gene per layer, an index into that layer's candidate list
  (index 0 = exact).
- Tiled (ALWANN): n tiles, each with one multiplier type (genes 0..n-1, indices into the shared list),
  then one gene per layer naming its tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.search.costmodel import EXACT


@dataclass
class Decoded:
    assignment: dict[str, str]  # layer -> multiplier
    tiles: list[str] | None = None
    tile_map: dict[str, int] | None = None


class DataflowAccelerator:
    name = "dataflow"

    def __init__(self, layers: list[str], candidates: dict[str, list[str]]):
        self.layers = layers
        self.candidates = candidates  # per layer, EXACT first

    @property
    def n_var(self) -> int:
        return len(self.layers)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(self.n_var, int), np.array([len(self.candidates[layer]) - 1 for layer in self.layers])

    def decode(self, genes) -> Decoded:
        genes = np.asarray(genes, dtype=int)
        return Decoded({layer: self.candidates[layer][g] for layer, g in zip(self.layers, genes)})

    def exact_genes(self) -> np.ndarray:
        return np.zeros(self.n_var, int)


class TiledAccelerator:
    def __init__(self, layers: list[str], shared: list[str], n_tiles: int, fixed_exact: list[str] = ()):
        if n_tiles < 1 or n_tiles >= max(2, len(layers)):
            raise ApproxHLSError(f"the tiled accelerator needs fewer tiles than layers with multipliers to assign "
                                 f"({len(layers)}), got --tiles {n_tiles}")
        self.layers = layers  # layers mapped onto tiles
        self.shared = shared  # EXACT first
        self.n_tiles = n_tiles
        self.fixed_exact = list(fixed_exact)  # layers no shared multiplier fits: they stay exact
        self.name = f"tiled-{n_tiles}"

    @property
    def n_var(self) -> int:
        return self.n_tiles + len(self.layers)

    def bounds(self):
        lo = np.zeros(self.n_var, int)
        hi = np.array([len(self.shared) - 1] * self.n_tiles + [self.n_tiles - 1] * len(self.layers))
        return lo, hi

    def decode(self, genes) -> Decoded:
        genes = np.asarray(genes, dtype=int)
        tiles = [self.shared[g] for g in genes[: self.n_tiles]]
        tile_map = {layer: int(t) for layer, t in zip(self.layers, genes[self.n_tiles :])}
        assignment = {layer: tiles[t] for layer, t in tile_map.items()} | {layer: EXACT for layer in self.fixed_exact}
        return Decoded(assignment, tiles, tile_map)

    def exact_genes(self) -> np.ndarray:
        g = np.zeros(self.n_var, int)
        g[self.n_tiles :] = np.arange(len(self.layers)) % self.n_tiles
        return g
