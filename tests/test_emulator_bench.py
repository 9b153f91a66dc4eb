"""The emulator bench's two baselines and its held-ISA run: the goals against plain float Keras judged on the worst
alternation and rendered met / not met, the CPU's ISA recorded, and oneDNN's ISA cap honoured by the int8 engine."""

import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

AMX = "processor\t: 0\nmodel name\t: Some Xeon\nflags\t\t: fpu avx2 avx512f avx512_vnni amx_tile amx_int8 avx_vnni\n"
GOALS = {"emu_vs_keras": {"exact": 1.0, "separable": 1.0, "low-rank": 1.0, "table": 0.5}, "emu_vs_csim": 100,
         "emu_vs_float": {"exact": 1.5, "separable": 1.0, "low-rank": 0.7, "table": 0.4}}


def test_onednn_held_below_vnni_turns_the_int8_engine_off(tmp_path, monkeypatch):
    """Held to AVX2, oneDNN adds u8 x s8 pairs in int16 (saturating) whatever the CPU has: the int8 engine must not
    count on VNNI or AMX then."""
    from approxhls.sim.directconv import int8_hardware

    cpu = tmp_path / "cpuinfo"
    cpu.write_text(AMX)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    assert int8_hardware(str(cpu)) == ["avx512_vnni", "avx_vnni", "amx_int8"]
    assert int8_hardware(str(cpu), isa_cap="AVX2") == [] and int8_hardware(str(cpu), isa_cap="avx512_core") == []
    assert int8_hardware(str(cpu), isa_cap="AVX512_CORE_VNNI") == ["avx512_vnni"]
    assert int8_hardware(str(cpu), isa_cap="AVX2_VNNI") == ["avx_vnni"]
    assert int8_hardware(str(cpu), isa_cap="AVX512_CORE_AMX") == ["avx512_vnni", "avx_vnni", "amx_int8"]
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")  # what the bench's second run sets
    assert int8_hardware(str(cpu)) == []
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setenv("DNNL_MAX_CPU_ISA", "AVX2")  # oneDNN's older name
    assert int8_hardware(str(cpu)) == []


def test_cpu_model_and_isa_flags_are_read_from_cpuinfo(tmp_path):
    import emulator

    cpu = tmp_path / "cpuinfo"
    cpu.write_text(AMX)
    assert emulator.cpu_model(str(cpu)) == "Some Xeon"
    assert emulator.cpu_isa(str(cpu)) == ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "amx_tile"]
    assert emulator.cpu_isa(str(tmp_path / "missing")) == []


def _row(kind, float_pairs, qkeras_pairs=((2.0, 1.0),)):
    return {"model": "cnn", "io_type": "io_parallel", "multiplier": kind, "kind": kind, "engines": "numpy",
            "emulator_img_s": 1.0, "keras_img_s": 1.0, "float_img_s": 1.0, "pair_seconds": [list(p) for p in qkeras_pairs],
            "float_pair_seconds": [list(p) for p in float_pairs], "emu_vs_csim": 500.0}


def test_float_goals_are_judged_on_the_worst_alternation_and_said_met_or_not():
    import render_results as rr

    exact = _row("exact", [(3.2, 2.0), (1.6, 1.0)])  # 1.6 and 1.6: met (>= 1.5)
    table = _row("table", [(1.0, 2.0), (0.3, 1.0)])  # 0.5 and 0.3: the worst, 0.3, misses 0.4
    assert rr.speed_ratio(exact, rr.FLOAT_PAIRS) == 1.6 and rr.speed_ratio(table, rr.FLOAT_PAIRS) == 0.3
    assert rr.speed_ratio(table) == 2.0  # the QKeras ratio reads its own pairs
    assert rr.meets_float_goal(exact, GOALS) and not rr.meets_float_goal(table, GOALS)
    meta = {"isa": ["avx2", "avx512f", "avx512_vnni"]}
    text = rr.float_findings([exact, table], GOALS, meta, "this run")
    assert "cnn / exact (exact): met (1.60 against 1.5)" in text
    assert "cnn / table (table): **not met** (0.30 against 0.4)" in text
    assert "1 of 2 rows meet the goal against plain float Keras" in text and "this CPU has no AMX" in text
    assert "the goals are set for a CPU without it" in rr.float_findings([exact], GOALS, {"isa": ["amx_int8"]}, "x")
    # data from before the float baseline: said, not judged
    old = {k: v for k, v in exact.items() if k != rr.FLOAT_PAIRS}
    assert "not measured" in rr.float_findings([old], GOALS, meta, "this run")


def test_the_held_isa_run_is_rendered_as_its_own_section():
    import render_results as rr

    held_row = dict(_row("exact", [(1.0, 1.0)]), emulator_equals_first_run=True)
    d = {"meta": {"goals": GOALS}, "held_isa": {"isa": "AVX2", "rows": [held_row],
                                                "meta": {"cpu": "Some Xeon", "isa": ["avx2"], "int8_hardware": [],
                                                         "onednn_max_cpu_isa": "AVX2"}}}
    text = rr.held_isa(d)
    assert text.startswith("\n### oneDNN held to AVX2") and "ONEDNN_MAX_CPU_ISA=AVX2" in text
    assert "oneDNN held to AVX2; int8 instructions oneDNN may use: none (the int8 engine is off)" in text
    assert "| cnn (io_parallel) | exact | numpy |" in text and "**not met** (1.00 against 1.5)" in text
    assert "nothing above AVX2 to hold back" in text  # an AVX2-only CPU: the held run is the first run again
    d["held_isa"]["meta"]["isa"] = ["avx2", "avx512f", "avx512_vnni"]
    assert "nothing above AVX2" not in rr.held_isa(d)
    assert "Not measured" in rr.held_isa({"meta": {"goals": GOALS}})


def test_the_bench_holds_onednn_in_the_subprocess_environment(tmp_path, monkeypatch):
    """The held run is this script again with ONEDNN_MAX_CPU_ISA=AVX2 in its subprocess's environment (oneDNN reads
    it when it starts), never in this process's; its JSON comes back as the held section."""
    import json
    import os
    import types

    import emulator

    seen = {}

    def fake_run(cmd, env, check, timeout):
        seen.update(cmd=cmd, env=env)
        Path(cmd[cmd.index("--held-run") + 1]).write_text(json.dumps({"meta": {"cpu": "x"}, "rows": []}))

    monkeypatch.setattr(emulator.subprocess, "run", fake_run)
    held = emulator.run_held(types.SimpleNamespace(quick=True, models=["cnn"]), tmp_path)
    assert held == {"meta": {"cpu": "x"}, "rows": []}
    assert seen["env"]["ONEDNN_MAX_CPU_ISA"] == "AVX2" and "ONEDNN_MAX_CPU_ISA" not in os.environ
    assert seen["cmd"][1] == emulator.__file__ and "--quick" in seen["cmd"]
    assert seen["cmd"][seen["cmd"].index("--models") + 1] == "cnn"
    assert seen["cmd"][seen["cmd"].index("--reference") + 1] == str(tmp_path)  # the first run's outputs
