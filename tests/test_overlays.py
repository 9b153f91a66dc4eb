"""PYNQ overlays: board presets, refusals, the generated Tcl run under tclsh against recording stubs of every
Vitis HLS / Vivado command it uses, the stream wrapper's g++ C-simulation, and --build with stand-in tools."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import needs

from approxhls.errors import ApproxHLSError, ProjectError, ToolMissingError
from approxhls.host import packing
from approxhls.host.spec import load_target
from approxhls.overlays import (
    BOARDS,
    OverlayOptions,
    build_overlay,
    verify_wrapper,
    write_overlay,
)
from approxhls.overlays.boards import PS_KINDS

STUBS = Path(__file__).parent / "tclstubs"
TCLSH = shutil.which("tclsh")
needs_tclsh = needs("tclsh")


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """A planned io_parallel MLP and a planned io_stream CNN (approximate products in every layer)."""
    from conftest import randomize_weights

    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.models.zoo import build_model

    d = tmp_path_factory.mktemp("overlay_prj")
    out = {}
    for io, model in (("io_parallel", "mlp"), ("io_stream", "cnn")):
        m = build_model(model, (8, 8, 1), 10, "fixed-w8a8", width=0.5)
        randomize_weights(m, seed=7, low=-0.5, high=0.5)
        convert_model(m, d / io, ConvertOptions(io_type=io), plan={"default": "drum_u8_k5"})
        out[io] = d / io
    return out


def _records(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()]


_LAUNCH = {"run_vitis_hls.tcl": ["-f"], "run_vitis_run.tcl": ["--mode", "hls", "--tcl"], "run_vivado.tcl": ["-source"]}


def _run_tcl(runner: str, script: str, cwd: Path, record: Path, release: str | None = None):
    env = os.environ | {"APPROXHLS_TCL_RECORD": str(record)} | ({"APPROXHLS_STUB_RELEASE": release} if release else {})
    return subprocess.run([TCLSH, str(STUBS / runner), *_LAUNCH[runner], script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


# ---- boards and refusals -------------------------------------------------------------------------------------
def test_every_board_names_a_known_ps_and_a_part():
    assert {"pynq-z2", "zcu104", "kv260", "ultra96-v2"} <= set(BOARDS)
    for b in BOARDS.values():
        assert b.ps in PS_KINDS and b.part and b.board_part.count(":") == 3
        assert b.default_clock_mhz <= b.ps_kind.max_clock_mhz


@pytest.mark.parametrize("opts, match", [
    (OverlayOptions(board="de10-nano"), "unknown board 'de10-nano'; known boards: kv260, pynq-z2"),
    (OverlayOptions(board="pynq-z2", clock_mhz=400), "clock 400 MHz is impossible on pynq-z2"),
    (OverlayOptions(clock_mhz=float("nan")), "clock nan MHz is impossible on zcu104"),
    (OverlayOptions(board="zcu104", clock_mhz=0), "clock 0 MHz is impossible on zcu104"),
    (OverlayOptions(batch=0), "batch 0 is impossible"),
    (OverlayOptions(batch=10_000_000), r"batch 10000000 needs 640,000,000-byte DMA transfers \(64 bytes per sample\).* use --batch 1048575 "),
    (OverlayOptions(word_bits=16), "word width 16 bits is not possible .* choose one of 32, 64"),
])
def test_refusals_name_the_reason(projects, tmp_path, opts, match):
    with pytest.raises(ApproxHLSError, match=match):
        write_overlay(projects["io_parallel"], tmp_path / "ov", opts)
    assert not (tmp_path / "ov").exists() and not list(tmp_path.iterdir())  # nothing half-written


def test_existing_directory_needs_force_and_must_be_an_overlay(projects, tmp_path):
    write_overlay(projects["io_parallel"], tmp_path / "ov")
    with pytest.raises(ProjectError, match="pass --force"):
        write_overlay(projects["io_parallel"], tmp_path / "ov")
    write_overlay(projects["io_parallel"], tmp_path / "ov", overwrite=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "thesis.tex").write_text("precious")
    with pytest.raises(ProjectError, match="not an overlay directory"):
        write_overlay(projects["io_parallel"], tmp_path / "other", overwrite=True)
    assert (tmp_path / "other" / "thesis.tex").exists()


def test_overlay_json_is_what_the_host_reads(projects, tmp_path):
    spec = write_overlay(projects["io_stream"], tmp_path / "ov", OverlayOptions(board="kv260", batch=100))
    t = load_target(tmp_path / "ov")
    assert t.kind == "overlay" and t.project_dir.resolve() == projects["io_stream"].resolve()
    meta = json.loads((projects["io_stream"] / "approxhls.json").read_text())
    assert t.input.shape == meta["input_shape"] and t.output.shape == meta["output_shape"]
    assert str(t.input.type) == "ap_ufixed<8,0>" and t.input.field_bits == 8
    assert t.output.field_bits == 32 and t.output.type.width <= 32 and t.word_bits == 64
    assert spec["plan"] == meta["plan"] and spec["board"] == "kv260" and spec["part"] == BOARDS["kv260"].part
    # 100 samples x 5 output words x 8 bytes = 4000 B < 100 x 8 input words x 8 B = 6400 B -> 13 bits -> minimum 14
    assert spec["dma"]["length_width"] == 14 and spec["dma"]["max_transfer_bytes"] == 2**14 - 1
    assert spec["bitfile"] == f"{meta['project_name']}.bit" and spec["ip"]["batch_offset"] == 0x10


# ---- the Tcl scripts under tclsh with recording stubs -------------------------------------------------------
@needs_tclsh
@pytest.mark.parametrize("board", sorted(BOARDS))
def test_scripts_run_in_order_with_the_board_settings(projects, tmp_path, board):
    out = tmp_path / "ov"
    spec = write_overlay(projects["io_parallel"], out, OverlayOptions(board=board, clock_mhz=125, batch=4096))
    rec = tmp_path / "record.txt"
    r = _run_tcl("run_vitis_hls.tcl", "build_ip.tcl", out, rec)
    assert r.returncode == 0, r.stderr
    r = _run_tcl("run_vivado.tcl", "build_overlay.tcl", out, rec)
    assert r.returncode == 0, r.stderr
    calls = _records(rec)
    names = [c[0] for c in calls]
    assert "STUB_ERROR" not in names
    b, ps = BOARDS[board], BOARDS[board].ps_kind
    top = spec["ip"]["vlnv"].split(":")[2]

    def first(name):
        return names.index(name)

    # Vitis HLS: project, top, sources, solution, part, clock, synthesis, export
    order = ["open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock", "csynth_design",
             "export_design", "create_project", "update_ip_catalog", "create_bd_design", "create_bd_cell",
             "apply_bd_automation", "connect_bd_intf_net", "assign_bd_address", "validate_bd_design",
             "save_bd_design", "make_wrapper", "launch_runs", "wait_on_run", "open_run", "report_utilization"]
    assert [first(n) for n in order] == sorted(first(n) for n in order)
    assert calls[first("set_part")] == ["set_part", b.part]
    clock = calls[first("create_clock")]
    assert float(clock[clock.index("-period") + 1]) == pytest.approx(8.0)
    assert calls[first("set_top")] == ["set_top", top]
    export = calls[first("export_design")]
    assert export[export.index("-ipname") + 1] == top and export[export.index("-format") + 1] == "ip_catalog"
    # Vivado: the board's part and board part, its PS (newest version in the catalog), DMA sized for the batch
    create = calls[first("create_project")]
    assert create[create.index("-part") + 1] == b.part
    board_part = next(c[2] for c in calls if c[:2] == ["set_property", "board_part"])
    assert board_part == ("xilinx.com:kv260_som:part0:1.4" if board == "kv260" else b.board_part)  # newest files
    # hls4ml's solution settings are kept
    assert ["config_compile", "-name_max_length", "80"] in calls
    assert ["config_schedule", "-enable_dsp_full_reg=false"] in calls
    cells = {c[-1]: c[c.index("-vlnv") + 1] for c in calls if c[0] == "create_bd_cell"}
    assert cells[ps.cell].startswith(f"xilinx.com:ip:{ps.ip}:")
    if ps.ip == "zynq_ultra_ps_e":
        assert cells[ps.cell].endswith(":3.5")
    assert cells["axi_dma_0"] == "xilinx.com:ip:axi_dma:7.1" and cells[spec["ip"]["name"]] == spec["ip"]["vlnv"]
    props = {c[-1]: dict(zip(*[iter(c[2].split())] * 2)) for c in calls if c[0] == "set_property" and c[1] == "-dict"}
    assert props[ps.cell][ps.clock_property] == "125"
    if ps.ip == "zynq_ultra_ps_e":  # the preset's clock is overridden, as FINN does
        assert props[ps.cell]["CONFIG.PSU__OVERRIDE__BASIC_CLOCK"] == "0"
    fan_ports = [c for c in calls if c[0] == "create_bd_port"]
    if b.fan:  # KV260: the fan enable is a PL pin held on, with its constraint
        assert fan_ports == [["create_bd_port", "-dir", "O", "fan_en_b"]]
        xdc = (out / "vivado" / "fan.xdc").read_text()
        assert "PACKAGE_PIN A12" in xdc and "fan_en_b" in xdc
        assert ["connect_bd_net", "fan_on/dout", "fan_en_b"] in calls
    else:
        assert not fan_ports
    dma = props["axi_dma_0"]
    in_bytes = 4096 * spec["word_bits"] // 8 * packing.words_per_sample(64, 8, 64)
    assert int(dma["CONFIG.c_sg_length_width"]) == spec["dma"]["length_width"] == in_bytes.bit_length()
    assert dma["CONFIG.c_include_sg"] == "0"
    assert dma["CONFIG.c_m_axis_mm2s_tdata_width"] == dma["CONFIG.c_s_axis_s2mm_tdata_width"] == str(spec["word_bits"])
    nets = [c[1:] for c in calls if c[0] == "connect_bd_intf_net"]
    ip = spec["ip"]["name"]
    assert ["axi_dma_0/M_AXIS_MM2S", f"{ip}/in_stream"] in nets and [f"{ip}/out_stream", "axi_dma_0/S_AXIS_S2MM"] in nets
    autos = {c[-1]: c[c.index("-config") + 1] for c in calls if c[0] == "apply_bd_automation"}
    assert autos[f"{ip}/s_axi_control"] == f"Master /{ps.cell}/{ps.master} Clk Auto"
    assert autos["axi_dma_0/M_AXI_S2MM"] == f"Slave /{ps.cell}/{ps.memory_port} Clk Auto"
    # PYNQ needs NAME.bit and NAME.hwh side by side
    assert (out / spec["bitfile"]).exists() and (out / spec["bitfile"]).with_suffix(".hwh").exists()


def _overlay_with_ip(projects, tmp_path) -> tuple[Path, Path]:
    """An io_parallel PYNQ-Z2 overlay whose IP the Vitis HLS stand-in has exported: (overlay dir, record file)."""
    out, rec = tmp_path / "ov", tmp_path / "record.txt"
    write_overlay(projects["io_parallel"], out, OverlayOptions(board="pynq-z2"))
    assert _run_tcl("run_vitis_hls.tcl", "build_ip.tcl", out, rec).returncode == 0
    return out, rec


@needs_tclsh
def test_stubs_catch_a_broken_script(projects, tmp_path):
    """Without the PS configuration line the design uses a disabled port: the stubs (like Vivado) refuse it."""
    out, rec = _overlay_with_ip(projects, tmp_path)
    script = (out / "build_overlay.tcl").read_text()
    lines = [ln for ln in script.splitlines() if not ln.startswith("set_property -dict [list CONFIG.PCW_USE")]
    assert len(lines) == len(script.splitlines()) - 1
    (out / "broken.tcl").write_text("\n".join(lines))
    r = _run_tcl("run_vivado.tcl", "broken.tcl", out, rec)
    assert r.returncode != 0 and "CONFIG.PCW_USE_M_AXI_GP0 is not 1" in r.stderr
    # and the overlay script refuses to start when the IP has not been built
    shutil.rmtree(out / f"{json.loads((out / 'overlay.json').read_text())['ip']['vlnv'].split(':')[2]}_prj")
    r = _run_tcl("run_vivado.tcl", "build_overlay.tcl", out, rec)
    assert r.returncode != 0 and "run build_ip.tcl with Vitis HLS first" in r.stderr


@needs_tclsh
@pytest.mark.parametrize("env, needle", [
    ({"APPROXHLS_STUB_WNS": "-0.214"}, "timing not met at 100 MHz (WNS -0.214 ns"),
    ({"APPROXHLS_STUB_WHS": "-0.01"}, "WHS -0.01 ns"),
    ({"APPROXHLS_STUB_RELEASE": "2022.1"}, "Vivado 2022.1 is older than 2022.2"),
])
def test_overlay_script_refuses_failed_timing_and_old_vivado(projects, tmp_path, monkeypatch, env, needle):
    out, rec = _overlay_with_ip(projects, tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    r = _run_tcl("run_vivado.tcl", "build_overlay.tcl", out, rec)
    assert r.returncode != 0 and needle in r.stderr, r.stderr
    assert not (out / "approxhls_model.bit").exists() and not list(out.glob("*.bit"))  # nothing shipped


@needs_tclsh
def test_ip_script_refuses_an_old_vitis_hls(projects, tmp_path, monkeypatch):
    out = tmp_path / "ov"
    write_overlay(projects["io_parallel"], out)
    monkeypatch.setenv("APPROXHLS_STUB_RELEASE", "2022.1")
    r = _run_tcl("run_vitis_hls.tcl", "build_ip.tcl", out, tmp_path / "record.txt")
    assert r.returncode != 0 and "Vitis HLS 2022.1 is older than 2022.2" in r.stderr


@needs_tclsh
def test_stubs_refuse_unknown_or_out_of_range_ip_parameters(projects, tmp_path):
    out, rec = _overlay_with_ip(projects, tmp_path)
    script = (out / "build_overlay.tcl").read_text()
    for bad, needle in (("CONFIG.c_sg_length_width {%d}", "outside 8..26"),
                        ("CONFIG.c_sg_lenght_width {%d}", "has no parameter c_sg_lenght_width")):
        width = json.loads((out / "overlay.json").read_text())["dma"]["length_width"]
        (out / "broken.tcl").write_text(script.replace(f"CONFIG.c_sg_length_width {{{width}}}", bad % 27))
        r = _run_tcl("run_vivado.tcl", "broken.tcl", out, rec)
        assert r.returncode != 0 and needle in r.stderr, r.stderr
    # an automation key the rule does not take
    (out / "broken.tcl").write_text(script.replace("Clk Auto", "Clock Auto", 1))
    r = _run_tcl("run_vivado.tcl", "broken.tcl", out, rec)
    assert r.returncode != 0 and "has no config key Clock" in r.stderr, r.stderr


# ---- the stream wrapper, C-simulated with g++ --------------------------------------------------------------
@pytest.mark.parametrize("io_type, word_bits, n", [  # both io types and word sizes in the default run
    pytest.param("io_parallel", 64, 23, marks=pytest.mark.slow), ("io_stream", 64, 17), ("io_parallel", 32, 2)])
def test_wrapper_csim_equals_the_kernel(projects, tmp_path, io_type, word_bits, n):
    out = tmp_path / "ov"
    spec = write_overlay(projects[io_type], out, OverlayOptions(word_bits=word_bits, batch=64))
    from conftest import on_grid_inputs

    x = on_grid_inputs(load_target(out).input.shape, n, seed=n)
    res = verify_wrapper(out, x)
    # the testbench checked TLAST/TKEEP and every field against the kernel; here the host's unpacking of the
    # wrapper's words equals hls4ml's own C-simulation of the project
    assert res["testbench"].startswith(f"PASS {n} samples")
    out_words = packing.words_per_sample(spec["output"]["shape"][0], spec["output"]["field_bits"], word_bits)
    assert res["words_out"] == n * out_words
    assert res["equal_to_csim"] and res["mismatches_vs_csim"] == 0
    if io_type == "io_stream":  # a whole sample fits the streams between the sequential steps (no deadlock)
        text = (out / "hls" / "firmware" / f"{spec['name']}_axis.cpp").read_text()
        assert "kernel_in depth = 64" in text and "kernel_out depth = 1" in text


def test_wrapper_testbench_detects_a_packing_bug(projects, tmp_path):
    """A wrapper that drops the sign extension of its output fields fails its own testbench."""
    out = tmp_path / "ov"
    spec = write_overlay(projects["io_parallel"], out, OverlayOptions(batch=8))
    assert spec["output"]["type"].startswith("ap_fixed")
    src = out / "hls" / "firmware" / f"{spec['name']}_axis.cpp"
    text = src.read_text()
    assert "field = (ap_int<" in text
    src.write_text(text.replace("field = (ap_int<", "field = (ap_uint<"))  # zero- instead of sign-extended
    from conftest import on_grid_inputs

    with pytest.raises(ApproxHLSError, match="FAIL: sample"):
        verify_wrapper(out, on_grid_inputs((64,), 8, seed=1))


# ---- --build ----------------------------------------------------------------------------------------------------
def test_build_without_tools_names_the_tool_and_version(projects, tmp_path, monkeypatch):
    write_overlay(projects["io_parallel"], tmp_path / "ov")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolMissingError, match=r"vivado not found on PATH: .* Vivado 2022\.2 to 2025\.2 \(written for 2023\.2"):
        build_overlay(tmp_path / "ov")


@needs_tclsh
@pytest.mark.parametrize("release, needle", [
    ("2022.1", "Vivado 2022.1 found: approxhls overlays need Vitis HLS and Vivado 2022.2 or newer"),
    ("2019.2", "Vivado 2019.2 found"),
])
def test_build_refuses_a_release_before_2022_2(projects, tmp_path, monkeypatch, release, needle):
    _stand_in_tools(tmp_path, monkeypatch, release)
    write_overlay(projects["io_parallel"], tmp_path / "ov")
    with pytest.raises(ApproxHLSError, match=needle):
        build_overlay(tmp_path / "ov")
    assert not (tmp_path / "record.txt").exists()  # refused before any tool ran a script


@needs_tclsh
def test_build_warns_on_a_release_newer_than_checked(projects, tmp_path, monkeypatch):
    _stand_in_tools(tmp_path, monkeypatch, "2026.1")
    write_overlay(projects["io_parallel"], tmp_path / "ov")
    summary = build_overlay(tmp_path / "ov")
    assert summary["steps"][0]["tool"] == "vitis-run"
    assert summary["warnings"] == ["Vivado 2026.1 is newer than the releases the scripts were checked against "
                                   "(2022.2 to 2025.2)"]


@needs_tclsh
@pytest.mark.parametrize("runner, release, needle", [
    ("run_vitis_hls.tcl", "2025.1", "vitis_hls: not available in Vitis 2025.1"),
    ("run_vitis_run.tcl", "2022.2", "vitis-run: command not found"),
])
def test_stand_ins_model_which_launcher_each_release_has(projects, tmp_path, runner, release, needle):
    out = tmp_path / "ov"
    write_overlay(projects["io_parallel"], out)
    r = _run_tcl(runner, "build_ip.tcl", out, tmp_path / "record.txt", release)
    assert r.returncode == 127 and needle in r.stderr


@needs_tclsh
def test_vitis_run_stand_in_refuses_tcl_arguments(projects, tmp_path):
    """vitis-run passes no arguments to the script (fpga-network-stack PR 48): the stand-in refuses them."""
    out = tmp_path / "ov"
    write_overlay(projects["io_parallel"], out)
    env = os.environ | {"APPROXHLS_TCL_RECORD": str(tmp_path / "r.txt"), "APPROXHLS_STUB_RELEASE": "2025.1"}
    r = subprocess.run([TCLSH, str(STUBS / "run_vitis_run.tcl"), "--mode", "hls", "--tcl", "build_ip.tcl", "extra"],
                       cwd=out, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown option or argument 'extra'" in r.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("release, launcher", [("2024.2", "vitis_hls -l logs/vitis_hls.log -f"),
                                               ("2025.1", "vitis-run --mode hls --tcl"), ("", "vitis_hls -l")])
def test_makefile_picks_the_hls_launcher_of_the_release(projects, tmp_path, release, launcher):
    out = tmp_path / "ov"
    write_overlay(projects["io_parallel"], out)
    fake = tmp_path / "vivado"
    fake.write_text(f"#!/bin/sh\necho 'Vivado v{release} (64-bit)'\n" if release else "#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    r = subprocess.run(["make", "-n", "-C", str(out), "ip", f"VIVADO={fake}"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and f"{launcher}" in r.stdout and "build_ip.tcl" in r.stdout, r.stdout + r.stderr


def _stand_in_tools(tmp_path, monkeypatch, release: str) -> Path:
    """vitis_hls, vitis-run and vivado on PATH as the recording stand-ins of ``release``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, runner in (("vitis_hls", "run_vitis_hls.tcl"), ("vitis-run", "run_vitis_run.tcl"),
                         ("vivado", "run_vivado.tcl")):
        exe = bin_dir / tool
        exe.write_text(f'#!/bin/sh\nexec "{TCLSH}" "{STUBS / runner}" "$@"\n')
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("APPROXHLS_TCL_RECORD", str(tmp_path / "record.txt"))
    monkeypatch.setenv("APPROXHLS_STUB_RELEASE", release)
    return bin_dir


