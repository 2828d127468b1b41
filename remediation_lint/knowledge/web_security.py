"""Names for the web-security rules of the RMD1xx family (CORS, fail-open auth, secrets)."""

#: qualified names of the CORS middleware class (Starlette, re-exported by FastAPI)
CORS_MIDDLEWARE: frozenset[str] = frozenset(
    {
        "starlette.middleware.cors.CORSMiddleware",
        "fastapi.middleware.cors.CORSMiddleware",
        "fastapi.middleware.CORSMiddleware",
    }
)

#: wrappers that take the middleware class as first argument
MIDDLEWARE_WRAPPERS: frozenset[str] = frozenset({"starlette.middleware.Middleware", "fastapi.middleware.Middleware"})

#: flask-cors entry points
FLASK_CORS: frozenset[str] = frozenset({"flask_cors.CORS", "flask_cors.cross_origin"})

#: the explicit lists the RMD104 fix writes instead of ``["*"]``
SAFE_METHODS: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SAFE_HEADERS: tuple[str, ...] = ("Authorization", "Content-Type")

#: regular expressions that match every origin
WILDCARD_ORIGIN_REGEXES: frozenset[str] = frozenset({".*", "^.*$", ".+", "^.+$", "https?://.*", "^https?://.*$"})
