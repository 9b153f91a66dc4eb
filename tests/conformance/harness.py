"""One conformance case, run three ways on the same inputs and compared with Keras element by element:

- approxhls: ``convert_model(model, dir, ConvertOptions(...), verify=N)`` (the project's claim: approxhls.json
  ``bit_exact`` and per-layer ``exactness``), its C-simulation (``CSimLibrary``), its emulator (``Emulator``), and the
  C-simulation's trace of every layer against Keras' intermediate outputs;
- hls4ml 1.3.0 alone, configured and converted as the hls4ml test does, then ``compile()`` and ``predict()``;
- the same with hls4ml's own ``bit_exact=True``.

approxhls registers optimizer passes in hls4ml's ``convert`` flow when it converts; "hls4ml alone" runs with every
approxhls pass taken out of the flows (:func:`hls4ml_alone`), so it is hls4ml as a user without approxhls has it.
Inputs are the test's distribution put on the grid of the input type hls4ml's conversion gives the model, which
approxhls is told to use too. C-simulations build at ``$APPROXHLS_CSIM_OPT`` (default -O0 here: the integer results
of ap_fixed arithmetic do not depend on it; hls4ml's build_lib.sh gets the same level).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import traceback
from functools import cached_property
from pathlib import Path

import numpy as np

OPT_ENV = "APPROXHLS_CSIM_OPT"
DEFAULT_OPT = "-O0"
VERIFY = 20  # samples convert_model verifies before the project may claim bit-exactness
MAC_TYPES = ("accum_t", "result_t")


# ---- comparisons ---------------------------------------------------------------------------------------------------

def compare(reference: np.ndarray, actual: np.ndarray, classes: int) -> dict:
    """Samples and elements where ``actual`` differs from ``reference`` at all, the largest difference, and how often
    the argmax over each group of ``classes`` outputs (the last axis) agrees."""
    n = len(reference)
    ref = np.asarray(reference, dtype=np.float64).reshape(n, -1)
    act = np.asarray(actual, dtype=np.float64).reshape(n, -1)
    if ref.shape != act.shape:
        raise ValueError(f"outputs of different shapes: {ref.shape} and {act.shape}")
    differ = ~((ref == act) | (np.isnan(ref) & np.isnan(act)))
    gap = np.abs(ref - act)
    gap[~differ] = 0.0
    gap[np.isnan(gap)] = np.inf  # a NaN on one side only is as far as it gets
    groups = ref.shape[1] // classes if classes and ref.shape[1] % classes == 0 else 1
    agree = ref.reshape(n, groups, -1).argmax(-1) == act.reshape(n, groups, -1).argmax(-1)
    return {"mismatched_samples": int(differ.any(axis=1).sum()), "mismatched_elements": int(differ.sum()),
            "elements": int(ref.size), "max_abs_diff": float(gap.max()) if gap.size else 0.0,
            "class_agreement": float(agree.mean())}


def further_than(a: dict, b: dict) -> list[str]:
    """How comparison ``a`` (approxhls vs Keras) is further from Keras than ``b`` (hls4ml vs Keras), if at all."""
    worse = []
    if a["mismatched_samples"] > b["mismatched_samples"]:
        worse.append(f"mismatching samples {a['mismatched_samples']} > {b['mismatched_samples']}")
    if a["max_abs_diff"] > b["max_abs_diff"]:
        worse.append(f"max |diff| {a['max_abs_diff']:.6g} > {b['max_abs_diff']:.6g}")
    if a["class_agreement"] < b["class_agreement"]:
        worse.append(f"class agreement {a['class_agreement']:.4f} < {b['class_agreement']:.4f}")
    return worse


def worse_than_hls4ml(approx: dict, hls4ml_runs: list[tuple[str, dict]]) -> list[str]:
    """Where approxhls' comparison with Keras is further from Keras than each hls4ml run's that ran ((name, record)
    pairs): every way, as text; [] when it is nowhere further (an approxhls result equal to Keras never is)."""
    if approx["mismatched_elements"] == 0:
        return []
    worse = []
    for name, h in hls4ml_runs:
        if "vs_keras" in h:
            worse += [f"{name}: {w}" for w in further_than(approx, h["vs_keras"])]
    return worse


def verdicts(rec: dict) -> dict:
    """The rules of tests/conformance/test_conformance.py on a benchmark record: converts, emulator, never_worse,
    claims (True: holds, False: broken, None: not decided, approxhls did not convert)."""
    a = rec.get("approxhls") or {}
    if "vs_keras" not in a:
        return {"converts": False, "emulator": None, "never_worse": None, "claims": None}
    worse = worse_than_hls4ml(a["vs_keras"], [("hls4ml", rec.get("hls4ml") or {}),
                                              ("hls4ml bit_exact", rec.get("hls4ml_bit_exact") or {})])
    return {"converts": True, "emulator": a["emulator_vs_csim"] == 0, "never_worse": not worse,
            "claims": not (a["false_model_claim"] or a["false_layer_claims"]), "worse": worse}


def keras_sources(node_names: list[str], keras_names: list[str]) -> dict[str, str]:
    """IR node -> the Keras layer whose output it stands for: a node named after a layer, or after a layer plus a
    suffix hls4ml adds (``fc1_relu``, ``sep_pointwise``); when several nodes come from one layer, the last one."""
    longest_first = sorted(keras_names, key=len, reverse=True)
    last = {}
    for name in node_names:
        k = name if name in keras_names else next((k for k in longest_first if name.startswith(k + "_")), None)
        if k is not None:
            last[k] = name
    return {node: k for k, node in last.items()}


def false_layer_claims(order: list[str], exact: dict, equal: dict[str, np.ndarray], outputs: dict) -> list[dict]:
    """Per sample, the first traced node (in graph order) whose output differs from its Keras layer: the nodes from
    the last agreeing traced node up to it are where the difference arose; if every one of them claims to be exact,
    one claim is false. ``equal[node]``: per sample, whether the node equals Keras; ``outputs[node]``: (keras, csim)
    arrays for the report. Returns one row per node found at fault, with the number of samples."""
    found: dict[str, dict] = {}
    n = len(next(iter(equal.values()))) if equal else 0
    for s in range(n):
        start = 0
        for i, node in enumerate(order):
            if node not in equal:
                continue
            if equal[node][s]:
                start = i + 1
                continue
            blamed = order[start : i + 1]
            if all(exact.get(b) is True for b in blamed):
                row = found.setdefault(node, {"layer": node, "samples": 0, "blamed": blamed})
                if not row["samples"]:
                    k, c = outputs[node]
                    j = int(np.flatnonzero(k[s] != c[s])[0])
                    row["first"] = {"sample": s, "index": j, "keras": float(k[s, j]), "csim": float(c[s, j])}
                row["samples"] += 1
            break
    return list(found.values())


# ---- hls4ml as a user without approxhls has it -----------------------------------------------------------------

def _ours(pass_name: str) -> bool:
    return "approxhls" in str(pass_name).lower()


@contextlib.contextmanager
def hls4ml_alone():
    """hls4ml's flows without the passes approxhls registers (restored afterwards)."""
    from hls4ml.model.flow.flow import flow_map

    saved = {}
    for name, flow in flow_map.items():
        passes = getattr(flow, "_optimizers", None)
        if isinstance(passes, list) and any(_ours(p) for p in passes):
            saved[name] = list(passes)
            passes[:] = [p for p in passes if not _ours(p)]
    try:
        yield
    finally:
        for name, passes in saved.items():
            flow_map[name]._optimizers[:] = passes


