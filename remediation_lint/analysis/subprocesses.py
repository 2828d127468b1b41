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
    _seen: frozenset[str] = frozenset(),
) -> list[str | None] | None:
    """The words of a command given as a list/tuple literal, a string, or ``shlex.split("...")``.

    ``lists`` maps local names to the expression last assigned to them, so ``cmd = [...]; run(cmd)`` works.
    Starred elements and unknown expressions give None (the whole command) or None words. A name is
    looked up once per chain: in ``args = (exe, *args)`` the inner ``args`` is an earlier value (unknown).
    """
    if isinstance(expr, cst.Name) and lists is not None and expr.value in lists and expr.value not in _seen:
        _seen = _seen | {expr.value}
        expr = lists[expr.value]
    if isinstance(expr, (cst.List, cst.Tuple)):
        words: list[str | None] = []
        for element in expr.elements:
            if isinstance(element, cst.StarredElement):
                inner = command_tokens(ctx, element.value, lists, _seen)
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


# -- the fast path's twins (standard library ``ast``) ----------------------------------------------------
# Same answers as the LibCST functions above, on ``ast`` nodes. ``AstUndecidable`` is raised where ``ast``
# has lost what LibCST would read (the raw text of an f-string with escapes or doubled braces): the checker
# catches it and defers the file to the LibCST implementation.
import ast as _ast  # noqa: E402
import re as _re  # noqa: E402


class AstUndecidable(Exception):
    """``ast`` cannot reproduce the LibCST answer here: defer the file."""


def ast_keyword(call: _ast.Call, name: str) -> _ast.keyword | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw
    return None


def ast_has_star_kwargs(call: _ast.Call) -> bool:
    return any(kw.arg is None for kw in call.keywords)


def ast_positional(call: _ast.Call) -> list[_ast.expr]:
    """The plain positional arguments (LibCST's ``positional``: no ``*args``)."""
    return [arg for arg in call.args if not isinstance(arg, _ast.Starred)]


def ast_has_args(call: _ast.Call) -> bool:
    return bool(call.args or call.keywords)


def ast_first_arg(call: _ast.Call) -> tuple[_ast.expr, bool] | None:
    """The first argument in source order (LibCST's ``call.args[0]``): its value and whether it is a keyword."""
    first: tuple[_ast.expr, bool] | None = None
    where: tuple[int, int] | None = None
    if call.args:
        arg = call.args[0]
        first = (arg.value if isinstance(arg, _ast.Starred) else arg, False)
        where = (arg.lineno, arg.col_offset)
        if not isinstance(arg, _ast.Starred):
            return first  # a plain positional argument always comes first
    if call.keywords:
        kw = call.keywords[0]
        kw_where = (kw.lineno, kw.col_offset)
        if where is None or kw_where < where:
            return kw.value, kw.arg is not None
    return first


def ast_is_pipe(ctx, expr: _ast.expr) -> bool:
    qualified = ctx.qualified(expr)
    if qualified in PIPE_CONSTANTS:
        return True
    dotted = ctx.dotted(expr)
    return qualified is None and dotted is not None and dotted.endswith("subprocess.PIPE")


def ast_is_true(expr: _ast.expr) -> bool:
    return isinstance(expr, _ast.Constant) and expr.value is True


def ast_string_value(expr: _ast.AST | None) -> str | None:
    if isinstance(expr, _ast.Constant):
        value = expr.value
        if isinstance(value, str):
            return value
        if isinstance(value, bytes):
            return value.decode("latin-1")
    return None


def ast_is_string_literal(expr: _ast.AST | None) -> bool:
    """LibCST's SimpleString/ConcatenatedString/FormattedString: a str/bytes constant or an f-string."""
    return isinstance(expr, _ast.JoinedStr) or (isinstance(expr, _ast.Constant) and isinstance(expr.value, (str, bytes)))


_FSTRING_DOUBT = _re.compile(rb"\\|\{\{|\}\}|=\s*[}!:]")


def ast_source_lines(ctx) -> list[bytes]:
    lines = getattr(ctx, "_rmd_subprocess_lines", None)
    if lines is None:
        lines = ctx.source.splitlines()
        try:
            ctx._rmd_subprocess_lines = lines
        except AttributeError:  # pragma: no cover
            pass
    return lines


def _node_bytes(ctx, node: _ast.AST) -> bytes:
    """The node's source (whole lines when the columns cannot be trusted: non-ASCII source)."""
    lines = ast_source_lines(ctx)
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    chunk = lines[first:last + 1]
    if not chunk:
        return b""
    if all(line.isascii() for line in chunk):
        if len(chunk) == 1:
            return chunk[0][node.col_offset:node.end_col_offset]
        return b"\n".join([chunk[0][node.col_offset:], *chunk[1:-1], chunk[-1][:node.end_col_offset]])
    return b"\n".join(chunk)


