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
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from remediation_lint.astcheck import walk as _walk
from remediation_lint.analysis.import_graph import module_label
from remediation_lint.project import SUMMARY_EXTRAS

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


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names: set[str] = set()
    args = func.args
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if a is not None:
            names.add(a.arg)
    for node in _walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not func:
            names.add(node.name)
    return names


class _Writer:
    """Writes a normalised text of a function body without copying the tree.

    Local names (parameters, assigned names, nested defs, handler names) become placeholders numbered in
    order of first appearance; non-trivial literal values become their type; f-strings keep only their
    expressions; annotations are dropped; everything else is kept with its structure.
    """

    __slots__ = ("local", "mapping", "out", "statements")

    def __init__(self, local: set[str]) -> None:
        self.local = local
        self.mapping: dict[str, str] = {}
        self.out: list[str] = []
        self.statements = 0

    def name(self, name: str) -> str:
        if name not in self.local:
            return name
        found = self.mapping.get(name)
        if found is None:
            found = self.mapping[name] = f"_v{len(self.mapping)}"
        return found

    def write(self, node: ast.AST) -> None:
        out = self.out
        kind = type(node)
        if isinstance(node, ast.stmt):
            self.statements += 1
        if kind is ast.Name:
            out.append("N:" + self.name(node.id))  # type: ignore[attr-defined]
            return
        if kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            out.append("C:" + (repr(value) if isinstance(value, _KEEP_CONSTANTS) else type(value).__name__))
            return
        if kind is ast.arg:
            out.append("A:" + self.name(node.arg))  # type: ignore[attr-defined]
            return
        if kind is ast.JoinedStr:
            out.append("J(")
            for value in node.values:  # type: ignore[attr-defined]
                if not isinstance(value, ast.Constant):
                    self.write(value)
            out.append(")")
            return
        out.append(kind.__name__ + "(")
        for field in node._fields:
            if field in ("returns", "type_comment") and kind in (ast.FunctionDef, ast.AsyncFunctionDef):
                continue
            value = getattr(node, field, None)
            if field == "name" and kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ExceptHandler):
                out.append(self.name(value) if value else "-")
            elif isinstance(value, list):
                out.append("[")
                for item in value:
                    if isinstance(item, ast.AST):
                        self.write(item)
                    else:
                        out.append(repr(item))
                out.append("]")
            elif isinstance(value, ast.AST):
                if kind is ast.arg and field == "annotation":
                    continue
                self.write(value)
            else:
                out.append(repr(value))
        out.append(")")


def body_key(func: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, str]:
    """(statement count, digest of the normalised text) of the function's body without its docstring."""
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    writer = _Writer(_local_names(func))
    args = func.args
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if a is not None:
            writer.name(a.arg)  # parameters are numbered first; only the body is compared
    for stmt in body:
        writer.write(stmt)
    prefix = "async " if isinstance(func, ast.AsyncFunctionDef) else ""
    text = prefix + " ".join(writer.out)
    # a digest stands for the text: summaries stay small (and quick to load from the cache)
    return writer.statements, hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def normalised_body(func: ast.FunctionDef | ast.AsyncFunctionDef, min_statements: int) -> str | None:
    """The normalised text of the function's body, or None when it is shorter than ``min_statements``."""
    count, key = body_key(func)
    return key if count >= min_statements else None


def functions_of(tree: ast.Module):
    """Top-level functions and the methods of top-level classes (dunder methods excluded)."""
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


def _summary_body_keys(summary, tree: ast.Module) -> None:
    summary.body_keys = [(qualname, func.lineno, *body_key(func)) for qualname, func in functions_of(tree)]


SUMMARY_EXTRAS["body_keys"] = _summary_body_keys


def duplicated_helpers(index: "ProjectIndex", min_statements: int = 3) -> dict[Path, dict[str, list[Copy]]]:
    """path -> qualname -> the other copies (in other modules) of that function's body."""
    cache: dict[int, dict[Path, dict[str, list[Copy]]]] = getattr(index, _CACHE_ATTR, None) or {}
    if min_statements in cache:
        return cache[min_statements]
    refs = [r for r in index.all_modules() if r.summary.parsed and not is_test_path(r.path)]
    worlds = mirror_worlds(index, [r.path for r in refs])
    groups: dict[tuple[str, str], list[Copy]] = {}
    for ref in refs:
        label = module_label(index, ref.path)
        keys = ref.summary.body_keys
        if keys is None:  # summarised before anyone asked for bodies: parse again
            tree = ref.summary.tree
            if tree is None:
                continue
            keys = [(qualname, func.lineno, *body_key(func)) for qualname, func in functions_of(tree)]
            ref.summary.body_keys = keys
        for qualname, lineno, count, key in keys:
            if count < min_statements:
                continue
            groups.setdefault((worlds[ref.path], key), []).append(Copy(ref.path, qualname, lineno, f"{label}.{qualname}"))
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
