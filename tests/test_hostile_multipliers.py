"""The multiplier library under careless and hostile use: concurrent commands, models that never return, circuits
that never settle, corrupt catalogs, reserved names, wrong tables, names that are code. Every case ends in a
message (no traceback), loses nothing that was stored, and stops within its limit."""

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from approxhls.errors import ApproxHLSError, InvalidNameError, ToolTimeoutError
from approxhls.home import home, home_lock
from approxhls.multipliers import catalog
from approxhls.multipliers.library import add_multiplier, import_library, remove_multiplier
from approxhls.multipliers.registry import all_designs
from approxhls.multipliers.user import stored_key, user_dir

SCALE = 0.01  # APPROXHLS_TIMEOUT_SCALE in the deadline tests: every limit (600 s compile/run, 120 s parse) / 100
LIMIT = 600 * SCALE

A = np.arange(256)[:, None]
B = np.arange(256)[None, :]


def c_model(name: str, body: str = "return (uint16_t)(a * b);") -> str:
    return f"#include <stdint.h>\nuint16_t {name}(uint8_t a, uint8_t b) {{ {body} }}\n"


# Never returns for a = 200, b = 3 (volatile: the loop cannot be optimized away).
LOOPING_C = c_model("mul8u_loops", "volatile int go = 1; if (a == 200 && b == 3) while (go) {} return a * b;")
# A combinational loop that oscillates in zero time once A[0] is 1: the simulation never advances.
LOOPING_V = """module mul8u_ring(A, B, O);
  input [7:0] A;
  input [7:0] B;
  output [15:0] O;
  wire w;
  assign w = ~(w & A[0]);
  assign O = A * B + {15'b0, w & 1'b0};
endmodule
"""


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _cli(*args, env=None):
    """The console command in its own process: (exit code, stdout, stderr)."""
    return subprocess.Popen([sys.executable, "-m", "approxhls.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _finish(procs, timeout=300):
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        out.append((p.returncode, stdout, stderr))
    return out


def _user_entries(name=None):
    entries = catalog._read(catalog.user_catalog_path()).values()
    return [e for e in entries if e["family"] == "user" and name in (None, e["name"])]


def _visible(root):
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


# ---- concurrency ----------------------------------------------------------------------------------------------------

def test_six_concurrent_adds_all_survive(tmp_path):
    files = [_write(tmp_path / f"mul8u_c{i}.c", c_model(f"mul8u_c{i}", f"return (uint16_t)((a * b) & ~{i}u);"))
             for i in range(1, 7)]
    results = _finish([_cli("multipliers", "add", f) for f in files])
    for rc, _, err in results:
        assert rc == 0 and "Traceback" not in err, err
    names = {f"mul8u_c{i}" for i in range(1, 7)}
    assert set(_visible(user_dir())) == names  # no temporary directory left either
    assert {e["name"] for e in _user_entries()} == names and len(_user_entries()) == 6
    for i in range(1, 7):
        d = next(d for d in all_designs() if d.name == f"mul8u_c{i}")
        assert np.array_equal(d.table(), (A * B) & ~i)


def test_concurrent_same_name_force_adds_end_with_one_design_and_one_entry(tmp_path):
    files = [_write(tmp_path / f"m{i}.c", c_model(f"m{i}", f"return (uint16_t)((a * b) | {i}u);")) for i in range(4)]
    results = _finish([_cli("multipliers", "add", f, "--name", "same", "--force") for f in files])
    for rc, _, err in results:
        assert rc == 0 and "Traceback" not in err, err
    assert _visible(user_dir()) == ["same"]
    entries = _user_entries("same")
    assert len(entries) == 1 and entries[0]["key"] == stored_key("same")  # the entry is the stored design's
    d = next(d for d in all_designs() if d.name == "same")
    assert any(np.array_equal(d.table(), (A * B) | i) for i in range(4))


def test_the_home_lock_excludes_other_processes(tmp_path):
    log = tmp_path / "log"
    holder = ("import sys, time\nfrom approxhls.home import home_lock\n"
              "with home_lock():\n"
              "    open(sys.argv[1], 'a').write('held\\n')\n"
              "    time.sleep(1.5)\n"
              "    open(sys.argv[1], 'a').write('released\\n')\n")
    first = subprocess.Popen([sys.executable, "-c", holder, str(log)])
    deadline = time.monotonic() + 60
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    with home_lock():  # waits for the other process
        log.open("a").write("second\n")
    first.wait(timeout=60)
    assert log.read_text().split() == ["held", "released", "second"]


def test_the_home_lock_is_reentrant_and_excludes_threads():
    order = []

    def other():
        with home_lock():
            order.append("thread")

    with home_lock():
        with home_lock():  # the same thread again: no deadlock
            t = threading.Thread(target=other)
            t.start()
            time.sleep(0.3)
            order.append("main")
    t.join(timeout=30)
    assert order == ["main", "thread"]


def test_an_entry_of_a_design_replaced_meanwhile_is_not_recorded(tmp_path):
    first = add_multiplier(_write(tmp_path / "ma.c", c_model("ma", "return a * b;")), "mine")
    stale = catalog.characterize_design(first, with_synthesis=False)
    add_multiplier(_write(tmp_path / "mb.c", c_model("mb", "return (uint16_t)((a * b) | 1u);")), "mine", force=True)
    assert catalog.record([stale]) == 0  # computed for the design that was replaced
    entries = _user_entries("mine")
    assert len(entries) == 1 and entries[0]["key"] == stored_key("mine") != stale["key"]


# ---- a failed add stores nothing ------------------------------------------------------------------------------------

def test_a_corrupt_catalog_stops_an_add_before_anything_is_stored_and_the_retry_works(tmp_path):
    src = _write(tmp_path / "mul8u_ok.c", c_model("mul8u_ok"))
    path = catalog.user_catalog_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"entries": {"abc": ')
    rc, out, err = _finish([_cli("multipliers", "add", src)])[0]
    assert rc == 2 and "Traceback" not in err
    assert str(path) in err and "is corrupt" in err and "delete it" in err
    assert not (user_dir() / "mul8u_ok").exists()
    assert path.read_text() == '{"entries": {"abc": '  # untouched
    path.unlink()
    rc, out, err = _finish([_cli("multipliers", "add", src)])[0]
    assert rc == 0 and "added mul8u_ok" in out, err  # not "exists"


@pytest.mark.parametrize("entries", [{"k": 5}, {"k": {"key": "other", "name": "x", "metrics": {}}},
                                     {"k": {"key": "k", "metrics": {}}}, ["not", "an", "object"]])
def test_a_tampered_catalog_is_refused_with_its_path(entries):
    path = catalog.user_catalog_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"entries": entries}))
    with pytest.raises(ApproxHLSError, match="multiplier catalog .* is corrupt") as e:
        catalog.load_entries()
    assert str(path) in str(e.value)


