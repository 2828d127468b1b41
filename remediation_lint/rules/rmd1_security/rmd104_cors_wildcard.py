from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.code_exec import ast_constant_text, constant_text
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.web_security import (
    CORS_MIDDLEWARE,
    FLASK_CORS,
    MIDDLEWARE_WRAPPERS,
    SAFE_HEADERS,
    SAFE_METHODS,
    WILDCARD_ORIGIN_REGEXES,
)
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity, Valid

#: keyword -> what it opens, for the message
_STARLETTE_KEYWORDS = {
    "allow_origins": "origins",
    "allow_origin_regex": "origins",
    "allow_methods": "methods",
    "allow_headers": "headers",
}
_FLASK_KEYWORDS = {"origins": "origins", "methods": "methods", "allow_headers": "headers"}


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


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    _module_values: dict[str, ast.expr] | None = None

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, (ast.Name, ast.Attribute)):
            return
        last = func.id if isinstance(func, ast.Name) else func.attr
        if last == "add_middleware" and isinstance(func, ast.Attribute):
            first = _ast_first_value(node)
            if first is not None and self._is_cors_class(first):
                self._check(node, _STARLETTE_KEYWORDS)
            return
        if last == "Middleware":
            first = _ast_first_value(node)
            if first is not None and self._is_cors_class(first) and self.context.qualified(func) in MIDDLEWARE_WRAPPERS:
                self._check(node, _STARLETTE_KEYWORDS)
            return
        if last == "CORSMiddleware":
            if self.context.qualified(func) in CORS_MIDDLEWARE:
                self._check(node, _STARLETTE_KEYWORDS)
            return
        if last in ("CORS", "cross_origin") and self.context.qualified(func) in FLASK_CORS:
            self._check(node, _FLASK_KEYWORDS)

    def _is_cors_class(self, expr: ast.expr) -> bool:
        return self.context.qualified(expr) in CORS_MIDDLEWARE

    def _check(self, call: ast.Call, keywords: dict[str, str]) -> None:
        credentials = any(
            kw.arg in ("allow_credentials", "supports_credentials")
            and isinstance(kw.value, ast.Constant)
            and kw.value.value is True
            for kw in call.keywords
        )
        for kw in call.keywords:
            if kw.arg is None or kw.arg not in keywords:
                continue
            keyword = kw.arg
            what = keywords[keyword]
            literal, shown = self._wildcard(kw.value, regex=keyword == "allow_origin_regex")
            if literal is None:
                continue
            fix = None
            if what == "origins":
                extra = " (and allow_credentials=True hands them the user's cookies)" if credentials else ""
                advice = "list the trusted origins explicitly, e.g. from configuration"
            else:
                extra = ""
                advice = f"list the {what} the API uses"
                if literal is kw.value and isinstance(literal, (ast.List, ast.Tuple)):
                    fix = FixSafety.SAFE
            self.report(kw, keyword=keyword, value=shown, what=what.rstrip("s") if what != "origins" else "origin",
                        extra=extra, advice=advice, fix=fix)

    def _wildcard(self, value: ast.expr, *, regex: bool) -> tuple[ast.expr | None, str]:
        shown = None
        if isinstance(value, ast.Name):
            bound = self._module_value(value.id)
            if bound is None:
                return None, ""
            shown = value.id
            value = bound
        if regex:
            text = ast_constant_text(value)
            if text is not None and text in WILDCARD_ORIGIN_REGEXES:
                return value, shown or repr(text)
            return None, ""
        if ast_constant_text(value) == "*":
            return value, shown or '"*"'
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            for element in value.elts:
                if not isinstance(element, ast.Starred) and ast_constant_text(element) == "*":
                    return value, shown or '["*"]'
        return None, ""

    def _module_value(self, name: str) -> ast.expr | None:
        if self._module_values is None:
            values: dict[str, ast.expr] = {}
            seen: set[str] = set()
            for stmt in self.context.tree.body:
                target = None
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                    target, val = stmt.targets[0], stmt.value
                elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                    target, val = stmt.target, stmt.value
                if isinstance(target, ast.Name):
                    if target.id in seen:
                        values.pop(target.id, None)
                    else:
                        values[target.id] = val
                    seen.add(target.id)
            self._module_values = values
        return self._module_values.get(name)