def approxhls_passes_in_flows() -> list[str]:
    from hls4ml.model.flow.flow import flow_map

    return [p for flow in flow_map.values() for p in (getattr(flow, "_optimizers", None) or []) if _ours(p)]


def csim_opt() -> str:
    return os.environ.get(OPT_ENV, DEFAULT_OPT)


@contextlib.contextmanager
def csim_opt_env():
    """approxhls' C-simulation builds at csim_opt() while the case runs."""
    old = os.environ.get(OPT_ENV)
    os.environ[OPT_ENV] = csim_opt()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(OPT_ENV, None)
        else:
            os.environ[OPT_ENV] = old


def compile_hls4ml(hls_model) -> None:
    """hls4ml's compile(): write, then build_lib.sh (at csim_opt() instead of -O3) and load the library."""
    opt = csim_opt()
    hls_model.write()
    if opt != "-O3":
        script = Path(hls_model.config.get_output_dir()) / "build_lib.sh"
        text = script.read_text()
        if 'CFLAGS="-O3' not in text:
            raise RuntimeError(f"{script} no longer sets CFLAGS=\"-O3 ...\"; update compile_hls4ml")
        script.write_text(text.replace('CFLAGS="-O3', f'CFLAGS="{opt}', 1))
    hls_model._compile()  # compile() without its write(), which would restore -O3


