"""Calls that block the thread they run on: in a coroutine they stall the whole event loop (RMD204).

Extend with the ``extra_blocking_calls`` option of RMD204 (qualified names, e.g. ``mylib.sync_fetch``).
"""

#: ``time.sleep``: fixed to ``await asyncio.sleep`` (same meaning, without blocking)
SLEEP_CALLS: frozenset[str] = frozenset({"time.sleep"})

#: qualified module-level functions that block, with a short description for the message
BLOCKING_FUNCTIONS: dict[str, str] = {
    "urllib.request.urlopen": "HTTP request",
    "urllib.request.urlretrieve": "HTTP download",
    **{f"requests.{m}": "HTTP request" for m in ("get", "post", "put", "patch", "delete", "head", "options", "request")},
    **{f"httpx.{m}": "HTTP request" for m in ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")},
    "open": "file I/O",
    "io.open": "file I/O",
    "sqlite3.connect": "SQLite I/O",
    "subprocess.run": "subprocess",
    "subprocess.call": "subprocess",
    "subprocess.check_call": "subprocess",
    "subprocess.check_output": "subprocess",
    "os.system": "subprocess",
    "alembic.command.upgrade": "database migration",
    "alembic.command.downgrade": "database migration",
    "alembic.command.stamp": "database migration",
    "shutil.copyfile": "file I/O",
    "shutil.copytree": "file I/O",
    "shutil.rmtree": "file I/O",
    "socket.create_connection": "socket connect",
    "socket.getaddrinfo": "DNS lookup",
    "socket.gethostbyname": "DNS lookup",
}

#: functions that give no fix: the result is used synchronously afterwards (``with open(...) as f``)
NO_FIX_FUNCTIONS: frozenset[str] = frozenset({"open", "io.open", "sqlite3.connect", "socket.create_connection"})

#: ``pathlib.Path`` methods that read or write the file (flagged on any receiver unless awaited:
#: ``anyio.Path``/``aiopath`` have awaitable methods of the same names)
PATH_IO_METHODS: frozenset[str] = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})

#: constructors of objects whose methods block, and those methods
BLOCKING_OBJECTS: dict[str, tuple[str, frozenset[str]]] = {
    "sqlite3.connect": ("SQLite I/O", frozenset({"execute", "executemany", "executescript", "commit", "backup"})),
    "httpx.Client": ("HTTP request", frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream"})),
    "requests.Session": ("HTTP request", frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send"})),
    "requests.session": ("HTTP request", frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send"})),
    "socket.socket": ("socket I/O", frozenset({"recv", "recv_into", "recvfrom", "accept", "connect", "sendall"})),
    "socket.create_connection": ("socket I/O", frozenset({"recv", "recv_into", "recvfrom", "sendall"})),
}

#: calls that run their callable argument off the event loop
OFFLOADERS: frozenset[str] = frozenset({"asyncio.to_thread", "anyio.to_thread.run_sync", "starlette.concurrency.run_in_threadpool"})
OFFLOADER_METHODS: frozenset[str] = frozenset({"run_in_executor", "submit", "run_sync"})
