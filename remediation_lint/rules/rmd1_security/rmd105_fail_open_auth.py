from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk, child_nodes

import libcst as cst

from remediation_lint.analysis.code_exec import AstSource, ast_single_fstring
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.secrets import is_credential_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_DEPENDENCY_MARKERS = ("Depends", "Security")


class _Defer(Exception):
    """A shape the ``ast`` twin does not decide (a key read through a call: its text is LibCST's)."""


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._candidates: list[tuple[ast.If, ast.AST, str, bool]] = []
        self._dependencies: set[str] = set()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        last = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if last not in _DEPENDENCY_MARKERS:
            return
        target = _ast_first_value(node)
        if target is None:
            return
        name = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else None
        if name:
            self._dependencies.add(name)

    def visit_If(self, node: ast.If) -> None:
        if not isinstance(node.test, (ast.BoolOp, ast.UnaryOp, ast.Compare)):
            return  # neither a missing-key test nor `KEY and <check>`
        func = self.context.enclosing_function()
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        try:
            params = _ast_parameter_names(func)
            missing = self._missing_key(node.test, params)
            if missing is not None:
                if _ast_passes_through(node.body):
                    evidence = _ast_checks_key_after(self.context, func, node, missing)
                    self._candidates.append((node, func, missing, evidence))
                return
            present = self._guarded_check(node, params)
            if present is not None:
                self._candidates.append((node, func, present, True))
        except _Defer:
            self.defer()

    def finish(self) -> None:
        names = set(self.opts.get("auth_dependencies", ())) | self._dependencies
        for node, func, key, evidence in self._candidates:
            if evidence or func.name in names:  # type: ignore[attr-defined]
                self.report(node, key=f"`{key}`")

    def _missing_key(self, test: ast.expr, params: set[str]) -> str | None:
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
            for value in test.values:
                key = self._missing_key(value, params)
                if key:
                    return key
            return None
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self._key_text(test.operand, params)
        if (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], (ast.Is, ast.Eq))
            and self._is_empty(test.comparators[0])
        ):
            return self._key_text(test.left, params)
        return None

    def _guarded_check(self, node: ast.If, params: set[str]) -> str | None:
        if node.orelse:
            return None
        test = node.test
        if not (isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And)) or len(test.values) != 2:
            return None  # LibCST nests `a and b and c` to the left: its left operand is no key
        key = self._present_key(test.values[0], params)
        if key is None or not self._denies(node.body):
            return None
        if _ast_mentions(test.values[1], key):
            return key
        return None

    def _present_key(self, test: ast.expr, params: set[str]) -> str | None:
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            if isinstance(test.ops[0], ast.IsNot) and self._is_empty(test.comparators[0]):
                return self._key_text(test.left, params)
            return None
        return self._key_text(test, params)

    def _key_text(self, expr: ast.expr, params: set[str]) -> str | None:
        text = ast_dotted(expr)
        name = text
        if text is None and isinstance(expr, ast.Call):
            callee = ast_dotted(expr.func) or ""
            if callee.rsplit(".", 1)[-1] in ("getenv", "get"):
                first = _ast_first_value(expr)
                if first is not None and self._simple_string(first):
                    name = str(first.value)  # type: ignore[attr-defined]
                    if _ast_is_credential_name(name.rsplit(".", 1)[-1]):
                        raise _Defer  # the key is the call's LibCST text
                    return None
        if text is None or name is None:
            return None
        head = text.split(".", 1)[0]
        if head in params and head not in ("self", "cls"):
            return None
        if head in ("self", "cls") and "." not in text:
            return None
        if not _ast_is_credential_name(name.rsplit(".", 1)[-1]):
            return None
        return text

    def _simple_string(self, node: ast.expr) -> bool:
        """A LibCST ``SimpleString``: one str/bytes literal, not an implicit concatenation."""
        if not (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))):
            return False
        src = AstSource.of(self.context)
        text = src.text(src.start(node), src.end(node))
        single = None if text is None else ast_single_fstring(text)
        if single is None:
            raise _Defer
        return single

    def _is_empty(self, expr: ast.expr) -> bool:
        if isinstance(expr, ast.Constant):
            if expr.value is None:
                return True
            if expr.value in ("", b"") and isinstance(expr.value, (str, bytes)):
                return self._simple_string(expr)
        return False

    def _denies(self, body: list[ast.stmt]) -> bool:
        for stmt in body:
            if isinstance(stmt, ast.Raise):
                return True
            if isinstance(stmt, ast.Return) and stmt.value is not None:
                value = stmt.value
                if isinstance(value, ast.Constant) and value.value is False:
                    return True
                if isinstance(value, ast.Call) and _ast_has_denial_status(self.context, value):
                    return True
        return False


