"""The host library against a simulated board: a stand-in for the part of pynq the backend uses, whose
DMA runs the C-simulation on the words it receives (unpacked by its own, independent code)."""

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

from approxhls.fixedpoint import FixedType
from approxhls.host import Accelerator, packing
from approxhls.host.backends import DMAStallError


# ---- the simulated board --------------------------------------------------------------------------------
class Buffer(np.ndarray):
    physical_address = 0x1000_0000
    freed = False

    def flush(self):
        pass

    def invalidate(self):
        pass

    def freebuffer(self):
        self.freed = True


def _unpack(words, field_bits, word_bits, elements, signed):
    """Bit by bit, as the stream wrapper reads its input (independent of approxhls.host.packing)."""
    out = []
    per_word = word_bits // field_bits
    for w in words:
        for f in range(per_word):
            v = (int(w) >> (f * field_bits)) & ((1 << field_bits) - 1)
            if signed and v >> (field_bits - 1):
                v -= 1 << field_bits
            out.append(v)
    return out[:elements]


def _pack(codes, field_bits, word_bits):
    per_word = word_bits // field_bits
    words = []
    for i in range(0, len(codes), per_word):
        w = 0
        for f, c in enumerate(codes[i : i + per_word]):
            w |= (int(c) & ((1 << field_bits) - 1)) << (f * field_bits)
        words.append(w)
    return words


class Channel:
    def __init__(self, dma, kind):
        self.dma, self.kind, self.idle, self.buffer, self.nbytes = dma, kind, True, None, 0

    def transfer(self, buffer, start=0, nbytes=0):
        self.buffer, self.nbytes, self.idle = buffer, nbytes, False
        if self.kind == "send" and not self.dma.stall:
            self.dma.run()


