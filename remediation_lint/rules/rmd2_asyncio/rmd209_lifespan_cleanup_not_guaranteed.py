from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import child_nodes

import libcst as cst

from remediation_lint.analysis.lifespans import ast_is_context_manager_function, is_context_manager_function
from remediation_lint.analysis.names import ast_dotted
from remediation_lint.analysis.subprocesses import AstUndecidable, ast_is_suite, ast_statement_lines
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.lifecycles import EXIT_STACKS, RELEASE_METHODS
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid
from remediation_lint.analysis.names import dotted_name as _dotted


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Yield(self, node: ast.Yield) -> None:
        try:
            self._check(node)
        except AstUndecidable:
            self.defer()

    visit_YieldFrom = visit_Yield

    def _check(self, node: ast.Yield | ast.YieldFrom) -> None:
        ctx = self.context
        func = ctx.enclosing_function()
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        stack = ctx.stack
        if len(stack) < 3:
            return
        stmt = stack[-2]
        if isinstance(stmt, ast.Expr) or (isinstance(stmt, ast.Assign) and stmt.value is node):
            pass
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is node:
            pass
        else:
            return
        # only a ``yield`` that is a statement of the function body itself: one inside ``try``/``with`` is guarded
        if stack[-3] is not func or not any(s is stmt for s in func.body):
            return
        if ast_is_suite(ctx, func.body):
            return
        if not ast_is_context_manager_function(ctx, func):
            return
        lines = ast_statement_lines(ctx, func.body)
        index = next(i for i, line in enumerate(lines) if any(s is stmt for s in line))
        before = [s for line in lines[:index] for s in line]
        after = [s for line in lines[index + 1:] for s in line]
        walker = _AstWalker(set(self.opts["release_methods"]))
        walker.walk(after)
        released = list(dict.fromkeys(walker.released))
        if len(released) < int(self.opts["min_resources"]):
            return
        if walker.exit_stack:
            return
        setup = _AstWalker(frozenset())
        setup.walk(before)
        if setup.exit_stack:
            return
        started = [name for name in released if name in setup.mentioned]
        if len(started) < int(self.opts["min_resources"]):
            return
        resources = ", ".join(f"`{name}`" for name in reversed(started))
        self.report(node, func=func.name, resources=resources)


def _where(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)  # type: ignore[attr-defined]


def _source_order_children(node: ast.AST) -> list[ast.AST]:
    """Children in source order (LibCST's traversal order), where ``ast``'s field order differs."""
    if isinstance(node, ast.Dict):
        out: list[ast.AST] = []
        for key, value in zip(node.keys, node.values):
            if key is not None:
                out.append(key)
            out.append(value)
        return out
    if isinstance(node, ast.IfExp):
        return [node.body, node.test, node.orelse]
    if isinstance(node, ast.Call):
        return [node.func, *sorted([*node.args, *node.keywords], key=_where)]
    if isinstance(node, ast.ClassDef):
        return [*node.decorator_list, *sorted([*node.bases, *node.keywords], key=_where), *node.body]
    return list(child_nodes(node))


def _identifiers(node: ast.AST) -> list[str]:
    """Names LibCST holds as ``Name`` nodes besides ``ast.Name``: attributes, keywords, imported names..."""
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.keyword):
        return [node.arg] if node.arg else []
    if isinstance(node, ast.alias):
        return [*node.name.split("."), *([node.asname] if node.asname else [])]
    if isinstance(node, ast.ImportFrom):
        return node.module.split(".") if node.module else []
    if isinstance(node, ast.ClassDef):
        return [node.name]
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, ast.ExceptHandler):
        return [node.name] if node.name else []
    names = [getattr(node, "name", None), getattr(node, "rest", None)]
    out = [n for n in names if isinstance(n, str)]
    out.extend(getattr(node, "kwd_attrs", None) or ())
    return out


