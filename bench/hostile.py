"""Hostile and careless use of the `approxhls` command line: a catalogue of attempts, each run as a user would run
it (`python -m approxhls.cli ...` in its own process, a deadline, a scratch directory, APPROXHLS_HOME inside it),
and what came of it: refused with a message, recovered, or worked; and whether any attempt printed a traceback,
lost or changed a file that was there before (its inputs, an existing output's contents, the working directory's),
left a half-written directory beside its output, ran past its deadline, or ran a command hidden in a name.

    .venv/bin/python bench/hostile.py [--out bench/results/hostile.json]

Prints a table; writes the JSON docs/RESULTS.md is rendered from. A few minutes on two cores: one small model is
converted once (mlp 64-32-10 on 8x8 digits, w8a8, seeded weights) and copied for every damage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from render_results import results_path  # noqa: E402

# A directory name that is code in a shell, a Makefile, a C string and a Tcl script: quotes, $(...), backticks,
# a space, a plus, a semicolon and a non-ASCII letter. Running any of it would create a PWNED* file.
HOSTILE_NAME = "x\"y $(touch PWNED) `touch PWNED2` +'z' \u00e9 ;w"
MARKER = "PWNED*"
SEARCH_MODEL = ROOT / "tests" / "data" / "search_golden" / "model"  # the committed model the search tests use
# Designs whose constant-weight costs ship with approxhls: the search prices them without running Yosys.
SEARCH_CANDIDATES = "drum_u8_k4,tam_u8_k7,mitchell_u8_w4,etm_u8_m3,bam_u8_h2_v6"
SEARCH_ARGS = ["--pop", "8", "--gens", "10", "--calib", "100", "--val", "80", "--test-limit", "100",
               "--candidates", SEARCH_CANDIDATES, "--seed", "3"]
CLASSES = {  # class -> what was tried (in the order of the table)
    "injection": "a directory whose name holds quotes, $(...), backticks, a space and a non-ASCII letter: a project "
                 "converted into it, C-simulated, an overlay written, checked and run there (make and g++ build in "
                 "it); a C multiplier added from such a directory; a project name that is shell code",
    "damaged files": "approxhls.json, overlay.json, golden.npz, samples.npz, a plan, a model file, the multiplier "
                     "catalog: truncated, mistyped, missing or pointing outside",
    "bad numbers": "zero, negative, NaN, infinite or absurd values of numeric options",
    "output policy": "an output that is the working directory or its parent, an existing output without --force, "
                     "--force over what is not this command's output, through a symlink or with a plan that fails, --json at a "
                     "directory or onto a file the command reads",
    "reserved names": "user multipliers named after the exact product or a built-in design",
    "NaN weights": "a model with a NaN weight, a multiplier table of NaNs",
    "interrupted": "Ctrl-C (SIGINT) during convert --force and during a search; a resume with other options, from a "
                   "damaged checkpoint, and as it should be",
}
METHOD = (
    "Each attempt runs `python -m approxhls.cli ...` in its own process (its own session, killed with its children "
    "at its deadline) in a scratch directory, with APPROXHLS_HOME and APPROXHLS_CACHE inside it and "
    "TF_CPP_MIN_LOG_LEVEL=3. Before it, every file under the paths it must not touch (its inputs, an existing "
    "output, the working directory) is hashed; after it, a file missing is 'lost', one with other bytes 'changed'. "
    "'Traceback' is searched in stdout and stderr; a PWNED* file anywhere under the scratch directory or the "
    "checkout is an injection; a new directory whose name starts with a dot anywhere under the scratch directory "
    "(where atomic_directory builds an output, `.NAME-*`, or moves an old one aside) is a half-written output. "
    "Outcome: exit 0 'worked'; exit 2 with an `error:` line 'refused'; exit 130 with one line 'interrupted'; a "
    "resumed search 'recovered' when its front and plans equal those of the same search never interrupted.")


@dataclass
class Attempt:
    cls: str
    what: str
    argv: list[str]
    cwd: Path
    protect: list[Path] = field(default_factory=list)
    expect: str = "refused"
    timeout: float = 180.0
    prepare: Callable[[], None] | None = None
    interrupt_when: Callable[[], bool] | None = None  # SIGINT once this holds
    verify: Callable[[], str | None] | None = None     # after a run that worked: None, or why it did not recover


# ---- fixtures ----------------------------------------------------------------------------------------------------

def build_fixtures(base: Path) -> dict[str, Path]:
    """The model (the committed `approxhls train` directory the search tests use: mlp 64-16-16-10, w8a8, digits),
    a copy with one NaN weight, a plan, and where the injection attempts put the project and the overlay that every
    later attempt copies: they are made through the command line, in a directory named like code."""
    import h5py

    src = base / "src"
    model = copy(SEARCH_MODEL, src / "model")
    nan = copy(SEARCH_MODEL, src / "model_nan")
    with h5py.File(nan / "model.h5", "r+") as f:
        f["model_weights/fc1/fc1/kernel:0"][0, 5] = float("nan")
    here = base / HOSTILE_NAME
    return {"model": model, "model_nan": nan, "plan": write(src / "plan.json", '{"default": "drum_u8_k5"}'),
            "here": here, "prj": here / "prj", "ov": here / "ov"}


def copy(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest)  # mtimes kept: a copied build stays up to date
    else:
        shutil.copy2(src, dest)
    return dest


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def damage_npz(path: Path, how: str) -> None:
    import numpy as np

    if how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    else:  # words as floats
        d = dict(np.load(path))
        d["words"] = d["words"].astype(np.float64)
        np.savez(path, **d)


def c_model(name: str, body: str = "return (uint16_t)(a * b);") -> str:
    return f"#include <stdint.h>\nuint16_t {name}(uint8_t a, uint8_t b) {{ {body} }}\n"


# ---- the catalogue -----------------------------------------------------------------------------------------------

class Slots:
    """A fresh directory per attempt: base/NN."""

    def __init__(self, base: Path):
        self.base, self.n = base, 0

    def next(self) -> Path:
        self.n += 1
        d = self.base / f"{self.n:02d}"
        d.mkdir(parents=True)
        return d


def damaged_files(fx: dict, s: Slots) -> list[Attempt]:
    out = []
    for what, damage in [
        ("approxhls.json truncated", lambda p: p.write_text(p.read_text()[:100])),
        ("approxhls.json a list, not an object", lambda p: p.write_text("[1, 2]")),
        ("approxhls.json reuse_factor mistyped ('many')", lambda p: edit_json(p, lambda d: d.update(reuse_factor="many"))),
        ("approxhls.json io_type missing", lambda p: edit_json(p, lambda d: d.pop("io_type"))),
    ]:
        d = s.next()
        prj = d / "prj"
        out.append(Attempt("damaged files", f"csim on a project whose {what}", ["csim", prj, "--limit", "5"], d,
                           [prj], prepare=lambda prj=prj, damage=damage: (copy(fx["prj"], prj),
                                                                          damage(prj / "approxhls.json"))))
    for what, damage in [
        ("overlay.json truncated", lambda p: p.write_text(p.read_text()[:40])),
        ("overlay.json word_bits mistyped ('64')", lambda p: edit_json(p, lambda d: d.update(word_bits="64"))),
        ("overlay.json bitfile pointing outside (../../etc/x.bit)",
         lambda p: edit_json(p, lambda d: d.update(bitfile="../../etc/x.bit"))),
        ("overlay.json kernel name 'x; rm -rf ~'", lambda p: edit_json(p, lambda d: d.update(name="x; rm -rf ~"))),
        ("overlay.json clock_mhz NaN", lambda p: edit_json(p, lambda d: d.update(clock_mhz=float("nan")))),
    ]:
        d = s.next()
        ov = d / "ov"
        out.append(Attempt("damaged files", f"run on an overlay whose {what}",
                           ["run", ov, "--backend", "simulated", "--runs", "1"], d, [ov],
                           prepare=lambda ov=ov, damage=damage: (copy(fx["ov"], ov), damage(ov / "overlay.json"))))
    for how in ("missing", "truncated", "float words"):
        d = s.next()
        ov = d / "ov"
        out.append(Attempt("damaged files", f"run --self-test with golden.npz {how}",
                           ["run", ov, "--backend", "simulated", "--self-test", "--runs", "1"], d, [ov],
                           prepare=lambda ov=ov, how=how: (copy(fx["ov"], ov), damage_npz(ov / "golden.npz", how))))
    d = s.next()
    out.append(Attempt("damaged files", "run on an overlay whose samples.npz is truncated",
                       ["run", d / "ov", "--backend", "simulated", "--runs", "1"], d, [d / "ov"],
                       prepare=lambda d=d: (copy(fx["ov"], d / "ov"),
                                            write(d / "ov" / "samples.npz", b"PK\x03\x04 truncated"))))
    for what, text in [("truncated", '{"default": "drum_u'), ("mistyped (default: 5)", '{"default": 5}'),
]:
        d = s.next()
        out.append(Attempt("damaged files", f"convert with a plan {what}",
                           ["convert", fx["model"], "--out", d / "p", "--plan", d / "plan.json"], d,
                           [d / "plan.json", fx["model"]], prepare=lambda d=d, text=text: write(d / "plan.json", text)))
    d = s.next()
    out.append(Attempt("damaged files", "convert a model whose .h5 is truncated",
                       ["convert", d / "model", "--out", d / "p"], d, [d / "model"],
                       prepare=lambda d=d: (copy(fx["model"], d / "model"),
                                            write(d / "model" / "model.h5",
                                                  (fx["model"] / "model.h5").read_bytes()[:3000]))))
    d = s.next()
    out.append(Attempt("damaged files", "multipliers add with the user catalog truncated",
                       ["multipliers", "add", d / "mul8u_t.c"], d, [d / "mul8u_t.c", d / "home"], timeout=120,
                       prepare=lambda d=d: (write(d / "mul8u_t.c", c_model("mul8u_t")),
                                            write(d / "home" / "catalog.json", '{"version": 1, "entr'))))
    return out


def bad_numbers(fx: dict, s: Slots) -> list[Attempt]:
    out = []
    ov, prj, model = fx["ov"], fx["prj"], fx["model"]
    for args in (["--runs", "0"], ["--timeout", "nan"], ["--timeout", "-1"], ["--limit", "0"],
                 ["--power-seconds", "inf"], ["--batches", "0,8"]):
        out.append(Attempt("bad numbers", f"run {' '.join(args)}", ["run", ov, "--backend", "simulated", *args],
                           s.next(), [ov]))
    for cmd, args in ((["csim", prj], ["--limit", "0"]), (["csim", prj], ["--limit", "-5"]),
                      (["emulate", prj], ["--limit", "0"]), (["diff", prj], ["--limit", "0"])):
        out.append(Attempt("bad numbers", f"{cmd[0]} {' '.join(args)}", [*cmd, *args], s.next(), [prj]))
    for args in (["--check", "-3"], ["--golden", "-1"], ["--batch", "0"], ["--word-bits", "12"],
                 ["--clock-mhz", "nan"], ["--clock-mhz", "1e9"]):
        d = s.next()
        out.append(Attempt("bad numbers", f"overlay {' '.join(args)}", ["overlay", prj, "--out", d / "ov", *args], d,
                           [prj], timeout=120))
    for args in (["--reuse-factor", str(10 ** 20)], ["--clock-period", "nan"], ["--verify", "-1"]):
        d = s.next()
        out.append(Attempt("bad numbers", f"convert {' '.join(args)}", ["convert", model, "--out", d / "p", *args], d,
                           [model]))
    for args in (["--pop", "0"], ["--gens", "-1"], ["--max-loss", "nan"], ["--jobs", "0"]):
        d = s.next()
        out.append(Attempt("bad numbers", f"search {' '.join(args)}",
                           ["search", fx["model"], "--out", d / "s", *args], d, [fx["model"]]))
    return out


def output_policy(fx: dict, s: Slots) -> list[Attempt]:
    out = []

    def workdir(d: Path) -> Path:  # a working directory with the user's notes in it
        return write(d / "work" / "notes.txt", "the user's notes").parent

    d = s.next()
    out.append(Attempt("output policy", "convert --out . --force (the working directory holds the user's notes)",
                       ["convert", fx["model"], "--out", ".", "--force"], d / "work", [d / "work", fx["model"]],
                       prepare=lambda d=d: workdir(d)))
    d = s.next()
    out.append(Attempt("output policy", "convert --out .. --force (an ancestor of the working directory)",
                       ["convert", fx["model"], "--out", "..", "--force"], d / "a" / "work", [d],
                       prepare=lambda d=d: workdir(d / "a")))
    d = s.next()
    out.append(Attempt("output policy", "convert --out . --force inside an existing project",
                       ["convert", fx["model"], "--out", ".", "--force"], d / "prj", [d / "prj"],
                       prepare=lambda d=d: copy(fx["prj"], d / "prj")))
    d = s.next()
    out.append(Attempt("output policy", "overlay --out . --force inside an existing overlay",
                       ["overlay", fx["prj"], "--out", ".", "--force"], d / "ov", [d / "ov", fx["prj"]],
                       prepare=lambda d=d: copy(fx["ov"], d / "ov")))
    d = s.next()
    out.append(Attempt("output policy", "search --out .. --force",
                       ["search", fx["model"], "--out", "..", "--force"], d / "a" / "work", [d],
                       prepare=lambda d=d: workdir(d / "a")))
    d = s.next()
    out.append(Attempt("output policy", "convert into an existing project without --force",
                       ["convert", fx["model"], "--out", d / "prj"], d, [d / "prj"],
                       prepare=lambda d=d: (copy(fx["prj"], d / "prj"), write(d / "prj" / "notes.txt", "mine"))))
    d = s.next()
    out.append(Attempt("output policy", "convert --force over an existing project with a plan that fails",
                       ["convert", fx["model"], "--out", d / "prj", "--force", "--plan", d / "bad.json"], d,
                       [d / "prj"], prepare=lambda d=d: (copy(fx["prj"], d / "prj"),
                                                         write(d / "prj" / "notes.txt", "mine"),
                                                         write(d / "bad.json", '{"default": "no_such_mult"}'))))
    d = s.next()
    out.append(Attempt("output policy", "convert --force over a directory that is not a project",
                       ["convert", fx["model"], "--out", d / "mine", "--force"], d, [d / "mine"],
                       prepare=lambda d=d: write(d / "mine" / "thesis.tex", "years of work")))
    d = s.next()
    out.append(Attempt("output policy", "overlay into an existing overlay without --force",
                       ["overlay", fx["prj"], "--out", d / "ov"], d, [d / "ov"],
                       prepare=lambda d=d: copy(fx["ov"], d / "ov")))
    d = s.next()
    out.append(Attempt("output policy", "train into an existing run without --force",
                       ["train", "--model", "mlp", "--epochs", "1", "--out", d / "run"], d, [d / "run"],
                       prepare=lambda d=d: copy(fx["model"], d / "run")))
    d = s.next()
    out.append(Attempt("output policy", "search into an existing output without --force",
                       ["search", fx["model"], "--out", d / "s"], d, [d / "s"],
                       prepare=lambda d=d: write(d / "s" / "pareto.json", '{"old": true}')))
    d = s.next()
    out.append(Attempt("output policy", "csim --json at a directory",
                       ["csim", fx["prj"], "--limit", "5", "--json", d / "dir"], d, [d / "dir"],
                       prepare=lambda d=d: write(d / "dir" / "keep.txt", "mine")))
    d = s.next()
    out.append(Attempt("output policy", "run --json at a directory",
                       ["run", fx["ov"], "--backend", "simulated", "--json", d / "dir"], d, [d / "dir", fx["ov"]],
                       prepare=lambda d=d: write(d / "dir" / "keep.txt", "mine")))
    d = s.next()
    out.append(Attempt("output policy", "csim --json onto the project's own approxhls.json",
                       ["csim", d / "prj", "--limit", "5", "--json", d / "prj" / "approxhls.json"], d, [d / "prj"],
                       prepare=lambda d=d: copy(fx["prj"], d / "prj")))
    d = s.next()
    out.append(Attempt("output policy", "run --json onto the overlay's own overlay.json",
                       ["run", d / "ov", "--backend", "simulated", "--runs", "1", "--json", d / "ov" / "overlay.json"],
                       d, [d / "ov"], prepare=lambda d=d: copy(fx["ov"], d / "ov")))
    d = s.next()
    out.append(Attempt("output policy", "cost --json onto the model file it reads",
                       ["cost", d / "model" / "model.h5", "--json", d / "model" / "model.h5"], d, [d / "model"],
                       prepare=lambda d=d: copy(fx["model"], d / "model")))
    d = s.next()

    def linked(d=d):
        write(d / "mine" / "thesis.tex", "years of work")
        (d / "link").symlink_to(d / "mine", target_is_directory=True)

    out.append(Attempt("output policy", "convert --out a symlink to the user's directory --force",
                       ["convert", fx["model"], "--out", d / "link", "--force"], d, [d / "mine"], prepare=linked))
    return out


def injection(fx: dict, s: Slots) -> list[Attempt]:
    """The main path in a directory whose name is code: convert, C-simulate, write and check an overlay, run it on
    the simulated board (each build runs make and g++ there); the project and overlay are then everyone's inputs."""
    here = fx["here"]
    out = [Attempt("injection", "convert --plan into a directory named like code",
                   ["convert", fx["model"], "--out", fx["prj"], "--plan", fx["plan"]], here,
                   [fx["model"], fx["plan"]], expect="worked"),
           Attempt("injection", "csim (make, g++) the project there", ["csim", "prj", "--limit", "20"], here,
                   [fx["prj"] / "approxhls.json"], expect="worked", timeout=400),
           Attempt("injection", "overlay --golden 16 there (the wrapper built and C-simulated)",
                   ["overlay", "prj", "--out", "ov", "--golden", "16"], here, [fx["prj"] / "approxhls.json"],
                   expect="worked", timeout=400),
           Attempt("injection", "run --self-test on the simulated board there (its stream library built)",
                   ["run", "ov", "--backend", "simulated", "--self-test", "--runs", "2", "--limit", "16"], here,
                   [fx["ov"] / "overlay.json", fx["ov"] / "golden.npz"], expect="worked", timeout=400)]
    d = s.next()
    src = d / HOSTILE_NAME / "mul8u_w.c"
    out.append(Attempt("injection", "multipliers add a C model from such a directory",
                       ["multipliers", "add", src], d, [src], expect="worked", timeout=180,
                       prepare=lambda src=src: write(src, c_model("mul8u_w"))))
    d = s.next()
    out.append(Attempt("injection", "convert --name 'a\"b $(touch PWNED)'",
                       ["convert", fx["model"], "--out", d / "p", "--name", 'a"b $(touch PWNED)'], d, [fx["model"]]))
    return out


