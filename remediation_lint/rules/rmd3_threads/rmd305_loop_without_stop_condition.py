from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk, child_nodes

import libcst as cst

from remediation_lint.analysis.threads import (
    ClassThreads,
    ast_enclosing_class_node,
    ast_thread_info,
    enclosing_class_node,
    event_attrs,
    thread_info,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.threads import STOP_METHOD_PREFIXES, STOP_NAME_HINTS
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity, Valid


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_While(self, node: ast.While) -> None:
        test = node.test
        if not (
            isinstance(test, ast.Constant)
            and ((test.value is True) or (type(test.value) is int and test.value == 1 and _is_one_char(test)))
        ):
            return
        ctx = self.context
        func = ctx.enclosing_function()
        if not isinstance(func, ast.FunctionDef):
            return
        info = ast_thread_info(ctx)
        if not info.kinds(func):
            return
        if _ast_exits(node.body):
            return
        cls = info.class_info(ast_enclosing_class_node(ctx))
        event = None
        if cls is not None and _ast_is_method_of(func, cls):
            event = _ast_stop_event(cls, ctx)
            if event is _UNSURE:
                self.defer()
                return
        self.report(
            node,
            func=func.name,
            event=f"self.{event}" if event else "stop_event",
            fix=FixSafety.SAFE if event is not None else None,
        )


_UNSURE = object()


def _is_one_char(node: ast.AST) -> bool:
    """The literal is written ``1`` (LibCST ``Integer`` "1"), not ``0x1`` or ``0b1``."""
    return node.lineno == node.end_lineno and node.end_col_offset - node.col_offset == 1


def _ast_is_method_of(func: ast.FunctionDef, cls: ClassThreads) -> bool:
    params = func.args.args
    return cls.methods.get(func.name) is func and bool(params) and params[0].arg == "self"


def _ast_stop_event(cls: ClassThreads, ctx):
    events = event_attrs(cls)
    stopping = [e for e in events if any(h in e.lower() for h in STOP_NAME_HINTS)]
    if not stopping:
        set_in_stop = set()
        lines = None
        for name, method in cls.methods.items():
            if name.startswith(STOP_METHOD_PREFIXES):
                if lines is None:
                    lines = ctx.source.decode("utf-8", "replace").splitlines()
                first = min([method.lineno, *(d.lineno for d in method.decorator_list)])
                last = method.end_lineno
                core = "\n".join(lines[first - 1 : last])
                # LibCST's text of a def also holds the comments around it (leading lines, block footer)
                lo, hi = first - 1, last
                while lo > 0 and lines[lo - 1].strip().startswith("#") or (lo > 0 and not lines[lo - 1].strip()):
                    lo -= 1
                while hi < len(lines) and (not lines[hi].strip() or lines[hi].strip().startswith("#")):
                    hi += 1
                wide = "\n".join(lines[lo:hi])
                found = {e for e in events if f"self.{e}.set()" in core}
                if found != {e for e in events if f"self.{e}.set()" in wide}:
                    return _UNSURE
                set_in_stop |= found
        stopping = sorted(set_in_stop)
    return stopping[0] if len(stopping) == 1 else None


def _ast_exits(body: list[ast.stmt]) -> bool:
    """``_ExitFinder`` on the loop's body."""
    work: list[tuple[ast.AST, int]] = [(stmt, 0) for stmt in reversed(body)]
    while work:
        node, loops = work.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        inner = loops
        if isinstance(node, (ast.For, ast.AsyncFor)):
            inner = loops + 1
        elif isinstance(node, ast.While):
            if _ast_stop_name(node.test):
                return True
            inner = loops + 1
        elif isinstance(node, ast.Break):
            if loops == 0:
                return True
        elif isinstance(node, ast.Return):
            return True
        elif isinstance(node, ast.If):
            if _ast_stop_name(node.test):
                return True
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "is_set":
                return True
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name == "exit" or name == "_exit":
                return True
        for child in child_nodes(node):
            work.append((child, inner))
    return False


def _ast_stop_name(test: ast.AST) -> bool:
    """``_StopNameFinder``: a LibCST Name (a name, an attribute, a keyword, a parameter, True/False/None)."""
    for node in ast_walk(test):
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.keyword):
            text = node.arg or ""
        elif isinstance(node, ast.arg):
            text = node.arg
        elif isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, bool)):
            text = str(node.value)
        else:
            continue
        low = text.lower()
        if any(h in low for h in STOP_NAME_HINTS):
            return True
    return False


