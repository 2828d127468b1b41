"""Questions about exception handlers: is the caught type broad, does a statement only log.

Shared by the error-handling rules (RMD402, RMD403, RMD404). Everything here works on one handler or
one statement list; nothing walks the module.
"""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from remediation_lint.analysis.names import dotted_name

BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"})

#: method names of logger objects (``logger.warning``), ``logging.<x>`` module functions included
LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg"}
)
#: receivers that are loggers: ``logger``, ``log``, ``self.logger``, ``self._log``, ``logging``, ``structlog``
LOGGER_HINTS = ("log", "logger", "logging", "_log", "_logger", "structlog")


def is_broad(expr: cst.BaseExpression | None) -> bool:
    """A bare handler (None), ``Exception``/``BaseException``, or a tuple holding one of them."""
    if expr is None:
        return True
    if isinstance(expr, cst.Tuple):
        return any(is_broad(el.value) for el in expr.elements)
    return dotted_name(expr) in BROAD_EXCEPTIONS


def caught_text(expr: cst.BaseExpression | None) -> str:
    if expr is None:
        return "except:"
    if isinstance(expr, cst.Tuple):
        return "except (...):"
    return f"except {dotted_name(expr) or '...'}:"


def is_logging_call(expr: cst.BaseExpression) -> bool:
    """``logger.warning(...)``, ``self.log.error(...)``, ``logging.exception(...)``, ``print(...)``,
    ``warnings.warn(...)``, ``traceback.print_exc()``."""
    if isinstance(expr, cst.Await):
        expr = expr.expression
    if not isinstance(expr, cst.Call):
        return False
    name = dotted_name(expr.func)
    if name is None:
        return False
    if name in {"print", "warnings.warn", "traceback.print_exc", "warn"}:
        return True
    if "." not in name:
        return False
    receiver, method = name.rsplit(".", 1)
    if method not in LOG_METHODS:
        return False
    last = receiver.rsplit(".", 1)[-1].lower()
    return any(last == hint or last.endswith(hint) for hint in LOGGER_HINTS)


def small_statements(body: cst.BaseSuite) -> list[cst.BaseSmallStatement] | None:
    """The simple statements of a suite, or None when it holds a compound statement."""
    if isinstance(body, cst.SimpleStatementSuite):
        return list(body.body)
    out: list[cst.BaseSmallStatement] = []
    for stmt in body.body:  # type: ignore[attr-defined]
        if not isinstance(stmt, cst.SimpleStatementLine):
            return None
        out.extend(stmt.body)
    return out


def is_silent_statement(stmt: cst.BaseSmallStatement) -> bool:
    if isinstance(stmt, (cst.Pass, cst.Continue)):
        return True
    return isinstance(stmt, cst.Expr) and isinstance(stmt.value, (cst.Ellipsis, cst.SimpleString))


def only_logs_and_moves_on(body: cst.BaseSuite) -> tuple[bool, bool]:
    """(whether the handler body only logs / passes / continues, whether it logs at all)."""
    small = small_statements(body)
    if not small:
        return False, False
    logs = False
    for stmt in small:
        if is_silent_statement(stmt):
            continue
        if isinstance(stmt, cst.Expr) and is_logging_call(stmt.value):
            logs = True
            continue
        return False, logs
    return True, logs


def handler_names(ancestors: Iterable[cst.CSTNode]) -> set[str]:
    """Names bound by ``except ... as name`` handlers enclosing the current node (within its function)."""
    names: set[str] = set()
    for node in ancestors:
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            break
        if isinstance(node, cst.ExceptHandler) and node.name is not None and isinstance(node.name.name, cst.Name):
            names.add(node.name.name.value)
    return names


# -- the ``ast`` twins (the rules' fast-path checkers) ----------------------------------------------------
import ast as _ast  # noqa: E402

from remediation_lint.analysis.names import ast_dotted  # noqa: E402

_TRY_STAR = getattr(_ast, "TryStar", ())
_AST_SCOPES = (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.Lambda, _ast.ClassDef)
#: statements LibCST keeps in a ``SimpleStatementLine`` (everything else is a compound statement)
AST_SIMPLE_STATEMENTS = tuple(
    t
    for t in (
        _ast.Expr, _ast.Assign, _ast.AugAssign, _ast.AnnAssign, _ast.Pass, _ast.Break, _ast.Continue, _ast.Return,
        _ast.Raise, _ast.Global, _ast.Nonlocal, _ast.Delete, _ast.Import, _ast.ImportFrom, _ast.Assert,
        getattr(_ast, "TypeAlias", None),
    )
    if t is not None
)


def ast_is_broad(expr: "_ast.expr | None") -> bool:
    """``is_broad`` on an ``ast`` expression."""
    if expr is None:
        return True
    if isinstance(expr, _ast.Tuple):
        return any(ast_is_broad(el.value if isinstance(el, _ast.Starred) else el) for el in expr.elts)
    return ast_dotted(expr) in BROAD_EXCEPTIONS


