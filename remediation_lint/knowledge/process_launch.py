"""Process-launching calls, where their program argument sits, and which go through a shell."""

#: qualified call -> index of the positional argument naming the program (or holding the argv / command)
PROGRAM_ARG: dict[str, int] = {
    "subprocess.run": 0, "subprocess.call": 0, "subprocess.check_call": 0, "subprocess.check_output": 0,
    "subprocess.Popen": 0, "subprocess.getoutput": 0, "subprocess.getstatusoutput": 0,
    "asyncio.create_subprocess_exec": 0, "asyncio.create_subprocess_shell": 0,
    "asyncio.subprocess.create_subprocess_exec": 0, "asyncio.subprocess.create_subprocess_shell": 0,
    "os.execlp": 0, "os.execlpe": 0, "os.execvp": 0, "os.execvpe": 0,
    "os.spawnlp": 1, "os.spawnlpe": 1, "os.spawnvp": 1, "os.spawnvpe": 1,
    "os.posix_spawnp": 0, "os.system": 0, "os.popen": 0,
}

#: calls whose command string is always run by a shell
ALWAYS_SHELL: frozenset[str] = frozenset(
    {
        "os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
        "asyncio.create_subprocess_shell", "asyncio.subprocess.create_subprocess_shell",
    }
)

#: calls that take ``shell=True``
SHELL_KEYWORD: frozenset[str] = frozenset(
    {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen"}
)

#: calls that search PATH for a bare program name (RMD103); os.system/popen too, through the shell
PATH_SEARCHING: frozenset[str] = frozenset(PROGRAM_ARG)
