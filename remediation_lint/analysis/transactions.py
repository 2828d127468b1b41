"""Whether code runs inside a transaction or a lock: ``async with db.transaction()``, ``session.begin()``,
``transaction.atomic()``, ``with conn:`` (sqlite3), ``async with self._lock:``, ``lock.acquire()``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name

if TYPE_CHECKING:  # pragma: no cover
    import ast

TRANSACTION_CALLS = frozenset({"transaction", "begin", "begin_nested", "atomic", "transactional", "savepoint", "start_transaction"})
#: a semaphore admits several holders, so it does not make a check and a write atomic
_LOCKISH = re.compile(r"(^|_)(lock|locks|mutex|rlock)$|lock$", re.I)
_CONNISH = re.compile(r"(^|_)(conn|connection|db|database|session|tx|txn|transaction|cursor)$", re.I)


def protects(expr: cst.BaseExpression) -> bool:
    """True when ``with <expr>:`` opens a transaction or holds a lock."""
    if isinstance(expr, cst.Call):
        name = dotted_name(expr.func) or ""
        last = name.rsplit(".", 1)[-1]
        if last in TRANSACTION_CALLS or last == "acquire" or _LOCKISH.search(last):
            return True
        # ``with self._lock_for(key):`` / ``with locks[key]:`` handled below; other calls are not protection
        return last in {"Lock", "RLock"}
    if isinstance(expr, cst.Subscript):
        return protects(expr.value)
    name = dotted_name(expr)
    if name is None:
        return False
    last = name.rsplit(".", 1)[-1]
    return bool(_LOCKISH.search(last) or _CONNISH.search(last))


def with_protects(node: cst.With) -> bool:
    return any(protects(item.item) for item in node.items)


def decorated_transactional(func: cst.FunctionDef) -> bool:
    """``@transaction.atomic`` / ``@db.transaction()`` / ``@transactional`` on a function."""
    for dec in func.decorators:
        expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        last = (dotted_name(expr) or "").rsplit(".", 1)[-1]
        if last in TRANSACTION_CALLS or _LOCKISH.search(last) or last in {"synchronized", "with_lock"}:
            return True
    return False


def protected(ancestors: Iterable[cst.CSTNode]) -> cst.With | None:
    """The innermost protecting ``with`` among ``ancestors`` (innermost first), or None."""
    for node in ancestors:
        if isinstance(node, cst.With) and with_protects(node):
            return node
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return None
    return None


def opens_transaction(expr: cst.BaseExpression) -> bool:
    """``with <expr>:`` makes the block atomic (a transaction, not merely a lock)."""
    if isinstance(expr, cst.Call):
        last = (dotted_name(expr.func) or "").rsplit(".", 1)[-1]
        return last in TRANSACTION_CALLS
    name = dotted_name(expr)
    return bool(name) and bool(_CONNISH.search(name.rsplit(".", 1)[-1]))  # type: ignore[union-attr]


def in_transaction(ancestors: Iterable[cst.CSTNode]) -> bool:
    """True when one of ``ancestors`` (innermost first, stopping at the function) opens a transaction."""
    for node in ancestors:
        if isinstance(node, cst.With) and any(opens_transaction(item.item) for item in node.items):
            return True
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
    return False


# -- the fast path's twins (standard-library ``ast``) ------------------------------------------------
def ast_decorated_transactional(func: "ast.FunctionDef | ast.AsyncFunctionDef") -> bool:
    """``decorated_transactional`` on an ``ast`` def."""
    import ast

    for dec in func.decorator_list:
        expr = dec.func if isinstance(dec, ast.Call) else dec
        last = (ast_dotted(expr) or "").rsplit(".", 1)[-1]
        if last in TRANSACTION_CALLS or _LOCKISH.search(last) or last in {"synchronized", "with_lock"}:
            return True
    return False


def ast_opens_transaction(expr: "ast.AST") -> bool:
    """``opens_transaction`` on an ``ast`` expression."""
    import ast

    if isinstance(expr, ast.Call):
        last = (ast_dotted(expr.func) or "").rsplit(".", 1)[-1]
        return last in TRANSACTION_CALLS
    name = ast_dotted(expr)
    return bool(name) and bool(_CONNISH.search(name.rsplit(".", 1)[-1]))  # type: ignore[union-attr]


def ast_with_opens_transaction(node: "ast.With | ast.AsyncWith") -> bool:
    return any(ast_opens_transaction(item.context_expr) for item in node.items)


def ast_protects(expr: "ast.AST") -> bool:
    """``protects`` on an ``ast`` expression."""
    import ast

    if isinstance(expr, ast.Call):
        name = ast_dotted(expr.func) or ""
        last = name.rsplit(".", 1)[-1]
        if last in TRANSACTION_CALLS or last == "acquire" or _LOCKISH.search(last):
            return True
        return last in {"Lock", "RLock"}
    if isinstance(expr, ast.Subscript):
        return ast_protects(expr.value)
    name = ast_dotted(expr)
    if name is None:
        return False
    last = name.rsplit(".", 1)[-1]
    return bool(_LOCKISH.search(last) or _CONNISH.search(last))


def ast_with_protects(node: "ast.AST") -> bool:
    """``with_protects`` on an ``ast`` With/AsyncWith (False for any other node)."""
    import ast

    return isinstance(node, (ast.With, ast.AsyncWith)) and any(ast_protects(item.context_expr) for item in node.items)
