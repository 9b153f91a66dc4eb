"""Quantization schemes: named recipes that yield QKeras quantizer sets.

A scheme is written ``FAMILY-wWaA`` (``fixed-w8a8``, ``po2-w4a4``): the family says how weights are
scaled, W and A are the weight and activation bit widths. Families live in :data:`FAMILIES`; adding one
is adding an entry. Quantizer objects are built lazily so that parsing a scheme does not import QKeras.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from approxhls.errors import ApproxHLSError
from approxhls.models.bias import BIAS_BITS, BIAS_INTEGER
from approxhls.models.lsq import lsq_classes  # numpy at import; TensorFlow only when a layer is built

_SPEC = re.compile(r"^(?P<family>[a-z0-9+_]+)-w(?P<w>\d+)a(?P<a>\d+)$")


@dataclass(frozen=True)
class Family:
    name: str
    alpha: object  # QKeras alpha of the weight quantizer: 1, 'auto_po2' or 'auto'
    description: str
    # Whether hls4ml's C-simulation reproduces QKeras bit for bit (needs power-of-two scales).
    bit_exact: bool
    # Learned step sizes (approxhls.models.lsq): None, or how: per-channel weights, per-tensor, with offsets.
    learned: dict | None = None


FAMILIES: dict[str, Family] = {
    "fixed": Family("fixed", 1, "plain fixed point, no scale (alpha=1)", True),
    "po2": Family("po2", "auto_po2", "per-channel power-of-two weight scale (alpha='auto_po2')", True),
    "scaled": Family("scaled", "auto", "per-channel float weight scale (alpha='auto')", False),
    "lsq": Family("lsq", None, "learned step size (LSQ): per-channel weight steps, per-tensor activation step",
                  False, {"per_channel": True, "offset": False}),
    "lsqt": Family("lsqt", None, "learned step size (LSQ), per-tensor weight and activation steps", False,
                   {"per_channel": False, "offset": False}),
    "lsq+": Family("lsq+", None, "LSQ+: learned steps and a learned activation offset", False,
                   {"per_channel": True, "offset": True}),
}

INIT = "he_normal"


@dataclass(frozen=True)
class Scheme:
    family: Family
    weight_bits: int
    act_bits: int

    @property
    def name(self) -> str:
        return f"{self.family.name}-w{self.weight_bits}a{self.act_bits}"

    @property
    def act_integer(self) -> int:
        """Integer bits of the ReLU output: range [0, 4) at >= 6 bits, [0, 2) below."""
        return 2 if self.act_bits >= 6 else 1

    # ---- layers of the zoo (TensorFlow/QKeras imported lazily) ---------------------------------
    def dense(self, units, name):
        if self.family.learned:
            return lsq_classes()["LSQDense"](units, weight_bits=self.weight_bits,
                                             per_channel=self.family.learned["per_channel"], name=name,
                                             kernel_initializer=INIT)
        from qkeras import QDense

        return QDense(units, kernel_quantizer=self.weight_quantizer(), bias_quantizer=self.bias_quantizer(),
                      kernel_initializer=INIT, name=name)

    def conv(self, filters, kernel, name, strides=1, padding="same", fuse_bn=False):
        if self.family.learned:
            if fuse_bn:
                raise ApproxHLSError(f"scheme {self.name}: batch-norm fusion is for the QKeras schemes")
            return lsq_classes()["LSQConv2D"](filters, kernel, strides=strides, padding=padding, name=name,
                                              weight_bits=self.weight_bits,
                                              per_channel=self.family.learned["per_channel"], kernel_initializer=INIT)
        from qkeras import QConv2D, QConv2DBatchnorm

        cls = QConv2DBatchnorm if fuse_bn else QConv2D
        return cls(filters, kernel, strides=strides, padding=padding, kernel_quantizer=self.weight_quantizer(),
                   bias_quantizer=self.bias_quantizer(), kernel_initializer=INIT, name=name)

    def relu(self, name):
        if self.family.learned:
            return lsq_classes()["LSQReLU"](self.act_bits, offset=self.family.learned["offset"],
                                            init_step=2.0 ** self.act_integer / 2 ** self.act_bits, name=name)
        from qkeras import QActivation

        return QActivation(self.activation_quantizer(), name=name)

    # ---- QKeras quantizers (import qkeras lazily) ----------------------------------------------
    def weight_quantizer(self):
        from qkeras import quantized_bits

        return quantized_bits(self.weight_bits, 0, alpha=self.family.alpha)

    def bias_quantizer(self):
        from qkeras import quantized_bits

        return quantized_bits(BIAS_BITS, BIAS_INTEGER, alpha=1)

    def activation_quantizer(self):
        from qkeras import quantized_relu

        return quantized_relu(self.act_bits, self.act_integer)

    def to_json(self) -> dict:
        return {"name": self.name, "family": self.family.name, "weight_bits": self.weight_bits,
                "act_bits": self.act_bits, "alpha": self.family.alpha, "bit_exact": self.family.bit_exact}


def parse_scheme(spec: str | Scheme) -> Scheme:
    if isinstance(spec, Scheme):
        return spec
    m = _SPEC.match(str(spec).strip().lower())
    if not m:
        raise ApproxHLSError(
            f"bad scheme {spec!r}: write FAMILY-wWaA, e.g. fixed-w8a8 or po2-w4a4 "
            f"(families: {', '.join(FAMILIES)})"
        )
    family = FAMILIES.get(m.group("family"))
    if family is None:
        raise ApproxHLSError(f"unknown scheme family {m.group('family')!r}; known: {', '.join(FAMILIES)}")
    w, a = int(m.group("w")), int(m.group("a"))
    for what, bits in (("weight", w), ("activation", a)):
        if not 2 <= bits <= 16:
            raise ApproxHLSError(f"{what} bits must be between 2 and 16 in scheme {spec!r}, got {bits}")
    return Scheme(family, w, a)


def scheme_names() -> list[str]:
    return [f"{f}-w8a8" for f in FAMILIES] + [f"{f}-w4a4" for f in FAMILIES]
