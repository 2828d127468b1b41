from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.names import ast_dotted
from remediation_lint.analysis.threads import ast_under_lock, under_lock
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

_CONTAINER_CALLS = frozenset(
    {"dict", "list", "set", "collections.defaultdict", "collections.OrderedDict", "collections.Counter", "defaultdict", "OrderedDict"}
)
_FILLING = frozenset({"append", "extend", "insert", "update", "setdefault", "add", "appendleft"})
_REMOVING = frozenset({"pop", "remove", "clear", "discard", "popitem"})


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._globals: set[str] = set()
        self._invalidated: set[str] = set()
        self._decorators: set[str] = set()
        self._module_calls: set[str] = set()
        self._locals: dict[int, set[str]] = {}
        self._global_decls: dict[int, set[str]] = {}
        self._mutations: list[tuple[ast.AST, str, ast.AST, tuple[str, ...]]] = []

    def visit_Module(self, node: ast.Module) -> None:
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and self._is_container(stmt.value):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        self._globals.add(target.id)
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and self._is_container(stmt.value):
                if isinstance(stmt.target, ast.Name):
                    self._globals.add(stmt.target.id)
        self._globals = {g for g in self._globals if not g.startswith("__")}

    def _is_container(self, value: ast.expr) -> bool:
        if isinstance(value, (ast.Dict, ast.List, ast.Set)):
            return True
        if isinstance(value, ast.Call):
            return (self.context.call_name(value) or "") in _CONTAINER_CALLS
        return False

    def _decorated(self, node) -> None:
        for dec in node.decorator_list:
            name = ast_dotted(dec.func if isinstance(dec, ast.Call) else dec)
            if name:
                self._decorators.add(name.rsplit(".", 1)[-1])

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._decorated(node)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def visit_Global(self, node: ast.Global) -> None:
        func = self.context.enclosing_function()
        if func is not None:
            self._global_decls.setdefault(id(func), set()).update(node.names)

    def visit_Delete(self, node: ast.Delete) -> None:
        if len(node.targets) != 1:
            return  # LibCST: one Tuple target
        target = node.targets[0]
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            if (node.end_lineno, node.end_col_offset) != (target.end_lineno, target.end_col_offset):
                self.defer()  # `del x[k],` (a tuple for LibCST) or `del (x[k])`
                return
            self._invalidated.add(target.value.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        func = self.context.enclosing_function()
        if func is None or not self._globals:
            return
        for t in node.targets:
            if isinstance(t, ast.Name):
                self._locals.setdefault(id(func), set()).add(t.id)
            elif isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in self._globals:
                self._candidate(node, t.value.id)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if not self._globals:
            return
        target = node.target
        if isinstance(target, ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name) and target.id in self._globals:
            self._candidate(node, target.id)

    def visit_Call(self, node: ast.Call) -> None:
        if not self._globals:
            return
        ctx = self.context
        func = node.func
        if ctx.enclosing_function() is None:
            name = ast_dotted(func)
            if name:
                self._module_calls.add(name.rsplit(".", 1)[-1])
        if not isinstance(func, ast.Attribute):
            return
        receiver = func.value
        if isinstance(receiver, ast.Subscript):
            receiver = receiver.value
        if not isinstance(receiver, ast.Name) or receiver.id not in self._globals:
            return
        method = func.attr
        if method in _REMOVING and receiver is func.value:
            self._invalidated.add(receiver.id)
        elif method in _FILLING:
            self._candidate(node, receiver.id)

    def _candidate(self, node: ast.AST, name: str) -> None:
        func = self.context.enclosing_function()
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        locked = ast_under_lock(self.context)
        if locked is None:
            self.defer()
            return
        if locked:
            return
        outer = tuple(s.name for s in self.context.scopes if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
        self._mutations.append((node, name, func, outer))

    def finish(self) -> None:
        for func_id, names in self._global_decls.items():
            self._invalidated |= names & self._locals.get(func_id, set())
        reported: set[tuple[int, str]] = set()
        for node, name, func, outer in self._mutations:
            if name in self._invalidated:
                continue
            if name in self._global_decls.get(id(func), set()):
                continue
            if name in self._locals.get(id(func), set()) or name in _ast_params(func):
                continue
            if any(n.startswith("register") or n in self._decorators or n in self._module_calls for n in outer):
                continue
            if (id(func), name) in reported:
                continue
            reported.add((id(func), name))
            self.report(node, name=name, func=func.name)


def _ast_params(func) -> set[str]:
    a = func.args
    return {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)}


class ModuleGlobalCache(Rule):
    """A module-level dict/list/set filled from functions: a process-wide cache with no lock or invalidation.

    ## What it does
    Finds module-level names bound to a `dict`, `list` or `set` (literal, `dict()`, `defaultdict(...)`,
    ...) that functions fill in (`_indexes[name] = index`, `.append()`, `.update()`, `.setdefault()`,
    `+=`) outside a `with <lock>:` block, when nothing in the module ever removes entries from it
    (`pop`, `clear`, `del`, rebinding through `global`). Registries filled at import time are left alone:
    functions used as decorators, functions named `register*` and functions called at module level.

    ## Why is this bad?
    The container lives as long as the process, is shared by every caller, thread and test, and never
    forgets anything: stale entries survive configuration changes, two concurrent first calls build the
    same entry twice, and tests leak state into each other. The Orchestration Engine's RAG tools (plan
    item 3.2) kept their indexes in a module-level `_indexes` dict with no invalidation or thread safety.

    ## Fix
    Move the cache into an object that owns it (`self._indexes` with a lock) and pass that object to the
    code that needs it (dependency injection, a registry), so its lifetime and locking are explicit.
    """

    code = "RMD307"
    ast_checker = _Fast
    name = "module-global-cache"
    message = "module-level {name} is filled in {func}() with no lock or invalidation: keep the cache in an object that owns it (with a lock) and inject it"
    severity = Severity.MEDIUM
    default = Default.PREVIEW
    provenance = (
        Provenance(
            "001_0845f576a88221b4.txt",
            "Phase 3, item 3.2 (module-level _indexes dict in rag.py with no invalidation or thread safety)",
            "orchestration_engine",
        ),
    )

    VALID = [
        Valid(
            """
            import asyncio

            class _RAGIndexCache:
                def __init__(self):
                    self._indexes = {}
                    self._lock = asyncio.Lock()

                async def get(self, db_name):
                    async with self._lock:
                        if db_name not in self._indexes:
                            self._indexes[db_name] = await load(db_name)
                        return self._indexes.get(db_name)
            """
        ),
        Valid(
            """
            _HANDLERS = {}

            def register(name):
                def decorator(fn):
                    _HANDLERS[name] = fn
                    return fn
                return decorator

            @register("ping")
            def ping():
                return "pong"
            """
        ),
        Valid(
            """
            import threading

            _cache = {}
            _cache_lock = threading.Lock()

            def get_client(url):
                with _cache_lock:
                    if url not in _cache:
                        _cache[url] = connect(url)
                    return _cache[url]
            """
        ),
        Valid(
            """
            _sessions = {}

            def open_session(sid):
                _sessions[sid] = object()

            def close_session(sid):
                _sessions.pop(sid, None)
            """
        ),
        Valid(
            """
            DEFAULTS = {"timeout": 30}
            _plugins = []

            def _discover():
                _plugins.append("builtin")

            _discover()

            def settings():
                merged = dict(DEFAULTS)
                merged["retries"] = 3
                return merged
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from pathlib import Path

            _indexes: dict[str, "_RAGIndex"] = {}

            def _get_index(db_name):
                if db_name not in _indexes:
                    _indexes[db_name] = _RAGIndex(Path("data") / f"{db_name}.db")
                return _indexes[db_name]
            """,
            line=7,
        ),
        Invalid(
            """
            import collections

            _seen = collections.defaultdict(list)

            class Tracker:
                def record(self, user, event):
                    _seen[user].append(event)
                    _seen.setdefault("all", []).append(event)
            """,
            line=7,
        ),
        Invalid(
            """
            _history = []

            async def log_request(request):
                _history.append(request.url)
            """,
            line=4,
        ),
        Invalid(
            """
            _counts = {}
            _known = set()

            def hit(key):
                _counts[key] = _counts.get(key, 0) + 1

            def learn(word):
                _known.add(word)
            """,
            line=5,
            count=2,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._globals: set[str] = set()
        self._invalidated: set[str] = set()
        self._decorators: set[str] = set()
        self._module_calls: set[str] = set()
        #: function name -> names it binds locally, and names it declares global
        self._locals: dict[int, set[str]] = {}
        self._global_decls: dict[int, set[str]] = {}
        #: candidate mutations: (node, global, function)
        self._mutations: list[tuple[cst.CSTNode, str, cst.FunctionDef, tuple[str, ...]]] = []

    def visit_Module(self, node: cst.Module) -> None:
        for stmt in node.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign) and self._is_container(small.value):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            self._globals.add(target.target.value)
                elif isinstance(small, cst.AnnAssign) and small.value is not None and self._is_container(small.value):
                    if isinstance(small.target, cst.Name):
                        self._globals.add(small.target.value)
        self._globals = {g for g in self._globals if not g.startswith("__")}

    def _is_container(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, (cst.Dict, cst.List, cst.Set)):
            return True
        if isinstance(value, cst.Call):
            return (self.context.call_name(value) or "") in _CONTAINER_CALLS
        return False

    def visit_Decorator(self, node: cst.Decorator) -> None:
        dec = node.decorator.func if isinstance(node.decorator, cst.Call) else node.decorator
        name = self.context.dotted(dec)
        if name:
            self._decorators.add(name.rsplit(".", 1)[-1])

    def visit_Global(self, node: cst.Global) -> None:
        func = self.context.enclosing_function()
        if func is not None:
            self._global_decls.setdefault(id(func), set()).update(n.name.value for n in node.names)

    def visit_Del(self, node: cst.Del) -> None:
        target = node.target
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            self._invalidated.add(target.value.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        func = self.context.enclosing_function()
        if func is None or not self._globals:
            return
        for target in node.targets:
            t = target.target
            if isinstance(t, cst.Name):
                self._locals.setdefault(id(func), set()).add(t.value)
            elif isinstance(t, cst.Subscript) and isinstance(t.value, cst.Name) and t.value.value in self._globals:
                self._candidate(node, t.value.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if not self._globals:
            return
        target = node.target
        if isinstance(target, cst.Subscript):
            target = target.value
        if isinstance(target, cst.Name) and target.value in self._globals:
            self._candidate(node, target.value)

    def visit_Call(self, node: cst.Call) -> None:
        if not self._globals:
            return
        ctx = self.context
        func = node.func
        if ctx.enclosing_function() is None:
            name = ctx.dotted(func)
            if name:
                self._module_calls.add(name.rsplit(".", 1)[-1])
        if not self._globals or not isinstance(func, cst.Attribute):
            return
        receiver = func.value
        if isinstance(receiver, cst.Subscript):  # _seen[user].append(...)
            receiver = receiver.value
        if not isinstance(receiver, cst.Name) or receiver.value not in self._globals:
            return
        method = func.attr.value
        if method in _REMOVING and receiver is func.value:
            self._invalidated.add(receiver.value)
        elif method in _FILLING:
            self._candidate(node, receiver.value)

    def _candidate(self, node: cst.CSTNode, name: str) -> None:
        func = self.context.enclosing_function()
        if not isinstance(func, cst.FunctionDef) or under_lock(self.context):
            return
        outer = tuple(s.name.value for s in self.context.scopes if isinstance(s, cst.FunctionDef))
        self._mutations.append((node, name, func, outer))

    def finish(self) -> None:
        reported: set[tuple[int, str]] = set()
        for node, name, func, outer in self._mutations:
            if name in self._invalidated:
                continue
            if name in self._global_decls.get(id(func), set()):
                continue  # rebinding via ``global`` is an invalidation
            if name in self._locals.get(id(func), set()) or name in _params(func):
                continue
            fname = func.name.value
            if any(n.startswith("register") or n in self._decorators or n in self._module_calls for n in outer):
                continue
            if (id(func), name) in reported:
                continue
            reported.add((id(func), name))
            self.report(node, name=name, func=fname)

    def leave_Module(self, node: cst.Module) -> None:
        for func_id, names in self._global_decls.items():
            bound = self._locals.get(func_id, set())
            self._invalidated |= names & bound


def _params(func: cst.FunctionDef) -> set[str]:
    p = func.params
    return {x.name.value for x in (*p.posonly_params, *p.params, *p.kwonly_params)}
