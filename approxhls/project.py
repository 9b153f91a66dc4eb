"""A converted project on disk: one object owns its files, its options, its IR and its multiplier assignments.

A project directory holds hls4ml's files (firmware/, build_lib.sh, ...) and approxhls' own:

- ``approxhls.json``: what the conversion knows (options, types, ports of the top function, exactness, plan);
- ``keras_model.h5``: the Keras model that was converted (after LSQ deployment and softmax stripping);
- ``ir.json`` + ``ir_weights.npz``: the framework-free IR every evaluator reads;
- ``plan.json`` + ``plan_tables.npz``: the resolved multiplier plan and each planned layer's product table;
- ``convert.log``: hls4ml's output during the conversion.

:class:`Project` reads them (numpy and the standard library only: the board's host library uses it) and checks
approxhls.json's keys and types, so a damaged file is an error that names the file and the key.
What a command evaluates, a project or a model converted in memory, is :func:`approxhls.hls.target.resolve_target`
(it converts, so it sits above the conversion, which writes projects through this module).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from approxhls.errors import ProjectError

PROJECT_JSON = "approxhls.json"
KERAS_COPY = "keras_model.h5"
CONVERT_LOG = "convert.log"
FORMAT = 3  # approxhls.json layout: 3 adds the conversion options and the top function's ports

# key -> the types its value may have (a damaged approxhls.json is refused with the key's name)
REQUIRED = {
    "project_name": (str,), "io_type": (str,), "strategy": (str,), "reuse_factor": (int,), "backend": (str,),
    "part": (str,), "input_precision": (str,), "input_shape": (list,), "output_shape": (list,),
    "layers": (list,), "exactness": (list,), "bit_exact_derived": (bool, type(None)),
    "bit_exact": (bool, type(None)),
}


def is_project(path) -> bool:
    return (Path(path) / PROJECT_JSON).is_file()


def check_meta(meta, where) -> dict:
    """approxhls.json's content, or an error naming the file and the first missing or mistyped key."""
    if not isinstance(meta, dict):
        raise ProjectError(f"{where} is not an approxhls project file (a JSON object expected); re-create the "
                           f"project with `approxhls convert`")
    for key, types in REQUIRED.items():
        if key not in meta:
            raise ProjectError(f"{where} has no {key!r}; re-create the project with `approxhls convert`")
        if not isinstance(meta[key], types) or (int in types and isinstance(meta[key], bool)):
            raise ProjectError(f"{where}: {key!r} is {type(meta[key]).__name__}, expected "
                               f"{' or '.join(t.__name__ for t in types)}; re-create the project with "
                               f"`approxhls convert`")
    return meta


@dataclass(frozen=True)
class Port:
    """One argument of the hls4ml top function, as the conversion wrote it."""

    name: str         # the argument (hls4ml's variable name)
    direction: str    # "in" or "out"
    ctype: str        # the C type name in defines.h (input_t, result_t, ...)
    precision: str    # element type, e.g. ap_fixed<16,6>
    shape: tuple      # elements of one sample, in hls4ml's order
    chunk: int        # io_stream: elements per stream word (nnet::array size); io_parallel: all of them

    @classmethod
    def from_json(cls, d: dict) -> "Port":
        return cls(d["name"], d["direction"], d["ctype"], d["precision"], tuple(int(s) for s in d["shape"]),
                   int(d["chunk"]))

    def to_json(self) -> dict:
        return {"name": self.name, "direction": self.direction, "ctype": self.ctype, "precision": self.precision,
                "shape": list(self.shape), "chunk": self.chunk}


