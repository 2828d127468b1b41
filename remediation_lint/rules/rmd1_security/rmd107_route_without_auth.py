from __future__ import annotations

import ast
import re

import libcst as cst

from remediation_lint.analysis.fastapi_auth import (
    AUTH,
    NOT_AUTH,
    UNKNOWN,
    AuthResolver,
    Route,
    dependency_call_target,
    keyword,
    last_part,
    list_dependencies,
    module_routers,
    route_of,
    scan_body,
)
from remediation_lint.analysis.names import ast_dotted
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.web_auth import ADMIN_DEPENDENCIES, AUTH_DEPENDENCIES, PUBLIC_PATHS, ROUTE_METHODS, ROUTER_CLASSES
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")
#: strings in a handler body that show it authenticates by hand
_MANUAL_AUTH = ("authorization", "x-api-key", "api-key")
#: calls that show a handler validates a credential by hand
_MANUAL_AUTH_CALLS = ("decode_token", "decode_access_token", "validate_token", "verify_jwt", "check_api_key")


class _Fast(AstChecker):
    """A precise screen for the rule below, which reports only about the routes of a module: it defers to
    LibCST exactly when a function is registered with ``@<router>.<method>(...)`` on a module-level
    ``APIRouter(...)``/``FastAPI(...)``; a module without routes has nothing to report."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._routers: set[str] | None = None
        self._done = False

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if self._done or not node.decorator_list:
            return
        if self._routers is None:
            routers: set[str] = set()
            for stmt in self.context.tree.body:
                if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and isinstance(stmt.value, ast.Call):
                    if last_part(ast_dotted(stmt.value.func)) in ROUTER_CLASSES:
                        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                        routers.update(t.id for t in targets if isinstance(t, ast.Name))
            self._routers = routers
        if not self._routers:
            self._done = True
            return
        for dec in node.decorator_list:
            if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr in ROUTE_METHODS:
                if ast_dotted(dec.func.value) in self._routers:
                    self.defer()
                    self._done = True
                    return

    visit_AsyncFunctionDef = visit_FunctionDef


class RouteWithoutAuth(Rule):
    """A FastAPI route without an auth dependency in an app whose other routes require one.

    ## What it does
    Looks at every `@router.<method>(path)` / `@app.<method>(path)` handler of a module. A handler is
    authenticated when one of its parameters is `Depends(<auth dependency>)` or `Security(...)` (also
    through `Annotated[..., Depends(...)]` and module-level `Annotated` aliases), when its decorator
    passes `dependencies=[Depends(<auth>)]`, when its router is built with `APIRouter(dependencies=[...])`,
    or when the app module includes the router with `app.include_router(router, dependencies=[...])`.
    A dependency that itself depends on an auth dependency counts, followed through the project.

    It reports, on the handler's `def` line:

    - handlers with no auth at all, in an app where other routes use auth (the same module, or
      another router included by the same app). Paths in the public allow-list (`/health`, `/login`,
      `/register`, `/docs`, ...) are left alone;
    - handlers that take an object id in their path (`/projects/{project_id}`) and receive the
      current user, but never use it: ownership of the object is never checked.

    A dependency that cannot be resolved (a third-party callable, an instance) may authenticate, so the
    handler is not reported.

    ## Why is this bad?
    The Orchestration Engine's review (plan items 1.2 and 1.3) found that `projects.py`, `tasks.py`,
    `usage.py` and `services.py` had no auth dependency at all, while `auth.py`'s `/me` had one: any
    unauthenticated request could create, read and delete projects and start paid LLM executions. Once
    auth was added, any authenticated user could still read or modify any other user's project,
    because the `owner_id` column was never checked.

    ## Fix
    Add `current_user: dict = Depends(get_current_user)` to every endpoint (or declare the router
    with `dependencies=[Depends(get_current_user)]`), and check ownership of path objects through a
    shared helper such as `_get_owned_project(db, project_id, current_user)` that raises 403/404.
    """

    code = "RMD107"
    ast_checker = _Fast
    name = "route-without-auth"
    message = "route {method} {path}: {func}() has no auth dependency while other routes use {auth}: add Depends({auth})"
    severity = Severity.CRITICAL
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 1, item 1.2 (add auth to all unprotected routes)", "orchestration_engine"),
        Provenance("001_0845f576a88221b4.txt", "Phase 1, item 1.3 (project/task ownership enforcement)", "orchestration_engine"),
    )
    triggers = (b"Depends", b"Security", b"include_router", b"APIRouter")
    needs_project = True
    cwe = (306, 639)
    options = {
        "auth_dependencies": AUTH_DEPENDENCIES,
        "admin_dependencies": ADMIN_DEPENDENCIES,
        "public_paths": PUBLIC_PATHS,
        "owned_id_pattern": r"(^|_)id$",
    }
    option_docs = {
        "auth_dependencies": "names of dependencies that authenticate the caller (the last part of the dotted name)",
        "admin_dependencies": "auth dependencies that restrict to administrators (no ownership check expected)",
        "public_paths": "paths that are public by design; a route matches when its path equals one or ends with it",
        "owned_id_pattern": "regular expression for path parameters that name an owned object",
    }

    VALID = [
        Valid(
            """
            from fastapi import APIRouter, Depends, HTTPException

            from backend.middleware.auth import get_current_user

            router = APIRouter(prefix="/api/projects")

            async def _get_owned_project(db, project_id: str, user: dict):
                row = await db.fetch_one("SELECT * FROM projects WHERE id = ?", (project_id,))
                if row is None or (row["owner_id"] != user["id"] and user["role"] != "admin"):
                    raise HTTPException(status_code=404, detail="Project not found")
                return row

            @router.get("")
            async def list_projects(current_user: dict = Depends(get_current_user)):
                return []

            @router.get("/{project_id}")
            async def get_project(project_id: str, current_user: dict = Depends(get_current_user)):
                return await _get_owned_project(None, project_id, current_user)
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, Depends

            from backend.middleware.auth import get_current_user

            router = APIRouter(prefix="/api/services", dependencies=[Depends(get_current_user)])

            @router.get("")
            async def list_services():
                return []

            @router.post("/{name}/restart")
            async def restart_service(name: str):
                return {"restarted": name}
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, Depends

            from backend.middleware.auth import get_current_user

            router = APIRouter(prefix="/api/auth")

            @router.post("/login")
            async def login(body: dict):
                return {"access_token": "..."}

            @router.post("/register")
            async def register(body: dict):
                return {"ok": True}

            @router.get("/me")
            async def me(current_user: dict = Depends(get_current_user)):
                return current_user

            @router.get("/health")
            async def health():
                return {"status": "ok"}
            """
        ),
        Valid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends

            from backend.middleware.auth import get_current_user

            CurrentUser = Annotated[dict, Depends(get_current_user)]
            router = APIRouter()

            def get_owner(user: CurrentUser) -> dict:
                return user

            @router.get("/items")
            async def list_items(user: CurrentUser):
                return user["items"]

            @router.get("/mine")
            async def mine(owner: dict = Depends(get_owner)):
                return owner
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, Depends

            from somewhere_external import session_guard
            from backend.middleware.auth import require_admin

            router = APIRouter()

            @router.get("/usage/budget")
            async def budget(admin: dict = Depends(require_admin)):
                return {}

            @router.get("/usage/{project_id}")
            async def usage_for(project_id: str, guard=Depends(session_guard)):
                return {}

            @router.delete("/usage/{usage_id}", dependencies=[Depends(require_admin)])
            async def delete_usage(usage_id: str):
                return {}
            """
        ),
        Valid(
            """
            from fastapi import APIRouter

            router = APIRouter()

            @router.get("/ping")
            async def ping():
                return "pong"

            @router.get("/items")
            async def items():
                return []
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from fastapi import APIRouter, Depends

            from backend.middleware.auth import get_current_user

            router = APIRouter(prefix="/api/projects")

            @router.get("/me")
            async def me(current_user: dict = Depends(get_current_user)):
                return current_user

            @router.delete("/{project_id}")
            async def delete_project(project_id: str):
                return {"deleted": project_id}
            """,
            line=12,
        ),
        Invalid(
            """
            from fastapi import APIRouter, Depends

            from backend.middleware.auth import get_current_user

            router = APIRouter()

            @router.get("/projects/{project_id}")
            async def get_project(project_id: str, current_user: dict = Depends(get_current_user)):
                return {"id": project_id}
            """,
            line=8,
        ),
        Invalid(
            """
            import fastapi

            from backend.middleware import auth

            app = fastapi.FastAPI()

            def get_db():
                yield None

            @app.get("/me")
            def me(user=fastapi.Depends(auth.get_current_user)):
                return user

            @app.post("/tasks")
            def create_task(body: dict, db=fastapi.Depends(get_db)):
                return body
            """,
            line=15,
        ),
        Invalid(
            """
            from fastapi import APIRouter, Depends, Security

            from backend.middleware.auth import oauth2_scheme

            router = APIRouter()

            @router.get("/me")
            def me(token: str = Security(oauth2_scheme)):
                return token

            @router.get("/usage")
            def usage_summary():
                return {}

            @router.post("/usage/reset")
            def reset_usage():
                return {}
            """,
            line=12,
            count=2,
        ),
        Invalid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends

            from backend.middleware.auth import get_current_user

            router = APIRouter()

            def get_active_user(user: Annotated[dict, Depends(get_current_user)]) -> dict:
                return user

            @router.get("/tasks/{task_id}")
            async def get_task(task_id: str, user: dict = Depends(get_active_user)):
                return {"id": task_id}
            """,
            line=13,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._routers: dict[str, cst.Call] | None = None
        self._resolver: AuthResolver | None = None
        #: (route, verdict) for every handler of the module
        self._routes: list[tuple[Route, str]] = []
        self._owned = re.compile(self.opts["owned_id_pattern"])

    @property
    def resolver(self) -> AuthResolver:
        if self._resolver is None:
            names = (*self.opts["auth_dependencies"], *self.opts["admin_dependencies"])
            self._resolver = AuthResolver(self.context, names)
        return self._resolver

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not node.decorators:
            return
        if self._routers is None:
            self._routers = module_routers(self.context.module)
        route = route_of(node, self._routers)
        if route is None:
            return
        self._routes.append((route, self._check_handler(route)))

    def _check_handler(self, route: Route) -> str:
        """AUTH / NOT_AUTH / UNKNOWN for the handler itself (router-level auth is decided at the end)."""
        resolver = self.resolver
        verdict = NOT_AUTH
        user_params: list[str] = []
        for param in resolver_params(route.func):
            dep = resolver.param_dependency(param)
            if dep is None:
                if resolver.annotation_is_unknown_alias(param):
                    verdict = UNKNOWN if verdict != AUTH else verdict
                continue
            marker, target = dependency_call_target(dep)  # type: ignore[misc]
            result = resolver.classify_expr(target, marker)
            if result == AUTH:
                verdict = AUTH
                name = last_part(self.context.dotted(target)) if target is not None else ""
                if name not in self.opts["admin_dependencies"]:
                    user_params.append(param.name.value)
            elif result == UNKNOWN and verdict != AUTH:
                verdict = UNKNOWN
        deps = keyword(route.decorator_call, "dependencies")
        if deps is not None:
            calls = list_dependencies(deps)
            if calls is None:
                if verdict != AUTH:
                    verdict = UNKNOWN
            else:
                for call in calls:
                    marker, target = dependency_call_target(call)  # type: ignore[misc]
                    result = resolver.classify_expr(target, marker)
                    if result == AUTH:
                        verdict = AUTH
                    elif result == UNKNOWN and verdict != AUTH:
                        verdict = UNKNOWN
        id_params = [p for p in _PATH_PARAM.findall(route.path or "") if self._owned.search(p)]
        scan = scan_body(route.func, user_params, (*resolver.auth_names, *_MANUAL_AUTH_CALLS))
        if verdict != AUTH:
            if scan.called or any(marker in s for s in scan.strings for marker in _MANUAL_AUTH):
                return UNKNOWN  # authenticates by hand
            return verdict
        if id_params and user_params and not scan.used:
            full = _full_path((self._routers or {}).get(route.owner), route.path) or route.path
            self.report(
                route.func.name,
                f"route {_method_label(route)} {full}: {route.func.name.value}() takes {{{id_params[0]}}} but never uses "
                f"{user_params[0]}: check that the current user owns the object (403/404 otherwise)",
            )
        return AUTH

    def finish(self) -> None:
        if not self._routes:
            return
        routers = self._routers or {}
        authed_owners: set[str] = set()
        unknown_owners: set[str] = set()
        for owner, call in routers.items():
            deps = keyword(call, "dependencies")
            if deps is None:
                continue
            calls = list_dependencies(deps)
            if calls is None:
                unknown_owners.add(owner)
                continue
            for dep in calls:
                marker, target = dependency_call_target(dep)  # type: ignore[misc]
                result = self.resolver.classify_expr(target, marker)
                if result == AUTH:
                    authed_owners.add(owner)
                elif result == UNKNOWN:
                    unknown_owners.add(owner)
        # routers included elsewhere with dependencies; siblings included by the same app
        sibling_auth = False
        resolver = self.resolver
        ref = resolver.ref
        if ref is not None and self.context.project is not None:
            includes = resolver.includes()
            here = ref.path
            includers = set()
            for inc in includes:
                if inc.target is None or inc.target[0] != here:
                    continue
                includers.add(inc.includer)
                if inc.auth == AUTH:
                    authed_owners.add(inc.target[1])
                elif inc.auth == UNKNOWN:
                    unknown_owners.add(inc.target[1])
            for inc in includes:
                if inc.includer in includers and inc.target is not None and inc.target[0] != here:
                    if inc.auth == AUTH or resolver.module_has_auth_route(inc.target[0]):
                        sibling_auth = True
                        break
        module_auth = any(verdict == AUTH for route, verdict in self._routes if route.owner not in authed_owners)
        module_auth = module_auth or bool(authed_owners)
        if not (module_auth or sibling_auth):
            return
        auth_name = self.opts["auth_dependencies"][0] if self.opts["auth_dependencies"] else "auth"
        for route, verdict in self._routes:
            if verdict != NOT_AUTH or route.owner in authed_owners or route.owner in unknown_owners:
                continue
            full = _full_path(routers.get(route.owner), route.path)
            if full is None or self._is_public(full):
                continue
            self.report(
                route.func.name,
                method=_method_label(route),
                path=full,
                func=route.func.name.value,
                auth=auth_name,
            )

    def _is_public(self, path: str) -> bool:
        path = path.rstrip("/") or "/"
        for public in self.opts["public_paths"]:
            public = public.rstrip("/") or "/"
            if path == public or (public != "/" and (path.endswith(public) or path.startswith(public + "/"))):
                return True
        return False


def _method_label(route: Route) -> str:
    if route.method == "api_route":
        methods = keyword(route.decorator_call, "methods")
        if isinstance(methods, (cst.List, cst.Tuple)):
            names = [e.value.evaluated_value for e in methods.elements if isinstance(e.value, cst.SimpleString)]
            if names and all(isinstance(n, str) for n in names):
                return "/".join(n.upper() for n in names)
        return "ROUTE"
    return route.method.upper()


def resolver_params(func: cst.FunctionDef) -> list[cst.Param]:
    p = func.params
    return [*p.posonly_params, *p.params, *p.kwonly_params]


def _full_path(router_call: cst.Call | None, path: str | None) -> str | None:
    if path is None:
        return None
    prefix = ""
    if router_call is not None:
        value = keyword(router_call, "prefix")
        if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
            prefix = value.evaluated_value
        elif value is not None:
            return path or "/"  # the prefix is not a literal: the route's own path still names it
    return (prefix + path) or "/"
