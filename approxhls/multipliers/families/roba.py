"""RoBA (Zendegani et al., TVLSI 2017): rounding-based approximate multiplier.

Each operand is rounded to its nearest power of two (ties upwards), a_r = 2^ra, b_r = 2^rb, and
a*b ~ a_r*b + a*b_r - a_r*b_r, which needs only shifts and adders. Variants that round one operand only
(a_r*b or a*b_r) trade accuracy for an even smaller circuit.
"""

from __future__ import annotations

import numpy as np

from approxhls.multipliers.design import Design, bit, leading_one

MODES = ("both", "x", "w")


class RoBA(Design):
    family = "roba"
    description = "rounding-based multiplier: operands rounded to the nearest power of two"

    def _round_exp(self, x):
        t = leading_one(x, self.bits)
        below = np.where(t >= 1, bit(x, np.maximum(t - 1, 0)), 0)
        return t + below

    def model(self, a, b):
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        ra, rb = self._round_exp(a), self._round_exp(b)
        mode = self.params["mode"]
        if mode == "x":
            p = b << np.maximum(ra, 0)
        elif mode == "w":
            p = a << np.maximum(rb, 0)
        else:
            p = (b << np.maximum(ra, 0)) + (a << np.maximum(rb, 0)) - (1 << np.maximum(ra + rb, 0))
        return np.where((a == 0) | (b == 0), 0, p)

    def cpp(self):
        n, mode = self.bits, self.params["mode"]
        expr = {"x": "b << ra", "w": "a << rb", "both": "(b << ra) + (a << rb) - (1u << (ra + rb))"}[mode]
        return (
            f"{self.signature()} {{\n"
            f"    if (a == 0u || b == 0u) return 0u;\n"
            f"    uint32_t ta = 0, tb = 0;\n"
            f"    for (uint32_t i = 0; i < {n}; i++) {{\n"
            f"        if ((a >> i) & 1u) ta = i;\n"
            f"        if ((b >> i) & 1u) tb = i;\n"
            f"    }}\n"
            f"    // round to the nearest power of two: up when the bit below the leading one is set\n"
            f"    uint32_t ra = ta + (ta >= 1u ? ((a >> (ta - 1u)) & 1u) : 0u);\n"
            f"    uint32_t rb = tb + (tb >= 1u ? ((b >> (tb - 1u)) & 1u) : 0u);\n"
            f"    (void)ra; (void)rb;\n"
            f"    return {expr};\n"
            f"}}\n"
        )

    def verilog(self):
        n, o, mode = self.bits, self.out_bits, self.params["mode"]
        w = 2 * n + 2
        ext_a = f"{{{{{w - n}{{1'b0}}}}, a}}"
        ext_b = f"{{{{{w - n}{{1'b0}}}}, b}}"
        expr = {"x": f"{ext_b} << ra", "w": f"{ext_a} << rb",
                "both": f"({ext_b} << ra) + ({ext_a} << rb) - ({w}'d1 << (ra + rb))"}[mode]
        return (
            f"{self.verilog_ports()}\n"
            f"  reg [4:0] ta, tb, ra, rb;\n"
            f"  integer i;\n"
            f"  always @* begin\n"
            f"    ta = 0; tb = 0;\n"
            f"    for (i = 0; i < {n}; i = i + 1) begin\n"
            f"      if (a[i]) ta = i;\n"
            f"      if (b[i]) tb = i;\n"
            f"    end\n"
            f"    ra = ta + ((ta >= 1) ? a[ta - 1] : 1'b0);\n"
            f"    rb = tb + ((tb >= 1) ? b[tb - 1] : 1'b0);\n"
            f"  end\n"
            f"  wire [{w - 1}:0] q = {expr};\n"
            f"  assign p = (a == 0 || b == 0) ? {o}'d0 : q[{o - 1}:0];\n"
            f"endmodule\n"
        )