def ast_caught_text(expr: "_ast.expr | None") -> str:
    if expr is None:
        return "except:"
    if isinstance(expr, _ast.Tuple):
        return "except (...):"
    return f"except {ast_dotted(expr) or '...'}:"


def ast_is_logging_call(expr: "_ast.expr") -> bool:
    """``is_logging_call`` on an ``ast`` expression."""
    if isinstance(expr, _ast.Await):
        expr = expr.value
    if not isinstance(expr, _ast.Call):
        return False
    name = ast_dotted(expr.func)
    if name is None:
        return False
    if name in {"print", "warnings.warn", "traceback.print_exc", "warn"}:
        return True
    if "." not in name:
        return False
    receiver, method = name.rsplit(".", 1)
    if method not in LOG_METHODS:
        return False
    last = receiver.rsplit(".", 1)[-1].lower()
    return any(last == hint or last.endswith(hint) for hint in LOGGER_HINTS)


def ast_small_statements(body: "list[_ast.stmt]") -> "list[_ast.stmt] | None":
    """The statements of a block when all are simple ones, or None when it holds a compound statement."""
    for stmt in body:
        if not isinstance(stmt, AST_SIMPLE_STATEMENTS):
            return None
    return list(body)


def ast_is_single_string(node: "_ast.expr", source: bytes, line_starts: "list[int]") -> bool:
    """A string/bytes literal written as one literal (LibCST ``SimpleString``, parentheses allowed), not an
    implicit concatenation or an f-string."""
    if not isinstance(node, _ast.Constant) or not isinstance(node.value, (str, bytes)):
        return False
    return count_literals(source_segment(node, source, line_starts)) == 1


def count_literals(text: str) -> int | None:
    """How many string literals (f-strings included) ``text``, the source of a string node, is made of
    (more than one: an implicit concatenation); None when it does not tokenize."""
    import io
    import tokenize

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("(" + text + ")").readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    start = getattr(tokenize, "FSTRING_START", None)  # 3.12+ tokenizes inside f-strings
    end = getattr(tokenize, "FSTRING_END", None)
    depth = literals = 0
    for token in tokens:
        if token.type == start:
            literals += depth == 0
            depth += 1
        elif token.type == end:
            depth -= 1
        elif token.type == tokenize.STRING and depth == 0:
            literals += 1
    return literals


def ast_is_silent_statement(stmt: "_ast.stmt", source: bytes, line_starts: "list[int]") -> bool:
    if isinstance(stmt, (_ast.Pass, _ast.Continue)):
        return True
    if not isinstance(stmt, _ast.Expr):
        return False
    value = stmt.value
    if isinstance(value, _ast.Constant) and value.value is Ellipsis:
        return True
    return ast_is_single_string(value, source, line_starts)


def ast_only_logs_and_moves_on(body: "list[_ast.stmt]", source: bytes, line_starts: "list[int]") -> tuple[bool, bool]:
    """``only_logs_and_moves_on`` on an ``ast`` handler body."""
    small = ast_small_statements(body)
    if not small:
        return False, False
    logs = False
    for stmt in small:
        if ast_is_silent_statement(stmt, source, line_starts):
            continue
        if isinstance(stmt, _ast.Expr) and ast_is_logging_call(stmt.value):
            logs = True
            continue
        return False, logs
    return True, logs


def ast_is_handler(stack: "list[_ast.AST]", index: int) -> bool:
    """``stack[index]`` is an ``except`` handler LibCST calls an ``ExceptHandler`` (not an ``except*`` one)."""
    node = stack[index]
    return isinstance(node, _ast.ExceptHandler) and not (index > 0 and isinstance(stack[index - 1], _TRY_STAR))


def ast_inside_handler(stack: "list[_ast.AST]") -> "_ast.ExceptHandler | None":
    """``context.inside(cst.ExceptHandler)`` on the fast path's stack (the current node last)."""
    for index in range(len(stack) - 2, -1, -1):
        node = stack[index]
        if isinstance(node, _ast.ExceptHandler) and ast_is_handler(stack, index):
            return node
        if isinstance(node, _AST_SCOPES):
            return None
    return None


def ast_handler_names(stack: "list[_ast.AST]") -> set[str]:
    """``handler_names(context.ancestors())`` on the fast path's stack (the current node last)."""
    names: set[str] = set()
    for index in range(len(stack) - 2, -1, -1):
        node = stack[index]
        if isinstance(node, _AST_SCOPES):
            break
        if isinstance(node, _ast.ExceptHandler) and node.name is not None and ast_is_handler(stack, index):
            names.add(node.name)
    return names


