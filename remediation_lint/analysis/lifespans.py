"""Context-manager generators (FastAPI/Starlette lifespans, ``@contextmanager`` helpers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.context import FileContext

#: decorators that turn a generator into a context manager
CONTEXT_MANAGER_DECORATORS: frozenset[str] = frozenset(
    {"contextlib.contextmanager", "contextlib.asynccontextmanager", "contextlib2.contextmanager",
     "contextlib2.asynccontextmanager"}
)

#: function names that a web framework runs once around the whole application
LIFESPAN_NAMES: frozenset[str] = frozenset({"lifespan", "app_lifespan"})


def decorator_names(ctx: "FileContext", func: cst.FunctionDef) -> list[str]:
    names = []
    for decorator in func.decorators:
        expr = decorator.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        name = ctx.qualified(expr) or ctx.dotted(expr)
        if name:
            names.append(name)
    return names


def is_context_manager_function(ctx: "FileContext", func: cst.FunctionDef) -> bool:
    """Decorated with ``@contextmanager``/``@asynccontextmanager``, or a generator named ``lifespan``."""
    for name in decorator_names(ctx, func):
        if name in CONTEXT_MANAGER_DECORATORS or name.rsplit(".", 1)[-1] in ("contextmanager", "asynccontextmanager"):
            return True
    return func.name.value in LIFESPAN_NAMES


def is_lifespan(ctx: "FileContext", func: cst.FunctionDef) -> bool:
    """A function the framework runs once at startup/shutdown (a lifespan or any context manager)."""
    return is_context_manager_function(ctx, func)


# -- the fast path's twins (standard library ``ast``) ----------------------------------------------------
def ast_decorator_names(ctx, func) -> list[str]:
    """``decorator_names`` on an ``ast`` FunctionDef/AsyncFunctionDef (``ctx`` an ``AstContext``)."""
    import ast

    names = []
    for expr in func.decorator_list:
        if isinstance(expr, ast.Call):
            expr = expr.func
        name = ctx.qualified(expr) or ctx.dotted(expr)
        if name:
            names.append(name)
    return names


def ast_is_context_manager_function(ctx, func) -> bool:
    """``is_context_manager_function`` on an ``ast`` FunctionDef/AsyncFunctionDef."""
    for name in ast_decorator_names(ctx, func):
        if name in CONTEXT_MANAGER_DECORATORS or name.rsplit(".", 1)[-1] in ("contextmanager", "asynccontextmanager"):
            return True
    return func.name in LIFESPAN_NAMES
