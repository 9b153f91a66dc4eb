"""The host library driven through PYNQ's own code (pynq 4.0: pynq.lib.dma.DMA, DefaultIP, MMIO, PynqBuffer,
pmbus Rail / SysFSSensor) against the simulated board: a PG021 register model of the AXI DMA and an ap_ctrl_hs
model of the core whose stream side is the overlay's own wrapper compiled with g++. Faults are injected in the
models; the driver must name them, recover, and keep every output bit-exact afterwards."""

import json
import subprocess
import sys

import numpy as np
import pytest

from approxhls.fixedpoint import FixedType
from approxhls.host import Accelerator, packing
from approxhls.host.backends import BoardError

try:
    import pynq  # noqa: F401  (make installs it: PYNQ's driver code is what these tests drive)
except ImportError:  # a broken setup fails, it does not skip
    pytest.fail("pynq is not installed: run `make setup` (it installs pynq 4.0 into .venv)", pytrace=False)


def _pack(codes, field_bits, word_bits):  # independent of approxhls.host.packing
    per = word_bits // field_bits
    words = []
    for i in range(0, len(codes), per):
        w = 0
        for j, c in enumerate(codes[i: i + per]):
            w |= (c & ((1 << field_bits) - 1)) << (j * field_bits)
        words.append(w)
    return words


# ---- fixtures ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from conftest import mlp_project

    return mlp_project(tmp_path_factory.mktemp("host") / "prj", seed=4, plan={"default": "drum_u8_k5"})


@pytest.fixture(scope="module")
def overlays(project, tmp_path_factory):
    """Two overlays of the project: 64-bit words and a large batch; 32-bit words and a batch of 8 (the host
    must split inputs). Both ship golden vectors from the wrapper's C-simulation."""
    from approxhls.overlays import OverlayOptions, write_overlay
    from approxhls.overlays.wrapper import write_golden

    d = tmp_path_factory.mktemp("overlays")
    out = {}
    for key, opts in {"w64": OverlayOptions(board="zcu104", batch=256), "w32": OverlayOptions(board="zcu104", batch=8, word_bits=32)}.items():
        write_overlay(project, d / key, opts)
        write_golden(d / key, 16)
        out[key] = d / key
    return out


@pytest.fixture
def inputs(digits):
    return digits.x_test[:150].reshape(150, -1).astype(np.float64)


@pytest.fixture(scope="module")
def reference(project):
    from approxhls.sim.csimlib import CSimLibrary

    lib = CSimLibrary(project)
    return lambda x: lib.predict(np.asarray(x, dtype=np.float32)).reshape(len(x), -1)


# ---- packing ------------------------------------------------------------------------------------------------
def test_packing_roundtrip_matches_independent_bit_packing():
    t = FixedType.parse("ap_fixed<12,4>")
    rng = np.random.default_rng(0)
    x = t.from_codes(rng.integers(t.code_min, t.code_max + 1, (7, 13)))
    words = packing.encode(x, t, 16, 64)
    assert words.shape == (7, 4) and words.dtype == np.uint64
    for i in range(7):
        assert words[i].tolist() == _pack(t.to_codes(x[i]).tolist(), 16, 64)
    assert np.array_equal(packing.decode(words, t, 16, 64, 13), x)


