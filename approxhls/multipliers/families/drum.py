"""DRUM-k (Hashemi, Bahar, Reda, ICCAD 2015): dynamic-range unbiased multiplier.

Each operand keeps k bits from its leading one down; the lowest kept bit is forced to 1, which makes the
truncation error unbiased. A k x k multiplier and a shifter replace the n x n array. Operands below
2^k are used exactly.
"""

from __future__ import annotations

import numpy as np

from approxhls.multipliers.design import Design, leading_one


class DRUM(Design):
    family = "drum"
    description = "DRUM-k: k-bit leading-one segments with the LSB set, k x k multiplier, shift"

    def _segment(self, x):
        k = self.params["k"]
        t = leading_one(x, self.bits)
        s = np.maximum(t - k + 1, 0)
        m = np.where(t >= k, (x >> s) | 1, x)
        return m, s

    def model(self, a, b):
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        ma, sa = self._segment(a)
        mb, sb = self._segment(b)
        return (ma * mb) << (sa + sb)

    def cpp(self):
        n, k = self.bits, self.params["k"]
        return (
            f"{self.signature()} {{\n"
            f"    int ta = -1, tb = -1;  // leading-one positions\n"
            f"    for (int i = 0; i < {n}; i++) {{\n"
            f"        if ((a >> i) & 1u) ta = i;\n"
            f"        if ((b >> i) & 1u) tb = i;\n"
            f"    }}\n"
            f"    uint32_t sa = ta >= {k} ? (uint32_t)(ta - {k - 1}) : 0u;\n"
            f"    uint32_t sb = tb >= {k} ? (uint32_t)(tb - {k - 1}) : 0u;\n"
            f"    uint32_t ma = ta >= {k} ? ((a >> sa) | 1u) : a;\n"
            f"    uint32_t mb = tb >= {k} ? ((b >> sb) | 1u) : b;\n"
            f"    return (ma * mb) << (sa + sb);\n"
            f"}}\n"
        )

    def verilog(self):
        n, k, o = self.bits, self.params["k"], self.out_bits
        return (
            f"{self.verilog_ports()}\n"
            f"  reg [{k - 1}:0] ma, mb;\n"
            f"  reg [4:0] sa, sb;\n"
            f"  integer i, ta, tb;\n"
            f"  always @* begin\n"
            f"    ta = -1; tb = -1;\n"
            f"    for (i = 0; i < {n}; i = i + 1) begin\n"
            f"      if (a[i]) ta = i;\n"
            f"      if (b[i]) tb = i;\n"
            f"    end\n"
            f"    if (ta >= {k}) begin sa = ta - {k - 1}; ma = (a >> sa) | 1; end else begin sa = 0; ma = a[{k - 1}:0]; end\n"
            f"    if (tb >= {k}) begin sb = tb - {k - 1}; mb = (b >> sb) | 1; end else begin sb = 0; mb = b[{k - 1}:0]; end\n"
            f"  end\n"
            f"  wire [{2 * k - 1}:0] mm = ma * mb;\n"
            f"  wire [{2 * n - 1}:0] sh = {{{{{2 * n - 2 * k}{{1'b0}}}}, mm}} << (sa + sb);\n"
            f"  assign p = sh[{o - 1}:0];\n"
            f"endmodule\n"
        )
