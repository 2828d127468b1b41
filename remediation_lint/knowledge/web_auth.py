"""Names of authentication dependencies, public paths and credential-like identifiers (RMD107-RMD113).

Rules take these as option defaults; configuration extends or replaces them.
"""

from __future__ import annotations

#: FastAPI dependencies that authenticate the caller (their result is the current user/principal)
AUTH_DEPENDENCIES = (
    "get_current_user",
    "get_current_active_user",
    "get_current_admin",
    "get_current_superuser",
    "get_user_from_token_param",
    "require_user",
    "require_auth",
    "require_admin",
    "current_user",
    "current_active_user",
    "verify_token",
    "verify_api_key",
    "authenticate",
    "auth_required",
    "login_required",
)

#: auth dependencies that also restrict to administrators: no per-object ownership check is expected
ADMIN_DEPENDENCIES = ("require_admin", "get_current_admin", "get_current_superuser", "admin_required")

#: paths that are public by design (matched against the full path or its last segments)
PUBLIC_PATHS = (
    "/",
    "/health",
    "/healthz",
    "/readyz",
    "/livez",
    "/ping",
    "/status",
    "/version",
    "/metrics",
    "/login",
    "/logout",
    "/register",
    "/signup",
    "/token",
    "/refresh",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/forgot-password",
    "/reset-password",
    "/verify-email",
)

#: HTTP method decorators of FastAPI routers and apps
ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route", "websocket"})

#: constructors whose instances register FastAPI routes
ROUTER_CLASSES = frozenset({"APIRouter", "FastAPI"})

#: FastAPI parameter markers that wrap a dependency
DEPENDENCY_MARKERS = frozenset({"Depends", "Security"})

#: parameter / key names that carry a bearer credential
TOKEN_PARAM_NAMES = ("token", "access_token", "api_key", "apikey", "jwt", "auth_token", "id_token", "refresh_token", "session_token", "bearer")
