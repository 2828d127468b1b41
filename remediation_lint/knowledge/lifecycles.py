"""Method names that start and release long-lived resources (databases, monitors, executors, clients)."""

#: methods that release a resource started earlier (called after a lifespan's ``yield``)
RELEASE_METHODS: frozenset[str] = frozenset(
    {
        "close", "aclose", "stop", "shutdown", "stop_background", "disconnect", "dispose", "terminate",
        "cleanup", "release", "teardown", "stop_all", "close_all", "quit", "unsubscribe", "wait_closed",
        "stop_polling", "shutdown_asyncgens",
    }
)

#: context managers that guarantee the release of everything registered on them
EXIT_STACKS: frozenset[str] = frozenset({"AsyncExitStack", "ExitStack"})
