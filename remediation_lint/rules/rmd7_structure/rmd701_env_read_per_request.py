from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis import web_handlers as web
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

ENV_CALLS = {"os.getenv": "os.getenv", "os.environ.get": "os.environ.get", "posix.getenv": "os.getenv"}

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._routers: set[str] | None = None
        self._kinds: dict[int, str] = {}
        self._pending: list[tuple[ast.AST, str, list[str]]] = []
        self._depends: set[str] = set()
        self._lines: list[bytes] | None = None

    def visit_Call(self, node: ast.Call) -> None:
        target = web.ast_dependency_targets(node)
        if target is not None:
            self._depends.add(target)
            return
        qualified = self.context.qualified(node.func)
        if qualified in ENV_CALLS:
            if not self._functions():
                return
            self._check(node, f"{ENV_CALLS[qualified]}({self._first_arg(node)})")

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.context.qualified(node.value) != "os.environ":
            return
        parent = self.context.parent()
        if isinstance(parent, ast.Assign) and any(t is node for t in parent.targets):
            return
        if isinstance(parent, ast.AugAssign) and parent.target is node:
            return
        if isinstance(parent, ast.Delete):
            if len(parent.targets) == 1:
                return
            self.defer()  # `del a, os.environ[k]`: LibCST sees a tuple target
            return
        if not self._functions():
            return
        index = node.slice
        if isinstance(index, ast.Slice):
            key = ""
        elif isinstance(index, ast.Tuple):
            self.defer()  # one parenthesised element or several: not told apart on ast
            return
        else:
            inner = self._text(node.value.end_lineno, node.value.end_col_offset, node.end_lineno, node.end_col_offset)  # type: ignore[arg-type]
            key_bytes = self._text(index.lineno, index.col_offset, index.end_lineno, index.end_col_offset)  # type: ignore[arg-type]
            if inner.strip()[1:-1].strip() != key_bytes:
                self.defer()  # parentheses or comments around the key
                return
            key = key_bytes.decode("utf-8")
        self._check(node, f"os.environ[{key}]")

    def _functions(self) -> list[ast.AST]:
        return [s for s in self.context.scopes if isinstance(s, _DEFS)]

    def _check(self, node: ast.AST, read: str) -> None:
        functions = self._functions()
        if any(web.ast_is_cached(f) for f in functions):  # type: ignore[arg-type]
            return
        for func in reversed(functions):
            kind = self._kind(func)
            if kind:
                self._report(node, read, kind)
                return
        body = self.context.tree.body
        self._pending.append((node, read, [f.name for f in functions if any(f is s for s in body)]))  # type: ignore[attr-defined]

    def _report(self, node: ast.AST, read: str, where: str) -> None:
        if not where.isascii():
            self.defer()  # ast normalises non-ASCII identifiers, LibCST keeps them as written
            return
        self.report(node, read=read, where=where)

    def finish(self) -> None:
        for node, read, names in self._pending:
            for name in names:
                if name in self._depends:
                    self._report(node, read, f"dependency {name}()")
                    break

    def _kind(self, func: ast.AST) -> str:
        key = id(func)
        if key not in self._kinds:
            self._kinds[key] = self._classify(func)  # type: ignore[arg-type]
        return self._kinds[key]

    def _classify(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        if self._routers is None:
            self._routers, _ = web.ast_module_routers(self.context.tree)
        name = func.name
        route = web.ast_route_decorator(func, self._routers)
        if route is not None:
            return f"route handler {name}() (@{route})"
        if web.ast_is_middleware_function(func):
            return f"middleware {name}()"
        cls = self._class_of(func)
        if web.ast_is_middleware_method(func, cls):
            return f"middleware {cls.name}.{name}()"  # type: ignore[union-attr]
        if web.ast_takes_request(func):
            return f"request dependency {name}()"
        return ""

    def _class_of(self, func: ast.AST) -> ast.ClassDef | None:
        scopes = self.context.scopes
        for i, node in enumerate(scopes):
            if node is func and i > 0 and isinstance(scopes[i - 1], ast.ClassDef):
                return scopes[i - 1]  # type: ignore[return-value]
        return None

    def _text(self, line: int, col: int, end_line: int, end_col: int) -> bytes:
        if self._lines is None:
            self._lines = self.context.source.splitlines(keepends=True)
        lines = self._lines
        if line == end_line:
            return lines[line - 1][col:end_col]
        return lines[line - 1][col:] + b"".join(lines[line: end_line - 1]) + lines[end_line - 1][:end_col]

    def _first_arg(self, call: ast.Call) -> str:
        if not (call.args or call.keywords):
            return ""
        _, value = web.ast_call_items(call)[0]
        if isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes)):
            text = self._text(value.lineno, value.col_offset, value.end_lineno, value.end_col_offset)  # type: ignore[arg-type]
            if _is_single_literal(text):
                return text.decode("utf-8")
        return "..."