class DMA:
    def __init__(self, board):
        self.board, self.stall = board, False
        self.sendchannel, self.recvchannel = Channel(self, "send"), Channel(self, "recv")

    def run(self):
        spec, lib = self.board.spec, self.board.lib
        s, r = self.sendchannel, self.recvchannel
        ws = spec["word_bits"]
        words_in = np.array(s.buffer).view(np.uint64)[: s.nbytes * 8 // ws] if ws == 64 else np.array(s.buffer)[: s.nbytes * 8 // ws]
        in_t, out_t = FixedType.parse(spec["input"]["type"]), FixedType.parse(spec["output"]["type"])
        n_in = int(np.prod(spec["input"]["shape"]))
        wps_in = packing.words_per_sample(n_in, spec["input"]["field_bits"], ws)
        n = len(words_in) // wps_in
        self.board.batches.append(n)
        out_words = []
        for i in range(n):
            codes = _unpack(words_in[i * wps_in : (i + 1) * wps_in], spec["input"]["field_bits"], ws, n_in, in_t.signed)
            y = lib.predict(np.array([codes], dtype=np.float64) / 2**in_t.frac)[0]
            out_words += _pack(np.round(y * 2**out_t.frac).astype(np.int64), spec["output"]["field_bits"], ws)
        r.buffer[: len(out_words)] = np.array(out_words, dtype=r.buffer.dtype)
        s.idle = r.idle = True


class IP:
    def __init__(self):
        self.writes = []

    def write(self, offset, value):
        self.writes.append((offset, value))


class Sensor:
    def __init__(self, board, fail=False):
        self.board, self.fail = board, fail

    @property
    def value(self):
        if self.fail:
            raise OSError("I2C read failed")
        return 2.0 + (0.5 if self.board.loaded else 0.0)


class Rail:
    def __init__(self, sensor):
        self.power = sensor


class Recorder:
    def __init__(self, sensor):
        self.sensor, self.marks, self.vals, self.mark_no, self._stop = sensor, [], [], 0, None

    def record(self, interval):
        rec = self

        class Ctx:
            def __enter__(self):
                rec._stop = threading.Event()

                def loop():
                    while not rec._stop.is_set():
                        try:
                            value = rec.sensor.value
                        except OSError:
                            return  # like pynq's recorder thread, it stops on a sensor error
                        rec.marks.append(rec.mark_no)
                        rec.vals.append(value)
                        rec._stop.wait(interval / 5)

                rec.thread = threading.Thread(target=loop, daemon=True)
                rec.thread.start()

            def __exit__(self, *a):
                rec._stop.set()
                rec.thread.join()

        return Ctx()

    def mark(self):
        self.mark_no += 1
        self.sensor.board.loaded = True

    @property
    def frame(self):
        return {"Mark": self.marks, "12V_power": self.vals}


def make_pynq(board, rails=True, fail_sensor=False):
    class FakePynq:
        class Device:
            devices = [type("Dev", (), {"name": "simulated-zcu104"})()]

        @staticmethod
        def Overlay(path):
            ol = type("Ol", (), {})()
            ol.axi_dma_0 = board.dma
            ol.approxhls_axis_0 = board.ip
            board.bitfile = path
            return ol

        @staticmethod
        def allocate(shape, dtype, **kw):
            buf = np.zeros(shape, dtype).view(Buffer)
            board.buffers.append(buf)
            return buf

        @staticmethod
        def get_rails():
            return {"12V": Rail(Sensor(board, fail_sensor))} if rails else {}

        DataRecorder = Recorder

    return FakePynq


class Board:
    def __init__(self, spec, lib):
        self.spec, self.lib = spec, lib
        self.dma, self.ip, self.buffers, self.batches, self.loaded = DMA(self), IP(), [], [], False


# ---- fixtures ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from conftest import randomize_weights

    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.models.zoo import build_model

    d = tmp_path_factory.mktemp("host")
    m = build_model("mlp", (8, 8, 1), 10, "fixed-w8a8", width=0.5)
    randomize_weights(m, seed=4, low=-0.5, high=0.5)
    convert_model(m, d / "prj", ConvertOptions(), plan={"default": "drum_u8_k5"})
    return d / "prj"


def make_overlay(tmp_path, project, word_bits=64, max_transfer=1 << 20, board="zcu104"):
    meta = json.loads((project / "approxhls.json").read_text())
    out_t = FixedType.parse(next(r["types"]["result_t"] for r in reversed(meta["layers"]) if "result_t" in r["types"]))
    spec = {
        "format": "approxhls-overlay/1", "name": "approxhls_model", "board": board, "clock_mhz": 100,
        "bitfile": "approxhls_model.bit", "project": str(project.resolve()),
        "ip": {"name": "approxhls_axis_0", "batch_offset": 16, "control_offset": 0},
        "dma": {"name": "axi_dma_0", "max_transfer_bytes": max_transfer}, "max_batch": 4096,
        "input": {"shape": meta["input_shape"], "type": meta["input_precision"], "field_bits": 8},
        "output": {"shape": meta["output_shape"], "type": str(out_t), "field_bits": 32}, "word_bits": word_bits,
    }
    d = tmp_path / "overlay"
    d.mkdir()
    (d / "overlay.json").write_text(json.dumps(spec))
    (d / "approxhls_model.bit").write_bytes(b"bit")
    (d / "approxhls_model.hwh").write_text("<hwh/>")
    return d, spec


@pytest.fixture
def inputs(digits):
    return digits.x_test[:150].reshape(150, -1).astype(np.float64)


# ---- tests ----------------------------------------------------------------------------------------------------
def test_packing_roundtrip_matches_independent_bit_packing():
    t = FixedType.parse("ap_fixed<12,4>")
    rng = np.random.default_rng(0)
    x = t.from_codes(rng.integers(t.code_min, t.code_max + 1, (7, 13)))
    words = packing.encode(x, t, 16, 64)
    assert words.shape == (7, 4) and words.dtype == np.uint64
    for i in range(7):
        assert words[i].tolist() == _pack(t.to_codes(x[i]).tolist(), 16, 64)
        assert _unpack(words[i], 16, 64, 13, True) == t.to_codes(x[i]).tolist()
    assert np.array_equal(packing.decode(words, t, 16, 64, 13), x)


@pytest.mark.parametrize("word_bits,max_transfer", [(64, 1 << 20), (32, 4000)])
def test_board_backend_is_bit_exact_with_csim(tmp_path, project, inputs, word_bits, max_transfer):
    from approxhls.sim.csimlib import CSimLibrary

    d, spec = make_overlay(tmp_path, project, word_bits, max_transfer)
    lib = CSimLibrary(project)
    board = Board(spec, lib)
    with Accelerator.open(d, backend="board", pynq_module=make_pynq(board)) as acc:
        y = acc.predict(inputs)
        assert not acc.simulated and "board" in acc.describe()
    assert np.array_equal(y, lib.predict(inputs))  # every element, through encode, DMA, decode
    if max_transfer == 4000:
        assert len(board.batches) > 1 and max(board.batches) * 2 * 4 <= 4000  # split to fit the DMA
    assert board.ip.writes[0] == (16, board.batches[0]) and board.ip.writes[1] == (0, 1)
    assert all(b.freed for b in board.buffers)  # the context manager frees the buffers
    assert len(board.buffers) == 2  # allocated once, reused across batches


def test_stalled_dma_raises_instead_of_hanging(tmp_path, project, inputs):
    from approxhls.sim.csimlib import CSimLibrary

    d, spec = make_overlay(tmp_path, project)
    board = Board(spec, CSimLibrary(project))
    board.dma.stall = True
    acc = Accelerator.open(d, backend="board", pynq_module=make_pynq(board), timeout_s=0.2)
    with pytest.raises(DMAStallError, match="TLAST"):
        acc.predict(inputs[:3])
    acc.close()


def test_auto_backend_and_csim_labels(tmp_path, project, inputs):
    d, spec = make_overlay(tmp_path, project)
    acc = Accelerator.open(d)  # no pynq device on this machine
    assert acc.simulated and "C-simulation" in acc.describe() and "auto" in acc.describe()
    bench = acc.benchmark(inputs[:20], runs=3, warmup=1, batch_size=10)
    assert bench["simulated"] is True and bench["batches"] == 6
    assert bench["sample_latency_s"]["p50"] > 0 and bench["throughput_per_s"] > 0
    assert acc.measure_power(inputs[:5])["available"] is False
    acc.close()
    with Accelerator.open(project) as acc2:  # a project directly
        assert acc2.predict(inputs[:4]).shape == (4, 10)


def test_power_idle_and_loaded_windows(tmp_path, project, inputs):
    from approxhls.sim.csimlib import CSimLibrary

    d, spec = make_overlay(tmp_path, project)
    board = Board(spec, CSimLibrary(project))
    with Accelerator.open(d, backend="board", pynq_module=make_pynq(board)) as acc:
        p = acc.measure_power(inputs[:20], seconds=0.3, idle_seconds=0.3, pynq_module=make_pynq(board))
    assert p["available"] and p["rail"] == "12V"
    assert p["idle_w"] == pytest.approx(2.0) and p["loaded_w"] == pytest.approx(2.5)
    assert p["dynamic_w"] == pytest.approx(0.5) and p["energy_per_inference_j"] > 0


@pytest.mark.parametrize("rails,fail,needle", [(False, False, "no power sensors"), (True, True, "power sensor failed")])
def test_power_unavailable_not_a_crash(tmp_path, project, inputs, rails, fail, needle):
    from approxhls.sim.csimlib import CSimLibrary

    d, spec = make_overlay(tmp_path, project, board="pynq-z2" if not rails else "zcu104")
    board = Board(spec, CSimLibrary(project))
    pynq = make_pynq(board, rails=rails, fail_sensor=fail)
    with Accelerator.open(d, backend="board", pynq_module=pynq) as acc:
        p = acc.measure_power(inputs[:5], seconds=0.1, idle_seconds=0.1, pynq_module=pynq)
    assert p["available"] is False and needle in p["reason"]


def test_host_imports_no_tensorflow_or_hls4ml():
    code = ("import sys\nimport approxhls.host\nimport approxhls.host.backends, approxhls.host.power, "
            "approxhls.host.latency\nfrom approxhls.host import Accelerator\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'qkeras', 'hls4ml')]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_run_on_a_project(tmp_path, project):
    from approxhls.cli import main

    assert main(["run", str(project), "--dataset", "digits", "--limit", "40", "--runs", "2",
                 "--external-power-w", "3.0", "--external-idle-w", "2.0", "--json", str(tmp_path / "r.json")]) == 0
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["simulated"] is True and r["n"] == 40 and r["power"]["dynamic_w"] == pytest.approx(1.0)
    assert (tmp_path / "r.png").exists()


def test_board_install_pulls_no_tensorflow():
    from pathlib import Path

    import tomllib

    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    board = meta["dependencies"] + meta["optional-dependencies"]["board"]
    assert not [d for d in board if any(h in d.lower() for h in ("tensorflow", "hls4ml", "keras", "qkeras"))]
    assert any(d.startswith("tensorflow") for d in meta["optional-dependencies"]["full"])
