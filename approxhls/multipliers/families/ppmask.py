"""Array multipliers with some partial-product bits removed.

An n x n array multiplier sums the partial-product bits a_i b_j 2^(i+j). Dropping a set of them gives
the truncated array (columns i+j < k), the broken-array multiplier (BAM: rows j < h and columns
i+j < v), partial-product perforation (rows j0 .. j0+m-1) and operand LSB truncation (i < ka or j < kb).
Natively signed designs use the Baugh-Wooley form, where bits with exactly one operand sign bit weigh
negative. The Verilog describes the reduced array row by row, so synthesis sees only the kept bits.
"""

from __future__ import annotations

import numpy as np

from approxhls.multipliers.design import Design, bit, hexmask


class PPMask(Design):
    def keep(self, i: int, j: int) -> bool:
        return True

    def row_masks(self) -> list[int]:
        n = self.bits
        return [sum(1 << i for i in range(n) if self.keep(i, j)) for j in range(n)]

    def _sign(self, i: int, j: int) -> int:
        if not self.signed:
            return 1
        top = self.bits - 1
        return -1 if (i == top) != (j == top) else 1

    # ---- numpy ----
    def model(self, a, b):
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        p = np.zeros(np.broadcast(a, b).shape, dtype=np.int64)
        for j, mask in enumerate(self.row_masks()):
            for i in range(self.bits):
                if (mask >> i) & 1:
                    p += self._sign(i, j) * (bit(a, i) * bit(b, j)) << (i + j)
        return p

    # ---- C++ ----
    def cpp(self) -> str:
        n = self.bits
        masks = ", ".join(f"0x{m:x}u" for m in self.row_masks())
        if not self.signed:
            return (
                f"{self.signature()} {{\n"
                f"    static const uint32_t KEEP[{n}] = {{{masks}}};  // kept partial-product bits of row j\n"
                f"    uint32_t p = 0;\n"
                f"    for (int j = 0; j < {n}; j++) {{\n"
                f"        if ((b >> j) & 1u) p += (a & KEEP[j]) << j;\n"
                f"    }}\n"
                f"    return p;\n"
                f"}}\n"
            )
        return (
            f"{self.signature()} {{\n"
            f"    static const uint32_t KEEP[{n}] = {{{masks}}};  // kept partial-product bits of row j\n"
            f"    int32_t p = 0;\n"
            f"    for (int j = 0; j < {n}; j++) {{\n"
            f"        for (int i = 0; i < {n}; i++) {{\n"
            f"            if (((KEEP[j] >> i) & 1u) && ((a >> i) & 1) && ((b >> j) & 1)) {{\n"
            f"                int32_t w = (int32_t)1 << (i + j);\n"
            f"                p += ((i == {n - 1}) != (j == {n - 1})) ? -w : w;  // Baugh-Wooley sign\n"
            f"            }}\n"
            f"        }}\n"
            f"    }}\n"
            f"    return p;\n"
            f"}}\n"
        )

    # ---- Verilog ----
    def verilog(self) -> str:
        n, o = self.bits, self.out_bits
        w = 2 * n + 1
        zero = f"{{{w}{{1'b0}}}}"
        lines = [self.verilog_ports()]
        pos, neg = [], []

        def row(j: int, operand: str, bits: int, mask: int) -> str:
            """Row j of the array: the kept bits of ``operand`` shifted by j, when b[j] is set."""
            lines.append(f"  wire [{w - 1}:0] r{j} = b[{j}] ? ({{{{{w - bits}{{1'b0}}}}, {operand} & "
                         f"{hexmask(mask, bits)}}} << {j}) : {zero};")
            return f"r{j}"

        top = n - 1
        for j, mask in enumerate(self.row_masks()):
            if not self.signed:
                if mask:
                    pos.append(row(j, "a", n, mask))
                continue
            # Baugh-Wooley: row j of the magnitude bits weighs - for the sign row (j = n-1); the sign bit
            # of a in row j weighs - except in the sign row.
            low = mask & ((1 << top) - 1)
            if low:
                (pos if j < top else neg).append(row(j, f"a[{top - 1}:0]", top, low))
            if (mask >> top) & 1:
                lines.append(f"  wire [{w - 1}:0] s{j} = (b[{j}] & a[{top}]) ? ({w}'d1 << {top + j}) : {zero};")
                (neg if j < top else pos).append(f"s{j}")
        pos_sum = " + ".join(pos) if pos else f"{w}'d0"
        neg_sum = " - ".join([""] + neg) if neg else ""
        lines.append(f"  wire [{w - 1}:0] d = {pos_sum}{' ' + neg_sum.strip() if neg else ''};")
        lines.append(f"  assign p = d[{o - 1}:0];")
        lines.append("endmodule")
        return "\n".join(lines) + "\n"


class Exact(PPMask):
    family = "exact"
    description = "exact multiplier"

    def verilog(self) -> str:
        # The plain operator lets Yosys pick its best mapping (and a DSP when allowed): the reference
        # the approximate designs are measured against is the best exact circuit, not an array.
        return f"{self.verilog_ports()}\n  assign p = a * b;\nendmodule\n"


class TruncatedArray(PPMask):
    family = "tam"
    description = "truncated array: partial-product columns i+j < k dropped"

    def keep(self, i, j):
        return i + j >= self.params["k"]


class BrokenArray(PPMask):
    family = "bam"
    description = "broken-array multiplier (Mahdiani): rows j < h and columns i+j < v omitted"

    def keep(self, i, j):
        return j >= self.params["h"] and i + j >= self.params["v"]


class Perforated(PPMask):
    family = "ppp"
    description = "partial-product perforation (Zervakis): rows j .. j+m-1 skipped"

    def keep(self, i, j):
        return not (self.params["j"] <= j < self.params["j"] + self.params["m"])


class LSBTruncation(PPMask):
    family = "lsbt"
    description = "operand LSB truncation: the low ka bits of a and kb bits of b are zeroed"

    def keep(self, i, j):
        return i >= self.params["ka"] and j >= self.params["kb"]
