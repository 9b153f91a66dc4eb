"""A simulated PYNQ board, driven through PYNQ's own driver code.

The host talks to it exactly as to a board: ``pynq.lib.dma.DMA`` and ``pynq.DefaultIP`` built from the same
kind of description ``pynq.Overlay`` passes them, over ``pynq.MMIO`` on a device with the REGISTER_RW
capability, with buffers that are ``pynq.buffer.PynqBuffer`` objects (cache flush / invalidate modelled: the
DMA sees memory only after ``flush``, the CPU sees what the DMA wrote only after ``invalidate``). Behind the
registers:

* :class:`AxiDmaModel` - the AXI DMA in direct register mode (PG021): DMACR run/stop and soft reset, DMASR
  halted / idle / error bits (an error halts the channel until a reset), source / destination address and
  length registers, S2MM length read back as the bytes received, idle low before the first transfer.
* :class:`HlsCoreModel` - the wrapper's AXI-Lite control (ap_ctrl_hs: ap_start, ap_done clear-on-read,
  ap_idle, ap_ready; batch register at 0x10); its stream side is the wrapper itself, compiled with g++
  (``build/libstream_TOP.so``), so the words the host packs go through the C++ Vitis HLS synthesizes.
* :class:`PsClockModel` - the PS clock registers pynq's ``Clocks`` reads (ZynqMP CRL_APB/CRF_APB, Zynq-7000
  SLCR), set so that PL clock 0 runs at the overlay's clock; writes change it, as on the board.
* power rails read through ``pynq.pmbus.Rail`` / ``SysFSSensor`` from files the model keeps current: idle
  power plus a dynamic part proportional to the time the core computes. The rails are the board's own
  (:data:`BOARD_RAILS`): ZCU104's PMBus names, none on boards PYNQ has no sensor configuration for.

Every pynq call goes through the installed release's own code (3.0.1, 3.1.x or 4.0.0; see
:mod:`approxhls.host.pynqcompat` for what differs). Imports numpy only; never approxhls.overlays (the host stands
alone on a board).

Faults (:data:`FAULTS`) make the model misbehave the way hardware does, for the driver's tests and
bench/board.py's fault table.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DMA_BASE, DMA_RANGE = 0x4040_0000, 0x1_0000
CORE_BASE, CORE_RANGE = 0x43C0_0000, 0x1_0000
DDR_BASE = 0x1000_0000

# PG021 DMACR / DMASR bits
DMACR_RS, DMACR_RESET, DMACR_IRQ_THRESHOLD_1 = 0x1, 0x4, 0x0001_0000
DMASR_HALTED, DMASR_IDLE = 0x1, 0x2
DMASR_INT_ERR, DMASR_SLV_ERR, DMASR_DEC_ERR = 0x10, 0x20, 0x40
DMASR_IOC_IRQ, DMASR_ERR_IRQ = 0x1000, 0x4000
ERROR_BITS = DMASR_INT_ERR | DMASR_SLV_ERR | DMASR_DEC_ERR

# ap_ctrl_hs (Vitis HLS s_axilite "control" bundle)
AP_START, AP_DONE, AP_IDLE, AP_READY = 0x1, 0x2, 0x4, 0x8
CTRL_OFFSET, BATCH_OFFSET = 0x00, 0x10

FAULTS = {
    "stall": "the core takes the input and never finishes (a hung kernel): no output, ap_idle stays 0",
    "early_tlast": "the core asserts TLAST after the first sample's last word; the rest follows as a second packet",
    "short_transfer": "the core drops the last sample: fewer output words, TLAST on the last one it sends",
    "slave_error": "the memory port answers SLVERR to the DMA's reads (MM2S DMASlvErr)",
    "core_never_idle": "the core's ap_idle never rises, even after the bitstream is reloaded (a broken design)",
    "sensor_zero": "power sensors read 0 W (a dead sensor: pynq returns 0, not an exception)",
    "voltage_only": "the rails have voltage sensors only: no .power, no .current",
}
ONE_SHOT = {"stall", "early_tlast", "short_transfer", "slave_error"}


def _pynq():
    from approxhls.host.backends import import_pynq

    return import_pynq()


# ---- PS clock registers (what pynq.Clocks reads) ---------------------------------------------------------------

@dataclass(frozen=True)
class PsClockLayout:
    """Where a PS keeps its PLL and PL clock registers, and the field layout pynq.ps reads them with."""

    arch: str                      # what pynq calls the PS's CPU: Device.arch / pynq.ps.CPU_ARCH
    blocks: tuple                  # (base address, range) of each register block
    ref_mhz: float                 # PS reference clock pynq assumes
    pll: int                       # address of the PLL PL clock 0 is derived from
    pl0: int                       # address of PL clock 0's control register
    fixed: tuple                   # (address, value) of the other registers pynq reads (PLLs, CPU clock)


ZYNQMP_CLOCKS = PsClockLayout(
    "aarch64", ((0xFF5E_0000, 0x100), (0xFD1A_0000, 0x100)), 33.333, 0xFF5E_0020, 0xFF5E_00C0,
    # IOPLL (CRL 0x20) = 33.333 * 90 / 2 = 1500 MHz; RPLL, and in CRF APLL/DPLL/VPLL; ACPU from APLL / 1
    ((0xFF5E_0020, (1 << 16) | (90 << 8)), (0xFF5E_0030, (1 << 16) | (72 << 8)), (0xFD1A_0020, (1 << 16) | (72 << 8)),
     (0xFD1A_002C, (1 << 16) | (64 << 8)), (0xFD1A_0038, (1 << 16) | (90 << 8)), (0xFD1A_0060, 1 << 8)))
ZYNQ7_CLOCKS = PsClockLayout(
    "armv7l", ((0xF800_0000, 0x200),), 50.0, 0xF800_0108, 0xF800_0170,
    # ARM PLL 26 x 50, DDR PLL 21 x 50, IO PLL 30 x 50 = 1500 MHz; CPU = ARM PLL / 2
    ((0xF800_0100, 26 << 12), (0xF800_0104, 21 << 12), (0xF800_0108, 30 << 12), (0xF800_0120, 2 << 8)))
PS_CLOCKS = {"zynqmp": ZYNQMP_CLOCKS, "zynq7": ZYNQ7_CLOCKS}
BOARD_PS = {"pynq-z2": "zynq7", "zcu104": "zynqmp", "kv260": "zynqmp", "ultra96-v2": "zynqmp"}


def _divisors(source_mhz: float, want_mhz: float) -> tuple[int, int]:
    """Two 6-bit divisors whose product brings the source closest to the wanted clock (as pynq.ps chooses)."""
    return min(((a, b) for a in range(1, 64) for b in range(1, 64)),
               key=lambda d: (abs(source_mhz / (d[0] * d[1]) - want_mhz), d))


class PsClockModel:
    """The PS clock registers: PLLs fixed, PL clock 0 divided down to the overlay's clock."""

    def __init__(self, layout: PsClockLayout, clock_mhz: float):
        self.layout = layout
        self.regs = dict(layout.fixed)
        pll = self.regs[layout.pll]
        if layout.arch == "aarch64":
            source = layout.ref_mhz * ((pll >> 8) & 0x7F) / (2 if pll >> 16 & 1 else 1)
            d0, d1 = _divisors(source, clock_mhz)
            self.regs[layout.pl0] = (1 << 24) | (d1 << 16) | (d0 << 8)  # CLKACT, DIVISOR1, DIVISOR0, SRCSEL IOPLL
        else:
            source = layout.ref_mhz * ((pll >> 12) & 0x7F)
            d0, d1 = _divisors(source, clock_mhz)
            self.regs[layout.pl0] = (d1 << 20) | (d0 << 8)               # DIVISOR1, DIVISOR0, SRCSEL IO PLL

    def owns(self, addr: int) -> bool:
        return any(base <= addr < base + size for base, size in self.layout.blocks)

    def read(self, addr: int) -> int:
        return self.regs.get(addr, 0)

    def write(self, addr: int, value: int) -> None:
        self.regs[addr] = value & 0xFFFFFFFF


