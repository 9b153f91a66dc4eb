"""PYNQ host runtime: run an approxhls overlay on the board, or its C-simulation on a laptop, and measure
latency and power. Imports numpy (and pynq, on a board) only: no TensorFlow, no hls4ml.

    from approxhls.host import Accelerator
    with Accelerator.open("overlay_dir") as acc:       # backend="auto" | "board" | "csim"
        y = acc.predict(x)
        print(acc.benchmark(x, runs=20))
"""

from approxhls.host.accelerator import Accelerator

__all__ = ["Accelerator"]
