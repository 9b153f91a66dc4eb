"""The C-simulation library: built by approxhls with build_lib.sh's flags, location-independent, and safe in any
directory name."""

import shutil
import subprocess

import numpy as np
import pytest
from conftest import mlp_project, on_grid_inputs

from approxhls.sim.csimlib import CSimLibrary

HOSTILE = "we\"ird $(touch PWNED) `touch PWNED2` dir+'q' é \\ ;x"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return mlp_project(tmp_path_factory.mktemp("csim") / "prj")


def test_integer_results_do_not_depend_on_the_optimization_level(project, tmp_path, monkeypatch):
    """Tests build at -O1 (APPROXHLS_CSIM_OPT); users get hls4ml's -O3: the outputs are the same, element for
    element."""
    x = on_grid_inputs((8, 8, 1), 300, seed=5)
    outs = {}
    for opt in ("-O0", "-O3"):
        monkeypatch.setenv("APPROXHLS_CSIM_OPT", opt)
        copy = tmp_path / opt
        shutil.copytree(project, copy)
        lib = CSimLibrary(copy)
        outs[opt] = lib.predict(x)
        assert lib.rebuilt and opt in (copy / "build_lib.log").read_text()
    assert np.array_equal(outs["-O0"], outs["-O3"])
    monkeypatch.setenv("APPROXHLS_CSIM_OPT", "-O9")
    with pytest.raises(Exception, match="APPROXHLS_CSIM_OPT"):
        CSimLibrary(tmp_path / "-O0").build(force=True)


def test_the_precompiled_header_is_used_and_changes_nothing(project, tmp_path, monkeypatch):
    """The common headers come precompiled from the build cache (one per compiler and flags, reused by every
    project); a build without it gives the same outputs, element for element."""
    from approxhls.sim import pch

    monkeypatch.setenv("APPROXHLS_CACHE", str(tmp_path / "cache"))
    x = on_grid_inputs((8, 8, 1), 200, seed=7)
    outs = {}
    for flag in ("1", "0"):
        monkeypatch.setenv("APPROXHLS_CSIM_PCH", flag)
        copy = tmp_path / f"pch{flag}"
        shutil.copytree(project, copy)
        outs[flag] = CSimLibrary(copy).predict(x)
        log = (copy / "build_lib.log").read_text()
        assert ("-include" in log) == (flag == "1") and "precompiled header" not in log  # -Winvalid-pch is silent
    assert np.array_equal(outs["1"], outs["0"])
    made = list((tmp_path / "cache" / "pch").glob(f"*/{pch.NAME}.gch"))
    assert len(made) == 1 and not list((tmp_path / "cache" / "pch").glob(".building-*"))
    # gcc's -H marks a precompiled header it uses with "!"
    gxx = shutil.which("g++")
    from approxhls.sim.csimlib import WEIGHTS_FROM_ENV, compile_flags

    r = subprocess.run([gxx, *compile_flags(gxx), WEIGHTS_FROM_ENV, "-include", str(made[0].with_suffix("")), "-H",
                        "-Ifirmware/ap_types/", "-fsyntax-only", "approxhls_model_bridge.cpp"],
                       cwd=tmp_path / "pch1", capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and f"! {made[0]}" in r.stderr, r.stderr[-1500:]


def test_a_project_in_a_hostile_directory_builds_runs_and_runs_no_command(project, tmp_path, monkeypatch):
    """No directory name reaches a compiler macro or a shell: quotes, $(...), backticks, spaces and non-ASCII."""
    monkeypatch.chdir(tmp_path)
    where = tmp_path / HOSTILE / "prj"
    shutil.copytree(project, where)
    x = on_grid_inputs((8, 8, 1), 40, seed=2)
    y = CSimLibrary(where).predict(x)
    assert np.array_equal(y, CSimLibrary(project).predict(x))
    # hls4ml's own build script, which users may run, is repaired the same way
    r = subprocess.run(["bash", "build_lib.sh"], cwd=where, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not list(tmp_path.rglob("PWNED*"))


def test_a_built_project_can_move(project, tmp_path):
    """The weights directory is read at the first call, not compiled in: a moved project's library still works
    and is not rebuilt."""
    x = on_grid_inputs((8, 8, 1), 30, seed=3)
    first = tmp_path / "a"
    shutil.copytree(project, first)
    y = CSimLibrary(first).predict(x)
    moved = tmp_path / "b"
    first.rename(moved)
    lib = CSimLibrary(moved)
    assert np.array_equal(lib.predict(x), y) and not lib.rebuilt
