"""Compatibility: a project's approxhls.json as a dict (``meta['dir']`` is the directory). New code uses
:class:`approxhls.project.Project`, which owns every file of a project."""

from __future__ import annotations

from approxhls.project import KERAS_COPY, PROJECT_JSON, Project  # noqa: F401


def load_project(prj) -> dict:
    """Read and check a converted project's approxhls.json; ``meta['dir']`` is the project directory."""
    return Project.load(prj).meta | {"dir": str(prj)}
