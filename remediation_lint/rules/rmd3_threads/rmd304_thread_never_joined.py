from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst

from remediation_lint.analysis.names import ast_dotted
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

_THREAD_CTORS = frozenset({"threading.Thread"})


@dataclass
class _Signal:
    """``<recv>.<event>.set()`` or ``<recv>.<flag> = False``: a component is told to stop."""

    cls: cst.ClassDef  # the class whose method sends the signal
    method: cst.FunctionDef | None  # that method
    ref: str | None  # None for ``self``; ``servicer`` for ``self.servicer``
    attr: str  # the event or flag attribute
    is_event: bool
    statement: cst.SimpleStatementLine | None


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._signals: list[_Signal] = []
        self._starts: dict[tuple[int, str], ast.Call] = {}
        self._joined: set[str] = set()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        method = func.attr
        if method == "join":
            if isinstance(func.value, ast.Attribute):
                self._joined.add(func.value.attr)
            return
        if method not in ("start", "set"):
            return
        dotted = ast_dotted(func.value)
        if dotted is None or not dotted.startswith("self."):
            return
        parts = dotted.split(".")
        cls = ast_enclosing_class_node(self.context)
        if cls is None:
            return
        if method == "start" and len(parts) == 2:
            self._starts.setdefault((id(cls), parts[1]), node)
        elif method == "set" and len(parts) in (2, 3):
            self._signals.append(
                _Signal(cls, self._method(), parts[1] if len(parts) == 3 else None, parts[-1], True, self._statement())  # type: ignore[arg-type]
            )

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, bool)):
            return
        for target in node.targets:
            dotted = ast_dotted(target)
            if dotted is None or not dotted.startswith("self.") or dotted.count(".") not in (1, 2):
                continue
            parts = dotted.split(".")
            flag = parts[-1]
            if not any(hint in flag.lower() for hint in STOP_NAME_HINTS):
                continue
            positive = any(word in flag.lower() for word in ("running", "alive", "active"))
            if (value.value is False) != positive:
                continue
            cls = ast_enclosing_class_node(self.context)
            if cls is not None:
                self._signals.append(
                    _Signal(cls, self._method(), parts[1] if len(parts) == 3 else None, flag, False, self._statement())  # type: ignore[arg-type]
                )

    def _method(self):
        method = None
        for node in reversed(self.context.scopes):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                method = node
            elif isinstance(node, ast.ClassDef):
                return method
        return None

    def _statement(self):
        """Truthy when LibCST finds a ``SimpleStatementLine`` around the node: the innermost statement is a
        simple one on its own line (not a one-line suite ``if x: stop.set()``)."""
        stack = self.context.stack
        for i in range(len(stack) - 1, 0, -1):
            stmt = stack[i]
            if not isinstance(stmt, ast.stmt):
                continue
            if isinstance(stmt, _COMPOUND):
                return None
            parent = stack[i - 1]
            if isinstance(parent, ast.Module):
                return stmt
            for field in ("body", "orelse", "finalbody"):
                block = getattr(parent, field, None)
                if isinstance(block, list) and any(s is stmt for s in block):
                    first = block[0]
                    line = self.context.source.splitlines()[first.lineno - 1]
                    return stmt if not line[: first.col_offset].strip() else None
            return None
        return None

    def finish(self) -> None:
        if not self._signals or not self._starts:
            return
        info = ast_thread_info(self.context)
        by_name = {c.name: c for c in info.classes.values()}
        for cls in info.classes.values():
            threads = [
                attr
                for attr in cls.attrs_of(_THREAD_CTORS)
                if (id(cls.node), attr) in self._starts and attr not in self._joined
            ]
            if not threads:
                continue
            signals = _signals_for(self._signals, cls, info, by_name)
            if not signals:
                continue
            in_stop = [s for s in signals if s.method is not None and _is_stop_method(s.method.name)]
            if not in_stop:
                for thread in threads:
                    first = signals[0].method
                    self.report(
                        self._starts[(id(cls.node), thread)],
                        owner=cls.name, thread=thread, method=first.name if first is not None else "<module>",
                        path=f"self.{thread}",
                    )
                continue
            seen: set[int] = set()
            for signal in in_stop:
                if id(signal.method) in seen:
                    continue
                seen.add(id(signal.method))
                prefix = "self" if signal.ref is None else f"self.{signal.ref}"
                for thread in threads:
                    fix = None
                    if len(threads) == 1 and isinstance(signal.method, ast.FunctionDef) and signal.statement is not None:
                        fix = FixSafety.SAFE
                    self.report(
                        signal.method, owner=cls.name, thread=thread, method=signal.method.name,
                        path=f"{prefix}.{thread}", fix=fix,
                    )


