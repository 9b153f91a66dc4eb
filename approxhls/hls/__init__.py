"""hls4ml conversion with bit-exact precisions, the C-simulation library and (later) the emulator.

``csimlib`` needs numpy only; ``convert`` and ``precision`` import hls4ml.
"""
