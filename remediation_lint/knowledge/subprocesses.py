"""Process-spawning APIs: which calls run a child process, which wait for it, which capture its output."""

#: ``subprocess`` helpers that run a command to completion (they accept ``timeout=``)
SUBPROCESS_RUNNERS: frozenset[str] = frozenset(
    {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.getoutput",
     "subprocess.getstatusoutput"}
)

#: runners whose result is the captured stdout, whatever their keywords say
SUBPROCESS_CAPTURING: frozenset[str] = frozenset({"subprocess.check_output"})

#: ``subprocess`` helpers without a ``timeout`` parameter at all (reported with a different hint)
SUBPROCESS_NO_TIMEOUT_PARAM: frozenset[str] = frozenset({"subprocess.getoutput", "subprocess.getstatusoutput"})

#: constructors of a ``subprocess.Popen`` object
POPEN_CONSTRUCTORS: frozenset[str] = frozenset({"subprocess.Popen"})

#: coroutine functions returning an ``asyncio.subprocess.Process``
ASYNC_PROCESS_FACTORIES: frozenset[str] = frozenset(
    {"asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell",
     "asyncio.subprocess.create_subprocess_exec", "asyncio.subprocess.create_subprocess_shell"}
)

#: qualified names of the PIPE constant
PIPE_CONSTANTS: frozenset[str] = frozenset({"subprocess.PIPE", "asyncio.subprocess.PIPE", "asyncio.PIPE"})

#: calls that spawn a command given as a string or an argument list (first argument / all positionals)
COMMAND_RUNNERS: frozenset[str] = frozenset(
    SUBPROCESS_RUNNERS | POPEN_CONSTRUCTORS | ASYNC_PROCESS_FACTORIES | {"os.system", "os.popen"}
)

#: context managers / wrappers that put a deadline on an awaited call
ASYNC_DEADLINES: frozenset[str] = frozenset(
    {"asyncio.wait_for", "asyncio.timeout", "asyncio.timeout_at", "async_timeout.timeout", "async_timeout.timeout_at",
     "anyio.fail_after", "anyio.move_on_after", "trio.fail_after", "trio.move_on_after", "asyncio.wait"}
)
