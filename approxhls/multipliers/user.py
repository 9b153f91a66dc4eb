"""Multipliers a user brings: C models (any integer signature), their Verilog circuits, tables; and their folder.

A design comes from a C model (:mod:`approxhls.multipliers.cmodel`), a 256x256 table (.npy/.csv), a Verilog
circuit (:mod:`approxhls.multipliers.circuit`), or a C model with its circuit. Whatever is given is proven
equal before anything is stored: the C model and the table over all 65,536 operand pairs, the Verilog by
exhaustive Icarus simulation against them, and the C++ that goes into HLS kernels by g++ against them. Every
compiler and simulator run has a deadline (:mod:`approxhls.toolrun`).

Designs live in ``$APPROXHLS_HOME/multipliers/NAME``. Names are C identifiers, checked before any path is
formed; ``exact`` and the built-in designs' names are refused. The folder is changed only under the home's lock
and a design directory is swapped in whole. Adding, importing and removing (with the catalog kept in step) are
:mod:`approxhls.multipliers.library`'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError, InvalidNameError
from approxhls.home import home, home_lock
from approxhls.multipliers import cmodel
from approxhls.multipliers.builtin import reserved_reason
from approxhls.multipliers.circuit import Ports, read_ports, wrapper_module
from approxhls.multipliers.design import Design
from approxhls.names import check_identifier

DESIGN_JSON = "design.json"
C_SUFFIXES = (".c", ".h")
TABLE_SUFFIXES = (".npy", ".csv")
VERILOG_SUFFIXES = (".v",)
_STORE_ERRORS = (OSError, ValueError, KeyError, TypeError, ApproxHLSError)  # what an unreadable design raises


def user_dir() -> Path:
    return home() / "multipliers"


def check_user_name(name: str) -> str:
    """A name a user design may take: a C identifier that is neither ``exact`` nor a built-in design's."""
    check_identifier(name, "multiplier name")
    why = reserved_reason(name)
    if why:
        raise InvalidNameError(f"multiplier name {name!r} is reserved: {why}; choose another name (--name)")
    return name


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

TABLE_SHAPE = (256, 256)
CSV_MAX_BYTES = 16 << 20  # a 256x256 table of 16-bit products is well under 1 MB as text


def validate_table(t: np.ndarray, signed: bool, what: str) -> np.ndarray:
    """The table as int64, or an error naming the first wrong entry (row a, column b, as bit patterns)."""
    t = np.asarray(t)
    if t.shape != TABLE_SHAPE:
        raise ApproxHLSError(f"{what}: a multiplier table must be 256x256, got shape {t.shape}")
    if not (np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.floating)):
        raise ApproxHLSError(f"{what}: table entries must be integers, got dtype {t.dtype}")
    tf = t.astype(np.float64)
    bad = ~np.isfinite(tf) | (tf != np.round(tf))
    if bad.any():
        raise ApproxHLSError(f"{what}: {_first(bad, t)} is not a finite integer{_more(bad)}")
    lo, hi = (-32768, 32767) if signed else (0, 65535)
    out = (tf < lo) | (tf > hi)
    if out.any():
        kind = "signed 16-bit" if signed else "unsigned 16-bit"
        raise ApproxHLSError(f"{what}: {_first(out, t)} is outside the {kind} range [{lo}, {hi}]{_more(out)}"
                             + ("" if signed else "; if the model takes two's complement operands, pass --signed"))
    return tf.astype(np.int64)


def _first(mask: np.ndarray, t: np.ndarray) -> str:
    r, c = map(int, np.argwhere(mask)[0])
    v = t[r, c]
    return f"entry [{r},{c}] = {int(v) if np.issubdtype(t.dtype, np.integer) else float(v)!r} (row a={r}, column b={c})"


def _more(mask: np.ndarray) -> str:
    n = int(mask.sum())
    return f" ({n - 1} more entries are wrong too)" if n > 1 else ""


def _read_table(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        try:  # mapped first: a huge array is refused by its shape, never read into memory
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, EOFError, OSError) as e:
            raise ApproxHLSError(f"{path}: not a numpy table ({e})") from None
    if path.stat().st_size > CSV_MAX_BYTES:
        raise ApproxHLSError(f"{path}: {path.stat().st_size} bytes is far more than a 256x256 table of products")
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApproxHLSError(f"{path}: not a table of numbers ({e})") from None


def _signed_from_name(text: str) -> bool | None:
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


@dataclass
class _Draft:
    """What the files have said so far while a design is built."""

    name: str
    signed: bool | None
    source: str | None = None
    iface: cmodel.Interface | None = None
    table: np.ndarray | None = None
    vtext: str | None = None
    ports: Ports | None = None
    notes: list = field(default_factory=list)

    def design(self, origin: str, notes=()) -> TableDesign:
        return TableDesign(self.name, self.table, bool(self.signed), self.source, self.iface, self.vtext, self.ports,
                           origin, tuple(notes))