class LoopWithoutStopCondition(Rule):
    """`while True:` in a thread body with no way out: the thread ignores shutdown.

    ## What it does
    Finds `while True:` and `while 1:` loops in thread bodies (functions and methods passed as
    `threading.Thread(target=...)`, a `Thread` subclass's `run`, functions submitted to an executor or
    run by `run_in_executor`/`asyncio.to_thread`, and methods they call as `self.m()`) whose body has no
    `break`, no `return`, and checks no stop signal (`event.is_set()`, `event.wait()`, a `stop`/`running`/
    `shutdown` flag). Loops in `async def` are left alone: asyncio tasks stop by cancellation.

    ## Why is this bad?
    Such a thread can only end with the process. A non-daemon thread keeps the interpreter from
    exiting; a daemon thread is killed mid-iteration, with its socket, file or buffer half-written. The
    AI System's agents and exporters (plan task 12, `face_recognition_agent.py`) ran their background
    work in `while True:` loops that ignored every shutdown signal, so the process hung or had to be
    killed.

    ## Fix
    Loop on a `threading.Event`: `while not self._stop_event.is_set():`, set it in `stop()`, and wait with
    `self._stop_event.wait(timeout)` instead of `time.sleep()` so the signal is seen at once.

    ## Fix safety
    Safe, and offered only when the class owns exactly one `threading.Event` that is set in a stop
    method or named as a stop signal: while the event is not set the loop runs exactly as before.
    """

    code = "RMD305"
    ast_checker = _Fast
    name = "loop-without-stop-condition"
    message = "`while True:` in thread body {func}() never checks a stop signal: loop on `while not {event}.is_set():` and set it on shutdown"
    severity = Severity.LOW
    provenance = (
        Provenance(
            "004_96ea4b1ca927ab99.txt",
            "Phase 4, Task 12 (while True: loops in background threads without a stop condition)",
            "ai_system",
        ),
    )
    fix_safety = FixSafety.SAFE
    triggers = (b"while True", b"while 1")

    limitations = (
        "The Semgrep twin `rmd305-loop-without-stop-condition` counts a `break` that leaves only an inner "
        "loop as an exit, and sees thread targets only when `Thread(target=...)` or `submit(...)` is in "
        "the same class or module."
    )

    VALID = [
        Valid(
            """
            import threading

            class FaceRecognitionAgent:
                def __init__(self):
                    self._stop_event = threading.Event()
                    self._thread = threading.Thread(target=self._process_voice, daemon=True)

                def _process_voice(self):
                    while not self._stop_event.is_set():
                        self.step()
                        self._stop_event.wait(0.01)

                def stop(self):
                    self._stop_event.set()
                    self._thread.join(timeout=5)
            """
        ),
        Valid(
            """
            import queue
            import threading

            def consume(jobs: queue.Queue):
                while True:
                    job = jobs.get()
                    if job is None:
                        break
                    job()

            threading.Thread(target=consume, args=(queue.Queue(),)).start()
            """
        ),
        Valid(
            """
            import asyncio

            class Exporter:
                async def push_forever(self):
                    while True:
                        await self.push()
                        await asyncio.sleep(10)

                def start(self):
                    asyncio.create_task(self.push_forever())
            """
        ),
        Valid(
            """
            import threading

            class Listener(threading.Thread):
                def run(self):
                    while True:
                        if self.shutdown_requested:
                            return
                        self.poll()
            """
        ),
        Valid(
            """
            def main_loop(server):
                while True:
                    server.handle_request()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import threading

            class FaceRecognitionAgent:
                def __init__(self):
                    self._stop_event = threading.Event()
                    self._thread = threading.Thread(target=self._process_voice, daemon=True)

                def _process_voice(self):
                    while True:
                        self.step()

                def stop(self):
                    self._stop_event.set()
            """,
            fixed="""
            import threading

            class FaceRecognitionAgent:
                def __init__(self):
                    self._stop_event = threading.Event()
                    self._thread = threading.Thread(target=self._process_voice, daemon=True)

                def _process_voice(self):
                    while not self._stop_event.is_set():
                        self.step()

                def stop(self):
                    self._stop_event.set()
            """,
            line=9,
        ),
        Invalid(
            """
            import threading
            import time

            def export_metrics(registry):
                while 1:
                    registry.push()
                    time.sleep(15)

            threading.Thread(target=export_metrics, args=(None,), daemon=True).start()
            """,
            line=5,
        ),
        Invalid(
            """
            from threading import Event, Thread

            class Heartbeat(Thread):
                def __init__(self):
                    super().__init__(daemon=True)
                    self.shutdown_event = Event()

                def run(self):
                    while True:
                        for peer in self.peers:
                            if peer.dead:
                                break
                            peer.ping()
            """,
            fixed="""
            from threading import Event, Thread

            class Heartbeat(Thread):
                def __init__(self):
                    super().__init__(daemon=True)
                    self.shutdown_event = Event()

                def run(self):
                    while not self.shutdown_event.is_set():
                        for peer in self.peers:
                            if peer.dead:
                                break
                            peer.ping()
            """,
            line=9,
        ),
        Invalid(
            """
            import threading
            from concurrent.futures import ThreadPoolExecutor

            class Collector:
                def __init__(self):
                    self._ready = threading.Event()
                    self._pool = ThreadPoolExecutor(max_workers=2)

                def start(self):
                    self._pool.submit(self._drain)

                def _drain(self):
                    while True:
                        self.flush()
            """,
            line=13,
        ),
    ]

    def visit_While(self, node: cst.While) -> None:
        test = node.test
        if not ((isinstance(test, cst.Name) and test.value == "True") or (isinstance(test, cst.Integer) and test.value == "1")):
            return
        ctx = self.context
        func = ctx.enclosing_function()
        if not isinstance(func, cst.FunctionDef) or func.asynchronous is not None:
            return
        info = thread_info(ctx)
        if not info.kinds(func):
            return
        finder = _ExitFinder()
        node.body.visit(finder)
        if finder.found:
            return
        cls = info.class_info(enclosing_class_node(ctx))
        event = _stop_event(cls) if cls is not None and _is_method_of(func, cls) else None
        fix = None
        if event is not None:
            fix = self.make_fix((test, cst.parse_expression(f"not self.{event}.is_set()")))
        self.report(node, func=func.name.value, event=f"self.{event}" if event else "stop_event", fix=fix)


