from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis import web_handlers as web
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

LIMITERS = {"slowapi.Limiter", "slowapi.extension.Limiter"}


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._calls: list[tuple[ast.Call, str]] = []
        self._route: str | None = None
        self._routers: set[str] | None = None

    def visit_Call(self, node: ast.Call) -> None:
        if self.context.qualified(node.func) in LIMITERS:
            self._calls.append((node, f"{self.context.dotted(node.func)}(...)"))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if self._route is not None or not node.decorator_list:
            return
        if self._routers is None:
            self._routers, _ = web.ast_module_routers(self.context.tree)
        route = web.ast_route_decorator(node, self._routers)
        if route is not None:
            self._route = f"it defines route {node.name}() with @{route}"

    visit_AsyncFunctionDef = visit_FunctionDef

    def finish(self) -> None:
        if not self._calls:
            return
        routers, apps = web.ast_module_routers(self.context.tree)
        if apps:
            return
        if routers:
            why = f"it defines router `{sorted(routers)[0]}` and creates no app"
        elif self._route is not None:
            why = self._route
        else:
            return
        for node, call in self._calls:
            if not (call + why).isascii():
                self.defer()  # ast normalises non-ASCII identifiers, LibCST keeps them as written
                return
            self.report(node, call=call, why=why)


class DuplicateRateLimiter(Rule):
    """A slowapi `Limiter` created in a routes module: use the application's one limiter.

    ## What it does
    Finds `Limiter(...)` (slowapi, under any import form) created in a routes module: one that
    defines an `APIRouter`/`Blueprint` or route handlers but does not create the application itself.

    ## Why is this bad?
    slowapi keeps the counters in the limiter instance and applies limits through the instance that
    is registered on the app (`app.state.limiter`) and its exception handler. A second instance in a
    routes module has its own storage and configuration: its limits are counted separately from the
    app's, ignore the app's settings (storage backend, headers, default limits), and may not be
    enforced at all. The Orchestration Engine's `routes/projects.py` created its own
    `_limiter = Limiter(key_func=get_remote_address)` (plan item 6.2).

    ## Fix
    Create the limiter once (in `app.py` or a small `rate_limit.py` that both the app and the routes
    import), register it on the app, and decorate the routes with that instance.
    """

    code = "RMD708"
    ast_checker = _Fast
    name = "duplicate-rate-limiter"
    message = "{call} created in a routes module ({why}): decorate routes with the app's single limiter instead"
    severity = Severity.LOW
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 6, item 6.2 (standalone Limiter in routes/projects.py)", "orchestration_engine"),
    )
    triggers = (b"Limiter",)

    VALID = [
        Valid(
            """
            from fastapi import APIRouter, Request

            from backend.rate_limit import limiter

            router = APIRouter(prefix="/api/projects")

            @router.post("/{project_id}/plan")
            @limiter.limit("5/minute")
            async def plan(request: Request, project_id: str):
                return {"id": project_id}
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from slowapi import Limiter, _rate_limit_exceeded_handler
            from slowapi.errors import RateLimitExceeded
            from slowapi.util import get_remote_address

            limiter = Limiter(key_func=get_remote_address)
            app = FastAPI()
            app.state.limiter = limiter
            app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)

            @app.get("/health")
            async def health():
                return {"ok": True}
            """
        ),
        Valid(
            """
            from slowapi import Limiter
            from slowapi.util import get_remote_address

            limiter = Limiter(key_func=get_remote_address, default_limits=["120/minute"])
            """
        ),
        Valid(
            """
            from fastapi import APIRouter

            from myapp.throttle import Limiter

            router = APIRouter()
            throttle = Limiter(rate=10)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from fastapi import APIRouter, Request
            from slowapi import Limiter
            from slowapi.util import get_remote_address

            router = APIRouter(prefix="/api/projects", tags=["projects"])
            _limiter = Limiter(key_func=get_remote_address)

            @router.post("/{project_id}/plan")
            @_limiter.limit("5/minute")
            async def plan(request: Request, project_id: str):
                return {"id": project_id}
            """,
            line=6,
        ),
        Invalid(
            """
            import slowapi
            from fastapi import APIRouter

            router = APIRouter()
            limiter = slowapi.Limiter(key_func=lambda request: request.client.host)
            """,
            line=5,
        ),
        Invalid(
            """
            from slowapi import Limiter as RateLimiter
            from slowapi.util import get_remote_address

            limiter = RateLimiter(key_func=get_remote_address)

            @router.get("/search")
            @limiter.limit("30/minute")
            async def search(request):
                return []
            """,
            line=4,
        ),
        Invalid(
            """
            from flask import Blueprint
            from slowapi.extension import Limiter

            bp = Blueprint("auth", __name__)

            def make_limiter(key_func):
                return Limiter(key_func=key_func)
            """,
            line=7,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._calls: list[tuple[cst.Call, str]] = []
        self._route: str | None = None
        self._routers: set[str] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.context.qualified(node.func)
        if qualified in LIMITERS:
            self._calls.append((node, f"{self.context.dotted(node.func)}(...)"))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self._route is not None or not node.decorators:
            return
        if self._routers is None:
            self._routers, _ = web.module_routers(self.context.module)
        route = web.route_decorator(node, self._routers)
        if route is not None:
            self._route = f"it defines route {node.name.value}() with @{route}"

    def finish(self) -> None:
        if not self._calls:
            return
        routers, apps = web.module_routers(self.context.module)
        if apps:
            return
        if routers:
            why = f"it defines router `{sorted(routers)[0]}` and creates no app"
        elif self._route is not None:
            why = self._route
        else:
            return
        for node, call in self._calls:
            self.report(node, call=call, why=why)
