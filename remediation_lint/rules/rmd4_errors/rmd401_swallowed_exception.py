from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import child_nodes

import libcst as cst

from remediation_lint.analysis.names import ast_dotted
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import FixSafety, ImportSpec, Invalid, Provenance, Rule, Severity, Valid

BROAD = {"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"}


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        silent = all(
            isinstance(stmt, (ast.Pass, ast.Continue))
            or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis)
            for stmt in node.body
        )
        if node.type is None:
            if _ast_reraises(node.body):
                return
            what = "bare `except:` that does nothing" if silent else "bare `except:` also catches KeyboardInterrupt and SystemExit"
            self.report(node, what=what, fix=FixSafety.SAFE)
            return
        if not silent or not _ast_broad(node.type):
            return
        caught = "Exception" if isinstance(node.type, ast.Tuple) else (ast_dotted(node.type) or "Exception")
        # the LibCST fix rewrites an indented body only (not `except Exception: pass` on one line)
        one_line = node.body[0].lineno == (node.type.end_lineno or node.lineno)
        self.report(node, what=f"`except {caught}:` swallows every error silently", fix=None if one_line else FixSafety.UNSAFE)


def _ast_broad(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Tuple):
        return any(_ast_broad(el) for el in expr.elts)
    return ast_dotted(expr) in BROAD


def _ast_reraises(body: list[ast.stmt]) -> bool:
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Raise) and node.exc is None:
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        todo.extend(child_nodes(node))
    return False


