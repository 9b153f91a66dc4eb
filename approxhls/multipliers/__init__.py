"""The multiplier library: one definition per design -> numpy model, HLS C++, Verilog.

``registry`` lists built-in and user designs; ``metrics`` computes error statistics; ``characterize``
adds Yosys LUT counts and a switching-energy proxy, cached in the catalog (``catalog``).
"""
