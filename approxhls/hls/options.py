"""The options of a conversion, validated, and written to a project so that it can be converted again alike."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from approxhls.errors import ModelError
from approxhls.fixedpoint import FixedType
from approxhls.names import check_identifier

DEFAULT_PART = "xczu7ev-ffvc1156-2-e"  # ZCU104, the default board (PYNQ 4.0's reference board)
BACKENDS = {"vitis": "Vitis", "vivado": "Vivado"}
IO_TYPES = ("io_parallel", "io_stream")
STRATEGIES = ("latency", "resource")
SOFTMAX_CHOICES = ("keep", "argmax", "strip")
DEFAULT_PRECISION = "ap_fixed<16,6>"  # hls4ml's own default
MAX_WIDTH = 64  # the emulator's integer codes
MAX_REUSE_FACTOR = 1 << 20  # far above any layer's product count; hls4ml writes it into C++ as an int


def _is_reuse_factor(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_REUSE_FACTOR


def _is_clock_period(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= 1000


def _fixed_type(text, what: str) -> str:
    """``text`` as a fixed-point type written the one way approxhls writes it (it reaches hls4ml's C++ as a type)."""
    try:
        t = FixedType.parse(str(text))
    except ValueError as e:
        raise ModelError(f"{what}: {e}") from None
    if not 1 <= t.width <= MAX_WIDTH:
        raise ModelError(f"{what} {text!r}: give a width from 1 to {MAX_WIDTH} bits")
    return str(t)


@dataclass
class ConvertOptions:
    io_type: str = "io_parallel"
    strategy: str = "latency"
    reuse_factor: int = 1
    backend: str = "vitis"
    part: str = DEFAULT_PART
    clock_period: float = 10.0
    project_name: str = "approxhls_model"
    input_precision: str | None = None  # default: the training grid, else ap_ufixed<8,0>
    softmax: str = "keep"               # keep (hls4ml's stable softmax), argmax (one-hot), strip (logits out)
    # hls4ml's default type: float (unquantized) weights and the layers hls4ml gives no type of their own round to it
    default_precision: str = DEFAULT_PRECISION

    def validate(self) -> "ConvertOptions":
        for what, value, choices in (("io_type", self.io_type, IO_TYPES), ("strategy", self.strategy, STRATEGIES),
                                     ("backend", self.backend, tuple(BACKENDS)),
                                     ("softmax", self.softmax, SOFTMAX_CHOICES)):
            if value not in choices:
                raise ModelError(f"{what} must be one of {', '.join(choices)}, got {value!r}")
        if not _is_reuse_factor(self.reuse_factor):
            raise ModelError(f"reuse factor must be an integer from 1 to {MAX_REUSE_FACTOR}, got {self.reuse_factor!r}")
        if not _is_clock_period(self.clock_period):
            raise ModelError(f"clock period must be a number of ns above 0 and at most 1000, got {self.clock_period!r}")
        check_identifier(self.project_name, "project name")
        self.default_precision = _fixed_type(self.default_precision, "default precision")
        if not self.part or not all(c.isalnum() or c in "-_" for c in self.part):
            raise ModelError(f"FPGA part {self.part!r} has characters a part number never has")
        return self

    @property
    def hls_backend(self) -> str:
        return BACKENDS[self.backend]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ConvertOptions":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ModelError(f"unknown conversion options {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data).validate()
