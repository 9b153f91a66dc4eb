"""Multipliers a user brings: C models (any integer signature), their Verilog circuits, tables; one or a library.

A design comes from a C model (:mod:`approxhls.multipliers.cmodel`), a 256x256 table (.npy/.csv), a Verilog
circuit (:mod:`approxhls.multipliers.circuit`), or a C model with its circuit. Whatever is given is proven
equal before anything is stored: the C model and the table over all 65,536 operand pairs, the Verilog by
exhaustive Icarus simulation against them, and the C++ that goes into HLS kernels by g++ against them. A
design with a circuit is then priced exactly like a built-in one (Yosys LUTs, energy proxy) and can be searched.

Designs live in ``$APPROXHLS_HOME/multipliers/NAME`` (default ``~/.approxhls``). Names are C identifiers,
checked before any path is formed; removal works only on a real directory directly inside that folder.
Nothing is stored when any check fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError, InvalidNameError
from approxhls.fsutil import atomic_directory
from approxhls.multipliers import cmodel
from approxhls.multipliers.circuit import Ports, read_ports, wrapper_module
from approxhls.multipliers.design import Design
from approxhls.names import check_identifier

DESIGN_JSON = "design.json"
C_SUFFIXES = (".c", ".h")
TABLE_SUFFIXES = (".npy", ".csv")
VERILOG_SUFFIXES = (".v",)


def home() -> Path:
    return Path(os.environ.get("APPROXHLS_HOME", Path.home() / ".approxhls"))


def user_dir() -> Path:
    return home() / "multipliers"


def design_dir(name: str) -> Path:
    """The storage directory of a user design; the name is validated before it becomes a path."""
    check_identifier(name, "multiplier name")
    return user_dir() / name


class TableDesign(Design):
    """A design given by its table, with the C source it came from and its circuit where they exist."""

    family = "user"
    description = "user-supplied multiplier"

    def __init__(self, name: str, table: np.ndarray, signed: bool, source: str | None = None,
                 interface: cmodel.Interface | None = None, verilog_source: str | None = None,
                 ports: Ports | None = None, origin: str = "", notes: tuple[str, ...] = ()):
        super().__init__(bits=8, signed=signed)
        self._name = name
        self._user_table = np.asarray(table, dtype=np.int64)
        self.source, self.interface = source, interface
        self.verilog_text, self.ports = verilog_source, ports
        self.origin, self.notes = origin, tuple(notes)
        kinds = [k for k, v in (("C model", source), ("table", source is None and verilog_source is None),
                                ("Verilog circuit", verilog_source)) if v]
        self.description = f"user-supplied multiplier ({' + '.join(kinds)} from {origin or 'user'})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def function(self) -> str | None:
        return self.interface.function if self.interface else None

    def definition(self) -> dict:
        d = super().definition()
        d["table_digest"] = hashlib.sha256(self._user_table.tobytes()).hexdigest()
        d["source_digest"] = cmodel.source_digest(self.source) if self.source is not None else None
        d["verilog_digest"] = cmodel.source_digest(self.verilog_text) if self.verilog_text is not None else None
        return d

    def model(self, a, b):
        mask = (1 << self.bits) - 1
        return self._user_table[np.asarray(a, dtype=np.int64) & mask, np.asarray(b, dtype=np.int64) & mask]

    def cpp(self) -> str:
        if self.source is not None:
            i = self.interface
            call = f"{i.function}({i.arg_expr(0, 'a', 'b')}, {i.arg_expr(1, 'a', 'b')})"
            # unchanged, but a main() of its own (a self-test) is renamed so it cannot clash with a testbench's
            return (f"// user C model {self.origin}, included unchanged ({i.how})\n#define main {self._name}_user_main\n"
                    f"{self.source.rstrip()}\n#undef main\n"
                    f"{self.signature()} {{\n    return {i.result_expr(call, self.ctype)};\n}}\n")
        ctype = "int16_t" if self.signed else "uint16_t"
        rows = ",\n".join(
            "    " + ", ".join(str(int(v)) for v in self._user_table.reshape(-1)[i : i + 32])
            for i in range(0, 65536, 32)
        )
        return (
            f"static const {ctype} {self._name}_table[65536] = {{\n{rows}\n}};\n"
            f"{self.signature()} {{\n"
            f"    return {self._name}_table[((a & 0xff) << 8) | (b & 0xff)];\n"
            f"}}\n"
        )

    @property
    def verilog_top(self) -> str:
        return f"{self._name}_approxhls" if self.verilog_text is not None else self._name

    @property
    def verilog_out_bits(self) -> int:
        return self.ports.out_bits if self.ports is not None else self.out_bits

    def verilog(self) -> str:
        if self.verilog_text is None:
            return ""  # no circuit: characterization reports error metrics only
        return f"{self.verilog_text.rstrip()}\n\n// approxhls wrapper\n{wrapper_module(self.verilog_top, self.ports, self.signed)}"


# ---- building a design from files (nothing stored) -------------------------------------------------------------

def validate_table(t: np.ndarray, signed: bool, what: str) -> np.ndarray:
    t = np.asarray(t)
    if t.shape != (256, 256):
        raise ApproxHLSError(f"{what}: a multiplier table must be 256x256, got shape {t.shape}")
    if not np.issubdtype(t.dtype, np.number):
        raise ApproxHLSError(f"{what}: table entries must be integers, got dtype {t.dtype}")
    tf = t.astype(np.float64)
    bad = ~np.isfinite(tf) | (tf != np.round(tf))
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        raise ApproxHLSError(f"{what}: entry [{r},{c}] = {t[r, c]!r} is not an integer")
    lo, hi = (-32768, 32767) if signed else (0, 65535)
    out = (tf < lo) | (tf > hi)
    if out.any():
        r, c = map(int, np.argwhere(out)[0])
        kind = "signed 16-bit" if signed else "unsigned 16-bit"
        raise ApproxHLSError(f"{what}: entry [{r},{c}] = {int(tf[r, c])} is outside the {kind} range [{lo}, {hi}]"
                             + ("" if signed else "; if the model takes two's complement operands, pass --signed"))
    return tf.astype(np.int64)


def _read_table(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except ValueError as e:
            raise ApproxHLSError(f"{path}: not a numpy table ({e})") from None
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as e:
        raise ApproxHLSError(f"{path}: not a table of numbers ({e})") from None


def _signed_from_name(text: str) -> bool | None:
    import re

    m = re.search(r"mul\d+([su])", text, re.I)
    return None if m is None else m.group(1).lower() == "s"


@dataclass
class Sources:
    """What a design is made from: a C model and/or a table and/or a Verilog circuit."""

    c: Path | None = None
    table: Path | None = None
    verilog: Path | None = None

    def primary(self) -> Path:
        return self.c or self.table or self.verilog

    def describe(self) -> str:
        return " + ".join(p.name for p in (self.c, self.table, self.verilog) if p is not None)


def build_design(sources: Sources, name: str, signed: bool | None = None, function: str | None = None,
                 a_param: str | None = None, check_cpp: bool = True) -> TableDesign:
    """A design from its files, every view proven equal to the others; raises naming the first difference."""
    from approxhls.multipliers.sim import (
        first_difference,
        tabulate_cpp,
        tabulate_verilog,
    )

    check_identifier(name, "multiplier name")
    source = iface = table = vtext = ports = None
    notes = []
    if sources.c is not None:
        source = sources.c.read_text(errors="replace")
        fn = cmodel.choose_function(source, sources.c, function, name)
        iface = cmodel.infer_interface(fn, signed, a_param)
        signed = iface.signed
        notes.append(f"C model {fn.name}(): {iface.how}")
        table = validate_table(cmodel.tabulate(sources.c, iface), signed, f"{sources.c} ({fn.name})")
    if sources.table is not None:
        if signed is None:
            signed = bool(_signed_from_name(sources.table.stem))
        t = validate_table(_read_table(sources.table), signed, str(sources.table))
        if table is not None and not np.array_equal(t, table):
            i, j = map(int, np.argwhere(t != table)[0])
            raise ApproxHLSError(f"{sources.table} differs from the C model at a={i}, b={j} (bit patterns): "
                                 f"{int(t[i, j])} vs {int(table[i, j])}")
        table = t
    if sources.verilog is not None:
        vtext = sources.verilog.read_text(errors="replace")
        names = (iface.params[iface.a_param].name, iface.params[1 - iface.a_param].name) if iface else None
        ports = read_ports(vtext, sources.verilog, name=function or (iface.function if iface else sources.verilog.stem),
                           operand_names=names)
        if f"module {name}_approxhls" in vtext:
            raise ApproxHLSError(f"{sources.verilog} defines {name}_approxhls, the name of approxhls' wrapper; rename it")
        if signed is None:
            hint = _signed_from_name(ports.top)
            signed = bool(hint)
            notes.append(f"{'signed' if signed else 'unsigned'} ("
                         f"{'module name ' + ports.top if hint is not None else 'assumed; pass --signed if not'})")
        notes.append(f"circuit {sources.verilog.name}: {ports.how}")
        probe = TableDesign(name, table if table is not None else np.zeros((256, 256), np.int64), signed,
                            verilog_source=vtext, ports=ports)
        simulated = tabulate_verilog(probe)
        if table is None:
            table = validate_table(simulated, signed, f"{sources.verilog} (simulated)")
        else:
            diff = first_difference(table, simulated, probe)
            if diff:
                raise ApproxHLSError(f"{sources.verilog} does not compute what {sources.c or sources.table} does: {diff} "
                                     f"(expected = C model/table, got = Verilog; operands as bit patterns)")
            notes.append(f"proven: {sources.verilog.name} (Icarus) == {(sources.c or sources.table).name} on all "
                         f"65,536 operand pairs")
        if probe.out_bits > ports.out_bits:
            raise ApproxHLSError(f"{sources.verilog}: output {ports.out} has {ports.out_bits} bits, the products need "
                                 f"{probe.out_bits}")
    if table is None:
        raise ApproxHLSError(f"{sources.primary()}: give a C model (.c), a 256x256 table (.npy/.csv) or a Verilog "
                             f"circuit (.v)")
    if check_cpp:
        probe = TableDesign(name, table, bool(signed), source, iface, vtext, ports, sources.describe())
        diff = first_difference(table, tabulate_cpp([probe], ("-w",))[name], probe)  # library code warns; fine
        if diff:
            raise ApproxHLSError(f"the HLS C++ of {sources.describe()} differs from its model: {diff}")
        notes.append("proven: the HLS C++ (g++) == the model on all 65,536 operand pairs")
    return TableDesign(name, table, bool(signed), source, iface, vtext, ports, sources.describe(), tuple(notes))


# ---- storage ------------------------------------------------------------------------------------------------------

def _store(design: TableDesign) -> None:
    with atomic_directory(design_dir(design.name)) as tmp:
        np.save(tmp / "table.npy", design._user_table)
        if design.source is not None:
            (tmp / "source.c").write_text(design.source)
        if design.verilog_text is not None:
            (tmp / "circuit.v").write_text(design.verilog_text)
        meta = {"name": design.name, "signed": design.signed, "origin": design.origin, "notes": list(design.notes),
                "interface": design.interface.to_json() if design.interface else None,
                "ports": design.ports.to_json() if design.ports else None,
                "source_digest": design.definition()["source_digest"]}
        (tmp / DESIGN_JSON).write_text(json.dumps(meta, indent=2))


def _load(d: Path) -> TableDesign:
    meta = json.loads((d / DESIGN_JSON).read_text())
    src = (d / "source.c").read_text() if (d / "source.c").exists() else None
    vtext = (d / "circuit.v").read_text() if (d / "circuit.v").exists() else None
    iface = None
    if meta.get("interface"):
        iface = cmodel.Interface.from_json(meta["interface"])
    elif src is not None:  # stored before interfaces were recorded: uint16_t f(uint8_t, uint8_t)
        fn = cmodel.choose_function(src, d / "source.c", meta.get("function"))
        iface = cmodel.infer_interface(fn, meta["signed"])
    ports = Ports(**meta["ports"]) if meta.get("ports") else None
    return TableDesign(meta["name"], np.load(d / "table.npy"), meta["signed"], src, iface, vtext, ports,
                       meta.get("origin", ""), tuple(meta.get("notes", ())))


def user_designs() -> list[TableDesign]:
    out = []
    root = user_dir()
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir()):
        if d.name.startswith(".") or d.is_symlink() or not (d / DESIGN_JSON).is_file():
            continue
        try:
            out.append(_load(d))
        except (OSError, ValueError, KeyError, TypeError, ApproxHLSError) as e:
            warnings.warn(f"user multiplier {d} is unreadable ({type(e).__name__}: {e}); remove it with "
                          f"`approxhls multipliers remove {d.name}` and add it again", stacklevel=2)
    return out


def _refuse_builtin(name: str, why: str = "choose another name") -> None:
    from approxhls.multipliers.registry import builtin_designs

    if any(d.name == name for d in builtin_designs()):
        raise ApproxHLSError(f"{name!r} is a built-in multiplier; {why}")


def add_multiplier(path, name: str | None = None, signed: bool | None = None, function: str | None = None,
                   verilog=None, a_param: str | None = None, force: bool = False) -> TableDesign:
    """Add a C model, a table or a Verilog circuit (optionally a C model with ``verilog``) under ``name``."""
    path = Path(path)
    if not path.is_file():
        raise ApproxHLSError(f"{path} does not exist or is not a file")
    sources = _sources_of(path, Path(verilog) if verilog else None)
    name = name or _default_name(path, function)
    check_identifier(name, "multiplier name")
    _refuse_builtin(name)
    if design_dir(name).exists() and not force:
        raise ApproxHLSError(f"a user multiplier named {name!r} exists; pass --force to replace it, or choose --name")
    design = build_design(sources, name, signed, function, a_param)
    _store(design)
    return design


def _sources_of(path: Path, verilog: Path | None) -> Sources:
    if verilog is not None and not verilog.is_file():
        raise ApproxHLSError(f"{verilog} does not exist or is not a file")
    if path.suffix in C_SUFFIXES:
        return Sources(c=path, verilog=verilog)
    if path.suffix in TABLE_SUFFIXES:
        return Sources(table=path, verilog=verilog)
    if path.suffix in VERILOG_SUFFIXES and verilog is None:
        return Sources(verilog=path)
    raise ApproxHLSError(f"{path}: give a C model (.c), a 256x256 table (.npy or .csv) or a Verilog circuit (.v)")


def _default_name(path: Path, function: str | None) -> str:
    """The function's name, else the file's stem (each must be a C identifier)."""
    if function:
        return function
    if path.suffix in C_SUFFIXES:
        funcs = cmodel.find_functions(path.read_text(errors="replace"))
        if len(funcs) == 1:
            return funcs[0].name
    stem = path.stem
    try:
        return check_identifier(stem, "multiplier name")
    except InvalidNameError:
        raise InvalidNameError(f"{path.name}: its name {stem!r} is not a C identifier; pass --name") from None


def remove_multiplier(name: str) -> Path:
    """Delete one user design; refuses anything that is not a design directory directly in the user folder."""
    target = design_dir(name)  # validates the name first: no '..', '/', absolute paths
    _refuse_builtin(name, "only user-added designs can be removed")
    root = user_dir().resolve()
    if target.is_symlink() or not target.is_dir() or target.resolve().parent != root \
            or not (target / DESIGN_JSON).is_file():
        raise ApproxHLSError(f"no user multiplier named {name!r} in {user_dir()} "
                             f"(`approxhls multipliers list` shows the user designs)")
    shutil.rmtree(target.resolve())
    from approxhls.multipliers.catalog import forget

    forget(name)
    return target


# ---- bulk import ------------------------------------------------------------------------------------------------------

@dataclass
class ImportItem:
    name: str | None
    sources: Sources
    status: str = "pending"      # added / unchanged / refused / skipped
    reason: str = ""
    design: TableDesign | None = field(default=None, repr=False)

    def row(self) -> dict:
        d = self.design
        return {"name": self.name, "files": self.sources.describe(), "status": self.status,
                "signed": d.signed if d else None, "circuit": bool(d and d.verilog_text), "reason": self.reason}


def collect(paths) -> list[ImportItem]:
    """Import items from files and directories: a .c (or table) with the .v of the same stem beside it is one
    design; a .v named like another design's stem plus a suffix (e.g. X_pdk45.v) is a variant of it, skipped."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in C_SUFFIXES + TABLE_SUFFIXES
                            + VERILOG_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise ApproxHLSError(f"{p} does not exist")
    by_dir: dict[Path, dict[str, dict[str, Path]]] = {}
    for f in files:
        kind = "c" if f.suffix in C_SUFFIXES else "table" if f.suffix in TABLE_SUFFIXES else "verilog"
        by_dir.setdefault(f.parent, {}).setdefault(f.stem, {})[kind] = f
    items = []
    for stems in by_dir.values():
        primaries = {s for s, k in stems.items() if "c" in k or "table" in k}
        for stem, kinds in sorted(stems.items()):
            src = Sources(kinds.get("c"), kinds.get("table"), kinds.get("verilog"))
            if set(kinds) == {"verilog"}:
                base = next((p for p in primaries if stem.startswith(p + "_")), None)
                if base is not None:
                    items.append(ImportItem(stem, src, "skipped", f"a variant of {base} ({base}.v is its circuit)"))
                    continue
            try:
                name = _default_name(src.primary(), None)
            except ApproxHLSError as e:
                items.append(ImportItem(None, src, "refused", str(e)))
                continue
            items.append(ImportItem(name, src))
    return items


