from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.code_exec import (
    AstSource,
    ast_constant_text,
    ast_fstring_leading_text,
    ast_module_constant_text,
    constant_text,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.knowledge.process_launch import (
    ALWAYS_SHELL,
    PROGRAM_ARG,
    SHELL_KEYWORD,
)
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

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
        index = PROGRAM_ARG.get(qualified or "")
        if index is None:
            return
        positional = [a for a in node.args if not isinstance(a, ast.Starred)]
        value = positional[index] if len(positional) > index else None
        if value is None and index == 0:
            keyword = next((k for k in node.keywords if k.arg in ("args", "program", "cmd", "command")), None)
            value = keyword.value if keyword is not None else None
        if value is None:
            return
        shell = qualified in ALWAYS_SHELL or (qualified in SHELL_KEYWORD and _ast_shell_true(node))
        found = self._program(value, shell=shell)
        if found is None:
            return
        if found is False:
            self.defer()
            return
        where, program = found
        if program in self.opts["allowed_programs"]:
            return
        self.report(where, func=qualified, program=program)

    def _program(self, value: ast.expr, *, shell: bool):
        """(node, bare name), None, or False when this cannot be decided on ``ast``."""
        node = value
        if isinstance(value, (ast.List, ast.Tuple)):
            if not value.elts or isinstance(value.elts[0], ast.Starred):
                return None
            node = value.elts[0]
            shell = False
        text = self._constant(node)
        if text is None and isinstance(node, ast.JoinedStr) and shell:
            leading = ast_fstring_leading_text(AstSource.of(self.context), node)
            if leading is False:
                return False
            if leading is None:
                return None  # not one f-string starting with literal text
            text = leading
            if not text[: len(text.split(" ", 1)[0]) + 1].endswith(" "):
                return None
        if text is None:
            return None
        program = text.strip().split(None, 1)[0] if (shell and text.strip()) else text
        if not program or "/" in program or "\\" in program or program.startswith(("$", "~", ".")):
            return None
        if shell and any(ch in program for ch in "=;&|<>`(){}"):
            return None
        return node, program

    def _constant(self, node: ast.expr) -> str | None:
        text = ast_constant_text(node)
        if text is not None or not isinstance(node, ast.Name):
            return text
        return ast_module_constant_text(self.context.tree, node.id)[1]


def _ast_shell_true(call: ast.Call) -> bool:
    return any(k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)


class ExecutableFromPath(Rule):
    """A child process started by bare program name: whoever controls `PATH` chooses what runs.

    ## What it does
    Finds `subprocess.run/call/check_call/check_output/Popen`, `asyncio.create_subprocess_exec/shell`,
    `os.system`/`os.popen`, `os.exec*p*` and `os.spawn*p*` whose program is a bare name such as `"npx"` or
    `"node"`: a constant string without a path separator, the first element of a constant argv list, or
    the first word of a shell command string; also through a module-level constant (`NPX = "npx"`). An
    absolute path, a path relative to a known directory, and a variable (e.g. the checked result of
    `shutil.which`) are not reported. Names listed in the `allowed_programs` option are not reported.

    ## Why is this bad?
    The program is looked up in the `PATH` of the running process. A writable directory early in `PATH`,
    a poisoned `node_modules/.bin`, or an attacker-set environment turns the call into code execution
    with the service's rights. The khala plan (critical item 1) found the CLI executor starting the
    Gemini CLI through an implicit `npx` lookup: PATH hijacking gives remote code execution.

    ## Fix
    Resolve the program once at startup with `shutil.which("npx")`, fail when it is `None`, and
    optionally check that the result lies in a trusted directory; or configure an absolute path.
    """

    code = "RMD103"
    ast_checker = _Fast
    name = "executable-from-path"
    message = "{func}() starts {program!r} by bare name, found through PATH: resolve it once with shutil.which() (fail on None) or use an absolute path"
    severity = Severity.CRITICAL
    provenance = (
        Provenance("000_18f8732ba4a86cc0.txt", "Critical, item 1 (CLI executor RCE: implicit npx execution allows PATH hijacking)", "khala"),
    )
    triggers = (b"subprocess", b"os.", b"execlp", b"execvp", b"spawnlp", b"spawnvp", b"posix_spawnp", b"from os import")
    cwe = (426, 427)
    options = {"allowed_programs": ()}
    option_docs = {"allowed_programs": "bare program names accepted anyway (e.g. tools of a controlled container image)"}

    VALID = [
        Valid(
            """
            import asyncio
            import shutil

            class CLIExecutor:
                def __init__(self) -> None:
                    npx = shutil.which("npx")
                    if npx is None:
                        raise RuntimeError("npx not found on PATH")
                    self.npx = npx

                async def run(self, *args: str):
                    return await asyncio.create_subprocess_exec(self.npx, *args)
            """
        ),
        Valid(
            """
            import subprocess
            import sys

            def run_tool(script: str) -> int:
                return subprocess.run([sys.executable, script], check=False).returncode
            """
        ),
        Valid(
            """
            import subprocess

            NODE = "/usr/local/bin/node"

            def render(path):
                subprocess.run([NODE, "render.js", path], check=True, timeout=30)
                subprocess.run(["/usr/bin/git", "status"], check=True, timeout=30)
            """
        ),
        Valid(
            """
            import subprocess

            def run(cmd: list[str]):
                return subprocess.run(cmd, check=True, timeout=60)
            """
        ),
        Valid(
            """
            import subprocess

            def status():
                return subprocess.run(["git", "status"], check=True, timeout=10)
            """,
            options={"allowed_programs": ("git",)},
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio

            class CLIExecutor:
                async def execute(self, *args: str):
                    process = await asyncio.create_subprocess_exec(
                        "npx",
                        "@google/gemini-cli",
                        *args,
                        stdout=asyncio.subprocess.PIPE,
                    )
                    return await process.wait()
            """,
            line=6,
        ),
        Invalid(
            """
            import subprocess as sp

            def build_frontend(path: str) -> None:
                sp.run(["node", "build.js", path], check=True, timeout=300)
            """,
            line=4,
        ),
        Invalid(
            """
            from subprocess import Popen

            NPX = "npx"

            def start_server(port: int):
                return Popen([NPX, "http-server", "-p", str(port)])
            """,
            line=6,
        ),
        Invalid(
            """
            import subprocess

            def install(package: str) -> str:
                return subprocess.check_output(f"npm install {package}", shell=True, text=True)
            """,
            line=4,
        ),
        Invalid(
            """
            import os

            def handover(args):
                os.execvp("python3", ["python3", *args])
            """,
            line=4,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return
        qualified = self.context.qualified(func)
        index = PROGRAM_ARG.get(qualified or "")
        if index is None:
            return
        positional = [a for a in node.args if a.keyword is None and not a.star]
        arg = positional[index] if len(positional) > index else None
        if arg is None and index == 0:
            arg = next((a for a in node.args if a.keyword is not None and a.keyword.value in ("args", "program", "cmd", "command")), None)
        if arg is None:
            return
        shell = qualified in ALWAYS_SHELL or (qualified in SHELL_KEYWORD and _shell_true(node))
        found = self._program(arg.value, shell=shell)
        if found is None:
            return
        where, program = found
        if program in self.opts["allowed_programs"]:
            return
        self.report(where, func=qualified, program=program)

    def _program(self, value: cst.BaseExpression, *, shell: bool) -> tuple[cst.CSTNode, str] | None:
        """The node naming the program and the bare name, when it is one."""
        node = value
        if isinstance(value, (cst.List, cst.Tuple)):
            if not value.elements or not isinstance(value.elements[0], cst.Element):
                return None
            node = value.elements[0].value
            shell = False  # argv list: the first element is the program itself
        text = self._constant(node)
        if text is None and isinstance(node, cst.FormattedString) and shell:
            # f"npm install {package}": the leading literal text names the program
            first = node.parts[0] if node.parts else None
            if isinstance(first, cst.FormattedStringText):
                text = first.value
                if not text[: len(text.split(" ", 1)[0]) + 1].endswith(" "):
                    return None  # the program name itself is interpolated
        if text is None:
            return None
        program = text.strip().split(None, 1)[0] if (shell and text.strip()) else text
        if not program or "/" in program or "\\" in program or program.startswith(("$", "~", ".")):
            return None
        if shell and any(ch in program for ch in "=;&|<>`(){}"):
            return None
        return node, program

    def _constant(self, node: cst.BaseExpression) -> str | None:
        text = constant_text(node)
        if text is not None or not isinstance(node, cst.Name):
            return text
        for stmt in self.context.module.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if (
                        isinstance(small, cst.Assign)
                        and len(small.targets) == 1
                        and isinstance(small.targets[0].target, cst.Name)
                        and small.targets[0].target.value == node.value
                    ):
                        return constant_text(small.value)
        return None


def _shell_true(call: cst.Call) -> bool:
    return any(
        a.keyword is not None and a.keyword.value == "shell" and isinstance(a.value, cst.Name) and a.value.value == "True"
        for a in call.args
    )
