"""The bias grid every quantization scheme shares: ap_fixed<16,6> (QKeras ``quantized_bits(16, 5)``).

The QKeras schemes quantize biases to it (:mod:`approxhls.models.schemes`) and the learned-step layers train and
deploy on it (:mod:`approxhls.models.lsq`); both read it here, so neither module sits under the other for it.
"""

BIAS_BITS, BIAS_INTEGER = 16, 5  # wide enough for any bias of these small nets
BIAS_FRAC = BIAS_BITS - 1 - BIAS_INTEGER  # fraction bits: a step of 2^-10
BIAS_RANGE = 2.0 ** BIAS_INTEGER  # values lie in [-32, 32)
