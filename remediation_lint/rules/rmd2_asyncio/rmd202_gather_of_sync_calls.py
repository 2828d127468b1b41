from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import child_nodes

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.sync_callees import ast_suggest, ast_sync_callee, suggest, sync_callee, to_thread_call
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import FixSafety, ImportSpec, Invalid, Provenance, Rule, Severity, Valid

#: functions that take awaitables as positional arguments, and those that take one iterable of them
GATHERERS = frozenset({"asyncio.gather"})
WAITERS = frozenset({"asyncio.wait", "asyncio.as_completed"})
_LAST_PARTS = frozenset(name.rsplit(".", 1)[-1] for name in GATHERERS | WAITERS)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func  # cheap screen: the callee's last name part is the gatherer's (or an imported name)
        if isinstance(func, ast.Attribute):
            if func.attr not in _LAST_PARTS:
                return
        elif not isinstance(func, ast.Name) or func.id not in self.context.imports:
            return
        qualified = self.context.qualified(func)
        if qualified in GATHERERS:
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    self._check_iterable(arg.value, qualified)
                else:
                    self._check(arg, qualified)
        elif qualified in WAITERS and node.args and not isinstance(node.args[0], ast.Starred):
            self._check_iterable(node.args[0], qualified)

    def _check_iterable(self, value: ast.AST, gatherer: str) -> None:
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            for el in value.elts:
                if not isinstance(el, ast.Starred):
                    self._check(el, gatherer)
        elif isinstance(value, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            self._check(value.elt, gatherer)
        elif isinstance(value, ast.Name):
            for element in _ast_collected(self.context, value.id):
                self._check(element, gatherer)

    def _check(self, value: ast.AST, gatherer: str) -> None:
        info = ast_sync_callee(self.context, value)
        if info is None:
            return
        assert isinstance(value, ast.Call)
        callee = ast_dotted(value.func) or info.name
        self.report(value, callee=callee, gatherer=gatherer, suggestion=ast_suggest(callee, value), fix=FixSafety.SAFE)


def _ast_last_arg(call: ast.Call) -> ast.AST:
    """The value of the call's last argument in source order (LibCST's ``args[-1].value``)."""
    items: list[ast.AST] = [*call.args, *call.keywords]
    last = max(items, key=lambda a: (a.lineno, a.col_offset))
    if isinstance(last, (ast.Starred, ast.keyword)):
        return last.value
    return last


def _ast_collected(ctx, name: str) -> list[ast.AST]:
    """``_collected`` on ``ast``."""
    func = ctx.enclosing_function()
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    out: list[ast.AST] = []

    def elements(value: ast.AST | None) -> None:
        if isinstance(value, (ast.List, ast.Tuple)):
            out.extend(el for el in value.elts if not isinstance(el, ast.Starred))
        elif isinstance(value, (ast.ListComp, ast.GeneratorExp)):
            out.append(value.elt)

    todo: list[ast.AST] = [*reversed(func.body), *reversed([n for n in child_nodes(func) if n not in func.body])]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                elements(node.value)
        elif isinstance(node, ast.AnnAssign):
            if isinstance(node.target, ast.Name) and node.target.id == name and node.value is not None:
                elements(node.value)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name) and node.target.id == name:
                elements(node.value)
        elif isinstance(node, ast.Call):
            f = node.func
            if (
                isinstance(f, ast.Attribute)
                and isinstance(f.value, ast.Name)
                and f.value.id == name
                and node.args
                and not isinstance(node.args[0], ast.Starred)
            ):
                if f.attr in ("append", "insert"):
                    out.append(_ast_last_arg(node))
                elif f.attr == "extend":
                    elements(node.args[0])
        todo.extend(reversed(list(child_nodes(node))))
    return out


