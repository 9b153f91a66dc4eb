"""A search's state after each generation, saved atomically beside its output directory (``OUT.checkpoint``), so
that an interrupted search continues (``--resume``) exactly as it would have run on.

The state: the NSGA-II algorithm object (populations, fronts, generation counter, termination; pymoo keeps no
other state), the evaluation cache and count, and the random generators pymoo draws from (numpy's and Python's
global ones). What a process holds and a pickle cannot (the problem with its worker pool, the progress bar) is left
out by reference and given back on loading. What the search is asked to do (options that decide its results, the
a digest of the network and images) is saved too: a resume with anything different is refused.

A checkpoint is a pickle: like a model or a project, it is trusted as code of the user who wrote it.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import random
from pathlib import Path

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.search.options import SearchOptionError, differences

FORMAT = 1


def checkpoint_path(out) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".checkpoint")


class SearchInterrupted(KeyboardInterrupt):
    """A search stopped by an interrupt (Ctrl-C); the message says what was saved and how to continue."""


class _Pickler(pickle.Pickler):
    """Pickles everything but the ``live`` objects, which are saved by name."""

    def __init__(self, f, live: dict):
        super().__init__(f, protocol=pickle.HIGHEST_PROTOCOL)
        self._names = {id(obj): name for name, obj in live.items()}

    def persistent_id(self, obj):
        return self._names.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, live: dict):
        super().__init__(f)
        self._live = live

    def persistent_load(self, pid):
        return self._live[pid]


def _dumps(obj, live: dict) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, live).dump(obj)
    return buf.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds either its old content or ``data``, never a part of it (a temporary file renamed into place)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def fingerprint(ir, data) -> str:
    """A digest of the network's weights and the search's images and labels (what the fitness is computed on)."""
    h = hashlib.sha256()
    for node in ir.nodes:
        h.update(node.name.encode())
        for name in sorted(node.weights):
            h.update(name.encode() + np.ascontiguousarray(node.weights[name]).tobytes())
    for part in (data.x_calib, data.y_calib, data.x_val, data.y_val, data.x_test, data.y_test):
        if part is not None:
            h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


class Checkpoint:
    """The checkpoint file of one search. A resume must repeat its ``options``
    (:func:`approxhls.search.options.result_options`) and, once the model is loaded, its ``data``
    (:func:`fingerprint`)."""

    def __init__(self, path, options: dict, data: str | None = None):
        self.path, self.options, self.data = Path(path), options, data

    def save(self, algorithm, fitness, seconds: float) -> None:
        state = {"format": FORMAT, "options": self.options, "data": self.data, "seconds": seconds,
                 "generation": int(algorithm.n_iter) - 1,  # pymoo's counter names the generation to come
                 "fitness": fitness.state(),
                 "algorithm": _dumps(algorithm, {"problem": algorithm.problem, "callback": algorithm.callback}),
                 "numpy_random": np.random.get_state(), "python_random": random.getstate()}
        write_atomically(self.path, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))

    def _load_state(self) -> dict:
        try:
            state = pickle.loads(self.path.read_bytes())
            if not (isinstance(state, dict) and state.get("format") == FORMAT):
                raise ValueError("not a search checkpoint of this version")
        except Exception as e:  # unreadable, truncated by hand, or of another version
            raise ApproxHLSError(f"the checkpoint {self.path} cannot be read ({type(e).__name__}: {e}); start the "
                                 f"search over with --force") from None
        return state

    def read(self) -> dict:
        """The saved state, checked to be this search's (its data only once ``data`` is known)."""
        state = self._load_state()
        changed = differences(state["options"], self.options)
        if changed:
            raise SearchOptionError(f"--resume continues the search saved in {self.path} with its own options; "
                                    f"these differ: {', '.join(changed)}. Run it with the same options, or start "
                                    f"over with --force")
        if self.data is not None and state["data"] != self.data:
            raise SearchOptionError(f"--resume: the network's weights or the images differ from those of the search "
                                    f"saved in {self.path}; resume with the same model and dataset, or start over "
                                    f"with --force")
        return state

    def load(self, problem, make_callback):
        """(the algorithm as saved, seconds searched so far); the fitness cache, counts and the random generators
        are restored. ``make_callback(generations done)`` gives the progress callback."""
        state = self.read()
        live = {"problem": problem, "callback": make_callback(state["generation"])}
        algorithm = _Unpickler(io.BytesIO(state["algorithm"]), live).load()
        problem.fitness.restore(state["fitness"])
        np.random.set_state(state["numpy_random"])
        random.setstate(state["python_random"])
        return algorithm, state["seconds"]

    def generation(self) -> int | None:
        """Generations saved (None: no checkpoint, or none that can be read)."""
        try:
            return self._load_state()["generation"] if self.path.exists() else None
        except ApproxHLSError:
            return None

