"""Kulkarni, Gupta, Ercegovac (VLSI Design 2011): 2x2 underdesigned multiplier blocks.

The 2x2 block returns 7 (3 bits) instead of 9 for 3 x 3 and is exact otherwise; an n x n multiplier
adds the shifted 2x2 block products exactly. Here blocks whose output lands below bit s are the
approximate ones (s = 2n: every block, the original design), the rest are exact.
"""

from __future__ import annotations

import numpy as np

from approxhls.multipliers.design import Design


class Kulkarni(Design):
    family = "kulkarni"
    description = "recursive multiplier of 2x2 blocks, 3x3=7 in blocks below bit s"

    def _blocks(self):
        h = self.bits // 2
        return [(i, j, 2 * (i + j) < self.params["s"]) for i in range(h) for j in range(h)]

    def model(self, a, b):
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        p = np.zeros(np.broadcast(a, b).shape, dtype=np.int64)
        for i, j, approx in self._blocks():
            x, y = (a >> (2 * i)) & 3, (b >> (2 * j)) & 3
            blk = x * y
            if approx:
                blk = np.where((x == 3) & (y == 3), 7, blk)
            p += blk << (2 * (i + j))
        return p

    def cpp(self):
        h, s = self.bits // 2, self.params["s"]
        return (
            f"{self.signature()} {{\n"
            f"    uint32_t p = 0;\n"
            f"    for (int i = 0; i < {h}; i++) {{\n"
            f"        for (int j = 0; j < {h}; j++) {{\n"
            f"            uint32_t x = (a >> (2 * i)) & 3u, y = (b >> (2 * j)) & 3u;\n"
            f"            uint32_t blk = x * y;\n"
            f"            if (2 * (i + j) < {s} && x == 3u && y == 3u) blk = 7u;  // underdesigned block\n"
            f"            p += blk << (2 * (i + j));\n"
            f"        }}\n"
            f"    }}\n"
            f"    return p;\n"
            f"}}\n"
        )

    def verilog(self):
        n, o = self.bits, self.out_bits
        w = 2 * n
        lines, terms = [self.verilog_ports()], []
        for i, j, approx in self._blocks():
            x, y = f"a[{2 * i + 1}:{2 * i}]", f"b[{2 * j + 1}:{2 * j}]"
            if approx:
                lines.append(f"  wire [3:0] k{i}{j} = ({x} == 2'd3 && {y} == 2'd3) ? 4'd7 : {x} * {y};")
            else:
                lines.append(f"  wire [3:0] k{i}{j} = {x} * {y};")
            terms.append(f"({{{{{w - 4}{{1'b0}}}}, k{i}{j}}} << {2 * (i + j)})")
        lines.append(f"  wire [{w - 1}:0] q = {' + '.join(terms)};")
        lines.append(f"  assign p = q[{o - 1}:0];")
        lines.append("endmodule")
        return "\n".join(lines) + "\n"
