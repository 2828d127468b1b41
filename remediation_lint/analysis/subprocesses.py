"""Child processes a function starts: which names hold them, which pipes they have, what they run.

Rules feed a :class:`ProcessTracker` from their own visitors (``visit_FunctionDef``/``leave_FunctionDef``,
``visit_Assign``, ``visit_AnnAssign``, ``visit_With``) during the shared traversal, then ask
``process_of(expr)`` whether a receiver such as ``proc`` or ``self._proc`` is a process started with
``subprocess.Popen`` or ``asyncio.create_subprocess_*``. Only bindings seen in the same function (or, for
``self.<attr>``, in the same class) count: nothing is guessed across modules.

``command_tokens`` turns the command of a call (an argument list, a string, ``shlex.split`` of one, the
positional arguments of ``create_subprocess_exec``) into its words, ``None`` standing for a word that is
not a literal.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import libcst as cst

from remediation_lint.knowledge.subprocesses import (
    ASYNC_DEADLINES,
    ASYNC_PROCESS_FACTORIES,
    PIPE_CONSTANTS,
    POPEN_CONSTRUCTORS,
)

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.context import FileContext


@dataclass(frozen=True)
class ProcessInfo:
    """A process bound to a name: ``kind`` is ``"popen"`` or ``"asyncio"``."""

    kind: str
    call: cst.Call
    stdout_piped: bool
    stderr_piped: bool
    command: str | None
    #: every argument of the command is a string literal (a fixed query such as ``nvidia-smi -L``)
    literal: bool = False

    def piped(self, stream: str) -> bool:
        return self.stdout_piped if stream == "stdout" else self.stderr_piped if stream == "stderr" else False


#: stands for any number of words that are not known (a starred expression: ``[git, "apply", *args]``)
UNKNOWN_WORDS = "\x00*"


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_star_kwargs(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


def positional(call: cst.Call) -> list[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and not arg.star]


def is_pipe(ctx: "FileContext", expr: cst.BaseExpression) -> bool:
    qualified = ctx.qualified(expr)
    if qualified in PIPE_CONSTANTS:
        return True
    dotted = ctx.dotted(expr)
    return qualified is None and dotted is not None and dotted.endswith("subprocess.PIPE")


def is_true(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def string_value(expr: cst.BaseExpression | None) -> str | None:
    """The value of a plain string literal (implicit concatenation included), else None."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else value.decode("latin-1") if isinstance(value, bytes) else None
    if isinstance(expr, cst.ConcatenatedString):
        left, right = string_value(expr.left), string_value(expr.right)
        return None if left is None or right is None else left + right
    return None


def _template(expr: cst.BaseExpression) -> str | None:
    """A string literal or f-string as text, each ``{...}`` replaced by a placeholder word."""
    value = string_value(expr)
    if value is not None:
        return value
    if isinstance(expr, cst.FormattedString):
        parts = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            else:
                parts.append("\x00")
        return "".join(parts)
    if isinstance(expr, cst.ConcatenatedString):
        left, right = _template(expr.left), _template(expr.right)  # type: ignore[arg-type]
        return None if left is None or right is None else left + right
    return None


def split_command_string(expr: cst.BaseExpression) -> list[str | None] | None:
    text = _template(expr)
    if text is None:
        return None
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return [None if "\x00" in word else word for word in words]


def command_tokens(
    ctx: "FileContext",
    expr: cst.BaseExpression,
    lists: dict[str, cst.BaseExpression] | None = None,
) -> list[str | None] | None:
    """The words of a command given as a list/tuple literal, a string, or ``shlex.split("...")``.

    ``lists`` maps local names to the expression last assigned to them, so ``cmd = [...]; run(cmd)`` works.
    Starred elements and unknown expressions give None (the whole command) or None words.
    """
    if isinstance(expr, cst.Name) and lists is not None and expr.value in lists:
        expr = lists[expr.value]
    if isinstance(expr, (cst.List, cst.Tuple)):
        words: list[str | None] = []
        for element in expr.elements:
            if isinstance(element, cst.StarredElement):
                inner = command_tokens(ctx, element.value, lists)
                if inner is None:
                    words.append(UNKNOWN_WORDS)
                else:
                    words.extend(inner)
                continue
            words.append(string_value(element.value))
        return words
    if isinstance(expr, cst.Call):
        if ctx.qualified(expr.func) == "shlex.split" and expr.args:
            return split_command_string(expr.args[0].value)
        return None
    return split_command_string(expr)


def call_command(ctx: "FileContext", call: cst.Call, qualified: str | None,
                 lists: dict[str, cst.BaseExpression] | None = None) -> list[str | None] | None:
    """The command words of a process-spawning call (``create_subprocess_exec`` takes them as positionals)."""
    args = [arg for arg in call.args if arg.keyword is None and arg.star != "**"]
    if not args:
        arg = keyword(call, "args") or keyword(call, "cmd") or keyword(call, "command")
        return command_tokens(ctx, arg.value, lists) if arg is not None else None
    if qualified is not None and qualified.endswith("create_subprocess_exec"):
        words: list[str | None] = []
        for arg in args:
            if arg.star == "*":
                inner = command_tokens(ctx, arg.value, lists)
                words.extend(inner if inner is not None else [UNKNOWN_WORDS])
            else:
                words.append(string_value(arg.value))
        return words
    if args[0].star:
        return None
    return command_tokens(ctx, args[0].value, lists)


