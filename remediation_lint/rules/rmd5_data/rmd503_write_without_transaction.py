from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import child_nodes
from dataclasses import dataclass

import libcst as cst

from remediation_lint.analysis import sql
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.transactions import (
    ast_decorated_transactional,
    ast_with_opens_transaction,
    decorated_transactional,
    in_transaction,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid


@dataclass
class _Ev:
    kind: str  # write / commit / unit / external / exit
    node: cst.CSTNode
    ancestors: tuple[cst.CSTNode, ...]


class _Walk(cst.CSTVisitor):
    def __init__(self, rule: "WriteWithoutTransaction", root: cst.FunctionDef) -> None:
        self.rule = rule
        self.root = root
        self.stack: list[cst.CSTNode] = []
        self.events: list[_Ev] = []
        self.rollback = False
        self.begin = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node is not self.root and isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        anc = tuple(reversed(self.stack))
        self.stack.append(node)
        if isinstance(node, cst.Call):
            self._call(node, anc)
        elif isinstance(node, (cst.Return, cst.Raise)):
            self.events.append(_Ev("exit", node, anc))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.stack and self.stack[-1] is original_node:
            self.stack.pop()

    def _call(self, node: cst.Call, anc: tuple[cst.CSTNode, ...]) -> None:
        func = node.func
        name = dotted_name(func) or ""
        method = name.rsplit(".", 1)[-1]
        if method == "rollback":
            self.rollback = True
            return
        if in_transaction(anc):
            return
        if method == "commit" and isinstance(func, cst.Attribute) and not node.args:
            self.events.append(_Ev("commit", node, anc))
            return
        if isinstance(func, cst.Attribute) and method in self.rule.autocommit:
            self.events.append(_Ev("unit", node, anc))
            return
        if isinstance(func, cst.Attribute) and method in sql.QUERY_METHODS and node.args:
            text = sql.literal_text(node.args[0].value)
            if text is not None and sql.begins_transaction(text):
                self.begin = True
            elif text is None or sql.is_write(text):
                self.events.append(_Ev("write" if text is not None else "dynamic", node, anc))
            return
        if self.rule.commits_locally(name):
            self.events.append(_Ev("unit", node, anc))
            return
        if anc and isinstance(anc[0], cst.Await):
            self.events.append(_Ev("external", node, anc))


class _AEv:
    __slots__ = ("kind", "node", "ancestors")

    def __init__(self, kind: str, node: ast.AST, ancestors: tuple[ast.AST, ...]) -> None:
        self.kind = kind
        self.node = node
        self.ancestors = ancestors


_AST_SKIP = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_AST_WITH = (ast.With, ast.AsyncWith)
_AST_FOR = (ast.For, ast.AsyncFor)


def _ast_children(node: ast.AST) -> list[ast.AST]:
    """Children in source order (LibCST's): ``ast`` lists a dict's keys before its values, an ``IfExp``'s
    test first, and a call's keywords after every positional argument."""
    children = list(child_nodes(node))
    if isinstance(node, (ast.Dict, ast.IfExp)) or (isinstance(node, ast.Call) and node.keywords and node.args):
        children.sort(key=lambda c: (getattr(c, "lineno", 0), getattr(c, "col_offset", 0)))
    return children


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self.autocommit = frozenset(self.opts.get("autocommit_methods") or ())
        self._helpers: set[str] | None = None
        self._test_file = context.is_test_file()

    def _commits_locally(self, name: str) -> bool:
        if not name:
            return False
        short = name[5:] if name.startswith("self.") else name
        if "." in short:
            return False
        if self._helpers is None:
            self._helpers = self._committing_helpers()
        return short in self._helpers

    def _committing_helpers(self) -> set[str]:
        found: set[str] = set()
        for stmt in self.context.tree.body:
            funcs = [stmt] if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
            if isinstance(stmt, ast.ClassDef):
                funcs = [s for s in stmt.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
            for func in funcs:
                if self._commit_in(func.body):  # type: ignore[attr-defined]
                    found.add(func.name)  # type: ignore[attr-defined]
        return found

    def _commit_in(self, body: list[ast.stmt]) -> bool:
        todo: list[ast.AST] = list(body)
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(node, _AST_WITH) and ast_with_opens_transaction(node):
                continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                method = (ast_dotted(node.func) or "").rsplit(".", 1)[-1]
                if method in self.autocommit or (method == "commit" and not node.args and not node.keywords):
                    return True
            todo.extend(child_nodes(node))
        return False

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if self._test_file or ast_decorated_transactional(node):
            return
        events, begin, rollback = self._walk(node)
        if begin or rollback:
            return
        if not any(e.kind in {"commit", "unit"} for e in events):
            return
        reported: set[int] = set()
        for i, ev in enumerate(events):
            if ev.kind != "commit":
                continue
            loop = _ast_innermost_for(ev.ancestors)
            if loop is not None and any(e.kind in {"write", "dynamic"} and any(a is loop for a in e.ancestors) for e in events[:i]):
                reported.add(id(ev.node))
                self.report(ev.node, what=f"{ast_dotted(ev.node.func)}() inside a loop of writes commits each iteration separately")  # type: ignore[attr-defined]
                continue
            for e in events[:i]:
                if e.kind == "dynamic" and _ast_runs_loop_statement(e):
                    reported.add(id(ev.node))
                    self.report(ev.node, what=f"{ast_dotted(ev.node.func)}() after running a list of statements with no rollback on failure")  # type: ignore[attr-defined]
                    break
        units: list[tuple[int, _AEv]] = []
        pending_write = False
        for i, ev in enumerate(events):
            if ev.kind in {"write", "dynamic"}:
                pending_write = True
            elif ev.kind == "commit":
                if pending_write:
                    units.append((i, ev))
                pending_write = False
            elif ev.kind == "unit":
                units.append((i, ev))
        for (i, first), (j, second) in zip(units, units[1:]):
            if id(first.node) in reported or _ast_exclusive(first, second):
                continue
            if any(e.kind in {"external", "exit"} for e in events[i + 1 : j]):
                continue
            reported.add(id(first.node))
            if first.kind == "commit":
                what = f"{ast_dotted(first.node.func)}() commits one write before the next"  # type: ignore[attr-defined]
            else:
                what = f"{ast_dotted(first.node.func)}() commits on its own before {ast_dotted(second.node.func)}()"  # type: ignore[attr-defined]
            self.report(first.node, what=what)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _walk(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[list[_AEv], bool, bool]:
        """``_Walk`` on ``ast``: the events of the function's own body, in LibCST's pre-order."""
        events: list[_AEv] = []
        begin = rollback = False
        # (node, ancestors innermost first)
        todo: list[tuple[ast.AST, tuple[ast.AST, ...]]] = [(stmt, ()) for stmt in reversed(func.body)]
        while todo:
            node, anc = todo.pop()
            if isinstance(node, _AST_SKIP):
                continue
            if isinstance(node, ast.Call):
                kind = self._call(node, anc)
                if kind == "rollback":
                    rollback = True
                elif kind == "begin":
                    begin = True
                elif kind is not None:
                    events.append(_AEv(kind, node, anc))
            elif isinstance(node, (ast.Return, ast.Raise)):
                events.append(_AEv("exit", node, anc))
            inner = (node, *anc)
            for child in reversed(_ast_children(node)):
                todo.append((child, inner))
        return events, begin, rollback

    def _call(self, node: ast.Call, anc: tuple[ast.AST, ...]) -> str | None:
        func = node.func
        name = ast_dotted(func) or ""
        method = name.rsplit(".", 1)[-1]
        if method == "rollback":
            return "rollback"
        if any(isinstance(a, _AST_WITH) and ast_with_opens_transaction(a) for a in anc):
            return None
        is_attr = isinstance(func, ast.Attribute)
        has_args = bool(node.args or node.keywords)
        if method == "commit" and is_attr and not has_args:
            return "commit"
        if is_attr and method in self.autocommit:
            return "unit"
        if is_attr and method in sql.QUERY_METHODS and has_args:
            text = sql.ast_literal_text(sql.ast_first_arg(node), lambda n: sql.ast_segment(self.context, n))
            if text is not None and sql.begins_transaction(text):
                return "begin"
            if text is None or sql.is_write(text):
                return "write" if text is not None else "dynamic"
            return None
        if self._commits_locally(name):
            return "unit"
        if anc and isinstance(anc[0], ast.Await):
            return "external"
        return None


def _ast_innermost_for(ancestors: tuple[ast.AST, ...]) -> ast.AST | None:
    for node in ancestors:
        if isinstance(node, _AST_FOR):
            return node
        if isinstance(node, (ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return None
    return None


def _ast_runs_loop_statement(ev: _AEv) -> bool:
    loop = _ast_innermost_for(ev.ancestors)
    call = ev.node
    if loop is None or not isinstance(call, ast.Call) or not (call.args or call.keywords):
        return False
    first = sql.ast_first_arg(call)
    targets = {n.id for n in _ast_names(loop.target)}  # type: ignore[attr-defined]
    return isinstance(first, ast.Name) and first.id in targets


def _ast_names(node: ast.AST) -> list[ast.Name]:
    if isinstance(node, ast.Name):
        return [node]
    if isinstance(node, (ast.Tuple, ast.List)):
        out: list[ast.Name] = []
        for el in node.elts:
            out.extend(_ast_names(el.value if isinstance(el, ast.Starred) else el))
        return out
    return []


def _ast_slot(parent: ast.AST, child: ast.AST) -> object:
    """Which LibCST child of an ``If``/``Try`` holds ``child`` (a body is one IndentedBlock)."""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list) and any(child is s for s in block):
            return name
    return id(child)  # the test, or one except handler


def _ast_exclusive(a: _AEv, b: _AEv) -> bool:
    ids_b = {id(n) for n in b.ancestors}
    for i, anc in enumerate(a.ancestors):
        if id(anc) in ids_b and isinstance(anc, (ast.If, ast.Try)):
            child_a = a.ancestors[i - 1] if i else a.node
            idx_b = next(k for k, n in enumerate(b.ancestors) if n is anc)
            child_b = b.ancestors[idx_b - 1] if idx_b else b.node
            return _ast_slot(anc, child_a) != _ast_slot(anc, child_b)
    return False


def _guard(method):
    def run(self, node):
        if self.code in self.context.deferred:
            return
        try:
            method(self, node)
        except sql.Undecidable:
            self.defer()

    return run


_Fast.visit_FunctionDef = _guard(_Fast.visit_FunctionDef)  # type: ignore[method-assign]
_Fast.visit_AsyncFunctionDef = _Fast.visit_FunctionDef  # type: ignore[method-assign]


class WriteWithoutTransaction(Rule):
    """Related writes committed one by one, or a batch with no rollback: a crash leaves half the change.

    ## What it does
    Reports the `commit()` (or the auto-committing call) that commits part of a multi-statement change:

    - `commit()` inside a `for` loop of writes;
    - two or more write statements in one function, each followed by its own `commit()`, or two
      consecutive auto-committing writes (`db.execute_write(...)`, `db.execute_many_write(...)`, or a
      function of the same module that commits) with nothing but local computation between them;
    - a helper that runs a list of statements (`for sql, params in statements: execute(sql, params)`)
      and commits with no rollback on failure.

    Writes inside a transaction context (`async with db.transaction()`, `session.begin()`,
    `transaction.atomic()`, sqlite3's `with conn:`), after `BEGIN`, or in functions that roll back on
    error are left alone, and so are test files.

    ## Why is this bad?
    If statement three of five fails, the first two stay committed: plans approved with half their
    tasks, tasks left PENDING that should be BLOCKED. The Orchestration Engine's `execute_write`
    auto-committed per statement and `execute_many_write` had no rollback (plan item 2.1); the
    decomposer's `_update_blocked_status` ran as a separate write after the inserts committed (4.6).

    ## Fix
    Run the related writes in one transaction that rolls back on error:
    `async with db.transaction(): ...` (`BEGIN IMMEDIATE` ... `commit()` / `rollback()`).
    """

    code = "RMD503"
    ast_checker = _Fast
    name = "write-without-transaction"
    message = "{what}: run the related writes in one transaction that rolls back on error"
    severity = Severity.HIGH
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 2, item 2.1 (execute_write auto-commits per statement, execute_many_write has no rollback) and 4.6 (blocked-status update outside the transaction)", "orchestration_engine"),
    )
    triggers = (b"commit", b"execute_write", b"execute_many_write")
    options = {"autocommit_methods": ("execute_write", "execute_many_write")}
    option_docs = {"autocommit_methods": "methods of the project's database wrapper that commit after each call"}

    VALID = [
        Valid(
            """
            from contextlib import asynccontextmanager

            class Database:
                @asynccontextmanager
                async def transaction(self):
                    await self.conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield self.conn
                        await self.conn.commit()
                    except Exception:
                        await self.conn.rollback()
                        raise

                async def execute_many_write(self, statements):
                    async with self.transaction():
                        for sql, params in statements:
                            await self.conn.execute(sql, params)
            """
        ),
        Valid(
            """
            class Database:
                async def execute_write(self, sql, params=()):
                    cursor = await self.conn.execute(sql, params)
                    if not self._in_transaction:
                        await self.conn.commit()
                    return cursor
            """
        ),
        Valid(
            """
            import sqlite3

            def archive(conn: sqlite3.Connection, ids):
                with conn:
                    for item_id in ids:
                        conn.execute("INSERT INTO archive SELECT * FROM queue WHERE id = ?", (item_id,))
                        conn.execute("DELETE FROM queue WHERE id = ?", (item_id,))
            """
        ),
        Valid(
            """
            def save_all(conn, rows):
                try:
                    for row in rows:
                        conn.execute("INSERT INTO t VALUES (?, ?)", row)
                    conn.commit()
                except Exception:
                    conn.rollback()
                    raise
            """
        ),
        Valid(
            """
            class TaskRoutes:
                async def run(self, db, router, task_id):
                    await db.execute_write("UPDATE tasks SET status = 'running' WHERE id = ?", (task_id,))
                    result = await router.complete(task_id)
                    await db.execute_write("UPDATE tasks SET status = 'done', output = ? WHERE id = ?", (result, task_id))
            """
        ),
        Valid(
            """
            async def decompose(db, statements, task_ids):
                async with db.transaction():
                    await db.execute_many_write(statements)
                    await db.execute_write("UPDATE plans SET status = 'approved'")
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            class Database:
                async def execute_many_write(self, statements):
                    for sql, params in statements:
                        await self.conn.execute(sql, params)
                    await self.conn.commit()
            """,
            line=5,
        ),
        Invalid(
            """
            def import_rows(conn, rows):
                for row in rows:
                    conn.execute("INSERT INTO items (name, qty) VALUES (?, ?)", row)
                    conn.commit()
            """,
            line=4,
        ),
        Invalid(
            """
            import sqlite3

            def approve(conn: sqlite3.Connection, plan_id, project_id):
                conn.execute("UPDATE plans SET status = 'approved' WHERE id = ?", (plan_id,))
                conn.commit()
                conn.execute("UPDATE projects SET status = 'ready' WHERE id = ?", (project_id,))
                conn.commit()
            """,
            line=5,
        ),
        Invalid(
            """
            async def _update_blocked_status(db, task_ids):
                await db.execute_write("UPDATE tasks SET status = 'blocked' WHERE id IN (SELECT task_id FROM task_deps)")

            async def decompose_plan(db, statements, task_ids):
                await db.execute_many_write(statements)
                await _update_blocked_status(db, task_ids)
                return task_ids
            """,
            line=5,
        ),
        Invalid(
            """
            class Store:
                def save_batch(self, session, items):
                    for item in items:
                        self.db.execute("UPDATE stock SET qty = qty - 1 WHERE sku = ?", (item.sku,))
                        self.db.execute("INSERT INTO orders (sku) VALUES (?)", (item.sku,))
                        self.db.commit()
            """,
            line=6,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self.autocommit = frozenset(self.opts.get("autocommit_methods") or ())
        self._helpers: set[str] | None = None

    # -- same-module helpers that commit -------------------------------------------------------------
    def commits_locally(self, name: str) -> bool:
        if not name:
            return False
        short = name[5:] if name.startswith("self.") else name
        if "." in short:
            return False
        if self._helpers is None:
            self._helpers = self._committing_helpers()
        return short in self._helpers

    def _committing_helpers(self) -> set[str]:
        found: set[str] = set()
        for stmt in self.context.module.body:
            funcs = [stmt] if isinstance(stmt, cst.FunctionDef) else []
            if isinstance(stmt, cst.ClassDef):
                funcs = [s for s in stmt.body.body if isinstance(s, cst.FunctionDef)]
            for func in funcs:
                finder = _CommitFinder(self.autocommit)
                func.body.visit(finder)
                if finder.found:
                    found.add(func.name.value)
        return found

    # -- the function --------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if decorated_transactional(node) or self.context.is_test_file():
            return
        walk = _Walk(self, node)
        node.body.visit(walk)
        if walk.begin or walk.rollback:
            return
        events = walk.events
        if not any(e.kind in {"commit", "unit"} for e in events):
            return
        reported: set[int] = set()
        # shapes 1 and 3: commit in a for-loop of writes; a statement list run with a commit after it
        for i, ev in enumerate(events):
            if ev.kind != "commit":
                continue
            loop = _innermost_for(ev.ancestors)
            if loop is not None and any(e.kind in {"write", "dynamic"} and _inside(e, loop) for e in events[:i]):
                reported.add(id(ev.node))
                self.report(ev.node, what=f"{dotted_name(ev.node.func)}() inside a loop of writes commits each iteration separately")  # type: ignore[attr-defined]
                continue
            for e in events[:i]:
                if e.kind == "dynamic" and _runs_loop_statement(e):
                    reported.add(id(ev.node))
                    self.report(ev.node, what=f"{dotted_name(ev.node.func)}() after running a list of statements with no rollback on failure")  # type: ignore[attr-defined]
                    break
        # shape 2: consecutive committed units
        units: list[tuple[int, _Ev]] = []
        pending_write = False
        for i, ev in enumerate(events):
            if ev.kind in {"write", "dynamic"}:
                pending_write = True
            elif ev.kind == "commit":
                if pending_write:
                    units.append((i, ev))
                pending_write = False
            elif ev.kind == "unit":
                units.append((i, ev))
        for (i, first), (j, second) in zip(units, units[1:]):
            if id(first.node) in reported or _exclusive(first, second):
                continue
            if any(e.kind in {"external", "exit"} for e in events[i + 1 : j]):
                continue
            reported.add(id(first.node))
            if first.kind == "commit":
                what = f"{dotted_name(first.node.func)}() commits one write before the next"  # type: ignore[attr-defined]
            else:
                what = f"{dotted_name(first.node.func)}() commits on its own before {dotted_name(second.node.func)}()"  # type: ignore[attr-defined]
            self.report(first.node, what=what)


class _CommitFinder(cst.CSTVisitor):
    def __init__(self, autocommit: frozenset[str]) -> None:
        self.autocommit = autocommit
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        name = dotted_name(node.func) or ""
        method = name.rsplit(".", 1)[-1]
        if isinstance(node.func, cst.Attribute) and (method in self.autocommit or (method == "commit" and not node.args)):
            self.found = True

    def visit_With(self, node: cst.With) -> bool:
        from remediation_lint.analysis.transactions import opens_transaction

        return not any(opens_transaction(item.item) for item in node.items)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def _innermost_for(ancestors: tuple[cst.CSTNode, ...]) -> cst.For | None:
    for node in ancestors:
        if isinstance(node, cst.For):
            return node
        if isinstance(node, (cst.While, cst.FunctionDef, cst.Lambda)):
            return None
    return None


def _inside(ev: _Ev, node: cst.CSTNode) -> bool:
    return any(a is node for a in ev.ancestors)


def _runs_loop_statement(ev: _Ev) -> bool:
    """``for sql, params in statements: execute(sql, params)``: the SQL comes from the loop target."""
    loop = _innermost_for(ev.ancestors)
    call = ev.node
    if loop is None or not isinstance(call, cst.Call) or not call.args:
        return False
    first = call.args[0].value
    targets = {n.value for n in _names(loop.target)}
    return isinstance(first, cst.Name) and first.value in targets


def _names(node: cst.CSTNode) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    if isinstance(node, (cst.Tuple, cst.List)):
        out: list[cst.Name] = []
        for el in node.elements:
            out.extend(_names(el.value))
        return out
    return []


def _exclusive(a: _Ev, b: _Ev) -> bool:
    """The two events are in different branches of one `if`/`try` (only one of them runs)."""
    ids_b = {id(n) for n in b.ancestors}
    for i, anc in enumerate(a.ancestors):
        if id(anc) in ids_b and isinstance(anc, (cst.If, cst.Try)):
            child_a = a.ancestors[i - 1] if i else a.node
            idx_b = next(k for k, n in enumerate(b.ancestors) if n is anc)
            child_b = b.ancestors[idx_b - 1] if idx_b else b.node
            return child_a is not child_b
    return False