@dataclass
class _Region:
    phys: int
    ddr: np.ndarray  # uint8: what the DMA sees


class _Memory:
    """DDR as the DMA sees it, one region per allocated buffer; CPU copies synchronize by flush/invalidate."""

    def __init__(self):
        self.regions: dict[int, _Region] = {}
        self.next_phys = DDR_BASE

    def add(self, nbytes: int) -> tuple[int, int]:
        bo = len(self.regions) + 1
        phys = self.next_phys
        self.next_phys += (nbytes + 4095) // 4096 * 4096 + 4096
        self.regions[bo] = _Region(phys, np.zeros(nbytes, np.uint8))
        return bo, phys

    def find(self, phys: int, nbytes: int) -> tuple[np.ndarray, int] | None:
        for r in self.regions.values():
            if r.phys <= phys and phys + nbytes <= r.phys + len(r.ddr):
                return r.ddr, phys - r.phys
        return None


WEIGHTS_ENV = "APPROXHLS_WEIGHTS_DIR"  # where the kernel's first call reads its weights (never compiled in)
_first_calls = threading.Lock()


class StreamLibrary:
    """The wrapper, compiled with g++ as a shared library (the stream side of the core)."""

    def __init__(self, path: Path):
        self.lib = ctypes.CDLL(str(path))
        f = self.lib.approxhls_stream_run
        f.restype = ctypes.c_long
        f.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long]
        self.word_bits = self.lib.approxhls_stream_word_bits()
        self.in_words = self.lib.approxhls_stream_in_words()
        self.out_words = self.lib.approxhls_stream_out_words()
        # the kernel loads its weights at its first call, from the overlay's hls/firmware/weights (build/<lib>)
        with _first_calls:
            os.environ[WEIGHTS_ENV] = str(Path(path).resolve().parent.parent / "hls" / "firmware" / "weights")
            self.run(np.zeros(self.in_words, np.uint64), 1)

    def run(self, words: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray]:
        words = np.ascontiguousarray(words, dtype=np.uint64)
        cap = batch * self.out_words
        out = np.zeros(cap, np.uint64)
        last = np.zeros(cap, np.uint8)
        n = self.lib.approxhls_stream_run(words.ctypes.data, len(words), batch, out.ctypes.data, last.ctypes.data, cap)
        if n < 0:
            raise RuntimeError("the wrapper left input words unread")
        return out[:n], last[:n].astype(bool)


