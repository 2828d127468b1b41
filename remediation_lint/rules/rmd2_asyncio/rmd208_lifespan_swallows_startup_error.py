from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.lifespans import ast_is_context_manager_function, is_context_manager_function
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity, Valid


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Yield(self, node: ast.Yield) -> None:
        ctx = self.context
        handler = self._handler()
        if handler is None:
            return
        func = ctx.enclosing_function()
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) or not ast_is_context_manager_function(ctx, func):
            return
        if handler.type is None:
            clause = "except"
        else:
            text = ctx.dotted(handler.type) or self._source(handler)
            if text is None:
                self.defer()
                return
            clause = f"except {text}"
        fix = FixSafety.SAFE if isinstance(ctx.parent(), ast.Expr) else None
        self.report(node, func=func.name, clause=clause, fix=fix)

    visit_YieldFrom = visit_Yield

    def _handler(self) -> ast.ExceptHandler | None:
        """``context.inside(ExceptHandler)`` as LibCST sees it: an ``except*`` handler is another node type."""
        stack = self.context.stack
        for index in range(len(stack) - 2, 0, -1):
            node = stack[index]
            if isinstance(node, ast.ExceptHandler):
                if type(stack[index - 1]).__name__ != "TryStar":
                    return node
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                return None
        return None

    def _source(self, handler: ast.ExceptHandler) -> str | None:
        """The source of the handler's type, as LibCST's ``code_for_node`` renders it; None: not sure."""
        expr = handler.type
        assert expr is not None
        if expr.lineno != handler.lineno or expr.end_lineno != expr.lineno or expr.end_col_offset is None:
            return None  # LibCST renders continuation lines without the block's indentation
        lines = self.context.source.splitlines()
        try:
            self.context.source.decode("utf-8")
        except UnicodeDecodeError:
            return None
        line = lines[handler.lineno - 1]
        if line[handler.col_offset:handler.col_offset + 6] != b"except" or line[handler.col_offset + 6:expr.col_offset].strip():
            return None  # parentheses around the expression belong to it in LibCST
        return line[expr.col_offset:expr.end_col_offset].decode("utf-8")


