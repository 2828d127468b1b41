"""Which code runs on another thread, and which code holds a lock.

The RMD3xx rules ask the same questions: is this function a thread body (a ``threading.Thread``
``target=``, a ``Thread`` subclass's ``run``), or a function submitted to a pool (``executor.submit``,
``executor.map``, ``loop.run_in_executor``, ``asyncio.to_thread``)? Which attributes of a class are locks,
events, queues or threads? Is this statement inside ``with <lock>:``?

A method may be passed as a target after it is defined, so the answers come from one cheap pre-pass
over the module, computed the first time a rule asks and cached on the ``FileContext`` so that every
rule of the traversal shares it. Only what the module itself shows is used: a target that is an
attribute of another object (``worker.run``) or a function imported from elsewhere is not resolved.
"""

from __future__ import annotations

import ast as _ast
from remediation_lint.analysis.ast_walk import child_nodes
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.knowledge.threads import (
    EVENT_CLASSES,
    LOCK_CLASSES,
    POOL_SUBMIT_METHODS,
    PROCESS_POOLS,
    THREAD_BASES,
    THREAD_CLASSES,
    THREAD_POOLS,
    TO_THREAD_FUNCTIONS,
)

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.context import FileContext

#: a dedicated thread (``Thread(target=...)``, ``Thread.run``)
THREAD = "thread"
#: a worker of a thread pool (``submit``, ``map``, ``run_in_executor``, ``to_thread``)
POOL = "pool"

_CACHE_ATTR = "_rmd_thread_info"
_ACQUIRE_CACHE_ATTR = "_rmd_lock_acquirers"

_LOCK_TOKENS = frozenset({"lock", "rlock", "mutex", "sem", "semaphore", "cond", "condition"})


@dataclass
class ClassThreads:
    """What one class shows about its threads and shared state."""

    node: cst.ClassDef
    bases: tuple[str, ...] = ()
    methods: dict[str, cst.FunctionDef] = field(default_factory=dict)
    #: attribute -> qualified names of the constructors assigned to ``self.<attr>``
    attr_ctors: dict[str, set[str]] = field(default_factory=dict)
    #: attribute -> values assigned to ``self.<attr>`` anywhere in the class
    attr_values: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    #: method -> methods it calls as ``self.m(...)`` outside a lock
    self_calls: dict[str, set[str]] = field(default_factory=dict)
    #: the class creates threads or pools, or is a Thread subclass
    runs_threads: bool = False

    @property
    def name(self) -> str:
        return self.node.name.value

    def attrs_of(self, ctors: frozenset[str]) -> list[str]:
        return [attr for attr, made in self.attr_ctors.items() if made & ctors]

    def is_thread_subclass(self) -> bool:
        return any(base in THREAD_BASES for base in self.bases)


@dataclass
class _Ref:
    """A function reference passed to a thread or a pool, resolved after the pre-pass."""

    expr: cst.BaseExpression
    kind: str
    scopes: tuple[cst.CSTNode, ...]
    receiver: str | None = None  # the pool expression's dotted text, for submit/map
    via: str = ""


class ThreadInfo:
    """The answers of the pre-pass for one module."""

    def __init__(self) -> None:
        self.classes: dict[int, ClassThreads] = {}
        #: id(FunctionDef) -> (node, kinds, how it gets there)
        self._targets: dict[int, tuple[cst.FunctionDef, set[str], str]] = {}

    def kinds(self, func: cst.CSTNode | None) -> frozenset[str]:
        entry = self._targets.get(id(func)) if func is not None else None
        return frozenset(entry[1]) if entry else frozenset()

    def why(self, func: cst.CSTNode | None) -> str:
        entry = self._targets.get(id(func)) if func is not None else None
        return entry[2] if entry else ""

    def targets(self) -> list[cst.FunctionDef]:
        return [entry[0] for entry in self._targets.values()]

    def class_info(self, node: cst.ClassDef | None) -> ClassThreads | None:
        return self.classes.get(id(node)) if node is not None else None

    def _add(self, func: cst.FunctionDef, kind: str, why: str) -> bool:
        entry = self._targets.get(id(func))
        if entry is None:
            self._targets[id(func)] = (func, {kind}, why)
            return True
        if kind in entry[1]:
            return False
        entry[1].add(kind)
        return True