class _AstWalker:
    """``_Walker``'s twin: receivers of release calls (in source order), names mentioned, exit-stack use."""

    def __init__(self, release_methods: frozenset[str] | set[str]) -> None:
        self.release_methods = release_methods
        self.released: list[str] = []
        self.mentioned: set[str] = set()
        self.exit_stack = False

    def walk(self, statements: list[ast.stmt]) -> None:
        todo: list[ast.AST] = list(reversed(statements))
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, ast.Name):
                if node.id in EXIT_STACKS:
                    self.exit_stack = True
            elif not self.exit_stack and any(name in EXIT_STACKS for name in _identifiers(node)):
                self.exit_stack = True
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute):
                    receiver = ast_dotted(func.value)
                    if receiver is not None:
                        self.mentioned.add(receiver)
                        if func.attr in self.release_methods:
                            self.released.append(receiver)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    name = ast_dotted(target)
                    if name is not None:
                        self.mentioned.add(name)
            elif isinstance(node, ast.AnnAssign):
                name = ast_dotted(node.target)
                if name is not None:
                    self.mentioned.add(name)
            todo.extend(reversed(_source_order_children(node)))


class LifespanCleanupNotGuaranteed(Rule):
    """A lifespan that starts several resources and releases them after `yield` without `try/finally`.

    ## What it does
    Finds a context-manager generator (`@asynccontextmanager`/`@contextmanager`, a FastAPI
    `lifespan`) whose `yield` is a plain statement of its body, where at least two resources are
    released after the `yield` (`db.close()`, `monitor.stop_background()`, `executor.stop()`, ...) and
    the same resources are set up before it. The `yield` is reported. A `yield` inside `try/finally`,
    inside an `AsyncExitStack`/`ExitStack` block, or any use of an exit stack in the function, is fine.

    ## Why is this bad?
    Code after the `yield` only runs when everything before it succeeded and the `with` body ended
    normally. If the second resource fails to start, the first one (an open database, a background
    task) is never released. The Orchestration Engine's lifespan (plan item 2.6) initialised the
    database, then started the resource monitor and the executor; a failure in the monitor left the
    database open because the shutdown block after the `yield` never ran.

    ## Fix
    Register each release right after its start on a `contextlib.AsyncExitStack` (`stack.push_async_callback(db.close)`)
    and `yield` inside `async with AsyncExitStack() as stack:`, so a failure at any step releases what
    was already started, in reverse order. At least wrap the `yield` in `try/finally`.
    """

    code = "RMD209"
    ast_checker = _Fast
    name = "lifespan-cleanup-not-guaranteed"
    message = "{func}() starts {resources} before `yield` and releases them after it unguarded: a failed start leaks the earlier ones; register each release on an AsyncExitStack"
    severity = Severity.HIGH
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 2, item 2.6 (Fix App Lifespan Cleanup Gap)", "orchestration_engine"),)
    triggers = (b"yield",)
    options = {"release_methods": tuple(sorted(RELEASE_METHODS)), "min_resources": 2}
    option_docs = {
        "release_methods": "method names that release a resource when called after the `yield`",
        "min_resources": "how many released resources make the missing guard worth reporting",
    }

    VALID = [
        Valid(
            """
            from contextlib import AsyncExitStack, asynccontextmanager

            @asynccontextmanager
            async def lifespan(app):
                db = container.db()
                resource_monitor = container.resource_monitor()
                executor = container.executor()
                async with AsyncExitStack() as stack:
                    await db.init(DB_PATH, run_migrations=True)
                    stack.push_async_callback(db.close)
                    await resource_monitor.start_background()
                    stack.push_async_callback(resource_monitor.stop_background)
                    await executor.start()
                    stack.push_async_callback(executor.stop)
                    yield
            """
        ),
        Valid(
            """
            from contextlib import asynccontextmanager

            @asynccontextmanager
            async def lifespan(app):
                await app.state.db.init()
                await app.state.cache.connect()
                try:
                    yield
                finally:
                    await app.state.cache.close()
                    await app.state.db.close()
            """
        ),
        Valid(
            """
            from contextlib import asynccontextmanager

            @asynccontextmanager
            async def lifespan(app):
                await app.state.memory.connect()
                yield
                await app.state.memory.close()
            """
        ),
        Valid(
            """
            from contextlib import contextmanager

            @contextmanager
            def two_files(a, b):
                with open(a) as first, open(b) as second:
                    yield first, second
            """
        ),
        Valid(
            """
            def serve(db, monitor):
                db.init()
                monitor.start()
                yield
                monitor.stop()
                db.close()
            """
        ),
        Valid(
            """
            import contextlib

            @contextlib.asynccontextmanager
            async def lifespan(app):
                stack = contextlib.AsyncExitStack()
                await app.state.db.init()
                stack.push_async_callback(app.state.db.close)
                await app.state.bus.start()
                stack.push_async_callback(app.state.bus.stop)
                yield
                await stack.aclose()
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
                db = container.db()
                resource_monitor = container.resource_monitor()
                executor = container.executor()
                await db.init(DB_PATH, run_migrations=True)
                await resource_monitor.start_background()
                await executor.start()
                yield
                await executor.stop()
                await resource_monitor.stop_background()
                await db.close()
            """,
            line=13,
        ),
        Invalid(
            """
            import contextlib

            class Worker:
                @contextlib.contextmanager
                def running(self):
                    self.pool = make_pool()
                    self.consumer = self.broker.subscribe("jobs")
                    yield self
                    self.consumer.close()
                    self.pool.shutdown(wait=True)
            """,
            line=8,
        ),
        Invalid(
            """
            async def lifespan(app):
                app.state.http = httpx.AsyncClient()
                app.state.redis = await redis.from_url(REDIS_URL)
                yield
                await app.state.redis.aclose()
                await app.state.http.aclose()
            """,
            line=4,
        ),
        Invalid(
            """
            from contextlib import asynccontextmanager as acm

            @acm
            async def lifespan(app):
                scheduler.start()
                await database.connect()
                await bus.start()
                yield
                if bus.running:
                    await bus.stop()
                await database.disconnect()
                scheduler.shutdown()
            """,
            line=8,
        ),
    ]

    def visit_Yield(self, node: cst.Yield) -> None:
        ctx = self.context
        func = ctx.enclosing_function()
        if not isinstance(func, cst.FunctionDef) or not isinstance(func.body, cst.IndentedBlock):
            return
        # only a ``yield`` that is a statement of the function body itself: one inside ``try``/``with`` is guarded
        line = ctx.parent()
        if isinstance(line, cst.Expr):
            line = ctx.stack[-3] if len(ctx.stack) >= 3 else None
        elif isinstance(line, (cst.Assign, cst.AnnAssign)):
            line = ctx.stack[-3] if len(ctx.stack) >= 3 else None
        else:
            return
        body = list(func.body.body)
        if not isinstance(line, cst.SimpleStatementLine) or not any(stmt is line for stmt in body):
            return
        if not is_context_manager_function(ctx, func):
            return
        index = next(i for i, stmt in enumerate(body) if stmt is line)
        before, after = body[:index], body[index + 1 :]
        walker = _Walker(set(self.opts["release_methods"]))
        for stmt in after:
            stmt.visit(walker)
        released = list(dict.fromkeys(walker.released))
        if len(released) < int(self.opts["min_resources"]):
            return
        if walker.exit_stack:
            return
        setup = _Walker(frozenset())
        for stmt in before:
            stmt.visit(setup)
        if setup.exit_stack:
            return
        started = [name for name in released if name in setup.mentioned]
        if len(started) < int(self.opts["min_resources"]):
            return
        resources = ", ".join(f"`{name}`" for name in reversed(started))
        self.report(node, func=func.name.value, resources=resources)


class _Walker(cst.CSTVisitor):
    """Receivers of release calls, names mentioned as receivers or assignment targets, exit-stack use."""

    def __init__(self, release_methods: frozenset[str] | set[str]) -> None:
        self.release_methods = release_methods
        self.released: list[str] = []
        self.mentioned: set[str] = set()
        self.exit_stack = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in EXIT_STACKS:
            self.exit_stack = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in EXIT_STACKS:
            self.exit_stack = True

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            receiver = _dotted(func.value)
            if receiver is not None:
                self.mentioned.add(receiver)
                if func.attr.value in self.release_methods:
                    self.released.append(receiver)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        name = _dotted(node.target)
        if name is not None:
            self.mentioned.add(name)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        name = _dotted(node.target)
        if name is not None:
            self.mentioned.add(name)


