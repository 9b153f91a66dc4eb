"""What a search is asked to do (:class:`SearchOptions`), and the refusal of values and combinations that cannot
work, each naming its command-line flag."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from approxhls.errors import ApproxHLSError


class SearchOptionError(ApproxHLSError):
    """A search option out of range, or options that cannot be combined (a usage error)."""


@dataclass
class SearchOptions:
    dataset: str | None = None
    tiles: int | None = None  # None: hls4ml's dataflow (one multiplier per layer)
    pop: int = 24
    gens: int = 12
    tune: bool = False
    uniform_tuning: bool = False
    calib: int | None = None  # calibration samples (fitness); None: up to DEFAULT_CALIB
    val: int | None = None  # validation samples (choosing points), held out from training where train.json says;
    #                         None: up to DEFAULT_VAL, as many as the split has
    compensate: bool = False  # bias compensation of each approximate layer's expected error
    max_loss: float | None = None  # accuracy loss allowed, as a fraction (0.005 = 0.5 pp)
    objective: str = "energy"  # the cost the front trades against accuracy, and points are chosen by (COSTS)
    with_luts: bool = False  # relative LUTs as a further objective (with objective "energy")
    jobs: int = 1
    scheduler: str | None = None
    seed: int = 0
    reuse_factor: int = 1
    tile_size: int | None = None  # multipliers per tile; None: the largest mapped layer's instances
    test_limit: int | None = None
    candidates: str = "builtin"  # builtin, user, all, or NAME,NAME,...
    weights: str | None = None   # weights file of a model given as JSON
    retrain: int | None = None  # epochs of fine-tuning front points through their multipliers (approxhls.retrain)
    progress: bool = True


DEFAULT_CALIB, DEFAULT_VAL = 1000, 2000
# a cost objective (approxhls.search.problem.COSTS) -> its key in a front point of pareto.json
OBJECTIVES = {"energy": "relative_energy", "luts": "relative_luts"}
# options that change how fast a search runs, not what it finds: a resumed search may change them
RESULT_NEUTRAL = ("jobs", "scheduler", "progress")
FLAGS = {"with_luts": "--luts"}  # the flag of a field where it is not --field-name


def flag(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def _at_least(low: int):
    return lambda v: v is None or (isinstance(v, int) and v >= low), f"must be an integer of at least {low}"


def _loss(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v < 1)


# field -> (valid(value), what a valid value is); None stands for the default wherever it is allowed
RANGES = {
    "pop": _at_least(2), "gens": _at_least(1), "jobs": _at_least(1), "calib": _at_least(1), "val": _at_least(1),
    "tiles": _at_least(1), "tile_size": _at_least(1), "test_limit": _at_least(1), "reuse_factor": _at_least(1),
    "retrain": _at_least(1),
    "seed": (lambda v: isinstance(v, int) and 0 <= v < 2**32, "must be an integer from 0 to 2^32 - 1"),
    "max_loss": (_loss, "must be a finite fraction from 0 to below 1 (0.005 = 0.5 pp)"),
    "objective": (lambda v: v in OBJECTIVES, f"must be one of {', '.join(OBJECTIVES)}"),
}
# (option, the option it needs): a value given without what makes it mean something
NEEDS = [("tile_size", "tiles", "the tile size is that of the tiled accelerator"),
         ("uniform_tuning", "tune", "it says how weights are tuned"),
         ("retrain", "max_loss", "the points retrained and the configuration chosen are those within the allowed "
                                 "loss on validation")]


def check(opts: SearchOptions) -> None:
    """Raises SearchOptionError naming the flag of the first value out of range or combination that cannot work."""
    for name, (valid, what) in RANGES.items():
        value = getattr(opts, name)
        if isinstance(value, bool) or not valid(value):
            raise SearchOptionError(f"{flag(name)} {what} (got {value!r})")
    for name, needed, why in NEEDS:
        if getattr(opts, name) and not getattr(opts, needed):
            raise SearchOptionError(f"{flag(name)} needs {flag(needed)}: {why}")
    if opts.with_luts and opts.objective == "luts":
        raise SearchOptionError(f"{flag('with_luts')} adds LUTs to the energy objective; with "
                                f"{flag('objective')} luts they are the objective already")
    if opts.scheduler and opts.jobs != 1:
        raise SearchOptionError(f"{flag('jobs')} cannot be combined with {flag('scheduler')}: a Dask cluster runs "
                                f"as many evaluations at once as it has workers")


def result_options(opts: SearchOptions) -> dict:
    """The options that decide what a search finds (what a resumed search must repeat)."""
    return {k: v for k, v in asdict(opts).items() if k not in RESULT_NEUTRAL}


def differences(saved: dict, now: dict) -> list[str]:
    """'--flag NOW (was THEN)' for every option whose value differs between two :func:`result_options`."""
    names = [f.name for f in fields(SearchOptions) if f.name in now or f.name in saved]
    return [f"{flag(n)} {now.get(n)!r} (was {saved.get(n)!r})" for n in names if now.get(n) != saved.get(n)]


def cost_objectives(opts: SearchOptions) -> tuple[str, ...]:
    """The cost objectives of the search, the one points are chosen by first."""
    return (opts.objective,) + (("luts",) if opts.with_luts and opts.objective != "luts" else ())
