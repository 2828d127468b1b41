from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.threads import (
    ast_enclosing_class_node,
    ast_thread_info,
    ast_under_lock,
    enclosing_class_node,
    lock_attrs,
    thread_info,
    under_lock,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.threads import (
    EVENT_CLASSES,
    LOCK_CLASSES,
    MUTATING_METHODS,
    THREAD_SAFE_CONTAINERS,
)
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_SKIP_CTORS = THREAD_SAFE_CONTAINERS | LOCK_CLASSES | EVENT_CLASSES


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        attr = _ast_self_attr(node.target, allow_subscript=True)
        if attr is not None:
            self._check(node, attr)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript):
                attr = _ast_self_attr(target, allow_subscript=True)
                if attr is not None:
                    self._check(node, attr)
                    return

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in MUTATING_METHODS:
            attr = _ast_self_attr(func.value, allow_subscript=False)
            if attr is not None:
                self._check(node, attr)

    def _check(self, node: ast.AST, attr: str) -> None:
        ctx = self.context
        func = ctx.enclosing_function()
        if not isinstance(func, ast.FunctionDef):
            return
        info = ast_thread_info(ctx)
        if not info.kinds(func):
            return
        cls = info.class_info(ast_enclosing_class_node(ctx))
        if cls is not None and cls.attr_ctors.get(attr, set()) & _SKIP_CTORS:
            return
        locked = ast_under_lock(ctx, lock_attrs(cls))
        if locked is None:
            self.defer()
            return
        if locked:
            return
        self.report(node, attr=attr, func=func.name, why=info.why(func))


def _ast_self_attr(expr: ast.AST, *, allow_subscript: bool) -> str | None:
    if allow_subscript and isinstance(expr, ast.Subscript):
        expr = expr.value
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
        return expr.attr
    return None