_credential_names: dict[str, bool] = {}


def _ast_is_credential_name(name: str) -> bool:
    """``is_credential_name``, remembered (the fast path asks it for every ``if not x:`` in a function)."""
    known = _credential_names.get(name)
    if known is None:
        if len(_credential_names) > 4096:
            _credential_names.clear()
        known = _credential_names[name] = is_credential_name(name)
    return known


def _ast_first_value(call: ast.Call) -> ast.expr | None:
    """The value of the call's first argument in source order (positional, starred or keyword)."""
    arg = call.args[0] if call.args else None
    kw = call.keywords[0] if call.keywords else None
    starred_after_keyword = isinstance(arg, ast.Starred) and kw is not None and (kw.lineno, kw.col_offset) < (arg.lineno, arg.col_offset)
    if starred_after_keyword:
        arg = None  # f(k=1, *a)
    if arg is not None:
        return arg.value if isinstance(arg, ast.Starred) else arg
    return kw.value if kw is not None else None


def _ast_parameter_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = func.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    for star in (args.vararg, args.kwarg):
        if star is not None:
            names.add(star.arg)
    return names


def _ast_passes_through(body: list[ast.stmt]) -> bool:
    if not body or not isinstance(body[-1], ast.Return):
        return False
    if any(not isinstance(s, ast.Expr) for s in body[:-1]):
        return False
    value = body[-1].value
    if value is None:
        return True
    if isinstance(value, ast.Constant) and (value.value is None or value.value is True):
        return True
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, ast.Call):
        if isinstance(value.func, ast.Name):
            return value.func.id == "call_next"
        if isinstance(value.func, ast.Attribute):
            return value.func.attr in ("call_next", "app")
    return False


_DENIAL_CODES = {401: "401", 403: "403"}


def _ast_has_denial_status(context, call: ast.Call) -> bool:
    values = [a.value if isinstance(a, ast.Starred) else a for a in call.args] + [k.value for k in call.keywords]
    for value in values:
        if isinstance(value, ast.Constant) and type(value.value) is int and value.value in _DENIAL_CODES:
            src = AstSource.of(context)
            if src.text(src.start(value), src.end(value)) == _DENIAL_CODES[value.value]:
                return True
        if isinstance(value, ast.Attribute):
            text = value.attr
            if "401" in text or "403" in text or "UNAUTHORIZED" in text or "FORBIDDEN" in text:
                return True
    return False


def _ast_mentions(tree: ast.AST, key: str) -> bool:
    """``_mentions`` on an expression: LibCST also sees the Name of an attribute, a keyword argument and a
    lambda parameter."""
    bare = "." not in key
    for node in ast_walk(tree):
        if isinstance(node, (ast.Name, ast.Attribute)):
            if ast_dotted(node) == key:
                return True
            if bare and isinstance(node, ast.Attribute) and node.attr == key:
                return True
        elif bare and isinstance(node, (ast.keyword, ast.arg)) and node.arg == key:
            return True
    return False


