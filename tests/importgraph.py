"""The approxhls import graph read from source (ast), for the tests that keep packages free of import cycles.

An import inside a function counts like one at module level: a cycle hidden in a function is still a cycle."""

import ast
from pathlib import Path

import approxhls

ROOT = Path(approxhls.__file__).parent


def imports(path: Path) -> set[str]:
    """approxhls modules a source file imports, at module level or inside functions alike."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("approxhls"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}  # `from approxhls.multipliers import user`
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("approxhls")}
    return found


def module_files(*parts: str) -> dict[str, Path]:
    """Module name -> file for every module of the given subpackages (``"multipliers"``) or single modules
    (``"home.py"``) of approxhls; package ``__init__`` files are left out (they only re-export)."""
    paths = []
    for part in parts:
        where = ROOT / part
        paths += sorted(where.rglob("*.py")) if where.is_dir() else [where]
    return {f"approxhls.{'.'.join(p.relative_to(ROOT).with_suffix('').parts)}": p
            for p in paths if p.name != "__init__.py"}


def graph_of(files: dict[str, Path]) -> dict[str, list[str]]:
    """Each module -> the modules among ``files`` it imports."""
    return {m: sorted(imports(p) & files.keys()) for m, p in files.items()}


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One import cycle (``[a, b, a]``) in the graph, or None."""
    def cycle_from(module, path):
        for nxt in graph[module]:
            if nxt in path:
                return path[path.index(nxt):] + [nxt]
            found = cycle_from(nxt, path + [nxt])
            if found:
                return found
        return None

    for module in graph:
        cycle = cycle_from(module, [module])
        if cycle:
            return cycle
    return None
