from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
from libcst.metadata import PositionProvider

from remediation_lint.analysis.import_graph import import_cycles
from remediation_lint.analysis.names import dotted_name
from remediation_lint.astcheck import AstChecker, char_column
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below."""

    def visit_Module(self, node: ast.Module) -> None:
        ctx = self.context
        project, ref = ctx.project, ctx.module_ref
        by_line: dict[int, list[str]] = {}
        if project is not None and ref is not None:
            for edge in import_cycles(project).get(ref.path, ()):
                by_line.setdefault(edge.lineno, []).append(edge.cycle)
        path = Path(ctx.path)
        stem = path.stem
        # a name can only mean this file when its last part is the file's (or its package's) name
        selves = {stem, path.parent.name}
        own: set[str] | None = None
        candidates: list[tuple[ast.stmt, list[str] | None]] = []
        for stmt in _all_module_imports(node.body):
            cycles = by_line.get(stmt.lineno)
            if cycles:
                candidates.append((stmt, cycles))
                continue
            names = [a.name for a in stmt.names] if isinstance(stmt, ast.Import) else [stmt.module or ""]
            if any(n.rsplit(".", 1)[-1] in selves for n in names):
                if own is None:
                    own = _own_names(ctx.path)
                if self._imports_itself(stmt, own):
                    candidates.append((stmt, None))
        if not candidates:
            return
        lines = ctx.lines
        # as LibCST's walk sees them: not inside a one-line block (``try: import x``)
        seen = {id(s) for s in _ast_module_imports(node.body, lines)}
        for stmt, cycles in candidates:
            if id(stmt) not in seen:
                continue
            if _shares_line(stmt, lines):
                self.defer()  # several statements on one line: LibCST reports the whole line
                return
            if cycles:
                for cycle in cycles:
                    self.report(stmt, cycle=cycle)
            else:
                self.report(stmt, cycle=f"{stem} -> {stem} (the module imports itself)")

    def _imports_itself(self, stmt: ast.Import | ast.ImportFrom, own: set[str]) -> bool:
        ctx = self.context
        project, ref = ctx.project, ctx.module_ref
        if isinstance(stmt, ast.Import):
            names = [a.name for a in stmt.names]
        elif not stmt.level and stmt.module:
            names = [stmt.module]
        else:
            names = []
        for name in names:
            if project is not None and ref is not None:
                target = project.resolve_module(name, ref.path)
                if target is not None and target.path == ref.path:
                    return True
            elif name in own:
                return True
        return False


def _before(stmt: ast.stmt, lines: list[str]) -> str:
    """The text of the statement's first line before the statement."""
    text = lines[stmt.lineno - 1] if 0 < stmt.lineno <= len(lines) else ""
    return text[: char_column(text, stmt.col_offset)]


def _shares_line(stmt: ast.stmt, lines: list[str]) -> bool:
    """``import a; x = 1`` or ``x = 1; import a``."""
    end = stmt.end_lineno or stmt.lineno
    text = lines[end - 1] if 0 < end <= len(lines) else ""
    after = text[char_column(text, stmt.end_col_offset or 0):].lstrip()
    return after.startswith(";") or bool(_before(stmt, lines).strip())


def _all_module_imports(statements: list[ast.stmt]):
    """Module-level imports, also inside top-level ``if``/``try``/``with`` blocks (one-line ones too)."""
    for stmt in statements:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            yield stmt
        elif isinstance(stmt, (ast.If, ast.Try, ast.With)) or type(stmt).__name__ == "TryStar":
            for block in (stmt.body, getattr(stmt, "orelse", None) or [], getattr(stmt, "finalbody", None) or []):
                yield from _all_module_imports(block)
            for handler in getattr(stmt, "handlers", ()) or ():
                yield from _all_module_imports(handler.body)


def _ast_module_imports(statements: list[ast.stmt], lines: list[str]):
    """Module-level imports, also inside top-level ``if``/``try``/``with`` blocks, as LibCST's walk sees
    them: a one-line block (``if x: import y``) is not looked into."""
    for stmt in statements:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            yield stmt
        elif isinstance(stmt, (ast.If, ast.Try, ast.With)) or type(stmt).__name__ == "TryStar":
            blocks = [stmt.body, getattr(stmt, "orelse", None) or [], getattr(stmt, "finalbody", None) or []]
            blocks += [handler.body for handler in getattr(stmt, "handlers", ()) or ()]
            for block in blocks:
                if block and not _before(block[0], lines).strip():
                    yield from _ast_module_imports(block, lines)