def _ast_checks_key_after(context, func: ast.AST, guard: ast.If, key: str) -> bool:
    """``_checks_key_after`` on ``ast``: anywhere in the body of ``func`` but the guard and nested defs."""
    todo: list[ast.AST] = list(reversed(func.body))  # type: ignore[attr-defined]
    while todo:
        node = todo.pop()
        if node is guard or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.Compare):
            if _ast_mentions(node, key):
                return True
        elif isinstance(node, ast.Call):
            func_node = node.func
            callee = func_node.id if isinstance(func_node, ast.Name) else func_node.attr if isinstance(func_node, ast.Attribute) else None
            if callee and any(word in callee for word in ("compare_digest", "decode", "verify", "check")) and _ast_mentions(node, key):
                return True
        elif isinstance(node, ast.Raise):
            return True
        elif isinstance(node, ast.Return):
            value = node.value
            if isinstance(value, ast.Constant) and value.value is False:
                return True
            if isinstance(value, ast.Call) and _ast_has_denial_status(context, value):
                return True
        todo.extend(child_nodes(node))
    return False


class FailOpenAuth(Rule):
    """An auth check that lets the request through when the configured key or secret is missing.

    ## What it does
    Finds, in a function that checks credentials, a guard on the *configured* key that lets the request
    pass when the key is not set: `if not self.api_key: return True`, `if API_KEY is None: return await
    call_next(request)` in a middleware `dispatch`, `if not settings.token: return` in a FastAPI
    dependency, also when the missing-key test is one operand of an `or`. A function counts as an auth
    check when, after the guard, it compares the key (`!=`, `==`, `in`, `compare_digest`), decodes or
    verifies with it, or denies (raises, returns `False`, returns a 401/403 response); or when it is an
    auth dependency: used in `Depends(...)`/`Security(...)` in the module or named in the
    `auth_dependencies` option. Also found: the check wrapped so it runs only when a key is configured
    (`if self.api_key and key != self.api_key: raise ...`).

    The key is the configured value (an attribute, a module constant, a settings field, an
    `os.getenv(...)` read), never a parameter of the function: an optional-user dependency that returns
    `None` when the client sent no token is a different, deliberate idiom.

    ## Why is this bad?
    A missing environment variable or a typo in the config file silently turns authentication off, and
    nothing tells the operator. The AI System plan (Phase 2, task 7) found the ModelOps REST API
    "fail-open": with no API key configured every request was accepted, which together with a wildcard
    CORS policy handed the whole control API to any web page.

    ## Fix
    Fail closed: refuse to start (or reject every request) when the key is missing, e.g.
    `if not self.api_key: raise HTTPException(503, "authentication is not configured")`, and validate
    the configuration at startup.
    """

    code = "RMD105"
    ast_checker = _Fast
    name = "fail-open-auth"
    message = "auth check lets the request through when {key} is not configured: fail closed (reject the request or refuse to start) instead"
    severity = Severity.HIGH
    provenance = (
        Provenance("004_96ea4b1ca927ab99.txt", "Phase 2, Task 7 (fail-open API-key auth in the ModelOps REST API)", "ai_system"),
    )
    triggers = (b"key", b"KEY", b"token", b"TOKEN", b"secret", b"SECRET", b"password", b"PASSWORD")
    cwe = (636, 306)
    options = {
        "auth_dependencies": (
            "get_current_user", "verify_api_key", "verify_token", "require_api_key", "api_key_auth",
            "authenticate", "check_api_key", "require_auth",
        ),
    }
    option_docs = {
        "auth_dependencies": "names of functions that are auth checks even without a comparison in their body",
    }

    VALID = [
        Valid(
            """
            import secrets

            from fastapi import Header, HTTPException

            from app.settings import settings

            async def verify_api_key(x_api_key: str | None = Header(default=None)) -> None:
                if not settings.api_key:
                    raise HTTPException(status_code=503, detail="authentication is not configured")
                if x_api_key is None or not secrets.compare_digest(x_api_key, settings.api_key):
                    raise HTTPException(status_code=401, detail="invalid API key")
            """
        ),
        Valid(
            """
            class APIClient:
                def __init__(self, api_key=None):
                    self.api_key = api_key

                def headers(self) -> dict:
                    if not self.api_key:
                        return {}
                    return {"Authorization": f"Bearer {self.api_key}"}
            """
        ),
        Valid(
            """
            from fastapi import Depends
            from fastapi.security import OAuth2PasswordBearer

            oauth2_optional = OAuth2PasswordBearer(tokenUrl="/login", auto_error=False)

            async def get_optional_user(token: str | None = Depends(oauth2_optional)):
                if not token:
                    return None
                if token != "expected":
                    return None
                return {"user": "someone"}
            """
        ),
        Valid(
            """
            import os

            from starlette.middleware.base import BaseHTTPMiddleware
            from starlette.responses import JSONResponse

            API_KEY = os.environ.get("MODELOPS_API_KEY")

            class APIKeyMiddleware(BaseHTTPMiddleware):
                async def dispatch(self, request, call_next):
                    if request.url.path == "/health":
                        return await call_next(request)
                    if API_KEY is None:
                        return JSONResponse({"detail": "auth not configured"}, status_code=503)
                    if request.headers.get("x-api-key") != API_KEY:
                        return JSONResponse({"detail": "unauthorized"}, status_code=401)
                    return await call_next(request)
            """
        ),
        Valid(
            """
            class Uploader:
                def __init__(self, token):
                    self.token = token

                def upload(self, path):
                    if not self.token:
                        return False
                    return self._send(path, self.token)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from fastapi import Request

            class RESTAPIServer:
                def __init__(self, config):
                    self.api_key = config.get("api_key")

                def _check_auth(self, request: Request) -> bool:
                    if not self.api_key:
                        return True
                    return request.headers.get("X-API-Key") == self.api_key
            """,
            line=8,
        ),
        Invalid(
            """
            import os

            from fastapi import FastAPI, Request
            from fastapi.responses import JSONResponse

            API_KEY = os.getenv("MODELOPS_API_KEY")
            app = FastAPI()

            @app.middleware("http")
            async def api_key_middleware(request: Request, call_next):
                if API_KEY is None:
                    return await call_next(request)
                if request.headers.get("x-api-key") != API_KEY:
                    return JSONResponse({"detail": "unauthorized"}, status_code=401)
                return await call_next(request)
            """,
            line=11,
        ),
        Invalid(
            """
            import jwt
            from fastapi import Depends, FastAPI, Header

            from app.config import settings

            app = FastAPI()

            def current_claims(authorization: str = Header("")):
                if not settings.token_secret:
                    return
                return jwt.decode(authorization.removeprefix("Bearer "), settings.token_secret, algorithms=["HS256"])

            @app.get("/jobs")
            def jobs(claims=Depends(current_claims)):
                return []
            """,
            line=9,
        ),
        Invalid(
            """
            import logging

            from starlette.middleware.base import BaseHTTPMiddleware

            logger = logging.getLogger(__name__)

            class AuthMiddleware(BaseHTTPMiddleware):
                def __init__(self, app, api_key=None):
                    super().__init__(app)
                    self.api_key = api_key

                async def dispatch(self, request, call_next):
                    if not self.api_key or request.url.path.startswith("/docs"):
                        logger.debug("auth skipped")
                        return await call_next(request)
                    if request.headers.get("X-API-Key") != self.api_key:
                        from starlette.responses import Response
                        return Response(status_code=401)
                    return await call_next(request)
            """,
            line=13,
        ),
        Invalid(
            """
            import hmac

            from fastapi import Header, HTTPException

            from app import config

            async def require_key(x_api_key: str = Header("")):
                if config.API_KEY and not hmac.compare_digest(x_api_key, config.API_KEY):
                    raise HTTPException(status_code=401)
            """,
            line=8,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: (if node, function, key text, has evidence of being an auth check)
        self._candidates: list[tuple[cst.If, cst.FunctionDef, str, bool]] = []
        self._dependencies: set[str] = set()

    # -- FastAPI dependencies ------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else None
        if last not in _DEPENDENCY_MARKERS or not node.args:
            return
        target = node.args[0].value
        name = target.value if isinstance(target, cst.Name) else target.attr.value if isinstance(target, cst.Attribute) else None
        if name:
            self._dependencies.add(name)

    # -- the guards ------------------------------------------------------------------------------------
    def visit_If(self, node: cst.If) -> None:
        func = self.context.enclosing_function()
        if not isinstance(func, cst.FunctionDef):
            return
        params = _parameter_names(func)
        missing = self._missing_key(node.test, params)
        if missing is not None:
            if _passes_through(node.body):
                evidence = _checks_key_after(func, node, missing)
                self._candidates.append((node, func, missing, evidence))
            return
        present = self._guarded_check(node, params)
        if present is not None:
            self._candidates.append((node, func, present, True))

    def finish(self) -> None:
        names = set(self.opts.get("auth_dependencies", ())) | self._dependencies
        for node, func, key, evidence in self._candidates:
            if evidence or func.name.value in names:
                self.report(node, key=f"`{key}`")

    def _missing_key(self, test: cst.BaseExpression, params: set[str]) -> str | None:
        """The key text when ``test`` is true when a configured key is missing (``not k``, ``k is None``, ``... or not k``)."""
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.Or):
            return self._missing_key(test.left, params) or self._missing_key(test.right, params)
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self._key_text(test.expression, params)
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            if isinstance(target.operator, (cst.Is, cst.Equal)) and _is_empty(target.comparator):
                return self._key_text(test.left, params)
        return None

    def _guarded_check(self, node: cst.If, params: set[str]) -> str | None:
        """``if KEY and <compare with KEY>: deny`` with no else: the check runs only when a key is set."""
        if node.orelse is not None:
            return None
        test = node.test
        if not (isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And)):
            return None
        key = self._present_key(test.left, params)
        if key is None or not _denies(node.body):
            return None
        if _mentions(test.right, key):
            return key
        return None

    def _present_key(self, test: cst.BaseExpression, params: set[str]) -> str | None:
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            if isinstance(target.operator, cst.IsNot) and _is_empty(target.comparator):
                return self._key_text(test.left, params)
            return None
        return self._key_text(test, params)

    def _key_text(self, expr: cst.BaseExpression, params: set[str]) -> str | None:
        """The configured key an expression reads, when its name says it is a credential."""
        text = self.context.dotted(expr)
        name = text
        if text is None and isinstance(expr, cst.Call):
            # os.getenv("API_KEY"), os.environ.get("API_KEY"), config.get("api_key")
            callee = self.context.dotted(expr.func) or ""
            if callee.rsplit(".", 1)[-1] in ("getenv", "get") and expr.args:
                first = expr.args[0].value
                if isinstance(first, cst.SimpleString):
                    name = str(first.evaluated_value)
                    text = self.context.module.code_for_node(expr)
        if text is None or name is None:
            return None
        head = text.split(".", 1)[0]
        if head in params and head not in ("self", "cls"):
            return None  # the presented credential, not the configured one
        if head in ("self", "cls") and "." not in text:
            return None
        if not is_credential_name(name.rsplit(".", 1)[-1]):
            return None
        return text


