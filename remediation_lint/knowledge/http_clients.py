"""HTTP client/session constructors: objects that own a connection pool and are meant to be shared."""

#: qualified constructor names of pooled HTTP clients
HTTP_CLIENT_CONSTRUCTORS: frozenset[str] = frozenset(
    {
        "httpx.AsyncClient", "httpx.Client",
        "requests.Session", "requests.session", "requests.sessions.Session",
        "aiohttp.ClientSession", "aiohttp.client.ClientSession",
        "urllib3.PoolManager", "urllib3.poolmanager.PoolManager",
    }
)

#: functions that run once per object or per process, where creating a client is the right thing
SETUP_FUNCTIONS: frozenset[str] = frozenset(
    {
        "__init__", "__post_init__", "__aenter__", "__enter__", "__new__", "setup", "setUp", "asyncSetUp",
        "start", "startup", "on_startup", "open", "connect", "lifespan", "create_app", "main", "init", "initialize",
    }
)