def ast_template(ctx, expr: _ast.AST) -> str | None:
    """``_template``'s twin: a string literal or f-string as text, each ``{...}`` a placeholder."""
    value = ast_string_value(expr)
    if value is not None:
        return value
    if isinstance(expr, _ast.JoinedStr):
        # LibCST keeps the raw text of an f-string's literal parts; ast evaluates it. They agree unless
        # the source has escapes, doubled braces or a self-documenting ``{x=}``.
        if _FSTRING_DOUBT.search(_node_bytes(ctx, expr)):
            raise AstUndecidable("f-string text")
        parts = []
        for part in expr.values:
            if isinstance(part, _ast.Constant) and isinstance(part.value, str):
                parts.append(part.value)
            else:
                parts.append("\x00")
        return "".join(parts)
    return None


def split_words(text: str) -> list[str | None]:
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return [None if "\x00" in word else word for word in words]


def ast_split_command_string(ctx, expr: _ast.AST) -> list[str | None] | None:
    text = ast_template(ctx, expr)
    if text is None:
        return None
    return split_words(text)


def ast_command_tokens(ctx, expr: _ast.AST, lists: dict[str, _ast.AST] | None = None,
                       _seen: frozenset[str] = frozenset()) -> list[str | None] | None:
    if isinstance(expr, _ast.Name) and lists is not None and expr.id in lists and expr.id not in _seen:
        _seen = _seen | {expr.id}
        expr = lists[expr.id]
    if isinstance(expr, (_ast.List, _ast.Tuple)):
        words: list[str | None] = []
        for element in expr.elts:
            if isinstance(element, _ast.Starred):
                inner = ast_command_tokens(ctx, element.value, lists, _seen)
                if inner is None:
                    words.append(UNKNOWN_WORDS)
                else:
                    words.extend(inner)
                continue
            words.append(ast_string_value(element))
        return words
    if isinstance(expr, _ast.Call):
        if ctx.qualified(expr.func) == "shlex.split":
            first = ast_first_arg(expr)
            if first is not None:
                return ast_split_command_string(ctx, first[0])
        return None
    return ast_split_command_string(ctx, expr)


def ast_call_command(ctx, call: _ast.Call, qualified: str | None,
                     lists: dict[str, _ast.AST] | None = None) -> list[str | None] | None:
    args = call.args  # positionals and ``*args``, in order (``**kw`` are keywords in ast)
    if not args:
        kw = ast_keyword(call, "args") or ast_keyword(call, "cmd") or ast_keyword(call, "command")
        return ast_command_tokens(ctx, kw.value, lists) if kw is not None else None
    if qualified is not None and qualified.endswith("create_subprocess_exec"):
        words: list[str | None] = []
        for arg in args:
            if isinstance(arg, _ast.Starred):
                inner = ast_command_tokens(ctx, arg.value, lists)
                words.extend(inner if inner is not None else [UNKNOWN_WORDS])
            else:
                words.append(ast_string_value(arg))
        return words
    if isinstance(args[0], _ast.Starred):
        return None
    return ast_command_tokens(ctx, args[0], lists)


def ast_process_info(ctx, expr: _ast.AST) -> ProcessInfo | None:
    if isinstance(expr, _ast.Await):
        expr = expr.value
    if not isinstance(expr, _ast.Call):
        return None
    qualified = ctx.qualified(expr.func)
    if qualified in POPEN_CONSTRUCTORS:
        kind = "popen"
    elif qualified in ASYNC_PROCESS_FACTORIES:
        kind = "asyncio"
    else:
        return None
    stdout = ast_keyword(expr, "stdout")
    stderr = ast_keyword(expr, "stderr")
    words = ast_call_command(ctx, expr, qualified)
    return ProcessInfo(
        kind,
        expr,  # type: ignore[arg-type]
        stdout is not None and ast_is_pipe(ctx, stdout.value),
        stderr is not None and ast_is_pipe(ctx, stderr.value),
        program_name(words),
        is_literal_command(words),
    )