class CorsWildcard(Rule):
    """CORS configured with `"*"`: any website may call the API from a visitor's browser.

    ## What it does
    Finds Starlette/FastAPI `CORSMiddleware` (constructed directly, through `app.add_middleware(CORSMiddleware,
    ...)` or `Middleware(CORSMiddleware, ...)`) and flask-cors `CORS(...)`/`@cross_origin(...)` given `"*"`
    for the allowed origins, methods or headers, either as a literal (`["*"]`, `"*"`) or through a
    module-level name bound to one; an `allow_origin_regex` that matches everything counts as a wildcard
    origin. Each wildcard argument is reported on its own line; a wildcard origin is worse when
    `allow_credentials=True` and the message says so.

    ## Why is this bad?
    A wildcard origin lets any page the user visits send requests to the API and read the answers; with
    credentials allowed, the browser attaches the user's cookies too. The AI System plan (Phase 2, task 7)
    found `allow_origins=["*"]` on the ModelOps REST API, which together with fail-open auth exposed the
    whole control API to any website; the Orchestration Engine plan (§6.5) tightens `allow_methods=["*"]`
    and `allow_headers=["*"]` to explicit lists.

    ## Fix
    List the trusted front-end origins (from configuration), and the methods and headers the API uses.

    ## Fix safety
    Safe for methods and headers: `allow_methods=["*"]` becomes
    `["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]` and `allow_headers=["*"]` becomes
    `["Authorization", "Content-Type"]` (the usual set for a JSON API; extend it if the front end sends
    other headers). Origins are not fixed: only the project knows which origins to trust.
    """

    code = "RMD104"
    ast_checker = _Fast
    name = "cors-wildcard"
    message = "CORS {keyword}={value} allows every {what}{extra}: {advice}"
    severity = Severity.HIGH
    provenance = (
        Provenance("004_96ea4b1ca927ab99.txt", "Phase 2, Task 7 (wildcard CORS on the ModelOps REST API)", "ai_system"),
        Provenance("001_0845f576a88221b4.txt", "Phase 6, §6.5 (tighten CORS configuration)", "orchestration_engine"),
    )
    fix_safety = FixSafety.SAFE
    triggers = (b"CORS",)
    cwe = (942,)

    VALID = [
        Valid(
            """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware

            from backend.config import CORS_ORIGINS

            def create_app() -> FastAPI:
                app = FastAPI()
                app.add_middleware(
                    CORSMiddleware,
                    allow_origins=CORS_ORIGINS,
                    allow_credentials=True,
                    allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
                    allow_headers=["Authorization", "Content-Type"],
                )
                return app
            """
        ),
        Valid(
            """
            from starlette.applications import Starlette
            from starlette.middleware import Middleware
            from starlette.middleware.cors import CORSMiddleware

            ORIGINS = ["https://app.example.com", "https://admin.example.com"]

            app = Starlette(middleware=[Middleware(CORSMiddleware, allow_origins=ORIGINS, allow_methods=["GET"])])
            """
        ),
        Valid(
            """
            from flask import Flask
            from flask_cors import CORS

            app = Flask(__name__)
            CORS(app, origins=["https://dashboard.example.com"], supports_credentials=True)
            """
        ),
        Valid(
            """
            from myproject.middleware import CORSMiddleware

            def install(app):
                # a project class with the same name: not Starlette's
                app.add_middleware(CORSMiddleware, allow_origins=["*"])
            """
        ),
        Valid(
            """
            ALLOWED = ["*"]

            def headers_for(request):
                return {"Vary": "Origin", "X-Allowed": ",".join(ALLOWED)}
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware

            app = FastAPI(title="ModelOps")
            app.add_middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
            )
            """,
            fixed="""
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware

            app = FastAPI(title="ModelOps")
            app.add_middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_credentials=True,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type"],
            )
            """,
            line=7,
            count=3,
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from starlette.middleware.cors import CORSMiddleware as Cors

            class RESTAPIServer:
                def __init__(self, config):
                    self.app = FastAPI()
                    self.app.add_middleware(Cors, allow_origins=["https://ops.example.com"], allow_methods=["*"])
            """,
            fixed="""
            from fastapi import FastAPI
            from starlette.middleware.cors import CORSMiddleware as Cors

            class RESTAPIServer:
                def __init__(self, config):
                    self.app = FastAPI()
                    self.app.add_middleware(Cors, allow_origins=["https://ops.example.com"], allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
            """,
            line=7,
        ),
        Invalid(
            """
            import fastapi
            from fastapi.middleware import cors

            ALLOWED_ORIGINS = ["*"]

            def build() -> fastapi.FastAPI:
                app = fastapi.FastAPI()
                app.add_middleware(cors.CORSMiddleware, allow_origins=ALLOWED_ORIGINS)
                return app
            """,
            line=8,
        ),
        Invalid(
            """
            from flask import Flask
            from flask_cors import CORS

            app = Flask(__name__)
            CORS(app, origins="*", supports_credentials=True)
            """,
            line=5,
        ),
        Invalid(
            """
            from starlette.applications import Starlette
            from starlette.middleware import Middleware
            from starlette.middleware.cors import CORSMiddleware

            middleware = [
                Middleware(CORSMiddleware, allow_origin_regex=".*", allow_headers=("*",)),
            ]
            app = Starlette(middleware=middleware)
            """,
            fixed="""
            from starlette.applications import Starlette
            from starlette.middleware import Middleware
            from starlette.middleware.cors import CORSMiddleware

            middleware = [
                Middleware(CORSMiddleware, allow_origin_regex=".*", allow_headers=["Authorization", "Content-Type"]),
            ]
            app = Starlette(middleware=middleware)
            """,
            line=6,
            count=2,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._module_values: dict[str, cst.BaseExpression] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return
        last = func.value if isinstance(func, cst.Name) else func.attr.value
        if last == "add_middleware" and isinstance(func, cst.Attribute):
            if node.args and self._is_cors_class(node.args[0].value):
                self._check(node, _STARLETTE_KEYWORDS)
            return
        if last == "Middleware":
            if node.args and self._is_cors_class(node.args[0].value) and self.context.qualified(func) in MIDDLEWARE_WRAPPERS:
                self._check(node, _STARLETTE_KEYWORDS)
            return
        if last == "CORSMiddleware":
            if self.context.qualified(func) in CORS_MIDDLEWARE:
                self._check(node, _STARLETTE_KEYWORDS)
            return
        if last in ("CORS", "cross_origin") and self.context.qualified(func) in FLASK_CORS:
            self._check(node, _FLASK_KEYWORDS)

    def _is_cors_class(self, expr: cst.BaseExpression) -> bool:
        return self.context.qualified(expr) in CORS_MIDDLEWARE

    def _check(self, call: cst.Call, keywords: dict[str, str]) -> None:
        credentials = any(
            arg.keyword is not None
            and arg.keyword.value in ("allow_credentials", "supports_credentials")
            and isinstance(arg.value, cst.Name)
            and arg.value.value == "True"
            for arg in call.args
        )
        for arg in call.args:
            if arg.keyword is None or arg.keyword.value not in keywords:
                continue
            keyword = arg.keyword.value
            what = keywords[keyword]
            literal, shown = self._wildcard(arg.value, regex=keyword == "allow_origin_regex")
            if literal is None:
                continue
            fix = None
            if what == "origins":
                extra = " (and allow_credentials=True hands them the user's cookies)" if credentials else ""
                advice = "list the trusted origins explicitly, e.g. from configuration"
            else:
                extra = ""
                explicit = SAFE_METHODS if what == "methods" else SAFE_HEADERS
                advice = f"list the {what} the API uses"
                if literal is arg.value and isinstance(literal, (cst.List, cst.Tuple)):
                    replacement = cst.List(elements=_string_elements(explicit))
                    fix = self.make_fix((literal, replacement))
            self.report(arg, keyword=keyword, value=shown, what=what.rstrip("s") if what != "origins" else "origin",
                        extra=extra, advice=advice, fix=fix)

    def _wildcard(self, value: cst.BaseExpression, *, regex: bool) -> tuple[cst.BaseExpression | None, str]:
        """The literal holding the wildcard (the argument or the module-level value of a name), and its text."""
        shown = None
        if isinstance(value, cst.Name):
            bound = self._module_value(value.value)
            if bound is None:
                return None, ""
            shown = value.value
            value = bound
        if regex:
            text = constant_text(value)
            if text is not None and text in WILDCARD_ORIGIN_REGEXES:
                return value, shown or repr(text)
            return None, ""
        if constant_text(value) == "*":
            return value, shown or '"*"'
        if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            for element in value.elements:
                if isinstance(element, cst.Element) and constant_text(element.value) == "*":
                    return value, shown or '["*"]'
        return None, ""

    def _module_value(self, name: str) -> cst.BaseExpression | None:
        """The value a module-level name is bound to once (``ORIGINS = ["*"]``), else None."""
        if self._module_values is None:
            values: dict[str, cst.BaseExpression] = {}
            seen: set[str] = set()
            for stmt in self.context.module.body:
                if not isinstance(stmt, cst.SimpleStatementLine):
                    continue
                for small in stmt.body:
                    target = None
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target, val = small.targets[0].target, small.value
                    elif isinstance(small, cst.AnnAssign) and small.value is not None:
                        target, val = small.target, small.value
                    if isinstance(target, cst.Name):
                        if target.value in seen:
                            values.pop(target.value, None)  # rebound: unknown
                        else:
                            values[target.value] = val
                        seen.add(target.value)
            self._module_values = values
        return self._module_values.get(name)


def _string_elements(values: tuple[str, ...]) -> list[cst.Element]:
    elements = []
    for i, value in enumerate(values):
        comma = cst.MaybeSentinel.DEFAULT if i == len(values) - 1 else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        elements.append(cst.Element(cst.SimpleString(f'"{value}"'), comma=comma))
    return elements
