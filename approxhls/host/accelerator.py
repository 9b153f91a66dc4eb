"""One API over the board and the C-simulation: predict, benchmark (latency), measure_power."""

from __future__ import annotations

import time

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.host import packing
from approxhls.host.backends import (
    BoardBackend,
    CSimBackend,
    PynqPlatform,
    board_available,
    import_pynq,
)
from approxhls.host.spec import load_target

BACKENDS = ("auto", "board", "simulated", "csim")


class Accelerator:
    def __init__(self, spec, backend, note: str = ""):
        self.spec = spec
        self.backend = backend
        self.note = note
        self.last_encode_s = self.last_decode_s = 0.0
        self.last_batches: list[tuple[int, float]] = []  # (samples, seconds in transfers)

    @classmethod
    def open(cls, target, backend: str = "auto", pynq_module=None, timeout_s: float | None = None,
             faults=()) -> "Accelerator":
        """backend "board" (pynq on a board), "simulated" (PYNQ's driver on the simulated board), "csim" (the
        project's C-simulation) or "auto" (board when pynq finds one, else the C-simulation)."""
        if backend not in BACKENDS:
            raise ApproxHLSError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if timeout_s is not None:  # nan or inf would disable the deadline: a stalled core would hang the host
            from approxhls.checks import finite_positive

            timeout_s = finite_positive("--timeout", timeout_s)
        spec = load_target(target)
        note = ""
        if backend == "auto":
            ok, why = board_available(pynq_module) if spec.kind == "overlay" else (False, "target is a project")
            backend = "board" if ok else "csim"
            note = f"auto: {why} -> using the {'board' if ok else 'C-simulation'}"
        if backend in ("board", "simulated"):
            if spec.kind != "overlay":
                raise ApproxHLSError(f"{target} is a project, not an overlay: the {backend} backend needs overlay.json "
                                     f"(write one with approxhls overlay)")
            if backend == "board":
                platform = PynqPlatform(spec, pynq_module)
            else:
                from approxhls.host.simboard import SimulatedPlatform

                import_pynq(pynq_module)  # a clear message when pynq is missing
                platform = SimulatedPlatform(spec, tuple(faults))
            try:
                return cls(spec, BoardBackend(spec, platform, timeout_s), note)
            except Exception:
                platform.close()
                raise
        return cls(spec, CSimBackend(spec), note)

    @property
    def simulated(self) -> bool:
        return self.backend.simulated

    def describe(self) -> str:
        return self.backend.description + (f" [{self.note}]" if self.note else "")

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Real-valued samples -> the stream words the board takes."""
        s = self.spec
        return packing.encode(np.asarray(x, dtype=np.float64).reshape(len(x), -1), s.input.type, s.input.field_bits,
                              s.word_bits)

    # ---- inference --------------------------------------------------------------------------------------
    def predict(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Outputs (n, outputs) float64. Board batches are split to fit the DMA's transfer length."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        self.last_batches, self.last_encode_s, self.last_decode_s = [], 0.0, 0.0
        if isinstance(self.backend, CSimBackend):
            bs = batch_size or len(x) or 1
            outs = []
            for i in range(0, len(x), bs):
                t0 = time.perf_counter()
                outs.append(self.backend.run(x[i : i + bs]))
                self.last_batches.append((len(outs[-1]), time.perf_counter() - t0))
            return np.concatenate(outs) if outs else np.zeros((0, self.spec.output.elements))
        s, b = self.spec, self.backend
        bs = min(batch_size or b.max_batch, b.max_batch)
        outs = []
        for i in range(0, len(x), bs):
            chunk = x[i : i + bs]
            t0 = time.perf_counter()
            words = packing.encode(chunk, s.input.type, s.input.field_bits, s.word_bits)
            t1 = time.perf_counter()
            out_words = b.transfer(words, len(chunk))
            t2 = time.perf_counter()
            outs.append(packing.decode(out_words, s.output.type, s.output.field_bits, s.word_bits, s.output.elements))
            t3 = time.perf_counter()
            self.last_encode_s += t1 - t0
            self.last_decode_s += t3 - t2
            self.last_batches.append((len(chunk), t2 - t1))
        return np.concatenate(outs) if outs else np.zeros((0, s.output.elements))

    def benchmark(self, x: np.ndarray, runs: int = 10, warmup: int = 2, batch_size: int | None = None) -> dict:
        from approxhls.host.latency import latency_report

        for _ in range(warmup):
            self.predict(x, batch_size)
        batches, enc, dec = [], 0.0, 0.0
        for _ in range(runs):
            self.predict(x, batch_size)
            batches += self.last_batches
            enc += self.last_encode_s
            dec += self.last_decode_s
        return latency_report(batches, enc, dec, simulated=self.simulated, backend=self.describe())

    def measure_power(self, x: np.ndarray, seconds: float = 5.0, idle_seconds: float | None = None, rails=None,
                      windows: int = 5) -> dict:
        from approxhls.host.power import measure_power

        return measure_power(self, x, seconds, idle_seconds, rails, windows)

    # ---- resources ------------------------------------------------------------------------------------
    def close(self):
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
