from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.subprocesses import (
    UNKNOWN_WORDS,
    AstProcessTracker,
    AstUndecidable,
    ast_call_command,
    ast_first_arg,
    ast_positional,
    ast_string_value,
    split_words,
    ProcessTracker,
    call_command,
    positional,
    program_name,
    split_command_string,
    string_value,
)
from remediation_lint.knowledge.subprocesses import COMMAND_RUNNERS
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

#: git options that take the next word as their value
_GIT_OPTIONS_WITH_VALUE = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"})
#: ``git apply`` options that only report and never change the tree (unless ``--apply`` is also given)
_REPORT_ONLY = frozenset({"--stat", "--numstat", "--summary"})
#: ``git apply`` options that make it resolve conflicts itself and leave a report (``--3way``)
_THREE_WAY = frozenset({"--3way", "-3"})


def git_subcommand(words: list[str | None]) -> tuple[str | None, list[str | None]] | None:
    """(subcommand, its arguments) of the first ``git`` in ``words``, or None when there is no git."""
    for start, word in enumerate(words):
        if word is not None and program_name([word]) in ("git", "git.exe"):
            break
    else:
        return None
    index = start + 1
    while index < len(words):
        word = words[index]
        if word is None or word == UNKNOWN_WORDS:
            return None, []
        if word in _GIT_OPTIONS_WITH_VALUE:
            index += 2
            continue
        if word.startswith("-"):
            index += 1
            continue
        rest: list[str | None] = []
        for arg in words[index + 1:]:
            if arg in ("&&", "||", ";", "|"):
                break
            rest.append(arg)
        return word, rest
    return None, []


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._processes = AstProcessTracker(context, processes=False)
        self._checked: list[bool] = [False]
        self._undecided = False

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._processes.enter_function()
        self._checked.append(False)

    def leave_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._processes.leave_function()
        self._checked.pop()

    visit_AsyncFunctionDef = visit_FunctionDef
    leave_AsyncFunctionDef = leave_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        self._processes.on_assign(node.targets, node.value)

    def visit_Call(self, node: ast.Call) -> None:
        if self._undecided:
            return
        try:
            words = self._words(node)
        except AstUndecidable:
            self._undecided = True
            self.defer()
            return
        if words is None:
            return
        found = git_subcommand(words)
        if found is None or found[0] != "apply":
            return
        args = found[1]
        if UNKNOWN_WORDS in args:
            return
        if "--check" in args:
            self._checked[-1] = True
            return
        if any(arg in _THREE_WAY for arg in args):
            return
        if any(arg in _REPORT_ONLY for arg in args) and "--apply" not in args:
            return
        if self._checked[-1]:
            return
        func = self.context.enclosing_function()
        name = func.name if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) else "<module>"
        self.report(node, func=name)

    def _words(self, node: ast.Call) -> list[str | None] | None:
        ctx = self.context
        qualified = ctx.qualified(node.func)
        if qualified in COMMAND_RUNNERS:
            words = ast_call_command(ctx, node, qualified, self._processes.literals)
            if words and words[0] is None and self._program_is_git_variable(node, qualified):
                words = ["git", *words[1:]]
            return words
        dotted = ctx.dotted(node.func)
        if dotted is None:
            return None
        if dotted.endswith(".git.apply") or dotted == "git.apply":
            return ["git", "apply", *(ast_string_value(arg) for arg in ast_positional(node))]
        last = dotted.rsplit(".", 1)[-1]
        if "git" not in last.lower():
            return None
        found = ast_first_arg(node)
        if found is None or found[1]:
            return None
        first = found[0]
        if isinstance(first, (ast.List, ast.Tuple)):
            inner = [ast_string_value(el) if not isinstance(el, ast.Starred) else None for el in first.elts]
            return ["git", *inner]
        text = ast_string_value(first)
        if text is None:
            return None
        if " " in text:
            split = split_words(text)
            return split if split and split[0] == "git" else ["git", *split]
        return ["git", text, *(ast_string_value(arg) for arg in ast_positional(node)[1:])]

    def _program_is_git_variable(self, node: ast.Call, qualified: str) -> bool:
        args = ast_positional(node)
        if not args:
            return False
        first = args[0]
        if not qualified.endswith("create_subprocess_exec"):
            literals = self._processes.literals
            if isinstance(first, ast.Name) and first.id in literals:
                first = literals[first.id]
            if not isinstance(first, (ast.List, ast.Tuple)) or not first.elts:
                return False
            first = first.elts[0]
            if isinstance(first, ast.Starred):
                first = first.value
        name = self.context.dotted(first)
        return name is not None and "git" in name.rsplit(".", 1)[-1].lower()