def mac_widths(layers) -> dict[str, dict]:
    """{layer: {accum_t, result_t}} of the layers that have an accumulator (Dense/Conv and kin)."""
    return {name: {k: types[k] for k in MAC_TYPES if k in types} for name, types in layers if "accum_t" in types}


def canonical(precision) -> str:
    """hls4ml's spelling of a fixed-point type (fixed<16,6,TRN,WRAP,0>) as approxhls writes it (ap_fixed<16,6>)."""
    from approxhls.fixedpoint import FixedType

    return str(FixedType.parse(str(precision)))


def on_grid(x: np.ndarray, precision: str) -> np.ndarray:
    """Values put on the grid of ``precision`` (clipped into its range, then truncated as an ap_fixed assignment)."""
    from approxhls.fixedpoint import FixedType

    t = FixedType.parse(precision)
    return t.from_codes(t.to_codes(np.clip(np.asarray(x, dtype=np.float64), t.min, t.max)))


def common_type(precisions: list[str]) -> str:
    """One fixed type holding every value of each input's type: approxhls gives all inputs one precision, and the
    inputs, on the grids hls4ml's conversion gives them, are then the same values for both."""
    from approxhls.fixedpoint import FixedType

    types = [FixedType.parse(p) for p in precisions]
    if len(set(types)) == 1:
        return str(types[0])
    signed = any(t.signed for t in types)
    integer = max(t.integer + (signed and not t.signed) for t in types)
    frac = max(t.frac for t in types)
    return str(FixedType(integer + frac, integer, signed))


def _error(e: BaseException) -> dict:
    """A failure as a record; "refused": approxhls said no to the model by name (a ModelError), as opposed to
    failing on the way (a C-simulation that does not compile, a Python exception)."""
    from approxhls.errors import ModelError

    return {"error": f"{type(e).__name__}: {e}", "refused": isinstance(e, ModelError),
            "traceback": traceback.format_exc(limit=-4)}


# ---- one case ------------------------------------------------------------------------------------------------------