class GatherOfSyncCalls(Rule):
    """`asyncio.gather`/`asyncio.wait` given results of plain `def` calls: `TypeError`, not a shutdown.

    ## What it does
    Finds `asyncio.gather(...)` arguments and the elements of the list given to `asyncio.wait([...])`
    that are calls of functions defined with plain `def` (resolved through the project, like RMD201:
    module functions, `self` methods, `self.attr.method()` where `self.attr` is built from a project
    class, imported functions). It also follows the collected shape: `tasks.append(self.grpc.stop())`
    (or `tasks = [...]`, `tasks.extend([...])`) in the same function, then `await asyncio.gather(*tasks)`.
    Unresolved callees, awaitables and sync functions that return one are left alone.

    ## Why is this bad?
    The sync call runs on the spot and `gather` receives its return value, usually `None`; `gather`
    raises `TypeError: An asyncio.Future, a coroutine or an awaitable is required`, even with
    `return_exceptions=True`. In the AI System plan (task 6) the coordinator's shutdown appended
    `self.grpc_server.stop()` and `self.rest_server.stop()` to a list and gathered it: shutdown crashed
    half-way and left servers and threads running.

    ## Fix
    Make the functions `async def`, or hand them to a worker thread: `asyncio.to_thread(f, a)` for each
    sync call `f(a)` (at the `append` for the collected shape).

    ## Fix safety
    Safe: the original raises `TypeError`; the fix runs the same calls, concurrently, in the default
    executor, and `gather` collects their results and exceptions as intended.
    """

    code = "RMD202"
    ast_checker = _Fast
    name = "gather-of-sync-calls"
    message = "{callee}() passed to {gatherer}() is a plain def that returns no awaitable: pass {suggestion} or make it async def"
    severity = Severity.HIGH
    provenance = (
        Provenance(
            "004_96ea4b1ca927ab99.txt",
            "Phase 2, Task 6 (asyncio.gather over results of synchronous stop() calls in the shutdown path)",
            "ai_system",
        ),
    )
    fix_safety = FixSafety.SAFE
    triggers = (b"gather", b"wait", b"as_completed")
    needs_project = True
    limitations = "Callees defined in other modules are resolved through the project pass; the flake8 plugin sees the same project."

    VALID = [
        Valid(
            """
            import asyncio

            class GRPCServer:
                def stop(self, grace=None):
                    self.server.stop(grace)

            class Coordinator:
                def __init__(self):
                    self.grpc_server = GRPCServer()

                async def stop(self):
                    stop_tasks = []
                    if self.grpc_server:
                        stop_tasks.append(asyncio.to_thread(self.grpc_server.stop))
                    await asyncio.gather(*stop_tasks, return_exceptions=True)
            """
        ),
        Valid(
            """
            import asyncio

            class Server:
                async def stop(self):
                    await asyncio.sleep(0)

            async def shutdown(a: Server, b: Server):
                server = Server()
                await asyncio.gather(server.stop(), asyncio.sleep(0.1))
            """
        ),
        Valid(
            """
            import asyncio

            def fetch(url) -> asyncio.Future:
                return asyncio.ensure_future(download(url))

            async def download(url):
                return url

            async def main(urls):
                await asyncio.gather(*[fetch(u) for u in urls])
                await asyncio.wait([fetch(u) for u in urls])
            """
        ),
        Valid(
            """
            import asyncio

            async def main(server, loop):
                # unresolved callees (parameters) and run_in_executor futures are fine
                await asyncio.gather(server.stop(), loop.run_in_executor(None, server.close))
            """
        ),
        Valid(
            """
            import asyncio

            def summarize(results):
                return len(results)

            async def main(jobs):
                results = []
                results.append(summarize(jobs))
                done = await asyncio.gather(*jobs)
                return results, done
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio

            class GRPCServer:
                def stop(self, grace=None):
                    self.server.stop(grace)

            class RESTAPIServer:
                def stop(self):
                    self.thread.join()

            class Coordinator:
                def __init__(self):
                    self.grpc_server = GRPCServer()
                    self.rest_server = RESTAPIServer()

                async def stop(self):
                    stop_tasks = []
                    if self.grpc_server:
                        stop_tasks.append(self.grpc_server.stop(grace=5))
                    if self.rest_server:
                        stop_tasks.append(self.rest_server.stop())
                    await asyncio.gather(*stop_tasks, return_exceptions=True)
            """,
            fixed="""
            import asyncio

            class GRPCServer:
                def stop(self, grace=None):
                    self.server.stop(grace)

            class RESTAPIServer:
                def stop(self):
                    self.thread.join()

            class Coordinator:
                def __init__(self):
                    self.grpc_server = GRPCServer()
                    self.rest_server = RESTAPIServer()

                async def stop(self):
                    stop_tasks = []
                    if self.grpc_server:
                        stop_tasks.append(asyncio.to_thread(self.grpc_server.stop, grace=5))
                    if self.rest_server:
                        stop_tasks.append(asyncio.to_thread(self.rest_server.stop))
                    await asyncio.gather(*stop_tasks, return_exceptions=True)
            """,
            line=19,
            count=2,
        ),
        Invalid(
            """
            from asyncio import gather

            class Pool:
                def close(self):
                    pass

            class Service:
                def __init__(self):
                    self.pool = Pool()
                    self.cache = Pool()

                async def stop(self):
                    await gather(self.pool.close(), self.cache.close())
            """,
            fixed="""
            from asyncio import gather
            import asyncio

            class Pool:
                def close(self):
                    pass

            class Service:
                def __init__(self):
                    self.pool = Pool()
                    self.cache = Pool()

                async def stop(self):
                    await gather(asyncio.to_thread(self.pool.close), asyncio.to_thread(self.cache.close))
            """,
            count=2,
        ),
        Invalid(
            """
            import asyncio

            def check(host, port):
                return host, port

            async def probe(hosts):
                done, pending = await asyncio.wait([check(h, 80) for h in hosts])
                await asyncio.wait([check("db", 5432)])
                return done
            """,
            fixed="""
            import asyncio

            def check(host, port):
                return host, port

            async def probe(hosts):
                done, pending = await asyncio.wait([asyncio.to_thread(check, h, 80) for h in hosts])
                await asyncio.wait([asyncio.to_thread(check, "db", 5432)])
                return done
            """,
            count=2,
        ),
        Invalid(
            """
            import asyncio as aio

            class Agent:
                def flush(self):
                    return 0

                async def close(self):
                    pending = [self.flush()]
                    pending.extend([self.flush()])
                    return await aio.gather(*pending)
            """,
            fixed="""
            import asyncio as aio

            class Agent:
                def flush(self):
                    return 0

                async def close(self):
                    pending = [aio.to_thread(self.flush)]
                    pending.extend([aio.to_thread(self.flush)])
                    return await aio.gather(*pending)
            """,
            line=8,
            count=2,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.context
        qualified = ctx.qualified(node.func)
        if qualified in GATHERERS:
            for arg in node.args:
                if arg.keyword is not None:
                    continue
                if arg.star == "*":
                    self._check_iterable(arg.value, qualified)
                elif not arg.star:
                    self._check(arg.value, qualified)
        elif qualified in WAITERS and node.args and node.args[0].keyword is None and not node.args[0].star:
            self._check_iterable(node.args[0].value, qualified)

    def _check_iterable(self, value: cst.BaseExpression, gatherer: str) -> None:
        if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            for el in value.elements:
                if isinstance(el, cst.Element):
                    self._check(el.value, gatherer)
        elif isinstance(value, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            self._check(value.elt, gatherer)
        elif isinstance(value, cst.Name):
            for element in _collected(self.context, value.value):
                self._check(element, gatherer)

    def _check(self, value: cst.BaseExpression, gatherer: str) -> None:
        info = sync_callee(self.context, value)
        if info is None:
            return
        assert isinstance(value, cst.Call)
        replacement, needs_import = to_thread_call(self.context, value)
        fix = self.make_fix((value, replacement), imports=[ImportSpec("asyncio")] if needs_import else ())
        callee = dotted_name(value.func) or info.name
        self.report(value, callee=callee, gatherer=gatherer, suggestion=suggest(callee, value), fix=fix)


def _collected(ctx, name: str) -> list[cst.BaseExpression]:
    """Expressions put into list ``name`` in the enclosing function: ``name = [...]``, ``name.append(x)``,
    ``name.extend([...])``, ``name += [...]``."""
    func = ctx.enclosing_function()
    if not isinstance(func, cst.FunctionDef):
        return []
    out: list[cst.BaseExpression] = []

    def elements(value: cst.BaseExpression) -> None:
        if isinstance(value, (cst.List, cst.Tuple)):
            out.extend(el.value for el in value.elements if isinstance(el, cst.Element))
        elif isinstance(value, (cst.ListComp, cst.GeneratorExp)):
            out.append(value.elt)

    class _Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is func

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_Assign(self, node: cst.Assign) -> None:
            if any(isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets):
                elements(node.value)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if isinstance(node.target, cst.Name) and node.target.value == name and node.value is not None:
                elements(node.value)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.target, cst.Name) and node.target.value == name:
                elements(node.value)

        def visit_Call(self, node: cst.Call) -> None:
            f = node.func
            if (
                isinstance(f, cst.Attribute)
                and isinstance(f.value, cst.Name)
                and f.value.value == name
                and node.args
                and node.args[0].keyword is None
                and not node.args[0].star
            ):
                if f.attr.value in ("append", "insert"):
                    out.append(node.args[-1].value)
                elif f.attr.value == "extend":
                    elements(node.args[0].value)

    func.visit(_Finder())
    return out