class ImportCycle(Rule):
    """Modules that import each other at module level: break the import cycle.

    ## What it does
    Builds the project's import graph from module-level imports (imports inside functions and under
    `if TYPE_CHECKING:` are not edges) and reports every import statement that is an edge of a cycle,
    naming the whole cycle (`tasker -> tasker.core.task_executor_main -> tasker`). Each participating
    import line is reported once per cycle.

    ## Why is this bad?
    A cycle makes the import order decide whether a name exists yet: whichever module is imported
    first sees the other half-initialised, so `from a import X` fails with a partially initialised
    module depending on the entry point. Cycles also make the modules impossible to test or reuse on
    their own. TASKER 2.0's review (critical item 2) found `tasker.py` and
    `tasker/core/task_executor_main.py` importing each other.

    ## Fix
    Move the code both sides need into a third module that imports neither (the plan's
    `tasker/core/shared_utilities.py`), depend on an interface instead of the concrete module, or import
    under `if TYPE_CHECKING:` when the name only serves annotations. Hiding the import inside a function
    removes the edge but is itself reported by RMD702.
    """

    code = "RMD703"
    ast_checker = _Fast
    name = "import-cycle"
    message = "import cycle {cycle}: move the shared code into a module both sides import"
    severity = Severity.CRITICAL
    provenance = (
        Provenance("003_a4879ce62f499f62.txt", "Critical priority, item 2 (tasker.py <-> task_executor_main.py circular import)", "tasker"),
    )
    triggers = (b"import",)
    needs_project = True
    limitations = (
        "Needs the whole project: the CLI indexes the project that contains each file (the nearest "
        "directory with pyproject.toml, setup.py, setup.cfg or .git). The flake8 plugin does the same, "
        "or uses `--rmd-project-root`; when flake8 is given a single file outside any project, only "
        "the modules next to it are indexed and cycles through other directories are not seen."
    )

    VALID = [
        Valid(
            """
            from tasker.core.shared_utilities import format_duration

            def report(seconds: float) -> str:
                return format_duration(seconds)
            """,
            filename="tasker.py",
        ),
        Valid(
            """
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from example import Runner

            def describe(runner: "Runner") -> str:
                return runner.name
            """,
            filename="helpers.py",
        ),
        Valid(
            """
            import os
            import json

            def load(path):
                return json.loads(open(os.path.join(path, "tasks.json")).read())
            """
        ),
        Valid(
            """
            def run():
                from example import main
                return main()
            """,
            filename="lazy.py",
        ),
    ]

    # A single example file cannot form a cycle with another module; an import of the module itself
    # is the one cycle a lone file can show (each example is indexed as its own project).
    INVALID = [
        Invalid(
            """
            import example

            VERSION = "2.0"
            """,
            line=1,
        ),
        Invalid(
            """
            from example import VERSION

            VERSION_INFO = tuple(VERSION.split("."))
            """,
        ),
        Invalid(
            """
            \"\"\"Task runner.\"\"\"
            import logging

            from example import TaskRunner

            class TaskRunner:
                pass
            """,
            line=4,
        ),
        Invalid(
            """
            import sys

            try:
                from example import fast_path
            except ImportError:
                fast_path = None
            """,
            line=4,
        ),
    ]

    def visit_Module(self, node: cst.Module) -> None:
        ctx = self.context
        project, ref = ctx.project, ctx.module_ref
        by_line: dict[int, list[str]] = {}
        if project is not None and ref is not None:
            for edge in import_cycles(project).get(ref.path, ()):
                by_line.setdefault(edge.lineno, []).append(edge.cycle)
        stem = Path(ctx.path).stem
        own = _own_names(ctx.path)
        for stmt in _module_imports(node):
            cycles = None
            if by_line:
                pos = ctx.metadata(PositionProvider, stmt)
                cycles = by_line.get(pos.start.line) if pos is not None else None
            if cycles:
                for cycle in cycles:
                    self.report(stmt, cycle=cycle)
            elif self._imports_itself(stmt, own):
                self.report(stmt, cycle=f"{stem} -> {stem} (the module imports itself)")

    def _imports_itself(self, stmt: cst.SimpleStatementLine, own: set[str]) -> bool:
        """``import me`` / ``from me import x`` in ``me.py`` (a cycle of one module)."""
        ctx = self.context
        project, ref = ctx.project, ctx.module_ref
        for small in stmt.body:
            names: list[str] = []
            if isinstance(small, cst.Import):
                names = [dotted_name(a.name) or "" for a in small.names]
            elif isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
                names = [dotted_name(small.module) or ""]
            for name in names:
                if project is not None and ref is not None:
                    target = project.resolve_module(name, ref.path)
                    if target is not None and target.path == ref.path:
                        return True
                elif name in own:
                    return True
        return False


def _own_names(path: str) -> set[str]:
    """Dotted names this file could be imported as, when it is not part of an indexed project."""
    parts = list(Path(path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        return set()
    return {".".join(parts[i:]) for i in range(len(parts)) if parts[i] not in ("", "/", ".", "..")}


def _module_imports(module: cst.Module):
    """Module-level import statements, also inside top-level ``if``/``try`` blocks (not in defs)."""

    def walk(statements):
        for stmt in statements:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        yield stmt
                        break
            elif isinstance(stmt, (cst.If, cst.Try, cst.With)) or type(stmt).__name__ == "TryStar":
                for attr in ("body", "orelse", "finalbody"):
                    part = getattr(stmt, attr, None)
                    if part is None:
                        continue
                    if isinstance(part, cst.If):
                        yield from walk([part])
                        continue
                    inner = getattr(part, "body", None)
                    if isinstance(inner, cst.IndentedBlock):
                        yield from walk(inner.body)
                    elif isinstance(inner, (list, tuple)):
                        yield from walk(inner)
                for handler in getattr(stmt, "handlers", ()) or ():
                    if isinstance(handler.body, cst.IndentedBlock):
                        yield from walk(handler.body.body)

    return walk(module.body)