class TestModelRun:
    """The hls4ml test's own model (its API, seeded weights), its inputs, Keras' outputs and hls4ml's conversions as
    the test makes them: shared by the case and its twin, which run the same network on the same inputs."""

    def __init__(self, case, workdir: Path):
        self.case = case
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.seconds: dict[str, float] = {}
        self._graphs: dict = {}  # bit_exact -> hls4ml's ModelGraph, or {"error": ...}
        self._runs: dict = {}    # "hls4ml" / "hls4ml_bit_exact" -> its record

    @cached_property
    def model(self):
        import tensorflow as tf

        case = self.case
        tf.keras.utils.set_random_seed(case.seed)
        model = case.build(case.test_api)
        if case.weights is not None:
            case.weights(model, np.random.default_rng(case.seed))
        return model

    @cached_property
    def raw_inputs(self) -> list[np.ndarray]:
        x = self.case.inputs(np.random.default_rng(self.case.seed + 1), self.case.samples)
        return x if isinstance(x, list) else [x]

    @cached_property
    def input_precisions(self) -> list[str]:
        """The input types of hls4ml's conversion of the model as the test configures it (ap_fixed<16,6> where that
        conversion fails)."""
        graph = self._graph(False)
        if isinstance(graph, dict):
            return ["ap_fixed<16,6>"] * len(self.raw_inputs)
        return [canonical(v.type.precision) for v in graph.get_input_variables()]

    @cached_property
    def inputs(self) -> list[np.ndarray]:
        return [on_grid(x, p) for x, p in zip(self.raw_inputs, self.input_precisions)]

    def x(self):
        return self.inputs[0] if len(self.inputs) == 1 else self.inputs

    @property
    def samples(self) -> int:
        return len(self.inputs[0])

    def keras_outputs(self, model) -> tuple[np.ndarray, int]:
        """The outputs (samples, elements) of the case's reference of ``model`` (the model itself, or the part the
        test compares with), and the size of its last axis (the classes an argmax picks from)."""
        ref = self.case.reference(model) if self.case.reference else model
        y = np.asarray(ref.predict(self.x(), verbose=0), dtype=np.float64)
        classes = int(ref.output_shape[-1])
        if self.case.keras_argmax:  # one-hot of the first maximum along the last axis, as hls4ml's argmax softmax
            y = (np.arange(classes) == y.argmax(-1)[..., None]).astype(np.float64)
        return y.reshape(self.samples, -1), classes

    @cached_property
    def y_keras(self) -> np.ndarray:
        return self.keras_outputs(self.model)[0]

    def decode(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64).reshape(self.samples, -1)
        return np.where(y == 0, -1.0, y) if self.case.decode == "xnor" else y

    def _graph(self, bit_exact: bool):
        """hls4ml's ModelGraph as the test converts it (not compiled), or {"error": ...}."""
        import hls4ml

        if bit_exact in self._graphs:
            return self._graphs[bit_exact]
        case = self.case
        out = self.dir / ("hls4ml_bit_exact" if bit_exact else "hls4ml")
        t0 = time.perf_counter()
        try:
            with hls4ml_alone(), contextlib.redirect_stdout(io.StringIO()):
                kwargs = {"hls_config": case.hls4ml.make(self.model), "output_dir": str(out),
                          "backend": case.backend, "io_type": case.io_type}
                if bit_exact:
                    kwargs["bit_exact"] = True
                self._graphs[bit_exact] = hls4ml.converters.convert_from_keras_model(self.model, **kwargs)
        except Exception as e:  # hls4ml's own failure is a result here, not a test error
            self._graphs[bit_exact] = _error(e)
        self.seconds[f"hls4ml{'_bit_exact' if bit_exact else ''}_convert"] = time.perf_counter() - t0
        return self._graphs[bit_exact]

    def hls4ml(self, bit_exact: bool = False) -> dict:
        """hls4ml's C-simulation against Keras: {vs_keras, exact, widths, input_precision} or {error, ...}."""
        key = "hls4ml_bit_exact" if bit_exact else "hls4ml"
        if key not in self._runs:
            self._runs[key] = self._run_hls4ml(bit_exact, key)
        return self._runs[key]

    def _run_hls4ml(self, bit_exact: bool, key: str) -> dict:
        graph = self._graph(bit_exact)
        if isinstance(graph, dict):
            return dict(graph)
        rec = {"input_precision": [str(v.type.precision) for v in graph.get_input_variables()],
               "widths": mac_widths((layer.name, {k: str(v.precision) for k, v in layer.types.items()})
                                    for layer in graph.get_layers())}
        t0 = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                compile_hls4ml(graph)
                y = graph.predict([np.ascontiguousarray(x) for x in self.inputs] if len(self.inputs) > 1
                                  else np.ascontiguousarray(self.inputs[0]))
            rec["vs_keras"] = compare(self.y_keras, self.decode(y), self.keras_outputs(self.model)[1])
            rec["exact"] = rec["vs_keras"]["mismatched_elements"] == 0
        except Exception as e:
            rec.update(_error(e))
        self.seconds[f"{key}_compile_predict"] = time.perf_counter() - t0
        return rec


