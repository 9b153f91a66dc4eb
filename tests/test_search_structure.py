"""The search stays in small pieces: no function in approxhls/search above cyclomatic complexity 12 (McCabe, counted
as radon counts it: 1 + each if/elif, loop, except, assert, conditional expression, comprehension and its ifs, and
each extra operand of and/or)."""

import ast
from pathlib import Path

import approxhls.search

LIMIT = 12
DECISIONS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler, ast.IfExp, ast.Assert, ast.match_case)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def complexity(function: ast.AST) -> int:
    """McCabe complexity of one function's own body (nested functions and classes are counted on their own)."""
    n, todo = 1, [c for c in ast.iter_child_nodes(function) if not isinstance(c, SCOPES)]
    while todo:
        node = todo.pop()
        n += isinstance(node, DECISIONS)
        if isinstance(node, ast.BoolOp):
            n += len(node.values) - 1
        if isinstance(node, ast.comprehension):
            n += 1 + len(node.ifs)
        todo += [c for c in ast.iter_child_nodes(node) if not isinstance(c, SCOPES)]
    return n


def test_complexity_counts_branches():
    src = "def f(a, b):\n    if a and b or a:\n        return [x for x in a if x]\n    return 1 if b else 2\n"
    assert complexity(ast.parse(src).body[0]) == 1 + 1 + 2 + 2 + 1


def test_no_search_function_is_above_complexity_12():
    too_complex = []
    for path in sorted(Path(approxhls.search.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and complexity(node) > LIMIT:
                too_complex.append(f"{path.name}:{node.lineno} {node.name} ({complexity(node)})")
    assert not too_complex