def _parameter_names(func: cst.FunctionDef) -> set[str]:
    params = func.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names


def _is_empty(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Name) and expr.value == "None":
        return True
    return isinstance(expr, cst.SimpleString) and expr.evaluated_value in ("", b"")


def _statements(body: cst.BaseSuite) -> list[cst.CSTNode]:
    if isinstance(body, cst.IndentedBlock):
        out: list[cst.CSTNode] = []
        for stmt in body.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                out.extend(stmt.body)
            else:
                out.append(stmt)
        return out
    return list(body.body)


def _passes_through(body: cst.BaseSuite) -> bool:
    """The block ends in a return that accepts: ``return``, ``return None``, ``return True``, ``return await call_next(...)``."""
    stmts = _statements(body)
    if not stmts or not isinstance(stmts[-1], cst.Return):
        return False
    if any(not isinstance(s, cst.Expr) for s in stmts[:-1]):
        return False  # only logging before the return
    value = stmts[-1].value
    if value is None:
        return True
    if isinstance(value, cst.Name) and value.value in ("None", "True"):
        return True
    if isinstance(value, cst.Await):
        value = value.expression
    if isinstance(value, cst.Call):
        callee = dotted = None
        if isinstance(value.func, cst.Name):
            callee = value.func.value
        elif isinstance(value.func, cst.Attribute):
            callee = value.func.attr.value
            dotted = value.func
        return callee == "call_next" or (callee == "app" and isinstance(dotted, cst.Attribute))
    return False


