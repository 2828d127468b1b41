"""Drop-in, faster versions of ``ast.walk`` and ``ast.iter_child_nodes``.

The standard ones look up every field of every node through two generators (``iter_fields``,
``iter_child_nodes``); these read, per node type, only the fields that can hold nodes. They yield the
same nodes in the same order, the ``Load``/``Store``/``Del`` context nodes included, so a checker can
switch to them without any change of meaning (``tests/test_ast_walk.py`` holds them to that).
"""

from __future__ import annotations

import ast
from typing import Iterator

#: fields that only ever hold names, numbers or flags, never nodes
_SCALAR_FIELDS = frozenset({
    "id", "attr", "arg", "name", "asname", "module", "level", "kind", "type_comment", "is_async", "conversion",
    "simple", "tag",
})
_NODE_FIELDS: dict[type, tuple[str, ...]] = {}
_AST = ast.AST


def _node_fields(kind: type) -> tuple[str, ...]:
    fields = _NODE_FIELDS.get(kind)
    if fields is None:
        fields = _NODE_FIELDS[kind] = tuple(f for f in kind._fields if f not in _SCALAR_FIELDS)  # type: ignore[attr-defined]
    return fields


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``list(ast.iter_child_nodes(node))``."""
    out: list[ast.AST] = []
    fields = _NODE_FIELDS.get(type(node)) or _node_fields(type(node))
    for name in fields:
        value = getattr(node, name, None)
        if value.__class__ is list:
            for item in value:
                if isinstance(item, _AST):
                    out.append(item)
        elif isinstance(value, _AST):
            out.append(value)
    return out


def ast_walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk(node)``: every node under ``node``, itself first, breadth first."""
    todo = [node]
    fields_of = _NODE_FIELDS
    i = 0
    while i < len(todo):
        current = todo[i]
        i += 1
        fields = fields_of.get(type(current)) or _node_fields(type(current))
        for name in fields:
            value = getattr(current, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, _AST):
                        todo.append(item)
            elif isinstance(value, _AST):
                todo.append(value)
        yield current
