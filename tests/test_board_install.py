"""A board-only install works: a clean virtual environment with only ``.[board]`` (pynq from
constraints-board.txt, no TensorFlow, no hls4ml, no scikit-learn, no matplotlib) runs ``approxhls run`` on an
overlay directory through the simulated board, and says clearly what it cannot do without the optional parts."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.xdist_group("board_venv")


@pytest.fixture(scope="module")
def board_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("board") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints-board.txt")]
    r = subprocess.run(pip + [f"{ROOT}[board]"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return venv


@pytest.fixture(scope="module")
def overlay(tmp_path_factory):
    from conftest import mlp_project

    from approxhls.overlays import OverlayOptions, write_overlay
    from approxhls.overlays.wrapper import write_golden

    d = tmp_path_factory.mktemp("board_overlay")
    mlp_project(d / "prj", seed=5)
    meta = json.loads((d / "prj" / "approxhls.json").read_text())
    meta["dataset"] = "digits"  # as `approxhls train` records it: the overlay then ships test samples
    (d / "prj" / "approxhls.json").write_text(json.dumps(meta))
    write_overlay(d / "prj", d / "ov", OverlayOptions(board="zcu104", batch=64))
    write_golden(d / "ov", 16)
    shutil.rmtree(d / "prj")  # the board has the overlay directory only
    return d / "ov"


def _run(venv, *args):
    return subprocess.run([str(venv / "bin" / "approxhls"), "run", *args], capture_output=True, text=True, timeout=600)


def test_board_venv_has_no_laptop_toolchain(board_venv):
    code = ("import importlib.util as u; print([m for m in ('tensorflow', 'hls4ml', 'qkeras', 'sklearn', 'matplotlib') "
            "if u.find_spec(m)])")
    out = subprocess.run([str(board_venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_board_venv_runs_an_overlay_on_the_simulated_board(board_venv, overlay, tmp_path):
    report = tmp_path / "run.json"
    r = _run(board_venv, str(overlay), "--backend", "simulated", "--self-test", "--runs", "5", "--batches", "1,8",
             "--power", "--power-seconds", "0.5", "--json", str(report))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "self-test: passed: 16 golden samples" in r.stdout
    assert "digits (shipped samples)" in r.stdout  # no scikit-learn needed
    assert "matplotlib is not installed" in r.stdout  # the plot is optional, and it says so
    data = json.loads(report.read_text())
    assert data["self_test"]["passed"] and data["n"] > 0 and data["power"]["available"]


def test_board_venv_explains_a_dataset_it_cannot_load(board_venv, overlay):
    r = _run(board_venv, str(overlay), "--backend", "simulated", "--dataset", "digits", "--runs", "1")
    assert r.returncode == 2 and "needs sklearn" in r.stderr and "Traceback" not in r.stderr