@needs_tclsh
@pytest.mark.parametrize("release, launcher", [("2023.2", "vitis_hls"), ("2022.2", "vitis_hls"),
                                               ("2025.1", "vitis-run"), ("2025.2", "vitis-run")])
def test_build_with_stand_in_tools_parses_reports(projects, tmp_path, monkeypatch, release, launcher):
    """The release on PATH decides the HLS launcher: vitis_hls -f up to 2024.2, vitis-run --mode hls --tcl from
    2025.1 (whose stand-in has no vitis_hls, as the release has none to rely on)."""
    _stand_in_tools(tmp_path, monkeypatch, release)
    out = tmp_path / "ov"
    write_overlay(projects["io_stream"], out, OverlayOptions(board="zcu104"))
    summary = build_overlay(out, jobs=2)
    assert [s["tool"] for s in summary["steps"]] == [launcher, "vivado"] and summary["release"] == release
    assert all(s["returncode"] == 0 for s in summary["steps"]) and summary["warnings"] == []
    launch = next(c for c in _records(tmp_path / "record.txt") if c[0] == "LAUNCH")
    assert launch[1] == launcher and launch[2:] == (["--mode", "hls", "--tcl", "build_ip.tcl"] if launcher == "vitis-run"
                                                    else ["-f", "build_ip.tcl", "-l", "logs/vitis_hls.log"])
    assert summary["hls"]["LUT"] == 8765 and summary["hls"]["latency_worst_cycles"] == 12345
    assert summary["hls"]["target_clock_ns"] == 10
    u = summary["utilization"]
    assert (u["LUT"], u["available_LUT"], u["FF"], u["BRAM_tiles"], u["DSP"]) == (12001, 53200, 15002, 4.5, 17)
    assert summary["timing"] == {"wns_ns": 1.234, "tns_ns": 0, "whs_ns": 0.021, "ths_ns": 0, "timing_met": True}
    assert json.loads((out / "build.json").read_text())["bitfile"] == summary["bitfile"]
    assert (out / "logs" / "vivado.stdout.log").read_text().strip().endswith(".hwh")
    launch = next(c for c in _records(tmp_path / "record.txt") if c[0] == "launch_runs")
    assert launch[launch.index("-jobs") + 1] == "2"


