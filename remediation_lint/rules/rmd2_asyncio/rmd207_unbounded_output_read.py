from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.subprocesses import (
    AstProcessTracker,
    AstUndecidable,
    ProcessTracker,
    ast_call_command,
    ast_has_args,
    ast_has_star_kwargs,
    ast_is_pipe,
    ast_is_true,
    ast_keyword,
    ast_positional,
    ast_stream_of,
    call_command,
    has_star_kwargs,
    is_pipe,
    is_literal_command,
    is_true,
    keyword,
    positional,
    program_name,
    stream_of,
)
from remediation_lint.knowledge.subprocesses import SUBPROCESS_CAPTURING, SUBPROCESS_RUNNERS
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

#: runners that return the captured output however they are called (``getoutput`` has no stdout parameter)
_ALWAYS_CAPTURING = SUBPROCESS_CAPTURING | {"subprocess.getoutput", "subprocess.getstatusoutput"}


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._processes = AstProcessTracker(context)
        self._undecided = False

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._processes.enter_function()

    def leave_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._processes.leave_function()

    visit_AsyncFunctionDef = visit_FunctionDef
    leave_AsyncFunctionDef = leave_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        self._guard(self._processes.on_assign, node.targets, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._guard(self._processes.on_assign, [node.target], node.value)

    def visit_With(self, node: ast.With) -> None:
        self._guard(self._processes.on_with, node)

    visit_AsyncWith = visit_With

    def visit_Call(self, node: ast.Call) -> None:
        self._guard(self._call, node)

    def _guard(self, method, *args) -> None:
        if self._undecided:
            return
        try:
            method(*args)
        except AstUndecidable:
            self._undecided = True
            self.defer()

    def _call(self, node: ast.Call) -> None:
        ctx = self.context
        func = node.func
        if isinstance(func, ast.Attribute):
            method = func.attr
            if method == "communicate":
                info = self._processes.process_of(func.value)
                if info is not None and (info.stdout_piped or info.stderr_piped) and self._dynamic(info.literal):
                    receiver = ctx.dotted(func.value) or "process"
                    prefix = "await " if isinstance(ctx.parent(), ast.Await) else ""
                    self.report(node, what=f"{prefix}{receiver}.communicate()", cmd=_cmd(info.command))
                return
            if method in ("read", "readlines") and _ast_unbounded(node):
                found = ast_stream_of(self._processes, func.value)
                if found is not None and found[0].piped(found[1]) and self._dynamic(found[0].literal):
                    self.report(node, what=f"{ctx.dotted(func) or method}()", cmd=_cmd(found[0].command))
                return
        qualified = ctx.qualified(func)
        if qualified not in SUBPROCESS_RUNNERS:
            return
        if qualified in _ALWAYS_CAPTURING:
            what = f"{qualified}()"
        else:
            capture = ast_keyword(node, "capture_output")
            if capture is not None and ast_is_true(capture.value):
                what = f"{qualified}(capture_output=True)"
            elif any((kw := ast_keyword(node, s)) is not None and ast_is_pipe(ctx, kw.value) for s in ("stdout", "stderr")):
                what = f"{qualified}(stdout/stderr=PIPE)"
            else:
                return
        if ast_has_star_kwargs(node) and qualified not in _ALWAYS_CAPTURING:
            return
        words = ast_call_command(ctx, node, qualified, self._processes.literals)
        if not self._dynamic(is_literal_command(words)):
            return
        self.report(node, what=what, cmd=_cmd(program_name(words)))

    def _dynamic(self, literal: bool) -> bool:
        return not literal or bool(self.opts["report_literal_commands"])


def _ast_unbounded(call: ast.Call) -> bool:
    args = ast_positional(call)
    if args:
        size = args[0]
    else:
        kw = ast_keyword(call, "n") or ast_keyword(call, "size") or ast_keyword(call, "hint")
        if kw is None:
            return not ast_has_args(call)
        size = kw.value
    if isinstance(size, ast.UnaryOp) and isinstance(size.op, ast.USub):
        return True
    return isinstance(size, ast.Constant) and size.value is None


class UnboundedOutputRead(Rule):
    """Reading a child process's whole output into memory: a chatty or hostile command exhausts RAM.

    ## What it does
    Finds, for processes whose `stdout`/`stderr` is a pipe:

    - `await proc.communicate()` on an `asyncio.create_subprocess_exec/shell` process and
      `proc.communicate()` on a `subprocess.Popen`;
    - `proc.stdout.read()` / `proc.stderr.read()` (and `readlines()`) with no size;
    - `subprocess.run(...)`, `call`, `check_call` with `capture_output=True`, `stdout=PIPE` or
      `stderr=PIPE`, and `subprocess.check_output(...)`/`getoutput(...)`, which have no size bound.

    The process must be bound in the same function (or as `self.<attr>` in the same class); a receiver
    whose origin is unknown is not reported. Commands whose every argument is a string literal (a fixed
    query such as `["nvidia-smi", "--query-gpu=name"]` or `[nvidia_smi, "-L"]` with the program resolved
    by `shutil.which`) print a known, small amount and are only reported with
    the `report_literal_commands` option; commands built from variables (task commands, CLI skills with
    user arguments) are what the rule is for. Reads in bounded chunks (`read(n)`, `readline()` on an
    asyncio stream, which its `limit` bounds) and output sent to a file or `DEVNULL` are fine.

    ## Why is this bad?
    `communicate()` and friends buffer everything the command prints. A command that prints gigabytes
    (a runaway build, a hostile script, `npx` installing a package) takes the service down with it.
    khala's CLI executor (critical item 2, "CLI Executor DoS") read unlimited output this way, and
    TASKER's executors kept every command's full output in memory (item 7, OOM with large outputs).

    ## Fix
    Read the pipe in bounded chunks (`await proc.stdout.read(65536)` in a loop) and stop or truncate
    past a limit, or write the output to a temporary file (`stdout=tmpfile`) and keep only a tail.
    """

    code = "RMD207"
    ast_checker = _Fast
    name = "unbounded-output-read"
    message = "{what} reads all of {cmd}'s output into memory: read the pipe in bounded chunks (read(n)) or send it to a file"
    severity = Severity.CRITICAL
    provenance = (
        Provenance("000_18f8732ba4a86cc0.txt", "CRITICAL, item 2 (CLI Executor DoS: process.communicate() reads unlimited output)", "khala"),
        Provenance("003_a4879ce62f499f62.txt", "Medium priority, item 7 (full command output stored in memory)", "tasker"),
    )
    triggers = (b"subprocess",)
    options = {"report_literal_commands": False}
    option_docs = {
        "report_literal_commands": "also report commands whose every argument is a literal (fixed queries such as `nvidia-smi -L`)",
    }
    cwe = (400,)

    VALID = [
        Valid(
            """
            import asyncio

            MAX_OUTPUT = 1_000_000

            async def run_cli(args: list[str]) -> bytes:
                process = await asyncio.create_subprocess_exec(
                    "/usr/bin/node", *args, stdout=asyncio.subprocess.PIPE,
                )
                chunks, size = [], 0
                while chunk := await process.stdout.read(65536):
                    size += len(chunk)
                    if size > MAX_OUTPUT:
                        process.kill()
                        raise RuntimeError("output limit exceeded")
                    chunks.append(chunk)
                await asyncio.wait_for(process.wait(), timeout=60)
                return b"".join(chunks)
            """
        ),
        Valid(
            """
            import subprocess
            import tempfile

            def run_task(command: list[str]) -> str:
                with tempfile.TemporaryFile() as out:
                    subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False)
                    out.seek(0)
                    return out.read(4096).decode(errors="replace")
            """
        ),
        Valid(
            """
            import asyncio

            async def start_server(args):
                process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL)
                await process.communicate()
                return process.returncode
            """
        ),
        Valid(
            """
            import subprocess

            def stream(command, sink):
                proc = subprocess.Popen(command, stdout=subprocess.PIPE)
                for line in proc.stdout:
                    sink.write(line)
                return proc.wait(timeout=300)
            """
        ),
        Valid(
            """
            import subprocess

            def notify(command):
                return subprocess.run(command, check=True, timeout=30).returncode
            """
        ),
        Valid(
            """
            import subprocess

            def gpu_name() -> str:
                return subprocess.check_output(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], timeout=5).decode()

            def gpu_count(nvidia_smi: str) -> int:
                return len(subprocess.run([nvidia_smi, "-L"], capture_output=True, timeout=5).stdout.splitlines())
            """
        ),
        Valid(
            """
            class Pipe:
                def communicate(self):
                    return b""

            def talk(pipe: Pipe):
                return pipe.communicate()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio

            class CLIExecutor:
                async def execute(self, args: list[str]) -> str:
                    process = await asyncio.create_subprocess_exec(
                        "npx", *args,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=asyncio.subprocess.PIPE,
                    )
                    stdout, stderr = await process.communicate()
                    return stdout.decode()
            """,
            line=10,
        ),
        Invalid(
            """
            import subprocess

            def execute(command: str) -> str:
                result = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
                return result.stdout
            """,
            line=4,
        ),
        Invalid(
            """
            from subprocess import PIPE, Popen

            class BaseExecutor:
                def run(self, command):
                    proc = Popen(command, stdout=PIPE, stderr=PIPE)
                    out, err = proc.communicate(timeout=600)
                    return out
            """,
            line=6,
        ),
        Invalid(
            """
            import asyncio.subprocess as asp
            from asyncio import create_subprocess_shell

            async def tail(cmd):
                proc = await create_subprocess_shell(cmd, stdout=asp.PIPE)
                data = await proc.stdout.read()
                await proc.wait()
                return data
            """,
            line=6,
        ),
        Invalid(
            """
            import subprocess as sp

            def git_log(repo):
                return sp.check_output(["git", "-C", repo, "log"], timeout=30)
            """,
        ),
        Invalid(
            """
            import subprocess

            class Worker:
                def start(self, cmd):
                    self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)

                def collect(self):
                    return self._proc.stdout.read()
            """,
            line=8,
        ),
        Invalid(
            """
            import subprocess

            def journal() -> str:
                return subprocess.run(["journalctl", "-u", "tasker"], stdout=subprocess.PIPE, timeout=60).stdout
            """,
            options={"report_literal_commands": True},
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._processes = ProcessTracker(context)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._processes.enter_function()

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._processes.leave_function()

    def visit_Assign(self, node: cst.Assign) -> None:
        self._processes.on_assign([t.target for t in node.targets], node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._processes.on_assign([node.target], node.value)

    def visit_With(self, node: cst.With) -> None:
        self._processes.on_with(node)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "communicate":
                info = self._processes.process_of(func.value)
                if info is not None and (info.stdout_piped or info.stderr_piped) and self._dynamic(info.literal):
                    receiver = self.context.dotted(func.value) or "process"
                    prefix = "await " if isinstance(self.context.parent(), cst.Await) else ""
                    self.report(node, what=f"{prefix}{receiver}.communicate()", cmd=_cmd(info.command))
                return
            if method in ("read", "readlines") and _unbounded(node):
                found = stream_of(self._processes, func.value)
                if found is not None and found[0].piped(found[1]) and self._dynamic(found[0].literal):
                    self.report(node, what=f"{self.context.dotted(func) or method}()", cmd=_cmd(found[0].command))
                return
        qualified = self.context.qualified(func)
        if qualified not in SUBPROCESS_RUNNERS:
            return
        short = qualified
        if qualified in _ALWAYS_CAPTURING:
            what = f"{short}()"
        else:
            capture = keyword(node, "capture_output")
            if capture is not None and is_true(capture.value):
                what = f"{short}(capture_output=True)"
            elif any((arg := keyword(node, s)) is not None and is_pipe(self.context, arg.value) for s in ("stdout", "stderr")):
                what = f"{short}(stdout/stderr=PIPE)"
            else:
                return
        if has_star_kwargs(node) and qualified not in _ALWAYS_CAPTURING:
            return
        words = call_command(self.context, node, qualified, self._processes.literals)
        if not self._dynamic(is_literal_command(words)):
            return
        self.report(node, what=what, cmd=_cmd(program_name(words)))

    def _dynamic(self, literal: bool) -> bool:
        """Whether a command is reported: fixed commands only when ``report_literal_commands`` is set."""
        return not literal or bool(self.opts["report_literal_commands"])


def _cmd(command: str | None) -> str:
    return f"`{command}`" if command else "the command"


def _unbounded(call: cst.Call) -> bool:
    """``read()``, ``read(-1)``, ``read(None)``: no size limit."""
    args = positional(call)
    size = args[0].value if args else (keyword(call, "n") or keyword(call, "size") or keyword(call, "hint"))
    if size is None:
        return not call.args
    if isinstance(size, cst.Arg):
        size = size.value
    if isinstance(size, cst.UnaryOperation) and isinstance(size.operator, cst.Minus):
        return True
    return isinstance(size, cst.Name) and size.value == "None"