def line_starts(source: bytes) -> list[int]:
    """Byte offset of the start of every line (1-based line ``n`` starts at ``starts[n - 1]``)."""
    starts = [0]
    index = 0
    while True:
        # ast counts \r\n, \r and \n as line ends, like LibCST
        nl = source.find(b"\n", index)
        cr = source.find(b"\r", index)
        if nl < 0 and cr < 0:
            return starts
        if cr >= 0 and (nl < 0 or cr < nl):
            index = cr + 2 if source[cr + 1 : cr + 2] == b"\n" else cr + 1
        else:
            index = nl + 1
        starts.append(index)


def byte_offset(line_starts: "list[int]", line: int, col: int) -> int:
    return line_starts[line - 1] + col


def source_segment(node: "_ast.AST", source: bytes, line_starts: "list[int]") -> str:
    """The exact source text of a node's span (without parentheses around it)."""
    start = byte_offset(line_starts, node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = byte_offset(line_starts, node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
    return source[start:end].decode("utf-8", "replace")


def utf8_source(raw: bytes) -> bytes:
    """The source re-encoded as UTF-8 (what ``ast`` column offsets count), whatever its declared encoding."""
    import io
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError:
        return raw
    if encoding in ("utf-8", "utf-8-sig"):
        return raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        return raw.decode(encoding).encode("utf-8")
    except (LookupError, UnicodeError):
        return raw


def ast_node_code(
    node: "_ast.expr", stack: "list[_ast.AST]", source: bytes, line_starts: "list[int]"
) -> str | None:
    """``module.code_for_node(node)`` for an expression ``node`` (the current node of ``stack``): its source
    text with the parentheses LibCST attaches to it. None when a comment makes that uncertain."""
    parent = stack[-2] if len(stack) >= 2 else None
    stmt = next((n for n in reversed(stack) if isinstance(n, _ast.stmt)), None)
    return ast_code_for(node, parent, stmt, source, line_starts)


def ast_code_for(
    node: "_ast.expr", parent: "_ast.AST | None", stmt: "_ast.stmt | None", source: bytes, line_starts: "list[int]"
) -> str | None:
    """``ast_node_code`` given the node's parent and its innermost enclosing statement."""
    start = byte_offset(line_starts, node.lineno, node.col_offset)
    end = byte_offset(line_starts, node.end_lineno, node.end_col_offset)  # type: ignore[arg-type]
    opens: list[int] = []
    k = start - 1
    crossed = False
    while k >= 0:
        c = source[k]
        if c in b" \t\x0c\\":
            k -= 1
        elif c in b"\r\n":
            crossed = True
            k -= 1
        elif c == 0x28:  # (
            opens.append(k)
            k -= 1
        else:
            break
    if crossed and k >= 0:
        # a comment on an earlier line could hide an opening parenthesis, unless the node begins its statement
        if opens or stmt is None or (stmt.lineno, stmt.col_offset) != (node.lineno, node.col_offset):
            line_start = max(source.rfind(b"\n", 0, k), source.rfind(b"\r", 0, k)) + 1
            if b"#" in source[line_start : k + 1]:
                return None
    closes: list[int] = []
    if opens:
        k = end
        while k < len(source) and len(closes) < len(opens):
            c = source[k]
            if c in b" \t\x0c\\\r\n":
                k += 1
            elif c == 0x23:  # a comment: to the end of the line
                while k < len(source) and source[k] not in b"\r\n":
                    k += 1
            elif c == 0x29:  # )
                closes.append(k)
                k += 1
            else:
                break
    owned = min(len(opens), len(closes))
    if owned and isinstance(parent, _ast.Call) and not parent.keywords and len(parent.args) == 1 and parent.args[0] is node:
        owned -= 1
    elif owned and isinstance(parent, _ast.ClassDef) and not parent.keywords and len(parent.bases) == 1:
        owned -= 1
    elif owned and isinstance(parent, _ast.withitem):
        return None
    if owned:
        start, end = opens[owned - 1], closes[owned - 1] + 1
    text = source[start:end].decode("utf-8", "replace")
    if "\n" not in text and "\r" not in text:
        return text
    # LibCST keeps the whitespace of a continuation line inside brackets relative to the block's indentation,
    # and ``code_for_node`` renders it without that indentation; strings and backslashes keep theirs
    for sub in _ast.walk(node):
        if isinstance(sub, (_ast.Constant, _ast.JoinedStr)) and sub.lineno != sub.end_lineno:
            return None
    import re

    lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
    if any(line.rstrip("\r\n").endswith("\\") for line in lines[:-1]):
        return None
    if stmt is None:
        return None
    head = source[line_starts[stmt.lineno - 1] :].split(b"\n", 1)[0].decode("utf-8", "replace")
    indent = head[: len(head) - len(head.lstrip(" \t\x0c"))]
    if indent:
        lines = [lines[0]] + [line[len(indent) :] if line.startswith(indent) else line for line in lines[1:]]
    return "".join(lines)
