"""What a name means through the module's imports: ``pk.loads`` is ``pickle.loads``.

The import map is filled from the module's top-level statements before the traversal and updated as
imports are met during it (function-level imports included). Shadowing by local assignment is not
tracked: the map answers "which import does this dotted name come from", nothing more.
"""

from __future__ import annotations

import ast as _ast
from typing import Iterable, Sequence

import libcst as cst


def dotted_name(node: cst.CSTNode | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


_Name = _ast.Name
_Attribute = _ast.Attribute


def ast_dotted(node: "_ast.AST | None") -> str | None:
    """``a.b.c`` for a standard-library ``ast`` Name/Attribute chain, else None (the project pass's twin
    of ``dotted_name``)."""
    kind = type(node)
    if kind is _Name:
        return node.id  # type: ignore[union-attr]
    parts: list[str] = []
    while kind is _Attribute:
        parts.append(node.attr)  # type: ignore[union-attr]
        node = node.value  # type: ignore[union-attr]
        kind = type(node)
    if kind is _Name:
        parts.append(node.id)  # type: ignore[union-attr]
        return ".".join(reversed(parts))
    return None


def ast_dotted_as_cst(node: "_ast.AST | None") -> str | None:
    """LibCST's ``dotted_name`` on the ``ast`` (there ``True``, ``False`` and ``None`` are names too)."""
    parts: list[str] = []
    while isinstance(node, _ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, _ast.Name):
        parts.append(node.id)
    elif isinstance(node, _ast.Constant) and (node.value is None or node.value is True or node.value is False):
        parts.append(repr(node.value))
    else:
        return None
    return ".".join(reversed(parts))


def ast_arg_values(call: "_ast.Call") -> list["_ast.expr"]:
    """The values of a call's arguments in source order (LibCST's ``Call.args``)."""
    items = [((a.lineno, a.col_offset), a.value if isinstance(a, _ast.Starred) else a) for a in call.args]
    items += [((k.lineno, k.col_offset), k.value) for k in call.keywords]
    if call.keywords:
        items.sort(key=lambda item: item[0])
    return [value for _, value in items]


def module_name_of(node: cst.BaseExpression | cst.ImportFrom) -> str:
    """The dotted text of an import's module expression (without leading dots)."""
    if isinstance(node, cst.ImportFrom):
        return dotted_name(node.module) or "" if node.module is not None else ""
    return dotted_name(node) or ""


class ImportMap:
    """Local name -> fully qualified dotted name, from ``import``/``from ... import`` statements."""

    __slots__ = ("_names", "relative")

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        #: local name -> (level, module, name) for relative imports (resolved by the project pass)
        self.relative: dict[str, tuple[int, str, str]] = {}

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self._names[alias.asname.name.value] = full
                else:
                    head = full.split(".", 1)[0]
                    self._names[head] = head
            return
        if isinstance(node.names, cst.ImportStar):
            return
        level = len(node.relative)
        module = dotted_name(node.module) if node.module is not None else ""
        for alias in node.names:
            imported = dotted_name(alias.name) or ""
            local = imported
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            if level:
                self.relative[local] = (level, module or "", imported)
                self._names[local] = "." * level + (f"{module}." if module else "") + imported
            else:
                self._names[local] = f"{module}.{imported}" if module else imported

    def add_all(self, statements: Iterable[cst.CSTNode]) -> None:
        for stmt in statements:
            for node in _imports_in(stmt):
                self.add(node)

    def resolve(self, node: cst.CSTNode | None) -> str | None:
        """The qualified name of a Name/Attribute chain whose head is imported, else None."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        return self.qualify(dotted)

    def qualify(self, dotted: str) -> str | None:
        head, _, rest = dotted.partition(".")
        target = self._names.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    def resolve_or_local(self, node: cst.CSTNode | None) -> str | None:
        """Like ``resolve`` but returns the dotted text itself for names that are not imported."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        return self.qualify(dotted) or dotted

    def local_names_for(self, qualified: str) -> list[str]:
        """Local names bound to exactly ``qualified`` (e.g. the aliases of a module)."""
        return [local for local, full in self._names.items() if full == qualified]

    def __contains__(self, local: str) -> bool:
        return local in self._names


def _imports_in(stmt: cst.CSTNode) -> Iterable[cst.Import | cst.ImportFrom]:
    """Imports in a top-level statement, looking into ``if``/``try`` blocks but not into defs."""
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                yield small
    elif isinstance(stmt, (cst.If, cst.Try, cst.With)) or type(stmt).__name__ == "TryStar":
        for block in _blocks_of(stmt):
            for inner in block:
                yield from _imports_in(inner)


def _blocks_of(stmt: cst.CSTNode) -> Iterable[Sequence[cst.CSTNode]]:
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.IndentedBlock):
        yield body.body
    orelse = getattr(stmt, "orelse", None)
    if isinstance(orelse, (cst.Else,)):
        if isinstance(orelse.body, cst.IndentedBlock):
            yield orelse.body.body
    elif isinstance(orelse, cst.If):
        yield [orelse]
    for handler in getattr(stmt, "handlers", ()) or ():
        if isinstance(handler.body, cst.IndentedBlock):
            yield handler.body.body
    final = getattr(stmt, "finalbody", None)
    if final is not None and isinstance(final.body, cst.IndentedBlock):
        yield final.body.body

