"""What a command evaluates: a converted project, or a model (with an optional plan) converted in memory.

It sits above both :mod:`approxhls.project` (which owns a project's files) and the conversion (which writes projects
through it), so neither imports the other back.
"""

from __future__ import annotations

from dataclasses import dataclass

from approxhls.errors import ApproxHLSError
from approxhls.project import Project, is_project


@dataclass
class Target:
    """What a command evaluates: the IR and assignments of a project, or of a model converted in memory."""

    ir: object
    assignments: dict
    input_precision: str
    input_shape: list
    dataset: str | None
    keras_model: object = None   # a path or a model: the exact reference
    project: Project | None = None
    options: object = None       # the ConvertOptions the IR was made with


def resolve_target(target, plan=None, weights=None, options=None) -> Target:
    """A project directory (its own IR and plan; ``plan`` must be None: convert the model with a plan instead) or a
    model in any form ``convert`` takes, converted in memory with ``options`` and ``plan``."""
    if is_project(target):
        if plan is not None:
            raise ApproxHLSError(f"{target} is a converted project with its own plan; give the model to apply a plan "
                                 f"(or convert it again with --plan)")
        prj = Project.load(target)
        return Target(prj.ir(), prj.assignments(), prj.input_precision, prj.input_shape, prj.dataset,
                      prj.keras_path, prj, prj.options())
    from approxhls.hls.convert import build_graph
    from approxhls.hls.options import ConvertOptions
    from approxhls.models.modelio import load_model, load_train_info

    model = load_model(target, weights)
    info = load_train_info(target, weights)
    options = options or ConvertOptions()
    g = build_graph(model, options, info, plan)
    return Target(g.ir, g.assignments, str(g.grid), [int(d) for d in g.model.input_shape[1:]], info.get("dataset"),
                  g.model, None, options)
