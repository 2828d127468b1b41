from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import child_nodes

import libcst as cst

from remediation_lint.analysis.lifespans import (
    ast_decorator_names,
    ast_is_context_manager_function,
    decorator_names,
    is_context_manager_function,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.http_clients import HTTP_CLIENT_CONSTRUCTORS, SETUP_FUNCTIONS
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_CACHING = {"lru_cache", "cache", "cached_property", "fixture", "cached", "alru_cache", "singleton"}


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Call(self, node: ast.Call) -> None:
        ctx = self.context
        qualified = ctx.qualified(node.func)
        if qualified is None or qualified not in self.opts["constructors"]:
            return
        func = ctx.enclosing_function()
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) or ctx.is_test_file():
            return
        if func.name in self.opts["setup_functions"] or ast_is_context_manager_function(ctx, func):
            return
        decorators = {name.rsplit(".", 1)[-1] for name in ast_decorator_names(ctx, func)}
        is_property = "property" in decorators
        if decorators & _CACHING:
            return
        if self._kept(node, func, is_property):
            return
        cls = ctx.enclosing_class()
        where = f"{cls.name}.{func.name}" if cls is not None else func.name
        self.report(node, ctor=qualified, func=where)

    def _kept(self, node: ast.Call, func: ast.FunctionDef | ast.AsyncFunctionDef, is_property: bool) -> bool:
        parent = self.context.parent()
        if isinstance(parent, (ast.Return, ast.Yield)):
            return not is_property
        name: str | None = None
        if isinstance(parent, ast.Assign):
            for target in parent.targets:
                if not isinstance(target, ast.Name):
                    return True
            if len(parent.targets) == 1:
                name = parent.targets[0].id  # type: ignore[attr-defined]
        elif isinstance(parent, ast.AnnAssign):
            if parent.value is not node:
                return False  # the annotation (LibCST's parent is then an Annotation)
            if not isinstance(parent.target, ast.Name):
                return True
            name = parent.target.id
        elif isinstance(parent, ast.withitem):
            if isinstance(parent.optional_vars, ast.Name):
                name = parent.optional_vars.id
        if name is None:
            return False
        return _ast_escapes(func.body, name) and not is_property


def _ast_escapes(body: list[ast.stmt], name: str) -> bool:
    """``_Escape``'s twin: ``return name``, ``yield name``, ``global name``, ``obj.attr = name``."""
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Global):
            if name in node.names:
                return True
        elif isinstance(node, (ast.Return, ast.Yield)):
            if isinstance(node.value, ast.Name) and node.value.id == name:
                return True
        elif isinstance(node, ast.Assign):
            if isinstance(node.value, ast.Name) and node.value.id == name:
                if any(not isinstance(t, ast.Name) for t in node.targets):
                    return True
        todo.extend(child_nodes(node))
    return False


