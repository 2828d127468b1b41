"""Positions of reported nodes without generating code for the whole module.

LibCST's ``PositionProvider`` renders the entire module to count lines and columns, which costs more than
the traversal itself. A finding only needs the positions inside the top-level statement that holds it.
The standard parser (which already ran on the file) tells on which line each top-level statement's code
starts; rendering just that statement from there gives exactly the positions ``PositionProvider`` would.

Top-level statements are matched to ``ast`` statements in order (a ``SimpleStatementLine`` holds one
``ast`` statement per small statement). When anything does not line up, the caller falls back to the
full provider.
"""

from __future__ import annotations

import ast
from typing import Iterable

import libcst as cst
from libcst._position import CodeRange
from libcst.metadata import PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState


class _Collector(PositionProvider):
    """A PositionProvider used only as the sink of one statement's codegen."""

    def __init__(self) -> None:
        super().__init__()


def statement_code_lines(module: cst.Module, tree: ast.Module) -> list[int] | None:
    """For each top-level LibCST statement, the line where its first token (decorator or keyword) is."""
    lines: list[int] = []
    index = 0
    body = tree.body
    for stmt in module.body:
        if index >= len(body):
            return None
        node = body[index]
        if isinstance(stmt, cst.SimpleStatementLine):
            count = len(stmt.body)
            if count == 0:
                return None
            lines.append(node.lineno)
            index += count
            continue
        decorators = getattr(node, "decorator_list", None)
        if decorators:
            lines.append(min(d.lineno for d in decorators))
        else:
            lines.append(node.lineno)
        index += 1
    if index != len(body):
        return None
    return lines


def positions_in(module: cst.Module, statements: Iterable[int], code_lines: list[int]) -> dict[cst.CSTNode, CodeRange]:
    """Positions of every node inside the given top-level statements (by index)."""
    collector = _Collector()
    for i in statements:
        stmt = module.body[i]
        first = code_lines[i] - len(getattr(stmt, "leading_lines", ()))
        decorators = getattr(stmt, "decorators", ())
        if decorators:
            first -= len(decorators[0].leading_lines)
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=collector,
        )
        state.line = first
        state.column = 0
        stmt._codegen(state)
    return collector._computed
