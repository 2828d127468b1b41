from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis import sql
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

_BUCKET_ACCESS = frozenset({"get", "setdefault"})
_DICT_CLEANUP = frozenset({"pop", "popitem", "clear"})
_DICT_METHODS = frozenset({"get", "setdefault", "items", "values", "keys", "popitem"})
_DICT_FACTORIES = frozenset({"dict", "defaultdict", "collections.defaultdict", "OrderedDict", "collections.OrderedDict"})


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._removes: dict[tuple[str | None, str], list[ast.Call]] = {}
        self._cleaned: set[tuple[str | None, str]] = set()
        self._aliases: dict[str, tuple[str | None, str]] = {}
        self._dicts: set[tuple[str | None, str]] = set()

    def _key(self, table: str) -> tuple[str | None, str]:
        if table.startswith(("self.", "cls.")):
            cls = self.context.enclosing_class()
            return (cls.name if cls is not None else None, table)
        return (None, table)

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self._aliases = {}

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        name = ast_dotted(node.target)
        if name is not None and node.value is not None and _ast_is_dict_value(node.value):
            self._dicts.add(self._key(name))

    def visit_Assign(self, node: ast.Assign) -> None:
        func = self.context.enclosing_function()
        for target in node.targets:
            name = ast_dotted(target)
            if name is None:
                continue
            if _ast_is_dict_value(node.value):
                self._dicts.add(self._key(name))
            self._aliases.pop(name, None)
            if func is not None and not (isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) and func.name == "__init__"):
                self._cleaned.add(self._key(name))
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            table = _ast_bucket_table(node.value)
            if table is not None:
                self._aliases[node.targets[0].id] = self._key(table)

    def visit_Delete(self, node: ast.Delete) -> None:
        targets = node.targets
        if len(targets) == 1 and isinstance(targets[0], ast.Tuple):
            only = targets[0]
            # ``del (a[k], b[k])`` is one LibCST Tuple; ``del (a[k], b[k]),`` a Tuple inside another one
            if (only.end_lineno, only.end_col_offset) == (node.end_lineno, node.end_col_offset):
                targets = only.elts
        for target in targets:
            if isinstance(target, ast.Subscript):
                name = ast_dotted(target.value)
                if name is not None:
                    self._cleaned.add(self._key(name))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        method = func.attr
        if method in _DICT_METHODS:
            name = ast_dotted(func.value)
            if name is not None:
                self._dicts.add(self._key(name))
        if method in _DICT_CLEANUP:
            name = ast_dotted(func.value)
            if name is not None:
                self._cleaned.add(self._key(name))
            return
        if method not in {"remove", "discard"} or len(node.args) + len(node.keywords) != 1:
            return
        bucket = func.value
        key: tuple[str | None, str] | None = None
        if isinstance(bucket, ast.Name):
            key = self._aliases.get(bucket.id)
        else:
            table = _ast_bucket_table(bucket)
            if table is not None:
                key = self._key(table)
        if key is not None:
            self._removes.setdefault(key, []).append(node)

    def finish(self) -> None:
        for key, calls in self._removes.items():
            if key in self._cleaned or key not in self._dicts:
                continue
            for call in calls:
                text = sql.ast_segment(self.context, call)
                lines = sql.ast_source_lines(self.context)
                before = lines[call.lineno - 1][: call.col_offset].rstrip() if lines and 0 < call.lineno <= len(lines) else b"("
                if text is None or "\n" in text or "\r" in text or before.endswith(b"("):
                    # LibCST renders a call over several lines without the block's indentation, and
                    # a parenthesised call with its parentheses
                    self.defer()
                    return
                text = text.strip()
                self.report(call, call=text if len(text) <= 60 else text[:57] + "...", table=key[1])


def _ast_bucket_table(expr: ast.expr) -> str | None:
    if isinstance(expr, ast.Subscript):
        return ast_dotted(expr.value)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _BUCKET_ACCESS and (expr.args or expr.keywords):
        return ast_dotted(expr.func.value)
    return None


