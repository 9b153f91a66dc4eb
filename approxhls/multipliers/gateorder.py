"""Walking a Yosys gate netlist in dependency order (cells come in no particular order in its JSON)."""

from __future__ import annotations

from approxhls.errors import ApproxHLSError


def in_dependency_order(cells, place) -> None:
    """Call ``place(cell)`` on every cell once its inputs are known: ``place`` returns False while one is not (the
    cell is tried again after the others). A round that places nothing means a loop or an undriven net."""
    pending = list(cells)
    while pending:
        rest = [cell for cell in pending if not place(cell)]
        if len(rest) == len(pending):
            raise ApproxHLSError("gate netlist has a combinational loop or undriven nets")
        pending = rest