_COMPOUND = (
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
    ast.AsyncFunctionDef, ast.ClassDef, ast.Match, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()),
)


def _signals_for(all_signals, cls: ClassThreads, info, by_name) -> list[_Signal]:
    events = set(event_attrs(cls))
    out = []
    for signal in all_signals:
        if signal.is_event and signal.attr not in events:
            continue
        if signal.ref is None:
            if signal.cls is cls.node:
                out.append(signal)
            continue
        owner = info.class_info(signal.cls)
        if owner is None:
            continue
        ctors = owner.attr_ctors.get(signal.ref, set())
        if cls.name in ctors and by_name.get(cls.name) is cls:
            out.append(signal)
    return out


class ThreadNeverJoined(Rule):
    """A thread told to stop is never joined: shutdown races with the work it is still doing.

    ## What it does
    Finds classes that store a started `threading.Thread` on `self` (`self._worker =
    threading.Thread(...)` and `self._worker.start()`) and stop it from a stop method (`stop`, `close`,
    `shutdown`, `terminate`, `cleanup`, `__exit__`, ...) by setting its `threading.Event` or a stop flag,
    either on `self` or through an attribute that holds an instance of the class (`self.servicer.
    _lease_sweeper_stop.set()`), while no code of the module ever calls `join()` on that thread. The
    finding sits on the stop method's `def`; when the signal is sent outside any stop method, on the
    thread's `start()`.

    ## Why is this bad?
    Setting the event only asks the thread to finish; the stop method returns while the thread may
    still be in the middle of an iteration, touching state that the rest of shutdown is tearing down.
    In the AI System's ModelOps coordinator (plan task 8) the GPU lease-sweeper thread was signalled
    but never joined, racing with interpreter shutdown: incomplete VRAM accounting and unclean exits.

    ## Fix
    After the signal, `join()` the thread with a timeout: `self._worker.join(timeout=5)`.

    ## Fix safety
    Safe: the fix inserts `<thread>.join(timeout=5)` right after the signal in a synchronous stop method,
    only when the class owns exactly one thread; the join waits at most five seconds for a thread that
    has already been told to stop.
    """

    code = "RMD304"
    ast_checker = _Fast
    name = "thread-never-joined"
    message = "{owner}.{thread} is told to stop in {method}() but never joined: call {path}.join(timeout=5) after the signal"
    severity = Severity.MEDIUM
    provenance = (
        Provenance(
            "004_96ea4b1ca927ab99.txt",
            "Phase 3, Task 8 (GPU lease-sweeper thread signalled but never joined)",
            "ai_system",
        ),
    )
    fix_safety = FixSafety.SAFE
    triggers = (b"Thread",)

    VALID = [
        Valid(
            """
            import threading

            class LeaseSweeper:
                def __init__(self):
                    self._stop = threading.Event()
                    self._thread = threading.Thread(target=self._sweep, daemon=True)
                    self._thread.start()

                def _sweep(self):
                    while not self._stop.wait(0.1):
                        self.reap()

                def stop(self):
                    self._stop.set()
                    self._thread.join(timeout=5)
            """
        ),
        Valid(
            """
            import threading

            class Exporter:
                def __init__(self):
                    self._stop = threading.Event()
                    self._worker = threading.Thread(target=self._run)
                    self._worker.start()

                def _run(self):
                    while not self._stop.is_set():
                        self.flush()

                def close(self):
                    try:
                        self._stop.set()
                    finally:
                        self._worker.join()
            """
        ),
        Valid(
            """
            import threading

            class Heartbeat:
                def __init__(self):
                    self._thread = threading.Thread(target=self._beat, daemon=True)
                    self._thread.start()

                def _beat(self):
                    while True:
                        self.ping()
            """
        ),
        Valid(
            """
            import threading

            class Monitor:
                def __init__(self):
                    self._stop = threading.Event()
                    self._thread = threading.Thread(target=self._loop, daemon=True)

                def start(self):
                    self._thread.start()

                def stop(self):
                    self._stop.set()

            def shutdown(monitor):
                monitor.stop()
                monitor._thread.join(timeout=2)
            """
        ),
        Valid(
            """
            import threading

            class Flusher:
                def __init__(self):
                    self._stop = threading.Event()

                def stop(self):
                    self._stop.set()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import threading

            class ModelOpsServicer:
                def __init__(self, core):
                    self.core = core
                    self._lease_sweeper_stop = threading.Event()
                    self._lease_sweeper = threading.Thread(target=self._sweep_leases, daemon=True)
                    self._lease_sweeper.start()

                def _sweep_leases(self):
                    while not self._lease_sweeper_stop.wait(1.0):
                        self.core.reap_expired()

            class GRPCServer:
                def __init__(self, core):
                    self.servicer = ModelOpsServicer(core)

                def stop(self):
                    self.servicer._lease_sweeper_stop.set()
                    self.server.stop(5)
            """,
            fixed="""
            import threading

            class ModelOpsServicer:
                def __init__(self, core):
                    self.core = core
                    self._lease_sweeper_stop = threading.Event()
                    self._lease_sweeper = threading.Thread(target=self._sweep_leases, daemon=True)
                    self._lease_sweeper.start()

                def _sweep_leases(self):
                    while not self._lease_sweeper_stop.wait(1.0):
                        self.core.reap_expired()

            class GRPCServer:
                def __init__(self, core):
                    self.servicer = ModelOpsServicer(core)

                def stop(self):
                    self.servicer._lease_sweeper_stop.set()
                    self.servicer._lease_sweeper.join(timeout=5)
                    self.server.stop(5)
            """,
            line=18,
        ),
        Invalid(
            """
            from threading import Event, Thread

            class MetricsExporter:
                def __init__(self):
                    self._shutdown = Event()
                    self._pusher = Thread(target=self._push_loop, daemon=True)

                def start(self):
                    self._pusher.start()

                def _push_loop(self):
                    while not self._shutdown.is_set():
                        self.push()

                def shutdown(self):
                    if not self._shutdown.is_set():
                        self._shutdown.set()
                    self.log("exporter stopped")
            """,
            fixed="""
            from threading import Event, Thread

            class MetricsExporter:
                def __init__(self):
                    self._shutdown = Event()
                    self._pusher = Thread(target=self._push_loop, daemon=True)

                def start(self):
                    self._pusher.start()

                def _push_loop(self):
                    while not self._shutdown.is_set():
                        self.push()

                def shutdown(self):
                    if not self._shutdown.is_set():
                        self._shutdown.set()
                        self._pusher.join(timeout=5)
                    self.log("exporter stopped")
            """,
            line=15,
        ),
        Invalid(
            """
            import threading

            class Poller:
                def __init__(self):
                    self._running = True
                    self._thread = threading.Thread(target=self._poll)
                    self._thread.start()

                def _poll(self):
                    while self._running:
                        self.tick()

                def close(self):
                    self._running = False
            """,
            fixed="""
            import threading

            class Poller:
                def __init__(self):
                    self._running = True
                    self._thread = threading.Thread(target=self._poll)
                    self._thread.start()

                def _poll(self):
                    while self._running:
                        self.tick()

                def close(self):
                    self._running = False
                    self._thread.join(timeout=5)
            """,
            line=13,
        ),
        Invalid(
            """
            import threading

            class Recorder:
                def __init__(self):
                    self._stop = threading.Event()
                    self._capture = threading.Thread(target=self._grab)
                    self._encode = threading.Thread(target=self._write)
                    self._capture.start()
                    self._encode.start()

                async def aclose(self):
                    self._stop.set()
            """,
            count=2,
            line=11,
        ),
        Invalid(
            """
            import threading

            class Watcher:
                def __init__(self):
                    self._stop = threading.Event()
                    self._thread = threading.Thread(target=self._watch)

                def run_forever(self):
                    self._thread.start()

                def on_signal(self, signum, frame):
                    self._stop.set()
            """,
            line=9,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._signals: list[_Signal] = []
        #: (id(class), thread attr) -> the ``self.<attr>.start()`` call
        self._starts: dict[tuple[int, str], cst.Call] = {}
        #: attribute names that something calls ``.join()`` on
        self._joined: set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method == "join":
            if isinstance(func.value, cst.Attribute):
                self._joined.add(func.value.attr.value)
            return
        if method not in ("start", "set"):
            return
        dotted = self.context.dotted(func.value)
        if dotted is None or not dotted.startswith("self."):
            return
        parts = dotted.split(".")
        cls = enclosing_class_node(self.context)
        if cls is None:
            return
        if method == "start" and len(parts) == 2:
            self._starts.setdefault((id(cls), parts[1]), node)
        elif method == "set" and len(parts) in (2, 3):
            self._signals.append(
                _Signal(cls, self._method(), parts[1] if len(parts) == 3 else None, parts[-1], True, self._statement())
            )

    def visit_Assign(self, node: cst.Assign) -> None:
        if not (isinstance(node.value, cst.Name) and node.value.value in ("False", "True")):
            return
        for target in node.targets:
            dotted = self.context.dotted(target.target)
            if dotted is None or not dotted.startswith("self.") or dotted.count(".") not in (1, 2):
                continue
            parts = dotted.split(".")
            flag = parts[-1]
            if not any(hint in flag.lower() for hint in STOP_NAME_HINTS):
                continue
            # the stop value: ``_running = False``, ``_stopped = True``
            positive = any(word in flag.lower() for word in ("running", "alive", "active"))
            if (node.value.value == "False") != positive:
                continue
            cls = enclosing_class_node(self.context)
            if cls is not None:
                self._signals.append(
                    _Signal(cls, self._method(), parts[1] if len(parts) == 3 else None, flag, False, self._statement())
                )

    def _method(self) -> cst.FunctionDef | None:
        method = None
        for node in reversed(self.context.scopes):
            if isinstance(node, cst.FunctionDef):
                method = node
            elif isinstance(node, cst.ClassDef):
                return method
        return None

    def _statement(self) -> cst.SimpleStatementLine | None:
        for node in self.context.ancestors():
            if isinstance(node, cst.SimpleStatementLine):
                return node
        return None

    def finish(self) -> None:
        if not self._signals or not self._starts:
            return
        info = thread_info(self.context)
        by_name = {c.name: c for c in info.classes.values()}
        for cls in info.classes.values():
            threads = [
                attr
                for attr in cls.attrs_of(_THREAD_CTORS)
                if (id(cls.node), attr) in self._starts and attr not in self._joined
            ]
            if not threads:
                continue
            signals = self._signals_for(cls, info, by_name)
            if not signals:
                continue
            in_stop = [s for s in signals if s.method is not None and _is_stop_method(s.method.name.value)]
            if not in_stop:
                for thread in threads:
                    self.report(
                        self._starts[(id(cls.node), thread)],
                        owner=cls.name, thread=thread, method=_name(signals[0].method), path=f"self.{thread}",
                    )
                continue
            seen: set[int] = set()
            for signal in in_stop:
                assert signal.method is not None
                if id(signal.method) in seen:
                    continue
                seen.add(id(signal.method))
                prefix = "self" if signal.ref is None else f"self.{signal.ref}"
                for thread in threads:
                    fix = None
                    if len(threads) == 1 and signal.method.asynchronous is None and signal.statement is not None:
                        fix = self._join_fix(signal.statement, f"{prefix}.{thread}")
                    self.report(
                        signal.method, owner=cls.name, thread=thread, method=signal.method.name.value,
                        path=f"{prefix}.{thread}", fix=fix,
                    )

    def _signals_for(self, cls: ClassThreads, info, by_name: dict[str, ClassThreads]) -> list[_Signal]:
        events = set(event_attrs(cls))
        out = []
        for signal in self._signals:
            if signal.is_event and signal.attr not in events:
                continue
            if signal.ref is None:
                if signal.cls is cls.node:
                    out.append(signal)
                continue
            owner = info.class_info(signal.cls)
            if owner is None:
                continue
            ctors = owner.attr_ctors.get(signal.ref, set())
            if cls.name in ctors and by_name.get(cls.name) is cls:
                out.append(signal)
        return out

    def _join_fix(self, statement: cst.SimpleStatementLine, path: str):
        join = cst.parse_statement(f"{path}.join(timeout=5)")
        return self.make_fix((statement, cst.FlattenSentinel([statement, join])))


def _is_stop_method(name: str) -> bool:
    return name.startswith(STOP_METHOD_PREFIXES) or name in ("aclose",)


def _name(method: cst.FunctionDef | None) -> str:
    return method.name.value if method is not None else "<module>"