def _denies(body: cst.BaseSuite) -> bool:
    for stmt in _statements(body):
        if isinstance(stmt, cst.Raise):
            return True
        if isinstance(stmt, cst.Return) and stmt.value is not None:
            value = stmt.value
            if isinstance(value, cst.Name) and value.value == "False":
                return True
            if isinstance(value, cst.Call) and _has_denial_status(value):
                return True
    return False


def _has_denial_status(call: cst.Call) -> bool:
    for arg in call.args:
        value = arg.value
        if isinstance(value, cst.Integer) and value.value in ("401", "403"):
            return True
        text = getattr(value, "attr", None)
        if isinstance(text, cst.Name) and ("401" in text.value or "403" in text.value or "UNAUTHORIZED" in text.value or "FORBIDDEN" in text.value):
            return True
    return False


class _KeyUse(cst.CSTVisitor):
    """After the guard: a comparison, a digest compare/decode/verify call, or a denial involving the key."""

    def __init__(self, key: str, skip: cst.CSTNode) -> None:
        self.key = key
        self.skip = skip
        self.found = False

    def visit_If(self, node: cst.If) -> bool:
        return node is not self.skip and not self.found

    def visit_Comparison(self, node: cst.Comparison) -> bool:
        if _mentions(node, self.key):
            self.found = True
        return not self.found

    def visit_Call(self, node: cst.Call) -> bool:
        callee = dotted_last(node.func)
        if callee and any(word in callee for word in ("compare_digest", "decode", "verify", "check")) and _mentions(node, self.key):
            self.found = True
        return not self.found

    def visit_Raise(self, node: cst.Raise) -> bool:
        self.found = True
        return False

    def visit_Return(self, node: cst.Return) -> bool:
        value = node.value
        if isinstance(value, cst.Name) and value.value == "False":
            self.found = True
        elif isinstance(value, cst.Call) and _has_denial_status(value):
            self.found = True
        return not self.found

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def dotted_last(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _checks_key_after(func: cst.FunctionDef, guard: cst.If, key: str) -> bool:
    """Whether the rest of ``func`` (the guard excluded) checks the key or denies."""
    visitor = _KeyUse(key, guard)
    func.body.visit(visitor)
    return visitor.found


class _Mentions(cst.CSTVisitor):
    def __init__(self, key: str) -> None:
        self.key = key
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.found:
            return False
        if isinstance(node, (cst.Name, cst.Attribute, cst.Call)):
            text = dotted_name(node)
            if text == self.key:
                self.found = True
                return False
            if isinstance(node, cst.Call) and self.key.endswith(")"):
                # os.getenv("X") style keys: compare the source text
                try:
                    if cst.Module([]).code_for_node(node) == self.key:
                        self.found = True
                        return False
                except Exception:  # pragma: no cover
                    pass
        return True


def _mentions(tree: cst.CSTNode, key: str) -> bool:
    finder = _Mentions(key)
    tree.visit(finder)
    return finder.found