@pytest.mark.parametrize("out_of", ["cwd", "parent", "project", "holds_project"])
def test_overlay_refuses_an_output_it_would_destroy(projects, tmp_path, monkeypatch, out_of):
    """--out . (or an ancestor of the working directory, or a converted project, or a directory holding it) is
    refused before anything is written, and nothing there is touched."""
    import shutil as sh

    prj = tmp_path / "work" / "prj"
    sh.copytree(projects["io_parallel"], prj)
    (tmp_path / "work" / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path / "work")
    out = {"cwd": ".", "parent": str(tmp_path), "project": "prj", "holds_project": str(tmp_path / "work")}[out_of]
    before = sorted(p.name for p in (tmp_path / "work").iterdir())
    with pytest.raises(ProjectError, match="working directory or one of its parents|is \\(or holds\\) the converted project"):
        write_overlay(prj, out, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == before
    assert (tmp_path / "work" / "notes.txt").read_text() == "mine" and (prj / "approxhls.json").exists()


@pytest.mark.parametrize("args, needle", [
    (["--check", "-3"], "--check must be a whole number of at least 0, got -3"),
    (["--golden", "-1"], "--golden must be a whole number of at least 0"),
    (["--jobs", "0"], "--jobs must be a whole number of at least 1"),
    (["--clock-mhz", "inf"], "clock inf MHz is impossible"),
])
def test_cli_overlay_refuses_nonsense_counts(projects, tmp_path, capsys, args, needle):
    from approxhls.cli import main

    assert main(["overlay", str(projects["io_parallel"]), "--out", str(tmp_path / "ov"), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and not (tmp_path / "ov").exists()


def test_default_board_is_zcu104_everywhere(projects, tmp_path):
    from approxhls.cli import build_parser
    from approxhls.overlays.overlay import DEFAULT_BOARD

    assert DEFAULT_BOARD == "zcu104" and OverlayOptions().board == "zcu104"
    a = build_parser().parse_args(["overlay", "prj", "--out", "x"])
    assert a.board == "zcu104"
    spec = write_overlay(projects["io_parallel"], tmp_path / "ov")
    assert spec["board"] == "zcu104" and spec["part"] == BOARDS["zcu104"].part


def test_cli_overlay_writes_scripts_and_checks_the_wrapper(projects, tmp_path):
    from approxhls.cli import main

    out = tmp_path / "ov"
    assert main(["overlay", str(projects["io_parallel"]), "--board", "ultra96-v2", "--out", str(out),
                 "--check", "4"]) == 0
    for f in ("build_ip.tcl", "build_overlay.tcl", "Makefile", "overlay.json"):
        assert (out / f).exists()
    if shutil.which("make"):  # the Makefile's C-simulation target reruns the testbench --check built
        r = subprocess.run(["make", "-s", "-C", str(out), "csim"], capture_output=True, text=True)
        assert r.returncode == 0 and "PASS 4 samples" in r.stdout, r.stderr
    assert main(["overlay", str(projects["io_parallel"]), "--board", "zedboard", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


# ---- side by side with hls4ml 1.3.0's own board flow (README: "approxhls overlays and hls4ml's board flows") -----
def test_side_by_side_with_hls4ml_vivado_accelerator(projects, tmp_path):
    """The same model (the io_parallel MLP of `projects`, seed 7) through hls4ml 1.3.0's VivadoAccelerator backend for
    pynq-z2 and through `approxhls overlay --board pynq-z2`: what each writes, as the README's table states it."""
    import inspect

    import hls4ml
    from conftest import randomize_weights
    from hls4ml.backends import VivadoBackend

    from approxhls.models.zoo import build_model

    assert "VitisUnified" not in hls4ml.backends.get_available_backends()  # not in 1.3.0
    m = build_model("mlp", (8, 8, 1), 10, "fixed-w8a8", width=0.5)
    randomize_weights(m, seed=7, low=-0.5, high=0.5)
    cfg = hls4ml.utils.config_from_keras_model(m, granularity="name", backend="VivadoAccelerator")
    va = tmp_path / "va"
    hls4ml.converters.convert_from_keras_model(m, hls_config=cfg, output_dir=str(va), backend="VivadoAccelerator",
                                               board="pynq-z2", io_type="io_parallel", interface="axi_stream",
                                               driver="python").write()
    axi = (va / "firmware" / "myproject_axi.cpp").read_text()
    design, project = (va / "design.tcl").read_text(), (va / "project.tcl").read_text()
    driver = (va / "axi_stream_driver.py").read_text()
    # hls4ml: one element per beat as float32, converted in the fabric; no control registers (ap_ctrl_none)
    assert "#pragma HLS INTERFACE axis port=in" in axi and "ap_ctrl_none port=return" in axi
    assert "set bit_width_hls_input 32" in project and "typedef float T_in;" in (va / "firmware" / "myproject_axi.h").read_text()
    assert "set clock_period 5" in project and "FCLK_CLK0 (100 MHz)" in design  # HLS at 200 MHz, PL clock 100 MHz
    assert "c_sg_length_width {26}" in design and "processing_system7:5.5" in design and "hier_0" in design
    assert not any(k in design for k in ("IRQ_F2P", "xlconcat", "axi_intc", "SLACK", "get_timing_paths"))
    assert ".wait()" in driver and "timeout" not in driver and "error" not in driver.lower()
    assert "vivado_hls -f build_prj.tcl" in inspect.getsource(VivadoBackend.build)  # Vivado HLS (2020.1 and older)
    # approxhls: ap_ctrl_hs control with a batch register, packed words, the board's clock for HLS and PL, a
    # timing check, no interrupt either (completion by DMASR polling in the host, with a deadline)
    out = tmp_path / "ov"
    spec = write_overlay(projects["io_parallel"], out, OverlayOptions(board="pynq-z2"))
    wrapper = (out / "hls" / "firmware" / f"{spec['name']}_axis.cpp").read_text()
    script = (out / "build_overlay.tcl").read_text()
    assert "mode = s_axilite port = return" in wrapper and "mode = s_axilite port = batch" in wrapper
    assert "mode = axis port = in_stream" in wrapper
    assert spec["word_bits"] == 64 and spec["input"]["field_bits"] == 8  # eight inputs per 64-bit beat
    assert "create_clock -period 10" in (out / "build_ip.tcl").read_text() and spec["clock_mhz"] == 100
    assert "get_timing_paths" in script and not any(k in script for k in ("IRQ_F2P", "xlconcat", "axi_intc"))
