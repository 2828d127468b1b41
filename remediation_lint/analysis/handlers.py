"""Questions about exception handlers: is the caught type broad, does a statement only log.

Shared by the error-handling rules (RMD402, RMD403, RMD404). Everything here works on one handler or
one statement list; nothing walks the module.
"""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from remediation_lint.analysis.names import dotted_name

BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"})

#: method names of logger objects (``logger.warning``), ``logging.<x>`` module functions included
LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg"}
)
#: receivers that are loggers: ``logger``, ``log``, ``self.logger``, ``self._log``, ``logging``, ``structlog``
LOGGER_HINTS = ("log", "logger", "logging", "_log", "_logger", "structlog")


def is_broad(expr: cst.BaseExpression | None) -> bool:
    """A bare handler (None), ``Exception``/``BaseException``, or a tuple holding one of them."""
    if expr is None:
        return True
    if isinstance(expr, cst.Tuple):
        return any(is_broad(el.value) for el in expr.elements)
    return dotted_name(expr) in BROAD_EXCEPTIONS


def caught_text(expr: cst.BaseExpression | None) -> str:
    if expr is None:
        return "except:"
    if isinstance(expr, cst.Tuple):
        return "except (...):"
    return f"except {dotted_name(expr) or '...'}:"


def is_logging_call(expr: cst.BaseExpression) -> bool:
    """``logger.warning(...)``, ``self.log.error(...)``, ``logging.exception(...)``, ``print(...)``,
    ``warnings.warn(...)``, ``traceback.print_exc()``."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    if not isinstance(expr, cst.Call):
        return False
    name = dotted_name(expr.func)
    if name is None:
        return False
    if name in {"print", "warnings.warn", "traceback.print_exc", "warn"}:
        return True
    if "." not in name:
        return False
    receiver, method = name.rsplit(".", 1)
    if method not in LOG_METHODS:
        return False
    last = receiver.rsplit(".", 1)[-1].lower()
    return any(last == hint or last.endswith(hint) for hint in LOGGER_HINTS)


def small_statements(body: cst.BaseSuite) -> list[cst.BaseSmallStatement] | None:
    """The simple statements of a suite, or None when it holds a compound statement."""
    if isinstance(body, cst.SimpleStatementSuite):
        return list(body.body)
    out: list[cst.BaseSmallStatement] = []
    for stmt in body.body:  # type: ignore[attr-defined]
        if not isinstance(stmt, cst.SimpleStatementLine):
            return None
        out.extend(stmt.body)
    return out


def is_silent_statement(stmt: cst.BaseSmallStatement) -> bool:
    if isinstance(stmt, (cst.Pass, cst.Continue)):
        return True
    return isinstance(stmt, cst.Expr) and isinstance(stmt.value, (cst.Ellipsis, cst.SimpleString))


def only_logs_and_moves_on(body: cst.BaseSuite) -> tuple[bool, bool]:
    """(whether the handler body only logs / passes / continues, whether it logs at all)."""
    small = small_statements(body)
    if not small:
        return False, False
    logs = False
    for stmt in small:
        if is_silent_statement(stmt):
            continue
        if isinstance(stmt, cst.Expr) and is_logging_call(stmt.value):
            logs = True
            continue
        return False, logs
    return True, logs


def handler_names(ancestors: Iterable[cst.CSTNode]) -> set[str]:
    """Names bound by ``except ... as name`` handlers enclosing the current node (within its function)."""
    names: set[str] = set()
    for node in ancestors:
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            break
        if isinstance(node, cst.ExceptHandler) and node.name is not None and isinstance(node.name.name, cst.Name):
            names.add(node.name.name.value)
    return names
