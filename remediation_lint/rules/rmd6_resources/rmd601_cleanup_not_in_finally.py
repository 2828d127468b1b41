from __future__ import annotations

import libcst as cst

from remediation_lint.analysis.names import dotted_name
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity, Valid


class CleanupNotInFinally(Rule):
    """A resource released on the straight path only leaks whenever a statement before the release raises.

    ## What it does
    Finds a resource acquired into a name (`engine = create_engine(url)`, `conn = sqlite3.connect(p)`,
    `f = open(p)`, `client = httpx.Client()`; the functions are configurable) and released later in the
    same block by a plain statement (`engine.dispose()`, `conn.close()`, `await client.aclose()`), when
    a statement in between can raise. The finding sits on the release call. Resources managed by
    `with`, `try/finally` or an `ExitStack` are not reported, nor resources that escape (returned,
    reassigned) before the release.

    ## Why is this bad?
    In the Orchestration Engine's `backend/db/migrate.py` (seed 001, 2.5) `engine.dispose()` ran only
    when `command.upgrade()` succeeded; a failing migration leaked the engine and its pooled
    connections. Every exception between acquisition and release does the same.

    ## Fix
    Use the resource as a context manager when it is one (`with open(p) as f:`), or wrap the statements
    between acquisition and release in `try:` and move the release into `finally:`.

    ## Fix safety
    The fix is safe: it moves the release call, unchanged, into a `finally:` clause around the
    statements that used to precede it, keeping their comments and blank lines. On the straight path
    the program does exactly what it did before; on the exceptional path it now releases the resource.
    """

    code = "RMD601"
    name = "cleanup-not-in-finally"
    message = "`{release}` is skipped when a statement before it raises: wrap the statements after `{target} = {acquire}(...)` in `try:` and release in `finally:`"
    severity = Severity.MEDIUM
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 2, item 2.5 (engine.dispose() skipped when command.upgrade() raises in migrate.py)", "orchestration_engine"),
    )
    fix_safety = FixSafety.SAFE
    triggers = (b".close(", b".dispose(", b".aclose(", b".shutdown(", b".release(", b".disconnect(", b".terminate(")
    options = {
        "acquire_functions": (
            "create_engine", "create_async_engine", "connect", "open", "socket", "create_connection", "urlopen",
            "Client", "AsyncClient", "Session", "ClientSession", "ThreadPoolExecutor", "ProcessPoolExecutor",
            "NamedTemporaryFile", "TemporaryFile", "ZipFile", "TarFile", "Pool", "create_pool",
        ),
        "release_methods": ("close", "dispose", "aclose", "shutdown", "release", "disconnect", "terminate"),
    }
    option_docs = {
        "acquire_functions": "last names of calls that return a resource which must be released",
        "release_methods": "methods that release such a resource",
    }
    cwe = (404,)

    VALID = [
        Valid(
            """
            from alembic import command
            from sqlalchemy import create_engine, inspect

            def run_migrations(url, cfg):
                engine = create_engine(url)
                try:
                    if "alembic_version" not in inspect(engine).get_table_names():
                        command.stamp(cfg, "head")
                    command.upgrade(cfg, "head")
                finally:
                    engine.dispose()
            """
        ),
        Valid(
            """
            import sqlite3

            def count(path):
                with sqlite3.connect(path) as conn:
                    return conn.execute("SELECT count(*) FROM t").fetchone()[0]
            """
        ),
        Valid(
            """
            import contextlib
            import sqlite3

            def copy(src, dst):
                with contextlib.ExitStack() as stack:
                    a = stack.enter_context(open(src))
                    b = stack.enter_context(open(dst, "w"))
                    b.write(a.read())
            """
        ),
        Valid(
            """
            import sqlite3

            def connect(path):
                conn = sqlite3.connect(path)
                conn.row_factory = sqlite3.Row
                return conn

            def reopen(path, old):
                conn = sqlite3.connect(path)
                conn = old
                conn.close()
            """
        ),
        Valid(
            """
            def touch(path):
                f = open(path, "a")
                f.close()
            """
        ),
        Valid(
            """
            import socket

            def probe(host):
                sock = socket.create_connection((host, 80))
                try:
                    sock.sendall(b"HEAD / HTTP/1.0\\r\\n\\r\\n")
                    data = sock.recv(128)
                finally:
                    sock.close()
                return data
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from alembic import command
            from alembic.config import Config
            from sqlalchemy import create_engine, inspect

            def run_migrations(url: str) -> None:
                cfg = Config("alembic.ini")
                engine = create_engine(url)

                # fresh databases are stamped first
                if "alembic_version" not in inspect(engine).get_table_names():
                    command.stamp(cfg, "head")
                command.upgrade(cfg, "head")
                # release pooled connections
                engine.dispose()
                return None
            """,
            fixed="""
            from alembic import command
            from alembic.config import Config
            from sqlalchemy import create_engine, inspect

            def run_migrations(url: str) -> None:
                cfg = Config("alembic.ini")
                engine = create_engine(url)

                try:
                    # fresh databases are stamped first
                    if "alembic_version" not in inspect(engine).get_table_names():
                        command.stamp(cfg, "head")
                    command.upgrade(cfg, "head")
                finally:
                    # release pooled connections
                    engine.dispose()
                return None
            """,
            line=14,
        ),
        Invalid(
            """
            import sqlite3 as sq

            class Store:
                def export(self, path, rows):
                    conn = sq.connect(path)
                    conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
                    conn.commit()
                    conn.close()
            """,
            fixed="""
            import sqlite3 as sq

            class Store:
                def export(self, path, rows):
                    conn = sq.connect(path)
                    try:
                        conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
                        conn.commit()
                    finally:
                        conn.close()
            """,
            line=8,
        ),
        Invalid(
            """
            from sqlalchemy.ext.asyncio import create_async_engine

            async def check(url):
                engine = create_async_engine(url)
                async with engine.connect() as conn:
                    await conn.exec_driver_sql("SELECT 1")
                await engine.dispose()
            """,
            fixed="""
            from sqlalchemy.ext.asyncio import create_async_engine

            async def check(url):
                engine = create_async_engine(url)
                try:
                    async with engine.connect() as conn:
                        await conn.exec_driver_sql("SELECT 1")
                finally:
                    await engine.dispose()
            """,
            line=7,
        ),
        Invalid(
            """
            import httpx

            def fetch_all(urls):
                out = []
                client = httpx.Client(timeout=10)
                for url in urls:
                    out.append(client.get(url).text)
                client.close()
                return out
            """,
            fixed="""
            import httpx

            def fetch_all(urls):
                out = []
                client = httpx.Client(timeout=10)
                try:
                    for url in urls:
                        out.append(client.get(url).text)
                finally:
                    client.close()
                return out
            """,
            line=8,
        ),
        Invalid(
            """
            def dump(path, data):
                if data:
                    handle = open(path, "w")
                    handle.write(data)
                    handle.close()
            """,
            fixed="""
            def dump(path, data):
                if data:
                    handle = open(path, "w")
                    try:
                        handle.write(data)
                    finally:
                        handle.close()
            """,
            line=5,
        ),
    ]

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if self.context.enclosing_function() is None:
            return
        parent = self.context.parent()
        if isinstance(parent, cst.Try) and parent.finalbody is not None:
            return
        body = list(node.body)
        for i, stmt in enumerate(body):
            acquired = self._acquisition(stmt)
            if acquired is None:
                continue
            target, acquire = acquired
            for j in range(i + 1, len(body)):
                release = self._release(body[j], target)
                if release is not None:
                    between = body[i + 1 : j]
                    if any(_can_raise(s) for s in between) and not any(_mentions_release(s, target, self.opts["release_methods"]) for s in between):
                        self._report(node, i, j, release, target, acquire)
                    break
                if _rebinds_or_returns(body[j], target):
                    break

    # -- shapes ----------------------------------------------------------------------------------------
    def _acquisition(self, stmt: cst.BaseStatement) -> tuple[str, str] | None:
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            return None
        assign = stmt.body[0]
        if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
            return None
        target = dotted_name(assign.targets[0].target)
        value = assign.value
        if isinstance(value, cst.Await):
            value = value.expression
        if target is None or not isinstance(value, cst.Call):
            return None
        name = self.context.call_name(value) or ""
        last = name.rsplit(".", 1)[-1]
        if last not in self.opts["acquire_functions"]:
            return None
        return target, last

    def _release(self, stmt: cst.BaseStatement, target: str) -> cst.Call | None:
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            return None
        expr = stmt.body[0]
        if not isinstance(expr, cst.Expr):
            return None
        value = expr.value
        if isinstance(value, cst.Await):
            value = value.expression
        if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
            return None
        if value.func.attr.value not in self.opts["release_methods"] or dotted_name(value.func.value) != target:
            return None
        return value

    # -- report and fix --------------------------------------------------------------------------------
    def _report(self, block: cst.IndentedBlock, i: int, j: int, release: cst.Call, target: str, acquire: str) -> None:
        body = list(block.body)
        between = body[i + 1 : j]
        release_stmt = body[j]
        first = between[0]
        lines = list(first.leading_lines)
        cut = 0
        while cut < len(lines) and lines[cut].comment is None:
            cut += 1
        try_lines, keep_lines = lines[:cut], lines[cut:]
        between[0] = first.with_changes(leading_lines=keep_lines)
        rel_lines = list(release_stmt.leading_lines)
        while rel_lines and rel_lines[0].comment is None:
            rel_lines.pop(0)
        new_try = cst.Try(
            body=cst.IndentedBlock(body=between),
            finalbody=cst.Finally(body=cst.IndentedBlock(body=[release_stmt.with_changes(leading_lines=rel_lines)])),
            leading_lines=try_lines,
        )
        new_block = block.with_changes(body=[*body[: i + 1], new_try, *body[j + 1 :]])
        release_text = self.context.module.code_for_node(release).strip()
        self.report(
            release,
            release=release_text,
            target=target,
            acquire=acquire,
            fix=self.make_fix((block, new_block)),
        )