class ClientPerCall(Rule):
    """An HTTP client/session created on every call: no connection reuse, a new pool each time.

    ## What it does
    Finds `httpx.AsyncClient()`, `httpx.Client()`, `requests.Session()`, `aiohttp.ClientSession()`
    and `urllib3.PoolManager()` (under any import alias) created inside a function that runs per
    request or per call. Not reported: module and class level, `__init__`/`__aenter__`/`setup`/
    `start`/`main` and the other `setup_functions`, lifespans and other context-manager generators,
    factories (the client is returned, yielded, stored on an attribute such as `self._client`, or
    assigned to a `global`), and test files. A `@property` that returns a new client is reported.

    ## Why is this bad?
    Each client owns a connection pool. Creating one per call pays DNS, TCP and TLS setup on every
    request, defeats keep-alive, and under load leaves sockets in `TIME_WAIT` or open until garbage
    collection. The Orchestration Engine's `rag.py`, `ollama.py` and `comfyui.py` tools created a new
    `httpx.AsyncClient` per call (plan item 3.6).

    ## Fix
    Create one client at startup (a DI container singleton or `app.state`), pass it to the tools, give
    each request its own `timeout=`, and close the client in the lifespan (`await client.aclose()`).
    """

    code = "RMD210"
    ast_checker = _Fast
    name = "client-per-call"
    message = "{ctor}() created in {func}(), which runs per call: share one client created at startup (and closed at shutdown) to reuse connections"
    severity = Severity.MEDIUM
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 3, item 3.6 (Reuse httpx Clients Across Tool Calls)", "orchestration_engine"),)
    triggers = (b"Client", b"Session", b"session", b"PoolManager")
    options = {"constructors": tuple(sorted(HTTP_CLIENT_CONSTRUCTORS)), "setup_functions": tuple(sorted(SETUP_FUNCTIONS))}
    option_docs = {
        "constructors": "qualified names of client constructors that own a connection pool",
        "setup_functions": "function names that run once (constructors, startup hooks) where creating a client is fine",
    }

    VALID = [
        Valid(
            """
            import httpx

            OLLAMA_REQUEST_TIMEOUT = 120.0

            class OllamaGenerateTool:
                def __init__(self, http: httpx.AsyncClient) -> None:
                    self._http = http

                async def execute(self, params: dict) -> str:
                    resp = await self._http.post(f"{OLLAMA_URL}/api/generate", json=params, timeout=OLLAMA_REQUEST_TIMEOUT)
                    resp.raise_for_status()
                    return resp.json()["response"]
            """
        ),
        Valid(
            """
            import requests

            class GitHubAPI:
                def __init__(self, token: str) -> None:
                    self.session = requests.Session()
                    self.session.headers["Authorization"] = f"token {token}"

                def repo(self, name: str) -> dict:
                    return self.session.get(f"https://api.github.com/repos/{name}", timeout=10).json()
            """
        ),
        Valid(
            """
            from contextlib import asynccontextmanager

            import aiohttp

            @asynccontextmanager
            async def lifespan(app):
                async with aiohttp.ClientSession() as session:
                    app.state.http = session
                    yield
            """
        ),
        Valid(
            """
            import functools

            import httpx

            @functools.lru_cache(maxsize=1)
            def get_client() -> httpx.Client:
                return httpx.Client(base_url="http://localhost:8188")

            def make_session():
                session = httpx.AsyncClient()
                session.headers["User-Agent"] = "orchestrator"
                return session
            """
        ),
        Valid(
            """
            import httpx

            class ComfyUIClient:
                _client: httpx.AsyncClient | None = None

                async def client(self) -> httpx.AsyncClient:
                    if self._client is None:
                        self._client = httpx.AsyncClient()
                    return self._client

            shared = httpx.Client()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import httpx

            class SearchKnowledgeTool:
                async def execute(self, params: dict) -> str:
                    async with httpx.AsyncClient(timeout=EMBED_TIMEOUT) as client:
                        resp = await client.post(EMBEDDING_URL, json={"input": params["query"]})
                    return resp.text
            """,
            line=5,
        ),
        Invalid(
            """
            from httpx import AsyncClient as HTTPClient

            async def generate(prompt: str) -> str:
                client = HTTPClient()
                try:
                    resp = await client.post(OLLAMA_URL, json={"prompt": prompt})
                    return resp.json()["response"]
                finally:
                    await client.aclose()
            """,
        ),
        Invalid(
            """
            import requests

            def fetch_status(url: str) -> int:
                with requests.Session() as session:
                    return session.get(url, timeout=5).status_code
            """,
        ),
        Invalid(
            """
            import aiohttp

            async def handler(request):
                async with aiohttp.ClientSession() as session:
                    async with session.get(request.query["url"]) as resp:
                        return await resp.text()
            """,
        ),
        Invalid(
            """
            import httpx

            class Tool:
                @property
                def http(self) -> httpx.Client:
                    return httpx.Client()
            """,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.context
        qualified = ctx.qualified(node.func)
        if qualified is None or qualified not in self.opts["constructors"]:
            return
        func = ctx.enclosing_function()
        if not isinstance(func, cst.FunctionDef) or ctx.is_test_file():
            return
        if func.name.value in self.opts["setup_functions"] or is_context_manager_function(ctx, func):
            return
        decorators = {name.rsplit(".", 1)[-1] for name in decorator_names(ctx, func)}
        is_property = "property" in decorators
        if decorators & {"lru_cache", "cache", "cached_property", "fixture", "cached", "alru_cache", "singleton"}:
            return
        if self._kept(node, func, is_property):
            return
        cls = ctx.enclosing_class()
        where = f"{cls.name.value}.{func.name.value}" if cls is not None else func.name.value
        self.report(node, ctor=qualified, func=where)

    def _kept(self, node: cst.Call, func: cst.FunctionDef, is_property: bool) -> bool:
        """Whether the new client outlives the call: returned, yielded, stored on an object or a global."""
        parent = self.context.parent()
        if isinstance(parent, (cst.Return, cst.Yield)):
            return not is_property
        name: str | None = None
        if isinstance(parent, cst.Assign):
            for target in parent.targets:
                if not isinstance(target.target, cst.Name):
                    return True  # self._client = ..., app.state.http = ...
            if len(parent.targets) == 1:
                name = parent.targets[0].target.value  # type: ignore[union-attr]
        elif isinstance(parent, cst.AnnAssign):
            if not isinstance(parent.target, cst.Name):
                return True
            name = parent.target.value
        elif isinstance(parent, cst.WithItem):
            if parent.asname is not None and isinstance(parent.asname.name, cst.Name):
                name = parent.asname.name.value
        if name is None:
            return False
        escape = _Escape(name)
        func.body.visit(escape)
        return escape.found and not is_property


class _Escape(cst.CSTVisitor):
    """Does ``name`` leave the function (``return name``, ``yield name``, ``global name``)?"""

    def __init__(self, name: str) -> None:
        self.name = name
        self.found = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Global(self, node: cst.Global) -> None:
        if any(item.name.value == self.name for item in node.names):
            self.found = True

    def visit_Return(self, node: cst.Return) -> None:
        if isinstance(node.value, cst.Name) and node.value.value == self.name:
            self.found = True

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.Name) and node.value.value == self.name:
            self.found = True

    def visit_Assign(self, node: cst.Assign) -> None:
        # ``self._client = client``: stored on an object
        if isinstance(node.value, cst.Name) and node.value.value == self.name:
            if any(not isinstance(t.target, cst.Name) for t in node.targets):
                self.found = True
