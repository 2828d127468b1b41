from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.sync_callees import (
    ast_resolve_function,
    ast_suggest,
    ast_sync_callee,
    resolve_function,
    suggest,
    sync_callee,
    to_thread_call,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import FixSafety, ImportSpec, Invalid, Provenance, Rule, Severity, Valid

#: qualified names of functions that schedule a coroutine as a task
TASK_FACTORIES = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
#: receivers of ``.create_task(...)`` that are event loops or task groups (last name part, lower case)
_LOOP_LIKE = ("loop",)
_GROUP_LIKE = frozenset({"tg", "task_group", "taskgroup", "group", "tasks_group", "nursery"})
_LOOP_GETTERS = frozenset({"asyncio.get_running_loop", "asyncio.get_event_loop", "asyncio.new_event_loop"})


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Call(self, node: ast.Call) -> None:
        if not node.args and not node.keywords:
            return
        factory = self._factory(node)
        if factory is None:
            return
        # LibCST's ``node.args[0]``: the first argument in source order, a plain positional one
        if not node.args or isinstance(node.args[0], ast.Starred):
            return
        inner = node.args[0]
        if node.keywords and min((k.lineno, k.col_offset) for k in node.keywords) < (inner.lineno, inner.col_offset):
            return
        info = ast_sync_callee(self.context, inner)
        if info is None:
            return
        assert isinstance(inner, ast.Call)
        callee = ast_dotted(inner.func) or info.name
        self.report(inner, factory=factory, callee=callee, suggestion=ast_suggest(callee, inner), fix=FixSafety.SAFE)

    def _factory(self, node: ast.Call) -> str | None:
        ctx = self.context
        func = node.func
        qualified = ctx.qualified(func)
        if qualified in TASK_FACTORIES:
            return qualified
        if not isinstance(func, ast.Attribute) or func.attr != "create_task":
            return None
        receiver = func.value
        if isinstance(receiver, ast.Call):
            return "loop.create_task" if ctx.qualified(receiver.func) in _LOOP_GETTERS else None
        text = ast_dotted(receiver)
        if text is None:
            return None
        last = text.rsplit(".", 1)[-1].lower()
        if not (last.endswith(_LOOP_LIKE) or last in _GROUP_LIKE or last.endswith("_tg") or last.endswith("_group")):
            return None
        if ast_resolve_function(ctx, func) is not None:
            return None  # a project method named create_task: not asyncio's
        return f"{text}.create_task"


class TaskFromSyncCall(Rule):
    """A task is created from the result of a plain `def` call: `create_task` raises `TypeError`.

    ## What it does
    Finds `asyncio.create_task(...)`, `asyncio.ensure_future(...)`, `loop.create_task(...)` and
    `TaskGroup.create_task(...)` whose argument is a call of a function defined with plain `def`. The
    callee is resolved through the project: module functions, methods through `self` (and project base
    classes), `self.attr.method()` where a method assigns `self.attr = SomeClass(...)` and `SomeClass` is
    defined in the module or imported from another module of the project, local variables built from a
    project class, imported functions and `Class.method`. Calls that cannot be resolved are never reported.
    Sync functions annotated to return an awaitable (`Coroutine`, `Awaitable`, `Future`, `Task`), that
    return a call of an async function or of a task factory, decorated functions and generators are left
    alone.

    ## Why is this bad?
    The plain function runs immediately, on the event loop, and returns `None` (or some other
    non-awaitable); `create_task` then raises `TypeError: a coroutine was expected`. In the AI System plan
    (task 3) the ModelOps coordinator called `asyncio.create_task(self.grpc_server.start(), ...)` on
    servers whose `start()` is a plain `def`: the service could not boot at all.

    ## Fix
    Make the function `async def`, or run the blocking call in a worker thread:
    `asyncio.create_task(asyncio.to_thread(self.grpc_server.start), name="grpc")`.

    ## Fix safety
    Safe: the original raises `TypeError` as soon as it runs; the fix runs the same function, with the
    same arguments, in the default executor and keeps the task (and its name).
    """

    code = "RMD201"
    ast_checker = _Fast
    name = "task-from-sync-call"
    message = "{factory}() given {callee}(), a plain def that returns no coroutine: use {factory}({suggestion}) or make it async def"
    severity = Severity.CRITICAL
    provenance = (
        Provenance(
            "004_96ea4b1ca927ab99.txt",
            "Phase 1, Task 3 (asyncio.create_task with synchronous start() methods in ModelOps app)",
            "ai_system",
        ),
    )
    fix_safety = FixSafety.SAFE
    triggers = (b"create_task", b"ensure_future")
    needs_project = True
    limitations = "Callees defined in other modules are resolved through the project pass; the flake8 plugin sees the same project."

    VALID = [
        Valid(
            """
            import asyncio

            class GRPCServer:
                def start(self):
                    self.server.start()

            class Coordinator:
                def __init__(self):
                    self.grpc_server = GRPCServer()

                async def start(self):
                    self._grpc_task = asyncio.create_task(asyncio.to_thread(self.grpc_server.start), name="grpc")
            """
        ),
        Valid(
            """
            import asyncio

            class GRPCServer:
                async def start(self):
                    await self.server.start()

            class Coordinator:
                def __init__(self):
                    self.grpc_server = GRPCServer()

                async def start(self):
                    self._grpc_task = asyncio.create_task(self.grpc_server.start(), name="grpc")
            """
        ),
        Valid(
            """
            import asyncio
            from typing import Coroutine

            async def _serve(port):
                await asyncio.sleep(port)

            def serve(port) -> Coroutine:
                return _serve(port)

            def serve_later(port):
                return _serve(port)

            async def main():
                asyncio.create_task(serve(8080))
                asyncio.create_task(serve_later(8081))
            """
        ),
        Valid(
            """
            import asyncio
            from transport.grpc_server import GRPCServer

            async def main(server):
                # unresolved callees are never reported
                asyncio.create_task(server.start())
                asyncio.create_task(GRPCServer().start())
            """
        ),
        Valid(
            """
            class TaskRepository:
                def create_task(self, record):
                    return record

            def build_record(name):
                return {"name": name}

            async def submit(repo: TaskRepository, name):
                # a project method that happens to be called create_task, on a repository
                return repo.create_task(build_record(name))
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio

            class GRPCServer:
                def start(self):
                    self.server.start()

            class Coordinator:
                def __init__(self, config):
                    self.grpc_server = GRPCServer()

                async def start(self):
                    self._grpc_task = asyncio.create_task(self.grpc_server.start(), name="grpc")
            """,
            fixed="""
            import asyncio

            class GRPCServer:
                def start(self):
                    self.server.start()

            class Coordinator:
                def __init__(self, config):
                    self.grpc_server = GRPCServer()

                async def start(self):
                    self._grpc_task = asyncio.create_task(asyncio.to_thread(self.grpc_server.start), name="grpc")
            """,
            line=12,
        ),
        Invalid(
            """
            from asyncio import create_task, ensure_future

            def warm_cache(size, verbose=False):
                return [0] * size

            async def boot():
                create_task(warm_cache(128, verbose=True))
                ensure_future(warm_cache(256))
            """,
            fixed="""
            from asyncio import create_task, ensure_future
            import asyncio

            def warm_cache(size, verbose=False):
                return [0] * size

            async def boot():
                create_task(asyncio.to_thread(warm_cache, 128, verbose=True))
                ensure_future(asyncio.to_thread(warm_cache, 256))
            """,
            count=2,
        ),
        Invalid(
            """
            import asyncio as aio

            class RESTAPIServer:
                def start(self):
                    self.thread.start()

            async def run():
                server = RESTAPIServer()
                loop = aio.get_running_loop()
                loop.create_task(server.start())
            """,
            fixed="""
            import asyncio as aio

            class RESTAPIServer:
                def start(self):
                    self.thread.start()

            async def run():
                server = RESTAPIServer()
                loop = aio.get_running_loop()
                loop.create_task(aio.to_thread(server.start))
            """,
            line=10,
        ),
        Invalid(
            """
            import asyncio

            class Agent:
                def _poll(self):
                    return self.socket.recv()

                async def run(self):
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(self._poll())
            """,
            fixed="""
            import asyncio

            class Agent:
                def _poll(self):
                    return self.socket.recv()

                async def run(self):
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(asyncio.to_thread(self._poll))
            """,
        ),
        Invalid(
            """
            import asyncio

            class BaseServer:
                def stop(self, grace=None):
                    self.server.stop(grace)

            class ZMQServer(BaseServer):
                pass

            class App:
                def __init__(self):
                    self.zmq_server = ZMQServer()

                async def shutdown(self):
                    asyncio.ensure_future(
                        self.zmq_server.stop(grace=2)
                    )
            """,
            fixed="""
            import asyncio

            class BaseServer:
                def stop(self, grace=None):
                    self.server.stop(grace)

            class ZMQServer(BaseServer):
                pass

            class App:
                def __init__(self):
                    self.zmq_server = ZMQServer()

                async def shutdown(self):
                    asyncio.ensure_future(
                        asyncio.to_thread(self.zmq_server.stop, grace=2)
                    )
            """,
            line=16,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        factory = self._factory(node)
        if factory is None or not node.args:
            return
        arg = node.args[0]
        if arg.keyword is not None or arg.star:
            return
        inner = arg.value
        info = sync_callee(self.context, inner)
        if info is None:
            return
        assert isinstance(inner, cst.Call)
        replacement, needs_import = to_thread_call(self.context, inner)
        fix = self.make_fix((inner, replacement), imports=[ImportSpec("asyncio")] if needs_import else ())
        callee = dotted_name(inner.func) or info.name
        self.report(inner, factory=factory, callee=callee, suggestion=suggest(callee, inner), fix=fix)

    def _factory(self, node: cst.Call) -> str | None:
        ctx = self.context
        func = node.func
        qualified = ctx.qualified(func)
        if qualified in TASK_FACTORIES:
            return qualified
        if not isinstance(func, cst.Attribute) or func.attr.value != "create_task":
            return None
        receiver = func.value
        if isinstance(receiver, cst.Call):
            return "loop.create_task" if ctx.qualified(receiver.func) in _LOOP_GETTERS else None
        text = dotted_name(receiver)
        if text is None:
            return None
        last = text.rsplit(".", 1)[-1].lower()
        if not (last.endswith(_LOOP_LIKE) or last in _GROUP_LIKE or last.endswith("_tg") or last.endswith("_group")):
            return None
        if resolve_function(ctx, func) is not None:
            return None  # a project method named create_task: not asyncio's
        return f"{text}.create_task"
