"""The host library driven through PYNQ's own code (pynq.lib.dma.DMA, DefaultIP, MMIO, allocate/PynqBuffer, Clocks,
pmbus Rail / SysFSSensor) against the simulated board: a PG021 register model of the AXI DMA, an ap_ctrl_hs model
of the core whose stream side is the overlay's own wrapper compiled with g++, and the PS clock registers. Faults
are injected in the models; the driver must name them, recover, and keep every output bit-exact afterwards.

`make test-pynq` runs this file in one clean venv per PYNQ release (3.0.1 and 3.1.2 on Python 3.10 as PYNQ 3
images, 4.0.0 on Python 3.12 as PYNQ 4.0 images), each through that release's own driver code; the tests marked
"per release" show where the releases differ and that the host works with each."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from approxhls.fixedpoint import FixedType
from approxhls.host import Accelerator, packing
from approxhls.errors import ApproxHLSError
from approxhls.host.backends import BoardError

pytestmark = pytest.mark.xdist_group("host")  # one worker writes the overlays once

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
def host(tmp_path_factory):
    """The project, its overlays (ZCU104 w64/w32, PYNQ-Z2 z2; each with golden vectors) and 150 digits inputs with
    the project's C-simulation of them: read from APPROXHLS_HOST_FIXTURES (the PYNQ matrix, whose venvs cannot
    convert a model) or written here by tests/host_fixtures.py."""
    import host_fixtures

    where = os.environ.get("APPROXHLS_HOST_FIXTURES")
    if where:
        return host_fixtures.load(Path(where))
    d = tmp_path_factory.mktemp("host")
    host_fixtures.build(d)
    return host_fixtures.load(d)


@pytest.fixture(scope="module")
def overlays(host):
    return host["overlays"]


@pytest.fixture(scope="module")
def project(host):
    return host["project"]


@pytest.fixture
def inputs(host):
    return host["x"]


@pytest.fixture(scope="module")
def reference(host):
    """The project's C-simulation (hls4ml's own bridge) of the first n inputs."""
    return lambda n: host["y_ref"][:n]


def _copy(overlay: Path, dest: Path) -> Path:
    """A copy to tamper with; its compiled stream library comes along (mtimes kept, so make does not rebuild it)."""
    shutil.copytree(overlay, dest)
    return dest


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
    assert np.array_equal(y, reference(len(inputs)))  # every element: encode, DMA, wrapper, DMA, decode


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
            assert np.array_equal(acc.predict(x), reference(16))


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
        assert clk["available"] and clk["mhz"] == pytest.approx(100, rel=1e-3) and clk["matches_overlay"]
        assert "simulated PS clock registers" in clk["source"]
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


class _Sensor:
    """A power sensor reading watts(t), t seconds after it was made."""

    def __init__(self, watts):
        import time

        self.watts, self.t0, self.clock = watts, time.perf_counter(), time.perf_counter

    @property
    def value(self):
        return self.watts(self.clock() - self.t0)


class _FakeBoard:
    """An accelerator whose rails are plain objects with a power sensor each."""

    def __init__(self, watts, rails=("INT", "12V")):
        from types import SimpleNamespace

        sensors = {n: SimpleNamespace(name=n, power=_Sensor(watts)) for n in rails}
        self.backend = SimpleNamespace(platform=SimpleNamespace(rails=lambda: sensors))
        self.spec = SimpleNamespace(data={"board": "fake"})

    def predict(self, x):
        import time

        time.sleep(0.002)


def test_power_measurement_says_why_a_figure_is_missing():
    from approxhls.host.power import measure_power

    def failing(t):
        raise OSError("i2c bus error")

    def no_rails():
        raise FileNotFoundError("libsensors")

    x = np.zeros((2, 4))
    steady = measure_power(_FakeBoard(lambda t: 1.5), x, seconds=0.3, idle_seconds=0.1, windows=3, interval=0.005)
    assert steady["available"] and steady["inferences"] > 0 and set(steady["rails"]) == {"pl", "board"}
    row = steady["rails"]["pl"]
    assert row["rail"] == "INT" and row["idle_w"] == 1.5 and row["dynamic_w"] == 0 and row["dynamic_ci95_w"] == 0
    assert "not resolved above the idle level" in row["note"]
    failed = measure_power(_FakeBoard(failing), x, seconds=0.1, idle_seconds=0.05, windows=2, interval=0.005)
    assert not failed["available"] and "sensor failed while sampling (OSError: i2c bus error)" in failed["reason"]
    few = measure_power(_FakeBoard(lambda t: 1.0), x, seconds=0.02, idle_seconds=0.005, windows=2, interval=1.0)
    assert "too few samples of INT" in few["rails"]["pl"]["reason"]
    other = measure_power(_FakeBoard(lambda t: 1.0, rails=("VCCINT", "5V")), x, seconds=0.1, idle_seconds=0.05,
                          windows=2, interval=0.005)
    assert set(other["rails"]) == {"pl"} and "no rail named 12V / VCC12" in other["missing"]["board"]
    named = measure_power(_FakeBoard(lambda t: 1.0, rails=("5V",)), x, rails=["5V"], seconds=0.1, idle_seconds=0.05,
                          windows=2, interval=0.005)
    assert named["rails"]["5V"]["rail"] == "5V"
    board = _FakeBoard(lambda t: 1.0)
    board.backend.platform.rails = no_rails
    assert "cannot be listed (FileNotFoundError: libsensors)" in measure_power(board, x)["reason"]
    board.backend.platform.rails = dict
    assert "no power sensors on this board (fake)" in measure_power(board, x)["reason"]


def test_csim_backend_has_no_power(overlays, inputs):
    with Accelerator.open(overlays["w64"], backend="csim") as acc:
        p = acc.measure_power(inputs[:4])
    assert p["available"] is False and "C-simulation" in p["reason"]


# ---- self-test ------------------------------------------------------------------------------------------
def test_self_test_passes_and_catches_a_wrong_word(overlays, tmp_path):
    from approxhls.host.selftest import self_test

    with Accelerator.open(overlays["w64"], backend="simulated") as acc:
        ok = self_test(acc)
    assert ok["passed"] and ok["samples"] == 16 and ok["mismatched_words"] == 0
    bad = _copy(overlays["w64"], tmp_path / "bad")
    g = dict(np.load(bad / "golden.npz"))
    g["words"] = g["words"].copy()
    g["words"][3, 1] ^= np.uint64(1)
    np.savez(bad / "golden.npz", **g)
    with Accelerator.open(bad, backend="simulated") as acc:
        res = self_test(acc)
    assert not res["passed"] and res["mismatched_words"] == 1 and res["first_mismatch"]["sample"] == 3


# ---- the command ----------------------------------------------------------------------------------------
def test_cli_run_on_the_simulated_board(overlays, tmp_path, capsys):
    from approxhls.cli import main

    out = tmp_path / "r.json"
    assert main(["run", str(overlays["w64"]), "--backend", "simulated", "--self-test", "--limit", "64", "--runs", "5",
                 "--batches", "1,32", "--power", "--power-seconds", "0.6", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    r = json.loads(out.read_text())
    assert r["simulated"] and r["self_test"]["passed"] and r["n"] == 64 and r["dataset"] == "digits (shipped samples)"
    assert r["single_sample"]["end_to_end_s"]["n"] == 5 and [t["batch"] for t in r["throughput"]] == [1, 32, 64]
    assert r["pl_clock"]["available"] and r["power"]["available"]
    assert "self-test: passed: 16 golden samples" in printed and "power pl (INT) (SIMULATION)" in printed
    assert (out.with_suffix(".png").exists() if importlib.util.find_spec("matplotlib")
            else "matplotlib is not installed" in printed)


def test_cli_run_fault_prints_the_error_not_a_traceback(overlays, capsys):
    from approxhls.cli import main

    rc = main(["run", str(overlays["w64"]), "--backend", "simulated", "--limit", "16", "--fault", "slave_error",
               "--timeout", "0.3"])
    err = capsys.readouterr().err
    assert rc != 0 and "DMASlvErr" in err and "Traceback" not in err


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                    reason="a board-only install has no scikit-learn to load digits (test_board_install checks the message)")
def test_cli_run_on_a_project(tmp_path, project):
    from approxhls.cli import main

    assert main(["run", str(project), "--dataset", "digits", "--limit", "40", "--runs", "2", "--batches", "8",
                 "--external-power-w", "3.0", "--external-idle-w", "2.0", "--json", str(tmp_path / "r.json")]) == 0
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["simulated"] is True and r["n"] == 40
    assert r["power"]["rails"]["external"]["dynamic_w"] == pytest.approx(1.0)


def test_host_imports_no_tensorflow_or_hls4ml_or_overlays():
    code = ("import sys\nimport approxhls.host\nimport approxhls.host.backends, approxhls.host.power, "
            "approxhls.host.latency, approxhls.host.simboard, approxhls.host.selftest, approxhls.host.benchmark, "
            "approxhls.host.schema, approxhls.host.pynqcompat, approxhls.host.make\n"
            "from approxhls.host import Accelerator\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'qkeras', 'hls4ml', 'pynq', "
            "'matplotlib') or m.startswith(('approxhls.overlays', 'approxhls.plots', 'approxhls.sim', 'approxhls.models'))]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""  # pynq too: it is imported when a board backend opens, not before


def test_board_install_pulls_no_tensorflow():
    try:
        import tomllib
    except ImportError:  # Python 3.10 (PYNQ 3 images): pytest's own tomli
        import tomli as tomllib

    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    board = meta["dependencies"] + meta["optional-dependencies"]["board"]
    assert not [d for d in board if any(h in d.lower() for h in ("tensorflow", "hls4ml", "keras", "qkeras"))]
    assert any(d.startswith("tensorflow") for d in meta["optional-dependencies"]["full"])


# ---- per release: what differs between pynq 3.0.1, 3.1.x and 4.0.0, and the host with each -----------------
def test_matrix_runs_the_release_it_names():
    """Under `make test-pynq` each venv must hold the release (and the Python of its image) the Makefile names."""
    import pynq

    want, want_py = os.environ.get("APPROXHLS_EXPECT_PYNQ"), os.environ.get("APPROXHLS_EXPECT_PYTHON")
    if want:
        assert pynq.__version__ == want
    if want_py:
        assert f"{sys.version_info[0]}.{sys.version_info[1]}" == want_py
    assert pynq.__version__ in ("3.0.1", "3.1.2", "4.0.0")  # the releases the host is checked against


def test_dma_wait_semantics_of_this_release(overlays, inputs, reference):
    """3.1+ drops the receive channel's buffer in wait() (a second wait() fails), 3.0.1 keeps it: the host issues
    one wait() per transfer, after its own DMASR polling, and every batch is exact with either."""
    import pynq

    from approxhls.host import pynqcompat

    x = inputs[:16]
    with Accelerator.open(overlays["w64"], backend="simulated") as acc:
        assert np.array_equal(acc.predict(x), reference(16))
        recv = acc.backend.platform.dma.recvchannel
        if pynqcompat.clears_buffer_after_wait(pynq):
            assert recv._active_buffer is None
            with pytest.raises(AttributeError):
                recv.wait()  # what a host that waited twice would meet on 3.1+
        else:
            assert recv._active_buffer is acc.backend.out_buf
            recv.wait()  # 3.0.1 re-invalidates the old buffer
        for _ in range(2):
            assert np.array_equal(acc.predict(x), reference(16))


def test_buffers_come_from_this_releases_allocate(overlays):
    import pynq
    from pynq.buffer import PynqBuffer

    with Accelerator.open(overlays["w32"], backend="simulated") as acc:
        b = acc.backend
        assert all(isinstance(buf, PynqBuffer) and buf.device is b.platform.device
                   for buf in (b.in_buf, b.out_buf, b.scratch))
        assert b.in_buf.dtype == np.uint32 and b.in_buf.physical_address != b.out_buf.physical_address
        assert pynq.allocate.__module__ == "pynq.buffer"


@pytest.mark.parametrize("key, arch, mhz", [("w64", "aarch64", 100.0), ("z2", "armv7l", 100.0)])
def test_clocks_read_through_this_releases_clocks(overlays, key, arch, mhz):
    """fclk0_mhz through pynq.Clocks of this release on the board's PS registers (ZynqMP CRL_APB, Zynq-7000
    SLCR): 3.0.1 finds them from the CPU architecture, 3.1+ from Clocks.device; a write goes through
    set_pl_clk and is read back."""
    import pynq

    from approxhls.host import pynqcompat
    from approxhls.host.latency import pl_clock

    with Accelerator.open(overlays[key], backend="simulated") as acc:
        p = acc.backend.platform
        assert p.device.arch == arch
        clk = pl_clock(acc)
        assert clk["available"] and clk["mhz"] == pytest.approx(mhz, rel=1e-3) and clk["matches_overlay"]
        assert f"pynq {pynq.__version__}'s Clocks.fclk0_mhz" in clk["source"]
        with pynqcompat.clocks_on(pynq, p.device, arch):
            pynq.Clocks.fclk0_mhz = 125
            got = pynqcompat.fclk0_mhz(pynq)
            if pynqcompat.version(pynq) < (4, 0, 0):
                assert pynq.Clocks.get_pl_clk(0) is None  # 3.x's metaclass drops the value: read fclk0_mhz
        assert got == pytest.approx(125, rel=1e-2)
        assert pl_clock(acc)["mhz"] == pytest.approx(got)
    assert not hasattr(pynq.Clocks, "_real_instance")  # nothing of the simulated board left behind in pynq


def test_power_rails_are_the_boards_own(overlays, inputs):
    """ZCU104: PMBus rails under PYNQ's names ('INT' the PL's VCCINT, '12V' the board input) through pynq.pmbus;
    PYNQ-Z2: no sensors, so power is unavailable with the reason."""
    from pynq.pmbus import Rail, SysFSSensor

    with Accelerator.open(overlays["w64"], backend="simulated") as acc:
        rails = acc.backend.platform.rails()
        assert set(rails) == {"INT", "12V"} and all(isinstance(r, Rail) for r in rails.values())
        assert isinstance(rails["INT"].power, SysFSSensor) and 0.3 < rails["INT"].voltage.value < 1.2
    with Accelerator.open(overlays["z2"], backend="simulated") as acc:
        p = acc.measure_power(inputs[:8], seconds=0.2, windows=2)
    assert not p["available"] and "no power sensors on this board (pynq-z2)" in p["reason"]


# ---- hostile input: refused with the file and the key, never a traceback, never a hang ---------------------
@pytest.mark.parametrize("timeout", ["nan", "inf", "0", "-1", "-inf"])
def test_run_refuses_a_timeout_that_is_not_finite_and_positive(overlays, capsys, timeout):
    from approxhls.cli import main

    assert main(["run", str(overlays["w64"]), "--backend", "simulated", f"--timeout={timeout}"]) == 2
    err = capsys.readouterr().err
    assert "--timeout must be a finite number above 0" in err and "Traceback" not in err
    with pytest.raises(ApproxHLSError, match="--timeout must be a finite number above 0"):
        Accelerator.open(overlays["w64"], backend="simulated", timeout_s=float(timeout))


@pytest.mark.parametrize("args, needle", [
    (["--runs", "0"], "--runs must be a whole number of at least 1, got 0"),
    (["--limit", "0"], "--limit must be a whole number of at least 1"),
    (["--batches", "a,b"], "--batches must be batch sizes separated by commas"),
    (["--batches", "0,8"], "--batches must list batch sizes of at least 1"),
    (["--batches", ","], "--batches must list batch sizes of at least 1"),
    (["--batch-size", "-2"], "--batch-size must be a whole number of at least 1"),
    (["--power-seconds", "nan"], "--power-seconds must be a finite number above 0"),
    (["--external-power-w", "inf"], "--external-power-w must be a finite number of watts"),
    (["--external-idle-w", "1"], "--external-idle-w needs --external-power-w"),
])
def test_run_refuses_nonsense_options_before_touching_the_board(overlays, capsys, args, needle):
    from approxhls.cli import main

    assert main(["run", str(overlays["w64"]), "--backend", "simulated", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def _tamper_json(path: Path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("change, needle", [
    (lambda d: d.pop("input"), "key 'input' is missing"),
    (lambda d: d["input"].pop("type"), "key 'input.type' is missing"),
    (lambda d: d["output"].__setitem__("field_bits", 12), "key 'output.field_bits' must be one of 8, 16, 32, 64"),
    (lambda d: d["output"].__setitem__("field_bits", 8), "key 'output.field_bits' is 8, narrower than its type"),
    (lambda d: d.__setitem__("word_bits", "64"), "key 'word_bits' must be one of"),
    (lambda d: d.__setitem__("max_batch", 0), "key 'max_batch' must be at least 1"),
    (lambda d: d.__setitem__("clock_mhz", float("nan")), "key 'clock_mhz' must be a finite number"),
    (lambda d: d["input"].__setitem__("type", "ap_fixed<8"), "key 'input.type' is not a fixed-point type"),
    (lambda d: d["input"].__setitem__("shape", [64, -1]), "key 'input.shape[1]' must be at least 1"),
    (lambda d: d.__setitem__("bitfile", "../../etc/x.bit"), "key 'bitfile' must be a file name inside"),
    (lambda d: d.__setitem__("name", "x; rm -rf ~"), "key 'name' must be the kernel's C identifier"),
    (lambda d: d["dataset"].__setitem__("file", "/etc/passwd"), "key 'dataset.file' must be a file name inside"),
    (lambda d: d.__setitem__("format", "approxhls-overlay/9"), "key 'format' is 'approxhls-overlay/9'"),
    (lambda d: d["dma"].__setitem__("max_transfer_bytes", 1 << 40), "key 'dma.max_transfer_bytes' must be at most"),
])
def test_tampered_overlay_json_names_the_file_and_key(overlays, tmp_path, capsys, change, needle):
    from approxhls.cli import main

    ov = _copy(overlays["w64"], tmp_path / "ov")
    _tamper_json(ov / "overlay.json", change)
    assert main(["run", str(ov), "--backend", "simulated", "--runs", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{ov / 'overlay.json'}" in err and needle in err and "Traceback" not in err, err


@pytest.mark.parametrize("damage, needle", [
    (lambda p: p.write_text(p.read_text()[:40]), "is not valid JSON (line"),
    (lambda p: p.write_text("[1, 2]"), "must hold a JSON object, not list"),
    (lambda p: p.write_bytes(b"\xff\xfe\x00"), "cannot be read"),
])
def test_truncated_overlay_json_is_a_message(overlays, tmp_path, capsys, damage, needle):
    from approxhls.cli import main

    ov = _copy(overlays["w64"], tmp_path / "ov")
    damage(ov / "overlay.json")
    assert main(["run", str(ov), "--backend", "simulated"]) == 2
    err = capsys.readouterr().err
    assert needle in err and "overlay.json" in err and "Traceback" not in err, err


def _damage_npz(path: Path, how: str):
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif how == "missing":
        path.unlink()
    elif how == "not_npz":
        path.write_text("hello")
    else:
        d = dict(np.load(path))
        if how == "no_words":
            d.pop("words")
        elif how == "short_rows":
            d["words"] = d["words"][:, :2]
        elif how == "nan_inputs":
            d["x"] = d["x"].copy()
            d["x"][0, 0] = np.nan
        elif how == "float_words":
            d["words"] = d["words"].astype(np.float64)
        np.savez(path, **d)


@pytest.mark.parametrize("how, needle", [
    ("missing", "golden.npz is missing: the self-test needs the overlay's golden vectors"),
    ("truncated", "golden.npz cannot be read as an .npz archive"),
    ("not_npz", "golden.npz cannot be read as an .npz archive"),
    ("no_words", "golden.npz: key 'words' is missing"),
    ("short_rows", "golden.npz: key 'words' has 2 values per sample, expected 5"),
    ("nan_inputs", "golden.npz: key 'x' holds values that are not finite"),
    ("float_words", "golden.npz: key 'words' has dtype float64"),
])
def test_damaged_golden_npz_is_named_not_blamed_on_the_board(overlays, tmp_path, capsys, how, needle):
    from approxhls.cli import main

    ov = _copy(overlays["w64"], tmp_path / "ov")
    _damage_npz(ov / "golden.npz", how)
    assert main(["run", str(ov), "--backend", "simulated", "--self-test", "--runs", "1"]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err, err
    assert "does not compute what the C-simulation does" not in err and "self-test failed" not in err


def test_a_failing_self_test_is_exit_2_with_the_word_that_differs(overlays, tmp_path, capsys):
    from approxhls.cli import main

    ov = _copy(overlays["w64"], tmp_path / "ov")
    g = dict(np.load(ov / "golden.npz"))
    g["words"] = g["words"].copy()
    g["words"][0, 0] ^= np.uint64(4)
    np.savez(ov / "golden.npz", **g)
    assert main(["run", str(ov), "--backend", "simulated", "--self-test"]) == 2
    err = capsys.readouterr().err
    assert "the self-test failed (FAILED: 1 of 80 words differ; first at sample 0 word 0" in err


@pytest.mark.parametrize("how, needle", [
    ("truncated", "samples.npz cannot be read as an .npz archive"),
    ("labels", "samples.npz: key 'y' holds labels outside 0..9"),
    ("no_x", "samples.npz: key 'x' is missing"),
])
def test_damaged_samples_npz_names_the_file_and_key(overlays, tmp_path, capsys, how, needle):
    from approxhls.cli import main

    ov = _copy(overlays["w64"], tmp_path / "ov")
    path = ov / "samples.npz"
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:64])
    else:
        d = dict(np.load(path))
        if how == "labels":
            d["y"] = d["y"] + 10
        else:
            d.pop("x")
        np.savez(path, **d)
    assert main(["run", str(ov), "--backend", "simulated", "--runs", "1"]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err, err


def test_run_on_a_directory_that_does_not_exist(tmp_path, capsys):
    from approxhls.cli import main

    assert main(["run", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_host_and_overlays_start_tools_only_through_run_tool():
    """Every external program in host/ and overlays/ goes through approxhls.toolrun (a deadline, a named error);
    host/ reaches neither approxhls.overlays nor another package's private plotting helper (it runs on a board)."""
    root = Path(__file__).resolve().parents[1] / "approxhls"
    for f in sorted((root / "host").glob("*.py")) + sorted((root / "overlays").glob("*.py")):
        text = f.read_text()
        assert not any(k in text for k in ("import subprocess", "os.system(", "os.popen(")), f
    for f in sorted((root / "host").glob("*.py")):
        text = f.read_text()
        assert not any(k in text for k in ("from approxhls.overlays", "import approxhls.overlays",
                                           "from approxhls.plots", "import approxhls.plots")), f