class SwallowedException(Rule):
    """A bare `except:` or a broad handler whose body does nothing hides every error.

    ## What it does
    Finds bare `except:` handlers (unless they re-raise), and `except Exception:` /
    `except BaseException:` handlers whose whole body is `pass`, `...` or `continue`.

    ## Why is this bad?
    A bare `except:` also catches `KeyboardInterrupt` and `SystemExit`, and a silent broad handler
    turns `FileNotFoundError`, permission errors and plain bugs into nothing at all. The AI System's
    machine auto-detection (task 10) hid every failure this way, which made debugging impossible.

    ## Fix
    Catch the exceptions you expect (`subprocess.CalledProcessError`, `FileNotFoundError`), log what
    you catch with its traceback, and re-raise or return an explicit fallback.
    """

    code = "RMD401"
    ast_checker = _Fast
    name = "swallowed-exception"
    message = "{what}: catch the exceptions you expect and log or re-raise them"
    severity = Severity.MEDIUM
    provenance = (Provenance("004_96ea4b1ca927ab99.txt", "Phase 3, Task 10 (bare except: pass in machine auto-detection)", "ai_system"),)
    fix_safety = FixSafety.SAFE
    triggers = (b"except",)
    cwe = (396,)

    VALID = [
        Valid(
            """
            import logging
            import subprocess

            logger = logging.getLogger(__name__)

            def detect_gpu() -> str | None:
                try:
                    out = subprocess.check_output(["nvidia-smi", "-L"], timeout=5)
                except (subprocess.CalledProcessError, FileNotFoundError):
                    logger.exception("GPU detection failed")
                    return None
                return out.decode()
            """
        ),
        Valid(
            """
            def read(path):
                try:
                    return open(path).read()
                except Exception:
                    return ""
            """
        ),
        Valid(
            """
            def close(conn):
                try:
                    conn.close()
                except:
                    conn.abort()
                    raise
            """
        ),
        Valid(
            """
            import contextlib

            def cleanup(path):
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
            """
        ),
        Valid(
            """
            def parse(raw, log):
                try:
                    return int(raw)
                except Exception as exc:
                    log.warning("bad value %r: %s", raw, exc)
                    return None
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import subprocess

            def detect_machine():
                try:
                    return subprocess.check_output(["hostname"]).decode()
                except:
                    pass
            """,
            fixed="""
            import subprocess
            import logging

            logger = logging.getLogger(__name__)

            def detect_machine():
                try:
                    return subprocess.check_output(["hostname"]).decode()
                except Exception:
                    logger.exception("unexpected error, previously ignored")
            """,
            line=6,
        ),
        Invalid(
            """
            import logging

            log = logging.getLogger("agents")

            def process(items):
                for item in items:
                    try:
                        item.run()
                    except Exception:
                        continue
            """,
            fixed="""
            import logging

            log = logging.getLogger("agents")

            def process(items):
                for item in items:
                    try:
                        item.run()
                    except Exception:
                        log.exception("unexpected error, previously ignored")
                        continue
            """,
        ),
        Invalid(
            """
            class Detector:
                def probe(self):
                    try:
                        self.scan()
                    except BaseException as exc:
                        ...
            """,
            fixed="""
            import logging

            logger = logging.getLogger(__name__)

            class Detector:
                def probe(self):
                    try:
                        self.scan()
                    except BaseException as exc:
                        logger.exception("unexpected error, previously ignored")
            """,
        ),
        Invalid(
            """
            async def poll(client):
                try:
                    await client.ping()
                except:
                    return False
            """,
            fixed="""
            async def poll(client):
                try:
                    await client.ping()
                except Exception:
                    return False
            """,
        ),
        Invalid(
            """
            def load(path):
                try:
                    return open(path).read()
                except (OSError, Exception):
                    pass
            """,
            fixed="""
            import logging

            logger = logging.getLogger(__name__)

            def load(path):
                try:
                    return open(path).read()
                except (OSError, Exception):
                    logger.exception("unexpected error, previously ignored")
            """,
        ),
    ]

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        silent = _is_silent(node.body)
        if node.type is None:
            if _reraises(node.body):
                return
            what = "bare `except:` that does nothing" if silent else "bare `except:` also catches KeyboardInterrupt and SystemExit"
            replacement = node.with_changes(
                type=cst.Name("Exception"),
                whitespace_after_except=cst.SimpleWhitespace(" "),
            )
            self.report(node, what=what, fix=self.make_fix((node, replacement), safety=FixSafety.SAFE))
            return
        if not silent or not self._is_broad(node.type):
            return
        caught = self.context.dotted(node.type) or "Exception"
        if isinstance(node.type, cst.Tuple):
            caught = "Exception"
        self.report(node, what=f"`except {caught}:` swallows every error silently", fix=self._logging_fix(node))

    def _is_broad(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Tuple):
            return any(self._is_broad(el.value) for el in expr.elements)
        name = self.context.dotted(expr)
        return name in BROAD

    def _logger_name(self) -> tuple[str, bool]:
        """The module logger's name, and whether it must be created."""
        for stmt in self.context.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                    callee = self.context.call_name(small.value) or ""
                    if callee.endswith("getLogger") and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                        return small.targets[0].target.value, False
        return "logger", True

    def _logging_fix(self, node: cst.ExceptHandler):
        body = node.body
        if not isinstance(body, cst.IndentedBlock):
            return None
        name, create = self._logger_name()
        log_stmt = cst.parse_statement(f'{name}.exception("unexpected error, previously ignored")')
        statements = list(body.body)
        first = statements[0]
        keep = [s for s in statements if _is_continue(s)]
        if isinstance(first, cst.SimpleStatementLine):
            log_stmt = log_stmt.with_changes(leading_lines=first.leading_lines)
        new_body = body.with_changes(body=[log_stmt, *keep])
        replacement = node.with_changes(body=new_body)
        if create:
            return self.make_fix(
                (node, replacement),
                safety=FixSafety.UNSAFE,
                imports=[ImportSpec("logging")],
                prelude=[("logger", "logger = logging.getLogger(__name__)")],
            )
        return self.make_fix((node, replacement), safety=FixSafety.UNSAFE)


def _statements(body: cst.BaseSuite) -> list[cst.BaseSmallStatement]:
    if isinstance(body, cst.SimpleStatementSuite):
        return list(body.body)
    out: list[cst.BaseSmallStatement] = []
    for stmt in body.body:  # type: ignore[attr-defined]
        if not isinstance(stmt, cst.SimpleStatementLine):
            return []
        out.extend(stmt.body)
    return out


def _is_silent(body: cst.BaseSuite) -> bool:
    small = _statements(body)
    if not small:
        return False
    for stmt in small:
        if isinstance(stmt, (cst.Pass, cst.Continue)):
            continue
        if isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Ellipsis):
            continue
        return False
    return True


def _is_continue(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, cst.Continue) for s in stmt.body)


class _RaiseFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Raise(self, node: cst.Raise) -> None:
        if node.exc is None:
            self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def _reraises(body: cst.BaseSuite) -> bool:
    finder = _RaiseFinder()
    body.visit(finder)
    return finder.found
