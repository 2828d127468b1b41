"""Function bodies copied between modules of a project (for RMD706).

Bodies are normalised from the project pass's ``ast`` trees: the docstring is dropped, parameter and
local variable names become positional placeholders, literal values become their type, and everything
else (attribute names, called and global names, keyword names, the statement structure) is kept. Two
functions with the same normalised body are copies of each other.

Mirrored trees are kept apart: when a directory of the project holds a copy of the project's own layout
(``remediated/khala/...`` next to ``khala/...``, a vendored or generated copy), its modules are compared
with each other but not with the originals they mirror.

The result is computed once per ``ProjectIndex`` and cached on it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from remediation_lint.analysis.import_graph import module_label

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.project import ProjectIndex

_CACHE_ATTR = "_rmd_duplicated_helpers"
_KEEP_CONSTANTS = (type(None), bool, type(Ellipsis))


@dataclass(frozen=True)
class Copy:
    path: Path
    qualname: str
    lineno: int
    label: str  # ``pkg.mod.func`` for messages


def is_test_path(path: Path) -> bool:
    name = path.name
    return (
        name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
        or "tests" in path.parts[:-1] or "test" in path.parts[:-1]
    )


class _Normaliser(ast.NodeTransformer):
    def __init__(self, local_names: set[str]) -> None:
        self.local_names = local_names
        self.mapping: dict[str, str] = {}

    def _placeholder(self, name: str) -> str:
        if name not in self.mapping:
            self.mapping[name] = f"_v{len(self.mapping)}"
        return self.mapping[name]

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.local_names:
            return ast.copy_location(ast.Name(id=self._placeholder(node.id), ctx=node.ctx), node)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._placeholder(node.arg)
        node.annotation = None
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, _KEEP_CONSTANTS):
            return node
        return ast.copy_location(ast.Constant(value=type(node.value).__name__), node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        self.generic_visit(node)
        node.values = [v for v in node.values if not isinstance(v, ast.Constant)]
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.name and node.name in self.local_names:
            node.name = self._placeholder(node.name)
        self.generic_visit(node)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._placeholder(node.name) if node.name in self.local_names else node.name
        node.returns = None
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names: set[str] = set()
    args = func.args
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if a is not None:
            names.add(a.arg)
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not func:
            names.add(node.name)
    return names


def _statement_count(body: list[ast.stmt]) -> int:
    count = 0
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.stmt):
                count += 1
    return count


def normalised_body(func: ast.FunctionDef | ast.AsyncFunctionDef, min_statements: int) -> str | None:
    """The normalised text of the function's body, or None when it is shorter than ``min_statements``."""
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    if _statement_count(body) < min_statements:
        return None
    import copy

    clone = copy.deepcopy(func)
    # normalise the copy's own statements: the originals belong to the shared project summaries
    clone.body = clone.body[len(func.body) - len(body):]
    normaliser = _Normaliser(_local_names(func))
    for a in (*clone.args.posonlyargs, *clone.args.args, *clone.args.kwonlyargs, clone.args.vararg, clone.args.kwarg):
        if a is not None:
            normaliser.visit(a)
    parts = [ast.dump(normaliser.visit(stmt), annotate_fields=False, include_attributes=False) for stmt in clone.body]
    prefix = "async " if isinstance(func, ast.AsyncFunctionDef) else ""
    return prefix + "\n".join(parts)


def _functions(tree: ast.Module):
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield stmt.name, stmt
        elif isinstance(stmt, ast.ClassDef):
            for inner in stmt.body:
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if inner.name.startswith("__") and inner.name.endswith("__"):
                        continue
                    yield f"{stmt.name}.{inner.name}", inner


def mirror_worlds(index: "ProjectIndex", paths: list[Path]) -> dict[Path, str]:
    """Which copy of the project each file belongs to: ``""`` for the project itself, else the directory
    (relative to the root) of a mirrored tree such as ``remediated``."""
    rels: dict[Path, tuple[str, ...]] = {}
    for path in paths:
        root = index._root_of(path)
        try:
            rels[path] = path.relative_to(root).parts
        except ValueError:
            rels[path] = (path.name,)
    present = set(rels.values())
    mirrors: set[tuple[str, ...]] = set()
    for parts in rels.values():
        # D/Q mirrors Q when Q (a path inside a package, at least two parts) also exists at the root
        for cut in range(1, len(parts) - 1):
            if parts[cut:] in present and len(parts) - cut >= 2:
                mirrors.add(parts[:cut])
    out: dict[Path, str] = {}
    for path, parts in rels.items():
        world = ""
        for cut in range(len(parts) - 1, 0, -1):
            if parts[:cut] in mirrors:
                world = "/".join(parts[:cut])
                break
        out[path] = world
    return out


def duplicated_helpers(index: "ProjectIndex", min_statements: int = 3) -> dict[Path, dict[str, list[Copy]]]:
    """path -> qualname -> the other copies (in other modules) of that function's body."""
    cache: dict[int, dict[Path, dict[str, list[Copy]]]] = getattr(index, _CACHE_ATTR, None) or {}
    if min_statements in cache:
        return cache[min_statements]
    refs = [r for r in index.all_modules() if r.summary.tree is not None and not is_test_path(r.path)]
    worlds = mirror_worlds(index, [r.path for r in refs])
    groups: dict[tuple[str, str], list[Copy]] = {}
    for ref in refs:
        label = module_label(index, ref.path)
        for qualname, func in _functions(ref.summary.tree):  # type: ignore[arg-type]
            key = normalised_body(func, min_statements)
            if key is None:
                continue
            groups.setdefault((worlds[ref.path], key), []).append(Copy(ref.path, qualname, func.lineno, f"{label}.{qualname}"))
    result: dict[Path, dict[str, list[Copy]]] = {}
    for copies in groups.values():
        if len({c.path for c in copies}) < 2:
            continue
        for copy in copies:
            others = [c for c in copies if c.path != copy.path]
            result.setdefault(copy.path, {})[copy.qualname] = others
    cache[min_statements] = result
    setattr(index, _CACHE_ATTR, cache)
    return result
