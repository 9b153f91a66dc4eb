"""Mitchell's logarithmic multiplier (1962), with the mantissa truncated to w bits.

log2(x) ~ k + f with k the leading-one position and f the bits below it as a fraction; the two
approximate logarithms are added and the antilogarithm is approximated the same way:
p = floor(2^c * (1 + m / 2^w)) where c and m are the integer and fractional parts of the sum. With
w = n-1 no mantissa bit is lost; smaller w truncates the fractions (cheaper adders, larger error).
Mitchell's error is never positive: the product is underestimated by up to ~11%.
"""

from __future__ import annotations

import numpy as np

from approxhls.multipliers.design import Design, leading_one


class Mitchell(Design):
    family = "mitchell"
    description = "Mitchell logarithmic multiplier, mantissas truncated to w bits"

    def model(self, a, b):
        n, w = self.bits, self.params["w"]
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        ka, kb = leading_one(a, n), leading_one(b, n)
        fa = ((a << np.maximum(n - 1 - ka, 0)) & ((1 << (n - 1)) - 1)) >> (n - 1 - w)
        fb = ((b << np.maximum(n - 1 - kb, 0)) & ((1 << (n - 1)) - 1)) >> (n - 1 - w)
        s = ((np.maximum(ka, 0) + np.maximum(kb, 0)) << w) + fa + fb
        c, m = s >> w, s & ((1 << w) - 1)
        p = (((1 << w) + m) << c) >> w
        return np.where((a == 0) | (b == 0), 0, p)

    def cpp(self):
        n, w = self.bits, self.params["w"]
        fmask = (1 << (n - 1)) - 1
        return (
            f"{self.signature()} {{\n"
            f"    if (a == 0u || b == 0u) return 0u;\n"
            f"    uint32_t ka = 0, kb = 0;  // leading-one positions = integer parts of log2\n"
            f"    for (uint32_t i = 0; i < {n}; i++) {{\n"
            f"        if ((a >> i) & 1u) ka = i;\n"
            f"        if ((b >> i) & 1u) kb = i;\n"
            f"    }}\n"
            f"    uint32_t fa = ((a << ({n - 1}u - ka)) & 0x{fmask:x}u) >> {n - 1 - w};  // w-bit fractions\n"
            f"    uint32_t fb = ((b << ({n - 1}u - kb)) & 0x{fmask:x}u) >> {n - 1 - w};\n"
            f"    uint32_t s = ((ka + kb) << {w}) + fa + fb;\n"
            f"    uint32_t c = s >> {w}, m = s & 0x{(1 << w) - 1:x}u;\n"
            f"    return ((0x{1 << w:x}u + m) << c) >> {w};\n"
            f"}}\n"
        )

    def verilog(self):
        n, w, o = self.bits, self.params["w"], self.out_bits
        big = w + 1 + 2 * n
        return (
            f"{self.verilog_ports()}\n"
            f"  reg [3:0] ka, kb;\n"
            f"  reg [{n - 2}:0] fa, fb;\n"
            f"  reg [{w + 4}:0] s;\n"
            f"  reg [{big - 1}:0] q;\n"
            f"  integer i;\n"
            f"  always @* begin\n"
            f"    ka = 0; kb = 0;\n"
            f"    for (i = 0; i < {n}; i = i + 1) begin\n"
            f"      if (a[i]) ka = i;\n"
            f"      if (b[i]) kb = i;\n"
            f"    end\n"
            f"    fa = a << ({n - 1} - ka);\n"
            f"    fb = b << ({n - 1} - kb);\n"
            f"    s = ((ka + kb) << {w}) + (fa >> {n - 1 - w}) + (fb >> {n - 1 - w});\n"
            f"    q = ({{{{{big - w - 1}{{1'b0}}}}, 1'b1, s[{w - 1}:0]}} << (s >> {w})) >> {w};\n"
            f"  end\n"
            f"  assign p = (a == 0 || b == 0) ? {o}'d0 : q[{o - 1}:0];\n"
            f"endmodule\n"
        )
