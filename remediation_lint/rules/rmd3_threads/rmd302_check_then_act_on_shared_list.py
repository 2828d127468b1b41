from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk

import libcst as cst

from remediation_lint.analysis.threads import (
    ast_call_args,
    ast_enclosing_class_node,
    ast_thread_info,
    ast_under_lock,
    enclosing_class_node,
    lock_attrs,
    thread_info,
    under_lock,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.threads import THREAD_SAFE_CONTAINERS
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._appenders: dict[tuple[int, str], set[str]] = {}
        self._pending: list[tuple[ast.AST, ast.ClassDef, str, str]] = []

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        attr = _ast_self_attr(func.value)
        if attr is None:
            return
        method = func.attr
        if method in ("append", "extend", "insert"):
            cls = ast_enclosing_class_node(self.context)
            fn = self.context.enclosing_function()
            if cls is not None and isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._appenders.setdefault((id(cls), attr), set()).add(fn.name)
            return
        if method == "pop":
            args = ast_call_args(node)
            if len(args) == 1 and _ast_is_zero(self.context, args[0][1]):
                self._check(node, attr, "pop(0)", allow_unchecked=True)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        index = node.slice
        if isinstance(index, ast.Tuple):
            if len(index.elts) == 1 and _ast_is_zero(self.context, index.elts[0]) and _ast_self_attr(node.value):
                self.defer()  # `x[0,]` is one LibCST element, `x[(0,)]` is not: not worth telling apart
            return
        if isinstance(index, ast.Slice) or not _ast_is_zero(self.context, index):
            return
        attr = _ast_self_attr(node.value)
        if attr is None:
            return
        parent = self.context.parent()
        if isinstance(parent, ast.Assign) and any(t is node for t in parent.targets):
            return
        if isinstance(parent, ast.Delete):
            if len(parent.targets) == 1:
                if (parent.end_lineno, parent.end_col_offset) != (node.end_lineno, node.end_col_offset):
                    self.defer()  # `del x[0],` (a LibCST tuple) or `del (x[0])`
                return
        self._check(node, attr, "[0]", allow_unchecked=False)

    def _check(self, node: ast.AST, attr: str, what: str, *, allow_unchecked: bool) -> None:
        ctx = self.context
        cls_node = ast_enclosing_class_node(ctx)
        fn = ctx.enclosing_function()
        if cls_node is None or not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        if not _ast_checked(ctx, attr):
            if allow_unchecked:
                locked = ast_under_lock(ctx, lock_attrs(ast_thread_info(ctx).class_info(cls_node)))
                if locked is None:
                    self.defer()
                elif not locked:
                    self._pending.append((node, cls_node, attr, fn.name))
            return
        info = ast_thread_info(ctx)
        cls = info.class_info(cls_node)
        if cls is None or not cls.runs_threads:
            return
        if cls.attr_ctors.get(attr, set()) & THREAD_SAFE_CONTAINERS:
            return
        locked = ast_under_lock(ctx, lock_attrs(cls))
        if locked is None:
            self.defer()
        elif not locked:
            self.report(node, what=f"check-then-{what}", attr=attr)

    def finish(self) -> None:
        info = None
        for node, cls_node, attr, method in self._pending:
            appenders = self._appenders.get((id(cls_node), attr), set()) - {method}
            if not appenders:
                continue
            info = info or ast_thread_info(self.context)
            cls = info.class_info(cls_node)
            if cls is None or not cls.runs_threads or cls.attr_ctors.get(attr, set()) & THREAD_SAFE_CONTAINERS:
                continue
            popper = cls.methods.get(method)
            if not (info.kinds(popper) or any(info.kinds(cls.methods.get(m)) for m in appenders)):
                continue
            self.report(node, what="pop(0) used as a queue between threads", attr=attr)


def _ast_self_attr(expr: ast.AST) -> str | None:
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
        return expr.attr
    return None


def _ast_is_zero(ctx, expr: ast.AST) -> bool:
    """A literal ``0`` (LibCST ``Integer`` "0": not ``00``, ``0x0``, ``False``)."""
    return (
        isinstance(expr, ast.Constant)
        and type(expr.value) is int
        and expr.value == 0
        and expr.lineno == expr.end_lineno
        and expr.end_col_offset - expr.col_offset == 1
    )


def _ast_checked(ctx, attr: str) -> bool:
    child = ctx.stack[-1]
    for node in ctx.ancestors():
        if isinstance(node, (ast.If, ast.While)) and node.test is not child:
            for sub in ast_walk(node.test):
                if isinstance(sub, ast.Attribute) and _ast_self_attr(sub) == attr:
                    return True
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return False
        child = node
    return False


class CheckThenActOnSharedList(Rule):
    """A list shared between threads is checked, then popped: another thread can empty it in between.

    ## What it does
    In a class that runs threads (it creates `threading.Thread`s or pools, submits its methods to
    them, or is a `Thread` subclass), finds `self.buf.pop(0)` and `self.buf[0]` under an `if`/`while`
    that tests the same list (`if len(self.buf) > 0:`, `if self.buf:`, `while self.buf:`), outside a
    lock; and `self.buf.pop(0)` on a list that another method of the class `append`s to, i.e. a plain
    list used as a queue between threads. Attributes holding a `queue.Queue` or a `collections.deque`
    and code under `with <lock>:` are left alone.

    ## Why is this bad?
    The check and the pop are two steps. Between them another thread can pop the last item, so the
    `pop(0)` raises `IndexError` (and the item the first thread saw is lost or processed twice). The AI
    System's face-recognition agent (plan task 9) shared `self.voice_buffer` between its capture and
    processing threads this way.

    ## Fix
    Use a `queue.Queue` (`put()`/`get(timeout=...)`), or hold one `threading.Lock` around the check and
    the pop, and around every append.
    """

    code = "RMD302"
    ast_checker = _Fast
    name = "check-then-act-on-shared-list"
    message = "{what} on self.{attr}, shared between threads without a lock: use queue.Queue, or hold a lock around the check and the pop"
    severity = Severity.MEDIUM
    provenance = (
        Provenance(
            "004_96ea4b1ca927ab99.txt",
            "Phase 3, Task 9 (data race on the shared voice_buffer list)",
            "ai_system",
        ),
    )
    triggers = (b"pop(0)", b"[0]")

    VALID = [
        Valid(
            """
            import queue
            import threading

            class FaceRecognitionAgent:
                def __init__(self):
                    self.voice_queue = queue.Queue()
                    self._thread = threading.Thread(target=self._process_voice, daemon=True)

                def _on_audio(self, chunk):
                    self.voice_queue.put(chunk)

                def _process_voice(self):
                    chunk = self.voice_queue.get(timeout=0.1)
                    self.analyze(chunk)
            """
        ),
        Valid(
            """
            import threading

            class Buffer:
                def __init__(self):
                    self._lock = threading.Lock()
                    self.items = []
                    self._thread = threading.Thread(target=self._drain)

                def add(self, item):
                    with self._lock:
                        self.items.append(item)

                def _drain(self):
                    with self._lock:
                        if self.items:
                            return self.items.pop(0)
            """
        ),
        Valid(
            """
            class History:
                def __init__(self):
                    self.entries = []

                def push(self, entry):
                    self.entries.append(entry)

                def oldest(self):
                    if self.entries:
                        return self.entries.pop(0)
            """
        ),
        Valid(
            """
            import collections
            import threading

            class Frames:
                def __init__(self):
                    self.frames = collections.deque(maxlen=30)
                    self._thread = threading.Thread(target=self._show)

                def _show(self):
                    if self.frames:
                        return self.frames[0]
            """
        ),
        Valid(
            """
            import threading

            class Planner:
                def __init__(self, steps):
                    self.steps = list(steps)
                    self._thread = threading.Thread(target=self.run)

                def run(self):
                    first = self.steps.pop()
                    if self.results:
                        return self.results[-1]
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import threading

            class FaceRecognitionAgent:
                def __init__(self):
                    self.voice_buffer = []
                    self._thread = threading.Thread(target=self._process_voice, daemon=True)

                def _on_audio(self, chunk):
                    self.voice_buffer.append(chunk)

                def _process_voice(self):
                    if len(self.voice_buffer) > 0:
                        chunk = self.voice_buffer.pop(0)
                        self.analyze(chunk)
            """,
            line=13,
        ),
        Invalid(
            """
            import threading

            class FrameGrabber(threading.Thread):
                def __init__(self):
                    super().__init__(daemon=True)
                    self.frames = []

                def latest(self):
                    if self.frames:
                        return self.frames[0]
            """,
            line=10,
        ),
        Invalid(
            """
            from concurrent.futures import ThreadPoolExecutor

            class Dispatcher:
                def __init__(self):
                    self.pending = []
                    self.pool = ThreadPoolExecutor(max_workers=4)

                def enqueue(self, job):
                    self.pending.append(job)
                    self.pool.submit(self._work)

                def _work(self):
                    job = self.pending.pop(0)
                    job.run()
            """,
            line=13,
        ),
        Invalid(
            """
            import threading

            class Speaker:
                def __init__(self):
                    self.queue = []
                    self._worker = threading.Thread(target=self._speak)

                def _speak(self):
                    while self.queue:
                        text = self.queue[0]
                        self.say(text)
                        self.queue.pop(0)
            """,
            line=10,
            count=2,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: (class, attr) -> methods that append to it
        self._appenders: dict[tuple[int, str], set[str]] = {}
        #: unchecked pops: (node, class, attr, method name)
        self._pending: list[tuple[cst.Call, cst.ClassDef, str, str]] = []

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        attr = _self_attr(func.value)
        if attr is None:
            return
        method = func.attr.value
        if method in ("append", "extend", "insert"):
            cls = enclosing_class_node(self.context)
            fn = self.context.enclosing_function()
            if cls is not None and isinstance(fn, cst.FunctionDef):
                self._appenders.setdefault((id(cls), attr), set()).add(fn.name.value)
            return
        if method == "pop" and len(node.args) == 1 and _is_zero(node.args[0].value):
            self._check(node, attr, "pop(0)", allow_unchecked=True)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return
        if not _is_zero(node.slice[0].slice.value):
            return
        attr = _self_attr(node.value)
        if attr is None:
            return
        parent = self.context.parent()
        if isinstance(parent, (cst.AssignTarget, cst.Del)):
            return
        self._check(node, attr, "[0]", allow_unchecked=False)

    def _check(self, node: cst.CSTNode, attr: str, what: str, *, allow_unchecked: bool) -> None:
        ctx = self.context
        cls_node = enclosing_class_node(ctx)
        fn = ctx.enclosing_function()
        if cls_node is None or not isinstance(fn, cst.FunctionDef):
            return
        if not _checked(ctx, attr):
            if allow_unchecked and not under_lock(ctx, lock_attrs(thread_info(ctx).class_info(cls_node))):
                self._pending.append((node, cls_node, attr, fn.name.value))  # type: ignore[arg-type]
            return
        if not self._shared(cls_node, attr):
            return
        self.report(node, what=f"check-then-{what}", attr=attr)

    def _shared(self, cls_node: cst.ClassDef, attr: str) -> bool:
        info = thread_info(self.context)
        cls = info.class_info(cls_node)
        if cls is None or not cls.runs_threads:
            return False
        if cls.attr_ctors.get(attr, set()) & THREAD_SAFE_CONTAINERS:
            return False
        return not under_lock(self.context, lock_attrs(cls))

    def finish(self) -> None:
        # pop(0) without a check: a list used as a queue when another method appends to it
        info = None
        for node, cls_node, attr, method in self._pending:
            appenders = self._appenders.get((id(cls_node), attr), set()) - {method}
            if not appenders:
                continue
            info = info or thread_info(self.context)
            cls = info.class_info(cls_node)
            if cls is None or not cls.runs_threads or cls.attr_ctors.get(attr, set()) & THREAD_SAFE_CONTAINERS:
                continue
            popper = cls.methods.get(method)
            if not (info.kinds(popper) or any(info.kinds(cls.methods.get(m)) for m in appenders)):
                continue
            self.report(node, what="pop(0) used as a queue between threads", attr=attr)


def _self_attr(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
        return expr.attr.value
    return None


def _is_zero(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Integer) and expr.value == "0"


class _AttrFinder(cst.CSTVisitor):
    def __init__(self, attr: str) -> None:
        self.attr = attr
        self.found = False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if _self_attr(node) == self.attr:
            self.found = True


def _checked(ctx, attr: str) -> bool:
    """Whether an enclosing ``if``/``while`` of the current function tests ``self.<attr>``."""
    child = ctx.stack[-1]
    for node in ctx.ancestors():
        if isinstance(node, (cst.If, cst.While)) and node.test is not child:
            finder = _AttrFinder(attr)
            node.test.visit(finder)
            if finder.found:
                return True
        elif isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        child = node
    return False
