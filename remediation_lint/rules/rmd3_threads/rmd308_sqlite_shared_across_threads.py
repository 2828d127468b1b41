from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.names import ast_dotted
from remediation_lint.analysis.threads import (
    ast_enclosing_class_node,
    ast_under_lock,
    enclosing_class_node,
    under_lock,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

#: methods of a sqlite3 connection that touch the database
_CONNECTION_METHODS = frozenset(
    {"execute", "executemany", "executescript", "cursor", "commit", "rollback", "backup", "iterdump", "blobopen"}
)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._connections: dict[tuple[int, str], list[tuple[ast.Call, str]]] = {}
        self._unlocked: dict[tuple[int, str], list[str]] = {}

    def visit_Call(self, node: ast.Call) -> None:
        ctx = self.context
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _CONNECTION_METHODS:
            key = self._key(func.value)
            fn = ctx.enclosing_function()
            where = fn.name if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) else "<module>"
            if key is not None and where != "__init__":
                locked = ast_under_lock(ctx)
                if locked is None:
                    self.defer()
                elif not locked:
                    self._unlocked.setdefault(key, []).append(where)
            return
        if ctx.qualified(func) != "sqlite3.connect":
            return
        if not any(
            kw.arg == "check_same_thread" and isinstance(kw.value, ast.Constant) and kw.value.value is False
            for kw in node.keywords
        ):
            return
        parent = ctx.parent()
        if not isinstance(parent, (ast.Assign, ast.AnnAssign)) or parent.value is not node:
            return
        targets = list(parent.targets) if isinstance(parent, ast.Assign) else [parent.target]
        for target in targets:
            if isinstance(target, ast.Name) and ctx.enclosing_function() is not None:
                continue
            key = self._key(target)
            if key is not None:
                self._connections.setdefault(key, []).append((node, ast_dotted(target) or ""))

    def _key(self, expr: ast.AST) -> tuple[int, str] | None:
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            cls = ast_enclosing_class_node(self.context)
            return (id(cls), expr.attr) if cls is not None else None
        if isinstance(expr, ast.Name):
            return (0, expr.id)
        return None

    def finish(self) -> None:
        for key, calls in self._connections.items():
            unlocked = self._unlocked.get(key)
            if not unlocked:
                continue
            for call, text in calls:
                self.report(call, target=text, where=unlocked[0])


