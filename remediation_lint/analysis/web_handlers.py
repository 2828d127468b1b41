"""Which functions of a web module run on every request: route handlers, dependencies, middleware.

Shared by the configuration rules (RMD701 env reads per request, RMD708 rate limiters in route
modules). Everything here looks at one module only; a dependency defined in another module is not
recognised (no guess across modules).
"""

from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name

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


# -- the ``ast`` twins (the rules' fast path) ----------------------------------------------------------
# Same decisions on the standard library's ``ast`` tree; ``FunctionDef`` here means
# ``ast.FunctionDef``/``ast.AsyncFunctionDef`` (one LibCST ``FunctionDef``).


def _ast_dotted(node: ast.AST | None) -> str | None:
    return ast_dotted(node)


def ast_callee_last(call: ast.Call) -> str:
    return _last(_ast_dotted(call.func))


def ast_call_items(call: ast.Call) -> list[tuple[str | None, ast.expr]]:
    """(keyword or None, value) of a call's arguments in source order, like LibCST's ``Call.args``
    (``*x`` and ``**x`` give ``x``)."""
    items: list[tuple[str | None, ast.expr, ast.AST]] = [
        (None, a.value if isinstance(a, ast.Starred) else a, a) for a in call.args
    ]
    items.extend((k.arg, k.value, k) for k in call.keywords)
    if call.args and call.keywords:
        items.sort(key=lambda item: (item[2].lineno, item[2].col_offset))  # type: ignore[attr-defined]
    return [(key, value) for key, value, _ in items]


def ast_module_routers(tree: ast.Module) -> tuple[set[str], set[str]]:
    """``module_routers`` on an ``ast`` module."""
    routers: set[str] = set()
    apps: set[str] = set()
    for small in tree.body:
        if isinstance(small, (ast.Assign, ast.AnnAssign)) and isinstance(small.value, ast.Call):
            kind = ast_callee_last(small.value)
            if kind not in ROUTER_CLASSES:
                continue
            targets = small.targets if isinstance(small, ast.Assign) else [small.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    routers.add(target.id)
                    if kind in APP_CLASSES:
                        apps.add(target.id)
    return routers, apps


def ast_route_decorator(func: ast.FunctionDef | ast.AsyncFunctionDef, routers: set[str]) -> str | None:
    for expr in func.decorator_list:
        if not isinstance(expr, ast.Call) or not isinstance(expr.func, ast.Attribute):
            continue
        if expr.func.attr not in ROUTE_METHODS:
            continue
        receiver = _ast_dotted(expr.func.value)
        if receiver is None:
            continue
        if receiver in routers or _last(receiver) in ROUTER_NAMES:
            return f"{receiver}.{expr.func.attr}"
    return None


def ast_is_middleware_function(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "middleware"
        for expr in func.decorator_list
    )


def ast_is_cached(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for dec in func.decorator_list:
        expr = dec.func if isinstance(dec, ast.Call) else dec
        if _last(_ast_dotted(expr)) in CACHING_DECORATORS:
            return True
    return False


def ast_takes_request(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = [*zip(positional, defaults), *zip(args.kwonlyargs, args.kw_defaults)]
    for param, default in params:
        ann = param.annotation
        if ann is not None:
            if _last(_ast_dotted(ann)) in REQUEST_ANNOTATIONS:
                return True
            if isinstance(ann, ast.Subscript) and _last(_ast_dotted(ann.value)) == "Annotated":
                elements = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
                for inner in elements:
                    if isinstance(inner, ast.Call) and ast_callee_last(inner) in REQUEST_PARAM_DEFAULTS:
                        return True
        if isinstance(default, ast.Call) and ast_callee_last(default) in REQUEST_PARAM_DEFAULTS:
            return True
    return False


def ast_is_middleware_method(func: ast.FunctionDef | ast.AsyncFunctionDef, cls: ast.ClassDef | None) -> bool:
    if cls is None:
        return False
    if func.name == "dispatch":
        return any(
            _last(_ast_dotted(base.value if isinstance(base, ast.Starred) else base)) in MIDDLEWARE_BASES
            for base in cls.bases
        )
    if func.name == "__call__":
        names = [a.arg for a in func.args.args]
        return names[1:4] == ["scope", "receive", "send"]
    return False


def ast_dependency_targets(call: ast.Call) -> str | None:
    if ast_callee_last(call) not in ("Depends", "Security") or not (call.args or call.keywords):
        return None
    key, value = ast_call_items(call)[0]
    if key is not None and key != "dependency":
        return None
    return value.id if isinstance(value, ast.Name) else None