@dataclass
class _Channel:
    """One DMA channel's registers and the transfer in flight."""

    cr: int = DMACR_IRQ_THRESHOLD_1
    sr: int = DMASR_HALTED
    addr: int = 0
    length: int = 0
    busy: bool = False
    moved: int = 0          # bytes moved by the transfer in flight
    words_left: int = 0     # MM2S: words handed to the stream and not yet taken by the core

    @property
    def running(self) -> bool:
        return bool(self.cr & DMACR_RS) and not (self.sr & DMASR_HALTED)

    def error(self, bit: int) -> None:
        self.sr = (self.sr | bit | DMASR_ERR_IRQ | DMASR_HALTED) & ~DMASR_IDLE
        self.cr &= ~DMACR_RS
        self.busy = False

    def complete(self) -> None:
        self.busy = False
        self.sr |= DMASR_IDLE | DMASR_IOC_IRQ


class AxiDmaModel:
    """Registers of an AXI DMA in direct register mode: MM2S at 0x00, S2MM at 0x30 (PG021 register map)."""

    def __init__(self, board: "SimulatedBoard"):
        self.board = board
        self.reset()

    def reset(self) -> None:
        self.mm2s, self.s2mm = _Channel(), _Channel()
        self.board.in_fifo.clear()  # words inside the DMA's stream FIFO are lost with a reset

    def channel(self, offset: int) -> tuple[_Channel, int]:
        return (self.mm2s, offset) if offset < 0x30 else (self.s2mm, offset - 0x30)

    def read(self, offset: int) -> int:
        ch, reg = self.channel(offset)
        return {0x00: ch.cr, 0x04: ch.sr, 0x18: ch.addr & 0xFFFFFFFF, 0x1C: ch.addr >> 32,
                0x28: ch.moved if ch is self.s2mm and not ch.busy else ch.length}.get(reg, 0)

    def write(self, offset: int, value: int) -> None:
        ch, reg = self.channel(offset)
        handler = self._WRITES.get(reg)
        if handler is not None:
            handler(self, ch, value)

    def _write_control(self, ch: _Channel, value: int) -> None:
        if value & DMACR_RESET:  # soft reset: both channels, back to halted (the bit reads 0 when done)
            self.reset()
            return
        ch.cr = value & ~DMACR_RESET
        if value & DMACR_RS and not (ch.sr & ERROR_BITS):
            ch.sr &= ~DMASR_HALTED
        elif not value & DMACR_RS and not ch.busy:
            ch.sr = (ch.sr | DMASR_HALTED) & ~DMASR_IDLE

    def _write_status(self, ch: _Channel, value: int) -> None:
        ch.sr &= ~(value & (DMASR_IOC_IRQ | DMASR_ERR_IRQ | 0x2000))  # interrupt bits are write-1-to-clear

    def _write_address_low(self, ch: _Channel, value: int) -> None:
        ch.addr = (ch.addr & ~0xFFFFFFFF) | value

    def _write_address_high(self, ch: _Channel, value: int) -> None:
        ch.addr = (ch.addr & 0xFFFFFFFF) | (value << 32)

    def _write_length(self, ch: _Channel, value: int) -> None:
        """Writing a running channel's length starts its transfer (a zero length or a halted channel: nothing)."""
        if not (ch.running and value):
            return
        ch.length, ch.moved, ch.busy = value, 0, True
        ch.sr &= ~DMASR_IDLE
        if ch is self.mm2s:
            self.board.mm2s_started()

    # register offset within a channel -> what a write to it does (other offsets ignore writes)
    _WRITES = {0x00: _write_control, 0x04: _write_status, 0x18: _write_address_low, 0x1C: _write_address_high,
               0x28: _write_length}