class SqliteSharedAcrossThreads(Rule):
    """A sqlite3 connection opened with `check_same_thread=False` and used without a lock.

    ## What it does
    Finds `sqlite3.connect(..., check_same_thread=False)` whose connection is stored on `self` (or in a
    module-level name) and used (`execute`, `executemany`, `executescript`, `cursor`, `commit`,
    `rollback`) somewhere in the class (or module) outside a `with <lock>:` block (set-up statements in
    `__init__` excepted: they run before the object is shared). Connections whose
    every use holds a lock, connections kept in a `threading.local()` (one per thread) and connections
    local to one function are left alone.

    ## Why is this bad?
    `check_same_thread=False` only switches off Python's guard; it does not make the connection safe to
    use from several threads at once. Concurrent `execute()` calls from threadpool workers interleave
    statements and cursors of the same connection, which corrupts transactions and raises
    `ProgrammingError`/`InterfaceError` at random. The Orchestration Engine's RAG index (plan item 3.4)
    ran its SQLite queries through `asyncio.to_thread` on such a connection, and hyperion's queue
    (performance plan) shared one connection between its workers.

    ## Fix
    Give the owner a `threading.Lock` and run every statement under it (`with self._lock: return
    self.conn.execute(sql, params).fetchall()`), or open one connection per thread (`threading.local()`),
    or use a connection pool.
    """

    code = "RMD308"
    ast_checker = _Fast
    name = "sqlite-shared-across-threads"
    message = "sqlite3 connection {target} has check_same_thread=False but is used without a lock in {where}(): serialise every use with a threading.Lock or open one connection per thread"
    severity = Severity.HIGH
    provenance = (
        Provenance(
            "001_0845f576a88221b4.txt",
            "Phase 3, item 3.4 (check_same_thread=False without a lock in the RAG index)",
            "orchestration_engine",
        ),
        Provenance(
            "002_cc3ae69c69bad11e.txt",
            "Performance & Scalability (SQLite connections shared by multi-threaded workers)",
            "hyperion",
        ),
    )
    triggers = (b"check_same_thread",)

    limitations = (
        "The Semgrep twin `rmd308-sqlite-shared-across-threads` cannot follow each use of the connection: "
        "it reports a `check_same_thread=False` connection only when its class (or module) owns no lock "
        "at all, so a class whose lock some methods skip is found by this rule alone."
    )

    VALID = [
        Valid(
            """
            import sqlite3
            import threading

            class _RAGIndex:
                def __init__(self, path):
                    self.conn = sqlite3.connect(str(path), check_same_thread=False)
                    self._lock = threading.Lock()

                def query_sync(self, sql, params):
                    with self._lock:
                        return self.conn.execute(sql, params).fetchall()
            """
        ),
        Valid(
            """
            import sqlite3
            import threading

            class Store:
                def __init__(self, path):
                    self.path = path
                    self._local = threading.local()

                def _conn(self):
                    if not hasattr(self._local, "conn"):
                        self._local.conn = sqlite3.connect(self.path, check_same_thread=False)
                    return self._local.conn
            """
        ),
        Valid(
            """
            import sqlite3

            def count_rows(path):
                conn = sqlite3.connect(path, check_same_thread=False)
                try:
                    return conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
                finally:
                    conn.close()
            """
        ),
        Valid(
            """
            import sqlite3

            class Cache:
                def __init__(self, path):
                    self.conn = sqlite3.connect(path)

                def get(self, key):
                    return self.conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
            """
        ),
        Valid(
            """
            import sqlite3
            import threading

            _db_lock = threading.RLock()
            _conn = sqlite3.connect("app.db", check_same_thread=False)

            def save(key, value):
                with _db_lock:
                    _conn.execute("INSERT INTO kv VALUES (?, ?)", (key, value))
                    _conn.commit()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import sqlite3

            class _RAGIndex:
                def load(self, path):
                    self.conn = sqlite3.connect(str(path), check_same_thread=False)

                def search(self, query):
                    return self.conn.execute("SELECT body FROM docs WHERE docs MATCH ?", (query,)).fetchall()
            """,
            line=5,
        ),
        Invalid(
            """
            import sqlite3 as sql
            import threading

            class ChangeQueue:
                def __init__(self, path):
                    self._lock = threading.Lock()
                    self._conn = sql.connect(path, isolation_level=None, check_same_thread=False)

                def enqueue(self, payload):
                    with self._lock:
                        self._conn.execute("INSERT INTO queue (payload) VALUES (?)", (payload,))

                def stats(self):
                    return self._conn.execute("SELECT status, COUNT(*) FROM queue GROUP BY status").fetchall()
            """,
            line=7,
        ),
        Invalid(
            """
            from sqlite3 import connect

            _conn = connect("sessions.db", check_same_thread=False)

            def save_session(sid, data):
                _conn.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?)", (sid, data))
                _conn.commit()
            """,
            line=3,
        ),
        Invalid(
            """
            import sqlite3

            class Metrics:
                def __init__(self, path):
                    self.db = sqlite3.connect(path, check_same_thread=False)

                def record(self, name, value):
                    cur = self.db.cursor()
                    cur.execute("INSERT INTO metrics VALUES (?, ?)", (name, value))
                    self.db.commit()
            """,
            line=5,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: (id(class) or 0, name) -> the connect calls bound to it
        self._connections: dict[tuple[int, str], list[tuple[cst.Call, str]]] = {}
        #: (id(class) or 0, name) -> names of functions that use it without a lock
        self._unlocked: dict[tuple[int, str], list[str]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.context
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _CONNECTION_METHODS:
            key = self._key(func.value)
            fn = ctx.enclosing_function()
            where = fn.name.value if isinstance(fn, cst.FunctionDef) else "<module>"
            # set-up in __init__ runs before the object is shared
            if key is not None and where != "__init__" and not under_lock(ctx):
                self._unlocked.setdefault(key, []).append(where)
            return
        if ctx.qualified(func) != "sqlite3.connect":
            return
        if not any(
            arg.keyword is not None and arg.keyword.value == "check_same_thread"
            and isinstance(arg.value, cst.Name) and arg.value.value == "False"
            for arg in node.args
        ):
            return
        parent = ctx.parent()
        if not isinstance(parent, (cst.Assign, cst.AnnAssign)):
            return
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
        for target in targets:
            if isinstance(target, cst.Name) and ctx.enclosing_function() is not None:
                continue  # a local connection: not shared unless it escapes, which is not followed
            key = self._key(target)
            if key is not None:
                text = ctx.dotted(target) or ""
                self._connections.setdefault(key, []).append((node, text))

    def _key(self, expr: cst.BaseExpression) -> tuple[int, str] | None:
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
            cls = enclosing_class_node(self.context)
            return (id(cls), expr.attr.value) if cls is not None else None
        if isinstance(expr, cst.Name):
            return (0, expr.value)
        return None

    def finish(self) -> None:
        for key, calls in self._connections.items():
            unlocked = self._unlocked.get(key)
            if not unlocked:
                continue
            for call, text in calls:
                self.report(call, target=text, where=unlocked[0])
