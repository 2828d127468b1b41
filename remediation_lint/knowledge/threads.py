"""Names of the threading, pool and locking APIs the RMD3xx rules recognise."""

#: qualified constructors whose ``target=`` runs on a new dedicated thread
THREAD_CLASSES: frozenset[str] = frozenset({"threading.Thread", "threading.Timer"})

#: bases that make a class's ``run`` method a thread body
THREAD_BASES: frozenset[str] = frozenset({"threading.Thread"})

#: constructors of thread pools (their workers share the process's memory)
THREAD_POOLS: frozenset[str] = frozenset(
    {
        "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.thread.ThreadPoolExecutor",
        "multiprocessing.pool.ThreadPool",
        "multiprocessing.dummy.Pool",
    }
)

#: constructors of process pools (their workers get a copy of the state)
PROCESS_POOLS: frozenset[str] = frozenset(
    {
        "concurrent.futures.ProcessPoolExecutor",
        "concurrent.futures.process.ProcessPoolExecutor",
        "multiprocessing.Pool",
        "multiprocessing.pool.Pool",
    }
)

#: pool methods whose first argument is the function run on a worker
POOL_SUBMIT_METHODS: frozenset[str] = frozenset(
    {"submit", "map", "imap", "imap_unordered", "apply_async", "map_async", "starmap", "starmap_async", "apply"}
)

#: functions that run their first argument on the default thread pool
TO_THREAD_FUNCTIONS: frozenset[str] = frozenset({"asyncio.to_thread"})

#: constructors of locks (``with <lock>:`` guards a critical section)
LOCK_CLASSES: frozenset[str] = frozenset(
    {
        "threading.Lock", "threading.RLock", "threading.Condition", "threading.Semaphore",
        "threading.BoundedSemaphore", "asyncio.Lock", "asyncio.Condition", "asyncio.Semaphore",
        "asyncio.BoundedSemaphore", "multiprocessing.Lock", "multiprocessing.RLock",
    }
)

#: constructors of objects that are safe to share between threads without a lock
THREAD_SAFE_CONTAINERS: frozenset[str] = frozenset(
    {
        "queue.Queue", "queue.SimpleQueue", "queue.LifoQueue", "queue.PriorityQueue",
        "multiprocessing.Queue", "collections.deque", "threading.local",
    }
)

#: event constructors (a stop signal)
EVENT_CLASSES: frozenset[str] = frozenset({"threading.Event", "multiprocessing.Event"})

#: methods that mutate a list/dict/set in place
MUTATING_METHODS: frozenset[str] = frozenset(
    {
        "append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "popitem",
        "add", "discard", "sort", "reverse", "appendleft", "popleft", "extendleft",
    }
)

#: substrings of a name that make ``with <name>:`` a lock
LOCK_NAME_HINTS: tuple[str, ...] = ("lock", "mutex", "semaphore", "_sem", "cond")

#: substrings of a name that make an event/flag a stop signal
STOP_NAME_HINTS: tuple[str, ...] = (
    "stop", "shutdown", "exit", "quit", "terminat", "kill", "cancel", "halt", "close", "running", "alive", "done",
)

#: names of methods that stop a component
STOP_METHOD_PREFIXES: tuple[str, ...] = (
    "stop", "close", "shutdown", "terminate", "teardown", "cleanup", "dispose", "__exit__", "__aexit__", "__del__",
)
