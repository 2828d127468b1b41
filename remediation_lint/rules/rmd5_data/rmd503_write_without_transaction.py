from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst

from remediation_lint.analysis import sql
from remediation_lint.analysis.names import dotted_name
from remediation_lint.analysis.transactions import decorated_transactional, in_transaction
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


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode): a screen. Every finding is a ``x.commit()`` or an
    auto-committing ``x.<autocommit method>(...)`` call, or a call of a same-module helper that contains
    one; a file without such a call has no finding, a file with one is deferred."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._autocommit = frozenset(self.opts.get("autocommit_methods") or ())
        self._skip = context.is_test_file()

    def visit_Call(self, node: ast.Call) -> None:
        if self._skip:
            return
        func = node.func
        if isinstance(func, ast.Attribute) and (
            func.attr in self._autocommit or (func.attr == "commit" and not node.args and not node.keywords)
        ):
            self._skip = True
            self.defer()


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
