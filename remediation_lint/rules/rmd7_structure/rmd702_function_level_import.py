from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst

from remediation_lint.analysis.import_graph import reaches
from remediation_lint.analysis.names import dotted_name
from remediation_lint.astcheck import AstChecker, char_column
from remediation_lint.rule import FixSafety, ImportSpec, Invalid, Provenance, Rule, Severity, Valid

OPTIONAL_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}


_AST_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (same decisions, fix availability included)."""

    _module_names: set[str] | None = None

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        ctx = self.context
        functions = [s for s in ctx.scopes if isinstance(s, _AST_FUNCTIONS)]
        if not functions:
            return
        entry = set(self.opts["entry_functions"])
        if any(f.name in entry for f in functions):
            return
        if self._guarded():
            return
        lines = ctx.lines
        end = node.end_lineno or node.lineno
        end_text = lines[end - 1] if 0 < end <= len(lines) else ""
        after = end_text[char_column(end_text, node.end_col_offset or 0):]
        first = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""
        before = first[: char_column(first, node.col_offset)]
        if after.lstrip().startswith(";"):
            self.defer()  # LibCST's text of the statement keeps the semicolon
            return
        func = functions[-1]
        cls = ctx.enclosing_class()
        where = f"{cls.name}.{func.name}()" if cls is not None and ctx.scopes[-2:-1] == [cls] else f"{func.name}()"
        where = ("method " if cls is not None else "function ") + where
        if node.lineno == end:
            text = first[char_column(first, node.col_offset) : char_column(first, node.end_col_offset or 0)]
        else:
            text = "\n".join(
                [first[char_column(first, node.col_offset):], *lines[node.lineno : end - 1], end_text[: char_column(end_text, node.end_col_offset or 0)]]
            )
        fixable = (
            ctx.parent() is func
            and not before.strip()  # alone on its line, in an indented body
            and self._specs_ok(node)
            and not self._closes_cycle(node)
        )
        self.report(node, stmt=" ".join(text.split()), where=where, fix=self.rule.fix_safety if fixable else None)

    visit_ImportFrom = visit_Import

    def _guarded(self) -> bool:
        stack = self.context.stack
        for i in range(len(stack) - 2, -1, -1):
            anc = stack[i]
            if isinstance(anc, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                return False
            child = stack[i + 1]
            in_body = any(s is child for s in getattr(anc, "body", ()) or ())
            if isinstance(anc, ast.If) and in_body and _is_type_checking_ast(anc.test):
                return True
            if isinstance(anc, ast.Try) and in_body:
                if any(_handles_import_error_ast(h) for h in anc.handlers):
                    return True
        return False

    def _specs_ok(self, node: ast.Import | ast.ImportFrom) -> bool:
        if self._module_names is None:
            self._module_names = _ast_module_bindings(self.context.tree.body, self.context.lines)
        bound = self._module_names
        imports = self.context.imports
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is not None or "." in alias.name:
                    return False
                if alias.name in bound and imports.qualify(alias.name) != alias.name:
                    return False
            return True
        if node.level or node.module is None or node.module == "__future__":
            return False
        for alias in node.names:
            if alias.name == "*" or alias.asname is not None:
                return False
            if alias.name in bound and imports.qualify(alias.name) != f"{node.module}.{alias.name}":
                return False
        return True

    def _closes_cycle(self, node: ast.Import | ast.ImportFrom) -> bool:
        ctx = self.context
        project = ctx.project
        ref = ctx.module_ref
        if project is None or ref is None:
            return False
        targets: list[Path] = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                found = project.resolve_module(alias.name, ref.path)
                if found is not None:
                    targets.append(found.path)
        else:
            module = node.module or ""
            found = project.resolve_module(module, ref.path)
            if found is not None:
                targets.append(found.path)
            for alias in node.names:
                if alias.name == "*":
                    break
                sub = project.resolve_module(f"{module}.{alias.name}", ref.path)
                if sub is not None:
                    targets.append(sub.path)
        for target in targets:
            if target == ref.path or reaches(project, target, ref.path) is not None:
                return True
        return False


def _is_type_checking_ast(test: ast.expr) -> bool:
    from remediation_lint.analysis.names import ast_dotted

    name = ast_dotted(test)
    return name is not None and name.rsplit(".", 1)[-1] == "TYPE_CHECKING"


def _handles_import_error_ast(handler: ast.ExceptHandler) -> bool:
    from remediation_lint.analysis.names import ast_dotted

    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any((ast_dotted(t) or "").rsplit(".", 1)[-1] in OPTIONAL_IMPORT_ERRORS for t in types)


def _ast_module_bindings(body: list[ast.stmt], lines: list[str]) -> set[str]:
    """``_module_bindings`` on the ``ast``, with the same reach: bodies of top-level compound statements,
    not one-line suites, only the first branch of an ``elif`` chain, not ``try/except*``."""
    bound: set[str] = set()

    def add_target(target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            bound.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for el in target.elts:
                add_target(el.value if isinstance(el, ast.Starred) else el)

    def indented(block: list[ast.stmt]) -> bool:
        if not block:
            return False
        text = lines[block[0].lineno - 1] if 0 < block[0].lineno <= len(lines) else ""
        return not text[: char_column(text, block[0].col_offset)].strip()

    def walk(statements: list[ast.stmt]) -> None:
        for stmt in statements:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(stmt.name)
            elif isinstance(stmt, ast.Assign):
                for t in stmt.targets:
                    add_target(t)
            elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
                add_target(stmt.target)
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    bound.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(stmt, ast.ImportFrom):
                for alias in stmt.names:
                    if alias.name == "*":
                        break
                    bound.add(alias.asname or alias.name)
            elif isinstance(stmt, (ast.If, ast.Try, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)):
                if indented(stmt.body):
                    walk(stmt.body)
                orelse = getattr(stmt, "orelse", None) or []
                if orelse and indented(orelse):
                    first = orelse[0]
                    if isinstance(stmt, ast.If) and len(orelse) == 1 and isinstance(first, ast.If) and _is_elif(first, lines):
                        # LibCST's walk takes an elif's indented body, not its branches (all of it
                        # when the body is a one-line suite)
                        walk(first.body if indented(first.body) else [first])
                    else:
                        walk(orelse)
                final = getattr(stmt, "finalbody", None) or []
                if indented(final):
                    walk(final)
                for handler in getattr(stmt, "handlers", ()) or ():
                    if indented(handler.body):
                        walk(handler.body)

    walk(body)
    return bound


def _is_elif(node: ast.If, lines: list[str]) -> bool:
    text = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""
    return text[char_column(text, node.col_offset):].startswith("elif")


class FunctionLevelImport(Rule):
    """An `import` inside a function or method: import at the top of the module.

    ## What it does
    Finds `import x` and `from x import y` statements inside a function or method. Imports under
    `if TYPE_CHECKING:`, inside a `try:` whose handler catches `ImportError`/`ModuleNotFoundError`
    (optional dependencies), in entry-point functions such as `main()` (the `entry_functions` option)
    and in a module's lazy `__getattr__` are left alone.

    ## Why is this bad?
    A function-level import hides a module's real dependencies, delays import errors until the code path
    runs (often in production), costs a lookup on every call and usually papers over an import cycle
    instead of fixing it. khala's SurrealDB client imported `khala.domain.memory.entities` inside its
    methods (medium item 2), and the Orchestration Engine's project routes imported
    `backend.services.planner` inside the handlers instead of injecting the planner (plan item 6.3).

    ## Fix
    Move the import to the module's import block; when it exists to break an import cycle, move the
    shared code into a module both sides can import, inject the dependency, or import under
    `if TYPE_CHECKING:` when it only serves annotations.

    ## Fix safety
    Unsafe: importing at module load changes when the imported module's side effects run and when an
    import error surfaces. The fix only hoists plain `import x` and `from x import a, b` statements that
    sit directly in the function body, when no other module-level name would be shadowed, and it is not
    offered when the project's import graph shows that the hoisted import would close an import cycle.
    """

    code = "RMD702"
    ast_checker = _Fast
    name = "function-level-import"
    message = "`{stmt}` inside {where}: import at the top of the module (or inject the dependency)"
    severity = Severity.MEDIUM
    provenance = (
        Provenance("000_18f8732ba4a86cc0.txt", "MEDIUM, item 2 (local imports of khala.domain.memory.entities in the SurrealDB client)", "khala"),
        Provenance("001_0845f576a88221b4.txt", "Phase 6, item 6.3 (inline planner/decomposer imports in route handlers)", "orchestration_engine"),
    )
    fix_safety = FixSafety.UNSAFE
    triggers = (b"import",)
    needs_project = True
    options = {"entry_functions": ("main", "cli", "entrypoint", "__getattr__", "__dir__")}
    option_docs = {"entry_functions": "functions whose imports are deliberate (entry points, lazy module attributes)"}

    limitations = (
        "The Semgrep twin `rmd702-function-level-import` knows only the default `entry_functions`."
    )

    VALID = [
        Valid(
            """
            from backend.services.planner import generate_plan

            async def plan_project(project_id: str) -> dict:
                return await generate_plan(project_id)
            """
        ),
        Valid(
            """
            from typing import TYPE_CHECKING

            def describe(memory):
                if TYPE_CHECKING:
                    from khala.domain.memory.entities import Memory
                return str(memory)
            """
        ),
        Valid(
            """
            def load_yaml(path):
                try:
                    import yaml
                except ImportError:
                    return None
                with open(path) as handle:
                    return yaml.safe_load(handle)
            """
        ),
        Valid(
            """
            import sys

            def main(argv=None) -> int:
                import argparse

                parser = argparse.ArgumentParser()
                parser.add_argument("path")
                return 0

            if __name__ == "__main__":
                sys.exit(main())
            """
        ),
        Valid(
            """
            def __getattr__(name):
                if name == "heavy":
                    import importlib
                    return importlib.import_module(".heavy", __name__)
                raise AttributeError(name)
            """
        ),
        Valid(
            """
            def run(argv):
                import click

                return click.echo(argv)
            """,
            options={"entry_functions": ("run",)},
        ),
    ]

    INVALID = [
        Invalid(
            """
            from fastapi import APIRouter

            router = APIRouter()

            @router.post("/{project_id}/plan")
            async def plan_project(project_id: str) -> dict:
                from backend.services.planner import generate_plan

                return await generate_plan(project_id)
            """,
            fixed="""
            from fastapi import APIRouter
            from backend.services.planner import generate_plan

            router = APIRouter()

            @router.post("/{project_id}/plan")
            async def plan_project(project_id: str) -> dict:
                return await generate_plan(project_id)
            """,
            line=7,
        ),
        Invalid(
            """
            from khala.domain.memory.entities import Memory

            class SurrealDBClient:
                def _to_entity(self, row: dict) -> Memory:
                    from khala.domain.memory.entities import Memory, MemoryTier
                    return Memory(tier=MemoryTier(row["tier"]), **row)
            """,
            fixed="""
            from khala.domain.memory.entities import Memory, MemoryTier

            class SurrealDBClient:
                def _to_entity(self, row: dict) -> Memory:
                    return Memory(tier=MemoryTier(row["tier"]), **row)
            """,
            line=5,
        ),
        Invalid(
            """
            import logging

            def checksum(data: bytes) -> str:
                import hashlib
                return hashlib.sha256(data).hexdigest()
            """,
            fixed="""
            import logging
            import hashlib

            def checksum(data: bytes) -> str:
                return hashlib.sha256(data).hexdigest()
            """,
        ),
        Invalid(
            """
            def render(rows):
                import numpy as np
                return np.array(rows)
            """,
        ),
        Invalid(
            """
            import sys

            class Exporter:
                def export(self, rows):
                    if sys.platform != "win32":
                        from csv import writer
                        return writer(sys.stdout).writerows(rows)
                    return None
            """,
            line=6,
        ),
        Invalid(
            """
            def ping():
                import socket
            """,
            fixed="""
            import socket

            def ping():
                pass
            """,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._module_names: set[str] | None = None

    def visit_Import(self, node: cst.Import) -> None:
        self._check(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._check(node)

    # -- detection -----------------------------------------------------------------------------------
    def _check(self, node: cst.Import | cst.ImportFrom) -> None:
        ctx = self.context
        functions = [s for s in ctx.scopes if isinstance(s, cst.FunctionDef)]
        if not functions:
            return
        entry = set(self.opts["entry_functions"])
        if any(f.name.value in entry for f in functions):
            return
        if self._guarded(node):
            return
        func = functions[-1]
        cls = ctx.enclosing_class()
        where = f"{cls.name.value}.{func.name.value}()" if cls is not None and ctx.scopes[-2:-1] == [cls] else f"{func.name.value}()"
        where = ("method " if cls is not None else "function ") + where
        stmt = ctx.module.code_for_node(node).strip()
        self.report(node, stmt=" ".join(stmt.split()), where=where, fix=self._fix(node, func))

    def _guarded(self, node: cst.CSTNode) -> bool:
        """Under ``if TYPE_CHECKING:`` or in a ``try:`` that handles ImportError."""
        stack = self.context.stack
        for i in range(len(stack) - 2, -1, -1):
            anc = stack[i]
            if isinstance(anc, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return False
            if isinstance(anc, cst.If) and stack[i + 1] is anc.body and _is_type_checking(anc.test):
                return True
            if isinstance(anc, cst.Try) and stack[i + 1] is anc.body:
                if any(_handles_import_error(h) for h in anc.handlers):
                    return True
        return False

    # -- the fix -------------------------------------------------------------------------------------
    def _fix(self, node: cst.Import | cst.ImportFrom, func: cst.FunctionDef):
        ctx = self.context
        stack = ctx.stack
        # the import's line must sit directly in the function body
        if len(stack) < 4 or not isinstance(stack[-2], cst.SimpleStatementLine):
            return None
        line, block = stack[-2], stack[-3]
        if not (isinstance(block, cst.IndentedBlock) and stack[-4] is func) or len(line.body) != 1:
            return None
        specs = self._specs(node)
        if specs is None:
            return None
        if self._closes_cycle(node):
            return None
        index = next(i for i, s in enumerate(block.body) if s is line)
        return self.make_fix((block, lambda updated: _without(updated, index)), imports=specs)

    def _specs(self, node: cst.Import | cst.ImportFrom) -> list[ImportSpec] | None:
        bound = self._bound_at_module_level()
        ctx = self.context
        if isinstance(node, cst.Import):
            specs = []
            for alias in node.names:
                name = dotted_name(alias.name)
                if alias.asname is not None or name is None or "." in name:
                    return None
                if name in bound and ctx.imports.qualify(name) != name:
                    return None
                specs.append(ImportSpec(name))
            return specs
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return None
        module = dotted_name(node.module)
        if module is None or module == "__future__":
            return None
        specs = []
        for alias in node.names:
            if alias.asname is not None or not isinstance(alias.name, cst.Name):
                return None
            name = alias.name.value
            if name in bound and ctx.imports.qualify(name) != f"{module}.{name}":
                return None
            specs.append(ImportSpec(module, name))
        return specs

    def _bound_at_module_level(self) -> set[str]:
        if self._module_names is None:
            self._module_names = _module_bindings(self.context.module)
        return self._module_names

    def _closes_cycle(self, node: cst.Import | cst.ImportFrom) -> bool:
        """True when the imported module already imports this one (or the project cannot tell)."""
        ctx = self.context
        project = ctx.project
        ref = ctx.module_ref
        if project is None or ref is None:
            return False
        targets: list[Path] = []
        if isinstance(node, cst.Import):
            for alias in node.names:
                found = project.resolve_module(dotted_name(alias.name) or "", ref.path)
                if found is not None:
                    targets.append(found.path)
        else:
            module = dotted_name(node.module) or ""
            found = project.resolve_module(module, ref.path)
            if found is not None:
                targets.append(found.path)
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    sub = project.resolve_module(f"{module}.{dotted_name(alias.name)}", ref.path)
                    if sub is not None:
                        targets.append(sub.path)
        for target in targets:
            if target == ref.path or reaches(project, target, ref.path) is not None:
                return True
        return False


def _without(block: cst.IndentedBlock, index: int) -> cst.IndentedBlock:
    """The block without its statement at ``index``; ``pass`` when nothing else is left."""
    statements = list(block.body)
    removed = statements.pop(index)
    if not statements:
        return block.with_changes(body=[cst.SimpleStatementLine([cst.Pass()], leading_lines=removed.leading_lines)])
    if index < len(statements):
        following = statements[index]
        leading = list(following.leading_lines)
        if index == 0:
            # the blank line that separated the import from the code goes with it
            while leading and leading[0].comment is None:
                leading.pop(0)
        statements[index] = following.with_changes(leading_lines=[*removed.leading_lines, *leading])
    return block.with_changes(body=statements)


def _is_type_checking(test: cst.BaseExpression) -> bool:
    name = dotted_name(test)
    return name is not None and name.rsplit(".", 1)[-1] == "TYPE_CHECKING"


def _handles_import_error(handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = [el.value for el in handler.type.elements] if isinstance(handler.type, cst.Tuple) else [handler.type]
    return any((dotted_name(t) or "").rsplit(".", 1)[-1] in OPTIONAL_IMPORT_ERRORS for t in types)


def _module_bindings(module: cst.Module) -> set[str]:
    bound: set[str] = set()

    def add_target(target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            bound.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                add_target(el.value)

    def walk(statements) -> None:
        for stmt in statements:
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                bound.add(stmt.name.value)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign):
                        for t in small.targets:
                            add_target(t.target)
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        add_target(small.target)
                    elif isinstance(small, cst.Import):
                        for alias in small.names:
                            local = alias.asname.name if alias.asname else alias.name
                            bound.add((dotted_name(local) or "").split(".")[0])
                    elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                        for alias in small.names:
                            local = alias.asname.name if alias.asname else alias.name
                            bound.add(dotted_name(local) or "")
            elif isinstance(stmt, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
                for attr in ("body", "orelse", "finalbody"):
                    part = getattr(stmt, attr, None)
                    if part is None:
                        continue
                    inner = getattr(part, "body", None)
                    if isinstance(inner, cst.IndentedBlock):
                        walk(inner.body)
                    elif isinstance(inner, (list, tuple)):
                        walk(inner)
                    elif isinstance(part, cst.If):
                        walk([part])
                for handler in getattr(stmt, "handlers", ()) or ():
                    if isinstance(handler.body, cst.IndentedBlock):
                        walk(handler.body.body)

    walk(module.body)
    return bound

