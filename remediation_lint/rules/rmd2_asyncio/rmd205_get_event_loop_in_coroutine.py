from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.names import ast_dotted
from remediation_lint.astcheck import AstChecker

from remediation_lint.rule import FixSafety, ImportSpec, Invalid, Provenance, Rule, Severity, Valid


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._pending: dict[str, list[ast.Call]] = {}
        self._call_sites: dict[str, list[bool]] = {}

    def visit_Call(self, node: ast.Call) -> None:
        ctx = self.context
        callee = ast_dotted(node.func)
        if callee:
            short = callee[5:] if callee.startswith("self.") else callee
            if "." not in short:
                self._call_sites.setdefault(short, []).append(ctx.in_async_function())
        if ctx.qualified(node.func) != "asyncio.get_event_loop":
            return
        func = ctx.enclosing_function()
        if func is None or isinstance(func, ast.Lambda):
            return
        if isinstance(func, ast.AsyncFunctionDef):
            self.report(node, where=f"coroutine {func.name}()", fix=FixSafety.SAFE)
        else:
            self._pending.setdefault(func.name, []).append(node)

    def finish(self) -> None:
        for name, calls in self._pending.items():
            sites = self._call_sites.get(name, [])
            if sites and all(sites):
                for call in calls:
                    self.report(call, where=f"{name}(), which only coroutines call", fix=FixSafety.SAFE)


class GetEventLoopInCoroutine(Rule):
    """`asyncio.get_event_loop()` inside a coroutine: use `asyncio.get_running_loop()`.

    ## What it does
    Finds `asyncio.get_event_loop()` (also imported as `from asyncio import get_event_loop`) inside an
    `async def`, and inside plain functions of the same module that are only ever called from
    coroutines (helpers such as `_check_loop`). Module-level code and sync functions called from sync
    code are left alone: there `get_event_loop()` may legitimately create a loop.

    ## Why is this bad?
    Inside a coroutine a loop is always running, and `get_running_loop()` returns it without the
    deprecated fallback of `get_event_loop()`, which emits a `DeprecationWarning` since Python 3.10 and,
    from a thread without a loop, silently creates a new one instead of failing. The Orchestration
    Engine's resource monitor (plan item 3.4) was moved to `get_running_loop()` for this reason.

    ## Fix safety
    Safe: in a coroutine both calls return the same running loop.
    """

    code = "RMD205"
    ast_checker = _Fast
    name = "get-event-loop-in-coroutine"
    message = "asyncio.get_event_loop() in {where}: use asyncio.get_running_loop()"
    severity = Severity.LOW
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 3, item 3.4 (get_event_loop in ResourceMonitor._check_loop)", "orchestration_engine"),)
    fix_safety = FixSafety.SAFE
    triggers = (b"get_event_loop",)
    limitations = (
        "The Semgrep twin `rmd205-get-event-loop-in-coroutine` reports only calls inside an `async def`: "
        "it does not follow call sites, so a sync helper that only coroutines call is reported by this rule alone."
    )

    VALID = [
        Valid(
            """
            import asyncio

            class ResourceMonitor:
                async def _check_loop(self):
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(None, self.check_all)
            """
        ),
        Valid(
            """
            import asyncio

            def main():
                loop = asyncio.get_event_loop()
                loop.run_until_complete(serve())
            """
        ),
        Valid(
            """
            import asyncio

            loop = asyncio.get_event_loop()
            """
        ),
        Valid(
            """
            import asyncio

            async def outer():
                def callback():
                    return asyncio.get_event_loop()
                return callback
            """
        ),
        Valid(
            """
            class Model:
                def get_event_loop(self):
                    return None

            async def run(model):
                return model.get_event_loop()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio

            async def fetch_all(urls):
                loop = asyncio.get_event_loop()
                return [loop.run_in_executor(None, get, u) for u in urls]
            """,
            fixed="""
            import asyncio

            async def fetch_all(urls):
                loop = asyncio.get_running_loop()
                return [loop.run_in_executor(None, get, u) for u in urls]
            """,
            line=4,
        ),
        Invalid(
            """
            from asyncio import get_event_loop

            class ResourceMonitor:
                async def _check_loop(self):
                    loop = get_event_loop()
                    await loop.run_in_executor(None, self.check_all)
            """,
            fixed="""
            from asyncio import get_event_loop
            import asyncio

            class ResourceMonitor:
                async def _check_loop(self):
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(None, self.check_all)
            """,
        ),
        Invalid(
            """
            import asyncio as aio

            async def handler(request):
                future = aio.get_event_loop().create_future()
                return await future
            """,
            fixed="""
            import asyncio as aio

            async def handler(request):
                future = aio.get_running_loop().create_future()
                return await future
            """,
        ),
        Invalid(
            """
            import asyncio

            class Monitor:
                def _schedule(self):
                    loop = asyncio.get_event_loop()
                    return loop.time()

                async def run(self):
                    while True:
                        self._schedule()
                        await asyncio.sleep(1)
            """,
            fixed="""
            import asyncio

            class Monitor:
                def _schedule(self):
                    loop = asyncio.get_running_loop()
                    return loop.time()

                async def run(self):
                    while True:
                        self._schedule()
                        await asyncio.sleep(1)
            """,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: sync function name -> get_event_loop calls inside it
        self._pending: dict[str, list[cst.Call]] = {}
        #: function name -> [called from an async function?]
        self._call_sites: dict[str, list[bool]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.context
        callee = ctx.dotted(node.func)
        if callee:
            short = callee[5:] if callee.startswith("self.") else callee
            if "." not in short:
                self._call_sites.setdefault(short, []).append(ctx.in_async_function())
        if ctx.qualified(node.func) != "asyncio.get_event_loop":
            return
        func = ctx.enclosing_function()
        if func is None or isinstance(func, cst.Lambda):
            return
        if func.asynchronous is not None:
            self.report(node, where=f"coroutine {func.name.value}()", fix=self._fix(node))
        else:
            self._pending.setdefault(func.name.value, []).append(node)

    def finish(self) -> None:
        for name, calls in self._pending.items():
            sites = self._call_sites.get(name, [])
            if sites and all(sites):
                for call in calls:
                    self.report(call, where=f"{name}(), which only coroutines call", fix=self._fix(call))

    def _fix(self, node: cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute):
            replacement = node.with_changes(func=func.with_changes(attr=cst.Name("get_running_loop")))
            return self.make_fix((node, replacement))
        replacement = node.with_changes(func=cst.Attribute(cst.Name("asyncio"), cst.Name("get_running_loop")))
        return self.make_fix((node, replacement), imports=[ImportSpec("asyncio")])