def build_design(sources: Sources, name: str, signed: bool | None = None, function: str | None = None,
                 a_param: str | None = None, check_cpp: bool = True) -> TableDesign:
    """A design from its files, every view proven equal to the others; raises naming the first difference."""
    check_user_name(name)
    draft = _Draft(name, signed)
    if sources.c is not None:
        _read_c_model(draft, sources.c, function, a_param)
    if sources.table is not None:
        _read_table_file(draft, sources.table)
    if sources.verilog is not None:
        _read_circuit(draft, sources, function)
    if draft.table is None:
        raise ApproxHLSError(f"{sources.primary()}: give a C model (.c), a 256x256 table (.npy/.csv) or a Verilog "
                             f"circuit (.v)")
    if check_cpp:
        _prove_cpp(draft, sources)
    return draft.design(sources.describe(), draft.notes)


def _read_c_model(draft: _Draft, path: Path, function: str | None, a_param: str | None) -> None:
    draft.source = path.read_text(errors="replace")
    fn = cmodel.choose_function(draft.source, path, function, draft.name)
    draft.iface = cmodel.infer_interface(fn, draft.signed, a_param)
    draft.signed = draft.iface.signed
    draft.notes.append(f"C model {fn.name}(): {draft.iface.how}")
    draft.table = validate_table(cmodel.tabulate(draft.source, draft.iface, path), draft.signed, f"{path} ({fn.name})")


def _read_table_file(draft: _Draft, path: Path) -> None:
    if draft.signed is None:
        draft.signed = bool(_signed_from_name(path.stem))
    t = validate_table(_read_table(path), draft.signed, str(path))
    if draft.table is not None and not np.array_equal(t, draft.table):
        i, j = map(int, np.argwhere(t != draft.table)[0])
        raise ApproxHLSError(f"{path} differs from the C model at a={i}, b={j} (bit patterns): "
                             f"{int(t[i, j])} vs {int(draft.table[i, j])}")
    draft.table = t


def _read_circuit(draft: _Draft, sources: Sources, function: str | None) -> None:
    path, iface, name = sources.verilog, draft.iface, draft.name
    draft.vtext = path.read_text(errors="replace")
    names = (iface.params[iface.a_param].name, iface.params[1 - iface.a_param].name) if iface else None
    draft.ports = read_ports(draft.vtext, path, name=function or (iface.function if iface else path.stem),
                             operand_names=names)
    if f"module {name}_approxhls" in draft.vtext:
        raise ApproxHLSError(f"{path} defines {name}_approxhls, the name of approxhls' wrapper; rename it")
    if draft.signed is None:
        hint = _signed_from_name(draft.ports.top)
        draft.signed = bool(hint)
        draft.notes.append(f"{'signed' if draft.signed else 'unsigned'} ("
                           f"{'module name ' + draft.ports.top if hint is not None else 'assumed; pass --signed if not'})")
    draft.notes.append(f"circuit {path.name}: {draft.ports.how}")
    _prove_circuit(draft, sources)


def _prove_circuit(draft: _Draft, sources: Sources) -> None:
    """Simulate the circuit over every operand pair: it defines the table, or must equal the model's."""
    from approxhls.multipliers.sim import first_difference, tabulate_verilog

    path, model = sources.verilog, sources.c or sources.table
    probe = TableDesign(draft.name, draft.table if draft.table is not None else np.zeros(TABLE_SHAPE, np.int64),
                        draft.signed, verilog_source=draft.vtext, ports=draft.ports)
    simulated = tabulate_verilog(probe, source=path)
    if draft.table is None:
        draft.table = validate_table(simulated, draft.signed, f"{path} (simulated)")
    else:
        diff = first_difference(draft.table, simulated, probe)
        if diff:
            raise ApproxHLSError(f"{path} does not compute what {model} does: {diff} "
                                 f"(expected = C model/table, got = Verilog; operands as bit patterns)")
        draft.notes.append(f"proven: {path.name} (Icarus) == {model.name} on all 65,536 operand pairs")
    if probe.out_bits > draft.ports.out_bits:
        raise ApproxHLSError(f"{path}: output {draft.ports.out} has {draft.ports.out_bits} bits, the products need "
                             f"{probe.out_bits}")


def _prove_cpp(draft: _Draft, sources: Sources) -> None:
    from approxhls.multipliers.sim import first_difference, tabulate_cpp

    probe = draft.design(sources.describe())
    tabulated = tabulate_cpp([probe], ("-w",), source=sources.primary())[draft.name]  # library code warns; fine
    diff = first_difference(draft.table, tabulated, probe)
    if diff:
        raise ApproxHLSError(f"the HLS C++ of {sources.describe()} differs from its model: {diff}")
    draft.notes.append("proven: the HLS C++ (g++) == the model on all 65,536 operand pairs")


def sources_of(path: Path, verilog: Path | None = None) -> Sources:
    """The sources one file (and an optional circuit for it) give; refuses what is neither."""
    for p in (path, verilog):
        if p is not None and not p.is_file():
            raise ApproxHLSError(f"{p} does not exist or is not a file")
    if path.suffix in C_SUFFIXES:
        return Sources(c=path, verilog=verilog)
    if path.suffix in TABLE_SUFFIXES:
        return Sources(table=path, verilog=verilog)
    if path.suffix in VERILOG_SUFFIXES and verilog is None:
        return Sources(verilog=path)
    raise ApproxHLSError(f"{path}: give a C model (.c), a 256x256 table (.npy or .csv) or a Verilog circuit (.v)")


