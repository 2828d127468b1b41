from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk, child_nodes
import re
from dataclasses import dataclass, field

import libcst as cst

from remediation_lint.analysis import sql
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.transactions import (
    ast_decorated_transactional,
    ast_with_protects,
    decorated_transactional,
    with_protects,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

#: method-name shapes of reads that decide a write
_CHECK = re.compile(r"^(can_|check_|is_allowed|within_|may_)")
_EXISTS = re.compile(r"^(exists|\w+_exists|has_\w+|find_\w+|get_by_\w+|lookup\w*|is_duplicate\w*|select)$")
_COUNT = re.compile(r"^count(_\w+)?$")
#: method-name shapes of writes that create or spend
_WRITE = re.compile(r"^(create|create_(?!table|index|all|schema|tables|indexes|view|database|engine|app|task)\w+|insert|insert_\w+|save|record_\w+|spend|charge|debit|withdraw|register_\w+)$")
_NOT_DB = re.compile(r"(path|dir|directory|file|filename|folder|os|fs|cache|_seen|set)$", re.I)
_LEDGER = re.compile(r"(budget|quota|limiter|ledger|account|accounts|wallet|inventory)$", re.I)
_GENERIC_WRITES = frozenset({"create", "insert", "save"})
_DB_RECEIVER = re.compile(r"(conn|connection|db|database|repo|repository|store|session|table|collection|surreal|client)$", re.I)
_SPEND = re.compile(r"^(record_\w+|spend|charge|debit|withdraw|consume\w*)$")
_EXITS = (cst.Return, cst.Raise, cst.Continue, cst.Break)


@dataclass
class _Event:
    kind: str  # read / write / assign / guard / begin
    node: cst.CSTNode
    ancestors: tuple[cst.CSTNode, ...]
    read_kind: str = ""  # check / exists / count / claim
    sql_text: str | None = None
    targets: set[str] = field(default_factory=set)


class _Collector(cst.CSTVisitor):
    def __init__(self, rule: "CheckThenWriteRace", root: cst.FunctionDef) -> None:
        self.rule = rule
        self.root = root
        self.stack: list[cst.CSTNode] = []
        self.events: list[_Event] = []
        self.unsafe_to_judge = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node is not self.root and isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        anc = tuple(reversed(self.stack))
        self.stack.append(node)
        if isinstance(node, cst.Call):
            self._call(node, anc)
        elif isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            self.events.append(_Event("assign", node, anc, targets=_targets(node)))
        elif isinstance(node, cst.If) and _exits(node.body):
            self.events.append(_Event("guard", node, anc))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if self.stack and self.stack[-1] is original_node:
            self.stack.pop()

    def _call(self, node: cst.Call, anc: tuple[cst.CSTNode, ...]) -> None:
        found = _classify(node, bool(anc) and isinstance(anc[0], cst.Await))
        if found is None:
            return
        kind, read_kind, text = found
        if kind == "read":
            if text and ("FOR UPDATE" in text.upper() or "FOR SHARE" in text.upper()):
                self.unsafe_to_judge = True
            self.events.append(_Event("read", node, anc, read_kind=read_kind, sql_text=text, targets=_bound_names(node, anc)))
        else:
            self.events.append(_Event(kind, node, anc, sql_text=text))


def _classify(node: cst.Call, awaited: bool) -> tuple[str, str, str | None] | None:
    """(kind, read kind, SQL text) of a call: read / write / begin; None for anything else."""
    func = node.func
    if not isinstance(func, cst.Attribute):
        return None
    method = func.attr.value
    text = sql.literal_text(node.args[0].value) if node.args and method in sql.QUERY_METHODS else None
    if text is not None:
        if sql.begins_transaction(text):
            return "begin", "", text
        if sql.is_read(text):
            return "read", "count" if "COUNT(" in text.upper().replace(" (", "(") else "exists", text
        if sql.is_write(text) and not sql.is_atomic_write(text):
            return "write", "", text
        return None
    receiver = dotted_name(func.value) or ""
    last = receiver.rsplit(".", 1)[-1].lstrip("_")
    if receiver.startswith(("os", "shutil", "pathlib")) or _NOT_DB.search(last):
        return None
    # a named check or write is I/O when awaited or called on a database/budget-like object
    if not awaited and not (_DB_RECEIVER.search(last) or _LEDGER.search(last)):
        return None
    if _CHECK.match(method):
        return "read", "check", None
    if _COUNT.match(method):
        return "read", "count", None
    if _EXISTS.match(method):
        return "read", "exists", None
    if _WRITE.match(method) and (method not in _GENERIC_WRITES or _db_receiver(node)):
        return "write", "", None
    return None


def _ast_classify(node: ast.Call, awaited: bool, ctx) -> tuple[str, str, str | None] | None:
    """``_classify`` on ``ast``; raises ``sql.Undecidable`` when only LibCST can tell."""
    func = node.func
    if not isinstance(func, ast.Attribute):
        return None
    method = func.attr
    if method in sql.QUERY_METHODS and (node.args or node.keywords):
        text = sql.ast_literal_text(sql.ast_first_arg(node), lambda n: sql.ast_segment(ctx, n))
    else:
        text = None
    if text is not None:
        if sql.begins_transaction(text):
            return "begin", "", text
        if sql.is_read(text):
            return "read", "count" if "COUNT(" in text.upper().replace(" (", "(") else "exists", text
        if sql.is_write(text) and not sql.is_atomic_write(text):
            return "write", "", text
        return None
    receiver = ast_dotted(func.value) or ""
    last = receiver.rsplit(".", 1)[-1].lstrip("_")
    if receiver.startswith(("os", "shutil", "pathlib")) or _NOT_DB.search(last):
        return None
    if not awaited and not (_DB_RECEIVER.search(last) or _LEDGER.search(last)):
        return None
    if _CHECK.match(method):
        return "read", "check", None
    if _COUNT.match(method):
        return "read", "count", None
    if _EXISTS.match(method):
        return "read", "exists", None
    if _WRITE.match(method):
        if method not in _GENERIC_WRITES:
            return "write", "", None
        first = sql.ast_first_arg(node) if (node.args or node.keywords) else None
        if isinstance(first, ast.JoinedStr):
            raise sql.Undecidable  # a concatenation with an f-string is a string to LibCST, an f-string is not
        if isinstance(first, ast.Constant) and isinstance(first.value, (str, bytes)):
            ok = not receiver.endswith(("messages", "completions", "chat", "embeddings"))
        else:
            ok = bool(_DB_RECEIVER.search(last)) and not last.endswith("client")
        return ("write", "", None) if ok else None
    return None


class _AEvent:
    __slots__ = ("kind", "node", "ancestors", "read_kind", "sql_text", "targets")

    def __init__(self, kind, node, ancestors, read_kind="", sql_text=None, targets=None) -> None:
        self.kind = kind
        self.node = node
        self.ancestors = ancestors
        self.read_kind = read_kind
        self.sql_text = sql_text
        self.targets = targets if targets is not None else set()


_AST_SKIP = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_AST_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _ast_children(node: ast.AST) -> list[ast.AST]:
    """Children in source order (LibCST's visiting order)."""
    children = list(child_nodes(node))
    if isinstance(node, (ast.Dict, ast.IfExp)) or (isinstance(node, ast.Call) and node.keywords and node.args):
        children.sort(key=lambda c: (getattr(c, "lineno", 0), getattr(c, "col_offset", 0)))
    return children


def _ast_names_in(expr: ast.AST | None) -> set[str]:
    """``_names_in`` on ``ast``: every LibCST ``Name`` (names, attribute names, keywords, lambda
    parameters, ``True``/``False``/``None``) and dotted attribute chain, less ``self``/``cls``."""
    if expr is None:
        return set()
    if isinstance(expr, ast.Name):
        return {expr.id}
    out: set[str] = set()
    for node in ast_walk(expr):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
            dotted = ast_dotted(node)
            if dotted is not None:
                out.add(dotted)
        elif isinstance(node, ast.keyword):
            if node.arg is not None:
                out.add(node.arg)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, ast.Constant) and (node.value is None or node.value is True or node.value is False):
            out.add(repr(node.value))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            out.update(node.names)
        elif isinstance(node, ast.alias):
            for part in node.name.split("."):
                out.add(part)
            if node.asname:
                out.add(node.asname)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
    return out - {"self", "cls"}