def test_a_model_that_never_returns_is_stopped_and_named_and_nothing_is_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("APPROXHLS_TIMEOUT_SCALE", str(SCALE))
    src = _write(tmp_path / "loops.c", LOOPING_C)
    t0 = time.monotonic()
    with pytest.raises(ToolTimeoutError) as e:
        add_multiplier(src)
    assert time.monotonic() - t0 < LIMIT + 60
    assert str(src) in str(e.value) and f"within {LIMIT:g} s" in str(e.value)
    assert _visible(user_dir()) == [] and _user_entries() == []
    fixed = _write(tmp_path / "loops.c", c_model("mul8u_loops"))
    assert add_multiplier(fixed).name == "mul8u_loops"  # the retry does not find it "exists"


def test_a_circuit_that_never_settles_is_stopped_and_named_and_nothing_is_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("APPROXHLS_TIMEOUT_SCALE", str(SCALE))
    v = _write(tmp_path / "mul8u_ring.v", LOOPING_V)
    t0 = time.monotonic()
    rc, _, err = _finish([_cli("multipliers", "add", v)])[0]
    assert time.monotonic() - t0 < LIMIT + 90
    assert rc == 2 and "Traceback" not in err
    assert "mul8u_ring.v" in err and f"within {LIMIT:g} s" in err and "never settles" in err
    assert _visible(user_dir()) == []