def reserved_names(fx: dict, s: Slots) -> list[Attempt]:
    out = []
    for name in ("exact", "exact_u8", "drum_u8_k5"):
        d = s.next()
        out.append(Attempt("reserved names", f"multipliers add --name {name}",
                           ["multipliers", "add", d / "m.c", "--name", name], d, [d / "m.c"], timeout=120,
                           prepare=lambda d=d: write(d / "m.c", c_model("m"))))
    d = s.next()
    out.append(Attempt("reserved names", "multipliers add exact.c (the function's name, exact, is the default)",
                       ["multipliers", "add", d / "exact.c"], d, [d / "exact.c"], timeout=120,
                       prepare=lambda d=d: write(d / "exact.c", c_model("exact"))))
    out.append(Attempt("reserved names", "multipliers remove exact", ["multipliers", "remove", "exact"], s.next()))
    return out


def nan_weights(fx: dict, s: Slots) -> list[Attempt]:
    import numpy as np

    out = []
    d = s.next()
    out.append(Attempt("NaN weights", "convert a model with a NaN weight",
                       ["convert", fx["model_nan"], "--out", d / "p"], d, [fx["model_nan"]]))
    d = s.next()
    out.append(Attempt("NaN weights", "multipliers add a table of NaNs (.npy)", ["multipliers", "add", d / "nan8.npy"],
                       d, [d / "nan8.npy"], timeout=120,
                       prepare=lambda d=d: (d.mkdir(exist_ok=True), np.save(d / "nan8.npy", np.full((256, 256), np.nan)))))
    return out


