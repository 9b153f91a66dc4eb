"""Board presets for PYNQ overlays: adding a board is adding one entry to :data:`BOARDS`.

A board names its FPGA part, its Vivado board part (board files), and the kind of processing system
(:data:`PS_KINDS`), which says which IP, which ports and which configuration properties the block design
uses for the PL clock, the control master and the memory port the DMA writes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from approxhls.errors import ApproxHLSError


@dataclass(frozen=True)
class PSKind:
    ip: str                 # IP definition name (its VLNV is looked up in the running Vivado's catalog)
    cell: str               # block-design cell name
    automation_rule: str    # apply_bd_automation rule that configures DDR/MIO from the board preset
    automation_config: str  # its -config (Tcl list text)
    master: str             # PS master port that drives AXI-Lite control (DMA registers, IP's s_axi_control)
    memory_port: str        # PS slave port the DMA reads/writes DDR through
    clock_pin: str          # PL clock output of the PS
    reset_pin: str
    clock_property: str     # CONFIG property that sets the PL clock in MHz
    enable: dict = field(default_factory=dict)  # CONFIG properties that switch the two ports on
    max_clock_mhz: float = 250.0  # the highest PL clock the PS clock generator provides
    integer_clock: bool = False   # the clock property takes whole MHz (ZynqMP, as FINN sets it)


PS_KINDS = {
    "zynq7": PSKind(
        ip="processing_system7", cell="processing_system7_0",
        automation_rule="xilinx.com:bd_rule:processing_system7",
        automation_config='make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"',
        master="M_AXI_GP0", memory_port="S_AXI_HP0", clock_pin="FCLK_CLK0", reset_pin="FCLK_RESET0_N",
        clock_property="CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ",
        enable={"CONFIG.PCW_USE_M_AXI_GP0": "1", "CONFIG.PCW_USE_S_AXI_HP0": "1",
                "CONFIG.PCW_S_AXI_HP0_DATA_WIDTH": "64"},
        max_clock_mhz=250.0,
    ),
    "zynqmp": PSKind(
        ip="zynq_ultra_ps_e", cell="zynq_ultra_ps_e_0",
        automation_rule="xilinx.com:bd_rule:zynq_ultra_ps_e", automation_config='apply_board_preset "1"',
        master="M_AXI_HPM0_FPD", memory_port="S_AXI_HP0_FPD", clock_pin="pl_clk0", reset_pin="pl_resetn0",
        clock_property="CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ",
        # the board preset fixes the PL clock unless the basic-clock override is off (FINN's zynq_build does the same)
        enable={"CONFIG.PSU__OVERRIDE__BASIC_CLOCK": "0", "CONFIG.PSU__USE__M_AXI_GP0": "1",
                "CONFIG.PSU__USE__M_AXI_GP1": "0", "CONFIG.PSU__USE__M_AXI_GP2": "0", "CONFIG.PSU__USE__S_AXI_GP2": "1"},
        max_clock_mhz=333.0, integer_clock=True,
    ),
}


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    board_part: str
    ps: str                        # key of PS_KINDS
    default_clock_mhz: float = 100.0
    board_files: str = ""          # where Vivado gets the board files when they are not installed
    description: str = ""
    fan: tuple | None = None       # (port, package pin, IO standard) of a fan enable the PL must drive

    @property
    def board_glob(self) -> str:
        """The board part with any file version (get_board_parts -latest_file_version picks the newest)."""
        return ":".join(self.board_part.split(":")[:3] + ["*"])

    @property
    def ps_kind(self) -> PSKind:
        return PS_KINDS[self.ps]


_BOARD_STORE = "Vivado's board store (Tools > Vivado Store > Boards) or github.com/Xilinx/XilinxBoardStore"

BOARDS = {b.name: b for b in [
    Board("pynq-z2", "xc7z020clg400-1", "tul.com.tw:pynq-z2:part0:1.0", "zynq7",
          board_files="the PYNQ-Z2 board files from TUL (pynq.io, 'PYNQ-Z2 board files'), unzipped into "
                      "<Vivado>/data/boards/board_files",
          description="TUL PYNQ-Z2, Zynq-7020"),
    Board("zcu104", "xczu7ev-ffvc1156-2-e", "xilinx.com:zcu104:part0:1.1", "zynqmp",
          board_files=f"shipped with Vivado; otherwise {_BOARD_STORE}", description="AMD ZCU104, Zynq UltraScale+ ZU7EV"),
    Board("kv260", "xck26-sfvc784-2LV-c", "xilinx.com:kv260_som:part0:1.3", "zynqmp",
          board_files=_BOARD_STORE, description="AMD Kria KV260 (K26 SOM)",
          fan=("fan_en_b", "A12", "LVCMOS33")),  # carrier-card fan enable, active low (KV260 starter kit XDC)
    Board("ultra96-v2", "xczu3eg-sbva484-1-i", "avnet.com:ultra96v2:part0:1.2", "zynqmp",
          board_files=f"Avnet's bdf repository (github.com/Avnet/bdf) or {_BOARD_STORE}",
          description="Avnet Ultra96-V2, Zynq UltraScale+ ZU3EG"),
]}

MIN_CLOCK_MHZ = 10.0


def get_board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise ApproxHLSError(f"unknown board {name!r}; known boards: {', '.join(sorted(BOARDS))} "
                             f"(add one in approxhls/overlays/boards.py)") from None


def check_clock(board: Board, clock_mhz: float) -> float:
    """Refuse a PL clock the board's processing system cannot generate."""
    f = float(clock_mhz)
    top = board.ps_kind.max_clock_mhz
    if not (MIN_CLOCK_MHZ <= f <= top):
        raise ApproxHLSError(
            f"clock {clock_mhz} MHz is impossible on {board.name}: its PL clock ({board.ps_kind.clock_pin} of "
            f"{board.ps_kind.ip}) ranges from {MIN_CLOCK_MHZ:g} to {top:g} MHz; typical hls4ml overlays run at 100 MHz"
        )
    return f
