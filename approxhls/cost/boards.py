"""FPGA resources of the boards approxhls builds overlays for (approxhls.overlays.boards), and whether an
estimate fits one.

Figures from the parts' product tables (AMD/Xilinx): CLB LUTs, flip-flops, DSP slices, block RAM in 18 Kb halves
(a 36 Kb block is two) and UltraRAM blocks. The PL also holds the overlay's DMA and interconnect, which
:data:`SHELL` reserves (a typical AXI DMA + SmartConnect + reset/clock logic).
"""

from __future__ import annotations

from dataclasses import dataclass

from approxhls.errors import ApproxHLSError

RESOURCES = ("lut", "ff", "dsp", "bram18")


@dataclass(frozen=True)
class Resources:
    part: str
    lut: int
    ff: int
    dsp: int
    bram18: int
    uram: int = 0

    def to_json(self) -> dict:
        return dict(self.__dict__)


# board name (approxhls.overlays.boards.BOARDS) -> its part's resources
BOARD_RESOURCES = {
    "pynq-z2": Resources("xc7z020clg400-1", lut=53_200, ff=106_400, dsp=220, bram18=280),
    "zcu104": Resources("xczu7ev-ffvc1156-2-e", lut=230_400, ff=460_800, dsp=1_728, bram18=624, uram=96),
    "kv260": Resources("xck26-sfvc784-2LV-c", lut=117_120, ff=234_240, dsp=1_248, bram18=288, uram=64),
    "ultra96-v2": Resources("xczu3eg-sbva484-1-i", lut=70_560, ff=141_120, dsp=360, bram18=432),
}

# what the overlay around the accelerator takes (AXI DMA with 64-bit streams, interconnect, resets), approximately
SHELL = {"lut": 3_500, "ff": 5_000, "dsp": 0, "bram18": 6}


def board_resources(board: str) -> Resources:
    try:
        return BOARD_RESOURCES[board]
    except KeyError:
        raise ApproxHLSError(f"no resource table for board {board!r}; known: {', '.join(sorted(BOARD_RESOURCES))} "
                             f"(add its part's figures to approxhls/cost/boards.py)") from None


def fit(estimate: dict, board: str | Resources, shell: bool = True) -> dict:
    """Whether an accelerator estimate (``lut``, ``ff``, ``dsp``, ``bram18``) fits the board, and by how much.

    Returns {"board", "part", "fits", "binding" (the fullest resource), "resources": {r: {"need", "have", "use",
    "margin"}}}: ``use`` is need / have, ``margin`` what is left (negative: missing). ``shell`` adds the overlay's
    DMA and interconnect to the need.
    """
    res = board if isinstance(board, Resources) else board_resources(board)
    rows = {}
    for r in RESOURCES:
        need = int(round(float(estimate.get(r, 0)))) + (SHELL[r] if shell else 0)
        have = int(getattr(res, r))
        rows[r] = {"need": need, "have": have, "use": need / have if have else float("inf"), "margin": have - need}
    binding = max(rows, key=lambda r: rows[r]["use"])
    return {"board": board if isinstance(board, str) else res.part, "part": res.part,
            "fits": all(v["margin"] >= 0 for v in rows.values()), "binding": binding, "resources": rows,
            "shell_included": shell}


def fit_text(f: dict) -> str:
    """One line: fits or not, and by how much (the binding resource first)."""
    b = f["resources"][f["binding"]]
    verdict = "fits" if f["fits"] else "does NOT fit"
    parts = ", ".join(f"{r.upper()} {v['need']:,}/{v['have']:,} ({100 * v['use']:.0f}%)" for r, v in f["resources"].items())
    short = [f"{r.upper()} by {-v['margin']:,}" for r, v in f["resources"].items() if v["margin"] < 0]
    tail = (f"; short of {', '.join(short)}" if short
            else f"; tightest: {f['binding'].upper()} with {b['margin']:,} to spare")
    return f"{verdict} on {f['board']} ({f['part']}): {parts}{tail}"