def import_library(paths, signed: bool | None = None, jobs: int = 2, force: bool = False,
                   progress: bool = True) -> list[ImportItem]:
    """Import every design under ``paths`` (parallel, with a progress bar); each item says what happened."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm.auto import tqdm

    from approxhls.multipliers.registry import builtin_designs

    items = collect(paths)
    builtin = {d.name for d in builtin_designs()}
    existing = {d.name: d for d in user_designs()}
    seen: dict[str, ImportItem] = {}
    todo = []
    for it in items:
        if it.status != "pending":
            continue
        if it.name in builtin:
            it.status, it.reason = "refused", f"{it.name} is a built-in multiplier's name"
        elif it.name in seen:
            first = seen[it.name]
            same = _digest(first.sources) == _digest(it.sources)
            it.status = "skipped" if same else "refused"
            it.reason = (f"the same design as {first.sources.primary()}" if same
                         else f"name {it.name} is taken by {first.sources.primary()}")
        else:
            seen[it.name] = it
            todo.append(it)

    def work(it: ImportItem) -> ImportItem:
        try:
            d = build_design(it.sources, it.name, signed)
        except ApproxHLSError as e:
            it.status, it.reason = "refused", str(e).splitlines()[0][:300]
            return it
        old = existing.get(it.name)
        if old is not None and old.key == d.key:
            it.status, it.design = "unchanged", old
        elif old is not None and not force:
            it.status, it.reason = "refused", f"a different user multiplier {it.name} exists (pass --force to replace)"
        else:
            _store(d)
            it.status, it.design = "added", d
        return it

    with ThreadPoolExecutor(max(1, jobs)) as pool, \
            tqdm(total=len(todo), desc="importing", unit="design", disable=not progress or not todo) as bar:
        for future in as_completed([pool.submit(work, it) for it in todo]):
            bar.set_postfix_str(future.result().name or "")
            bar.update(1)
    return items


def _digest(s: Sources) -> str:
    """What a design is, ignoring comments (libraries repeat a circuit in several sets, with other headers)."""
    h = hashlib.sha256()
    for p in (s.c, s.table, s.verilog):
        if p is None:
            h.update(b"-")
        elif p.suffix in TABLE_SUFFIXES:
            h.update(p.read_bytes())
        else:
            h.update(" ".join(cmodel.strip_comments(p.read_text(errors="replace")).split()).encode())
    return h.hexdigest()
