"""The emulator's engines: registered ways to compute a multiplying layer's integer sums exactly.

- ``reference``: product by product, in order (an accumulator that rounds or saturates; inputs too wide for a table);
- ``gemm``: matrix products on GEMM rows, of the codes (exact products) or of the features of an exact decomposition
  (separable, low-rank), exact by the bound of their dtype;
- ``conv2d`` / ``conv2d-int8``: the GEMM's products as a direct convolution of the input codes (TensorFlow's float32
  or int8 convolution);
- ``lut-conv`` / ``lut``: every product read from the layer's table, by kernel position or on GEMM rows.

:func:`candidates` lists the engines that compute a layer exactly, :func:`measure` times them on a probe batch, and
:func:`choose` takes the fastest whose probe sums equal the first candidate's. A new engine is one
:func:`register` call: a builder that gives the layer's engine where it applies.
"""

from approxhls.sim.engines import direct, gemm, lookup, reference
from approxhls.sim.engines.base import CODES, ENGINES, ROWS, Engine, Sums, register
from approxhls.sim.engines.choice import Timing, candidates, choose, measure, preferred, timed_race
from approxhls.sim.engines.layer import Layer, Options

# in this order: the first that applies is exact by its bound, and the race checks the others' sums against it
register("reference", reference.build)
register("gemm", gemm.build)
for _name in direct.DIRECT_ENGINES:
    register(_name, direct.builder(_name))
register("lut-conv", lookup.build_conv)
register("lut", lookup.build_rows)

__all__ = ["CODES", "ENGINES", "ROWS", "Engine", "Layer", "Options", "Sums", "Timing", "candidates", "choose",
           "measure", "preferred", "register", "timed_race"]
