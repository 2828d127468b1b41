"""Which functions of a web module run on every request: route handlers, dependencies, middleware.

Shared by the configuration rules (RMD701 env reads per request, RMD708 rate limiters in route
modules). Everything here looks at one module only; a dependency defined in another module is not
recognised (no guess across modules).
"""

from __future__ import annotations

import libcst as cst

from remediation_lint.analysis.names import dotted_name

#: HTTP method decorators of FastAPI/Starlette/Flask/Quart/Sanic routers and apps
ROUTE_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route", "route", "websocket", "websocket_route"}
)
#: constructors whose instances register routes
ROUTER_CLASSES = frozenset({"APIRouter", "FastAPI", "Flask", "Blueprint", "Starlette", "Router", "Sanic", "Quart"})
#: constructors of the application object itself (not of a router)
APP_CLASSES = frozenset({"FastAPI", "Flask", "Starlette", "Sanic", "Quart"})
#: names conventionally bound to a router or app, recognised even when the constructor is elsewhere
ROUTER_NAMES = frozenset({"app", "router", "api_router", "api", "bp", "blueprint", "routes"})
#: parameter defaults that make a function a request-time dependency
REQUEST_PARAM_DEFAULTS = frozenset({"Depends", "Security", "Header", "Cookie", "Query", "Body", "Form", "Path"})
#: parameter annotations that make a function run per request
REQUEST_ANNOTATIONS = frozenset({"Request", "WebSocket", "HTTPConnection"})
#: base classes of HTTP middleware whose ``dispatch`` runs per request
MIDDLEWARE_BASES = frozenset({"BaseHTTPMiddleware"})
#: decorators that make a function run once (a cached settings factory)
CACHING_DECORATORS = frozenset({"lru_cache", "cache", "cached"})


def _last(dotted: str | None) -> str:
    return (dotted or "").rsplit(".", 1)[-1]


def callee_last(call: cst.Call) -> str:
    return _last(dotted_name(call.func))


def module_routers(module: cst.Module) -> tuple[set[str], set[str]]:
    """Names bound at module level to a router/app constructor, and those bound to an app constructor."""
    routers: set[str] = set()
    apps: set[str] = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(small.value, cst.Call):
                kind = callee_last(small.value)
                if kind not in ROUTER_CLASSES:
                    continue
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                for target in targets:
                    if isinstance(target, cst.Name):
                        routers.add(target.value)
                        if kind in APP_CLASSES:
                            apps.add(target.value)
    return routers, apps


def route_decorator(func: cst.FunctionDef, routers: set[str]) -> str | None:
    """``router.get`` when ``func`` is decorated as a route of a known router/app, else None."""
    for dec in func.decorators:
        expr = dec.decorator
        if not isinstance(expr, cst.Call) or not isinstance(expr.func, cst.Attribute):
            continue
        if expr.func.attr.value not in ROUTE_METHODS:
            continue
        receiver = dotted_name(expr.func.value)
        if receiver is None:
            continue
        if receiver in routers or _last(receiver) in ROUTER_NAMES:
            return f"{receiver}.{expr.func.attr.value}"
    return None


def is_middleware_function(func: cst.FunctionDef) -> bool:
    """``@app.middleware("http")`` functions."""
    for dec in func.decorators:
        expr = dec.decorator
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "middleware":
            return True
    return False


def is_cached(func: cst.FunctionDef) -> bool:
    for dec in func.decorators:
        expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if _last(dotted_name(expr)) in CACHING_DECORATORS:
            return True
    return False


def takes_request(func: cst.FunctionDef) -> bool:
    """A parameter annotated ``Request``/``WebSocket`` or defaulting to ``Depends(...)``/``Header(...)``..."""
    params = func.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.annotation is not None:
            ann = param.annotation.annotation
            if _last(dotted_name(ann)) in REQUEST_ANNOTATIONS:
                return True
            # Annotated[str, Depends(...)]
            if isinstance(ann, cst.Subscript) and _last(dotted_name(ann.value)) == "Annotated":
                for el in ann.slice:
                    inner = getattr(el.slice, "value", None)
                    if isinstance(inner, cst.Call) and callee_last(inner) in REQUEST_PARAM_DEFAULTS:
                        return True
        if isinstance(param.default, cst.Call) and callee_last(param.default) in REQUEST_PARAM_DEFAULTS:
            return True
    return False


def is_middleware_method(func: cst.FunctionDef, cls: cst.ClassDef | None) -> bool:
    """``dispatch`` of a ``BaseHTTPMiddleware`` subclass, or ASGI ``__call__(self, scope, receive, send)``."""
    if cls is None:
        return False
    name = func.name.value
    if name == "dispatch":
        return any(_last(dotted_name(base.value)) in MIDDLEWARE_BASES for base in cls.bases)
    if name == "__call__":
        names = [p.name.value for p in func.params.params]
        return names[1:4] == ["scope", "receive", "send"]
    return False


def dependency_targets(call: cst.Call) -> str | None:
    """The function name in ``Depends(name)`` / ``Security(name, ...)``, else None."""
    if callee_last(call) not in ("Depends", "Security") or not call.args:
        return None
    first = call.args[0]
    if first.keyword is not None and first.keyword.value != "dependency":
        return None
    value = first.value
    return value.value if isinstance(value, cst.Name) else None