def thread_info(ctx: "FileContext") -> ThreadInfo:
    """The module's thread targets and class facts, computed once per file and shared by all rules."""
    info = getattr(ctx, _CACHE_ATTR, None)
    if info is None:
        info = _build(ctx)
        setattr(ctx, _CACHE_ATTR, info)
    return info


def enclosing_class_node(ctx: "FileContext") -> cst.ClassDef | None:
    """The innermost class around the current node, through nested functions (``self`` is its instance)."""
    for node in reversed(ctx.scopes):
        if isinstance(node, cst.ClassDef):
            return node
    return None


# -- locks -------------------------------------------------------------------------------------------
def is_lock_expr(ctx: "FileContext", expr: cst.BaseExpression, lock_attrs: frozenset[str] | set[str] = frozenset()) -> bool:
    """``self._lock``, ``state_lock``, ``self._mutex``, a known lock attribute, or a lock constructor."""
    if isinstance(expr, cst.Call):
        return (ctx.qualified(expr.func) or "") in LOCK_CLASSES
    dotted = dotted_name(expr)
    if dotted is None:
        return False
    last = dotted.rsplit(".", 1)[-1]
    if dotted.startswith("self.") and dotted.count(".") == 1 and last in lock_attrs:
        return True
    return _lock_like_name(last)


def _lock_like_name(name: str) -> bool:
    tokens = [t for t in name.lower().split("_") if t]
    return any(t in _LOCK_TOKENS or t.endswith("lock") for t in tokens)