class _Probe(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Call, cst.Await, cst.Subscript, cst.Raise, cst.BinaryOperation, cst.Assert)):
            self.found = True
        return not self.found and not isinstance(node, (cst.Lambda, cst.FunctionDef, cst.ClassDef))


def _can_raise(stmt: cst.BaseStatement) -> bool:
    if isinstance(stmt, (cst.For, cst.While, cst.If, cst.With, cst.Try)):
        return True
    probe = _Probe()
    stmt.visit(probe)
    return probe.found


class _ReleaseProbe(cst.CSTVisitor):
    def __init__(self, target: str, methods) -> None:
        self.target = target
        self.methods = methods
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in self.methods and dotted_name(func.value) == self.target:
            self.found = True
        if dotted_name(func) in {"contextlib.closing", "closing"} or (isinstance(func, cst.Attribute) and func.attr.value in {"enter_context", "enter_async_context", "callback", "push_async_callback"}):
            for arg in node.args:
                if dotted_name(arg.value) == self.target:
                    self.found = True


def _mentions_release(stmt: cst.BaseStatement, target: str, methods) -> bool:
    probe = _ReleaseProbe(target, methods)
    stmt.visit(probe)
    return probe.found


class _Escape(cst.CSTVisitor):
    def __init__(self, target: str) -> None:
        self.target = target
        self.found = False

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and self.target in (dotted_name(node.value) or ""):
            self.found = True

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if dotted_name(node.target) == self.target:
            self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def _rebinds_or_returns(stmt: cst.BaseStatement, target: str) -> bool:
    probe = _Escape(target)
    stmt.visit(probe)
    return probe.found