def _ast_targets(node: ast.AST) -> set[str]:
    out: set[str] = set()
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    else:
        targets = []
    for t in targets:
        out |= _ast_names_in(t)
    return out


def _ast_bound_names(anc: tuple[ast.AST, ...]) -> set[str]:
    for node in anc:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            return _ast_targets(node)
        if isinstance(node, ast.withitem) and node.optional_vars is not None:
            return _ast_names_in(node.optional_vars)
        if isinstance(node, ast.stmt):
            return set()
    return set()


def _ast_contains_node(tree: ast.AST | None, target: ast.AST) -> bool:
    if tree is None:
        return False
    return any(n is target for n in ast_walk(tree))


def _ast_contains(ancestors: tuple[ast.AST, ...], node: ast.AST) -> bool:
    return any(a is node for a in ancestors)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._kinds: dict[int, set[str]] = {}

    def visit_Call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Attribute) or self.code in self.context.deferred:
            return
        try:
            found = _ast_classify(node, isinstance(self.context.parent(), ast.Await), self.context)
        except sql.Undecidable:
            self.defer()
            return
        if found is not None:
            func = self.context.enclosing_function()
            if func is not None:
                self._kinds.setdefault(id(func), set()).add(found[0])

    def leave_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        kinds = self._kinds.pop(id(node), set())
        if "read" not in kinds or "write" not in kinds or self.code in self.context.deferred:
            return
        if ast_decorated_transactional(node) or self.context.is_test_file():
            return
        try:
            self._judge(node)
        except sql.Undecidable:
            self.defer()

    leave_AsyncFunctionDef = leave_FunctionDef

    def _collect(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[list[_AEvent], bool]:
        events: list[_AEvent] = []
        unsafe = False
        todo: list[tuple[ast.AST, tuple[ast.AST, ...]]] = [(stmt, ()) for stmt in reversed(func.body)]
        while todo:
            node, anc = todo.pop()
            if isinstance(node, _AST_SKIP):
                continue
            if isinstance(node, ast.Call):
                found = _ast_classify(node, bool(anc) and isinstance(anc[0], ast.Await), self.context)
                if found is not None:
                    kind, read_kind, text = found
                    if kind == "read":
                        if text and ("FOR UPDATE" in text.upper() or "FOR SHARE" in text.upper()):
                            unsafe = True
                        events.append(_AEvent("read", node, anc, read_kind=read_kind, sql_text=text, targets=_ast_bound_names(anc)))
                    else:
                        events.append(_AEvent(kind, node, anc, sql_text=text))
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                events.append(_AEvent("assign", node, anc, targets=_ast_targets(node)))
            elif isinstance(node, ast.If) and isinstance(node.body[-1], _AST_EXITS):
                events.append(_AEvent("guard", node, anc))
            inner = (node, *anc)
            for child in reversed(_ast_children(node)):
                todo.append((child, inner))
        return events, unsafe

    def _judge(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        events, unsafe = self._collect(func)
        if unsafe:
            return
        if not any(e.kind == "read" for e in events) or not any(e.kind == "write" for e in events):
            return
        reported: set[int] = set()
        for wi, write in enumerate(events):
            if write.kind != "write" or id(write.node) in reported:
                continue
            if _ast_rechecked_under_protection(write, events[:wi]):
                continue
            for ri in range(wi):
                read = events[ri]
                if read.kind != "read" or _ast_contains(write.ancestors, read.node) or _ast_contains(read.ancestors, write.node):
                    continue
                if any(e.kind == "begin" for e in events[:wi]):
                    break
                if _ast_shared_protection(read, write):
                    continue
                guards = [g for gi, g in enumerate(events[:wi]) if g.kind == "guard" and (gi > ri or _ast_contains(read.ancestors, g.node))]
                if self._decides(read, write, events[ri + 1 : wi], guards):
                    reported.add(id(write.node))
                    self.report(write.node, write=_ast_describe(write), read=_ast_describe(read))
                    break

    def _decides(self, read: _AEvent, write: _AEvent, between: list[_AEvent], guards: list[_AEvent]) -> bool:
        tainted = set(read.targets)
        decided: set[str] = set()
        for ev in between:
            if ev.kind != "assign":
                continue
            value = getattr(ev.node, "value", None)
            used = _ast_names_in(value) if value is not None else set()
            if used & tainted or _ast_contains_node(value, read.node):
                tainted |= ev.targets
                if isinstance(value, ast.IfExp) or any(
                    isinstance(a, ast.If) and (_ast_names_in(a.test) & tainted) for a in ev.ancestors
                ):
                    decided |= ev.targets
            elif used & decided:
                decided |= ev.targets

        def mentions(expr: ast.AST) -> bool:
            return bool(_ast_names_in(expr) & tainted) or _ast_contains_node(expr, read.node)

        claim = CheckThenWriteRace._claims(read, write)  # type: ignore[arg-type]
        create = _creates(write)  # type: ignore[arg-type]
        for k, anc in enumerate(write.ancestors):
            if isinstance(anc, ast.If) and mentions(anc.test):
                absent = self._absent_branch(anc.test)
                child = write.ancestors[k - 1] if k else write.node
                in_else = any(child is s for s in anc.orelse)
                if absent is not None and in_else:
                    absent = not absent
                if _ast_fits(read, write, create, claim, absent):  # type: ignore[arg-type]
                    return True
        for ev in guards:
            if ev.kind == "guard" and mentions(ev.node.test) and not _ast_contains(write.ancestors, ev.node):  # type: ignore[attr-defined]
                absent = self._absent_branch(ev.node.test)  # type: ignore[attr-defined]
                if _ast_fits(read, write, create, claim, None if absent is None else not absent):  # type: ignore[arg-type]
                    return True
        if decided and read.read_kind == "count":
            call = write.node
            values = [a.value if isinstance(a, ast.Starred) else a for a in call.args] + [k.value for k in call.keywords]  # type: ignore[attr-defined]
            if any(_ast_names_in(v) & decided for v in values):
                return True
        return False

    def _absent_branch(self, test: ast.AST) -> bool | None:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            inner = self._absent_branch(test.operand)
            return None if inner is None else not inner
        if isinstance(test, ast.Compare):
            if len(test.ops) != 1:
                return None
            op, right = test.ops[0], test.comparators[0]
            if isinstance(right, ast.Constant) and right.value is None:
                if isinstance(op, ast.Is):
                    return True
                if isinstance(op, ast.IsNot):
                    return False
            if isinstance(right, ast.Constant) and type(right.value) is int and right.value == 0:
                if sql.ast_segment(self.context, right) != "0":
                    raise sql.Undecidable  # ``0x0``/``00``: not LibCST's Integer("0")
                if isinstance(op, (ast.Eq, ast.LtE)):
                    return True
                if isinstance(op, (ast.NotEq, ast.Gt)):
                    return False
            return None
        if isinstance(test, ast.BoolOp):
            parts = [self._absent_branch(v) for v in test.values]
            if isinstance(test.op, ast.And):
                return False if False in parts else (True if all(p is True for p in parts) else None)
            return True if True in parts else (False if all(p is False for p in parts) else None)
        if isinstance(test, (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.Await)):
            return False
        if isinstance(test, ast.Constant) and (test.value is None or test.value is True or test.value is False):
            return False  # a LibCST Name
        return None


def _ast_fits(read: _AEvent, write: _AEvent, create: bool, claim: bool, absent: bool | None) -> bool:
    """``CheckThenWriteRace._fits`` on ``ast`` events."""
    if read.read_kind == "check":
        if write.sql_text:
            return False
        check = (ast_dotted(read.node.func) or "").rsplit(".", 1)[-1]  # type: ignore[attr-defined]
        method = (ast_dotted(write.node.func) or "").rsplit(".", 1)[-1]  # type: ignore[attr-defined]
        stem = re.sub(r"^(can_|check_|may_|within_|is_allowed_?)", "", check)
        return bool(_SPEND.match(method)) or (bool(stem) and stem in method.split("_"))
    if read.read_kind == "count" or claim:
        return True
    return create and absent is True


def _ast_describe(ev: _AEvent) -> str:
    if ev.sql_text:
        words = ev.sql_text.split()
        return f"`{' '.join(words[:4])}{' ...' if len(words) > 4 else ''}`"
    return f"{ast_dotted(ev.node.func) or 'call'}()"  # type: ignore[attr-defined]


def _ast_rechecked_under_protection(write: _AEvent, before: list[_AEvent]) -> bool:
    withs = {id(a) for a in write.ancestors if ast_with_protects(a)}
    return bool(withs) and any(
        e.kind == "read" and any(isinstance(a, (ast.With, ast.AsyncWith)) and id(a) in withs for a in e.ancestors) for e in before
    )


def _ast_shared_protection(read: _AEvent, write: _AEvent) -> bool:
    read_withs = {id(a) for a in read.ancestors if ast_with_protects(a)}
    return any(isinstance(a, (ast.With, ast.AsyncWith)) and id(a) in read_withs for a in write.ancestors)


class CheckThenWriteRace(Rule):
    """A read decides a write with a gap between them and no transaction or lock: check-then-act race.

    ## What it does
    Finds, within one function, a database read whose result decides a later write, when the two are
    not inside the same transaction or lock and the write is not a single atomic statement:

    - a duplicate check before a create: `SELECT id FROM memory WHERE content_hash = $h`, or
      `if not await db.find_by_hash(h):`, then `CREATE` / `db.create(...)`;
    - first user becomes admin: `SELECT COUNT(*) FROM users`, `role = "admin" if ... else "user"`,
      then `INSERT`;
    - budget check then spend: `if await budget.can_spend(cost): ... await budget.record_spend(cost)`;
    - a queue dequeue: `SELECT ... WHERE status = 'pending' LIMIT 1`, then
      `UPDATE ... SET status = 'leased'`.

    Existence checks before an update of the same row (`SELECT` then 404, then `UPDATE`) are left alone;
    so is everything inside `async with db.transaction()`, `session.begin()`, `with conn:` (sqlite3),
    a lock, after `BEGIN IMMEDIATE`, with `SELECT ... FOR UPDATE`, and single statements such as
    `UPDATE ... RETURNING`, `INSERT ... ON CONFLICT` and `UPSERT`. A check repeated under the lock
    (double-checked locking), checks of the file system (`os.path.exists`) and test files are not
    reported either.

    ## Why is this bad?
    Two concurrent requests both pass the check before either writes: duplicate memories (khala,
    critical 4: "client-side hash check causes race conditions"), two admins on first registration
    (Orchestration Engine 2.2), spending past the budget (2.3, TOCTOU), and two workers leasing the same
    queue item (hyperion: "make dequeue atomic with BEGIN IMMEDIATE or a single UPDATE ... RETURNING").

    ## Fix
    Make the decision and the write one atomic step: a UNIQUE constraint plus upsert / `ON CONFLICT`,
    `UPDATE ... RETURNING`, a transaction that takes the write lock first (`BEGIN IMMEDIATE`), or a lock
    around a reservation (`reserve_spend`).
    """

    code = "RMD502"
    ast_checker = _Fast
    name = "check-then-write-race"
    message = "{write} is decided by {read} with no transaction or lock in between: make the check and the write atomic (transaction, UNIQUE + upsert, UPDATE ... RETURNING)"
    severity = Severity.CRITICAL
    provenance = (
        Provenance("000_18f8732ba4a86cc0.txt", "CRITICAL, item 4 (Fix Duplicate Race Condition: client-side hash check)", "khala"),
        Provenance("001_0845f576a88221b4.txt", "Phase 2, items 2.2 (admin race) and 2.3 (TOCTOU budget race)", "orchestration_engine"),
        Provenance("002_cc3ae69c69bad11e.txt", "Queue + Storage Reliability (make dequeue atomic)", "hyperion"),
    )
    triggers = (b"SELECT", b"select ", b"can_", b"check_", b"exists", b"has_", b"find_", b"get_by_", b"count")

    VALID = [
        Valid(
            """
            class AuthService:
                async def register(self, email, password_hash):
                    async with self._db.transaction() as conn:
                        existing = await conn.execute("SELECT id FROM users WHERE email = ?", (email,))
                        if await existing.fetchone():
                            raise ValueError("Registration failed")
                        count = await conn.execute("SELECT COUNT(*) as cnt FROM users")
                        row = await count.fetchone()
                        role = "admin" if row[0] == 0 else "user"
                        await conn.execute("INSERT INTO users (email, password_hash, role) VALUES (?, ?, ?)", (email, password_hash, role))
            """
        ),
        Valid(
            """
            def dequeue(conn):
                return conn.execute(
                    "UPDATE queue SET status = 'leased' WHERE id = ("
                    "SELECT id FROM queue WHERE status = 'pending' ORDER BY id LIMIT 1) RETURNING id, payload"
                ).fetchone()
            """
        ),
        Valid(
            """
            import sqlite3

            def dequeue(conn: sqlite3.Connection):
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    row = conn.execute("SELECT id FROM queue WHERE status = 'pending' LIMIT 1").fetchone()
                    if row is None:
                        return None
                    conn.execute("UPDATE queue SET status = 'leased' WHERE id = ?", (row[0],))
                    return row[0]
            """
        ),
        Valid(
            """
            class ProjectRoutes:
                async def rename(self, db, project_id, name):
                    row = await db.fetchone("SELECT id FROM projects WHERE id = ?", (project_id,))
                    if not row:
                        raise KeyError(project_id)
                    await db.execute_write("UPDATE projects SET name = ? WHERE id = ?", (name, project_id))
            """
        ),
        Valid(
            """
            import asyncio

            class Executor:
                async def run(self, task, budget):
                    if not await budget.reserve_spend(task.estimate):
                        return
                    try:
                        cost = await task.run()
                        await budget.record_spend(cost)
                    finally:
                        await budget.release_reservation(task.estimate)
            """
        ),
        Valid(
            """
            class MemoryStore:
                async def add(self, conn, content, digest):
                    await conn.query(
                        "INSERT INTO memory (content, content_hash) VALUES ($c, $h) ON CONFLICT (content_hash) DO NOTHING",
                        {"c": content, "h": digest},
                    )
                    rows = await conn.query("SELECT id FROM memory WHERE content_hash = $h", {"h": digest})
                    return rows[0]
            """
        ),
    ]

    VALID = [
        *VALID,
        Valid(
            """
            import os

            class Store:
                async def ensure(self, key, value):
                    if await self.repo.exists(key):
                        return
                    async with self._lock:
                        if await self.repo.exists(key):
                            return
                        await self.repo.insert_item(key, value)

                def init_db(self, conn):
                    if os.path.exists(self.db_path):
                        return
                    conn.execute("CREATE TABLE repos (repo TEXT, ref TEXT)")
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            class SurrealDBClient:
                async def create_memory(self, content, digest):
                    existing = await self.conn.query("SELECT id FROM memory WHERE content_hash = $h", {"h": digest})
                    if existing and existing[0]["result"]:
                        return existing[0]["result"][0]["id"]
                    created = await self.conn.create("memory", {"content": content, "content_hash": digest})
                    return created["id"]
            """,
            line=6,
        ),
        Invalid(
            """
            class AuthService:
                async def register(self, email, password_hash):
                    cursor = await self._db.conn.execute("SELECT COUNT(*) AS cnt FROM users")
                    row = await cursor.fetchone()
                    role = "admin" if row[0] == 0 else "user"
                    await self._db.execute_write(
                        "INSERT INTO users (email, password_hash, role) VALUES (?, ?, ?)",
                        (email, password_hash, role),
                    )
            """,
            line=6,
        ),
        Invalid(
            """
            class Executor:
                async def _execute_task(self, task):
                    if not await self.budget.can_spend(task.estimated_cost):
                        return None
                    result = await self.client.run(task)
                    await self.budget.record_spend(result.cost)
                    return result
            """,
            line=6,
        ),
        Invalid(
            """
            import sqlite3

            class Queue:
                def dequeue(self, worker_id):
                    row = self.conn.execute(
                        "SELECT id, payload FROM queue WHERE status = 'pending' ORDER BY id LIMIT 1"
                    ).fetchone()
                    if row is None:
                        return None
                    self.conn.execute("UPDATE queue SET status = 'leased', lease_owner = ? WHERE id = ?", (worker_id, row[0]))
                    self.conn.commit()
                    return row
            """,
            line=10,
        ),
        Invalid(
            """
            async def ensure_tag(db, name):
                if await db.tag_exists(name):
                    return
                await db.insert_tag(name)
            """,
            line=4,
        ),
        Invalid(
            """
            async def upsert_setting(db, key, value):
                row = await db.fetchone("SELECT value FROM settings WHERE key = ?", (key,))
                if row:
                    await db.execute_write("UPDATE settings SET value = ? WHERE key = ?", (value, key))
                else:
                    await db.execute_write("INSERT INTO settings (key, value) VALUES (?, ?)", (key, value))
            """,
            line=6,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: function id -> kinds of calls seen directly in it (read/write); only those with both are walked
        self._kinds: dict[int, set[str]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        if not isinstance(node.func, cst.Attribute):
            return
        found = _classify(node, isinstance(self.context.parent(), cst.Await))
        if found is not None:
            func = self.context.enclosing_function()
            if func is not None:
                self._kinds.setdefault(id(func), set()).add(found[0])

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        kinds = self._kinds.pop(id(node), set())
        if "read" not in kinds or "write" not in kinds:
            return
        if decorated_transactional(node) or self.context.is_test_file():
            return
        collector = _Collector(self, node)
        node.body.visit(collector)
        if collector.unsafe_to_judge:
            return
        events = collector.events
        if not any(e.kind == "read" for e in events) or not any(e.kind == "write" for e in events):
            return
        reported: set[int] = set()
        for wi, write in enumerate(events):
            if write.kind != "write" or id(write.node) in reported:
                continue
            if _rechecked_under_protection(write, events[:wi]):
                continue  # double-checked: the decision is re-read inside the same transaction/lock
            for ri in range(wi):
                read = events[ri]
                if read.kind != "read" or _contains(write.ancestors, read.node) or _contains(read.ancestors, write.node):
                    continue
                if any(e.kind == "begin" for e in events[:wi]):
                    break
                if _shared_protection(read, write):
                    continue
                if self._decides(read, write, events[ri + 1 : wi], [g for gi, g in enumerate(events[:wi]) if g.kind == "guard" and (gi > ri or _contains(read.ancestors, g.node))]):
                    reported.add(id(write.node))
                    self.report(write.node, write=_describe(write), read=_describe(read))
                    break

    # -- does the read decide the write? -------------------------------------------------------------
    def _decides(self, read: _Event, write: _Event, between: list[_Event], guards: list[_Event]) -> bool:
        tainted = set(read.targets)
        decided: set[str] = set()
        for ev in between:
            if ev.kind != "assign":
                continue
            value = getattr(ev.node, "value", None)
            used = _names_in(value) if value is not None else set()
            if used & tainted or _contains_node(value, read.node):
                tainted |= ev.targets
                if isinstance(value, cst.IfExp) or any(
                    isinstance(a, cst.If) and (_names_in(a.test) & tainted) for a in ev.ancestors
                ):
                    decided |= ev.targets
            elif used & decided:
                decided |= ev.targets

        def mentions(expr: cst.CSTNode) -> bool:
            return bool(_names_in(expr) & tainted) or _contains_node(expr, read.node)

        claim = self._claims(read, write)
        create = _creates(write)
        # (a) the write sits in a branch of an `if` on the read
        for anc in write.ancestors:
            if isinstance(anc, cst.If) and mentions(anc.test):
                absent = _absent_branch(anc.test)
                in_else = anc.orelse is not None and _contains_node(anc.orelse, write.node)
                if absent is not None and in_else:
                    absent = not absent
                if self._fits(read, write, create, claim, absent):
                    return True
        # (b) an earlier guard on the read exits the function
        for ev in guards:
            if ev.kind == "guard" and mentions(ev.node.test) and not _contains(write.ancestors, ev.node):  # type: ignore[attr-defined]
                absent = _absent_branch(ev.node.test)  # type: ignore[attr-defined]
                if self._fits(read, write, create, claim, None if absent is None else not absent):
                    return True
        # (c) a value derived conditionally from the read is written
        if decided and read.read_kind == "count" and any(_names_in(a.value) & decided for a in write.node.args):  # type: ignore[attr-defined]
            return True
        return False

    @staticmethod
    def _fits(read: _Event, write: _Event, create: bool, claim: bool, absent: bool | None) -> bool:
        """Whether the branch the write runs in makes this a race for this kind of read."""
        if read.read_kind == "check":
            return _spends(read, write)
        if read.read_kind == "count" or claim:
            return True
        # existence reads: creating when the thing was not found is the duplicate race
        return create and absent is True

    @staticmethod
    def _claims(read: _Event, write: _Event) -> bool:
        """SELECT ... WHERE status = ... then UPDATE ... SET status = ...: a claim of the selected row."""
        if not read.sql_text or not write.sql_text or sql.verb(write.sql_text) != "UPDATE":
            return False
        return bool(_where_columns(read.sql_text) & _set_columns(write.sql_text))


# -- helpers -----------------------------------------------------------------------------------------
def _describe(ev: _Event) -> str:
    if ev.sql_text:
        words = ev.sql_text.split()
        return f"`{' '.join(words[:4])}{' ...' if len(words) > 4 else ''}`"
    return f"{dotted_name(ev.node.func) or 'call'}()"  # type: ignore[attr-defined]


def _db_receiver(call: cst.Call) -> bool:
    """A generic ``create``/``insert``/``save`` is a database write when its receiver looks like one or
    its first argument names a table (``conn.create("memory", ...)``); ``client.messages.create`` is not."""
    if call.args and isinstance(call.args[0].value, (cst.SimpleString, cst.ConcatenatedString)):
        receiver = dotted_name(call.func.value) or ""  # type: ignore[attr-defined]
        return not receiver.endswith(("messages", "completions", "chat", "embeddings"))
    receiver = dotted_name(call.func.value) or ""  # type: ignore[attr-defined]
    last = receiver.rsplit(".", 1)[-1].lstrip("_")
    return bool(_DB_RECEIVER.search(last)) and not last.endswith("client")


def _spends(read: _Event, write: _Event) -> bool:
    """A permission/quota check decides the write that consumes it: ``can_spend`` -> ``record_spend``."""
    if write.sql_text:
        return False
    check = (dotted_name(read.node.func) or "").rsplit(".", 1)[-1]  # type: ignore[attr-defined]
    method = (dotted_name(write.node.func) or "").rsplit(".", 1)[-1]  # type: ignore[attr-defined]
    stem = re.sub(r"^(can_|check_|may_|within_|is_allowed_?)", "", check)
    return bool(_SPEND.match(method)) or (bool(stem) and stem in method.split("_"))


def _creates(write: _Event) -> bool:
    if write.sql_text:
        return sql.verb(write.sql_text) in {"INSERT", "CREATE", "REPLACE", "RELATE"}
    return True


def _targets(node: cst.CSTNode) -> set[str]:
    out: set[str] = set()
    targets: list[cst.BaseExpression] = []
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
        targets = [node.target]
    for t in targets:
        out |= _names_in(t)
    return out


def _bound_names(call: cst.Call, anc: tuple[cst.CSTNode, ...]) -> set[str]:
    """Names bound to the result of ``call``: ``x = await call``, ``async with call as x``."""
    for node in anc:
        if isinstance(node, (cst.Assign, cst.AnnAssign)):
            return _targets(node)
        if isinstance(node, cst.WithItem) and node.asname is not None:
            return _names_in(node.asname.name)
        if isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            return set()
    return set()


class _NameCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        name = dotted_name(node)
        if name is not None:
            self.names.add(name)
        return True


def _names_in(expr: cst.CSTNode | None) -> set[str]:
    if expr is None:
        return set()
    if isinstance(expr, cst.Name):
        return {expr.value}
    collector = _NameCollector()
    expr.visit(collector)
    return collector.names - {"self", "cls"}


class _Finder(cst.CSTVisitor):
    def __init__(self, target: cst.CSTNode) -> None:
        self.target = target
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node is self.target:
            self.found = True
        return not self.found


def _contains_node(tree: cst.CSTNode | None, target: cst.CSTNode) -> bool:
    if tree is None:
        return False
    if tree is target:
        return True
    finder = _Finder(target)
    tree.visit(finder)
    return finder.found


def _contains(ancestors: tuple[cst.CSTNode, ...], node: cst.CSTNode) -> bool:
    return any(a is node for a in ancestors)


def _rechecked_under_protection(write: _Event, before: list[_Event]) -> bool:
    withs = {id(a) for a in write.ancestors if isinstance(a, cst.With) and with_protects(a)}
    return bool(withs) and any(
        e.kind == "read" and any(isinstance(a, cst.With) and id(a) in withs for a in e.ancestors) for e in before
    )


def _shared_protection(read: _Event, write: _Event) -> bool:
    read_withs = {id(a) for a in read.ancestors if isinstance(a, cst.With) and with_protects(a)}
    return any(isinstance(a, cst.With) and id(a) in read_withs for a in write.ancestors)


def _exits(body: cst.BaseSuite) -> bool:
    stmts = body.body if isinstance(body, cst.IndentedBlock) else [body]
    if not stmts:
        return False
    last = stmts[-1]
    small = last.body if isinstance(last, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else []
    return bool(small) and isinstance(small[-1], _EXITS)


def _absent_branch(test: cst.BaseExpression) -> bool | None:
    """True when the `if` body runs when the read found nothing, False when it found something."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _absent_branch(test.expression)
        return None if inner is None else not inner
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comp = test.comparisons[0]
        right = comp.comparator
        if isinstance(right, cst.Name) and right.value == "None":
            if isinstance(comp.operator, cst.Is):
                return True
            if isinstance(comp.operator, cst.IsNot):
                return False
        if isinstance(right, cst.Integer) and right.value == "0":
            if isinstance(comp.operator, (cst.Equal, cst.LessThanEqual)):
                return True
            if isinstance(comp.operator, (cst.NotEqual, cst.GreaterThan)):
                return False
        return None
    if isinstance(test, cst.BooleanOperation):
        left, right = _absent_branch(test.left), _absent_branch(test.right)
        if isinstance(test.operator, cst.And):
            return False if False in (left, right) else (True if left is True and right is True else None)
        return True if True in (left, right) else (False if left is False and right is False else None)
    if isinstance(test, (cst.Name, cst.Attribute, cst.Subscript, cst.Call, cst.Await)):
        return False
    return None


_SET = re.compile(r"\bSET\b(.*?)(?:\bWHERE\b|\bRETURNING\b|$)", re.I | re.S)
_WHERE = re.compile(r"\bWHERE\b(.*?)(?:\bORDER\b|\bLIMIT\b|\bGROUP\b|$)", re.I | re.S)
_COLUMN = re.compile(r"([A-Za-z_][\w]*)\s*(?:=|<>|!=|\bIN\b|\bIS\b|<|>)", re.I)


def _set_columns(text: str) -> set[str]:
    m = _SET.search(text)
    return {c.lower() for c in _COLUMN.findall(m.group(1))} if m else set()


def _where_columns(text: str) -> set[str]:
    m = _WHERE.search(text)
    return {c.lower() for c in _COLUMN.findall(m.group(1))} - {"id"} if m else set()
