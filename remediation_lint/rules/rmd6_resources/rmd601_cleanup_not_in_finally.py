from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk, child_nodes

import libcst as cst

from remediation_lint.analysis import sql
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity, Valid

_AST_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_AST_BLOCK_FIELDS = ("body", "orelse", "finalbody")


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode). A LibCST ``IndentedBlock`` is an ``ast`` body list
    whose first statement starts its line; its lines are the ``ast`` statements grouped by ``;``. Each
    block is examined when its first statement is visited (the import map then matches LibCST's)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._suspects: set[str] = set()

    def finish(self) -> None:
        if not self._suspects:
            return
        for node in (*self.context.nodes(ast.Import), *self.context.nodes(ast.ImportFrom)):
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.asname in self._suspects and alias.name.rsplit(".", 1)[-1] != alias.asname:
                    self.defer()
                    return

    def visit_stmt(self, node: ast.stmt) -> None:
        ctx = self.context
        parent = ctx.parent()
        if parent is None or isinstance(parent, ast.Module):
            return
        block = None
        for name in _AST_BLOCK_FIELDS:
            candidate = getattr(parent, name, None)
            if isinstance(candidate, list) and candidate and candidate[0] is node:
                block = candidate
                if name == "body" and isinstance(parent, ast.Try) and parent.finalbody:
                    return
                break
        if block is None or len(block) < 2 or ctx.enclosing_function() is None:
            return
        lines = sql.ast_source_lines(ctx)
        if lines is None or not (0 < node.lineno <= len(lines)):
            self.defer()
            return
        if lines[node.lineno - 1][: node.col_offset].strip():
            return  # a one-line suite (``if x: a(); b()``), not an indented block
        if node.lineno >= 2 and lines[node.lineno - 2].rstrip(b"\r\n").endswith(b"\\"):
            self.defer()  # ``if x: \`` continued: LibCST may see a one-line suite
            return
        self._check(_ast_lines(block))

    def _check(self, body: list[list[ast.stmt]]) -> None:
        release_methods = self.opts["release_methods"]
        first_import = body[0][0] if isinstance(body[0][0], (ast.Import, ast.ImportFrom)) else None
        for i, stmt in enumerate(body):
            acquired = self._acquisition(stmt, first_import)
            if acquired is None:
                continue
            target, acquire = acquired
            for j in range(i + 1, len(body)):
                release = _ast_release(body[j], target, release_methods)
                if release is not None:
                    between = body[i + 1 : j]
                    if any(_ast_can_raise(s) for s in between) and not any(
                        _ast_mentions_release(s, target, release_methods) for s in between
                    ):
                        text = self._release_text(body[j][0], release)
                        if text is None:
                            return
                        self.report(release, release=text, target=target, acquire=acquire, fix=FixSafety.SAFE)
                    break
                if _ast_rebinds_or_returns(body[j], target):
                    break

    def _acquisition(self, line: list[ast.stmt], first_import: ast.stmt | None) -> tuple[str, str] | None:
        if len(line) != 1:
            return None
        assign = line[0]
        if not isinstance(assign, ast.Assign) or len(assign.targets) != 1:
            return None
        target = ast_dotted(assign.targets[0])
        value = assign.value
        if isinstance(value, ast.Await):
            value = value.value
        if target is None or not isinstance(value, ast.Call):
            return None
        if first_import is not None and isinstance(value.func, ast.Name):
            bound = {(a.asname or a.name).split(".", 1)[0] for a in first_import.names}  # type: ignore[attr-defined]
            if value.func.id in bound:
                # LibCST resolves the block's names before this import is met: the last part of the
                # callee may differ only if some import binds the name under another one (``as``)
                self._suspects.add(value.func.id)
        name = self.context.call_name(value) or ""
        last = name.rsplit(".", 1)[-1]
        if last not in self.opts["acquire_functions"]:
            return None
        return target, last

    def _release_text(self, stmt: ast.stmt, call: ast.Call) -> str | None:
        """LibCST's ``code_for_node(release)``: the call's source (defers when parentheses wrap it)."""
        text = sql.ast_segment(self.context, call)
        whole = sql.ast_segment(self.context, stmt)
        if text is None or whole is None:
            self.defer()
            return None
        value = stmt.value  # type: ignore[attr-defined]
        expected = text if value is call else f"await {text}"
        if whole != expected or "\n" in text or "\r" in text:
            # parentheses around the call, or a call over several lines (LibCST renders it without the
            # block's indentation)
            self.defer()
            return None
        return text.strip()


for _stmt_type in ast.stmt.__subclasses__():
    setattr(_Fast, f"visit_{_stmt_type.__name__}", _Fast.visit_stmt)


def _ast_lines(block: list[ast.stmt]) -> list[list[ast.stmt]]:
    """The statements grouped into LibCST lines (``a(); b()`` is one line of two small statements)."""
    out: list[list[ast.stmt]] = []
    previous: ast.stmt | None = None
    for stmt in block:
        if previous is not None and out and stmt.lineno == previous.end_lineno and _ast_simple(previous) and _ast_simple(stmt):
            out[-1].append(stmt)
        else:
            out.append([stmt])
        previous = stmt
    return out


_AST_COMPOUND = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While, ast.With,
    ast.AsyncWith, ast.Try, ast.Match, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()),
)


def _ast_simple(stmt: ast.stmt) -> bool:
    return not isinstance(stmt, _AST_COMPOUND)


def _ast_release(line: list[ast.stmt], target: str, methods) -> ast.Call | None:
    if len(line) != 1 or not isinstance(line[0], ast.Expr):
        return None
    value = line[0].value
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
        return None
    if value.func.attr not in methods or ast_dotted(value.func.value) != target:
        return None
    return value


_AST_RAISERS = (ast.Call, ast.Await, ast.Subscript, ast.Raise, ast.BinOp, ast.Assert)


def _ast_can_raise(line: list[ast.stmt]) -> bool:
    if isinstance(line[0], (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)):
        return True
    todo: list[ast.AST] = list(line)
    while todo:
        node = todo.pop()
        if isinstance(node, _AST_RAISERS):
            return True
        if isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        todo.extend(child_nodes(node))
    return False


def _ast_mentions_release(line: list[ast.stmt], target: str, methods) -> bool:
    for stmt in line:
        for node in ast_walk(stmt):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in methods and ast_dotted(func.value) == target:
                return True
            if ast_dotted(func) in {"contextlib.closing", "closing"} or (
                isinstance(func, ast.Attribute) and func.attr in {"enter_context", "enter_async_context", "callback", "push_async_callback"}
            ):
                for arg in (*node.args, *(k.value for k in node.keywords)):
                    if ast_dotted(arg.value if isinstance(arg, ast.Starred) else arg) == target:
                        return True
    return False


def _ast_rebinds_or_returns(line: list[ast.stmt], target: str) -> bool:
    todo: list[ast.AST] = list(line)
    while todo:
        node = todo.pop()
        if isinstance(node, _AST_DEFS):
            continue
        if isinstance(node, ast.Return):
            if node.value is not None and target in (ast_dotted(node.value) or ""):
                return True
        elif isinstance(node, ast.Assign):
            if any(ast_dotted(t) == target for t in node.targets):
                return True
        todo.extend(child_nodes(node))
    return False


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
    ast_checker = _Fast
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
