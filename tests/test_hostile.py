"""Careless and hostile use of the conversion commands: every attempt ends with a message (exit code 2) or works;
never a traceback, a lost file, a hang or a command run from a name. (The multiplier library, the search and the
board have their own hostile tests: test_hostile_multipliers.py, test_search_cli.py, test_host.py.)"""

import json
import shutil

import numpy as np
import pytest
from conftest import mlp_project
from tensorflow import keras

from approxhls.cli import main

HOSTILE_DIR = "x\"y $(touch PWNED) `touch PWNED2` +'z' é ;w"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    mlp_project(d / "prj")
    from approxhls.models.zoo import build_model

    build_model("mlp", (8, 8, 1), 10, "fixed-w8a8", width=0.5).save(d / "model.h5")
    return d


def _run(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    return rc, out.err


@pytest.mark.parametrize("args,needle", [
    (["csim", "{prj}", "--limit", "0"], "--limit must be a whole number of at least 1"),
    (["csim", "{prj}", "--limit", "-5"], "--limit must be a whole number of at least 1"),
    (["diff", "{prj}", "--limit", "0"], "--limit must be a whole number of at least 1"),
    (["convert", "{model}", "--out", "{tmp}/p", "--verify", "-1"], "--verify must be a whole number of at least 0"),
    (["convert", "{model}", "--out", "{tmp}/p", "--reuse-factor", str(10 ** 20)], "reuse factor must be an integer"),
    (["convert", "{model}", "--out", "{tmp}/p", "--clock-period", "nan"], "clock period must be a number"),
    (["convert", "{model}", "--out", "{tmp}/p", "--name", "a\"b"], "project name"),
    (["convert", "{model}", "--out", "{tmp}/p", "--plan", "{tmp}"], "plan file"),
    (["csim", "{prj}", "--json", "{tmp}"], "is a directory"),
    (["csim", "{model}"], "not an approxhls project"),
])
def test_bad_options_end_in_a_message_naming_them(work, tmp_path, capsys, args, needle):
    fill = {"prj": work / "prj", "model": work / "model.h5", "tmp": tmp_path}
    rc, err = _run(capsys, *(a.format(**fill) for a in args))
    assert rc == 2 and needle in err, err
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("args, replaced", [
    (["csim", "{prj}", "--limit", "5", "--json", "{prj}/approxhls.json"], "{prj}/approxhls.json"),
    (["run", "{prj}", "--runs", "1", "--json", "{prj}/ir_weights.npz"], "{prj}/ir_weights.npz"),
    (["emulate", "{model}", "--limit", "5", "--json", "{model}"], "{model}"),
    (["cost", "{model}", "--json", "{model}"], "{model}"),
])
def test_a_report_never_replaces_what_the_command_reads(work, capsys, args, replaced):
    """--json at the project's own approxhls.json (or the model file) overwrote it with the report: the input was
    destroyed and every later command on it failed."""
    fill = {"prj": work / "prj", "model": work / "model.h5"}
    target = work / replaced.format(**fill)
    before = target.read_bytes()
    rc, err = _run(capsys, *(a.format(**fill) for a in args))
    assert rc == 2 and "would replace" in err and "a report never overwrites what the command reads" in err, err
    assert target.read_bytes() == before


def test_a_report_may_be_new_inside_an_input_but_its_plot_may_not_replace_one(work, tmp_path):
    from approxhls.errors import ApproxHLSError
    from approxhls.report import check_json_path

    prj = work / "prj"
    assert check_json_path(prj / "new_report.json", [str(prj)]) == prj / "new_report.json"  # nothing to lose
    (tmp_path / "figure.png").write_bytes(b"mine")
    with pytest.raises(ApproxHLSError, match="figure.png, which is \\(inside\\) the input"):
        check_json_path(tmp_path / "figure.json", [str(tmp_path / "figure.png")])


@pytest.mark.parametrize("damage", ["truncated", "not json", "a list", "key missing", "key mistyped"])
def test_a_damaged_project_file_is_named_with_its_key(work, tmp_path, capsys, damage):
    prj = tmp_path / "prj"
    shutil.copytree(work / "prj", prj)
    meta_path = prj / "approxhls.json"
    meta = json.loads(meta_path.read_text())
    text = {"truncated": meta_path.read_text()[:100], "not json": "\x00\x01", "a list": "[1, 2]",
            "key missing": json.dumps({k: v for k, v in meta.items() if k != "io_type"}),
            "key mistyped": json.dumps(meta | {"reuse_factor": "many"})}[damage]
    meta_path.write_text(text)
    rc, err = _run(capsys, "csim", prj, "--limit", "5")
    assert rc == 2 and "approxhls.json" in err
    if damage.startswith("key"):
        assert ("io_type" if damage == "key missing" else "reuse_factor") in err


def test_an_input_no_c_simulation_can_hold_is_refused_before_anything_is_written(tmp_path):
    from approxhls.errors import ProjectError
    from approxhls.hls.convert import ConvertOptions, convert_model

    # an element-wise layer: hls4ml converts it at once (a convolution's line-buffer code generation alone takes
    # minutes at this size)
    inp = keras.Input((12288, 12288, 3), name="x_in")
    m = keras.Model(inp, keras.layers.Activation("relu", name="r")(inp))
    with pytest.raises(ProjectError, match="GiB of layer outputs on its stack.*io_stream"):
        convert_model(m, tmp_path / "p", ConvertOptions())
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


def test_a_large_input_runs_on_a_stack_that_holds_it(tmp_path):
    """Layer outputs above the main thread's 8 MiB stack: the C-simulation runs in a thread with a stack that holds
    them (this input segfaulted the process before)."""
    from qkeras import QActivation

    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.project import Project
    from approxhls.sim.csimlib import CSimLibrary, stack_bytes
    from approxhls.sim.emulator import Emulator

    # element-wise (hls4ml generates a convolution's line-buffer code pixel by pixel: minutes at this size)
    inp = keras.Input((1024, 1024, 3), name="x_in")
    out = QActivation("quantized_relu(6, 2)", name="q")(inp)
    m = keras.Model(inp, out)
    convert_model(m, tmp_path / "p", ConvertOptions())
    prj = Project.load(tmp_path / "p")
    assert stack_bytes(prj.meta) > 8 << 20
    x = np.random.default_rng(0).integers(0, 256, (2, 1024, 1024, 3)) / 256
    y = CSimLibrary(tmp_path / "p").predict(x)
    assert np.array_equal(y, Emulator(prj.ir(), {}).predict(x))
    assert np.array_equal(y, m.predict(x, verbose=0).reshape(2, -1))


def test_an_overlay_in_a_hostile_directory_c_simulates_and_runs_no_command(work, tmp_path, monkeypatch):
    from approxhls.overlays.overlay import OverlayOptions, write_overlay
    from approxhls.overlays.wrapper import verify_wrapper

    """The working directory's name held a quote and $(...): the overlay's Makefile compiled it into a macro."""
    here = tmp_path / HOSTILE_DIR
    shutil.copytree(work / "prj", here / "prj")
    monkeypatch.chdir(here)
    write_overlay("prj", "ov", OverlayOptions(board="zcu104"))
    x = np.random.default_rng(1).integers(0, 256, (4, 8, 8, 1)) / 256
    assert verify_wrapper("ov", x)["equal_to_csim"]
    assert not list(tmp_path.rglob("PWNED*"))


def test_the_second_opinion_is_not_asked_where_its_interval_arithmetic_would_take_hours():
    """hls4ml's bit_exact pass unrolls every convolution window in numpy: a 1024x512 image is not given to it."""
    from approxhls.fixedpoint import FixedType
    from approxhls.hls.options import ConvertOptions
    from approxhls.hls.second_opinion import MAX_ELEMENTS, hls4ml_bit_exact_types

    inp = keras.Input((1024, 512, 1), name="x_in")
    m = keras.Model(inp, keras.layers.Conv2D(2, 3, name="c")(inp))
    r = hls4ml_bit_exact_types(m, ConvertOptions(), FixedType.parse("ap_ufixed<8,0>"))
    assert r["status"].startswith("not asked") and f"{MAX_ELEMENTS:,}" in r["status"] and r["layers"] == {}
