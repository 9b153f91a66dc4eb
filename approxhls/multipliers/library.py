"""Changing the user's multiplier library: add one design, import a whole library, remove one.

Each design is built and proven (:mod:`approxhls.multipliers.user`), characterized (:mod:`approxhls.multipliers.
catalog`), and only then stored together with its catalog entry, under the home's lock: a design that fails any
step (a check, a compiler, a deadline, a corrupt catalog) leaves nothing behind, so trying again never finds it
"exists". A bulk import reports every file that failed, and why, and goes on with the others.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from approxhls.errors import ApproxHLSError
from approxhls.multipliers import catalog, user
from approxhls.multipliers.builtin import reserved_reason
from approxhls.multipliers.user import C_SUFFIXES, TABLE_SUFFIXES, VERILOG_SUFFIXES, Sources, TableDesign
from approxhls.toolrun import require

# What one design of a bulk import may raise without stopping the others: refusals, tool failures and deadlines
# (ApproxHLSError), unreadable files, and numbers or text that are not what they should be.
ITEM_ERRORS = (ApproxHLSError, OSError, ValueError, EOFError)


def add_multiplier(path, name: str | None = None, signed: bool | None = None, function: str | None = None,
                   verilog=None, a_param: str | None = None, force: bool = False,
                   with_synthesis: bool = True) -> TableDesign:
    """Add a C model, a table or a Verilog circuit (optionally a C model with ``verilog``) under ``name``:
    built, proven, characterized (synthesized where it has a circuit, unless ``with_synthesis`` is false), stored."""
    path = Path(path)
    sources = user.sources_of(path, Path(verilog) if verilog else None)
    name = user.check_user_name(name or user.default_name(path, function))
    user.check_free(name, force)  # before the work, and again when storing
    catalog.check_user_catalog()
    design = user.build_design(sources, name, signed, function, a_param)
    _store(design, catalog.fresh_entry(design, with_synthesis), force)
    return design


def _store(design: TableDesign, entry: dict, force: bool) -> None:
    """The design and its catalog entry, both or neither."""
    with user.storing(design, force):
        catalog.record([entry])


def remove_multiplier(name: str) -> Path:
    """Delete one user design and its catalog entries."""
    with user.removing(name) as target:
        catalog.forget(name)
    return target


# ---- bulk import ------------------------------------------------------------------------------------------------

@dataclass
class ImportItem:
    name: str | None
    sources: Sources
    status: str = "pending"      # added / unchanged / skipped / refused
    reason: str = ""
    seconds: dict = field(default_factory=dict)  # "build" (and prove), "characterize": where its time went
    design: TableDesign | None = field(default=None, repr=False)
    entry: dict | None = field(default=None, repr=False)  # its catalog entry, with costs relative to exact

    def refuse(self, reason: str) -> None:
        self.status, self.reason = "refused", reason


def collect(paths) -> list[ImportItem]:
    """Import items from files and directories: a .c (or table) with the .v of the same stem beside it is one
    design; a .v named like another design's stem plus a suffix (e.g. X_pdk45.v) is a variant of it, skipped."""
    by_dir: dict[Path, dict[str, dict[str, Path]]] = {}
    for f in _files(paths):
        kind = "c" if f.suffix in C_SUFFIXES else "table" if f.suffix in TABLE_SUFFIXES else "verilog"
        by_dir.setdefault(f.parent, {}).setdefault(f.stem, {})[kind] = f
    items = []
    for stems in by_dir.values():
        primaries = {s for s, k in stems.items() if "c" in k or "table" in k}
        for stem, kinds in sorted(stems.items()):
            items.append(_item(stem, kinds, primaries))
    return items


def _files(paths) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in C_SUFFIXES + TABLE_SUFFIXES
                            + VERILOG_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise ApproxHLSError(f"{p} does not exist")
    return files


