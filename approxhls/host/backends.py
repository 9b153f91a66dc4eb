"""Where inference runs: the board (pynq Overlay + AXI DMA) or the C-simulation of the project.

A backend runs one batch: ``run(x) -> y`` for the C-simulation (real values), ``transfer(words_in, n)
-> words_out`` for the board (packed words, see :mod:`approxhls.host.packing`). Both report which
they are; timings of the C-simulation are labelled as simulation.
"""

from __future__ import annotations

import importlib
import os
import time

import numpy as np

from approxhls.errors import ApproxHLSError, ToolMissingError
from approxhls.host import packing
from approxhls.host.spec import TargetSpec


class CSimBackend:
    name = "csim"
    simulated = True

    def __init__(self, spec: TargetSpec):
        from approxhls.sim.csimlib import CSimLibrary

        prj = spec.project_dir
        if prj is None:
            raise ApproxHLSError(f"{spec.dir} names no converted project; the C-simulation backend needs one")
        self.lib = CSimLibrary(prj).load()
        self.description = f"C-simulation of {prj} (timings are simulation, not hardware)"

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.lib.predict(x)

    def close(self):
        pass


def import_pynq(module=None):
    if module is not None:
        return module
    try:
        return importlib.import_module("pynq")
    except ImportError:
        raise ToolMissingError("pynq is not installed: on a PYNQ board run `pip install approxhls[board]`") from None


def board_available(pynq_module=None) -> tuple[bool, str]:
    """(True, how) when pynq finds a device, else (False, why)."""
    try:
        pynq = import_pynq(pynq_module)
        devices = list(pynq.Device.devices)
    except Exception as e:  # ImportError, RuntimeError('No Devices Found'), ...
        return False, str(e).splitlines()[0] if str(e) else type(e).__name__
    if not devices:
        return False, "pynq found no device"
    remote = os.environ.get("PYNQ_REMOTE_DEVICES")
    return True, f"remote PYNQ device {remote}" if remote else f"PYNQ device {devices[0].name}"


def _attr_path(root, dotted: str):
    obj = root
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


class PynqPlatform:
    """A real board: the overlay downloaded by ``pynq.Overlay``, its DMA and core drivers, sensors, clocks."""

    simulated = False
    deadline_floor_s = 0.5

    def __init__(self, spec: TargetSpec, pynq_module=None):
        self.pynq = import_pynq(pynq_module)
        self.spec = spec
        bit = spec.bitfile
        if not bit.exists() or not bit.with_suffix(".hwh").exists():
            raise ApproxHLSError(f"{bit} and {bit.with_suffix('.hwh').name} must both exist (build the overlay first)")
        self.overlay = self.pynq.Overlay(str(bit))
        self._bind()
        remote = os.environ.get("PYNQ_REMOTE_DEVICES")
        self.description = f"board {spec.data.get('board', '?')}" + (f" (remote {remote})" if remote else "")

    def _bind(self):
        self.dma = _attr_path(self.overlay, self.spec.data["dma"]["name"])
        self.ip = _attr_path(self.overlay, self.spec.data["ip"]["name"])

    def allocate(self, shape, dtype):
        return self.pynq.allocate(shape=shape, dtype=dtype)

    def reload(self) -> None:
        """Download the bitstream again: the PL (core and DMA) starts from reset."""
        self.overlay.download()
        self._bind()

    def pl_clock_mhz(self) -> tuple[float | None, str]:
        try:
            return float(self.pynq.Clocks.fclk0_mhz), "read back from the PS clock registers (pynq.Clocks.fclk0_mhz)"
        except Exception as e:  # remote boards and unknown architectures have no clock registers
            return None, f"pynq.Clocks could not read the PL clock ({type(e).__name__}: {e})"

    def rails(self) -> dict:
        get_rails = getattr(self.pynq, "get_rails", None)
        if get_rails is None:
            raise ApproxHLSError("this pynq has no get_rails (PYNQ.remote does not export power sensors)")
        return get_rails()

    def close(self) -> None:
        pass


class BoardError(ApproxHLSError):
    """A batch failed on the board; the message says what the hardware reported and whether it recovered."""