class AstProcessTracker:
    """``ProcessTracker``'s twin on ``ast`` (fed from FunctionDef/AsyncFunctionDef, Assign, AnnAssign,
    With/AsyncWith visits). Raises ``AstUndecidable`` where a command cannot be read exactly."""

    def __init__(self, ctx, processes: bool = True) -> None:
        self.ctx = ctx
        #: False: only the literals are tracked (the rule never asks ``process_of``)
        self.processes = processes
        self._functions: list[dict[str, ProcessInfo]] = [{}]
        self._classes: dict[int, dict[str, ProcessInfo]] = {}
        self._literals: list[dict[str, _ast.AST]] = [{}]

    def enter_function(self) -> None:
        self._functions.append({})
        self._literals.append({})

    def leave_function(self) -> None:
        self._functions.pop()
        self._literals.pop()

    def on_assign(self, targets: Sequence[_ast.AST], value: _ast.AST | None) -> None:
        if value is None:
            return
        info = ast_process_info(self.ctx, value) if self.processes else None
        literal = isinstance(value, (_ast.List, _ast.Tuple, _ast.JoinedStr, _ast.Call)) or ast_is_string_literal(value)
        for target in targets:
            name = self.ctx.dotted(target)
            if name is None:
                continue
            if isinstance(target, _ast.Name):
                if literal:
                    self._literals[-1][name] = value
                else:
                    self._literals[-1].pop(name, None)
            self._bind(name, info)

    def on_with(self, node: _ast.With | _ast.AsyncWith) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self.on_assign([item.optional_vars], item.context_expr)

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

    def process_of(self, expr: _ast.AST) -> ProcessInfo | None:
        name = self.ctx.dotted(expr)
        if name is None:
            return None
        return self._scope_for(name).get(name)

    @property
    def literals(self) -> dict[str, _ast.AST]:
        return self._literals[-1]


def ast_stream_of(tracker: AstProcessTracker, expr: _ast.AST) -> tuple[ProcessInfo, str] | None:
    if isinstance(expr, _ast.Attribute) and expr.attr in ("stdout", "stderr"):
        info = tracker.process_of(expr.value)
        if info is not None:
            return info, expr.attr
    return None


def ast_under_async_deadline(ctx) -> bool:
    for node in ctx.ancestors():
        if isinstance(node, (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.Lambda, _ast.ClassDef)):
            return False
        if isinstance(node, _ast.Call) and ctx.qualified(node.func) in ASYNC_DEADLINES:
            return True
        if isinstance(node, (_ast.With, _ast.AsyncWith)):
            for item in node.items:
                if isinstance(item.context_expr, _ast.Call) and ctx.qualified(item.context_expr.func) in ASYNC_DEADLINES:
                    return True
    return False


_COMPOUND = tuple(
    getattr(_ast, name) for name in
    ("If", "For", "AsyncFor", "While", "With", "AsyncWith", "Try", "TryStar", "FunctionDef", "AsyncFunctionDef",
     "ClassDef", "Match")
    if hasattr(_ast, name)
)


def ast_is_compound(stmt: _ast.AST) -> bool:
    return isinstance(stmt, _COMPOUND)


def _continued(ctx, line_number: int) -> bool:
    lines = ast_source_lines(ctx)
    return 0 < line_number <= len(lines) and lines[line_number - 1].rstrip().endswith(b"\\")


def ast_is_suite(ctx, stmts: Sequence[_ast.stmt]) -> bool:
    """Whether a block is LibCST's one-line ``SimpleStatementSuite`` (``if x: a; b``), not an IndentedBlock."""
    if not stmts:
        return False
    first = stmts[0]
    lines = ast_source_lines(ctx)
    line = lines[first.lineno - 1] if 0 < first.lineno <= len(lines) else b""
    if line[:first.col_offset].strip():
        return True
    if _continued(ctx, first.lineno - 1):
        raise AstUndecidable("backslash continuation before a block")
    return False


def ast_statement_lines(ctx, stmts: Sequence[_ast.stmt]) -> list[list[_ast.stmt]]:
    """The statements of an indented block grouped as LibCST's lines: ``a; b`` is one SimpleStatementLine."""
    groups: list[list[_ast.stmt]] = []
    previous: _ast.stmt | None = None
    for stmt in stmts:
        simple = not isinstance(stmt, _COMPOUND)
        if previous is not None and simple and not isinstance(previous, _COMPOUND):
            end = previous.end_lineno or previous.lineno
            if stmt.lineno == end:
                groups[-1].append(stmt)
                previous = stmt
                continue
            if _continued(ctx, end):
                raise AstUndecidable("backslash continuation between statements")
        groups.append([stmt])
        previous = stmt
    return groups


def ast_block_of(stack: Sequence[_ast.AST], index: int) -> list[_ast.stmt] | None:
    """The statement list holding ``stack[index]`` in its parent ``stack[index - 1]``."""
    stmt, parent = stack[index], stack[index - 1]
    for name in ("body", "orelse", "finalbody"):
        value = getattr(parent, name, None)
        if isinstance(value, list) and any(s is stmt for s in value):
            return value
    return None