def _ast_is_dict_value(expr: ast.expr) -> bool:
    if isinstance(expr, (ast.Dict, ast.DictComp)):
        return True
    return isinstance(expr, ast.Call) and ast_dotted(expr.func) in _DICT_FACTORIES


class EmptyBucketLeak(Rule):
    """Items are removed from a dict of lists/sets but empty buckets are never deleted, so keys pile up.

    ## What it does
    Finds `d[k].remove(x)` / `d[k].discard(x)` (also through `d.get(k, [])`, `d.setdefault(k, [])`
    or a local alias such as `subs = self._subscribers[k]`) on a dict that the module never shrinks:
    no `del d[k]`, `d.pop(k)`, `d.popitem()`, `d.clear()`, and no reassignment of `d` outside
    `__init__`. The finding sits on the `remove`/`discard` call. The rule looks at one module (a
    `self.` dict within its class); it is in preview because a dict with a fixed set of keys never
    grows and needs no cleanup.

    ## Why is this bad?
    The Orchestration Engine's progress broadcaster (seed 001, 6.4) kept one subscriber list per
    project and removed each queue when its SSE client left, but never deleted the empty list: every
    project ever watched stayed in `_subscribers` for the life of the process, a slow memory leak that
    also makes "does anyone listen?" checks wrong.

    ## Fix
    After removing, delete the bucket when it is empty:
    `if not subs: del self._subscribers[project_id]` (or `self._subscribers.pop(project_id, None)`).
    """

    code = "RMD604"
    ast_checker = _Fast
    name = "empty-bucket-leak"
    message = "`{call}` empties buckets of `{table}` that are never deleted: `del {table}[key]` once the bucket is empty"
    severity = Severity.LOW
    default = Default.PREVIEW
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 6, item 6.4 (empty progress subscriber lists never deleted)", "orchestration_engine"),
    )
    fix_safety = None
    triggers = (b".remove(", b".discard(")
    cwe = (401,)

    VALID = [
        Valid(
            """
            import asyncio

            class ProgressBroadcaster:
                def __init__(self):
                    self._subscribers: dict[str, list[asyncio.Queue]] = {}

                async def subscribe(self, project_id):
                    queue = asyncio.Queue()
                    self._subscribers.setdefault(project_id, []).append(queue)
                    try:
                        while True:
                            yield await queue.get()
                    finally:
                        subs = self._subscribers.get(project_id, [])
                        if queue in subs:
                            subs.remove(queue)
                        if not subs:
                            del self._subscribers[project_id]
            """
        ),
        Valid(
            """
            from collections import defaultdict

            watchers = defaultdict(set)

            def unwatch(topic, client):
                watchers[topic].discard(client)
                if not watchers[topic]:
                    watchers.pop(topic)
            """
        ),
        Valid(
            """
            class Rooms:
                def __init__(self):
                    self.members = {}

                def leave(self, room, user):
                    self.members[room].remove(user)

                def compact(self):
                    self.members = {k: v for k, v in self.members.items() if v}
            """
        ),
        Valid(
            """
            def drop(items, x):
                items.remove(x)

            class Queue:
                def __init__(self):
                    self.waiting = []

                def cancel(self, job):
                    self.waiting.remove(job)
            """
        ),
        Valid(
            """
            class Hub:
                def __init__(self):
                    self._subs = {}

                def leave(self, key, q):
                    self._subs[key].remove(q)

                def reset(self):
                    self._subs.clear()
            """
        ),

        Valid(
            """
            def unassign(rows, row, value):
                rows[row].remove(value)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio

            class ProgressBroadcaster:
                def __init__(self):
                    self._subscribers: dict[str, list[asyncio.Queue]] = {}

                async def subscribe(self, project_id):
                    queue = asyncio.Queue()
                    self._subscribers.setdefault(project_id, []).append(queue)
                    try:
                        while True:
                            yield await queue.get()
                    finally:
                        subs = self._subscribers.get(project_id, [])
                        if queue in subs:
                            subs.remove(queue)
            """,
            line=16,
        ),
        Invalid(
            """
            from collections import defaultdict

            _listeners = defaultdict(list)

            def add_listener(event, fn):
                _listeners[event].append(fn)

            def remove_listener(event, fn):
                _listeners[event].remove(fn)
            """,
            line=9,
        ),
        Invalid(
            """
            class Presence:
                def __init__(self):
                    self.online = {}

                def join(self, room, user):
                    self.online.setdefault(room, set()).add(user)

                def leave(self, room, user):
                    self.online.get(room, set()).discard(user)

                def disconnect(self, user):
                    for members in self.online.values():
                        members.discard(user)
            """,
            line=9,
        ),
        Invalid(
            """
            class Sessions:
                def __init__(self):
                    self.by_user = {}

                def end(self, user, sid):
                    sessions = self.by_user[user]
                    sessions.remove(sid)
                    return len(sessions)

                def purge(self, user, sids):
                    for sid in sids:
                        self.by_user[user].remove(sid)
            """,
            line=7,
            count=2,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._removes: dict[tuple[str | None, str], list[cst.Call]] = {}
        self._cleaned: set[tuple[str | None, str]] = set()
        self._aliases: dict[str, tuple[str | None, str]] = {}
        self._dicts: set[tuple[str | None, str]] = set()

    def _key(self, table: str) -> tuple[str | None, str]:
        if table.startswith(("self.", "cls.")):
            cls = self.context.enclosing_class()
            return (cls.name.value if cls is not None else None, table)
        return (None, table)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._aliases = {}

    # -- aliases and reassignments ---------------------------------------------------------------------
    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        name = dotted_name(node.target)
        if name is not None and node.value is not None and _is_dict_value(node.value):
            self._dicts.add(self._key(name))

    def visit_Assign(self, node: cst.Assign) -> None:
        func = self.context.enclosing_function()
        for target in node.targets:
            name = dotted_name(target.target)
            if name is None:
                continue
            if _is_dict_value(node.value):
                self._dicts.add(self._key(name))
            self._aliases.pop(name, None)
            if func is not None and not (isinstance(func, cst.FunctionDef) and func.name.value == "__init__"):
                self._cleaned.add(self._key(name))  # rebuilt outside __init__: a cleanup we cannot judge
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            table = _bucket_table(node.value)
            if table is not None:
                self._aliases[node.targets[0].target.value] = self._key(table)

    def visit_Del(self, node: cst.Del) -> None:
        targets = [el.value for el in node.target.elements] if isinstance(node.target, cst.Tuple) else [node.target]
        for target in targets:
            if isinstance(target, cst.Subscript):
                name = dotted_name(target.value)
                if name is not None:
                    self._cleaned.add(self._key(name))

    # -- removals and cleanups -------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method in _DICT_METHODS:
            name = dotted_name(func.value)
            if name is not None:
                self._dicts.add(self._key(name))
        if method in _DICT_CLEANUP:
            name = dotted_name(func.value)
            if name is not None:
                self._cleaned.add(self._key(name))
            return
        if method not in {"remove", "discard"} or len(node.args) != 1:
            return
        bucket = func.value
        key: tuple[str | None, str] | None = None
        if isinstance(bucket, cst.Name):
            key = self._aliases.get(bucket.value)
        else:
            table = _bucket_table(bucket)
            if table is not None:
                key = self._key(table)
        if key is not None:
            self._removes.setdefault(key, []).append(node)

    def finish(self) -> None:
        for key, calls in self._removes.items():
            if key in self._cleaned or key not in self._dicts:
                continue
            for call in calls:
                text = self.context.module.code_for_node(call).strip()
                self.report(call, call=text if len(text) <= 60 else text[:57] + "...", table=key[1])


def _bucket_table(expr: cst.BaseExpression) -> str | None:
    """``D`` for ``D[k]``, ``D.get(k, ...)``, ``D.setdefault(k, ...)``."""
    if isinstance(expr, cst.Subscript):
        return dotted_name(expr.value)
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _BUCKET_ACCESS and expr.args:
        return dotted_name(expr.func.value)
    return None


def _is_dict_value(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, (cst.Dict, cst.DictComp)):
        return True
    return isinstance(expr, cst.Call) and dotted_name(expr.func) in _DICT_FACTORIES
