"""Awaited calls that must stay one after another in a loop (RMD206).

Extend with the ``ordered_methods`` option of RMD206 (method names, matched on the last part of the
callee) and ``lifecycle_words`` (words of the callee's last name part).
"""

#: methods whose calls must keep their order or share one connection/stream: sends and writes on a
#: stream or socket, queue puts, and statements on one database connection or session (which cannot
#: run concurrent queries)
ORDERED_METHODS: frozenset[str] = frozenset(
    {
        # streams, sockets, websockets, message buses
        "send", "send_json", "send_text", "send_bytes", "sendall", "send_multipart", "send_string",
        "write", "writelines", "drain", "publish", "emit", "put", "put_nowait", "enqueue",
        # one database connection/session at a time
        "execute", "executemany", "executescript", "fetch", "fetchrow", "fetchval", "fetchone", "fetchall",
        "fetchmany", "commit", "rollback", "flush", "refresh", "merge", "add", "delete", "scalar", "scalars",
        "copy_records_to_table",
        # synchronisation primitives and timers
        "acquire", "release", "wait", "sleep", "join",
    }
)

#: words in a callee's name (split on ``_``) that mark a lifecycle, interactive or write step: closing,
#: cleaning up, starting or stopping things one by one is usually ordered on purpose, and so is asking
#: a user one question after another or writing rows
LIFECYCLE_WORDS: frozenset[str] = frozenset(
    {
        "close", "aclose", "closed", "clean", "cleanup", "shutdown", "stop", "start", "startup", "cancel",
        "teardown", "dispose", "release", "disconnect", "terminate", "kill", "unregister", "unsubscribe",
        "serve", "server", "reload", "restart", "migrate", "elicit", "confirm", "input", "ask",
        # data writes: one row per statement is RMD504's business (batch them), and their order can matter
        "save", "insert", "upsert", "store", "persist", "update", "delete", "remove",
    }
)

#: modules whose awaited functions organise concurrency themselves (``asyncio.gather`` per batch,
#: ``asyncio.sleep``, ``asyncio.wait``): an await of one of them in a loop is not the bug
CONCURRENCY_MODULES: frozenset[str] = frozenset({"asyncio", "anyio", "trio"})