def test_a_model_that_crashes_or_floods_stdout(tmp_path):
    crash = _write(tmp_path / "crash.c", c_model("mul8u_crash", "if (a == 7) { volatile int *p = 0; *p = 1; } "
                                                                 "return a * b;"))
    with pytest.raises(ApproxHLSError, match=r"tabulating mul8u_crash\(\) from .*crash\.c failed \(signal 11"):
        add_multiplier(crash)
    # printing from the model does not reach the products
    noisy = _write(tmp_path / "noisy.c", "#include <stdio.h>\n" + c_model("mul8u_noisy", 'printf("%d\\n", a); '
                                                                                          "return a * b;"))
    assert np.array_equal(add_multiplier(noisy, with_synthesis=False).table(), A * B)
    assert _visible(user_dir()) == ["mul8u_noisy"]


def test_file_names_are_not_code(tmp_path):
    """The C model is copied beside its harness: a directory name with quotes, $(...) and spaces is only a name."""
    weird = tmp_path / 'we"ird $(touch pwned) dir'
    src = _write(weird / "mul8u_w.c", c_model("mul8u_w"))
    d = add_multiplier(src)
    assert np.array_equal(d.table(), A * B)
    assert not (tmp_path / "pwned").exists() and not os.path.exists("pwned")


# ---- bulk import --------------------------------------------------------------------------------------------------

def test_bulk_import_reports_what_timed_out_or_failed_and_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv("APPROXHLS_TIMEOUT_SCALE", str(SCALE))
    lib = tmp_path / "lib"
    _write(lib / "mul8u_loops.c", LOOPING_C)
    _write(lib / "mul8u_ring.v", LOOPING_V)
    _write(lib / "broken.c", "#include <stdint.h>\nuint16_t broken(uint8_t a, uint8_t b) { return a * ; }\n")
    _write(lib / "exact.c", c_model("exact"))              # a reserved name
    _write(lib / "mul8u_good1.c", c_model("mul8u_good1", "return (uint16_t)((a * b) & ~1u);"))
    _write(lib / "mul8u_good2.c", c_model("mul8u_good2", "return (uint16_t)((a * b) & ~3u);"))
    report = tmp_path / "import.json"
    t0 = time.monotonic()
    rc, out, err = _finish([_cli("multipliers", "add", lib, "--jobs", "2", "--json", report)])[0]
    assert time.monotonic() - t0 < 2 * LIMIT + 120
    assert rc == 0 and "Traceback" not in err, err
    rep = json.loads(report.read_text())
    status = {r["files"]: (r["status"], r["reason"]) for r in rep["designs"]}
    assert status["mul8u_good1.c"][0] == status["mul8u_good2.c"][0] == "added"
    assert rep["counts"] == {"added": 2, "unchanged": 0, "skipped": 0, "refused": 4}
    assert f"within {LIMIT:g} s" in status["mul8u_loops.c"][1] and "mul8u_loops.c" in status["mul8u_loops.c"][1]
    assert f"within {LIMIT:g} s" in status["mul8u_ring.v"][1] and "mul8u_ring.v" in status["mul8u_ring.v"][1]
    assert "does not compile" in status["broken.c"][1]
    assert "reserved" in status["exact.c"][1]
    # the summary at the end names every refused file with its whole reason
    summary = out[out.index("2 added, 0 unchanged, 0 skipped, 4 refused of 6"):]
    for f in ("mul8u_loops.c", "mul8u_ring.v", "broken.c", "exact.c"):
        assert str(lib / f) in summary
    assert _visible(user_dir()) == ["mul8u_good1", "mul8u_good2"]
    assert {e["name"] for e in _user_entries()} == {"mul8u_good1", "mul8u_good2"}


