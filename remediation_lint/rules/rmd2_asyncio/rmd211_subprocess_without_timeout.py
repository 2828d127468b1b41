from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.subprocesses import (
    AstProcessTracker,
    AstUndecidable,
    ProcessTracker,
    ast_block_of,
    ast_call_command,
    ast_has_star_kwargs,
    ast_is_compound,
    ast_is_suite,
    ast_keyword,
    ast_positional,
    ast_statement_lines,
    ast_under_async_deadline,
    call_command,
    has_star_kwargs,
    keyword,
    positional,
    program_name,
    under_async_deadline,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

#: ``subprocess`` runners that take ``timeout=``
_RUNNERS = frozenset({"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output"})


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
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("wait", "communicate"):
            self._check_wait(node, func)
            return
        qualified = self.context.qualified(func)
        if qualified not in _RUNNERS or ast_keyword(node, "timeout") is not None or ast_has_star_kwargs(node):
            return
        words = ast_call_command(self.context, node, qualified, self._processes.literals)
        self.report(node, what=f"{qualified}()", cmd=_cmd(words))

    def _check_wait(self, node: ast.Call, func: ast.Attribute) -> None:
        info = self._processes.process_of(func.value)
        if info is None:
            return
        method = func.attr
        receiver = self.context.dotted(func.value) or "process"
        if info.kind == "popen":
            timeout_position = 0 if method == "wait" else 1
            if ast_keyword(node, "timeout") is not None or len(ast_positional(node)) > timeout_position or ast_has_star_kwargs(node):
                return
        elif ast_under_async_deadline(self.context):
            return
        if method == "wait" and self._after_kill(receiver):
            return
        prefix = "await " if isinstance(self.context.parent(), ast.Await) else ""
        self.report(node, what=f"{prefix}{receiver}.{method}()", cmd=_cmd([info.command] if info.command else None))

    def _after_kill(self, receiver: str) -> bool:
        stack = self.context.stack
        for index in range(len(stack) - 1, 0, -1):
            if isinstance(stack[index], ast.stmt):
                break
        else:
            return False
        if ast_is_compound(stack[index]):
            return False
        block = ast_block_of(stack, index)
        if block is None or (not isinstance(stack[index - 1], ast.Module) and ast_is_suite(self.context, block)):
            return False
        lines = ast_statement_lines(self.context, block)
        position = next((i for i, line in enumerate(lines) if any(s is stack[index] for s in line)), 0)
        if position == 0:
            return False
        previous = lines[position - 1]
        if ast_is_compound(previous[0]):
            return False
        for small in previous:
            call = small.value if isinstance(small, ast.Expr) else None
            if isinstance(call, ast.Await):
                call = call.value
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "kill":
                if self.context.dotted(call.func.value) == receiver:
                    return True
        return False


class SubprocessWithoutTimeout(Rule):
    """Waiting for a child process with no timeout: one hung command blocks the worker forever.

    ## What it does
    Finds `subprocess.run`/`call`/`check_call`/`check_output` without `timeout=`, `wait()` and
    `communicate()` without a timeout on a `subprocess.Popen` bound in the same function (or as
    `self.<attr>` in the same class), and `await proc.wait()`/`await proc.communicate()` on an
    `asyncio.create_subprocess_*` process that is not wrapped in `asyncio.wait_for(...)` or inside
    `async with asyncio.timeout(...)` (also `async_timeout`, `anyio.fail_after`/`move_on_after`). A
    `wait()` right after `proc.kill()` is not reported: a killed process ends at once. Calls that
    pass `**kwargs` are not reported (the timeout may be in them).

    ## Why is this bad?
    `git apply`, a test suite or a build can hang on a lock, a prompt or a network call. Without a
    deadline the worker that runs it never comes back: its lease expires, the item is retried by
    another worker that hangs the same way, and nothing reports why. Hyperion's apply pipeline and
    worker ran `git apply` and the configured checks with no timeout (plan: "Add per-change timeout
    and cancellation handling", "Add a watchdog for long-running checks with configurable timeouts").

    ## Fix
    Pass `timeout=` (from configuration) and handle `subprocess.TimeoutExpired` (the child is killed
    by `run`; kill it yourself after `Popen.communicate`), or wrap the awaited call in
    `asyncio.wait_for(proc.communicate(), timeout)` and kill the process on `TimeoutError`.
    """

    code = "RMD211"
    ast_checker = _Fast
    name = "subprocess-without-timeout"
    message = "{what} waits for {cmd} with no timeout: pass timeout= (or asyncio.wait_for) and kill the process when it expires"
    severity = Severity.HIGH
    default = Default.PREVIEW
    provenance = (
        Provenance("002_cc3ae69c69bad11e.txt", "Apply Pipeline Hardening (per-change timeout) and Worker Robustness (watchdog for long-running checks)", "hyperion"),
    )
    triggers = (b"subprocess",)
    cwe = (400,)

    VALID = [
        Valid(
            """
            import subprocess

            CHECK_TIMEOUT = 600

            def run_check(command: list[str], cwd: str) -> subprocess.CompletedProcess:
                return subprocess.run(command, cwd=cwd, capture_output=True, timeout=CHECK_TIMEOUT, check=False)
            """
        ),
        Valid(
            """
            import asyncio

            async def apply_patch(repo: str, patch: str, timeout: float) -> int:
                proc = await asyncio.create_subprocess_exec("git", "-C", repo, "apply", patch)
                try:
                    return await asyncio.wait_for(proc.wait(), timeout)
                except asyncio.TimeoutError:
                    proc.kill()
                    await proc.wait()
                    raise
            """
        ),
        Valid(
            """
            import asyncio

            async def run(cmd):
                proc = await asyncio.create_subprocess_shell(cmd)
                async with asyncio.timeout(30):
                    await proc.communicate()
                return proc.returncode
            """
        ),
        Valid(
            """
            import subprocess

            def stop(proc_args):
                proc = subprocess.Popen(proc_args)
                try:
                    proc.communicate(None, 10)
                finally:
                    proc.wait(5)
            """
        ),
        Valid(
            """
            import subprocess

            def run(cmd, **kwargs):
                return subprocess.run(cmd, **kwargs)

            class Job:
                def wait(self):
                    return None

            def finish(job: Job):
                job.wait()
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import subprocess

            def apply_patch(repo: str, patch_path: str) -> None:
                subprocess.run(["git", "apply", "--index", patch_path], cwd=repo, check=True)
            """,
            line=4,
        ),
        Invalid(
            """
            from subprocess import PIPE, Popen

            class Worker:
                def run_checks(self, commands):
                    for command in commands:
                        proc = Popen(command, shell=True, stdout=PIPE)
                        proc.communicate()
                        if proc.returncode:
                            return False
                    return True
            """,
            line=7,
        ),
        Invalid(
            """
            import asyncio

            async def run_check(command: str) -> int:
                proc = await asyncio.create_subprocess_shell(command)
                return await proc.wait()
            """,
            line=5,
        ),
        Invalid(
            """
            import subprocess as sp

            def status(repo):
                return sp.check_output(["git", "status", "--porcelain"], cwd=repo)

            def fetch(repo):
                return sp.check_call(["git", "fetch"], cwd=repo)
            """,
            count=2,
        ),
        Invalid(
            """
            import subprocess

            class Harness:
                def start(self, argv):
                    self._proc = subprocess.Popen(argv)

                def join(self):
                    return self._proc.wait()
            """,
            line=8,
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
        if isinstance(func, cst.Attribute) and func.attr.value in ("wait", "communicate"):
            self._check_wait(node, func)
            return
        qualified = self.context.qualified(func)
        if qualified not in _RUNNERS or keyword(node, "timeout") is not None or has_star_kwargs(node):
            return
        words = call_command(self.context, node, qualified, self._processes.literals)
        self.report(node, what=f"{qualified}()", cmd=_cmd(words))

    def _check_wait(self, node: cst.Call, func: cst.Attribute) -> None:
        info = self._processes.process_of(func.value)
        if info is None:
            return
        method = func.attr.value
        receiver = self.context.dotted(func.value) or "process"
        if info.kind == "popen":
            timeout_position = 0 if method == "wait" else 1
            if keyword(node, "timeout") is not None or len(positional(node)) > timeout_position or has_star_kwargs(node):
                return
        elif under_async_deadline(self.context):
            return
        if method == "wait" and self._after_kill(receiver):
            return
        prefix = "await " if isinstance(self.context.parent(), cst.Await) else ""
        self.report(node, what=f"{prefix}{receiver}.{method}()", cmd=_cmd([info.command] if info.command else None))

    def _after_kill(self, receiver: str) -> bool:
        """Whether the statement before the current one is ``<receiver>.kill()``."""
        stack = self.context.stack
        for index in range(len(stack) - 1, 0, -1):
            if isinstance(stack[index], cst.SimpleStatementLine):
                line, block = stack[index], stack[index - 1]
                break
        else:
            return False
        body = getattr(block, "body", None)
        if not isinstance(body, (list, tuple)):
            return False
        position = next((i for i, stmt in enumerate(body) if stmt is line), 0)
        if position == 0:
            return False
        previous = body[position - 1]
        if not isinstance(previous, cst.SimpleStatementLine):
            return False
        for small in previous.body:
            call = small.value if isinstance(small, cst.Expr) else None
            if isinstance(call, cst.Await):
                call = call.expression
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "kill":
                if self.context.dotted(call.func.value) == receiver:
                    return True
        return False


def _cmd(words) -> str:
    name = program_name(words)
    if not name:
        return "the command"
    if len(words) > 1 and isinstance(words[1], str) and words[1] and not words[1].startswith("-"):
        name = f"{name} {words[1]}"
    return f"`{name}`"
