"""The characterization catalog: per design (keyed by its definition), error metrics and FPGA cost.

Two files are read: the catalog shipped with approxhls (``catalog.json`` beside this module, made by
``approxhls multipliers characterize`` for the built-in designs) and the user's own
(``$APPROXHLS_HOME/catalog.json``), which takes precedence and receives every new characterization.
An entry is reused only while its key, a digest of the design's definition and generated sources,
matches: changing a generator invalidates its entries.

The user catalog holds one entry per design name, the entry of the design that has that name now: an entry
computed for a design that was replaced or removed meanwhile is not recorded. It is changed only under the
home's lock (read, modify, write: concurrent commands lose nothing), written atomically (a temporary file
renamed over it), and the previous version is kept as ``catalog.json.bak``; a catalog that cannot be parsed is
refused with its path and the fix, never ignored and overwritten.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from approxhls.errors import ApproxHLSError
from approxhls.home import home, home_lock
from approxhls.multipliers.design import Design
from approxhls.multipliers.metrics import error_metrics
from approxhls.multipliers.registry import all_designs, builtin_by_name, current_key, exact_reference

SHIPPED = Path(__file__).with_name("catalog.json")


def user_catalog_path() -> Path:
    return home() / "catalog.json"


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        entries = json.loads(path.read_text())["entries"]
        _check_entries(entries)
        return entries
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as e:
        backup = path.with_name(path.name + ".bak")
        fix = (f"restore the previous version ({backup}) or delete the file" if backup.exists()
               else "delete it") + " (characterizations are recomputed on demand)"
        raise ApproxHLSError(f"the multiplier catalog {path} is corrupt ({type(e).__name__}: {e}); {fix}") from None


def _check_entries(entries) -> None:
    """Every entry an object filed under its own key, with the fields every reader uses."""
    if not isinstance(entries, dict):
        raise TypeError("'entries' is not an object")
    for key, e in entries.items():
        if not isinstance(e, dict) or e.get("key") != key:
            raise ValueError(f"entry {key!r} is not an object filed under its key")
        if not isinstance(e.get("name"), str) or not isinstance(e.get("metrics"), dict) \
                or not isinstance(e.get("cost"), (dict, type(None))):
            raise ValueError(f"entry {key!r} lacks a name, metrics or cost")


def load_entries() -> dict[str, dict]:
    """key -> entry, user catalog over shipped catalog."""
    return _read(SHIPPED) | _read(user_catalog_path())


def check_user_catalog() -> None:
    """Raise (naming the file and the fix) when the user catalog cannot be read: before work that would store."""
    _read(user_catalog_path())


def _write(path: Path, entries: dict) -> None:
    """Atomic: a complete temporary file replaces the catalog; the previous catalog becomes catalog.json.bak."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        _replace(path.with_name(path.name + ".bak"), path.read_bytes())
    _replace(path, json.dumps({"entries": dict(sorted(entries.items()))}, indent=1).encode())


def _replace(path: Path, data: bytes) -> None:
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644  # mkstemp's own is 0600
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record(entries: list[dict]) -> int:
    """Merge ``entries`` into the user catalog; returns how many were recorded.

    An entry is recorded only while its design is the one with that name (a design replaced or removed since it
    was characterized is not), and replaces every other entry of that name."""
    with home_lock():
        path = user_catalog_path()
        stored = _read(path)
        fresh = [e for e in entries if current_key(e["name"]) == e["key"]]
        names = {e["name"] for e in fresh}
        if fresh:
            stored = {k: e for k, e in stored.items() if e["name"] not in names} | {e["key"]: e for e in fresh}
            _write(path, stored)
        return len(fresh)


def forget(name: str) -> int:
    """Drop the entries of a user design (being removed) from the user catalog; returns how many."""
    with home_lock():
        path = user_catalog_path()
        entries = _read(path)
        keep = {k: e for k, e in entries.items() if not (e["name"] == name and e.get("family") == "user")}
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


def fresh_entry(design: Design, with_synthesis: bool = True) -> dict:
    """The design's entry: the catalog's while it holds a complete one, else computed (and not recorded)."""
    known = load_entries()
    return characterize_design(design, with_synthesis) if _stale([design], known, with_synthesis) \
        else known[design.key]


def with_relative_costs(entry: dict, reference: dict | None) -> dict:
    """The entry plus its cost relative to the exact 8x8 multiplier of its signedness (1.0 = same)."""
    e = dict(entry)
    c, r = e.get("cost"), (reference or {}).get("cost")
    e["rel_luts"] = c["luts"] / r["luts"] if c and r else None
    e["rel_energy"] = c["toggles_per_op"] / r["toggles_per_op"] if c and r else None
    return e


def reference_entries() -> dict[bool, dict | None]:
    """The catalog's entries of the exact 8x8 designs (unsigned: False, signed: True) that costs are relative to."""
    known = load_entries()
    return {signed: known.get(builtin_by_name()[exact_reference(signed)].key) for signed in (False, True)}


def characterize(designs: list[Design] | None = None, force: bool = False, jobs: int = 2,
                 progress: bool = True, with_synthesis: bool = True) -> list[dict]:
    """One entry per design (cached by key), with costs relative to the exact 8x8 multiplier.

    Without ``with_synthesis`` only missing error metrics are computed (fast); cached costs are kept.
    """
    designs = list(designs) if designs is not None else all_designs()
    references = {signed: builtin_by_name()[exact_reference(signed)] for signed in (False, True)}
    known = load_entries()  # refuses a corrupt user catalog before any work
    cached = {} if force else known
    todo = _stale(designs + [r for r in references.values() if with_synthesis], cached, with_synthesis)
    if with_synthesis and any(d.verilog() for d in todo):
        from approxhls.multipliers.synth import yosys_path

        yosys_path()  # fail early, with the install hint, before any work
    for entry in _computed(todo, with_synthesis, jobs, progress):
        cached[entry["key"]] = entry
        record([entry])  # after each design: an interrupted run keeps its work
    return [with_relative_costs(cached[d.key], cached.get(references[d.signed].key)) for d in designs]


def _stale(designs: list[Design], cached: dict, with_synthesis: bool) -> list[Design]:
    """The designs (each once) whose entry is missing, or lacks a cost that synthesis would give."""
    todo: dict[str, Design] = {}
    for d in designs:
        entry = cached.get(d.key)
        if entry is None or (with_synthesis and d.verilog() and not entry.get("cost")):
            todo.setdefault(d.key, d)
    return list(todo.values())


def _computed(todo: list[Design], with_synthesis: bool, jobs: int, progress: bool):
    """Entries of ``todo`` as they are computed (``jobs`` in parallel, with a progress bar)."""
    from tqdm.auto import tqdm

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
            tqdm(total=len(todo), desc="characterizing", unit="design", disable=not progress or not todo) as bar:
        for entry in pool.map(lambda d: characterize_design(d, with_synthesis), todo):
            bar.set_postfix_str(entry["name"])
            bar.update(1)
            yield entry
