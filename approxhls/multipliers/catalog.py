"""The characterization catalog: per design (keyed by its definition), error metrics and FPGA cost.

Two files are read: the catalog shipped with approxhls (``catalog.json`` beside this module, made by
``approxhls multipliers characterize`` for the built-in designs) and the user's own
(``$APPROXHLS_HOME/catalog.json``), which takes precedence and receives every new characterization.
An entry is reused only while its key, a digest of the design's definition and generated sources,
matches: changing a generator invalidates its entries.

The user catalog is written atomically (a temporary file renamed over it) and the previous version is kept
as ``catalog.json.bak``; a catalog that cannot be parsed is refused with its path and the fix, never ignored
and overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from approxhls.errors import ApproxHLSError
from approxhls.multipliers.design import Design
from approxhls.multipliers.metrics import error_metrics
from approxhls.multipliers.registry import (
    EXACT_REFERENCE,
    EXACT_REFERENCE_SIGNED,
    all_designs,
)
from approxhls.multipliers.user import home

SHIPPED = Path(__file__).with_name("catalog.json")


def user_catalog_path() -> Path:
    return home() / "catalog.json"


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        entries = data["entries"]
        if not isinstance(entries, dict):
            raise TypeError("'entries' is not an object")
        return entries
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as e:
        backup = path.with_name(path.name + ".bak")
        fix = (f"restore the previous version ({backup}) or delete the file" if backup.exists()
               else "delete it") + " (characterizations are recomputed on demand)"
        raise ApproxHLSError(f"the multiplier catalog {path} is corrupt ({type(e).__name__}: {e}); {fix}") from None


def load_entries() -> dict[str, dict]:
    """key -> entry, user catalog over shipped catalog."""
    return _read(SHIPPED) | _read(user_catalog_path())


def _write(path: Path, entries: dict) -> None:
    """Atomic: a complete temporary file replaces the catalog; the previous catalog becomes catalog.json.bak."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        fh.write(json.dumps({"entries": dict(sorted(entries.items()))}, indent=1))
        fh.flush()
        os.fsync(fh.fileno())
    if path.exists():
        shutil.copy2(path, path.with_name(path.name + ".bak"))
    tmp.replace(path)


def forget(name: str) -> int:
    """Drop a removed user design's entries from the user catalog; returns how many."""
    path = user_catalog_path()
    entries = _read(path)
    keep = {k: e for k, e in entries.items() if not (e.get("name") == name and e.get("family") == "user")}
    if len(keep) != len(entries):
        _write(path, keep)
    return len(entries) - len(keep)


def characterize_design(design: Design, with_synthesis: bool = True) -> dict:
    """Error metrics always; LUTs, DSPs and the switching-energy proxy when the design has Verilog."""
    from approxhls.multipliers.synth import switching_energy, synthesize, yosys_version

    entry = design.summary() | {"description": design.description}
    definition = design.definition()
    entry |= {k: definition[k] for k in ("source_digest", "verilog_digest", "table_digest") if definition.get(k)}
    entry["metrics"] = error_metrics(design.table(), design.exact_table(), design.bits)
    entry["cost"] = None
    if with_synthesis and design.verilog():
        s = synthesize(design)
        e = switching_energy(design, s.pop("netlist"))
        entry["cost"] = s | e | {"yosys": yosys_version()}
    elif not design.verilog():
        entry["cost_note"] = "no circuit known for this design (user model): error metrics only"
    return entry


def with_relative_costs(entry: dict, reference: dict | None) -> dict:
    """The entry plus its cost relative to the exact 8x8 multiplier of its signedness (1.0 = same)."""
    e = dict(entry)
    c, r = e.get("cost"), (reference or {}).get("cost")
    e["rel_luts"] = c["luts"] / r["luts"] if c and r else None
    e["rel_energy"] = c["toggles_per_op"] / r["toggles_per_op"] if c and r else None
    return e


def characterize(designs: list[Design] | None = None, force: bool = False, jobs: int = 2,
                 progress: bool = True, with_synthesis: bool = True) -> list[dict]:
    """One entry per design (cached by key), with costs relative to the exact 8x8 multiplier.

    Without ``with_synthesis`` only missing error metrics are computed (fast); cached costs are kept.
    """
    from tqdm.auto import tqdm

    from approxhls.multipliers.registry import get_design

    designs = list(designs) if designs is not None else all_designs()
    references = {False: get_design(EXACT_REFERENCE), True: get_design(EXACT_REFERENCE_SIGNED)}
    cached = {} if force else load_entries()

    def stale(d: Design) -> bool:
        return d.key not in cached or bool(with_synthesis and d.verilog() and not cached[d.key].get("cost"))

    todo = [d for d in designs if stale(d)]
    for reference in references.values():
        if with_synthesis and stale(reference) and all(d.name != reference.name for d in todo):
            todo.append(reference)
    if any(d.verilog() for d in todo) and with_synthesis:
        from approxhls.multipliers.synth import yosys_path

        yosys_path()  # fail early, with the install hint, before any work
    user = _read(user_catalog_path())
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
            tqdm(total=len(todo), desc="characterizing", unit="design", disable=not progress or not todo) as bar:
        for entry in pool.map(lambda d: characterize_design(d, with_synthesis), todo):
            user[entry["key"]] = entry
            cached[entry["key"]] = entry
            _write(user_catalog_path(), user)  # after each design: an interrupted run keeps its work
            bar.set_postfix_str(entry["name"])
            bar.update(1)
    return [with_relative_costs(cached[d.key], cached.get(references[d.signed].key)) for d in designs]
