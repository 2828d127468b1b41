from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.code_exec import (
    AstSource,
    ast_constant_string,
    ast_first_arg_text,
    ast_keyword_text,
    ast_module_constant_text,
    ast_short_text,
    ast_single_fstring,
    constant_string,
    constant_text,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.process_launch import (
    ALWAYS_SHELL,
    PROGRAM_ARG,
    SHELL_KEYWORD,
)
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

_QUOTERS = frozenset({"shlex.quote", "shlex.join", "pipes.quote"})
_LAST_PARTS = frozenset(name.rsplit(".", 1)[-1] for name in PROGRAM_ARG)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr not in _LAST_PARTS:
                return  # a qualified name ends with the attribute's name
        elif not isinstance(func, ast.Name):
            return
        qualified = self.context.qualified(func)
        if qualified not in PROGRAM_ARG:
            return
        if qualified not in ALWAYS_SHELL and not (qualified in SHELL_KEYWORD and _ast_shell_true(node)):
            return
        value = next((a for a in node.args if not isinstance(a, ast.Starred)), None)
        keyword = None
        if value is None:
            keyword = next((k for k in node.keywords if k.arg in ("args", "cmd", "command")), None)
            if keyword is None:
                return
            value = keyword.value
        if self._constant(value):
            return
        quoted = self._quoted(value)
        if quoted is None:
            self.defer()
            return
        if quoted or isinstance(value, (ast.List, ast.Tuple)):
            return
        src = AstSource.of(self.context)
        text = ast_keyword_text(src, keyword) if keyword is not None else ast_first_arg_text(src, node, value)
        if text is None:
            self.defer()  # parenthesised or oddly placed: LibCST's text of it includes the parentheses
            return
        self.report(node, func=qualified, source=ast_short_text(text, 50))

    def _constant(self, value: ast.expr) -> bool:
        if ast_constant_string(value):
            return True
        if isinstance(value, ast.Name):
            found, text = ast_module_constant_text(self.context.tree, value.id)
            return found and text is not None
        return False

    def _quoted(self, value: ast.expr) -> bool | None:
        if isinstance(value, ast.Call):
            return self.context.qualified(value.func) in _QUOTERS
        if isinstance(value, ast.JoinedStr):
            quoted = all(
                isinstance(p.value, ast.Call) and self.context.qualified(p.value.func) in _QUOTERS
                for p in value.values
                if isinstance(p, ast.FormattedValue)
            )
            if not quoted:
                return False
            # LibCST accepts one f-string only, not an implicit concatenation with one
            src = AstSource.of(self.context)
            text = src.text(src.start(value), src.end(value))
            return None if text is None else ast_single_fstring(text)
        return False


def _ast_shell_true(call: ast.Call) -> bool:
    return any(k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)


class ShellCommandFromData(Rule):
    """A shell command built from data: anything in the payload can append `; rm -rf ~`.

    ## What it does
    Finds `subprocess.run/call/check_call/check_output/Popen(..., shell=True)`, `os.system`, `os.popen`,
    `subprocess.getoutput/getstatusoutput` and `asyncio.create_subprocess_shell` given a command that is
    not a constant string (a module-level constant counts as constant): a variable, an attribute, an
    f-string, a concatenation, a `.format`/`%` result. An f-string whose every placeholder is wrapped in
    `shlex.quote(...)` is accepted, and so is `shlex.join(...)`.

    ## Why is this bad?
    The shell interprets the whole string: separators, substitutions and redirections in any part of it
    run as commands. The hyperion backlog ("Change Safety & Validation": strict validation for `checks`)
    found the worker running each change request's `checks` through the shell straight from the agent's
    payload, so whoever can enqueue a change can run anything on the worker host.

    ## Fix
    Pass an argument list without a shell (`subprocess.run(shlex.split(cmd), shell=False)` after checking
    the program against an allow-list), or quote every interpolated value with `shlex.quote`.
    """

    code = "RMD114"
    ast_checker = _Fast
    name = "shell-command-from-data"
    message = "{func}() runs a shell command built from `{source}`: pass an argument list without shell=True and check the program against an allow-list"
    severity = Severity.HIGH
    provenance = (
        Provenance("002_cc3ae69c69bad11e.txt", "Change Safety & Validation (strict validation for `checks`: allowlist or policy-based runner)", "hyperion"),
    )
    triggers = (b"shell=True", b"os.system", b"popen", b"create_subprocess_shell", b"getoutput", b"getstatusoutput", b"from os import")
    cwe = (78,)

    VALID = [
        Valid(
            """
            import shlex
            import subprocess

            ALLOWED_CHECKS = {"pytest", "ruff", "mypy"}

            def run_check(command: str, cwd: str) -> int:
                argv = shlex.split(command)
                if not argv or argv[0] not in ALLOWED_CHECKS:
                    raise ValueError(f"check not allowed: {command!r}")
                return subprocess.run(argv, cwd=cwd, timeout=600, check=False).returncode
            """
        ),
        Valid(
            """
            import os
            import subprocess

            CLEAN = "git clean -fdx && git checkout ."

            def reset():
                subprocess.run("git stash list | wc -l", shell=True, check=True)
                subprocess.run(CLEAN, shell=True, check=True)
                os.system("clear")
            """
        ),
        Valid(
            """
            import subprocess

            def run(argv: list[str]):
                return subprocess.run(argv, check=True, timeout=60)
            """
        ),
        Valid(
            """
            import shlex
            import subprocess

            def archive(path: str, name: str):
                subprocess.run(f"tar czf {shlex.quote(name)} {shlex.quote(path)}", shell=True, check=True)
                subprocess.run(shlex.join(["ls", "-l", path]), shell=True, check=True)
            """
        ),
        Valid(
            """
            import subprocess

            def run(cmd: str, use_shell: bool):
                return subprocess.run(cmd, shell=False, check=True)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import subprocess

            class Worker:
                def run_checks(self, request: dict) -> bool:
                    for command in request.get("checks", []):
                        result = subprocess.run(command, shell=True, capture_output=True, timeout=600)
                        if result.returncode != 0:
                            return False
                    return True
            """,
            line=6,
        ),
        Invalid(
            """
            import os

            def notify(user: str, message: str) -> None:
                os.system(f"notify-send {user} '{message}'")
            """,
            line=4,
        ),
        Invalid(
            """
            import asyncio

            async def run_hook(config: dict):
                process = await asyncio.create_subprocess_shell(config["post_apply_hook"])
                return await process.wait()
            """,
            line=4,
        ),
        Invalid(
            """
            from subprocess import check_output

            def grep(pattern, path):
                return check_output("grep -rn " + pattern + " " + path, shell=True, text=True)
            """,
            line=4,
        ),
        Invalid(
            """
            import os as system_os

            def disk_usage(directory):
                with system_os.popen("du -sh {}".format(directory)) as pipe:
                    return pipe.read()
            """,
            line=4,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return
        qualified = self.context.qualified(func)
        if qualified not in PROGRAM_ARG:
            return
        if qualified not in ALWAYS_SHELL and not (qualified in SHELL_KEYWORD and _shell_true(node)):
            return
        arg = next((a for a in node.args if a.keyword is None and not a.star), None)
        if arg is None:
            arg = next((a for a in node.args if a.keyword is not None and a.keyword.value in ("args", "cmd", "command")), None)
        if arg is None:
            return
        value = arg.value
        if self._constant(value) or self._quoted(value):
            return
        if isinstance(value, (cst.List, cst.Tuple)):
            return  # shell=True with a list: the first element is the command (RMD103's business)
        text = " ".join(self.context.module.code_for_node(value).split())
        if len(text) > 50:
            text = text[:47] + "..."
        self.report(node, func=qualified, source=text)

    def _constant(self, value: cst.BaseExpression) -> bool:
        if constant_string(value):
            return True
        if isinstance(value, cst.Name):
            for stmt in self.context.module.body:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if (
                            isinstance(small, cst.Assign)
                            and len(small.targets) == 1
                            and isinstance(small.targets[0].target, cst.Name)
                            and small.targets[0].target.value == value.value
                        ):
                            return constant_text(small.value) is not None
        return False

    def _quoted(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Call):
            return self.context.qualified(value.func) in _QUOTERS
        if isinstance(value, cst.FormattedString):
            exprs = [p for p in value.parts if isinstance(p, cst.FormattedStringExpression)]
            return all(
                isinstance(p.expression, cst.Call) and self.context.qualified(p.expression.func) in _QUOTERS
                for p in exprs
            )
        return False


def _shell_true(call: cst.Call) -> bool:
    return any(
        a.keyword is not None and a.keyword.value == "shell" and isinstance(a.value, cst.Name) and a.value.value == "True"
        for a in call.args
    )
