"""``convert --verify N``: the exactness the conversion derived, checked on samples, layer by layer.

N samples (random codes of the input type, with the all-zero and all-maximum corners) run through Keras and a
traced build of the project. Walking the layers in order, the first one whose output differs from Keras decides:
a layer the conversion derived as exact that differs is a defect of approxhls (:class:`ExactnessDefect`, naming
the layer and the first differing element; nothing is written); a layer derived as not exact explains every
difference after it. The project's outputs are compared with Keras too, element by element.
"""

from __future__ import annotations

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.fixedpoint import FixedType


class ExactnessDefect(ApproxHLSError):
    """A layer approxhls derived as equal to Keras differs from it: a bug in approxhls, never a quiet downgrade."""


def claim(meta: dict) -> bool | None:
    """True only when every layer is exact by its types and a verification found no difference; False when a
    layer is known not to be exact or a verification differed; None otherwise (not verified, or some layer's
    exactness is not known from its types and the verified samples did not differ)."""
    verified, derived = meta.get("verified"), meta["bit_exact_derived"]
    if derived is False or (verified is not None and not verified["equal"]):
        return False
    return True if derived and verified is not None else None


def verification_inputs(meta: dict, n: int, seed: int = 0) -> np.ndarray:
    """n samples on the input grid: the all-zero and all-maximum corners, then uniformly random codes (several
    inputs: side by side in one row per sample)."""
    t = FixedType.parse(meta["input_precision"])
    shapes = meta.get("input_shapes", [meta["input_shape"]])
    rng = np.random.default_rng(seed)
    codes = rng.integers(t.code_min, t.code_max + 1, (max(n, 2), sum(int(np.prod(s)) for s in shapes)))
    codes[0], codes[1] = 0, t.code_max
    x = t.from_codes(codes[:n])
    return x.reshape((n, *shapes[0])) if len(shapes) == 1 else x


def compare_outputs(reference: np.ndarray, actual: np.ndarray) -> dict:
    """Counts of samples and elements where ``actual`` differs from ``reference`` by any amount."""
    ref = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    act = np.asarray(actual, dtype=np.float64).reshape(len(actual), -1)
    diff = ref != act
    bad = np.flatnonzero(diff.any(axis=1))
    return {
        "mismatches": int(len(bad)),
        "mismatched_elements": int(diff.sum()),
        "max_abs_diff": float(np.abs(ref - act).max()) if ref.size else 0.0,
        "first_mismatch": int(bad[0]) if len(bad) else None,
    }


def _ancestors(rows) -> dict[str, set[str]]:
    """Node name -> the names of every node its output depends on."""
    producer = {var: r.node.name for r in rows for var in r.node.outputs}
    inputs = {r.node.name: [producer[v] for v in r.node.inputs if v in producer] for r in rows}
    out: dict[str, set[str]] = {}
    for r in rows:  # rows are in topological order
        out[r.node.name] = set().union(*([{p} | out[p] for p in inputs[r.node.name]] or [set()]))
    return out


def first_divergence(rows, exactness: dict) -> dict | None:
    """The first layer (in graph order) whose output differs from Keras; ``exact`` is True only when the layer and
    every layer before it on its paths were derived as exact (else the difference is explained upstream)."""
    from approxhls.hls.trace import first_difference

    ancestors = _ancestors(rows)
    for row in rows:
        if row.keras is None or row.csim is None or row.keras.shape != row.csim.shape:
            continue
        first = first_difference(row.keras, row.csim)
        if first is not None:
            chain = [row.node.name, *sorted(ancestors[row.node.name])]
            claims = [exactness.get(n) for n in chain]
            exact = True if all(c is True for c in claims) else (False if False in claims else None)
            return {"layer": row.node.name, "keras_layer": row.keras_layer, "first": first,
                    "elements": int(np.sum(row.keras != row.csim)), "exact": exact}
    return None


def check_layers_against_keras(rows, exactness: dict, user_names: dict) -> dict | None:
    """The first divergence, or ExactnessDefect when it is at a layer derived as exact."""
    d = first_divergence(rows, exactness)
    if d is not None and d["exact"] is True:
        s, i, k, c = d["first"]
        name = user_names.get(d["layer"], d["layer"])
        raise ExactnessDefect(
            f"layer {name!r} was derived as equal to Keras (as was every layer before it) but differs from it in "
            f"{d['elements']} elements on the verification samples (first: sample {s}, element {i}: Keras {k!r}, "
            f"C-simulation {c!r}); this is a bug in approxhls (please report it with the model); "
            f"`approxhls diff MODEL` shows every layer")
    return d


def _emulates_csim(row) -> bool:
    """A traced layer's emulator output equals its C-simulation (or one of them was not traced)."""
    if row.emulator is None or row.csim is None or row.emulator.shape != row.csim.shape:
        return True
    return bool(np.array_equal(row.emulator, row.csim))


def _check_emulator(rows, user_names: dict) -> None:
    """An ExactnessDefect naming the first layer where the emulator differs from the C-simulation."""
    differs = [r.node.name for r in rows if not _emulates_csim(r)]
    if differs:
        name = user_names.get(differs[0], differs[0])
        raise ExactnessDefect(f"the emulator differs from the C-simulation at layer {name!r} on the verification "
                              f"samples: a bug in approxhls (please report it with the model)")


def _layers_checked(rows) -> int:
    return sum(1 for r in rows if r.keras is not None and r.csim is not None)


def verify_project(project, model, n: int, user_names: dict | None = None) -> dict:
    """Run n samples through Keras and the project's (traced) C-simulation; compare every layer and every output,
    and the emulator with the C-simulation."""
    from approxhls.hls.trace import keras_predict, trace_layers

    user_names = user_names or {}
    meta = project.meta
    x = verification_inputs(meta, n)
    ir = project.ir()
    y_csim, rows = trace_layers(project.dir, ir, project.assignments(), model, x)
    y_keras = keras_predict(model, x)
    exactness = {r["layer"]: r["exact"] for r in meta["exactness"]}
    rename = {v: k for k, v in user_names.items()}  # the user's name -> the IR's
    divergence = check_layers_against_keras(rows, {rename.get(k, k): v for k, v in exactness.items()}, user_names)
    _check_emulator(rows, user_names)
    cmp = compare_outputs(y_keras, y_csim)
    return {"samples": int(n), "inputs": "random codes of the input type, with the all-zero and all-maximum corners",
            "mismatched_samples": cmp["mismatches"], "mismatched_elements": cmp["mismatched_elements"],
            "max_abs_diff": cmp["max_abs_diff"],
            "class_agreement": float(np.mean(y_keras.argmax(1) == y_csim.argmax(1))),
            "first_layer_differing": None if divergence is None else
            user_names.get(divergence["layer"], divergence["layer"]),
            "layers_checked": _layers_checked(rows),
            "equal": cmp["mismatches"] == 0}