def _is_single_literal(text: bytes) -> bool:
    i = 0
    while i < len(text) and text[i:i + 1] in b"rRbBuU":
        i += 1
    quote = text[i:i + 3] if text[i:i + 3] in (b'"""', b"'''") else text[i:i + 1]
    if quote not in (b'"', b"'", b'"""', b"'''"):
        return False
    j = i + len(quote)
    while j < len(text):
        if text[j:j + 1] == b"\\":
            j += 2
            continue
        if text[j:j + len(quote)] == quote:
            return j + len(quote) == len(text)
        j += 1
    return False


class EnvReadPerRequest(Rule):
    """Environment variables read inside a request handler, dependency or middleware: read them once at startup.

    ## What it does
    Finds `os.getenv(...)`, `os.environ.get(...)` and `os.environ[...]` (also through
    `from os import getenv, environ`) inside code that runs on every request: route handlers
    (`@router.get(...)`, `@app.post(...)`, ...), dependencies (functions named in `Depends(...)` /
    `Security(...)` in the same module, or taking `Request`, `Depends(...)`, `Header(...)` parameters)
    and middleware (`BaseHTTPMiddleware.dispatch`, ASGI `__call__(self, scope, receive, send)`,
    `@app.middleware("http")`). Reads at import time, in startup/lifespan code, and in cached settings
    factories (`@lru_cache def get_settings()`) are left alone.

    ## Why is this bad?
    Every request pays for a dictionary lookup and string handling that never change, the API behaves
    differently from one request to the next when the environment is changed under it, and a missing
    variable is discovered by the first user instead of at startup. khala's REST API (high priority
    item 1, `khala/interface/rest/main.py`) called `os.getenv` for the API key in the auth dependency on
    every request; the plan moves the configuration into the application state at startup.

    ## Fix
    Read the configuration once (a settings object built in the lifespan or a cached `get_settings()`
    dependency), fail at startup when a required value is missing, and read it from `app.state` or the
    settings object in the handler.
    """

    code = "RMD701"
    ast_checker = _Fast
    name = "env-read-per-request"
    message = "{read} in {where} runs on every request: read the configuration once at startup (settings/app state)"
    severity = Severity.HIGH
    provenance = (
        Provenance("000_18f8732ba4a86cc0.txt", "HIGH, item 1 (os.getenv on every request in the API auth dependency)", "khala"),
    )
    triggers = (b"getenv", b"environ")

    limitations = (
        "The Semgrep twin `rmd701-env-read-per-request` recognises dependencies by their "
        "`Depends`/`Security`/`Header`/`Request` parameters; a plain function named in `Depends(f)` "
        "elsewhere in the module is found by this rule alone."
    )

    VALID = [
        Valid(
            """
            import os
            from contextlib import asynccontextmanager

            from fastapi import Depends, FastAPI, HTTPException, Request

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                app.state.api_key = os.environ["KHALA_API_KEY"]
                yield

            app = FastAPI(lifespan=lifespan)

            async def verify_api_key(request: Request) -> None:
                if request.headers.get("X-API-Key") != request.app.state.api_key:
                    raise HTTPException(status_code=401)

            @app.get("/memories", dependencies=[Depends(verify_api_key)])
            async def list_memories():
                return []
            """
        ),
        Valid(
            """
            import os

            from fastapi import APIRouter

            API_KEY = os.getenv("API_KEY", "")
            router = APIRouter()

            @router.get("/health")
            async def health():
                return {"auth": bool(API_KEY)}
            """
        ),
        Valid(
            """
            import os
            from functools import lru_cache

            from fastapi import Depends, FastAPI

            app = FastAPI()

            @lru_cache
            def get_settings() -> dict:
                return {"api_key": os.getenv("API_KEY")}

            @app.get("/config")
            def config(settings: dict = Depends(get_settings)):
                return {"configured": bool(settings["api_key"])}
            """
        ),
        Valid(
            """
            import os

            from fastapi import FastAPI

            app = FastAPI()

            @app.on_event("startup")
            async def startup() -> None:
                app.state.db_url = os.environ.get("DATABASE_URL", "sqlite://")
            """
        ),
        Valid(
            """
            import os

            def build_cli_env() -> dict:
                env = dict(os.environ)
                env["PATH"] = os.getenv("PATH", "")
                return env

            class Cache:
                def get(self, key):
                    return os.environ.get(key)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import os

            from fastapi import Depends, FastAPI, HTTPException
            from fastapi.security import APIKeyHeader

            app = FastAPI()
            api_key_header = APIKeyHeader(name="X-API-Key")

            async def verify_api_key(api_key: str = Depends(api_key_header)) -> str:
                expected = os.getenv("KHALA_API_KEY")
                if api_key != expected:
                    raise HTTPException(status_code=401, detail="Invalid API key")
                return api_key
            """,
            line=10,
        ),
        Invalid(
            """
            from os import environ

            from fastapi import APIRouter

            router = APIRouter(prefix="/search")

            @router.post("/")
            async def search(query: dict):
                limit = int(environ["SEARCH_LIMIT"])
                return {"limit": limit}
            """,
            line=9,
        ),
        Invalid(
            """
            import os

            from fastapi import Depends, FastAPI

            app = FastAPI()

            @app.get("/memories", dependencies=[Depends(check_token)])
            async def list_memories():
                return []

            def check_token(token=None):
                if token != os.environ.get("TOKEN"):
                    raise PermissionError(token)
            """,
            line=12,
        ),
        Invalid(
            """
            import os as _os

            from starlette.middleware.base import BaseHTTPMiddleware

            class TenantMiddleware(BaseHTTPMiddleware):
                async def dispatch(self, request, call_next):
                    request.state.tenant = _os.getenv("DEFAULT_TENANT", "public")
                    return await call_next(request)
            """,
            line=7,
        ),
        Invalid(
            """
            import os

            class AuthMiddleware:
                def __init__(self, app):
                    self.app = app

                async def __call__(self, scope, receive, send):
                    if os.environ.get("AUTH_DISABLED") == "1":
                        return await self.app(scope, receive, send)
                    key = os.getenv("API_KEY")
                    scope["api_key"] = key
                    return await self.app(scope, receive, send)
            """,
            line=8,
            count=2,
        ),
        Invalid(
            """
            import os

            from flask import Flask

            app = Flask(__name__)

            @app.route("/upload", methods=["POST"])
            def upload():
                folder = os.environ.get("UPLOAD_DIR", "/tmp")
                return folder
            """,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._routers: set[str] | None = None
        #: id(FunctionDef) -> description of why it runs per request ("" when it does not)
        self._kinds: dict[int, str] = {}
        #: reads whose enclosing functions are not per-request by themselves: (node, read, function names)
        self._pending: list[tuple[cst.CSTNode, str, list[str]]] = []
        #: names used as ``Depends(name)`` anywhere in the module
        self._depends: set[str] = set()

    # -- collection ----------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        target = web.dependency_targets(node)
        if target is not None:
            self._depends.add(target)
            return
        qualified = self.context.qualified(node.func)
        if qualified in ENV_CALLS:
            self._check(node, f"{ENV_CALLS[qualified]}({_first_arg(node)})")

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if self.context.qualified(node.value) != "os.environ":
            return
        parent = self.context.parent()
        if isinstance(parent, (cst.AssignTarget, cst.Del)) or (isinstance(parent, cst.AugAssign) and parent.target is node):
            return
        key = ""
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = self.context.module.code_for_node(node.slice[0].slice.value)
        self._check(node, f"os.environ[{key}]")

    def _check(self, node: cst.CSTNode, read: str) -> None:
        functions = [s for s in self.context.scopes if isinstance(s, cst.FunctionDef)]
        if not functions:
            return
        if any(web.is_cached(f) for f in functions):
            return
        for func in reversed(functions):
            kind = self._kind(func)
            if kind:
                self.report(node, read=read, where=kind)
                return
        self._pending.append((node, read, [f.name.value for f in functions if self._is_module_function(f)]))

    def finish(self) -> None:
        for node, read, names in self._pending:
            for name in names:
                if name in self._depends:
                    self.report(node, read=read, where=f"dependency {name}()")
                    break

    # -- classification ------------------------------------------------------------------------------
    def _is_module_function(self, func: cst.FunctionDef) -> bool:
        return any(func is stmt for stmt in self.context.module.body)

    def _kind(self, func: cst.FunctionDef) -> str:
        key = id(func)
        if key not in self._kinds:
            self._kinds[key] = self._classify(func)
        return self._kinds[key]

    def _classify(self, func: cst.FunctionDef) -> str:
        if self._routers is None:
            self._routers, _ = web.module_routers(self.context.module)
        name = func.name.value
        route = web.route_decorator(func, self._routers)
        if route is not None:
            return f"route handler {name}() (@{route})"
        if web.is_middleware_function(func):
            return f"middleware {name}()"
        cls = self._class_of(func)
        if web.is_middleware_method(func, cls):
            return f"middleware {cls.name.value}.{name}()"  # type: ignore[union-attr]
        if web.takes_request(func):
            return f"request dependency {name}()"
        return ""

    def _class_of(self, func: cst.FunctionDef) -> cst.ClassDef | None:
        scopes = self.context.scopes
        for i, node in enumerate(scopes):
            if node is func and i > 0 and isinstance(scopes[i - 1], cst.ClassDef):
                return scopes[i - 1]  # type: ignore[return-value]
        return None


def _first_arg(call: cst.Call) -> str:
    if not call.args:
        return ""
    value = call.args[0].value
    if isinstance(value, cst.SimpleString):
        return value.value
    return "..."