def default_name(path: Path, function: str | None = None) -> str:
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


# ---- storage ------------------------------------------------------------------------------------------------------

def check_free(name: str, force: bool = False) -> None:
    """Refuse to replace a stored design of that name unless ``force``."""
    if os.path.lexists(design_dir(name)) and not force:
        raise ApproxHLSError(f"a user multiplier named {name!r} exists; pass --force to replace it, or choose --name")


@contextlib.contextmanager
def storing(design: TableDesign, force: bool = False):
    """Store ``design`` under its name, holding the home lock: the body runs with the new directory in place, and
    an error in it (or in writing) brings back what was there before. Without ``force`` an existing design of
    that name is refused."""
    check_user_name(design.name)
    final = design_dir(design.name)
    with home_lock():
        root = user_dir()
        root.mkdir(parents=True, exist_ok=True)
        new = Path(tempfile.mkdtemp(dir=root, prefix=f".{design.name}-new-"))
        old = root / f".{design.name}-old-{os.getpid()}-{threading.get_ident()}"
        swapped = replaced = False
        try:
            _write_design(design, new)
            check_free(design.name, force)
            if os.path.lexists(final):
                os.rename(final, old)
                replaced = True
            os.rename(new, final)
            swapped = True
            yield final
        except BaseException:
            _discard(final if swapped else new)
            if replaced:
                os.rename(old, final)
            raise
        if replaced:
            _discard(old)


def _discard(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _write_design(design: TableDesign, d: Path) -> None:
    np.save(d / "table.npy", design._user_table)
    if design.source is not None:
        (d / "source.c").write_text(design.source)
    if design.verilog_text is not None:
        (d / "circuit.v").write_text(design.verilog_text)
    meta = {"name": design.name, "signed": design.signed, "origin": design.origin, "notes": list(design.notes),
            "interface": design.interface.to_json() if design.interface else None,
            "ports": design.ports.to_json() if design.ports else None,
            "source_digest": design.definition()["source_digest"]}
    (d / DESIGN_JSON).write_text(json.dumps(meta, indent=2))


def _load(d: Path) -> TableDesign:
    meta = json.loads((d / DESIGN_JSON).read_text())
    if meta.get("name") != d.name:  # the folder's name was checked; a name inside it reaches C++ too
        raise ValueError(f"{DESIGN_JSON} names the design {meta.get('name')!r}, its folder {d.name!r}")
    src = (d / "source.c").read_text() if (d / "source.c").exists() else None
    vtext = (d / "circuit.v").read_text() if (d / "circuit.v").exists() else None
    iface = None
    if meta.get("interface"):
        iface = cmodel.Interface.from_json(meta["interface"])
    elif src is not None:  # stored before interfaces were recorded: uint16_t f(uint8_t, uint8_t)
        fn = cmodel.choose_function(src, d / "source.c", meta.get("function"))
        iface = cmodel.infer_interface(fn, meta["signed"])
    ports = Ports(**meta["ports"]) if meta.get("ports") else None
    table = validate_table(np.load(d / "table.npy", allow_pickle=False), bool(meta["signed"]), str(d / "table.npy"))
    return TableDesign(meta["name"], table, meta["signed"], src, iface, vtext, ports,
                       meta.get("origin", ""), tuple(meta.get("notes", ())))


def _stored(name: str) -> Path | None:
    """The directory of the stored design ``name`` (a real directory directly in the user folder), else None."""
    try:
        d = design_dir(name)
    except InvalidNameError:
        return None
    if d.is_symlink() or not d.is_dir() or d.resolve().parent != user_dir().resolve() \
            or not (d / DESIGN_JSON).is_file():
        return None
    return d


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
        except _STORE_ERRORS as e:
            warnings.warn(f"user multiplier {d} is unreadable ({type(e).__name__}: {e}); remove it with "
                          f"`approxhls multipliers remove {d.name}` and add it again", stacklevel=2)
    return out


def stored_key(name: str) -> str | None:
    """The key of the user design stored as ``name`` (None: none is, or it cannot be read)."""
    d = _stored(name)
    if d is None:
        return None
    try:
        return _load(d).key
    except _STORE_ERRORS:
        return None


@contextlib.contextmanager
def removing(name: str):
    """Remove one user design, refusing anything that is not a design directory directly in the folder; the body
    runs under the home lock before the directory goes (an error in it keeps the design)."""
    design_dir(name)  # validates the name first: no '..', '/', absolute paths
    why = reserved_reason(name)
    if why:
        raise ApproxHLSError(f"{why}; only user-added designs can be removed")
    with home_lock():
        target = _stored(name)
        if target is None:
            raise ApproxHLSError(f"no user multiplier named {name!r} in {user_dir()} "
                                 f"(`approxhls multipliers list` shows the user designs)")
        yield target
        shutil.rmtree(target)


def sources_digest(s: Sources) -> str:
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