class GitApplyUnchecked(Rule):
    """`git apply` without a `git apply --check` dry run first: a bad patch fails half-way, unexplained.

    ## What it does
    Finds `git apply` invocations (an argument list, a command string, `shlex.split` of one, a list
    bound to a local name, `git -C <dir> apply`, `create_subprocess_exec("git", "apply", ...)`,
    GitPython's `repo.git.apply(...)` and helpers named like `run_git("apply", ...)`) with no
    `git apply --check` run before them in the same function. Applies with `--3way` (which leave a
    conflict report) and report-only runs (`--stat`, `--numstat`, `--summary`) are not reported.

    ## Why is this bad?
    Without a dry run, a patch that no longer applies is discovered by the apply itself: the error is
    a bare exit status, the queue item is retried or dead-lettered without a reason, and (with
    `--reject` or several patches in a row) the tree may be left half-changed. Hyperion's apply
    pipeline applied agent patches directly (plan: "Run `git apply --check` before applying and report
    a structured failure reason").

    ## Fix
    Run `git apply --check <patch>` first and turn its stderr into a structured failure reason; only
    then apply. Consider `--3way` with a conflict report for patches that drifted.
    """

    code = "RMD606"
    ast_checker = _Fast
    name = "git-apply-unchecked"
    message = "`git apply` in {func}() runs with no `git apply --check` before it: dry-run the patch first and report why it does not apply"
    severity = Severity.MEDIUM
    default = Default.PREVIEW
    provenance = (Provenance("002_cc3ae69c69bad11e.txt", "Apply Pipeline Hardening (run git apply --check before applying)", "hyperion"),)
    triggers = (b"apply",)

    VALID = [
        Valid(
            """
            import subprocess

            APPLY_TIMEOUT = 120

            def apply_patch(repo: str, patch_path: str) -> None:
                check = subprocess.run(
                    ["git", "-C", repo, "apply", "--check", patch_path],
                    capture_output=True, text=True, timeout=APPLY_TIMEOUT,
                )
                if check.returncode != 0:
                    raise ValueError(f"patch does not apply: {check.stderr.strip()}")
                subprocess.run(["git", "-C", repo, "apply", "--index", patch_path], check=True, timeout=APPLY_TIMEOUT)
            """
        ),
        Valid(
            """
            import subprocess

            def apply_with_conflicts(repo, patch_path):
                return subprocess.run(["git", "apply", "--3way", patch_path], cwd=repo, timeout=60)
            """
        ),
        Valid(
            """
            import subprocess

            def diffstat(patch_path):
                return subprocess.run(["git", "apply", "--numstat", patch_path], capture_output=True, timeout=30)
            """
        ),
        Valid(
            """
            import os

            def dry_run(patch):
                return os.system(f"git apply --check {patch}") == 0
            """
        ),
        Valid(
            """
            import subprocess

            class Applier:
                def _git_apply(self, *args: str, timeout: float):
                    return subprocess.run([self.git, "-C", str(self.repo), "apply", *args], timeout=timeout)
            """
        ),
        Valid(
            """
            def apply(func, *args):
                return func(*args)

            def run(df):
                return df.apply(len)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import subprocess

            def apply_patch(repo: str, patch_path: str) -> None:
                subprocess.run(["git", "apply", "--index", patch_path], cwd=repo, check=True, timeout=120)
            """,
            line=4,
        ),
        Invalid(
            """
            import shlex
            import subprocess

            class Applier:
                def apply(self, repo, patch_path):
                    cmd = shlex.split(f"git -C {repo} apply --whitespace=fix {patch_path}")
                    return subprocess.call(cmd, timeout=60)
            """,
            line=7,
        ),
        Invalid(
            """
            import asyncio

            async def apply_change(repo, patch_path):
                proc = await asyncio.create_subprocess_exec("git", "-C", repo, "apply", patch_path)
                return await asyncio.wait_for(proc.wait(), 120)
            """,
        ),
        Invalid(
            """
            import subprocess

            def apply_all(repo, patches):
                for patch in patches:
                    command = ["git", "apply", patch]
                    subprocess.run(command, cwd=repo, check=True, timeout=60)
                subprocess.run(["git", "apply", "--check", patches[-1]], cwd=repo, timeout=60)
            """,
            line=6,
        ),
        Invalid(
            """
            def apply_agent_patch(repo, patch_path):
                repo.git.apply("--index", patch_path)
            """,
        ),
        Invalid(
            """
            import shutil
            import subprocess

            GIT = shutil.which("git") or "/usr/bin/git"

            def apply(repo, patch_path):
                subprocess.run([GIT, "-C", repo, "apply", patch_path], check=True, timeout=60)
            """,
            line=7,
        ),
        Invalid(
            """
            import os

            def apply_batch(patch_file):
                os.system(f"cd /srv/repo && git apply {patch_file}")
            """,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._processes = ProcessTracker(context)
        #: per function: whether a ``git apply --check`` ran so far
        self._checked: list[bool] = [False]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._processes.enter_function()
        self._checked.append(False)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._processes.leave_function()
        self._checked.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        self._processes.on_assign([t.target for t in node.targets], node.value)

    def visit_Call(self, node: cst.Call) -> None:
        words = self._words(node)
        if words is None:
            return
        found = git_subcommand(words)
        if found is None or found[0] != "apply":
            return
        args = found[1]
        if UNKNOWN_WORDS in args:
            return  # ``[git, "apply", *args]``: a wrapper, whose callers say whether it checks
        if "--check" in args:
            self._checked[-1] = True
            return
        if any(arg in _THREE_WAY for arg in args):
            return
        if any(arg in _REPORT_ONLY for arg in args) and "--apply" not in args:
            return
        if self._checked[-1]:
            return
        func = self.context.enclosing_function()
        name = func.name.value if isinstance(func, cst.FunctionDef) else "<module>"
        self.report(node, func=name)

    def _words(self, node: cst.Call) -> list[str | None] | None:
        ctx = self.context
        qualified = ctx.qualified(node.func)
        if qualified in COMMAND_RUNNERS:
            words = call_command(ctx, node, qualified, self._processes.literals)
            if words and words[0] is None and self._program_is_git_variable(node, qualified):
                words = ["git", *words[1:]]
            return words
        dotted = ctx.dotted(node.func)
        if dotted is None:
            return None
        # GitPython: repo.git.apply("--check", path)
        if dotted.endswith(".git.apply") or dotted == "git.apply":
            return ["git", "apply", *(string_value(arg.value) for arg in positional(node))]
        # helpers such as run_git("apply", path) / self._git(["apply", "--check", path])
        last = dotted.rsplit(".", 1)[-1]
        if "git" not in last.lower() or not node.args or node.args[0].keyword is not None:
            return None
        first = node.args[0].value
        if isinstance(first, (cst.List, cst.Tuple)):
            inner = [string_value(el.value) if not isinstance(el, cst.StarredElement) else None for el in first.elements]
            return ["git", *inner]
        text = string_value(first)
        if text is None:
            return None
        if " " in text:
            split = split_command_string(first) or []
            words = split if split and split[0] == "git" else ["git", *split]
        else:
            words = ["git", text, *(string_value(arg.value) for arg in positional(node)[1:])]
        return words

    def _program_is_git_variable(self, node: cst.Call, qualified: str) -> bool:
        """``[GIT, "apply", ...]`` / ``create_subprocess_exec(self.git_bin, "apply", ...)``: a variable named for git."""
        args = [arg for arg in node.args if arg.keyword is None and not arg.star]
        if not args:
            return False
        first = args[0].value
        if not qualified.endswith("create_subprocess_exec"):
            if isinstance(first, cst.Name) and first.value in self._processes.literals:
                first = self._processes.literals[first.value]
            if not isinstance(first, (cst.List, cst.Tuple)) or not first.elements:
                return False
            first = first.elements[0].value
        name = self.context.dotted(first)
        return name is not None and "git" in name.rsplit(".", 1)[-1].lower()
