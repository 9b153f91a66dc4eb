"""A board-only install works: run inside each venv of the PYNQ matrix (`make test-pynq`: the release's pynq, then
``pip install -c constraints-board.txt '.[board]'``; no TensorFlow, no hls4ml, no scikit-learn, no matplotlib),
``approxhls run`` drives an overlay directory through the simulated board, and says clearly what it cannot do
without the optional parts. Outside such a venv (the full install's suite) there is nothing here to check."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not os.environ.get("APPROXHLS_BOARD_VENV"),
    reason="runs in the board-only venvs of the PYNQ matrix (make test-pynq, which make test runs)")

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def overlay(tmp_path_factory):
    """The fixtures' ZCU104 overlay without the project beside it: the board has the overlay directory only."""
    import host_fixtures

    src = host_fixtures.load(Path(os.environ["APPROXHLS_HOST_FIXTURES"]))["overlays"]["w64"]
    d = tmp_path_factory.mktemp("board") / "ov"
    shutil.copytree(src, d, ignore=shutil.ignore_patterns("build"))
    spec = json.loads((d / "overlay.json").read_text())
    spec.pop("project")
    (d / "overlay.json").write_text(json.dumps(spec))
    return d


def _run(*args):
    return subprocess.run([str(BIN / "approxhls"), "run", *args], capture_output=True, text=True, timeout=600)


def test_board_venv_has_no_laptop_toolchain():
    import importlib.util as u

    import pynq

    assert [m for m in ("tensorflow", "hls4ml", "qkeras", "sklearn", "matplotlib") if u.find_spec(m)] == []
    assert os.environ.get("APPROXHLS_EXPECT_PYNQ", pynq.__version__) == pynq.__version__  # the image's pynq kept
    r = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr  # the board install's requirements are consistent


def test_board_venv_runs_an_overlay_on_the_simulated_board(overlay, tmp_path):
    report = tmp_path / "run.json"
    r = _run(str(overlay), "--backend", "simulated", "--self-test", "--runs", "5", "--batches", "1,8",
             "--power", "--power-seconds", "0.5", "--json", str(report))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "self-test: passed: 16 golden samples" in r.stdout
    assert "digits (shipped samples)" in r.stdout  # no scikit-learn needed
    assert "matplotlib is not installed" in r.stdout  # the plot is optional, and it says so
    data = json.loads(report.read_text())
    assert data["self_test"]["passed"] and data["n"] > 0 and data["power"]["available"]
    assert f"pynq {os.environ.get('APPROXHLS_EXPECT_PYNQ', '')}" in data["backend"]


def test_board_venv_explains_a_dataset_it_cannot_load(overlay):
    r = _run(str(overlay), "--backend", "simulated", "--dataset", "digits", "--runs", "1")
    assert r.returncode == 2 and "needs sklearn" in r.stderr and "Traceback" not in r.stderr


def test_board_venv_explains_the_missing_project(overlay):
    r = _run(str(overlay), "--backend", "csim")
    assert r.returncode == 2 and "names no converted project" in r.stderr and "Traceback" not in r.stderr
