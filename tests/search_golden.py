"""Small searches whose fronts were recorded once (tests/data/search_golden) and must come out the same.

The recorded fronts depend on the search only: the model is committed (training is not bit-reproducible across
CPUs), and the multiplier prices are frozen (catalog.json, priced by :class:`FrozenCost`, the cost arithmetic
of approxhls.search.costmodel as it was when they were recorded; LUTs relative to the frozen all-exact plan), so a
change of the hardware cost model does not move them. Timing and cache statistics are left out of the comparison.

Record again (only when the search is meant to change its results): ``python tests/search_golden.py --write``.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).parent / "data" / "search_golden"
MODEL = HERE / "model"
# name -> SearchOptions fields; small, and between them: tuning, compensation, --max-loss (bounded evaluations),
# the tiled accelerator and the LUT objective
CONFIGS = {
    "dataflow": dict(pop=8, gens=3, tune=True, compensate=True, max_loss=0.02, calib=200, val=120, seed=1),
    "tiled": dict(tiles=2, pop=8, gens=3, with_luts=True, calib=150, val=100, seed=0),
}
VOLATILE = ("seconds", "evals_per_s", "prefix_reuse")  # of result["search"]: timing and cache statistics


class FrozenCost:
    """The search's cost model with the arithmetic it had when the fronts were recorded (energy: MACs x a design's
    switching energy over the exact one of its signedness; LUTs: ceil(weights / reuse) instances per layer)."""

    def __init__(self, layers, catalog, reuse_factor=1, tile_size=None):
        self.layers, self.catalog = layers, catalog
        self.reuse_factor = max(1, int(reuse_factor))
        self.instances = {layer.name: math.ceil((layer.weights or layer.macs) / self.reuse_factor) for layer in layers}
        self.tile_size = int(tile_size) if tile_size else max(self.instances.values(), default=1)
        self.total_macs = sum(layer.macs for layer in layers)

    def _relative(self, mult, key):
        if mult == "exact":
            return 1.0
        entry = self.catalog[mult]
        return entry[key] / self.catalog["exact_s8" if entry.get("signed") else "exact_u8"][key]

    def relative_energy(self, assignment):
        return sum(layer.macs * self._relative(assignment.get(layer.name, "exact"), "toggles_per_op")
                   for layer in self.layers) / self.total_macs

    def luts(self, mult, signed=False):
        return self._relative(mult, "luts") * self.catalog["exact_s8" if signed else "exact_u8"]["luts"]

    def dataflow_luts(self, assignment):
        return round(sum(self.instances[layer.name] * self.luts(assignment.get(layer.name, "exact"), layer.signed)
                         for layer in self.layers))

    def tiled_luts(self, tile_mults):
        return round(sum(self.tile_size * self.luts(m) for m in tile_mults))

    def plan_luts(self, assignment, tiles=None, tile_map=None):
        return self.tiled_luts(tiles) if tiles is not None else self.dataflow_luts(assignment)

    def exact_baselines(self, tiles=None):
        from approxhls.cost.architecture import Baseline

        return [Baseline("frozen_exact", self.tiled_luts(["exact"] * tiles) if tiles else self.dataflow_luts({}))]

    def cheapest_baseline(self, tiles=None):
        return self.exact_baselines(tiles)[0]

    def relative_luts(self, assignment, tiles=None, tile_map=None):
        return self.plan_luts(assignment, tiles, tile_map) / self.cheapest_baseline(len(tiles) if tiles else None).luts


@contextlib.contextmanager
def frozen_prices():
    """The search sees the frozen catalog and cost arithmetic (patched where the search looks them up)."""
    import approxhls.search.network as network
    import approxhls.search.run as run

    catalog = json.loads((HERE / "catalog.json").read_text())
    saved = network.candidate_catalog, run.CostModel
    network.candidate_catalog = lambda selection="builtin": (catalog, [])
    run.CostModel = FrozenCost
    try:
        yield
    finally:
        network.candidate_catalog, run.CostModel = saved


def run_config(name: str, out: Path, overwrite: bool = False, resume: bool = False, **extra):
    """Runs one recorded configuration into ``out`` (extra: more SearchOptions fields, e.g. jobs)."""
    from approxhls.search.run import SearchOptions, run_search

    with frozen_prices():
        return run_search(MODEL, out, SearchOptions(**({"progress": False} | CONFIGS[name] | extra)),
                          overwrite=overwrite, resume=resume)


def cli_args(name: str) -> list[str]:
    """The `approxhls search` flags of a recorded configuration."""
    from approxhls.search.options import flag

    args = []
    for key, value in CONFIGS[name].items():
        args += [flag(key)] if value is True else [flag(key), str(value)]
    return args


def recorded(name: str) -> dict:
    """{relative path: bytes} of a recorded search's plans, and its pareto.json (as :func:`outputs` gives them)."""
    files = {f"plans/{p.name}": p.read_bytes() for p in sorted((HERE / name / "plans").glob("*.json"))}
    files["pareto.json"] = json.loads((HERE / name / "pareto.json").read_text())
    return files


def comparable(pareto: dict) -> dict:
    """A pareto.json without what may differ between equal searches (timing, cache statistics, model path)."""
    out = json.loads(json.dumps(pareto))
    out.pop("model", None)
    for key in VOLATILE:
        out["search"].pop(key, None)
    return out


def outputs(out: Path) -> dict:
    """{relative path: bytes} of the plans a search wrote, and its pareto.json made comparable."""
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "plans").glob("*.json"))}
    files["pareto.json"] = comparable(json.loads((out / "pareto.json").read_text()))
    return files


def write():
    import tempfile

    for name in CONFIGS:
        with tempfile.TemporaryDirectory() as tmp:
            run_config(name, Path(tmp) / name)
            dest = HERE / name
            shutil.rmtree(dest, ignore_errors=True)
            (dest / "plans").mkdir(parents=True)
            for p in (Path(tmp) / name / "plans").glob("*.json"):
                shutil.copyfile(p, dest / "plans" / p.name)
            pareto = comparable(json.loads((Path(tmp) / name / "pareto.json").read_text()))
            (dest / "pareto.json").write_text(json.dumps(pareto, indent=1, sort_keys=True) + "\n")
        print(f"recorded {dest}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    write()
