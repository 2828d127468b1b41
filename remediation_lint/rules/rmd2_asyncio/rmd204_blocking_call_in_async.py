from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import child_nodes

import libcst as cst

from remediation_lint.analysis.names import ast_dotted as _ast_dotted, dotted_name
from remediation_lint.analysis.sync_callees import asyncio_name, ast_sync_callee, sync_callee, to_thread_call
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.blocking import (
    BLOCKING_FUNCTIONS,
    BLOCKING_OBJECTS,
    NO_FIX_FUNCTIONS,
    OFFLOADER_METHODS,
    OFFLOADERS,
    PATH_IO_METHODS,
    SLEEP_CALLS,
)
from remediation_lint.rule import FixSafety, ImportSpec, Invalid, Provenance, Rule, Severity, Valid

#: parents under which the call can become ``await ...`` without parentheses
_FIXABLE_PARENTS = (cst.Expr, cst.Assign, cst.AnnAssign, cst.Return, cst.Arg, cst.AugAssign, cst.Element)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._functions = {**BLOCKING_FUNCTIONS, **{name: "blocking call" for name in self.opts.get("extra_blocking_calls") or ()}}
        self._objects: dict[tuple[int | None, str], str] = {}
        self._non_blocking: set[tuple[int | None, str]] = set()
        self._defined = {
            stmt.name for stmt in context.tree.body if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        self._pending: list[tuple[ast.Call, tuple[int | None, str], str, bool, str]] = []

    # -- objects -------------------------------------------------------------------------------------
    def _record(self, target: ast.AST, value: ast.AST | None) -> None:
        if not isinstance(value, ast.Call):
            return
        ctor = self.context.qualified(value.func)
        if ctor in BLOCKING_OBJECTS:
            text = _ast_dotted(target)
            if text is not None:
                self._objects.setdefault(self._key(text), ctor)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._record(target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._record(node.target, node.value)

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self._record(node.optional_vars, node.context_expr)

    # -- calls ---------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        ctx = self.context
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "setblocking":
            text = _ast_dotted(func.value)
            if text:
                self._non_blocking.add(self._key(text))
            return
        if not ctx.in_async_function():
            return
        parent = ctx.parent()
        if isinstance(parent, ast.Await):
            return
        qualified = ctx.qualified(func)
        if qualified is None and isinstance(func, ast.Name) and func.id == "open" and not self._shadowed("open"):
            qualified = "open"
        if qualified is not None and (qualified in SLEEP_CALLS or qualified in self._functions):
            if self._offloaded():
                return
            self._report_function(node, qualified)
            return
        if isinstance(parent, (ast.Expr, ast.Assign)) and not self._offloaded():
            if self._check_project_helper(node):
                return
        if not isinstance(func, ast.Attribute):
            return
        method = func.attr
        receiver = _ast_dotted(func.value)
        if method in PATH_IO_METHODS and qualified is None:
            if self._offloaded():
                return
            call = f"{receiver}.{method}" if receiver else f"Path.{method}"
            self._report_offload(node, call, "file I/O", self._fixable(node))
            return
        if receiver is not None and qualified is None:
            if any(method in methods for _, methods in BLOCKING_OBJECTS.values()) and not self._offloaded():
                fixable = self._fixable(node)
                self._pending.append((node, self._key(receiver), method, fixable, self._func_name()))

    def finish(self) -> None:
        for node, key, method, fixable, func_name in self._pending:
            ctor = self._objects.get(key) or (self._objects.get((None, key[1])) if key[0] is not None else None)
            if ctor is None or key in self._non_blocking or (None, key[1]) in self._non_blocking:
                continue
            what, methods = BLOCKING_OBJECTS[ctor]
            if method not in methods:
                continue
            self._report_offload(node, f"{key[1]}.{method}", what, fixable, func_name)

    # -- helpers -------------------------------------------------------------------------------------
    def _fixable(self, node: ast.Call) -> bool:
        """Whether LibCST's parent of the call is one of ``_FIXABLE_PARENTS``; defers when unclear."""
        stack = self.context.stack
        parent = stack[-2] if len(stack) >= 2 else None
        if isinstance(parent, (ast.Expr, ast.Assign, ast.Return, ast.AugAssign, ast.keyword)):
            return True  # (a call is never an assignment target, always its value)
        if isinstance(parent, ast.AnnAssign):
            return parent.value is node
        if isinstance(parent, ast.Call):
            return any(arg is node for arg in parent.args)
        if isinstance(parent, ast.Starred):
            grand = stack[-3] if len(stack) >= 3 else None
            return isinstance(grand, ast.Call) and any(arg is parent for arg in grand.args)
        if isinstance(parent, (ast.List, ast.Set)):
            return True
        if isinstance(parent, ast.Tuple):
            grand = stack[-3] if len(stack) >= 3 else None
            if isinstance(grand, ast.Subscript) and grand.slice is parent:
                # `x[f(), g()]` (LibCST: subscript elements) or `x[(f(), g())]` (a tuple's elements)?
                first, last = parent.elts[0], parent.elts[-1]
                if (parent.lineno, parent.col_offset) == (first.lineno, first.col_offset):
                    return False
                if (parent.end_lineno, parent.end_col_offset) == (last.end_lineno, last.end_col_offset):
                    return False
                self.defer()
            return True
        return False

    def _key(self, text: str) -> tuple[int | None, str]:
        if text.startswith("self.") or text.startswith("cls."):
            return None, text
        func = self.context.enclosing_function()
        return (id(func) if func is not None else None), text

    def _offloaded(self) -> bool:
        qualified = self.context.qualified
        for ancestor in self.context.ancestors():
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                return False
            if isinstance(ancestor, ast.Call):
                f = ancestor.func
                if qualified(f) in OFFLOADERS:
                    return True
                if isinstance(f, ast.Attribute) and f.attr in OFFLOADER_METHODS:
                    return True
        return False

    def _shadowed(self, name: str) -> bool:
        func = self.context.enclosing_function()
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = func.args
            if any(a.arg == name for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)):
                return True
        return name in self._defined

    def _check_project_helper(self, node: ast.Call) -> bool:
        if self.context.project is None:
            return False
        info = ast_sync_callee(self.context, node)
        if info is None or info.node is None or info.module is None:
            return False
        inner = _blocking_call_in(info.node, info.module.imports, self._functions)
        if inner is None:
            return False
        call = _ast_dotted(node.func) or info.name
        self._report_offload(node, call, f"it calls {inner}()", self._fixable(node))
        return True

    def _func_name(self) -> str:
        func = self.context.enclosing_function()
        return func.name if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) else "?"

    def _report_function(self, node: ast.Call, qualified: str) -> None:
        call = _ast_dotted(node.func) or qualified
        fixable = self._fixable(node)
        if qualified in SLEEP_CALLS:
            self.report(
                node, call=call, what="sleep", func=self._func_name(), advice="use await asyncio.sleep(...)",
                fix=FixSafety.SAFE if fixable else None,
            )
            return
        what = self._functions[qualified]
        self._report_offload(node, call, what, fixable and qualified not in NO_FIX_FUNCTIONS)

    def _report_offload(self, node: ast.Call, call: str, what: str, fixable: bool, func_name: str | None = None) -> None:
        self.report(
            node,
            call=call,
            what=what,
            func=func_name or self._func_name(),
            advice="use the async API or await asyncio.to_thread(...)",
            fix=FixSafety.UNSAFE if fixable else None,
        )


