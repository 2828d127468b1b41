"""``analysis.ast_walk`` yields exactly what ``ast.walk`` and ``ast.iter_child_nodes`` yield, in order."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from remediation_lint.analysis.ast_walk import ast_walk, child_nodes

ROOT = Path(__file__).resolve().parent.parent
STDLIB = Path(ast.__file__).parent
SOURCES = [
    *sorted(ROOT.joinpath("remediation_lint").rglob("*.py")),
    *sorted(ROOT.joinpath("fixtures").rglob("*.py")),
    *(STDLIB / name for name in ("ast.py", "typing.py", "dataclasses.py", "asyncio/tasks.py", "re/_parser.py")),
]
NEWER = """
match command:
    case {"go": [x, *rest]} if x > 0:
        pass
    case Point(x=0) | None as p:
        pass
"""
GROUPS = """
try:
    pass
except* ValueError as group:
    pass
"""


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_same_nodes_in_the_same_order(path: Path) -> None:
    tree = ast.parse(path.read_bytes())
    expected = list(ast.walk(tree))
    got = list(ast_walk(tree))
    assert len(got) == len(expected)
    assert all(a is b for a, b in zip(got, expected))
    for node in expected:
        assert child_nodes(node) == list(ast.iter_child_nodes(node))


def test_pattern_matching_and_exception_groups() -> None:
    tree = ast.parse(NEWER + (GROUPS if sys.version_info >= (3, 11) else ""))
    assert [type(n) for n in ast_walk(tree)] == [type(n) for n in ast.walk(tree)]
    assert any(isinstance(n, ast.MatchAs) for n in ast_walk(tree))
    if sys.version_info >= (3, 11):
        assert any(type(n).__name__ == "TryStar" for n in ast_walk(tree))


def test_a_walk_can_stop_early() -> None:
    tree = ast.parse("a = 1\nb = 2\n")
    walker = ast_walk(tree)
    assert next(walker) is tree
    assert isinstance(next(walker), ast.Assign)
