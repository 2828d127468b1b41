from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk

import libcst as cst

from remediation_lint.analysis.fastapi_auth import PATH_PARAM_RE, last_part, module_functions, module_routers, route_of
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.web_auth import ROUTE_METHODS, ROUTER_CLASSES
from remediation_lint.knowledge.web_auth import TOKEN_PARAM_NAMES
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

#: parameter markers that take the value from somewhere other than the query string
_NOT_QUERY = frozenset({"Depends", "Security", "Header", "Cookie", "Body", "Form", "File", "Path"})
#: type-claim values that mean "a full credential", not a dedicated short-lived one
_GENERAL_TYPES = frozenset({"access", "refresh", "bearer", "id", "user"})
#: names conventionally bound to a router/app imported from another module
_CONVENTIONAL_ROUTERS = frozenset({"app", "router", "api", "api_router"})
_QUERY_CONTAINERS = frozenset({"query_params", "args", "GET", "query"})


class _Fast(AstChecker):
    """A precise screen for the rule below: it defers to LibCST exactly when the rule has a candidate
    (a credential-named parameter read through ``Query(...)`` or of a route, or a credential key read from
    a request's query parameters); the scoped-token exemption is then decided there."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._names = frozenset(n.lower() for n in self.opts["token_names"])
        self._routers: set[str] | None = None

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        params = [*zip(positional, defaults), *zip(args.kwonlyargs, args.kw_defaults)]
        for param, default in params:
            if param.arg.lower() not in self._names:
                continue
            if isinstance(default, ast.Call):
                marker = last_part(self.context.qualified(default.func) or ast_dotted(default.func))
                if marker == "Query":
                    self.defer()
                    return
                continue
            if self._is_route(node):
                self.defer()
                return

    visit_AsyncFunctionDef = visit_FunctionDef

    def _is_route(self, node: ast.FunctionDef) -> bool:
        if self._routers is None:
            routers = set(_CONVENTIONAL_ROUTERS)
            for stmt in self.context.tree.body:
                if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and isinstance(stmt.value, ast.Call):
                    if last_part(ast_dotted(stmt.value.func)) in ROUTER_CLASSES:
                        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                        routers.update(t.id for t in targets if isinstance(t, ast.Name))
            self._routers = routers
        for dec in node.decorator_list:
            if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr in ROUTE_METHODS:
                if ast_dotted(dec.func.value) in self._routers:
                    return True
        return False

    def _key(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Tuple) and len(node.elts) == 1:
            node = node.elts[0]
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in self._names

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self._key(node.slice) and _ast_query_container(node.value):
            self.defer()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in ("get", "getlist", "getone"):
            return
        first = [*node.args, *(kw.value for kw in node.keywords)]
        if any(self._key(a.value if isinstance(a, ast.Starred) else a) for a in first) and _ast_query_container(func.value):
            self.defer()


def _ast_query_container(node: ast.AST) -> bool:
    if not isinstance(node, ast.Attribute) or node.attr not in _QUERY_CONTAINERS:
        return False
    owner = last_part(ast_dotted(node.value)).lower()
    return owner in ("request", "req", "websocket", "ws", "conn", "connection", "scope") or owner.endswith("request")


class TokenInQueryString(Rule):
    """A credential taken from the URL's query string, where logs, proxies and history keep it.

    ## What it does
    Finds FastAPI parameters named like a credential (`token`, `access_token`, `api_key`, `jwt`, ...;
    configurable) that come from the query string, either declared with `Query(...)` (in a route or in a
    dependency) or as a plain scalar parameter of a route that is not a path parameter, and reads of
    `request.query_params["token"]` / `.get("token")` (also Flask's `request.args`).

    Short-lived scoped tokens are left alone: when the function, a function it calls or a dependency it
    declares decodes the token and checks a dedicated `type` claim (`payload.get("type") != "sse"`), the
    token in the URL is only good for one stream for a minute.

    ## Why is this bad?
    URLs are written to server access logs, reverse-proxy logs, browser history and `Referer` headers.
    The Orchestration Engine passed the full access token as `?token=` to its SSE endpoint (plan item 1.7):
    anyone reading a log could act as the user until the token expired.

    ## Fix
    Send credentials in the `Authorization` header. Where the client cannot (EventSource), issue a
    short-lived token with a dedicated `type` claim scoped to the one resource, from an authenticated
    endpoint, and accept only that type in the query string.
    """

    code = "RMD110"
    ast_checker = _Fast
    name = "token-in-query-string"
    message = "credential `{name}` is taken from the query string{where}: send it in the Authorization header, or accept only a short-lived token with a dedicated type claim"
    severity = Severity.HIGH
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 1, item 1.7 (access token in the SSE query string)", "orchestration_engine"),)
    triggers = (b"token", b"api_key", b"apikey", b"jwt", b"query_params")
    needs_project = True
    cwe = (598,)
    options = {"token_names": TOKEN_PARAM_NAMES}
    option_docs = {"token_names": "parameter / query-key names that carry a credential"}

    VALID = [
        Valid(
            """
            import jwt
            from fastapi import APIRouter, HTTPException, Query

            router = APIRouter()

            @router.get("/events/{project_id}")
            async def events(project_id: str, token: str = Query(...)):
                payload = jwt.decode(token, "k" * 32, algorithms=["HS256"])
                if payload.get("type") != "sse" or payload.get("project_id") != project_id:
                    raise HTTPException(status_code=401, detail="Invalid token")
                return {"stream": project_id}
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, Depends, Header

            router = APIRouter()

            def get_user(authorization: str = Header(...)):
                return authorization

            @router.get("/me")
            async def me(user=Depends(get_user)):
                return user

            @router.get("/reset/{token}")
            async def reset(token: str):
                return {"token": token}
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, Query

            router = APIRouter()

            @router.get("/usage")
            async def usage(max_tokens: int = Query(100), next_page_token: str | None = None):
                return {"max": max_tokens}
            """
        ),
        Valid(
            """
            from fastapi import Depends, HTTPException, Query

            def verify_sse_token(token: str = Query(...)) -> dict:
                claims = decode(token)
                if claims["type"] != "sse":
                    raise HTTPException(401)
                return claims

            def decode(token):
                return {"type": "sse"}
            """
        ),
        Valid(
            """
            def build_url(base: str, token: str) -> str:
                return f"{base}?page={token}"
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from fastapi import APIRouter, Query

            router = APIRouter()

            @router.get("/events/{project_id}")
            async def events(project_id: str, token: str = Query(...)):
                return {"project": project_id, "token": token}
            """,
            line=6,
        ),
        Invalid(
            """
            import fastapi

            app = fastapi.FastAPI()

            @app.get("/download")
            def download(
                path: str,
                api_key: str,
            ):
                return path
            """,
            line=8,
        ),
        Invalid(
            """
            from fastapi import Depends, HTTPException, Query as Q

            async def get_user_from_token_param(token: str = Q(...), auth=Depends(lambda: None)) -> dict:
                payload = auth.decode_token(token)
                if payload.get("type") != "access":
                    raise HTTPException(status_code=401, detail="Invalid token type")
                return payload
            """,
            line=3,
        ),
        Invalid(
            """
            from starlette.requests import Request

            class StreamEndpoint:
                async def __call__(self, request: Request):
                    token = request.query_params["token"]
                    return await self.open_stream(token)
            """,
            line=5,
        ),
        Invalid(
            """
            from flask import request

            def export():
                key = request.args.get("api_key")
                return key
            """,
            line=4,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._names = frozenset(n.lower() for n in self.opts["token_names"])
        self._functions: dict[str, cst.FunctionDef] | None = None
        self._routers: set[str] | None = None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        route = None
        for param in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params):
            name = param.name.value
            if name.lower() not in self._names:
                continue
            marker = _marker(param.default, self.context.qualified)
            if marker == "Query":
                where = ""
            elif marker is None:
                if route is None:
                    if self._routers is None:
                        self._routers = set(module_routers(self.context.module)) | _CONVENTIONAL_ROUTERS
                    route = route_of(node, self._routers) or False
                if not route:
                    continue
                if name in PATH_PARAM_RE.findall(route.path or ""):
                    continue
                if not _scalar_annotation(param.annotation):
                    continue
                where = " (a plain route parameter is a query parameter)"
            else:
                continue
            if self._checks_dedicated_type(node):
                continue
            self.report(param, name=name, where=where)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return
        key = _string(node.slice[0].slice.value)
        if key is None or key.lower() not in self._names:
            return
        if self._is_query_container(node.value):
            self._report_read(node, key)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("get", "getlist", "getone") or not node.args:
            return
        key = _string(node.args[0].value)
        if key is None or key.lower() not in self._names:
            return
        if self._is_query_container(func.value):
            self._report_read(node, key)

    def _is_query_container(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Attribute) or node.attr.value not in _QUERY_CONTAINERS:
            return False
        owner = last_part(dotted_name(node.value)).lower()
        return owner in ("request", "req", "websocket", "ws", "conn", "connection", "scope") or owner.endswith("request")

    def _report_read(self, node: cst.CSTNode, key: str) -> None:
        func = self.context.enclosing_function()
        if isinstance(func, cst.FunctionDef) and self._checks_dedicated_type(func):
            return
        self.report(node, name=key, where=" (read from the request's query parameters)")

    # -- the scoped-token exemption ---------------------------------------------------------------
    def _checks_dedicated_type(self, func: cst.FunctionDef, depth: int = 0) -> bool:
        scan = _TypeScan()
        func.body.visit(scan)
        if scan.dedicated:
            return True
        if depth > 2:
            return False
        if self._functions is None:
            self._functions = module_functions(self.context.module)
        callees = list(scan.calls)
        for param in (*func.params.posonly_params, *func.params.params, *func.params.kwonly_params):
            if _marker(param.default) in ("Depends", "Security") and isinstance(param.default, cst.Call) and param.default.args:
                callees.append(param.default.args[0].value)
        for callee in callees:
            dotted = dotted_name(callee)
            if dotted is None:
                continue
            local = self._functions.get(dotted)
            if local is not None and local is not func:
                if self._checks_dedicated_type(local, depth + 1):
                    return True
                continue
            project = self.context.project
            if project is not None and self.context.module_ref is not None:
                found = project.lookup(self.context.module_ref, dotted)
                node = getattr(found, "node", None)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _ast_dedicated(node):
                    return True
        return False


class _TypeScan(cst.CSTVisitor):
    def __init__(self) -> None:
        self.dedicated = False
        self.calls: list[cst.BaseExpression] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node.func)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        sides = [node.left, *(c.comparator for c in node.comparisons)]
        if any(_is_type_claim(side) for side in sides):
            for side in sides:
                for value in _strings_in(side):
                    if value.lower() not in _GENERAL_TYPES and value != "type":
                        self.dedicated = True


def _is_type_claim(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "get" and node.args:
        return _string(node.args[0].value) in ("type", "typ", "token_type", "scope")
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return _string(node.slice[0].slice.value) in ("type", "typ", "token_type", "scope")
    return False


def _strings_in(node: cst.BaseExpression) -> list[str]:
    value = _string(node)
    if value is not None:
        return [value]
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return [v for e in node.elements if (v := _string(e.value)) is not None]
    return []


def _ast_dedicated(func: ast.AST) -> bool:
    for node in ast_walk(func):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        claim = False
        for side in sides:
            if isinstance(side, ast.Call) and isinstance(side.func, ast.Attribute) and side.func.attr == "get" and side.args:
                arg = side.args[0]
                claim = claim or (isinstance(arg, ast.Constant) and arg.value in ("type", "typ", "token_type", "scope"))
            elif isinstance(side, ast.Subscript) and isinstance(side.slice, ast.Constant):
                claim = claim or side.slice.value in ("type", "typ", "token_type", "scope")
        if not claim:
            continue
        for side in sides:
            values = [side] if isinstance(side, ast.Constant) else list(getattr(side, "elts", []))
            for v in values:
                if isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value.lower() not in _GENERAL_TYPES and v.value != "type":
                    return True
    return False


def _marker(default: cst.BaseExpression | None, qualify=None) -> str | None:
    if isinstance(default, cst.Call):
        name = last_part((qualify(default.func) if qualify else None) or dotted_name(default.func))
        if name == "Query" or name in _NOT_QUERY:
            return name
        return "other"
    return None


def _scalar_annotation(annotation: cst.Annotation | None) -> bool:
    if annotation is None:
        return True
    text = dotted_name(annotation.annotation)
    if text is not None:
        return last_part(text) in ("str", "Optional", "SecretStr")
    node = annotation.annotation
    if isinstance(node, cst.BinaryOperation):  # ``str | None``
        return _scalar_annotation(cst.Annotation(node.left)) and (
            dotted_name(node.right) == "None" or _scalar_annotation(cst.Annotation(node.right))
        )
    if isinstance(node, cst.Subscript):  # ``Optional[str]``
        return last_part(dotted_name(node.value)) == "Optional"
    return False


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None

