"""The overlays the host tests drive, written once by the full install and read by every PYNQ matrix venv (which has
no TensorFlow or hls4ml to write them): ``python tests/host_fixtures.py DEST``.

DEST/
  fixtures.json   {"overlays": {key: dir}, "project": dir, "inputs": "inputs.npz", "stamp": ...}
  inputs.npz      x: 150 digits test samples on the input grid, y_ref: the project's C-simulation of them
  prj/            the converted project (mlp 64-32-10, DRUM k5 in every layer)
  w64/ w32/ z2/   overlays: ZCU104 64-bit words batch 256; ZCU104 32-bit words batch 8; PYNQ-Z2 batch 64
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

OVERLAYS = {  # key -> OverlayOptions fields
    "w64": {"board": "zcu104", "batch": 256},
    "w32": {"board": "zcu104", "batch": 8, "word_bits": 32},
    "z2": {"board": "pynq-z2", "batch": 64},
}
FORMAT = "approxhls-host-fixtures/1"


def build(dest: Path) -> dict:
    """Write the fixtures into ``dest`` (replacing what is there) and return fixtures.json's content."""
    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import mlp_project

    from approxhls.models.datasets import load_dataset
    from approxhls.overlays import OverlayOptions, write_overlay
    from approxhls.overlays.wrapper import write_golden
    from approxhls.sim.csimlib import CSimLibrary

    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    prj = mlp_project(dest / "prj", seed=4, plan={"default": "drum_u8_k5"})
    meta = json.loads((prj / "approxhls.json").read_text())
    meta["dataset"] = "digits"  # as `approxhls train` records it: the overlays then ship test samples
    (prj / "approxhls.json").write_text(json.dumps(meta))
    for key, fields in OVERLAYS.items():
        write_overlay(prj, dest / key, OverlayOptions(**fields))
        write_golden(dest / key, 16)
    x = load_dataset("digits").x_test[:150].reshape(150, -1).astype(np.float64)
    y_ref = CSimLibrary(prj).predict(x.astype(np.float32)).reshape(len(x), -1)
    np.savez(dest / "inputs.npz", x=x, y_ref=y_ref)
    data = {"format": FORMAT, "overlays": {k: k for k in OVERLAYS}, "project": "prj", "inputs": "inputs.npz"}
    (dest / "fixtures.json").write_text(json.dumps(data, indent=2) + "\n")
    return data


def load(dest: Path) -> dict:
    """{"overlays": {key: Path}, "project": Path, "x": ..., "y_ref": ...} from a directory build() wrote."""
    dest = Path(dest)
    data = json.loads((dest / "fixtures.json").read_text())
    if data.get("format") != FORMAT or set(data["overlays"]) != set(OVERLAYS):
        raise RuntimeError(f"{dest} holds other fixtures; rewrite them: python tests/host_fixtures.py {dest}")
    arrays = np.load(dest / data["inputs"])
    return {"overlays": {k: dest / v for k, v in data["overlays"].items()}, "project": dest / data["project"],
            "x": arrays["x"], "y_ref": arrays["y_ref"]}


if __name__ == "__main__":
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".venv-pynq/fixtures")
    os.environ.setdefault("APPROXHLS_HOME", str(target.parent / "home"))
    build(target)
    print(f"host fixtures -> {target}")
