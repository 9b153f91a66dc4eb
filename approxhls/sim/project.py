"""A converted project directory: its metadata file and the files approxhls keeps in it (json only)."""

from __future__ import annotations

import json
from pathlib import Path

from approxhls.errors import ProjectError

PROJECT_JSON = "approxhls.json"
KERAS_COPY = "keras_model.h5"


def load_project(prj) -> dict:
    """Read a converted project's approxhls.json; ``meta['dir']`` is the project directory."""
    p = Path(prj) / PROJECT_JSON
    if not p.exists():
        raise ProjectError(
            f"{prj} is not an approxhls project (no {PROJECT_JSON}); create one with `approxhls convert`"
        )
    try:
        meta = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ProjectError(f"{p} is corrupt ({e}); re-create the project with `approxhls convert`") from None
    meta["dir"] = str(Path(prj))
    return meta
