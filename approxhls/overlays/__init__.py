"""PYNQ overlays: board presets, the AXI-Stream wrapper around an hls4ml kernel, and the Vitis HLS / Vivado
scripts that build NAME.bit + NAME.hwh (``approxhls overlay``)."""

from approxhls.overlays.boards import BOARDS, Board, get_board
from approxhls.overlays.build import build_overlay
from approxhls.overlays.overlay import OverlayOptions, write_overlay
from approxhls.overlays.wrapper import verify_wrapper

__all__ = ["BOARDS", "Board", "get_board", "OverlayOptions", "write_overlay", "build_overlay", "verify_wrapper"]
