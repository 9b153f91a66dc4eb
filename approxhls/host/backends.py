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


class DMAStallError(ApproxHLSError):
    """A DMA transfer did not complete before its deadline."""


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


class BoardBackend:
    name = "board"
    simulated = False

    def __init__(self, spec: TargetSpec, pynq_module=None, timeout_s: float = 5.0):
        self.pynq = import_pynq(pynq_module)
        self.spec = spec
        self.timeout_s = timeout_s
        bit = spec.bitfile
        if not bit.exists() or not bit.with_suffix(".hwh").exists():
            raise ApproxHLSError(f"{bit} and {bit.with_suffix('.hwh').name} must both exist (build the overlay first)")
        self.overlay = self.pynq.Overlay(str(bit))
        self.dma = _attr_path(self.overlay, spec.data["dma"]["name"])
        self.ip = _attr_path(self.overlay, spec.data["ip"]["name"]) if spec.data.get("ip") else None
        wb = spec.word_bits // 8
        self.in_words = packing.words_per_sample(spec.input.elements, spec.input.field_bits, spec.word_bits)
        self.out_words = packing.words_per_sample(spec.output.elements, spec.output.field_bits, spec.word_bits)
        max_bytes = int(spec.data["dma"].get("max_transfer_bytes", (1 << 14) - 1))
        per_sample = max(self.in_words, self.out_words) * wb
        self.max_batch = max(1, min(int(spec.data.get("max_batch", 1 << 30)), max_bytes // per_sample))
        dtype = packing._dtype(spec.word_bits)
        self.in_buf = self.pynq.allocate(shape=(self.max_batch * self.in_words,), dtype=dtype)
        self.out_buf = self.pynq.allocate(shape=(self.max_batch * self.out_words,), dtype=dtype)
        remote = os.environ.get("PYNQ_REMOTE_DEVICES")
        self.description = f"board {spec.data.get('board', '?')}" + (f" (remote {remote})" if remote else "")

    def _wait(self, channel, what: str, deadline: float) -> None:
        while not channel.idle:
            if time.perf_counter() > deadline:
                raise DMAStallError(
                    f"DMA {what} did not complete within {self.timeout_s} s: the stream IP may not assert TLAST "
                    f"on the last word, the batch may not match the IP's count register, or the IP is not started"
                )
            time.sleep(0)

    def transfer(self, words: np.ndarray, n: int) -> np.ndarray:
        """One batch of n samples (n <= max_batch): words in, words out."""
        ni, no = n * self.in_words, n * self.out_words
        self.in_buf[:ni] = words.reshape(-1)
        self.in_buf.flush()
        if self.ip is not None:
            self.ip.write(int(self.spec.data["ip"].get("batch_offset", 0x10)), int(n))
            self.ip.write(int(self.spec.data["ip"].get("control_offset", 0x00)), 1)  # ap_start
        self.dma.recvchannel.transfer(self.out_buf, nbytes=no * self.out_buf.itemsize)
        self.dma.sendchannel.transfer(self.in_buf, nbytes=ni * self.in_buf.itemsize)
        deadline = time.perf_counter() + self.timeout_s
        self._wait(self.dma.sendchannel, "send (host -> IP)", deadline)
        self._wait(self.dma.recvchannel, "receive (IP -> host)", deadline)
        self.out_buf.invalidate()
        return np.array(self.out_buf[:no]).reshape(n, self.out_words)

    def close(self):
        for buf in (self.in_buf, self.out_buf):
            try:
                buf.freebuffer()
            except Exception:  # already freed
                pass
