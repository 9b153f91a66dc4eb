"""The registry of IR operations: one class per operation (see :mod:`approxhls.sim.ops.base`).

``get_op(name)`` gives the operation of an IR node; ``op_for_layer(layer)`` the operation that claims an hls4ml
layer (the first registered one whose ``claims`` accepts it). Adding an operation is adding a class with
``@register``.
"""

from __future__ import annotations

from approxhls.errors import ProjectError
from approxhls.sim.ops.base import Op

OPS: dict[str, Op] = {}
_ORDER: list[Op] = []


def register(cls: type[Op]) -> type[Op]:
    if cls.name in OPS:
        raise ValueError(f"IR operation {cls.name!r} is registered twice")
    OPS[cls.name] = cls()
    _ORDER.append(OPS[cls.name])
    return cls


def get_op(name: str) -> Op:
    try:
        return OPS[name]
    except KeyError:
        raise ProjectError(f"unknown IR operation {name!r}: the project was written by another approxhls release; "
                           f"re-create it with `approxhls convert`") from None


def op_for_layer(layer) -> Op | None:
    return next((op for op in _ORDER if op.claims(layer)), None)


# registration happens on import (order matters only where two claim the same hls4ml class)
from approxhls.sim.ops import activation, lut, mac, merge, pooling, recurrent, softmax, structure  # noqa: E402,F401