DMASR_ERRORS = {  # PG021 DMASR error bits
    0x10: "DMAIntErr (internal error: a zero length, or a packet longer than the receive buffer)",
    0x20: "DMASlvErr (slave error: the memory port refused the access)",
    0x40: "DMADecErr (decode error: the buffer address is not mapped)",
}
DMASR_ERROR_BITS = sum(DMASR_ERRORS)  # distinct bits: their sum is their OR
DMACR_RESET = 0x4
DMASR_HALTED, DMASR_IDLE = 0x1, 0x2
AP_IDLE = 0x4


def dma_errors(status: int) -> list[str]:
    return [name for bit, name in DMASR_ERRORS.items() if status & bit]


class BoardBackend:
    """Runs batches through PYNQ's DMA driver and the core's control registers, and survives failures: every
    error bit is read and named, the DMA is reset and re-armed (and the bitstream reloaded when the core is
    stuck) so the next call works, and the bytes received are checked against what the batch must return."""

    name = "board"

    def __init__(self, spec: TargetSpec, platform, timeout_s: float | None = None):
        self.spec = spec
        self.platform = platform
        self.simulated = platform.simulated
        self.description = platform.description
        self.timeout_s = timeout_s
        wb = spec.word_bits // 8
        self.in_words = packing.words_per_sample(spec.input.elements, spec.input.field_bits, spec.word_bits)
        self.out_words = packing.words_per_sample(spec.output.elements, spec.output.field_bits, spec.word_bits)
        max_bytes = int(spec.data["dma"].get("max_transfer_bytes", (1 << 14) - 1))
        per_sample = max(self.in_words, self.out_words) * wb
        self.max_batch = max(1, min(int(spec.data.get("max_batch", 1 << 30)), max_bytes // per_sample))
        dtype = packing._dtype(spec.word_bits)
        self.in_buf = platform.allocate((self.max_batch * self.in_words,), dtype)
        self.out_buf = platform.allocate((self.max_batch * self.out_words,), dtype)
        self.scratch = platform.allocate((self.max_batch * self.out_words,), dtype)
        self.measured_s_per_sample: float | None = None
        self.recoveries: list[str] = []
        self._ensure_ready()

    # ---- registers --------------------------------------------------------------------------------------
    @property
    def _ctrl(self) -> int:
        return int(self.spec.data["ip"].get("control_offset", 0x00))

    def _status(self, channel) -> int:
        return int(channel._mmio.read(channel._offset + 4))

    def core_idle(self) -> bool:
        return bool(self.platform.ip.read(self._ctrl) & AP_IDLE)

    def deadline_s(self, n: int) -> float:
        """--timeout if given; else 20x the overlay's estimate (or the slowest batch measured so far) for n
        samples, never below the platform's floor."""
        if self.timeout_s is not None:
            return float(self.timeout_s)
        t = self.spec.data.get("timing") or {}
        clock = float(self.spec.data.get("clock_mhz", 100.0)) * 1e6
        est = (float(t.get("latency_cycles", 0)) + n * float(t.get("ii_cycles", max(self.in_words, self.out_words)))) / clock
        est += n * (self.in_words + self.out_words) * self.spec.word_bits / 8 / 100e6  # DMA at >= 100 MB/s
        if self.measured_s_per_sample:
            est = max(est, n * self.measured_s_per_sample)
        return max(self.platform.deadline_floor_s, 20 * est)

    # ---- recovery ---------------------------------------------------------------------------------------
    def _reset_dma(self) -> None:
        dma = self.platform.dma
        dma.sendchannel._mmio.write(0x00, DMACR_RESET)
        deadline = time.perf_counter() + 1.0
        while dma.sendchannel._mmio.read(0x00) & DMACR_RESET:
            if time.perf_counter() > deadline:
                raise BoardError("the AXI DMA did not come out of its soft reset within 1 s; reload the overlay")
        dma.sendchannel.start()
        dma.recvchannel.start()

    def _drain(self, tries: int = 4) -> int:
        """Take packets the core still holds (after an early TLAST) into a scratch buffer; returns how many."""
        recv, got = self.platform.dma.recvchannel, 0
        for _ in range(tries):
            self._reset_dma()
            recv.transfer(self.scratch)
            deadline = time.perf_counter() + 0.05
            while not recv.idle and not recv.error and time.perf_counter() < deadline:
                pass
            if not recv.idle:
                break
            got += 1
        self._reset_dma()
        return got

    def _ensure_ready(self) -> None:
        """DMA channels running without errors and the core idle, before a batch starts."""
        dma = self.platform.dma
        if any(self._status(ch) & (DMASR_HALTED | DMASR_ERROR_BITS) for ch in (dma.sendchannel, dma.recvchannel)):
            self._reset_dma()
        if not self.core_idle():
            self.recover()

    def recover(self) -> str:
        """After a failure: drain what the core still sends, reset the DMA; reload the bitstream when the core
        stays busy. Returns what was done; raises BoardError when the core never becomes idle."""
        done = []
        drained = self._drain()
        if drained:
            done.append(f"drained {drained} stale packet(s)")
        done.append("reset the DMA")
        if not self.core_idle():
            self.platform.reload()
            self._reset_dma()
            done.append("reloaded the bitstream (the core was stuck)")
            if not self.core_idle():
                raise BoardError("the core's ap_idle stays 0 even after reloading the bitstream: the design does "
                                 "not return to idle (check the build's timing report and the PL clock); not recovered")
        self.recoveries.append(", ".join(done))
        return self.recoveries[-1]

    def _fail(self, what: str) -> None:
        try:
            how = self.recover()
        except BoardError as e:
            raise BoardError(f"{what}; {e}") from None
        raise BoardError(f"{what}; recovered ({how}): the next call works")

    # ---- one batch --------------------------------------------------------------------------------------
    def load(self, words: np.ndarray, n: int) -> None:
        """Copy n samples' words into the input buffer (the DMA driver flushes it on transfer)."""
        self.in_buf[: n * self.in_words] = words.reshape(-1)

    def run_loaded(self, n: int) -> np.ndarray:
        """One batch of n samples already in the input buffer: start, wait, check; returns the output words."""
        dma, ip = self.platform.dma, self.platform.ip
        ni, no = n * self.in_words, n * self.out_words
        item = self.in_buf.itemsize
        self._ensure_ready()
        ip.write(int(self.spec.data["ip"].get("batch_offset", 0x10)), int(n))
        dma.recvchannel.transfer(self.out_buf, nbytes=no * item)
        dma.sendchannel.transfer(self.in_buf, nbytes=ni * item)
        ip.write(self._ctrl, 1)  # ap_start
        t0 = time.perf_counter()
        limit = self.deadline_s(n)
        pending = {"send (host -> core)": dma.sendchannel, "receive (core -> host)": dma.recvchannel}
        while pending:
            for what, ch in list(pending.items()):
                status = self._status(ch)
                errs = dma_errors(status)
                if errs:
                    self._fail(f"DMA {what} channel reported {' and '.join(errs)} (DMASR {status:#06x})")
                if status & DMASR_IDLE:
                    del pending[what]
            if pending and time.perf_counter() - t0 > limit:
                core = "still busy" if not self.core_idle() else "idle"
                self._fail(f"DMA {', '.join(pending)} did not complete within {limit:.3g} s (core {core}): the core "
                           f"stalled, or never asserted TLAST; raise the deadline with --timeout if the batch is "
                           f"just slow")
        dma.sendchannel.wait()
        dma.recvchannel.wait()  # invalidates the output buffer, reads the bytes received
        got = int(dma.recvchannel.transferred)
        if got != no * item:
            self._fail(f"received {got} of {no * item} bytes ({got // max(1, self.out_words * item)} of {n} samples): "
                       f"the core asserted TLAST early or sent a short batch")
        per_sample = (time.perf_counter() - t0) / n
        self.measured_s_per_sample = max(self.measured_s_per_sample or 0.0, per_sample)
        return np.array(self.out_buf[:no]).reshape(n, self.out_words)

    def transfer(self, words: np.ndarray, n: int) -> np.ndarray:
        """One batch of n samples (n <= max_batch): words in, words out."""
        self.load(words, n)
        return self.run_loaded(n)

    def close(self):
        for buf in (self.in_buf, self.out_buf, self.scratch):
            try:
                buf.freebuffer()
            except Exception:  # already freed
                pass
        self.platform.close()