def under_lock(ctx: "FileContext", lock_attrs: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether the current node sits inside ``with <lock>:`` in its function, or the function acquires one."""
    for node in ctx.ancestors():
        if isinstance(node, cst.With):
            if any(is_lock_expr(ctx, item.item, lock_attrs) for item in node.items):
                return True
        elif isinstance(node, (cst.FunctionDef, cst.Lambda)):
            return acquires_lock(ctx, node, lock_attrs)
        elif isinstance(node, cst.ClassDef):
            return False
    return False


class _AcquireFinder(cst.CSTVisitor):
    def __init__(self, ctx: "FileContext", lock_attrs: frozenset[str] | set[str]) -> None:
        self.ctx = ctx
        self.lock_attrs = lock_attrs
        self.found = False

    def visit_Call(self, node: cst.Call) -> bool:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "acquire" and is_lock_expr(self.ctx, func.value, self.lock_attrs):
            self.found = True
        return not self.found

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def acquires_lock(ctx: "FileContext", func: cst.CSTNode, lock_attrs: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether ``func``'s own body calls ``<lock>.acquire()`` (the statement is then taken as guarded)."""
    cache: dict[tuple[int, frozenset[str]], bool] | None = getattr(ctx, _ACQUIRE_CACHE_ATTR, None)
    if cache is None:
        cache = {}
        setattr(ctx, _ACQUIRE_CACHE_ATTR, cache)
    # keyed on the lock attributes too: rules asking with different ones must not get each other's answer
    key = (id(func), frozenset(lock_attrs))
    if key not in cache:
        finder = _AcquireFinder(ctx, lock_attrs)
        body = getattr(func, "body", None)
        if body is not None:
            body.visit(finder)
        cache[key] = finder.found
    return cache[key]


# -- the pre-pass ------------------------------------------------------------------------------------
class _PrePass(cst.CSTVisitor):
    def __init__(self, ctx: "FileContext", info: ThreadInfo) -> None:
        self.ctx = ctx
        self.info = info
        self.scopes: list[cst.CSTNode] = []
        self.lock_depth: list[int] = [0]
        #: (id(scope) or 0, name) -> FunctionDef
        self.defs: dict[tuple[int, str], cst.FunctionDef] = {}
        self.refs: list[_Ref] = []
        #: dotted text of a pool binding -> THREAD or "process"
        self.pools: dict[str, str] = {}

    # scopes
    def _class(self) -> ClassThreads | None:
        for node in reversed(self.scopes):
            if isinstance(node, cst.ClassDef):
                return self.info.classes.get(id(node))
        return None

    def _method(self) -> cst.FunctionDef | None:
        """The method of the innermost class that the current node is in (through nested functions)."""
        method = None
        for node in reversed(self.scopes):
            if isinstance(node, cst.FunctionDef):
                method = node
            elif isinstance(node, cst.ClassDef):
                return method
        return None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = tuple(self.ctx.imports.resolve_or_local(arg.value) or "" for arg in node.bases)
        info = ClassThreads(node, bases)
        if info.is_thread_subclass():
            info.runs_threads = True
        self.info.classes[id(node)] = info
        self.scopes.append(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self.scopes[-1] if self.scopes else None
        self.defs[(id(parent) if parent is not None else 0, node.name.value)] = node
        if isinstance(parent, cst.ClassDef):
            cls = self.info.classes[id(parent)]
            cls.methods[node.name.value] = node
            if node.name.value == "run" and cls.is_thread_subclass():
                self.info._add(node, THREAD, f"the run() of Thread subclass {cls.name}")
        self.scopes.append(node)
        self.lock_depth.append(0)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self.lock_depth.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.scopes.append(node)
        self.lock_depth.append(0)

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self.scopes.pop()
        self.lock_depth.pop()

    def visit_With(self, node: cst.With) -> None:
        locked = any(is_lock_expr(self.ctx, item.item) for item in node.items)
        self.lock_depth[-1] += 1 if locked else 0
        for item in node.items:
            if item.asname is not None and isinstance(item.item, cst.Call):
                self._bind(item.asname.name, item.item)

    def leave_With(self, node: cst.With) -> None:
        if any(is_lock_expr(self.ctx, item.item) for item in node.items):
            self.lock_depth[-1] -= 1

    # bindings
    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        dotted = dotted_name(target)
        if dotted is None:
            return
        ctor = self.ctx.imports.resolve_or_local(value.func) if isinstance(value, cst.Call) else None
        if ctor in THREAD_POOLS:
            self.pools[dotted] = POOL
        elif ctor in PROCESS_POOLS:
            self.pools[dotted] = "process"
        if dotted.startswith("self.") and dotted.count(".") == 1:
            cls = self._class()
            if cls is not None:
                attr = dotted[5:]
                cls.attr_values.setdefault(attr, []).append(value)
                if ctor:
                    cls.attr_ctors.setdefault(attr, set()).add(ctor)

    # calls
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        scopes = tuple(self.scopes)
        # self.m(...) outside a lock: m runs on the same thread as the caller
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and self.lock_depth[-1] == 0
        ):
            cls = self._class()
            method = self._method()
            if cls is not None and method is not None and self.scopes and self.scopes[-1] is method:
                cls.self_calls.setdefault(method.name.value, set()).add(func.attr.value)
        name = self.ctx.imports.resolve_or_local(func) or ""
        if name in THREAD_CLASSES:
            self._mark_runs_threads()
            target = _keyword(node, "function" if name.endswith("Timer") else "target")
            if target is None and name.endswith("Timer") and len(node.args) > 1 and node.args[1].keyword is None:
                target = node.args[1].value
            if target is not None:
                self.refs.append(_Ref(target, THREAD, scopes, via="a threading.Thread target"))
            return
        if name in THREAD_POOLS or name in PROCESS_POOLS:
            self._mark_runs_threads()
            return
        if name in TO_THREAD_FUNCTIONS:
            if node.args and node.args[0].keyword is None:
                self.refs.append(_Ref(node.args[0].value, POOL, scopes, via="run on a pool thread by asyncio.to_thread()"))
            return
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method == "run_in_executor" and len(node.args) >= 2:
            executor = dotted_name(node.args[0].value)
            receiver = None if executor in (None, "None") else executor
            self.refs.append(_Ref(node.args[1].value, POOL, scopes, receiver, via="run on a pool thread by run_in_executor()"))
        elif method in POOL_SUBMIT_METHODS and node.args and node.args[0].keyword is None:
            receiver = dotted_name(func.value)
            if receiver is not None:
                self.refs.append(_Ref(node.args[0].value, POOL, scopes, receiver, via=f"run on a pool thread by {receiver}.{method}()"))

    def _mark_runs_threads(self) -> None:
        cls = self._class()
        if cls is not None:
            cls.runs_threads = True

    # resolution
    def resolve(self) -> None:
        for ref in self.refs:
            if ref.receiver is not None and not self._is_thread_pool(ref.receiver):
                continue
            func = self._resolve_target(ref.expr, ref.scopes)
            if func is None:
                continue
            self.info._add(func, ref.kind, ref.via)
            for node in reversed(ref.scopes):
                if isinstance(node, cst.ClassDef):
                    self.info.classes[id(node)].runs_threads = True
                    break
        # methods called as self.m() from a target run on the same thread
        for cls in self.info.classes.values():
            work = [m for m in cls.methods.values() if self.info.kinds(m)]
            while work:
                method = work.pop()
                kinds = self.info.kinds(method)
                for callee in cls.self_calls.get(method.name.value, ()):
                    target = cls.methods.get(callee)
                    if target is None or target.asynchronous is not None:
                        continue
                    changed = False
                    for kind in kinds:
                        changed |= self.info._add(target, kind, f"called from worker {method.name.value}()")
                    if changed:
                        work.append(target)

    def _is_thread_pool(self, receiver: str) -> bool:
        kind = self.pools.get(receiver)
        if kind is not None:
            return kind == POOL
        last = receiver.rsplit(".", 1)[-1].lower()
        return ("executor" in last or "pool" in last) and "process" not in last

    def _resolve_target(self, expr: cst.BaseExpression, scopes: tuple[cst.CSTNode, ...]) -> cst.FunctionDef | None:
        # functools.partial(f, ...) and lambda: f(...)
        if isinstance(expr, cst.Call):
            if (self.ctx.imports.resolve_or_local(expr.func) or "") in ("functools.partial", "partial") and expr.args:
                return self._resolve_target(expr.args[0].value, scopes)
            return None
        if isinstance(expr, cst.Lambda):
            body = expr.body
            if isinstance(body, cst.Call):
                return self._resolve_target(body.func, scopes)
            return None
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
            for node in reversed(scopes):
                if isinstance(node, cst.ClassDef):
                    return self.info.classes[id(node)].methods.get(expr.attr.value)
            return None
        if isinstance(expr, cst.Name):
            for node in reversed(scopes):
                if isinstance(node, cst.ClassDef):
                    continue
                found = self.defs.get((id(node), expr.value))
                if found is not None:
                    return found
            return self.defs.get((0, expr.value))
        return None


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


#: bytes without which no function of the module can be handed to another thread
SPAWN_SCREEN = (b"Thread", b"Timer", b"submit", b"run_in_executor", b"to_thread", b".map(", b"Pool", b"Executor")


def _build(ctx: "FileContext") -> ThreadInfo:
    info = ThreadInfo()
    if ctx.source and not any(t in ctx.source for t in SPAWN_SCREEN):
        return info  # nothing starts threads here: skip the pre-pass
    prepass = _PrePass(ctx, info)
    ctx.module.visit(prepass)
    prepass.resolve()
    return info


def event_attrs(cls: ClassThreads) -> list[str]:
    return cls.attrs_of(EVENT_CLASSES)


def lock_attrs(cls: ClassThreads | None) -> frozenset[str]:
    return frozenset(cls.attrs_of(LOCK_CLASSES)) if cls is not None else frozenset()


# -- the ``ast`` twins (the fast path) ---------------------------------------------------------------
# The same answers computed on the standard library's ``ast`` tree, for the rules' ``AstChecker``s. The
# ``ThreadInfo`` and ``ClassThreads`` containers are shared; their nodes are ``ast`` nodes here.
_AST_CACHE_ATTR = "_rmd_ast_thread_info"
_AST_FUNCS = (_ast.FunctionDef, _ast.AsyncFunctionDef)


class AstClassThreads(ClassThreads):
    """``ClassThreads`` over an ``ast.ClassDef``."""

    @property
    def name(self) -> str:
        return self.node.name  # type: ignore[return-value]


def ast_call_args(call: _ast.Call) -> list[tuple[str | None, _ast.expr]]:
    """A call's arguments as LibCST lists them: (keyword or None, value) in source order, ``*x`` and
    ``**x`` unwrapped (LibCST keeps the star apart from the value, with no keyword)."""
    if not call.keywords:
        return [(None, a.value if isinstance(a, _ast.Starred) else a) for a in call.args]
    items: list[tuple[tuple[int, int], str | None, _ast.expr]] = []
    for a in call.args:
        items.append(((a.lineno, a.col_offset), None, a.value if isinstance(a, _ast.Starred) else a))
    for k in call.keywords:
        items.append(((k.lineno, k.col_offset), k.arg, k.value))
    items.sort(key=lambda t: t[0])
    return [(kw, value) for _, kw, value in items]


def ast_enclosing_class_node(actx) -> _ast.ClassDef | None:
    for node in reversed(actx.scopes):
        if isinstance(node, _ast.ClassDef):
            return node
    return None


def ast_is_lock_expr(actx, expr: _ast.AST, lock_attrs: frozenset[str] | set[str] = frozenset()) -> bool:
    if isinstance(expr, _ast.Call):
        return (actx.qualified(expr.func) or "") in LOCK_CLASSES
    dotted = ast_dotted(expr)
    if dotted is None:
        return False
    last = dotted.rsplit(".", 1)[-1]
    if dotted.startswith("self.") and dotted.count(".") == 1 and last in lock_attrs:
        return True
    return _lock_like_name(last)


_AST_ACQUIRE_ATTR = "_rmd_ast_lock_acquirers"


def ast_acquires_lock(actx, func: _ast.AST) -> bool | None:
    """Whether ``func``'s own body calls ``<lock>.acquire()``; None when the answer depends on which
    class lock attributes the first LibCST caller passed (``self.<attr>.acquire()`` on an attribute not
    named like a lock: the LibCST cache keeps the first answer), so that the caller defers."""
    cache: dict[int, bool | None] | None = getattr(actx, _AST_ACQUIRE_ATTR, None)
    if cache is None:
        cache = {}
        setattr(actx, _AST_ACQUIRE_ATTR, cache)
    key = id(func)
    if key in cache:
        return cache[key]
    body = func.body
    todo: list[_ast.AST] = list(body) if isinstance(body, list) else [body]
    found = False
    ambiguous = False
    while todo and not found:
        node = todo.pop()
        if isinstance(node, (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.Lambda)):
            continue
        if isinstance(node, _ast.Call):
            f = node.func
            if isinstance(f, _ast.Attribute) and f.attr == "acquire":
                if ast_is_lock_expr(actx, f.value):
                    found = True
                    break
                dotted = ast_dotted(f.value)
                if dotted is not None and dotted.startswith("self.") and dotted.count(".") == 1:
                    ambiguous = True
        todo.extend(child_nodes(node))
    result: bool | None = True if found else (None if ambiguous else False)
    cache[key] = result
    return result


def ast_under_lock(actx, lock_attrs: frozenset[str] | set[str] = frozenset()) -> bool | None:
    """``under_lock`` on the fast path (None: undecidable here, defer)."""
    for node in actx.ancestors():
        if isinstance(node, (_ast.With, _ast.AsyncWith)):
            if any(ast_is_lock_expr(actx, item.context_expr, lock_attrs) for item in node.items):
                return True
        elif isinstance(node, (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.Lambda)):
            return ast_acquires_lock(actx, node)
        elif isinstance(node, _ast.ClassDef):
            return False
    return False


def ast_thread_info(actx) -> ThreadInfo:
    """``thread_info`` on the fast path: the same pre-pass over the ``ast`` tree, cached on the context."""
    info = getattr(actx, _AST_CACHE_ATTR, None)
    if info is None:
        info = ThreadInfo()
        if not actx.source or any(t in actx.source for t in SPAWN_SCREEN):
            prepass = _AstPrePass(actx, info)
            prepass.run(actx.tree)
            prepass.resolve()
        setattr(actx, _AST_CACHE_ATTR, info)
    return info


def _ast_children(node: _ast.AST) -> list[_ast.AST]:
    """Children in LibCST's visiting order (decorators first; an IfExp's body before its test;
    a def's return annotation before its body)."""
    if isinstance(node, _ast.IfExp):
        return [node.body, node.test, node.orelse]
    out: list[_ast.AST] = []
    if isinstance(node, (_ast.FunctionDef, _ast.AsyncFunctionDef)):
        out.extend(node.decorator_list)
        out.append(node.args)
        if node.returns is not None:
            out.append(node.returns)
        out.extend(node.body)
        return out
    if isinstance(node, _ast.ClassDef):
        out.extend(node.decorator_list)
        out.extend(node.bases)
        out.extend(node.keywords)
        out.extend(node.body)
        return out
    if isinstance(node, _ast.Dict):
        for key, value in zip(node.keys, node.values):
            if key is not None:
                out.append(key)
            out.append(value)
        return out
    if isinstance(node, _ast.arguments):
        return sorted(child_nodes(node), key=lambda n: (n.lineno, n.col_offset))
    if isinstance(node, _ast.Call) and node.keywords and node.args:
        out.append(node.func)
        items = sorted([*node.args, *node.keywords], key=lambda n: (n.lineno, n.col_offset))
        out.extend(items)
        return out
    return list(child_nodes(node))


class _AstPrePass:
    def __init__(self, actx, info: ThreadInfo) -> None:
        self.actx = actx
        self.info = info
        self.scopes: list[_ast.AST] = []
        self.lock_depth: list[int] = [0]
        self.defs: dict[tuple[int, str], _ast.AST] = {}
        self.refs: list[_Ref] = []
        self.pools: dict[str, str] = {}

    def run(self, tree: _ast.AST) -> None:
        # iterative pre-order walk with leave markers
        work: list[tuple[_ast.AST, bool]] = [(tree, False)]
        while work:
            node, leaving = work.pop()
            if leaving:
                self._leave(node)
                continue
            self._visit(node)
            work.append((node, True))
            for child in reversed(_ast_children(node)):
                work.append((child, False))

    def _visit(self, node: _ast.AST) -> None:
        kind = type(node)
        if kind is _ast.Call:
            self.visit_Call(node)  # type: ignore[arg-type]
        elif kind is _ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                self._bind(target, node.value)  # type: ignore[attr-defined]
        elif kind is _ast.AnnAssign:
            if node.value is not None:  # type: ignore[attr-defined]
                self._bind(node.target, node.value)  # type: ignore[attr-defined]
        elif kind in (_ast.FunctionDef, _ast.AsyncFunctionDef):
            self.visit_FunctionDef(node)
        elif kind is _ast.ClassDef:
            self.visit_ClassDef(node)  # type: ignore[arg-type]
        elif kind is _ast.Lambda:
            self.scopes.append(node)
            self.lock_depth.append(0)
        elif kind in (_ast.With, _ast.AsyncWith):
            locked = any(ast_is_lock_expr(self.actx, item.context_expr) for item in node.items)  # type: ignore[attr-defined]
            self.lock_depth[-1] += 1 if locked else 0
            for item in node.items:  # type: ignore[attr-defined]
                if item.optional_vars is not None and isinstance(item.context_expr, _ast.Call):
                    self._bind(item.optional_vars, item.context_expr)

    def _leave(self, node: _ast.AST) -> None:
        kind = type(node)
        if kind in (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.Lambda):
            self.scopes.pop()
            self.lock_depth.pop()
        elif kind is _ast.ClassDef:
            self.scopes.pop()
        elif kind in (_ast.With, _ast.AsyncWith):
            if any(ast_is_lock_expr(self.actx, item.context_expr) for item in node.items):  # type: ignore[attr-defined]
                self.lock_depth[-1] -= 1

    def _class(self) -> ClassThreads | None:
        for node in reversed(self.scopes):
            if isinstance(node, _ast.ClassDef):
                return self.info.classes.get(id(node))
        return None

    def _method(self) -> _ast.AST | None:
        method = None
        for node in reversed(self.scopes):
            if isinstance(node, _AST_FUNCS):
                method = node
            elif isinstance(node, _ast.ClassDef):
                return method
        return None

    def visit_ClassDef(self, node: _ast.ClassDef) -> None:
        bases = tuple(
            self.actx.imports.resolve_or_local(b.value if isinstance(b, _ast.Starred) else b) or "" for b in node.bases
        )
        info = AstClassThreads(node, bases)  # type: ignore[arg-type]
        if info.is_thread_subclass():
            info.runs_threads = True
        self.info.classes[id(node)] = info
        self.scopes.append(node)

    def visit_FunctionDef(self, node) -> None:
        parent = self.scopes[-1] if self.scopes else None
        self.defs[(id(parent) if parent is not None else 0, node.name)] = node
        if isinstance(parent, _ast.ClassDef):
            cls = self.info.classes[id(parent)]
            cls.methods[node.name] = node
            if node.name == "run" and cls.is_thread_subclass():
                self.info._add(node, THREAD, f"the run() of Thread subclass {cls.name}")
        self.scopes.append(node)
        self.lock_depth.append(0)

    def _bind(self, target: _ast.AST, value: _ast.AST) -> None:
        dotted = ast_dotted(target)
        if dotted is None:
            return
        ctor = self.actx.imports.resolve_or_local(value.func) if isinstance(value, _ast.Call) else None
        if ctor in THREAD_POOLS:
            self.pools[dotted] = POOL
        elif ctor in PROCESS_POOLS:
            self.pools[dotted] = "process"
        if dotted.startswith("self.") and dotted.count(".") == 1:
            cls = self._class()
            if cls is not None:
                attr = dotted[5:]
                cls.attr_values.setdefault(attr, []).append(value)  # type: ignore[arg-type]
                if ctor:
                    cls.attr_ctors.setdefault(attr, set()).add(ctor)

    def visit_Call(self, node: _ast.Call) -> None:
        func = node.func
        scopes = tuple(self.scopes)
        if (
            isinstance(func, _ast.Attribute)
            and isinstance(func.value, _ast.Name)
            and func.value.id == "self"
            and self.lock_depth[-1] == 0
        ):
            cls = self._class()
            method = self._method()
            if cls is not None and method is not None and self.scopes and self.scopes[-1] is method:
                cls.self_calls.setdefault(method.name, set()).add(func.attr)  # type: ignore[attr-defined]
        name = self.actx.imports.resolve_or_local(func) or ""
        args = ast_call_args(node)
        if name in THREAD_CLASSES:
            self._mark_runs_threads()
            key = "function" if name.endswith("Timer") else "target"
            target = next((v for k, v in args if k == key), None)
            if target is None and name.endswith("Timer") and len(args) > 1 and args[1][0] is None:
                target = args[1][1]
            if target is not None:
                self.refs.append(_Ref(target, THREAD, scopes, via="a threading.Thread target"))  # type: ignore[arg-type]
            return
        if name in THREAD_POOLS or name in PROCESS_POOLS:
            self._mark_runs_threads()
            return
        if name in TO_THREAD_FUNCTIONS:
            if args and args[0][0] is None:
                self.refs.append(_Ref(args[0][1], POOL, scopes, via="run on a pool thread by asyncio.to_thread()"))  # type: ignore[arg-type]
            return
        if not isinstance(func, _ast.Attribute):
            return
        method = func.attr
        if method == "run_in_executor" and len(args) >= 2:
            executor = ast_dotted(args[0][1])
            receiver = None if executor in (None, "None") else executor
            self.refs.append(_Ref(args[1][1], POOL, scopes, receiver, via="run on a pool thread by run_in_executor()"))  # type: ignore[arg-type]
        elif method in POOL_SUBMIT_METHODS and args and args[0][0] is None:
            receiver = ast_dotted(func.value)
            if receiver is not None:
                self.refs.append(_Ref(args[0][1], POOL, scopes, receiver, via=f"run on a pool thread by {receiver}.{method}()"))  # type: ignore[arg-type]

    def _mark_runs_threads(self) -> None:
        cls = self._class()
        if cls is not None:
            cls.runs_threads = True

    def resolve(self) -> None:
        for ref in self.refs:
            if ref.receiver is not None and not self._is_thread_pool(ref.receiver):
                continue
            func = self._resolve_target(ref.expr, ref.scopes)
            if func is None:
                continue
            self.info._add(func, ref.kind, ref.via)  # type: ignore[arg-type]
            for node in reversed(ref.scopes):
                if isinstance(node, _ast.ClassDef):
                    self.info.classes[id(node)].runs_threads = True
                    break
        for cls in self.info.classes.values():
            work = [m for m in cls.methods.values() if self.info.kinds(m)]
            while work:
                method = work.pop()
                kinds = self.info.kinds(method)
                for callee in cls.self_calls.get(method.name, ()):  # type: ignore[attr-defined]
                    target = cls.methods.get(callee)
                    if target is None or isinstance(target, _ast.AsyncFunctionDef):
                        continue
                    changed = False
                    for kind in kinds:
                        changed |= self.info._add(target, kind, f"called from worker {method.name}()")  # type: ignore[attr-defined]
                    if changed:
                        work.append(target)

    _is_thread_pool = _PrePass._is_thread_pool

    def _resolve_target(self, expr: _ast.AST, scopes: tuple) -> _ast.AST | None:
        if isinstance(expr, _ast.Call):
            if (self.actx.imports.resolve_or_local(expr.func) or "") in ("functools.partial", "partial"):
                args = ast_call_args(expr)
                if args:
                    return self._resolve_target(args[0][1], scopes)
            return None
        if isinstance(expr, _ast.Lambda):
            body = expr.body
            if isinstance(body, _ast.Call):
                return self._resolve_target(body.func, scopes)
            return None
        if isinstance(expr, _ast.Attribute) and isinstance(expr.value, _ast.Name) and expr.value.id == "self":
            for node in reversed(scopes):
                if isinstance(node, _ast.ClassDef):
                    return self.info.classes[id(node)].methods.get(expr.attr)
            return None
        if isinstance(expr, _ast.Name):
            for node in reversed(scopes):
                if isinstance(node, _ast.ClassDef):
                    continue
                found = self.defs.get((id(node), expr.id))
                if found is not None:
                    return found
            return self.defs.get((0, expr.id))
        return None