def _is_method_of(func: cst.FunctionDef, cls: ClassThreads) -> bool:
    params = func.params.params
    return cls.methods.get(func.name.value) is func and bool(params) and params[0].name.value == "self"


def _stop_event(cls: ClassThreads) -> str | None:
    """The class's one event that signals stop: set in a stop method, or named like a stop signal."""
    events = event_attrs(cls)
    stopping = [e for e in events if any(h in e.lower() for h in STOP_NAME_HINTS)]
    if not stopping:
        set_in_stop = set()
        for name, method in cls.methods.items():
            if name.startswith(STOP_METHOD_PREFIXES):
                text = cst.Module([]).code_for_node(method)
                set_in_stop |= {e for e in events if f"self.{e}.set()" in text}
        stopping = sorted(set_in_stop)
    return stopping[0] if len(stopping) == 1 else None


class _ExitFinder(cst.CSTVisitor):
    """A way out of the loop: its own ``break``, a ``return``, or a stop-signal check."""

    def __init__(self) -> None:
        self.found = False
        self.loops = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_For(self, node: cst.For) -> None:
        self.loops += 1

    def leave_For(self, node: cst.For) -> None:
        self.loops -= 1

    def visit_While(self, node: cst.While) -> None:
        self._check_test(node.test)
        self.loops += 1

    def leave_While(self, node: cst.While) -> None:
        self.loops -= 1

    def visit_Break(self, node: cst.Break) -> None:
        if self.loops == 0:
            self.found = True

    def visit_Return(self, node: cst.Return) -> None:
        self.found = True

    def visit_If(self, node: cst.If) -> None:
        self._check_test(node.test)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "is_set":
            self.found = True
        elif isinstance(func, (cst.Name, cst.Attribute)):
            name = func.attr.value if isinstance(func, cst.Attribute) else func.value
            if name == "exit" or name == "_exit":
                self.found = True

    def _check_test(self, test: cst.BaseExpression) -> None:
        finder = _StopNameFinder()
        test.visit(finder)
        self.found |= finder.found


class _StopNameFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        if any(h in node.value.lower() for h in STOP_NAME_HINTS):
            self.found = True