# ---- bit-exact through PYNQ's driver -------------------------------------------------------------------
@pytest.mark.parametrize("key", ["w64", "w32"])
def test_simulated_board_is_bit_exact_through_pynqs_driver(overlays, inputs, reference, key):
    from pynq.buffer import PynqBuffer
    from pynq.lib.dma import DMA

    with Accelerator.open(overlays[key], backend="simulated") as acc:
        b = acc.backend
        assert isinstance(b.platform.dma, DMA) and isinstance(b.in_buf, PynqBuffer)  # PYNQ's classes, not ours
        y = acc.predict(inputs)
        assert acc.simulated and "simulated board" in acc.describe()
        if key == "w32":
            assert b.max_batch == 8 and len(acc.last_batches) == -(-len(inputs) // 8)  # split to fit the batch
    assert np.array_equal(y, reference(inputs))  # every element: encode, DMA, wrapper, DMA, decode


def test_cache_is_modelled_flush_and_invalidate_matter(overlays):
    """The DMA sees a buffer only after flush(), the CPU sees the DMA's writes only after invalidate()."""
    with Accelerator.open(overlays["w64"], backend="simulated") as acc:
        p = acc.backend.platform
        buf = p.allocate((16,), np.uint64)
        buf[:] = 7
        ddr = p.board.memory.regions[buf.bo].ddr
        assert not ddr.any()
        buf.flush()
        assert np.frombuffer(ddr.tobytes(), np.uint64).tolist() == [7] * 16
        ddr[:8] = 0xFF
        assert int(buf[0]) == 7
        buf.invalidate()
        assert int(buf[0]) == 0xFFFFFFFFFFFFFFFF


def test_dma_register_model_follows_pg021(overlays):
    """Errors halt a channel and survive run/stop; only a soft reset clears them; idle is low before the first
    transfer (which is why PYNQ's driver tracks _first_transfer)."""
    from approxhls.host.simboard import DMASR_HALTED, DMASR_IDLE, DMASR_SLV_ERR

    with Accelerator.open(overlays["w64"], backend="simulated") as acc:
        p = acc.backend.platform
        send = p.dma.sendchannel
        assert send.running and not send.idle
        p.board.inject("slave_error")
        send.transfer(acc.backend.in_buf, nbytes=64)
        sr = send._mmio.read(0x04)
        assert sr & DMASR_SLV_ERR and sr & DMASR_HALTED and not sr & DMASR_IDLE and send.error
        with pytest.raises(RuntimeError, match="DMA channel not started"):
            send.wait()  # the error halted the channel, so PYNQ's wait() never reaches its error-bit messages:
        # which is why the driver reads DMASR itself and names the bits
        send._mmio.write(0x00, 0x1)  # run again: the error stays, the channel stays halted
        assert send._mmio.read(0x04) & DMASR_SLV_ERR and not send.running
        send._mmio.write(0x00, 0x4)  # soft reset
        assert send._mmio.read(0x00) & 0x4 == 0 and send._mmio.read(0x04) == DMASR_HALTED
        with pytest.raises(RuntimeError, match="not started"):
            send.transfer(acc.backend.in_buf)  # PYNQ refuses a halted channel
        acc.backend._reset_dma()
        assert send.running


# ---- faults: named, recovered, the next call exact ----------------------------------------------------
@pytest.mark.parametrize("fault, needle, how", [
    ("stall", "did not complete within", "reloaded the bitstream"),
    ("early_tlast", "received 40 of 640 bytes (1 of 16 samples)", "drained 1 stale packet"),
    ("short_transfer", "received 600 of 640 bytes", "reset the DMA"),
    ("slave_error", "DMASlvErr", "reloaded the bitstream"),
])
def test_faults_are_named_and_the_next_call_works(overlays, inputs, reference, fault, needle, how):
    x = inputs[:16]
    with Accelerator.open(overlays["w64"], backend="simulated", faults=[fault], timeout_s=0.3) as acc:
        with pytest.raises(BoardError) as e:
            acc.predict(x)
        msg = str(e.value)
        assert needle in msg and "recovered" in msg and how in msg, msg
        assert "not idle" not in msg  # never PYNQ's raw "DMA channel not idle"
        for _ in range(2):  # the next calls work and are exact again (no stale outputs from the failed batch)
            assert np.array_equal(acc.predict(x), reference(x))


def test_a_core_that_never_idles_is_reported_not_recovered(overlays):
    with pytest.raises(BoardError, match="ap_idle stays 0 even after reloading the bitstream.*not recovered"):
        Accelerator.open(overlays["w64"], backend="simulated", faults=["core_never_idle"])


def test_deadline_comes_from_the_overlay_or_timeout(overlays):
    spec = json.loads((overlays["w64"] / "overlay.json").read_text())
    assert spec["timing"]["ii_cycles"] >= 1 and "estimate" in spec["timing"]["source"]
    with Accelerator.open(overlays["w64"], backend="simulated") as acc:
        b = acc.backend
        assert b.deadline_s(256) >= b.platform.deadline_floor_s
        b.platform.deadline_floor_s = 0.0
        small, large = b.deadline_s(1), b.deadline_s(256)
        assert 0 < small < large  # grows with the batch
    with Accelerator.open(overlays["w64"], backend="simulated", timeout_s=2.5) as acc:
        assert acc.backend.deadline_s(256) == 2.5


# ---- measurements ---------------------------------------------------------------------------------------
def test_latency_throughput_and_clock(overlays, inputs):
    from approxhls.host.latency import pl_clock, single_sample_latency, throughput_sweep

    with Accelerator.open(overlays["w64"], backend="simulated") as acc:
        lat = single_sample_latency(acc, inputs, runs=20, warmup=2)
        e2e, hw = lat["end_to_end_s"], lat["hardware_s"]
        assert e2e["n"] == 20 and 0 < e2e["p50"] <= e2e["p90"] <= e2e["p99"]
        assert hw["n"] == 20 and hw["p50"] <= e2e["p99"]
        rows = throughput_sweep(acc, inputs, [1, 16, 64], repeats=2)
        assert [r["batch"] for r in rows] == [1, 16, 64, 150 if acc.backend.max_batch >= 150 else acc.backend.max_batch]
        for r in rows:
            moved = r["batch"] * (acc.backend.in_words + acc.backend.out_words) * 8
            assert r["dram_mb_per_s"] == pytest.approx(moved / r["hardware_s"] / 1e6)
        clk = pl_clock(acc)
        assert clk["available"] and clk["mhz"] == 100 and clk["matches_overlay"] and "simulated" in clk["source"]
    with Accelerator.open(overlays["w64"], backend="csim") as acc:
        assert single_sample_latency(acc, inputs, runs=3, warmup=0)["hardware_s"]["available"] is False
        assert "no hardware" in pl_clock(acc)["reason"]


def test_power_on_both_rails_with_ci(overlays, inputs):
    with Accelerator.open(overlays["w64"], backend="simulated") as acc:
        p = acc.measure_power(inputs[:64], seconds=1.0, idle_seconds=0.3, windows=4)
    assert p["available"] and set(p["rails"]) == {"pl", "board"} and p["windows"] == 4
    for r in p["rails"].values():
        assert r["dynamic_w"] > 0 and r["energy_per_inference_j"] > 0 and r["energy_ci95_j"] >= 0
        assert r["loaded_w"] == pytest.approx(r["idle_w"] + r["dynamic_w"])


@pytest.mark.parametrize("fault, needle", [("sensor_zero", "reads 0 W throughout"),
                                           ("voltage_only", "has only a voltage sensor")])
def test_power_faulty_sensors_are_unavailable_with_the_reason(overlays, inputs, fault, needle):
    with Accelerator.open(overlays["w64"], backend="simulated", faults=[fault]) as acc:
        p = acc.measure_power(inputs[:8], seconds=0.3, idle_seconds=0.15, windows=3)
    reasons = [r["reason"] for r in p.get("rails", {}).values() if not r["available"]] + [p.get("reason", "")]
    assert any(needle in r for r in reasons), p
    assert not any(r.get("available") for r in p.get("rails", {}).values())


def test_a_stall_during_power_is_a_board_error_not_a_sensor_failure(overlays, inputs):
    with Accelerator.open(overlays["w64"], backend="simulated", timeout_s=0.3) as acc:
        acc.backend.platform.board.inject("stall")
        with pytest.raises(BoardError, match="did not complete"):
            acc.measure_power(inputs[:8], seconds=0.3, idle_seconds=0.1, windows=2)


def test_csim_backend_has_no_power(overlays, inputs):
    with Accelerator.open(overlays["w64"], backend="csim") as acc:
        p = acc.measure_power(inputs[:4])
    assert p["available"] is False and "C-simulation" in p["reason"]


# ---- self-test ------------------------------------------------------------------------------------------
def test_self_test_passes_and_catches_a_wrong_word(overlays, tmp_path):
    import shutil

    from approxhls.host.selftest import self_test

    with Accelerator.open(overlays["w64"], backend="simulated") as acc:
        ok = self_test(acc)
    assert ok["passed"] and ok["samples"] == 16 and ok["mismatched_words"] == 0
    bad = tmp_path / "bad"
    shutil.copytree(overlays["w64"], bad, ignore=shutil.ignore_patterns("build"))
    g = dict(np.load(bad / "golden.npz"))
    g["words"] = g["words"].copy()
    g["words"][3, 1] ^= np.uint64(1)
    np.savez(bad / "golden.npz", **g)
    with Accelerator.open(bad, backend="simulated") as acc:
        res = self_test(acc)
    assert not res["passed"] and res["mismatched_words"] == 1 and res["first_mismatch"]["sample"] == 3


# ---- the command ----------------------------------------------------------------------------------------
def test_cli_run_on_the_simulated_board(overlays, tmp_path):
    from approxhls.cli import main

    out = tmp_path / "r.json"
    assert main(["run", str(overlays["w64"]), "--backend", "simulated", "--self-test", "--dataset", "digits",
                 "--limit", "64", "--runs", "5", "--batches", "1,32", "--power", "--power-seconds", "0.6",
                 "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["simulated"] and r["self_test"]["passed"] and r["n"] == 64
    assert r["single_sample"]["end_to_end_s"]["n"] == 5 and [t["batch"] for t in r["throughput"]] == [1, 32, 64]
    assert r["pl_clock"]["available"] and r["power"]["available"]
    assert out.with_suffix(".png").exists()


def test_cli_run_fault_prints_the_error_not_a_traceback(overlays, capsys):
    from approxhls.cli import main

    rc = main(["run", str(overlays["w64"]), "--backend", "simulated", "--dataset", "digits", "--limit", "16",
               "--fault", "slave_error", "--timeout", "0.3"])
    err = capsys.readouterr().err
    assert rc != 0 and "DMASlvErr" in err and "Traceback" not in err


def test_cli_run_on_a_project(tmp_path, project):
    from approxhls.cli import main

    assert main(["run", str(project), "--dataset", "digits", "--limit", "40", "--runs", "2", "--batches", "8",
                 "--external-power-w", "3.0", "--external-idle-w", "2.0", "--json", str(tmp_path / "r.json")]) == 0
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["simulated"] is True and r["n"] == 40
    assert r["power"]["rails"]["external"]["dynamic_w"] == pytest.approx(1.0)


def test_host_imports_no_tensorflow_or_hls4ml():
    code = ("import sys\nimport approxhls.host\nimport approxhls.host.backends, approxhls.host.power, "
            "approxhls.host.latency, approxhls.host.simboard, approxhls.host.selftest\n"
            "from approxhls.host import Accelerator\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'qkeras', 'hls4ml', 'pynq')]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""  # pynq too: it is imported when a board backend opens, not before


def test_board_install_pulls_no_tensorflow():
    import tomllib
    from pathlib import Path

    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    board = meta["dependencies"] + meta["optional-dependencies"]["board"]
    assert not [d for d in board if any(h in d.lower() for h in ("tensorflow", "hls4ml", "keras", "qkeras"))]
    assert any(d.startswith("tensorflow") for d in meta["optional-dependencies"]["full"])
