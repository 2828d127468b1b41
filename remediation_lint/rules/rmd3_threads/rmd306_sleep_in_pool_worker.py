from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.threads import POOL, ast_thread_info, thread_info
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Call(self, node: ast.Call) -> None:
        ctx = self.context
        if ctx.qualified(node.func) != "time.sleep":
            return
        func = ctx.enclosing_function()
        if not isinstance(func, ast.FunctionDef):
            return
        info = ast_thread_info(ctx)
        if POOL not in info.kinds(func):
            return
        self.report(node, func=func.name, why=info.why(func))


class SleepInPoolWorker(Rule):
    """`time.sleep()` in a function run on a thread pool holds a worker slot while doing nothing.

    ## What it does
    Finds `time.sleep(...)` (also `from time import sleep`) inside a function that runs on a thread
    pool: passed to `executor.submit()`/`executor.map()`, `loop.run_in_executor()` or
    `asyncio.to_thread()`, or called as `self.m()` from such a method. Sleeps in dedicated threads
    (`threading.Thread(target=...)`, a `Thread` subclass's `run`) are left alone: there the thread is
    the program's own.

    ## Why is this bad?
    A pool has a fixed number of workers. A task that sleeps before it starts, or between retries,
    keeps its worker busy for the whole delay, so the other queued tasks wait even though nothing is
    running: parallelism drops and short tasks starve behind sleeping ones. TASKER's parallel executor
    (plan item 9) slept inside pool workers for task delays and retry back-offs.

    ## Fix
    Wait outside the pool: schedule the delayed work with `await asyncio.sleep(delay)` before
    `run_in_executor`, or with a `threading.Timer` that submits the task when the delay is over.
    """

    code = "RMD306"
    ast_checker = _Fast
    name = "sleep-in-pool-worker"
    message = "time.sleep() in {func}() ({why}) blocks a pool worker: wait outside the pool (asyncio.sleep before run_in_executor, or a Timer)"
    severity = Severity.MEDIUM
    default = Default.PREVIEW
    provenance = (
        Provenance(
            "003_a4879ce62f499f62.txt",
            "Medium priority, item 9 (sleep blocks worker threads)",
            "tasker",
        ),
    )
    triggers = (b"sleep",)

    VALID = [
        Valid(
            """
            import asyncio

            class ParallelExecutor:
                def _execute(self, task):
                    return task.run()

                async def delayed_execution(self, delay, task):
                    await asyncio.sleep(delay)
                    loop = asyncio.get_running_loop()
                    return await loop.run_in_executor(None, self._execute, task)
            """
        ),
        Valid(
            """
            import threading
            import time

            class Heartbeat:
                def __init__(self):
                    self._stop = threading.Event()
                    self._thread = threading.Thread(target=self._beat, daemon=True)

                def _beat(self):
                    while not self._stop.is_set():
                        self.send()
                        time.sleep(5)
            """
        ),
        Valid(
            """
            import time
            from concurrent.futures import ThreadPoolExecutor

            def run_all(tasks):
                time.sleep(1)
                with ThreadPoolExecutor(max_workers=4) as pool:
                    return list(pool.map(run, tasks))

            def run(task):
                return task()
            """
        ),
        Valid(
            """
            import threading
            import time

            class Poller(threading.Thread):
                def run(self):
                    for _ in range(3):
                        time.sleep(0.5)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import time
            from concurrent.futures import ThreadPoolExecutor

            class ParallelExecutor:
                def _execute_single_task(self, task):
                    if task.delay:
                        time.sleep(task.delay)
                    return task.run()

                def execute_parallel(self, tasks):
                    with ThreadPoolExecutor(max_workers=4) as executor:
                        return [executor.submit(self._execute_single_task, t) for t in tasks]
            """,
            line=7,
        ),
        Invalid(
            """
            from time import sleep
            from concurrent.futures import ThreadPoolExecutor

            def fetch(url, retries=3):
                for attempt in range(retries):
                    try:
                        return download(url)
                    except OSError:
                        sleep(2)

            def fetch_all(urls):
                with ThreadPoolExecutor(max_workers=8) as pool:
                    return list(pool.map(fetch, urls))
            """,
            line=9,
        ),
        Invalid(
            """
            import asyncio
            import time

            class Indexer:
                def _index(self, doc):
                    self._wait_for_quota()
                    return doc.index()

                def _wait_for_quota(self):
                    time.sleep(0.2)

                async def index(self, doc):
                    return await asyncio.to_thread(self._index, doc)
            """,
            line=10,
        ),
        Invalid(
            """
            import asyncio
            import time as t

            async def main(jobs):
                loop = asyncio.get_running_loop()

                def job(n):
                    t.sleep(n)
                    return n

                return await asyncio.gather(*(loop.run_in_executor(None, job, n) for n in jobs))
            """,
            line=8,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.context
        if ctx.qualified(node.func) != "time.sleep":
            return
        func = ctx.enclosing_function()
        if not isinstance(func, cst.FunctionDef) or func.asynchronous is not None:
            return
        info = thread_info(ctx)
        if POOL not in info.kinds(func):
            return
        self.report(node, func=func.name.value, why=info.why(func))