class HlsCoreModel:
    """ap_ctrl_hs control registers of the wrapper; the stream side runs the compiled wrapper."""

    def __init__(self, board: "SimulatedBoard"):
        self.board = board
        self.reset()

    def reset(self) -> None:
        self.busy = self.done = self.hung = False
        self.batch = 0

    def read(self, offset: int) -> int:
        if offset == CTRL_OFFSET:
            idle = not (self.busy or self.hung or self.board.fault_active("core_never_idle"))
            value = (AP_START if self.busy else 0) | (AP_DONE if self.done else 0) | (AP_IDLE if idle else 0) \
                | (AP_READY if idle else 0)
            self.done = False  # ap_done is clear-on-read
            return value
        return self.batch if offset == BATCH_OFFSET else 0

    def write(self, offset: int, value: int) -> None:
        if offset == CTRL_OFFSET and value & AP_START and not self.busy:
            self.busy, self.done = True, False
        elif offset == BATCH_OFFSET:
            self.batch = int(value) & 0xFFFFFFFF


class SimulatedBoard:
    """The models behind the registers, advanced on every register access."""

    def __init__(self, library: StreamLibrary, clock_mhz: float = 100.0, faults=(), seed: int = 0,
                 board: str = "zcu104"):
        self.lib = library
        self.clock_mhz = clock_mhz
        self.name = board
        self.ps = PsClockModel(PS_CLOCKS[BOARD_PS.get(board, "zynqmp")], clock_mhz)
        self.faults: set[str] = set()
        for fault in faults:
            self.inject(fault)
        self.memory = _Memory()
        self.in_fifo: list[int] = []     # words the MM2S channel pushed into the stream
        self.out_fifo: list[tuple[int, bool]] = []  # (word, TLAST) the core produced, not yet taken by S2MM
        self.dma = AxiDmaModel(self)
        self.core = HlsCoreModel(self)
        self.compute_log: list[tuple[float, float]] = []  # (start, end) of each core run, for the power model
        self.lock = threading.RLock()
        self.rng = np.random.default_rng(seed)

    # ---- faults ---------------------------------------------------------------------------------------------
    def inject(self, fault: str) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self.faults.add(fault)

    def fault_active(self, fault: str) -> bool:
        return fault in self.faults

    def _take_fault(self, fault: str) -> bool:
        """Whether the fault strikes now; a one-shot fault strikes once."""
        if fault not in self.faults:
            return False
        if fault in ONE_SHOT:
            self.faults.discard(fault)
        return True

    def reload(self) -> None:
        """What downloading the bitstream again does: every register and FIFO back to its reset state."""
        with self.lock:
            self.out_fifo.clear()
            self.dma.reset()
            self.core.reset()

    # ---- stream side ---------------------------------------------------------------------------------------
    def _memory_of(self, ch: _Channel):
        """(DDR bytes, offset, word bytes) of a channel's buffer; None after a decode error (unmapped address)."""
        found = self.memory.find(ch.addr, ch.length)
        if found is None:
            ch.error(DMASR_DEC_ERR)
            return None
        return found[0], found[1], self.lib.word_bits // 8

    def mm2s_started(self) -> None:
        ch = self.dma.mm2s
        if self._take_fault("slave_error"):
            ch.error(DMASR_SLV_ERR)
            return
        found = self._memory_of(ch)
        if found is None:
            return
        ddr, off, wbytes = found
        raw = ddr[off: off + ch.length - ch.length % wbytes]
        words = np.frombuffer(raw.tobytes(), dtype=f"<u{wbytes}").astype(np.uint64)
        self.in_fifo.extend(int(w) for w in words)
        ch.moved, ch.words_left = ch.length, len(words)

    def _take_input(self, need: int) -> np.ndarray:
        """The core's ``need`` input words off the stream FIFO; the MM2S transfer completes with its last word."""
        words = np.array(self.in_fifo[:need], dtype=np.uint64)
        del self.in_fifo[:need]
        ch = self.dma.mm2s
        if ch.busy:
            ch.words_left -= need
            if ch.words_left <= 0:
                ch.complete()
        return words

    def _faulty_stream(self, out: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The output stream as an injected fault garbles it: TLAST after the first sample, or a sample short."""
        n = self.lib.out_words
        if self._take_fault("early_tlast") and len(out) > n:
            last[n - 1] = True
        if self._take_fault("short_transfer") and len(out) >= n:
            out, last = out[: len(out) - n], last[: len(last) - n]
            if len(last):
                last[-1] = True
        return out, last

    def _run_core(self) -> None:
        core = self.core
        if not core.busy or core.hung:
            return
        need = core.batch * self.lib.in_words
        if len(self.in_fifo) < need:
            return  # waits for input, as the hardware does
        words = self._take_input(need)
        if self._take_fault("stall"):
            core.hung = True
            return
        t0 = time.perf_counter()
        out, last = self.lib.run(words, core.batch) if core.batch else (np.zeros(0, np.uint64), np.zeros(0, bool))
        self.compute_log.append((t0, time.perf_counter()))
        del self.compute_log[:-1000]
        out, last = self._faulty_stream(out, last)
        self.out_fifo.extend(zip((int(w) for w in out), (bool(t) for t in last)))
        core.busy, core.done = False, True

    def _run_s2mm(self) -> None:
        ch = self.dma.s2mm
        if not ch.busy or not self.out_fifo:
            return
        found = self._memory_of(ch)
        if found is None:
            return
        ddr, off, wbytes = found
        while self.out_fifo:
            if ch.moved + wbytes > ch.length:  # the packet is longer than the buffer
                ch.error(DMASR_INT_ERR)
                return
            word, tlast = self.out_fifo.pop(0)
            ddr[off + ch.moved: off + ch.moved + wbytes] = np.frombuffer(
                int(word).to_bytes(wbytes, "little"), np.uint8)
            ch.moved += wbytes
            if tlast:
                ch.complete()
                return

    def step(self) -> None:
        self._run_core()
        self._run_s2mm()

    # ---- power ---------------------------------------------------------------------------------------------
    def busy_fraction(self, window_s: float) -> float:
        now = time.perf_counter()
        busy = sum(min(e, now) - max(s, now - window_s) for s, e in self.compute_log if e > now - window_s)
        return min(1.0, max(0.0, busy / window_s))


def _device_class():
    from pynq.buffer import PynqBuffer
    from pynq.pl_server.device import Device

    class SimulatedDevice(Device):
        """A pynq Device whose registers and memory are the board model (no ``_probe_``: pynq never lists it)."""

        def __init__(self, board: SimulatedBoard):
            super().__init__("approxhls-simulated-board")
            self.board = board
            self.name = "simulated board"
            self.capabilities = {"REGISTER_RW": True}
            self.arch = board.ps.layout.arch  # what pynq 3.1+ reads to choose its clock registers

        def _target(self, addr: int):
            if DMA_BASE <= addr < DMA_BASE + DMA_RANGE:
                return self.board.dma, addr - DMA_BASE
            if CORE_BASE <= addr < CORE_BASE + CORE_RANGE:
                return self.board.core, addr - CORE_BASE
            if self.board.ps.owns(addr):
                return self.board.ps, addr
            raise MemoryError(f"no register at {addr:#x} on the simulated board")

        def read_registers(self, address, length):
            with self.board.lock:
                self.board.step()
                model, off = self._target(address)
                data = b"".join(int(model.read(off + i)).to_bytes(4, "little") for i in range(0, length, 4))
                return data[:length]

        def write_registers(self, address, data):
            with self.board.lock:
                model, off = self._target(address)
                for i in range(0, len(data), 4):
                    model.write(off + i, int.from_bytes(bytes(data[i: i + 4]), "little"))
                self.board.step()

        def allocate(self, shape, dtype, **kwargs):
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            bo, phys = self.board.memory.add(nbytes)
            return PynqBuffer(shape, dtype, device=self, device_address=phys, bo=bo, coherent=False)

        def flush(self, bo, offset, vaddr, nbytes):
            ddr = self.board.memory.regions[bo].ddr
            ddr[offset: offset + nbytes] = np.frombuffer(ctypes.string_at(vaddr, nbytes), np.uint8)

        def invalidate(self, bo, offset, vaddr, nbytes):
            ddr = self.board.memory.regions[bo].ddr
            ctypes.memmove(vaddr, ddr[offset: offset + nbytes].ctypes.data, nbytes)

    return SimulatedDevice


# The rails pynq.get_rails() lists on each board's PYNQ image, as (volts, idle W, extra W at a busy core) of the
# two the host reads. ZCU104: its PMBus regulators under PYNQ's sensor configuration (names as in PYNQ's
# zcu104_pmbus notebook: '12V' board input, 'INT' = VCCINT, among others). PYNQ-Z2 and KV260: no sensor
# configuration, no rails. Ultra96-V2: INA226 on hwmon, names not verified here, so not modelled.
BOARD_RAILS = {
    "zcu104": {"INT": (0.85, 3.5, 1.2), "12V": (12.0, 14.0, 1.5)},
    "pynq-z2": {},
    "kv260": {},
    "ultra96-v2": {},
}


class _SensorFiles:
    """sysfs-like files (hwmon units: mV, mA, uW) the model rewrites every 20 ms, read by pynq's SysFSSensor."""

    def __init__(self, board: SimulatedBoard):
        self.board = board
        self.RAILS = BOARD_RAILS.get(board.name, {})
        self.dir = Path(tempfile.mkdtemp(prefix="approxhls-sensors-"))
        self.stop = threading.Event()
        self.update()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def update(self) -> None:
        busy = self.board.busy_fraction(0.1)
        zero = self.board.fault_active("sensor_zero")
        for rail, (volts, idle_w, busy_w) in self.RAILS.items():
            watts = 0.0 if zero else idle_w + busy_w * busy + float(self.board.rng.normal(0, 0.01))
            for name, value in (("in", volts * 1e3), ("curr", watts / volts * 1e3), ("power", watts * 1e6)):
                tmp = self.dir / f".{rail}_{name}"
                tmp.write_text(f"{0 if zero else value:.0f}\n")
                tmp.replace(self.dir / f"{rail}_{name}")

    def _loop(self) -> None:
        while not self.stop.wait(0.02):
            self.update()

    def rails(self) -> dict:
        from pynq.pmbus import Rail, SysFSSensor

        rails = {}
        for rail in self.RAILS:
            r = Rail(rail)
            r.voltage = SysFSSensor(str(self.dir / f"{rail}_in"), "V", f"{rail}_voltage", 1e-3)
            if not self.board.fault_active("voltage_only"):
                r.current = SysFSSensor(str(self.dir / f"{rail}_curr"), "A", f"{rail}_current", 1e-3)
                r.power = SysFSSensor(str(self.dir / f"{rail}_power"), "W", f"{rail}_power", 1e-6)
            rails[rail] = r
        return rails

    def close(self) -> None:
        """Stop the writer and remove the directory mkdtemp made for it (nothing else)."""
        self.stop.set()
        self.thread.join()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class SimulatedPlatform:
    """What the driver needs from a board (see backends.PynqPlatform), on the simulated board."""

    spec: object
    faults: tuple = ()
    board: SimulatedBoard = field(init=False)
    simulated = True
    deadline_floor_s = 10.0  # the C-simulation behind the stream is far slower than the hardware

    def __post_init__(self):
        from approxhls.host.make import stream_library

        lib = StreamLibrary(stream_library(Path(self.spec.dir), self.spec.data["name"]))
        if lib.word_bits != self.spec.word_bits:
            raise RuntimeError(f"stream library has {lib.word_bits}-bit words, overlay.json says {self.spec.word_bits}")
        self.board = SimulatedBoard(lib, float(self.spec.data.get("clock_mhz", 100.0)), self.faults,
                                    board=str(self.spec.data.get("board", "zcu104")))
        self.pynq = _pynq()
        self.device = _device_class()(self.board)
        self.sensors: _SensorFiles | None = None  # started by the first rails() call: only power needs them
        self.description = (f"simulated board ({self.spec.data.get('board', '?')} model; pynq "
                            f"{self.pynq.__version__}'s DMA driver; stream side = the wrapper's C-simulation)")
        self._make_drivers()

    def _make_drivers(self) -> None:
        pynq = _pynq()
        from pynq.lib.dma import DMA

        width = str(self.spec.word_bits)
        params = {"c_include_sg": "0", "c_sg_length_width": str(self.spec.data["dma"].get("length_width", 26)),
                  "c_include_mm2s": "1", "c_include_s2mm": "1", "c_include_mm2s_dre": "0", "c_include_s2mm_dre": "0",
                  "c_m_axi_mm2s_data_width": width, "c_m_axi_s2mm_data_width": width,
                  "c_mm2s_burst_size": "16", "c_s2mm_burst_size": "16", "c_micro_dma": "0"}
        self.dma = DMA({"device": self.device, "phys_addr": DMA_BASE, "addr_range": DMA_RANGE,
                        "parameters": params, "interrupts": {}, "fullpath": self.spec.data["dma"]["name"]})
        self.ip = pynq.DefaultIP({"device": self.device, "phys_addr": CORE_BASE, "addr_range": CORE_RANGE,
                                  "interrupts": {}, "fullpath": self.spec.data["ip"]["name"]})

    def allocate(self, shape, dtype):
        return self.pynq.allocate(shape=shape, dtype=dtype, target=self.device)  # this release's allocate

    def reload(self) -> None:
        self.board.reload()
        self._make_drivers()

    def pl_clock_mhz(self) -> tuple[float | None, str]:
        from approxhls.host import pynqcompat

        with pynqcompat.clocks_on(self.pynq, self.device, self.device.arch):
            mhz = pynqcompat.fclk0_mhz(self.pynq)
        return mhz, (f"read back by pynq {self.pynq.__version__}'s Clocks.fclk0_mhz from the simulated PS clock "
                     f"registers (set from overlay.json: a model, not a measurement)")

    def rails(self) -> dict:
        if self.sensors is None:
            self.sensors = _SensorFiles(self.board)
        return self.sensors.rails()

    def close(self) -> None:
        if self.sensors is not None:
            self.sensors.close()