class BlockingCallInAsync(Rule):
    """A blocking call inside `async def` stalls the event loop: await an async API or use `asyncio.to_thread`.

    ## What it does
    Inside an `async def` (not inside a nested plain `def` or `lambda`), finds calls that block the
    thread: `time.sleep` (also `from time import sleep`), `urllib.request.urlopen`, the request functions
    of `requests` and `httpx`, methods of `httpx.Client`/`requests.Session` objects, `open()`,
    `Path.read_text/read_bytes/write_text/write_bytes` (unless awaited, as with `anyio.Path`),
    `sqlite3.connect` and the `execute*`/`commit` methods of its connections, `subprocess.run/call/
    check_call/check_output`, `os.system`, `recv`/`accept`/`connect` of blocking `socket.socket`s, and
    sync migrations (`alembic.command.upgrade`). Calls handed to `asyncio.to_thread`/`run_in_executor`
    are left alone. The list is data (`remediation_lint/knowledge/blocking.py`); add your own with the
    `extra_blocking_calls` option.

    ## Why is this bad?
    A coroutine that blocks holds the only thread of the event loop: every other request, heartbeat and
    timeout waits until the call returns. The Orchestration Engine plan (items 3.4 and 2.5) found RAG
    SQLite queries, file tool reads and writes and an Alembic migration running on the event loop.

    ## Fix
    Use the async API (`await asyncio.sleep`, `httpx.AsyncClient`, `aiosqlite`) or run the call in a
    worker thread: `await asyncio.to_thread(fn, *args, **kwargs)`.

    ## Fix safety
    `time.sleep(x)` → `await asyncio.sleep(x)` is safe. Other calls → `await asyncio.to_thread(fn, ...)`
    is unsafe: the function then runs in another thread, where thread-affine objects (a SQLite connection
    made with `check_same_thread=True`) fail and shared state needs a lock. `open()`, connects and calls
    whose result is used in place (`conn.execute(...).fetchall()`) are reported without a fix.
    """

    code = "RMD204"
    ast_checker = _Fast
    name = "blocking-call-in-async"
    message = "{call}() blocks the event loop ({what}) in async {func}(): {advice}"
    severity = Severity.MEDIUM
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 3, item 3.4 (blocking sync I/O on the event loop)", "orchestration_engine"),
        Provenance("001_0845f576a88221b4.txt", "Phase 2, item 2.5 (run_migrations called from async Database.init)", "orchestration_engine"),
    )
    #: the catalogue's primary safety: the sleep fix is safe; each to_thread fix is made unsafe below
    fix_safety = FixSafety.SAFE
    triggers = (b"async",)
    needs_project = True
    options = {"extra_blocking_calls": ()}
    limitations = (
        "The Semgrep twin `rmd204-blocking-call-in-async` follows calls into sync helpers defined in the same "
        "module only (a helper imported from another module, like `run_migrations` called from `Database.init`, "
        "is reported by this rule alone), and does not read the `extra_blocking_calls` option."
    )
    option_docs = {"extra_blocking_calls": "more qualified function names that block (e.g. `mylib.fetch_sync`), fixed with asyncio.to_thread"}

    VALID = [
        Valid(
            """
            import asyncio
            from pathlib import Path

            async def read_file(path: Path) -> str:
                return await asyncio.to_thread(path.read_text, encoding="utf-8")

            async def write_file(path: Path, content: str) -> None:
                await asyncio.to_thread(path.write_text, content)
            """
        ),
        Valid(
            """
            import asyncio
            import time

            async def backoff(attempt):
                await asyncio.sleep(2 ** attempt)

            def sync_backoff(attempt):
                time.sleep(2 ** attempt)
            """
        ),
        Valid(
            """
            import asyncio
            import urllib.request

            class ResourceMonitor:
                def check_service(self, url):
                    with urllib.request.urlopen(url, timeout=2) as response:
                        return response.status == 200

                async def check(self, url):
                    loop = asyncio.get_running_loop()
                    return await loop.run_in_executor(None, self.check_service, url)
            """
        ),
        Valid(
            """
            import asyncio
            import subprocess

            async def run_git(args):
                def _run():
                    return subprocess.run(["git", *args], capture_output=True, check=True)
                return await asyncio.to_thread(_run)
            """
        ),
        Valid(
            """
            import anyio

            async def load(path: anyio.Path):
                return await path.read_text()

            async def fetch(client, url):
                return await client.get(url)
            """
        ),
        Valid(
            """
            import sqlite3

            async def count(pool):
                conn = await pool.acquire()
                return await conn.execute("SELECT 1")
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import time

            async def retry(op):
                for attempt in range(3):
                    if await op():
                        return True
                    time.sleep(2 ** attempt)
                return False
            """,
            fixed="""
            import time
            import asyncio

            async def retry(op):
                for attempt in range(3):
                    if await op():
                        return True
                    await asyncio.sleep(2 ** attempt)
                return False
            """,
            line=7,
        ),
        Invalid(
            """
            from pathlib import Path

            class WriteFileTool:
                async def execute(self, params):
                    path = Path(params["path"])
                    path.write_text(params["content"], encoding="utf-8")
                    return f"wrote {path}"

            class ReadFileTool:
                async def execute(self, params):
                    content = Path(params["path"]).read_text()
                    return content
            """,
            fixed="""
            from pathlib import Path
            import asyncio

            class WriteFileTool:
                async def execute(self, params):
                    path = Path(params["path"])
                    await asyncio.to_thread(path.write_text, params["content"], encoding="utf-8")
                    return f"wrote {path}"

            class ReadFileTool:
                async def execute(self, params):
                    content = await asyncio.to_thread(Path(params["path"]).read_text)
                    return content
            """,
            count=2,
        ),
        Invalid(
            """
            import asyncio
            import sqlite3

            class LookupTool:
                def __init__(self, path):
                    self.conn = sqlite3.connect(path)

                async def execute(self, name):
                    self.conn.execute("INSERT INTO lookups (name) VALUES (?)", (name,))
                    rows = self.conn.execute("SELECT * FROM types WHERE name = ?", (name,)).fetchall()
                    return rows
            """,
            fixed="""
            import asyncio
            import sqlite3

            class LookupTool:
                def __init__(self, path):
                    self.conn = sqlite3.connect(path)

                async def execute(self, name):
                    await asyncio.to_thread(self.conn.execute, "INSERT INTO lookups (name) VALUES (?)", (name,))
                    rows = self.conn.execute("SELECT * FROM types WHERE name = ?", (name,)).fetchall()
                    return rows
            """,
            line=9,
            count=2,
        ),
        Invalid(
            """
            import requests
            import subprocess as sp
            from time import sleep

            async def health(url):
                response = requests.get(url, timeout=5)
                sleep(0.5)
                return response.ok, sp.check_output(["uptime"])
            """,
            fixed="""
            import requests
            import subprocess as sp
            from time import sleep
            import asyncio

            async def health(url):
                response = await asyncio.to_thread(requests.get, url, timeout=5)
                await asyncio.sleep(0.5)
                return response.ok, await asyncio.to_thread(sp.check_output, ["uptime"])
            """,
            count=3,
        ),
        Invalid(
            """
            import asyncio
            from alembic import command
            from alembic.config import Config

            class Database:
                async def init(self, url):
                    cfg = Config("alembic.ini")
                    cfg.set_main_option("sqlalchemy.url", url)
                    command.upgrade(cfg, "head")
            """,
            fixed="""
            import asyncio
            from alembic import command
            from alembic.config import Config

            class Database:
                async def init(self, url):
                    cfg = Config("alembic.ini")
                    cfg.set_main_option("sqlalchemy.url", url)
                    await asyncio.to_thread(command.upgrade, cfg, "head")
            """,
            line=9,
        ),
        Invalid(
            """
            import httpx

            async def poll(urls):
                with httpx.Client(timeout=5) as client:
                    for url in urls:
                        client.get(url)
                with open("log.txt") as fh:
                    return fh.read()
            """,
            fixed="""
            import httpx
            import asyncio

            async def poll(urls):
                with httpx.Client(timeout=5) as client:
                    for url in urls:
                        await asyncio.to_thread(client.get, url)
                with open("log.txt") as fh:
                    return fh.read()
            """,
            count=2,
        ),
        Invalid(
            """
            import mylib

            async def handler():
                return mylib.fetch_sync("x")
            """,
            fixed="""
            import mylib
            import asyncio

            async def handler():
                return await asyncio.to_thread(mylib.fetch_sync, "x")
            """,
            options={"extra_blocking_calls": ["mylib.fetch_sync"]},
        ),
        Invalid(
            """
            from alembic import command
            from alembic.config import Config

            def run_migrations(url):
                cfg = Config("alembic.ini")
                command.upgrade(cfg, "head")

            def log_ready(url):
                return url

            class Database:
                async def init(self, url):
                    run_migrations(url)
                    log_ready(url)
            """,
            fixed="""
            from alembic import command
            from alembic.config import Config
            import asyncio

            def run_migrations(url):
                cfg = Config("alembic.ini")
                command.upgrade(cfg, "head")

            def log_ready(url):
                return url

            class Database:
                async def init(self, url):
                    await asyncio.to_thread(run_migrations, url)
                    log_ready(url)
            """,
            line=13,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._functions = {**BLOCKING_FUNCTIONS, **{name: "blocking call" for name in self.opts.get("extra_blocking_calls") or ()}}
        #: (scope, receiver text) -> constructor qualified name (``conn`` / ``self.conn`` -> ``sqlite3.connect``);
        #: the scope is the enclosing function for plain names, None for module names and ``self.x``
        self._objects: dict[tuple[int | None, str], str] = {}
        self._non_blocking: set[tuple[int | None, str]] = set()
        #: module-level names defined in the module (a local ``open`` shadows the builtin)
        self._defined = {
            stmt.name.value for stmt in context.module.body if isinstance(stmt, (cst.FunctionDef, cst.ClassDef))
        }
        #: method calls on receivers that may be blocking objects, decided in finish()
        self._pending: list[tuple[cst.Call, tuple[int | None, str], str, bool, str]] = []

    # -- objects -------------------------------------------------------------------------------------
    def _record(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if not isinstance(value, cst.Call):
            return
        ctor = self.context.qualified(value.func)
        if ctor in BLOCKING_OBJECTS:
            text = dotted_name(target)
            if text is not None:
                self._objects.setdefault(self._key(text), ctor)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._record(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._record(node.target, node.value)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._record(node.asname.name, node.item)

    # -- calls ---------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.context
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "setblocking":
            text = dotted_name(func.value)
            if text:
                self._non_blocking.add(self._key(text))
            return
        if not ctx.in_async_function():
            return
        parent = ctx.parent()
        if isinstance(parent, cst.Await):
            return
        qualified = ctx.qualified(func)
        if qualified is None and isinstance(func, cst.Name) and func.value == "open" and not self._shadowed("open"):
            qualified = "open"
        if qualified is not None and (qualified in SLEEP_CALLS or qualified in self._functions):
            if self._offloaded():
                return
            self._report_function(node, qualified, parent)
            return
        fixable = isinstance(parent, _FIXABLE_PARENTS)
        if isinstance(parent, (cst.Expr, cst.Assign)) and not self._offloaded():
            if self._check_project_helper(node):
                return
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method in PATH_IO_METHODS and qualified is None:
            if self._offloaded():
                return
            call = f"{dotted_name(func.value) or '<path>'}.{method}" if dotted_name(func.value) else f"Path.{method}"
            self._report_offload(node, call, "file I/O", fixable)
            return
        receiver = dotted_name(func.value)
        if receiver is not None and qualified is None:
            if any(method in methods for _, methods in BLOCKING_OBJECTS.values()) and not self._offloaded():
                func_def = ctx.enclosing_function()
                name = func_def.name.value if isinstance(func_def, cst.FunctionDef) else "?"
                self._pending.append((node, self._key(receiver), method, fixable, name))

    def finish(self) -> None:
        for node, key, method, fixable, func_name in self._pending:
            ctor = self._objects.get(key) or (self._objects.get((None, key[1])) if key[0] is not None else None)
            if ctor is None or key in self._non_blocking or (None, key[1]) in self._non_blocking:
                continue
            receiver = key[1]
            what, methods = BLOCKING_OBJECTS[ctor]
            if method not in methods:
                continue
            self._report_offload(node, f"{receiver}.{method}", what, fixable, func_name)

    # -- helpers -------------------------------------------------------------------------------------
    def _key(self, text: str) -> tuple[int | None, str]:
        if text.startswith("self.") or text.startswith("cls."):
            return None, text
        func = self.context.enclosing_function()
        return (id(func) if func is not None else None), text

    def _offloaded(self) -> bool:
        for ancestor in self.context.ancestors():
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return False
            if isinstance(ancestor, cst.Call):
                f = ancestor.func
                if self.context.qualified(f) in OFFLOADERS:
                    return True
                if isinstance(f, cst.Attribute) and f.attr.value in OFFLOADER_METHODS:
                    return True
        return False

    def _shadowed(self, name: str) -> bool:
        func = self.context.enclosing_function()
        if isinstance(func, cst.FunctionDef):
            params = func.params
            if any(p.name.value == name for p in (*params.posonly_params, *params.params, *params.kwonly_params)):
                return True
        return name in self._defined

    def _check_project_helper(self, node: cst.Call) -> bool:
        """A call of a plain project function whose own body makes a known blocking call."""
        if self.context.project is None:
            return False
        info = sync_callee(self.context, node)
        if info is None or info.node is None or info.module is None:
            return False
        inner = _blocking_call_in(info.node, info.module.imports, self._functions)
        if inner is None:
            return False
        call = dotted_name(node.func) or info.name
        self._report_offload(node, call, f"it calls {inner}()", isinstance(self.context.parent(), _FIXABLE_PARENTS))
        return True

    def _func_name(self) -> str:
        func = self.context.enclosing_function()
        return func.name.value if isinstance(func, cst.FunctionDef) else "?"

    def _report_function(self, node: cst.Call, qualified: str, parent: cst.CSTNode | None) -> None:
        call = dotted_name(node.func) or qualified
        fixable = isinstance(parent, _FIXABLE_PARENTS)
        if qualified in SLEEP_CALLS:
            module, needs_import = asyncio_name(self.context)
            fix = None
            if fixable:
                sleep = node.with_changes(func=cst.Attribute(cst.Name(module), cst.Name("sleep")))
                fix = self.make_fix(
                    (node, cst.Await(expression=sleep)),
                    safety=FixSafety.SAFE,
                    imports=[ImportSpec("asyncio")] if needs_import else (),
                )
            self.report(node, call=call, what="sleep", func=self._func_name(), advice="use await asyncio.sleep(...)", fix=fix)
            return
        what = self._functions[qualified]
        self._report_offload(node, call, what, fixable and qualified not in NO_FIX_FUNCTIONS)

    def _report_offload(self, node: cst.Call, call: str, what: str, fixable: bool, func_name: str | None = None) -> None:
        fix = None
        if fixable:
            replacement, needs_import = to_thread_call(self.context, node)
            fix = self.make_fix(
                (node, cst.Await(expression=replacement)),
                safety=FixSafety.UNSAFE,
                imports=[ImportSpec("asyncio")] if needs_import else (),
            )
        self.report(
            node,
            call=call,
            what=what,
            func=func_name or self._func_name(),
            advice="use the async API or await asyncio.to_thread(...)",
            fix=fix,
        )


def _blocking_call_in(func: ast.AST, imports: dict, functions: dict) -> str | None:
    """The qualified name of the first known blocking call made directly in ``func``'s body."""
    todo = list(child_nodes(func))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Call):
            dotted = _ast_dotted(node.func)
            if dotted:
                head, _, rest = dotted.partition(".")
                imported = imports.get(head)
                if imported is not None and imported[0] == 0:
                    _, module, name = imported
                    base = module if name is None else f"{module}.{name}"
                    qualified = f"{base}.{rest}" if rest else base
                    if qualified in SLEEP_CALLS or qualified in functions:
                        return qualified
        todo.extend(child_nodes(node))
    return None


