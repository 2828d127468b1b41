from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

#: constructors of locks and semaphores (qualified)
LOCK_CONSTRUCTORS = frozenset(
    {
        f"{module}.{name}"
        for module in ("asyncio", "threading", "multiprocessing", "anyio", "trio")
        for name in ("Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "CapacityLimiter")
    }
)
#: sleep functions (qualified); the async ones count only when awaited
ASYNC_SLEEPS = frozenset({"asyncio.sleep", "anyio.sleep", "trio.sleep"})
SYNC_SLEEPS = frozenset({"time.sleep"})
#: name suffixes that mark a lock when nothing else is known
LOCK_SUFFIXES = ("lock", "locks", "semaphore", "semaphores", "sem", "mutex", "limiter")


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._assigned: dict[str, bool] = {}
        self._pending: list[tuple[ast.Call, str, list[str]]] = []
        self._suffixes = tuple(s.lower() for s in self.opts.get("lock_name_suffixes") or LOCK_SUFFIXES)

    def _record(self, target: ast.AST, value: ast.AST | None) -> None:
        text = ast_dotted(target)
        if text is None or value is None:
            return
        if isinstance(value, ast.Call):
            is_lock = self.context.qualified(value.func) in LOCK_CONSTRUCTORS
            self._assigned[text] = self._assigned.get(text, False) or is_lock

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._record(target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._record(node.target, node.value)

    def visit_Call(self, node: ast.Call) -> None:
        ctx = self.context
        func = node.func  # cheap screen: every sleep's last name part is ``sleep`` (or an imported name)
        if isinstance(func, ast.Attribute):
            if func.attr != "sleep":
                return
        elif not isinstance(func, ast.Name) or func.id not in ctx.imports:
            return
        qualified = ctx.qualified(func)
        if qualified in ASYNC_SLEEPS:
            if not isinstance(ctx.parent(), ast.Await):
                return
        elif qualified not in SYNC_SLEEPS:
            return
        if self._is_zero(node):
            return
        candidates: list[str] = []
        direct: str | None = None
        for ancestor in ctx.ancestors():
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                break
            if isinstance(ancestor, (ast.With, ast.AsyncWith)):
                for item in ancestor.items:
                    expr = item.context_expr
                    if isinstance(expr, ast.Call) and ctx.qualified(expr.func) in LOCK_CONSTRUCTORS:
                        direct = direct or ast_dotted(expr.func)
                        continue
                    if isinstance(expr, ast.Subscript):
                        expr = expr.value
                    text = ast_dotted(expr)
                    if text is not None:
                        candidates.append(text)
        if direct is None and not candidates:
            return
        sleep = ast_dotted(node.func) or qualified or "sleep"
        if direct is not None:
            self.report(node, sleep=sleep, lock=f"{direct}()")
            return
        self._pending.append((node, sleep, candidates))

    def finish(self) -> None:
        for node, sleep, candidates in self._pending:
            for text in candidates:
                if self._is_lock(text):
                    self.report(node, sleep=sleep, lock=text)
                    break

    def _is_lock(self, text: str) -> bool:
        known = self._assigned.get(text)
        if known is not None:
            return known
        last = text.rsplit(".", 1)[-1].lstrip("_").lower()
        return last.endswith(self._suffixes)

    def _is_zero(self, call: ast.Call) -> bool:
        """``_is_zero`` (LibCST: the first argument in source order is an Integer/Float literal equal to 0,
        in any spelling)."""
        if not call.args and not call.keywords:
            return False
        first: ast.AST = min([*call.args, *call.keywords], key=lambda a: (a.lineno, a.col_offset))
        if isinstance(first, (ast.keyword, ast.Starred)):
            first = first.value
        if not isinstance(first, ast.Constant) or type(first.value) not in (int, float):
            return False
        return first.value == 0


class SleepWhileHoldingLock(Rule):
    """A sleep inside `async with <semaphore/lock>` keeps the slot while doing nothing: release it first.

    ## What it does
    Finds `await asyncio.sleep(...)` (also `anyio.sleep`/`trio.sleep`) and `time.sleep(...)` inside the
    body of a `with`/`async with` whose context manager is a lock or semaphore: a call of
    `asyncio`/`threading` `Lock`, `RLock`, `Semaphore`, `BoundedSemaphore`, `Condition`; a name or
    attribute assigned from one in the module (`self._semaphore = asyncio.Semaphore(n)` in any method of
    the class); or, when nothing is known about it, a name ending in `lock`, `semaphore` or `sem`.
    Sleeps after the block, in nested functions, `sleep(0)` yields and sleeps under other context
    managers (`open`, `suppress`) are left alone.

    ## Why is this bad?
    The lock is held for the whole sleep. A retry back-off inside a concurrency semaphore takes one of
    the few execution slots for the full delay, so one failing task throttles every other task; with a
    mutex, every waiter stalls. The Orchestration Engine plan (item 3.1) found `_execute_task` sleeping
    for its retry back-off inside `async with self._semaphore`, blocking a slot for 80 seconds and more.

    ## Fix
    Leave the block before waiting: record the retry (`retry_after[task_id] = now + delay`), return, and
    let the scheduler re-dispatch the task later, or restructure so the sleep happens after the `async
    with` exits and the slot is acquired again for the next attempt.
    """

    code = "RMD203"
    ast_checker = _Fast
    name = "sleep-while-holding-lock"
    message = "{sleep}() while holding {lock}: the slot stays taken for the whole back-off; release it before sleeping"
    severity = Severity.HIGH
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 3, item 3.1 (semaphore held during retry sleep)", "orchestration_engine"),
    )
    triggers = (b"sleep",)
    options = {"lock_name_suffixes": LOCK_SUFFIXES}
    option_docs = {"lock_name_suffixes": "name endings that mark a lock when its constructor is not visible"}

    VALID = [
        Valid(
            """
            import asyncio
            import time

            class Executor:
                def __init__(self):
                    self._semaphore = asyncio.Semaphore(3)
                    self._retry_after: dict[str, float] = {}

                async def _execute_task(self, task):
                    async with self._semaphore:
                        try:
                            return await self._router.complete(task)
                        except TimeoutError:
                            self._retry_after[task["id"]] = time.time() + 5
                            return None
            """
        ),
        Valid(
            """
            import asyncio

            async def fetch_with_retry(sem: asyncio.Semaphore, op):
                for attempt in range(3):
                    async with sem:
                        ok = await op()
                    if ok:
                        return ok
                    await asyncio.sleep(2 ** attempt)
            """
        ),
        Valid(
            """
            import asyncio
            import contextlib
            import time

            async def poll(path):
                with open(path) as fh:
                    await asyncio.sleep(1)
                with contextlib.suppress(OSError):
                    time.sleep(0.1)
                return fh
            """
        ),
        Valid(
            """
            import asyncio

            class Worker:
                def __init__(self):
                    self._lock = asyncio.Lock()

                async def step(self):
                    async with self._lock:
                        await asyncio.sleep(0)

                    def later():
                        return asyncio.sleep(1)
                    return later
            """
        ),
        Valid(
            """
            import asyncio

            class Pool:
                def __init__(self):
                    self.session = make_session()

                async def ping(self):
                    async with self.session:
                        await asyncio.sleep(1)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio

            class Executor:
                def __init__(self, limit):
                    self._slots = asyncio.Semaphore(limit)

                async def _execute_task(self, task):
                    async with self._slots:
                        for attempt in range(5):
                            try:
                                return await self._router.complete(task)
                            except TimeoutError:
                                await asyncio.sleep(5 * 2 ** attempt)
            """,
            line=13,
        ),
        Invalid(
            """
            import threading
            import time

            _lock = threading.Lock()

            def reconnect(sock, delay):
                with _lock:
                    sock.close()
                    time.sleep(delay)
                    sock.connect()
            """,
            line=9,
        ),
        Invalid(
            """
            from asyncio import sleep

            async def refresh(self_cache_lock, key):
                async with self_cache_lock:
                    await sleep(1.5)
            """,
        ),
        Invalid(
            """
            import asyncio as aio
            import time as t

            class Crawler:
                async def crawl(self, url):
                    async with aio.BoundedSemaphore(4):
                        await aio.sleep(1)
                    with self._state_lock:
                        t.sleep(0.2)
            """,
            count=2,
        ),
        Invalid(
            """
            import asyncio

            class Agent:
                async def backoff(self, attempt):
                    async with self._locks[attempt % 4]:
                        if attempt:
                            await asyncio.sleep(attempt)
            """,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: dotted text -> True for names/attributes assigned from a lock constructor, False for other calls
        self._assigned: dict[str, bool] = {}
        #: (sleep call, sleep name, [candidate lock expressions' text, innermost first])
        self._pending: list[tuple[cst.Call, str, list[str]]] = []
        self._suffixes = tuple(s.lower() for s in self.opts.get("lock_name_suffixes") or LOCK_SUFFIXES)

    def _record(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        text = dotted_name(target)
        if text is None or value is None:
            return
        if isinstance(value, cst.Call):
            is_lock = self.context.qualified(value.func) in LOCK_CONSTRUCTORS
            self._assigned[text] = self._assigned.get(text, False) or is_lock

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._record(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._record(node.target, node.value)

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.context
        qualified = ctx.qualified(node.func)
        if qualified in ASYNC_SLEEPS:
            if not isinstance(ctx.parent(), cst.Await):
                return
        elif qualified not in SYNC_SLEEPS:
            return
        if _is_zero(node):
            return
        candidates: list[str] = []
        direct: str | None = None
        for ancestor in ctx.ancestors():
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                break
            if isinstance(ancestor, cst.With):
                for item in ancestor.items:
                    expr = item.item
                    if isinstance(expr, cst.Call) and ctx.qualified(expr.func) in LOCK_CONSTRUCTORS:
                        direct = direct or ctx.dotted(expr.func)
                        continue
                    if isinstance(expr, cst.Subscript):
                        expr = expr.value
                    text = dotted_name(expr)
                    if text is not None:
                        candidates.append(text)
        if direct is None and not candidates:
            return
        sleep = dotted_name(node.func) or qualified or "sleep"
        if direct is not None:
            self.report(node, sleep=sleep, lock=f"{direct}()")
            return
        self._pending.append((node, sleep, candidates))

    def finish(self) -> None:
        for node, sleep, candidates in self._pending:
            for text in candidates:
                if self._is_lock(text):
                    self.report(node, sleep=sleep, lock=text)
                    break

    def _is_lock(self, text: str) -> bool:
        known = self._assigned.get(text)
        if known is not None:
            return known
        last = text.rsplit(".", 1)[-1].lstrip("_").lower()
        return last.endswith(self._suffixes)


def _is_zero(call: cst.Call) -> bool:
    if not call.args:
        return False
    value = call.args[0].value
    # literal_eval reads every spelling of a number (0x0, 0o0, 0_0, 0e0), float() only the decimal ones
    return isinstance(value, (cst.Integer, cst.Float)) and ast.literal_eval(value.value) == 0