class Project:
    """A converted project directory."""

    def __init__(self, directory, meta: dict):
        self.dir = Path(directory)
        self.meta = meta
        self._ir = None

    # ---- reading -------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, directory) -> "Project":
        p = Path(directory) / PROJECT_JSON
        if not p.is_file():
            raise ProjectError(f"{directory} is not an approxhls project (no {PROJECT_JSON}); create one with "
                               f"`approxhls convert`")
        try:
            meta = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ProjectError(f"{p} is corrupt ({e}); re-create the project with `approxhls convert`") from None
        return cls(directory, check_meta(meta, p))

    @property
    def name(self) -> str:
        return self.meta["project_name"]

    @property
    def io_type(self) -> str:
        return self.meta["io_type"]

    @property
    def input_precision(self) -> str:
        return self.meta["input_precision"]

    @property
    def input_shape(self) -> list[int]:
        return [int(d) for d in self.meta["input_shape"]]

    @property
    def output_shape(self) -> list[int]:
        return [int(d) for d in self.meta["output_shape"]]

    @property
    def input_shapes(self) -> list[list[int]]:
        """Every input's shape; a sample is the inputs side by side (flattened), in the model's order."""
        return [[int(d) for d in s] for s in self.meta.get("input_shapes", [self.meta["input_shape"]])]

    @property
    def output_shapes(self) -> list[list[int]]:
        return [[int(d) for d in s] for s in self.meta.get("output_shapes", [self.meta["output_shape"]])]

    def require_single_io(self, what: str) -> None:
        """Refuse a command that handles one input and one output (a dataset's images, a stream wrapper)."""
        if len(self.input_shapes) != 1 or len(self.output_shapes) != 1:
            raise ProjectError(f"{what} takes a model with one input and one output; {self.dir} has "
                               f"{len(self.input_shapes)} inputs and {len(self.output_shapes)} outputs (its "
                               f"C-simulation and emulator take samples with the inputs side by side: "
                               f"`approxhls diff` and `convert --verify` check it)")

    @property
    def dataset(self) -> str | None:
        return self.meta.get("dataset")

    @property
    def keras_path(self) -> Path:
        return self.dir / KERAS_COPY

    @property
    def plan(self) -> dict:
        return self.meta.get("plan") or {}

    def options(self):
        """The ConvertOptions this project was converted with (converting its Keras copy again gives it back)."""
        from approxhls.hls.options import ConvertOptions

        if "options" in self.meta:
            return ConvertOptions.from_json(self.meta["options"])
        m = self.meta  # projects written before the options were stored whole
        return ConvertOptions(io_type=m["io_type"], strategy=m["strategy"], reuse_factor=m["reuse_factor"],
                              backend=m["backend"], part=m["part"], project_name=m["project_name"],
                              input_precision=m["input_precision"], softmax=m.get("softmax", "keep"),
                              clock_period=m.get("clock_period_ns", 10.0))

    def reconvert_options(self):
        """Options that convert this project's Keras copy into this project again (the copy is the model after
        the conversion's changes: a stripped softmax is already gone)."""
        import dataclasses

        opts = self.options()
        return dataclasses.replace(opts, softmax="keep") if opts.softmax == "strip" else opts

    def plan_to_reapply(self):
        """The project's multiplier plan (tuned weights and bias offsets included), applied to its Keras copy by a
        new conversion; None when the project has none."""
        from approxhls.sim.assignment import PLAN_FILE

        p = self.dir / PLAN_FILE
        if not p.is_file():
            return None
        from approxhls.hls.plan import PLAN_KEYS, load_plan

        try:
            data = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ProjectError(f"{p} is corrupt ({e}); re-create the project with `approxhls convert`") from None
        if not isinstance(data, dict):
            raise ProjectError(f"{p} is not a plan (a JSON object expected); re-create the project")
        return load_plan({k: v for k, v in data.items() if k in PLAN_KEYS})

    def ports(self) -> list[Port]:
        """The top function's arguments, inputs first, as recorded at conversion."""
        if "ports" not in self.meta:
            raise ProjectError(f"{self.dir / PROJECT_JSON} records no ports (written by an older approxhls); "
                               f"re-create the project with `approxhls convert`")
        try:
            return [Port.from_json(d) for d in self.meta["ports"]]
        except (KeyError, TypeError, ValueError) as e:
            raise ProjectError(f"{self.dir / PROJECT_JSON}: a port is damaged ({e}); re-create the project") from None

    def output_precision(self) -> str:
        outs = [p for p in self.ports() if p.direction == "out"] if "ports" in self.meta else []
        if outs:
            return outs[0].precision
        return next(r["types"]["result_t"] for r in reversed(self.meta["layers"]) if "result_t" in r["types"])

    def ir(self):
        if self._ir is None:
            from approxhls.sim.ir import IR

            self._ir = IR.load(self.dir)
        return self._ir

    def assignments(self) -> dict:
        from approxhls.sim.assignment import project_assignments

        return project_assignments(self.dir)

    def keras_model(self):
        from approxhls.models.modelio import load_model

        return load_model(self.keras_path)

    # ---- writing -------------------------------------------------------------------------------------------
    def write_meta(self) -> None:
        """approxhls.json, replaced atomically (a reader never sees half of it)."""
        tmp = self.dir / f".{PROJECT_JSON}.tmp"
        tmp.write_text(json.dumps(self.meta, indent=2))
        tmp.replace(self.dir / PROJECT_JSON)
