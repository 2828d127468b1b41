"""Fix application: non-overlapping node replacements, needed imports, verification, atomic writes.

A fix is applied only if the whole file still parses (LibCST, and CPython's own parser when the original
parsed with it). Fixes whose target nodes overlap are deferred to the next round; the engine repeats
rounds until nothing more applies, which also makes ``--fix`` idempotent.
"""

from __future__ import annotations

import ast
import os
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

import libcst as cst

from remediation_lint.analysis.names import ImportMap, dotted_name
from remediation_lint.rule import Fix, ImportSpec


class _TargetCollector(cst.CSTVisitor):
    """Finds which fix targets sit inside other fix targets."""

    def __init__(self, owner: dict[int, int]) -> None:
        self.owner = owner  # id(node) -> fix index
        self.open: list[int] = []
        self.conflicts: set[tuple[int, int]] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        fix_index = self.owner.get(id(node))
        if fix_index is not None:
            for outer in self.open:
                if outer != fix_index:
                    self.conflicts.add((min(outer, fix_index), max(outer, fix_index)))
            self.open.append(fix_index)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.owner.get(id(original_node)) is not None:
            self.open.pop()

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


class _Replacer(cst.CSTTransformer):
    def __init__(self, mapping: dict[int, Any]) -> None:
        self.mapping = mapping

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        replacement = self.mapping.get(id(original_node))
        if replacement is None:
            return updated_node
        if callable(replacement) and not isinstance(replacement, cst.CSTNode):
            return replacement(updated_node)
        return replacement

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


def select_non_overlapping(module: cst.Module, fixes: Sequence[Fix]) -> list[Fix]:
    """Fixes in order, dropping any whose targets overlap (contain or sit inside) an earlier one."""
    owner: dict[int, int] = {}
    duplicate: set[int] = set()
    for index, fix in enumerate(fixes):
        for node, _ in fix.replacements:
            if id(node) in owner and owner[id(node)] != index:
                duplicate.add(index)
            else:
                owner[id(node)] = index
    collector = _TargetCollector(owner)
    module.visit(collector)
    rejected: set[int] = set(duplicate)
    for a, b in sorted(collector.conflicts):
        if a not in rejected:
            rejected.add(b)
    return [fix for i, fix in enumerate(fixes) if i not in rejected]


def apply_fixes(module: cst.Module, fixes: Sequence[Fix]) -> cst.Module:
    mapping: dict[int, Any] = {}
    for fix in fixes:
        for node, replacement in fix.replacements:
            mapping[id(node)] = replacement
    new = module.visit(_Replacer(mapping)) if mapping else module
    assert isinstance(new, cst.Module)
    imports: list[ImportSpec] = []
    prelude: list[tuple[str, str]] = []
    for fix in fixes:
        imports.extend(i for i in fix.imports if i not in imports)
        prelude.extend(p for p in fix.prelude if p not in prelude)
    if imports:
        new = add_imports(new, imports)
    if prelude:
        new = add_prelude(new, prelude)
    return new


