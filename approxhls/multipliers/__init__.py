"""The multiplier library: one definition per design -> numpy model, HLS C++, Verilog.

``builtin`` lists the generated designs, ``user`` the ones a user brings (C models, tables, circuits) and their
folder, ``registry`` both by name; ``metrics`` computes error statistics; ``catalog`` caches them with Yosys LUT
counts and a switching-energy proxy; ``library`` adds, imports and removes user designs; ``report`` shapes what
the ``multipliers`` commands print.
"""