def test_bulk_import_keeps_going_past_unreadable_files(tmp_path):
    lib = tmp_path / "lib"
    _write(lib / "mul8u_fine.c", c_model("mul8u_fine"))
    np.save(lib / "nan_table.npy", np.full((256, 256), np.nan))
    (lib / "pickled.npy").write_bytes(b"\x93NUMPY garbage")
    items = import_library([lib], progress=False, with_synthesis=False)
    status = {it.sources.primary().name: (it.status, it.reason) for it in items}
    assert status["mul8u_fine.c"][0] == "added"
    assert status["nan_table.npy"] == ("refused", status["nan_table.npy"][1])
    assert "entry [0,0] = nan" in status["nan_table.npy"][1]
    assert status["pickled.npy"][0] == "refused" and "not a numpy table" in status["pickled.npy"][1]


# ---- names ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["exact", "exact_u8", "exact_s8", "tam_u8_k4", "drum_u8_k3"])
def test_reserved_names_are_refused(tmp_path, name):
    src = _write(tmp_path / "m.c", c_model("m"))
    with pytest.raises(InvalidNameError, match=f"multiplier name '{name}' is reserved"):
        add_multiplier(src, name)
    assert _visible(user_dir()) == []


def test_reserved_names_through_the_cli(tmp_path):
    src = _write(tmp_path / "exact.c", c_model("exact"))  # the default name (the function's) is reserved too
    results = _finish([_cli("multipliers", "add", src), _cli("multipliers", "remove", "exact")])
    for rc, _, err in results:
        assert rc == 2 and "Traceback" not in err
    assert "is reserved" in results[0][2] and "exact product" in results[1][2]


def test_remove_keeps_the_design_when_the_catalog_is_corrupt(tmp_path):
    add_multiplier(_write(tmp_path / "mul8u_k.c", c_model("mul8u_k")))
    catalog.user_catalog_path().write_text("{")
    with pytest.raises(ApproxHLSError, match="is corrupt"):
        remove_multiplier("mul8u_k")
    assert _visible(user_dir()) == ["mul8u_k"]


def test_an_unreadable_stored_design_is_reported_and_can_be_replaced(tmp_path):
    add_multiplier(_write(tmp_path / "mul8u_k.c", c_model("mul8u_k")))
    (user_dir() / "mul8u_k" / "design.json").write_text("{not json")
    with pytest.warns(UserWarning, match="mul8u_k is unreadable"):
        assert "mul8u_k" not in {d.name for d in all_designs()}
    add_multiplier(tmp_path / "mul8u_k.c", force=True)
    assert "mul8u_k" in {d.name for d in all_designs()}


def test_the_home_must_be_writable(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("APPROXHLS_HOME", str(blocker / "home"))
    with pytest.raises(ApproxHLSError, match="cannot be written.*APPROXHLS_HOME"):
        with home_lock():
            pass
    assert home() == blocker / "home"


@pytest.mark.parametrize("jobs", ["0", "-3", "nan", "1e9"])
def test_jobs_must_be_a_small_positive_number(tmp_path, jobs, capsys):
    from approxhls.cli import main

    with pytest.raises(SystemExit) as e:
        main(["multipliers", "add", str(tmp_path), "--jobs", jobs])
    assert e.value.code == 2 and "number of parallel jobs" in capsys.readouterr().err


def test_flags_that_do_not_apply_are_refused(tmp_path, capsys):
    from approxhls.cli import main

    src = _write(tmp_path / "lib" / "mul8u_x.c", c_model("mul8u_x"))
    assert main(["multipliers", "add", str(src), "--json", str(tmp_path / "r.json")]) == 2
    assert main(["multipliers", "add", str(src.parent), "--name", "y"]) == 2
    err = capsys.readouterr().err
    assert "--json writes the report of a library import" in err and "apply to a single file" in err
    assert _visible(user_dir()) == []


def test_a_process_forked_while_the_lock_is_held_waits_for_it(tmp_path):
    import multiprocessing

    log = tmp_path / "log"
    with home_lock():
        child = multiprocessing.get_context("fork").Process(target=_log_under_the_lock, args=(log,))
        child.start()
        time.sleep(1.0)
        log.open("a").write("parent released\n")
    child.join(timeout=60)
    assert child.exitcode == 0 and log.read_text().splitlines() == ["parent released", "child"]


def _log_under_the_lock(log):
    with home_lock():
        log.open("a").write("child\n")