def program_name(words: Sequence[str | None] | None) -> str | None:
    if not words or words[0] is None or words[0] == UNKNOWN_WORDS:
        return None
    return words[0].replace("\\", "/").rsplit("/", 1)[-1] or None


def process_info(ctx: "FileContext", expr: cst.BaseExpression) -> ProcessInfo | None:
    """A ProcessInfo when ``expr`` is (an await of) ``Popen(...)`` or ``asyncio.create_subprocess_*(...)``."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    if not isinstance(expr, cst.Call):
        return None
    qualified = ctx.qualified(expr.func)
    if qualified in POPEN_CONSTRUCTORS:
        kind = "popen"
    elif qualified in ASYNC_PROCESS_FACTORIES:
        kind = "asyncio"
    else:
        return None
    stdout = keyword(expr, "stdout")
    stderr = keyword(expr, "stderr")
    words = call_command(ctx, expr, qualified)
    return ProcessInfo(
        kind,
        expr,
        stdout is not None and is_pipe(ctx, stdout.value),
        stderr is not None and is_pipe(ctx, stderr.value),
        program_name(words),
        is_literal_command(words),
    )


def is_literal_command(words: Sequence[str | None] | None) -> bool:
    """A fixed command: every argument is a string literal (the program may be a resolved path variable)."""
    if not words or words[0] == UNKNOWN_WORDS:
        return False
    return all(word is not None and word != UNKNOWN_WORDS for word in words[1:])


class ProcessTracker:
    """Names bound to processes, per function; ``self.<attr>`` bindings per class."""

    def __init__(self, ctx: "FileContext") -> None:
        self.ctx = ctx
        self._functions: list[dict[str, ProcessInfo]] = [{}]
        self._classes: dict[int, dict[str, ProcessInfo]] = {}
        #: local name -> last list/tuple/string literal assigned to it, per function (for commands)
        self._literals: list[dict[str, cst.BaseExpression]] = [{}]

    # -- feeding -------------------------------------------------------------------------------------
    def enter_function(self) -> None:
        self._functions.append({})
        self._literals.append({})

    def leave_function(self) -> None:
        self._functions.pop()
        self._literals.pop()

    def on_assign(self, targets: Sequence[cst.BaseExpression], value: cst.BaseExpression | None) -> None:
        if value is None:
            return
        info = process_info(self.ctx, value)
        for target in targets:
            name = self.ctx.dotted(target)
            if name is None:
                continue
            if isinstance(value, (cst.List, cst.Tuple, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Call)) \
                    and isinstance(target, cst.Name):
                self._literals[-1][name] = value
            elif isinstance(target, cst.Name):
                self._literals[-1].pop(name, None)
            self._bind(name, info)

    def on_with(self, node: cst.With) -> None:
        for item in node.items:
            if item.asname is not None:
                self.on_assign([item.asname.name], item.item)  # type: ignore[list-item]

    def _bind(self, name: str, info: ProcessInfo | None) -> None:
        scope = self._scope_for(name)
        if info is None:
            scope.pop(name, None)
        else:
            scope[name] = info

    def _scope_for(self, name: str) -> dict[str, ProcessInfo]:
        if name.startswith("self.") and len(self._functions) > 1:
            cls = self.ctx.enclosing_class()
            if cls is not None:
                return self._classes.setdefault(id(cls), {})
        return self._functions[-1]

    # -- questions -----------------------------------------------------------------------------------
    def process_of(self, expr: cst.BaseExpression) -> ProcessInfo | None:
        name = self.ctx.dotted(expr)
        if name is None:
            return None
        return self._scope_for(name).get(name)

    @property
    def literals(self) -> dict[str, cst.BaseExpression]:
        return self._literals[-1]


def stream_of(tracker: ProcessTracker, expr: cst.BaseExpression) -> tuple[ProcessInfo, str] | None:
    """For ``proc.stdout``/``proc.stderr`` of a tracked process: (its info, the stream name)."""
    if isinstance(expr, cst.Attribute) and expr.attr.value in ("stdout", "stderr"):
        info = tracker.process_of(expr.value)
        if info is not None:
            return info, expr.attr.value
    return None


def under_async_deadline(ctx: "FileContext") -> bool:
    """Whether the current node sits in ``asyncio.wait_for(...)`` or ``async with asyncio.timeout(...)``."""
    for node in ctx.ancestors():
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if isinstance(node, cst.Call) and ctx.qualified(node.func) in ASYNC_DEADLINES:
            return True
        if isinstance(node, cst.With):
            for item in node.items:
                if isinstance(item.item, cst.Call) and ctx.qualified(item.item.func) in ASYNC_DEADLINES:
                    return True
    return False