def _item(stem: str, kinds: dict[str, Path], primaries: set[str]) -> ImportItem:
    src = Sources(kinds.get("c"), kinds.get("table"), kinds.get("verilog"))
    if set(kinds) == {"verilog"}:
        base = next((p for p in primaries if stem.startswith(p + "_")), None)
        if base is not None:
            return ImportItem(stem, src, "skipped", f"a variant of {base} ({base}.v is its circuit)")
    item = ImportItem(None, src)
    try:
        item.name = user.default_name(src.primary(), None)
    except ITEM_ERRORS as e:
        item.refuse(_one_line(e))
    return item


def import_library(paths, signed: bool | None = None, jobs: int = 2, force: bool = False, progress: bool = True,
                   with_synthesis: bool = True) -> list[ImportItem]:
    """Import every design under ``paths`` (parallel, with a progress bar); each item says what happened."""
    from tqdm.auto import tqdm

    items = collect(paths)
    todo = _deduplicate(items)
    _require_tools(todo, with_synthesis)
    catalog.check_user_catalog()
    existing = {d.name: d.key for d in user.user_designs()}
    pool = ThreadPoolExecutor(max(1, jobs))
    try:
        futures = [pool.submit(_import_one, it, signed, force, with_synthesis, existing) for it in todo]
        with tqdm(total=len(todo), desc="importing", unit="design", disable=not progress or not todo) as bar:
            for future in as_completed(futures):
                bar.set_postfix_str(future.result().name or "")
                bar.update(1)
    finally:
        pool.shutdown(cancel_futures=True)  # Ctrl-C: the designs under way finish (each whole), no new one starts
    _relative_costs([it for it in items if it.entry is not None])
    return items


def _deduplicate(items: list[ImportItem]) -> list[ImportItem]:
    """The items to import: reserved names refused, repeated names skipped (same design) or refused (another)."""
    seen: dict[str, ImportItem] = {}
    for it in items:
        if it.status != "pending":
            continue
        why = reserved_reason(it.name)
        if why:
            it.refuse(f"name {it.name!r} is reserved: {why}; rename the file or add it alone with --name")
        elif it.name in seen:
            first = seen[it.name]
            try:
                same = user.sources_digest(first.sources) == user.sources_digest(it.sources)
            except OSError as e:
                it.refuse(_one_line(e))
                continue
            it.status = "skipped" if same else "refused"
            it.reason = (f"the same design as {first.sources.primary()}" if same
                         else f"name {it.name} is taken by {first.sources.primary()}")
        else:
            seen[it.name] = it
    return list(seen.values())


def _require_tools(items: list[ImportItem], with_synthesis: bool) -> None:
    """A missing tool stops the import before any work (instead of refusing every design for the same reason)."""
    require("g++")
    if any(it.sources.verilog for it in items):
        require("iverilog")
        require("vvp", "iverilog")
        if with_synthesis:
            require("yosys")


def _import_one(it: ImportItem, signed: bool | None, force: bool, with_synthesis: bool,
                existing: dict[str, str]) -> ImportItem:
    t0 = time.perf_counter()
    try:
        d = user.build_design(it.sources, it.name, signed)
        t1 = it.seconds["build"] = time.perf_counter() - t0
        entry = catalog.fresh_entry(d, with_synthesis)
        it.seconds["characterize"] = time.perf_counter() - t0 - t1
        if existing.get(it.name) == d.key:
            catalog.record([entry])
            it.status = "unchanged"
        elif it.name in existing and not force:
            it.refuse(f"a different user multiplier {it.name} exists (pass --force to replace)")
        else:
            _store(d, entry, force)
            it.status = "added"
        if it.status != "refused":
            it.design, it.entry = d, entry
    except ITEM_ERRORS as e:
        it.refuse(_one_line(e))
    it.seconds["total"] = time.perf_counter() - t0
    return it


def _relative_costs(items: list[ImportItem]) -> None:
    refs = catalog.reference_entries()
    for it in items:
        it.entry = catalog.with_relative_costs(it.entry, refs[it.entry["signed"]])


def _one_line(e: Exception) -> str:
    text = str(e).strip() or type(e).__name__
    lines = text.splitlines()
    more = f" {lines[1].strip()}" if len(lines) > 1 and lines[0].endswith(":") else ""
    return (lines[0] + more)[:400]
