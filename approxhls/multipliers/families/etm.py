"""ETM, the error-tolerant multiplier (Kyaw, Goh, Yeo, EDSSC 2010).

Operands split into high parts (n-m bits) and low parts (m bits). When both high parts are zero the low
parts are multiplied exactly. Otherwise the high parts are multiplied exactly and the 2m low product bits
come from a non-multiplying part: from the highest position q where either low operand has a 1, every
result bit from 2q+1 down is set (the cross terms are dropped).
"""

from __future__ import annotations

import numpy as np

from approxhls.multipliers.design import Design, leading_one


class ETM(Design):
    family = "etm"
    description = "error-tolerant multiplier: exact high parts, non-multiplying low part of m bits"

    def model(self, a, b):
        m = self.params["m"]
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        lo = (1 << m) - 1
        ah, al, bh, bl = a >> m, a & lo, b >> m, b & lo
        q = leading_one(al | bl, m)
        fill = np.where(q >= 0, (1 << (2 * q + 2)) - 1, 0)
        return np.where((ah == 0) & (bh == 0), al * bl, ((ah * bh) << (2 * m)) + fill)

    def cpp(self):
        m = self.params["m"]
        return (
            f"{self.signature()} {{\n"
            f"    uint32_t ah = a >> {m}, al = a & 0x{(1 << m) - 1:x}u;\n"
            f"    uint32_t bh = b >> {m}, bl = b & 0x{(1 << m) - 1:x}u;\n"
            f"    if (ah == 0u && bh == 0u) return al * bl;  // small operands: exact\n"
            f"    uint32_t fill = 0, o = al | bl;\n"
            f"    for (int i = 0; i < {m}; i++) {{\n"
            f"        if ((o >> i) & 1u) fill = (1u << (2 * i + 2)) - 1u;  // all ones from bit 2i+1 down\n"
            f"    }}\n"
            f"    return ((ah * bh) << {2 * m}) + fill;\n"
            f"}}\n"
        )

    def verilog(self):
        n, m, o = self.bits, self.params["m"], self.out_bits
        w = 2 * n
        hb = n - m
        return (
            f"{self.verilog_ports()}\n"
            f"  wire [{hb - 1}:0] ah = a[{n - 1}:{m}], bh = b[{n - 1}:{m}];\n"
            f"  wire [{m - 1}:0] al = a[{m - 1}:0], bl = b[{m - 1}:0];\n"
            f"  wire [{m - 1}:0] lo = al | bl;\n"
            f"  reg [{2 * m - 1}:0] fill;\n"
            f"  integer i;\n"
            f"  always @* begin\n"
            f"    fill = 0;\n"
            f"    for (i = 0; i < {m}; i = i + 1) if (lo[i]) fill = ({2 * m + 1}'d1 << (2 * i + 2)) - 1;\n"
            f"  end\n"
            f"  wire [{2 * hb - 1}:0] hh = ah * bh;\n"
            f"  wire [{2 * m - 1}:0] ll = al * bl;\n"
            f"  wire [{w - 1}:0] q = (ah == 0 && bh == 0) ? {{{{{w - 2 * m}{{1'b0}}}}, ll}}\n"
            f"                     : (({{{{{w - 2 * hb}{{1'b0}}}}, hh}} << {2 * m}) + {{{{{w - 2 * m}{{1'b0}}}}, fill}});\n"
            f"  assign p = q[{o - 1}:0];\n"
            f"endmodule\n"
        )