class UnlockedSharedState(Rule):
    """A method that runs on another thread mutates `self` state without holding a lock.

    ## What it does
    Finds methods (and functions defined inside them) that run on a worker thread, because they are
    passed as `threading.Thread(target=...)`, to `executor.submit()`/`executor.map()`,
    `loop.run_in_executor()` or `asyncio.to_thread()`, are the `run()` of a `Thread` subclass, or are
    called as `self.m()` from such a method, and that mutate an attribute of `self` (`+=`, item
    assignment, `append`/`extend`/`pop`/`update`/`clear`/...) outside a `with <lock>:` block.
    Attributes holding a `queue.Queue`, a `collections.deque`, a `threading.local()`, a lock or an
    event are left alone, as is code in a function that `acquire()`s a lock.

    ## Why is this bad?
    `self.completed_count += 1` is a read, an add and a write; two workers interleave them and one
    update is lost. Dictionaries and lists updated from several workers end up inconsistent with the
    counters that describe them. TASKER's parallel executor (plan item 1, `parallel_executor.py:129-140`)
    updated its results and counters from pool workers this way: data corruption and unpredictable
    behaviour under load.

    ## Fix
    Create one `threading.Lock()` in `__init__` and wrap every modification of the shared state in
    `with self._state_lock:`; or hand results back through a `queue.Queue` or the futures' return
    values and update the state on one thread.
    """

    code = "RMD301"
    ast_checker = _Fast
    name = "unlocked-shared-state"
    message = "self.{attr} is mutated in {func}() ({why}) without a lock: wrap it in `with self._state_lock:`"
    severity = Severity.CRITICAL
    provenance = (
        Provenance(
            "003_a4879ce62f499f62.txt",
            "Critical priority, item 1 (race conditions in parallel_executor.py:129-140)",
            "tasker",
        ),
    )
    triggers = (b"Thread", b"submit", b"run_in_executor", b"to_thread", b".map(")

    VALID = [
        Valid(
            """
            import threading
            from concurrent.futures import ThreadPoolExecutor

            class ParallelExecutor:
                def __init__(self):
                    self._state_lock = threading.Lock()
                    self.results = {}
                    self.completed_count = 0

                def _run_task(self, task):
                    result = task.run()
                    with self._state_lock:
                        self.results[task.id] = result
                        self.completed_count += 1

                def execute(self, tasks):
                    with ThreadPoolExecutor(max_workers=4) as executor:
                        for task in tasks:
                            executor.submit(self._run_task, task)
            """
        ),
        Valid(
            """
            import queue
            import threading

            class Collector:
                def __init__(self):
                    self.events = queue.Queue()
                    self._worker = threading.Thread(target=self._listen, daemon=True)

                def _listen(self):
                    while True:
                        self.events.put(self.read())
            """
        ),
        Valid(
            """
            class Report:
                def __init__(self):
                    self.lines = []
                    self.count = 0

                def add(self, line):
                    self.lines.append(line)
                    self.count += 1
            """
        ),
        Valid(
            """
            import threading

            class Worker(threading.Thread):
                def __init__(self):
                    super().__init__()
                    self._local = threading.local()
                    self._lock = threading.Lock()
                    self.seen = set()

                def run(self):
                    self._local.buffer = []
                    self._local.buffer.append(1)
                    self._lock.acquire()
                    try:
                        self.seen.add(1)
                    finally:
                        self._lock.release()
            """
        ),
        Valid(
            """
            from concurrent.futures import ThreadPoolExecutor

            class Pipeline:
                def __init__(self):
                    self.results = []

                def _run(self, item):
                    return item * 2

                def execute(self, items):
                    with ThreadPoolExecutor(max_workers=4) as pool:
                        for value in pool.map(self._run, items):
                            self.results.append(value)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from concurrent.futures import ThreadPoolExecutor

            class ParallelExecutor:
                def __init__(self):
                    self.results = {}
                    self.completed_count = 0

                def _run_task(self, task):
                    result = task.run()
                    self.results[task.id] = result
                    self.completed_count += 1

                def execute(self, tasks):
                    with ThreadPoolExecutor(max_workers=4) as executor:
                        for task in tasks:
                            executor.submit(self._run_task, task)
            """,
            line=10,
            count=2,
        ),
        Invalid(
            """
            import threading

            class Recorder:
                def __init__(self):
                    self.frames = []
                    self._thread = threading.Thread(target=self._capture, daemon=True)

                def _capture(self):
                    while True:
                        self.frames.append(self.grab())
            """,
            line=10,
        ),
        Invalid(
            """
            import threading

            class Poller(threading.Thread):
                def __init__(self):
                    super().__init__(daemon=True)
                    self.stats = {}

                def run(self):
                    self._tick()

                def _tick(self):
                    self.stats.update(polls=1)
            """,
            line=12,
        ),
        Invalid(
            """
            import asyncio

            class Indexer:
                def __init__(self):
                    self.failed = set()

                def _index(self, doc):
                    try:
                        doc.index()
                    except OSError:
                        self.failed.add(doc.id)

                async def index_all(self, docs):
                    loop = asyncio.get_running_loop()
                    for doc in docs:
                        await loop.run_in_executor(None, self._index, doc)
            """,
            line=11,
        ),
        Invalid(
            """
            from threading import Thread

            class Downloader:
                def __init__(self):
                    self.done = 0

                def start(self, urls):
                    def fetch(url):
                        self.done += 1

                    for url in urls:
                        Thread(target=fetch, args=(url,)).start()
            """,
            line=9,
        ),
    ]

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        attr = _self_attr(node.target, allow_subscript=True)
        if attr is not None:
            self._check(node, attr)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Subscript):
                attr = _self_attr(target.target, allow_subscript=True)
                if attr is not None:
                    self._check(node, attr)
                    return

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in MUTATING_METHODS:
            attr = _self_attr(func.value, allow_subscript=False)
            if attr is not None:
                self._check(node, attr)

    def _check(self, node: cst.CSTNode, attr: str) -> None:
        ctx = self.context
        func = ctx.enclosing_function()
        if not isinstance(func, cst.FunctionDef) or func.asynchronous is not None:
            return
        info = thread_info(ctx)
        if not info.kinds(func):
            return
        cls = info.class_info(enclosing_class_node(ctx))
        if cls is not None and cls.attr_ctors.get(attr, set()) & _SKIP_CTORS:
            return
        if under_lock(ctx, lock_attrs(cls)):
            return
        self.report(node, attr=attr, func=func.name.value, why=info.why(func))


def _self_attr(expr: cst.BaseExpression, *, allow_subscript: bool) -> str | None:
    """``attr`` for ``self.attr`` (and ``self.attr[k]`` when allowed)."""
    if allow_subscript and isinstance(expr, cst.Subscript):
        expr = expr.value
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
        return expr.attr.value
    return None