class LifespanSwallowsStartupError(Rule):
    """A context manager (FastAPI `lifespan`) that yields in an `except` handler serves after a failed startup.

    ## What it does
    Finds a `yield` inside an `except` handler of a function decorated with
    `@asynccontextmanager`/`@contextmanager` (under any import alias), or of a generator named
    `lifespan` (Starlette also accepts a bare async generator). The `yield` is reported.

    ## Why is this bad?
    Whatever follows the `yield` runs as the body of the `with` block: for a FastAPI lifespan, the
    whole life of the application. Yielding from the handler that caught a startup error means the
    service starts anyway, without its database or client, and fails on every request instead of once
    at boot. khala's REST API did this (medium item 3, "Fix API Startup": remove the `yield` on
    exception in `lifespan`, fail fast). A `yield` in a `try` whose `finally` cleans up is the right
    shape and is not reported.

    ## Fix
    Log the error if you want, then re-raise it so the process fails fast.

    ## Fix safety
    Safe: the `yield` statement in the handler becomes a bare `raise`, which re-raises the startup
    error that the handler caught. It is only offered when the `yield` is a statement of its own.
    """

    code = "RMD208"
    ast_checker = _Fast
    name = "lifespan-swallows-startup-error"
    message = "{func}() yields inside `{clause}:`, so a failed startup still serves: re-raise instead (fail fast)"
    severity = Severity.MEDIUM
    provenance = (Provenance("000_18f8732ba4a86cc0.txt", "MEDIUM, item 3 (Fix API Startup: yield on exception in lifespan)", "khala"),)
    fix_safety = FixSafety.SAFE
    triggers = (b"yield",)

    VALID = [
        Valid(
            """
            from contextlib import asynccontextmanager

            from fastapi import FastAPI

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                try:
                    await app.state.memory.connect()
                except Exception:
                    logger.exception("startup failed")
                    raise
                try:
                    yield
                finally:
                    await app.state.memory.close()
            """
        ),
        Valid(
            """
            import contextlib

            @contextlib.contextmanager
            def transaction(conn):
                try:
                    yield conn
                except Exception:
                    conn.rollback()
                    raise
                else:
                    conn.commit()
            """
        ),
        Valid(
            """
            def read_lines(paths):
                for path in paths:
                    try:
                        handle = open(path)
                    except OSError:
                        yield ""
                        continue
                    with handle:
                        yield from handle
            """
        ),
        Valid(
            """
            from contextlib import asynccontextmanager

            @asynccontextmanager
            async def lifespan(app):
                await app.state.db.init()
                yield
                await app.state.db.close()
            """
        ),
        Valid(
            """
            from contextlib import contextmanager

            @contextmanager
            def suppress_errors(log):
                try:
                    yield
                except ValueError as exc:
                    log.warning("ignored: %s", exc)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from contextlib import asynccontextmanager

            from fastapi import FastAPI

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                try:
                    await app.state.memory.connect()
                    yield
                except Exception as exc:
                    logger.error("startup failed: %s", exc)
                    yield
                finally:
                    await app.state.memory.close()
            """,
            fixed="""
            from contextlib import asynccontextmanager

            from fastapi import FastAPI

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                try:
                    await app.state.memory.connect()
                    yield
                except Exception as exc:
                    logger.error("startup failed: %s", exc)
                    raise
                finally:
                    await app.state.memory.close()
            """,
            line=12,
        ),
        Invalid(
            """
            import contextlib as cl

            class Service:
                @cl.asynccontextmanager
                async def session(self):
                    try:
                        conn = await self.pool.acquire()
                    except ConnectionError:
                        yield None
                        return
                    try:
                        yield conn
                    finally:
                        await self.pool.release(conn)
            """,
            fixed="""
            import contextlib as cl

            class Service:
                @cl.asynccontextmanager
                async def session(self):
                    try:
                        conn = await self.pool.acquire()
                    except ConnectionError:
                        raise
                        return
                    try:
                        yield conn
                    finally:
                        await self.pool.release(conn)
            """,
            line=9,
        ),
        Invalid(
            """
            from contextlib import contextmanager

            @contextmanager
            def workspace(path):
                try:
                    prepare(path)
                except (OSError, RuntimeError):
                    yield path
                else:
                    yield path
                    cleanup(path)
            """,
            fixed="""
            from contextlib import contextmanager

            @contextmanager
            def workspace(path):
                try:
                    prepare(path)
                except (OSError, RuntimeError):
                    raise
                else:
                    yield path
                    cleanup(path)
            """,
        ),
        Invalid(
            """
            async def lifespan(app):
                try:
                    await app.state.db.connect()
                except Exception:
                    app.state.degraded = True
                    yield
                    return
                yield
                await app.state.db.disconnect()
            """,
            fixed="""
            async def lifespan(app):
                try:
                    await app.state.db.connect()
                except Exception:
                    app.state.degraded = True
                    raise
                    return
                yield
                await app.state.db.disconnect()
            """,
            line=6,
        ),
        Invalid(
            """
            from contextlib import asynccontextmanager

            @asynccontextmanager
            async def lifespan(app):
                try:
                    await app.state.db.connect()
                except:
                    state = yield
            """,
            line=8,
        ),
    ]

    def visit_Yield(self, node: cst.Yield) -> None:
        ctx = self.context
        handler = ctx.inside(cst.ExceptHandler)
        if handler is None:
            return
        func = ctx.enclosing_function()
        if not isinstance(func, cst.FunctionDef) or not is_context_manager_function(ctx, func):
            return
        if handler.type is None:
            clause = "except"
        else:
            clause = f"except {ctx.dotted(handler.type) or ctx.module.code_for_node(handler.type)}"
        self.report(node, func=func.name.value, clause=clause, fix=self._fix(node))

    def _fix(self, node: cst.Yield):
        parent = self.context.parent()
        if not isinstance(parent, cst.Expr):
            return None
        return self.make_fix((parent, cst.Raise()))
