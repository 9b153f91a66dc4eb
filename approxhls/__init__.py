"""approxhls: quantized neural networks on FPGAs with layer-wise approximate multipliers.

Importing the package is cheap: TensorFlow, QKeras and hls4ml are imported only by the
modules that need them (``approxhls.models.zoo``, ``approxhls.hls.convert``, ...).
"""

__version__ = "0.1.0"

from approxhls.errors import ApproxHLSError  # noqa: E402  (light, no heavy deps)

__all__ = ["ApproxHLSError", "__version__"]