def _converting(parent: Path, name: str) -> Callable[[], bool]:
    return lambda: any(p.name.startswith(f".{name}-") for p in parent.iterdir())


def _search_outputs(out: Path) -> dict:
    """Plans (bytes) and pareto.json's points (timing left out) of a search."""
    files = {p.name: p.read_bytes() for p in sorted((out / "plans").glob("*.json"))}
    pareto = json.loads((out / "pareto.json").read_text())
    return {"plans": files, "points": pareto["points"], "exact": pareto["exact"]}


def interrupted(fx: dict, s: Slots, env: dict) -> list[Attempt]:
    out = []
    d = s.next()
    out.append(Attempt("interrupted", "Ctrl-C while convert --force replaces a project",
                       ["convert", fx["model"], "--out", d / "prj", "--force"], d, [d / "prj"], expect="interrupted",
                       prepare=lambda d=d: (copy(fx["prj"], d / "prj"), write(d / "prj" / "notes.txt", "mine")),
                       interrupt_when=_converting(d, "prj")))
    d = s.next()
    s_out, ckpt, model = d / "s", d / "s.checkpoint", fx["model"]
    search = ["search", model, "--out", s_out, *SEARCH_ARGS]
    out.append(Attempt("interrupted", "Ctrl-C during a search (after its first generation)", search, d, [model],
                       expect="interrupted", timeout=300, interrupt_when=ckpt.exists))
    out.append(Attempt("interrupted", "--resume with other options (--seed 4, was 3)",
                       ["search", model, "--out", s_out, *SEARCH_ARGS[:-2], "--seed", "4", "--resume"], d,
                       [model, ckpt]))
    out.append(Attempt("interrupted", "the same search again, neither --resume nor --force", search, d, [model, ckpt]))
    saved = {}

    def truncate():
        saved["bytes"] = ckpt.read_bytes()
        ckpt.write_bytes(saved["bytes"][: len(saved["bytes"]) // 2])

    out.append(Attempt("interrupted", "--resume from a checkpoint truncated by hand", [*search, "--resume"], d, [model],
                       prepare=truncate))

    def verify() -> str | None:
        ref = s.next() / "s"
        r = subprocess.run([sys.executable, "-m", "approxhls.cli", *map(str, ["search", model, "--out", ref,
                                                                              *SEARCH_ARGS])],
                           cwd=ref.parent, env=env, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            return f"the uninterrupted reference search failed: {r.stderr.strip()[-300:]}"
        if _search_outputs(ref) != _search_outputs(s_out):
            return "its front or plans differ from the same search never interrupted"
        return None

    out.append(Attempt("interrupted", "--resume (the checkpoint put back)", [*search, "--resume"], d, [model],
                       expect="recovered", timeout=300,
                       prepare=lambda: ckpt.write_bytes(saved["bytes"]), verify=verify))
    return out


# ---- running one attempt -----------------------------------------------------------------------------------------

def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def snapshot(roots: list[Path]) -> dict[str, str]:
    files = {}
    for root in roots:
        if root.is_file():
            files[str(root)] = _digest(root)
        elif root.is_dir():
            files.update({str(p): _digest(p) for p in root.rglob("*") if p.is_file() and not p.is_symlink()})
    return files


def markers(scratch: Path) -> set[str]:
    """PWNED* files: anywhere in the scratch directory (every attempt's working directory is in it), and in the
    checkout and the bench's own working directory."""
    found = {str(p) for p in scratch.rglob(MARKER)}
    return found | {str(p) for where in (ROOT, Path.cwd()) for p in where.glob(MARKER)}


def hidden_dirs(scratch: Path) -> set[str]:
    """Directories whose name starts with a dot: atomic_directory builds an output in `.NAME-*` beside it and
    moves the old one aside there, so a new one left after a command is a half-written or half-replaced output."""
    return {str(p) for p in scratch.rglob(".*") if p.is_dir()}


def _communicate(proc: subprocess.Popen, a: Attempt) -> tuple[str, str, bool, bool]:
    """(stdout, stderr, ran past its deadline, SIGINT sent)."""
    deadline, sent = time.monotonic() + a.timeout, False
    while a.interrupt_when and not sent and proc.poll() is None and time.monotonic() < deadline:
        if a.interrupt_when():
            proc.send_signal(signal.SIGINT)
            sent = True
        else:
            time.sleep(0.02)
    try:
        stdout, stderr = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        return stdout, stderr, False, sent
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the command and what it started (make, g++)
        stdout, stderr = proc.communicate()
        return stdout, stderr, True, sent


def message_line(stderr: str) -> str:
    """The line a user reads: the `error:` line, else the last line (an interrupt's), else the first."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("error:"):
            return ln
    return lines[-1] if lines else ""


def outcome(rc: int | None, hung: bool, stderr: str, sent: bool) -> str:
    if hung:
        return "hung"
    if rc == 0:
        return "worked"
    if rc == 2 and "error:" in stderr:
        return "refused"
    if rc == 130 and sent and len([ln for ln in stderr.splitlines() if "interrupted" in ln]) == 1:
        return "interrupted"
    return f"exit {rc}"


def _judged(a: Attempt, rc: int | None, hung: bool, stderr: str, sent: bool) -> tuple[str, str | None]:
    """The attempt's outcome; one that worked and has a check is 'recovered' or 'not recovered' (with the note)."""
    result = outcome(rc, hung, stderr, sent)
    if result != "worked" or not a.verify:
        return result, None
    note = a.verify()
    return ("recovered" if note is None else "not recovered"), note


def _damage(before: dict, after: dict, scratch: Path, marks: set, hidden: set) -> dict:
    """Protected files lost or changed, half-written directories left, injection markers that appeared."""
    return {"lost": sorted(p for p in before if p not in after),
            "changed": sorted(p for p in before if p in after and after[p] != before[p]),
            "leftovers": sorted(hidden_dirs(scratch) - hidden), "markers": sorted(markers(scratch) - marks)}


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[-1]


def run_attempt(a: Attempt, scratch: Path, env: dict) -> dict:
    if a.prepare:
        a.prepare()
    a.cwd.mkdir(parents=True, exist_ok=True)
    before, marks, hidden = snapshot(a.protect), markers(scratch), hidden_dirs(scratch)
    argv = [str(x) for x in a.argv]
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "approxhls.cli", *argv], cwd=a.cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    stdout, stderr, hung, sent = _communicate(proc, a)
    seconds = time.monotonic() - t0
    after = snapshot(a.protect)
    result, note = _judged(a, proc.returncode, hung, stderr, sent)
    rec = {"class": a.cls, "attempt": a.what, "command": "approxhls " + " ".join(_quote(x) for x in argv),
           "cwd": str(a.cwd), "exit_code": proc.returncode, "outcome": result, "expected": a.expect,
           "stderr_first": _first_line(stderr), "message": message_line(stderr), "stdout_last": _last_line(stdout),
           "traceback": "Traceback" in stdout + stderr, "hung": hung, "interrupted_by_bench": sent,
           **_damage(before, after, scratch, marks, hidden), "seconds": round(seconds, 2), "note": note}
    return json.loads(json.dumps(rec).replace(str(scratch), "$TMP"))


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./$=,:+-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


# ---- main ----------------------------------------------------------------------------------------------------------

def git_commit() -> str | None:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip() or None


def summary(records: list[dict]) -> dict:
    return {"attempts": len(records), "tracebacks": sum(r["traceback"] for r in records),
            "files_lost": sum(len(r["lost"]) for r in records), "files_changed": sum(len(r["changed"]) for r in records),
            "hangs": sum(r["hung"] for r in records), "injections": sum(bool(r["markers"]) for r in records),
            "leftovers": sum(bool(r["leftovers"]) for r in records),
            "unexpected": sum(r["outcome"] != r["expected"] for r in records),
            "outcomes": {k: sum(r["outcome"] == k for r in records) for k in sorted({r["outcome"] for r in records})}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(results_path("hostile")))
    ap.add_argument("--only", nargs="*", default=None, help="only the classes named (a smoke run)")
    args = ap.parse_args()

    import approxhls
    from approxhls.report import format_table, write_json

    scratch = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    env = dict(os.environ, APPROXHLS_HOME=str(scratch / "home"), APPROXHLS_CACHE=str(scratch / "cache"),
               TF_CPP_MIN_LOG_LEVEL="3", APPROXHLS_CSIM_OPT=os.environ.get("APPROXHLS_CSIM_OPT", "-O1"),
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    t0 = time.monotonic()
    fx = build_fixtures(scratch)
    fixtures_s = time.monotonic() - t0
    slots = Slots(scratch / "attempts")
    groups = [injection, damaged_files, bad_numbers, output_policy, reserved_names, nan_weights,
              lambda fx, s: interrupted(fx, s, env)]
    attempts = [a for g in groups for a in g(fx, slots)]
    if args.only:
        attempts = [a for a in attempts if a.cls in args.only]
    records = []
    for a in attempts:
        # the multiplier attempts read the home the damaged-catalog attempt set up for itself
        run_env = dict(env, APPROXHLS_HOME=str(a.cwd / "home")) if a.cls != "interrupted" else env
        rec = run_attempt(a, scratch, run_env)
        records.append(rec)
        print(f"{rec['seconds']:6.1f}s  {rec['outcome']:<12} {rec['class']:<15} {rec['attempt'][:60]:<60} "
              f"{rec['message'][:100]}", flush=True)
    result = {"generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit(),
              "approxhls_version": approxhls.__version__, "python": platform.python_version(),
              "machine": platform.machine(), "cpus": os.cpu_count(), "csim_opt": env["APPROXHLS_CSIM_OPT"],
              "method": METHOD, "classes": CLASSES, "hostile_name": HOSTILE_NAME,
              "fixtures_seconds": round(fixtures_s, 1), "wall_seconds": round(time.monotonic() - t0, 1),
              "summary": summary(records), "attempts": records}
    print(format_table([{"class": r["class"], "attempt": r["attempt"][:55], "outcome": r["outcome"],
                         "rc": r["exit_code"], "message": r["message"][:70], "s": r["seconds"]} for r in records],
                       ["class", "attempt", "outcome", "rc", "message", "s"]))
    print(json.dumps(result["summary"]))
    write_json(args.out, result)
    shutil.rmtree(scratch, ignore_errors=True)  # the mkdtemp directory made above, nothing else
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