# -- imports -----------------------------------------------------------------------------------------
def _is_import_line(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _import_block_end(body: Sequence[cst.CSTNode]) -> int:
    """Index after the module's leading block of docstring, imports and ``if TYPE_CHECKING`` imports."""
    end = 0
    for i, stmt in enumerate(body):
        if i == 0 and _is_docstring(stmt):
            end = 1
            continue
        if _is_import_line(stmt):
            end = i + 1
            continue
        if isinstance(stmt, (cst.If, cst.Try)) and all(
            _is_import_line(s) for s in getattr(stmt.body, "body", [])
        ):
            end = i + 1
            continue
        break
    return end


def _future_end(body: Sequence[cst.CSTNode]) -> int:
    end = 0
    for i, stmt in enumerate(body):
        if i == 0 and _is_docstring(stmt):
            end = 1
        elif _is_import_line(stmt) and any(
            isinstance(s, cst.ImportFrom) and dotted_name(s.module) == "__future__" for s in stmt.body  # type: ignore[union-attr]
        ):
            end = i + 1
        elif end or i == 0:
            break
    return end


def add_imports(module: cst.Module, specs: Iterable[ImportSpec]) -> cst.Module:
    current = ImportMap()
    current.add_all(module.body)
    body = list(module.body)
    for spec in specs:
        if spec.name is None:
            if spec.module.split(".")[0] in current and current.qualify(spec.module.split(".")[0]) == spec.module.split(".")[0]:
                continue
            new_stmt: cst.CSTNode = cst.parse_statement(f"import {spec.module}")
        else:
            if current.qualify(spec.name) == f"{spec.module}.{spec.name}":
                continue
            merged = _merge_from_import(body, spec)
            if merged is not None:
                body = merged
                current = ImportMap()
                current.add_all(body)
                continue
            new_stmt = cst.parse_statement(f"from {spec.module} import {spec.name}")
        at = _import_block_end(body)
        if at == 0 or (at == 1 and _is_docstring(body[0])):
            at = max(at, _future_end(body))
        if at > 0 and not _is_import_line(body[at - 1]):
            new_stmt = new_stmt.with_changes(leading_lines=[cst.EmptyLine()])
        body.insert(at, new_stmt)
        _separate(body, at + 1)
        current = ImportMap()
        current.add_all(body)
    return module.with_changes(body=body)


def _merge_from_import(body: list[cst.CSTNode], spec: ImportSpec) -> list[cst.CSTNode] | None:
    for index, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        imp = stmt.body[0]
        if not isinstance(imp, cst.ImportFrom) or imp.relative or isinstance(imp.names, cst.ImportStar):
            continue
        if dotted_name(imp.module) != spec.module:
            continue
        names = list(imp.names)
        last = names[-1]
        if last.comma is cst.MaybeSentinel.DEFAULT or last.comma is None:  # type: ignore[comparison-overlap]
            names[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            names.append(cst.ImportAlias(name=cst.Name(spec.name or "")))
        else:
            # keep the existing trailing-comma style
            names.append(cst.ImportAlias(name=cst.Name(spec.name or ""), comma=last.comma))
        new_imp = imp.with_changes(names=names)
        body = list(body)
        body[index] = stmt.with_changes(body=[new_imp])
        return body
    return None


def _separate(body: list[cst.CSTNode], index: int) -> None:
    """Give the statement after an insertion a blank line above it unless it is an import."""
    if index < len(body):
        nxt = body[index]
        if not _is_import_line(nxt) and not getattr(nxt, "leading_lines", True):
            body[index] = nxt.with_changes(leading_lines=[cst.EmptyLine()])


def add_prelude(module: cst.Module, prelude: Iterable[tuple[str, str]]) -> cst.Module:
    """Insert ``(name, statement)`` pairs after the import block, in order, unless ``name`` is bound."""
    body = list(module.body)
    bound: set[str] = set()
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)):
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    bound.update(t.value for t in targets if isinstance(t, cst.Name))
    at = _import_block_end(body)
    first = True
    for name, code in prelude:
        if name in bound:
            continue
        stmt = cst.parse_statement(code)
        if first and at > 0:
            stmt = stmt.with_changes(leading_lines=[cst.EmptyLine()])
        body.insert(at, stmt)
        at += 1
        first = False
        bound.add(name)
    if not first:
        _separate(body, at)
    return module.with_changes(body=body)


# -- verification ------------------------------------------------------------------------------------
def parses(code: bytes, original_parsed_with_ast: bool) -> str | None:
    """None when the code parses; the reason otherwise."""
    try:
        cst.parse_module(code)
    except Exception as exc:  # LibCST raises several error types
        return f"LibCST: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    if original_parsed_with_ast:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(code)
        except (SyntaxError, ValueError) as exc:
            return f"Python: {exc}"
    return None


# -- writing -----------------------------------------------------------------------------------------
class StaleFileError(Exception):
    """The file changed on disk after it was read; the fix is not written."""


def write_atomic(path: Path, data: bytes, expected_original: bytes | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename in the same directory.

    Keeps the file mode. When ``expected_original`` is given and the file on disk no longer holds it,
    nothing is written (``StaleFileError``). A symlink is written through to its target.
    """
    target = Path(os.path.realpath(path))
    try:
        st = os.stat(target)
    except OSError:
        st = None
    if expected_original is not None:
        try:
            current = target.read_bytes()
        except OSError as exc:
            raise StaleFileError(f"{path}: cannot re-read before writing ({exc.strerror})") from None
        if current != expected_original:
            raise StaleFileError(f"{path}: changed on disk since it was read; fix not written")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".rmd-tmp", dir=str(target.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except (PermissionError, OSError):
                pass
        if expected_original is not None:
            # last look: a writer that came in while we wrote the temporary file wins
            if target.read_bytes() != expected_original:
                raise StaleFileError(f"{path}: changed on disk since it was read; fix not written")
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