class CaseRun:
    """approxhls on one case (the test's model or its twin), on the inputs of the shared :class:`TestModelRun`."""

    def __init__(self, case, test_run: TestModelRun, workdir: Path, home: Path | None = None):
        self.case = case
        self.test = test_run
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.seconds: dict[str, float] = {}

    @cached_property
    def model(self):
        """The test's model itself, or its twin with the test model's weights."""
        if self.case.api == self.case.test_api:
            return self.test.model
        twin = self.case.build(self.case.api)
        twin.set_weights(self.test.model.get_weights())
        return twin

    @cached_property
    def keras(self) -> tuple[np.ndarray, int]:
        return self.test.keras_outputs(self.model)

    @property
    def y_keras(self) -> np.ndarray:
        return self.keras[0]

    @property
    def twins_agree(self) -> bool:
        """The twin computes what the test's model computes (in Keras): else the twin is built wrongly."""
        return bool(np.array_equal(self.y_keras, self.test.y_keras))

    def hls4ml(self, bit_exact: bool = False) -> dict:
        return self.test.hls4ml(bit_exact)

    @contextlib.contextmanager
    def _environment(self):
        """approxhls' C-simulation at csim_opt(), its caches (activation tables) under ``home`` when given."""
        old = os.environ.get("APPROXHLS_HOME")
        if self.home is not None:
            os.environ["APPROXHLS_HOME"] = str(self.home)
        try:
            with csim_opt_env(), contextlib.redirect_stdout(io.StringIO()):
                yield
        finally:
            if self.home is not None:
                if old is None:
                    os.environ.pop("APPROXHLS_HOME", None)
                else:
                    os.environ["APPROXHLS_HOME"] = old

    @cached_property
    def approxhls(self) -> dict:
        """The project's claims, its C-simulation and emulator against Keras, its layers against Keras' layers; or
        {error, refused, traceback} where the conversion fails."""
        from approxhls.hls.convert import ConvertOptions, convert_model

        case = self.case
        prj = self.dir / "approxhls"
        precisions = self.test.input_precisions
        opts = ConvertOptions(io_type=case.io_type, input_precision=common_type(precisions), **case.approxhls)
        t0 = time.perf_counter()
        try:
            with self._environment():
                convert_model(self.model, prj, opts, verify=min(VERIFY, case.samples))
        except Exception as e:
            self.seconds["approxhls_convert"] = time.perf_counter() - t0
            return _error(e)
        self.seconds["approxhls_convert"] = time.perf_counter() - t0
        meta = json.loads((prj / "approxhls.json").read_text())
        rec = {"bit_exact": meta.get("bit_exact"), "bit_exact_derived": meta.get("bit_exact_derived"),
               "verified": meta.get("verified"), "exactness": meta.get("exactness"),
               "widths": mac_widths((row["name"], row["types"]) for row in meta.get("layers", [])),
               "input_precision": meta.get("input_precision")}
        try:
            with self._environment():
                rec.update(self._simulate(prj, meta))
        except Exception as e:
            rec.update(_error(e))
        return rec

    def _simulate(self, prj: Path, meta: dict) -> dict:
        from approxhls.sim.assignment import project_assignments
        from approxhls.sim.csimlib import CSimLibrary
        from approxhls.sim.emulator import Emulator
        from approxhls.sim.ir import IR

        x = self.test.x()
        flat = np.concatenate([a.reshape(len(a), -1) for a in self.test.inputs], axis=1)  # a sample: inputs side by side
        t0 = time.perf_counter()
        ir = IR.load(prj)
        lib = CSimLibrary(prj)
        y_csim = lib.predict(flat)
        self.seconds["approxhls_csim"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        y_emu = Emulator(ir, project_assignments(prj)).predict(flat)
        self.seconds["approxhls_emulator"] = time.perf_counter() - t0
        y_emu = np.asarray(y_emu, dtype=np.float64).reshape(y_csim.shape)
        rec = {"vs_keras": compare(self.y_keras, self.test.decode(y_csim), self.keras[1]),
               "emulator_vs_csim": int((y_emu != y_csim).sum()), "elements": int(y_csim.size)}
        rec["exact"] = rec["vs_keras"]["mismatched_elements"] == 0
        t0 = time.perf_counter()
        rec.update(self._layers(ir, lib, meta, x, flat, y_csim))
        self.seconds["approxhls_layers"] = time.perf_counter() - t0
        return rec

    def _layers(self, ir, lib, meta: dict, x, flat: np.ndarray, y_csim: np.ndarray) -> dict:
        """Every traced layer against the Keras layer it stands for, and the layer claims that this proves false."""
        from tensorflow import keras

        nodes = [n for n in ir.nodes if n.op != "input"]
        _, traces = lib.trace(flat, {n.name: int(np.prod(n.shape)) for n in nodes})
        traces.setdefault(ir.output, y_csim)
        ref = self.case.reference(self.model) if self.case.reference else self.model
        sources = keras_sources([n.name for n in nodes], [layer.name for layer in ref.layers])
        wanted = sorted(set(sources.values()))
        outs = keras.Model(ref.inputs, [ref.get_layer(k).output for k in wanted]).predict(x, verbose=0) if wanted else []
        outs = outs if isinstance(outs, list) else [outs]
        keras_out = {k: np.asarray(o, dtype=np.float64).reshape(self.test.samples, -1) for k, o in zip(wanted, outs)}
        exact = {row["layer"]: row["exact"] for row in meta.get("exactness") or []}
        equal, pairs, rows = {}, {}, []
        for node in nodes:
            k = keras_out.get(sources.get(node.name, ""))
            c = traces.get(node.name)
            row = {"layer": node.name, "op": node.op, "keras_layer": sources.get(node.name),
                   "exact": exact.get(node.name), "traced": c is not None}
            if k is not None and c is not None and k.shape == c.shape:
                c = self.test.decode(c) if node.name == ir.output else c
                equal[node.name] = (k == c).all(axis=1)
                pairs[node.name] = (k, c)
                row["mismatched_samples"] = int((~equal[node.name]).sum())
                row["max_abs_diff"] = float(np.abs(k - c).max())
            rows.append(row)
        claims = false_layer_claims([n.name for n in nodes], exact, equal, pairs)
        model_claim_false = meta.get("bit_exact") is True and not np.array_equal(self.test.decode(y_csim), self.y_keras)
        return {"layers": rows, "false_layer_claims": claims, "false_model_claim": bool(model_claim_false)}

    def record(self) -> dict:
        """Everything, for the benchmark: the case, hls4ml alone and bit-exact, approxhls, the seconds each took."""
        case = self.case
        t0 = time.perf_counter()
        rec = {"case": case.id, "model": case.name, "source": case.source, "api": case.api, "test_api": case.test_api,
               "io_type": case.io_type, "backend": case.backend, "samples": case.samples, "slow": case.slow,
               "known_bugs": dict(case.bugs)}
        try:
            rec["input_precision"] = self.test.input_precisions
            rec["hls4ml"] = self.hls4ml(False)
            rec["hls4ml_bit_exact"] = self.hls4ml(True)
            rec["twins_agree_in_keras"] = self.twins_agree
            rec["approxhls"] = self.approxhls
            rec["verdicts"] = verdicts(rec)
        except Exception as e:  # the harness itself (building the model, Keras): recorded, the run goes on
            rec["harness_error"] = _error(e)
        rec["seconds"] = {k: round(v, 2) for k, v in {**self.test.seconds, **self.seconds}.items()}
        rec["seconds"]["total"] = round(time.perf_counter() - t0, 2)
        return rec


class Runs:
    """Every run of a session, made once: the test models' runs by (model, io type), the cases' runs by id."""

    def __init__(self, workdir: Path, home: Path | None = None):
        self.dir = Path(workdir)
        self.home = Path(home) if home is not None else self.dir / "home"  # approxhls' caches (activation tables)
        self.tests: dict[tuple, TestModelRun] = {}
        self.cases: dict[str, CaseRun] = {}

    def test_run(self, case) -> TestModelRun:
        key = (case.name, case.io_type)
        if key not in self.tests:
            self.tests[key] = TestModelRun(case, self.dir / _slug(f"{case.name}-{case.io_type}") / "test")
        return self.tests[key]

    def run(self, case) -> CaseRun:
        if case.id not in self.cases:
            test = self.test_run(case)
            self.cases[case.id] = CaseRun(case, test, test.dir.parent / case.api, self.home)
        return self.cases[case.id]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:120]
