"""What a SQL (or SurrealQL) string does, read from the literal text of a query.

Small and general on purpose: rules ask for the statement's verb, whether it reads or writes, whether it
is a single-statement atomic form (``UPDATE ... RETURNING``, ``INSERT ... ON CONFLICT``, ``UPSERT``),
whether it opens a transaction, and whether it batches with ``IN (...)``. Only literal text is read
(plain strings, concatenations, the constant parts of f-strings); anything else gives ``None``.
"""

from __future__ import annotations

import io
import re
import tokenize
import weakref
from typing import TYPE_CHECKING, Callable

import libcst as cst

if TYPE_CHECKING:  # pragma: no cover
    import ast

READ_VERBS = frozenset({"SELECT", "WITH", "SHOW", "PRAGMA", "INFO", "LIVE", "EXPLAIN"})
WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "CREATE", "UPSERT", "REPLACE", "MERGE", "RELATE"})
TRANSACTION_VERBS = frozenset({"BEGIN", "START", "SAVEPOINT"})
#: methods of DB-API / async drivers / ORMs that run a query or a statement
QUERY_METHODS = frozenset({
    "execute", "executemany", "executescript", "execute_write", "execute_many_write", "execute_read",
    "fetch", "fetchall", "fetchone", "fetchrow", "fetchval", "fetch_all", "fetch_one", "fetch_val",
    "query", "raw", "scalar", "scalars",
})

_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_WORD = re.compile(r"[A-Za-z_]+")


def literal_text(node: cst.CSTNode | None) -> str | None:
    """The text of a string literal (concatenations and the constant parts of f-strings joined)."""
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # pragma: no cover - malformed literal
            return None
        return value if isinstance(value, str) else value.decode("latin-1", "replace")
    if isinstance(node, cst.ConcatenatedString):
        left, right = literal_text(node.left), literal_text(node.right)
        if left is None or right is None:
            return None
        return left + right
    if isinstance(node, cst.FormattedString):
        return "".join(
            part.value if isinstance(part, cst.FormattedStringText) else " ? " for part in node.parts
        )
    return None


def _normal(sql: str) -> str:
    return _COMMENT.sub(" ", sql).strip().lstrip("(").strip()


def verb(sql: str) -> str | None:
    """The statement's leading keyword, upper-cased (``SELECT``, ``INSERT``, ``BEGIN`` ...)."""
    match = _WORD.match(_normal(sql))
    return match.group(0).upper() if match else None


def _words(sql: str) -> list[str]:
    return [w.upper() for w in _WORD.findall(_COMMENT.sub(" ", sql))]


_DDL_OBJECTS = frozenset({
    "TABLE", "INDEX", "VIEW", "TRIGGER", "SCHEMA", "DATABASE", "EXTENSION", "SEQUENCE", "TYPE", "FUNCTION",
    "PROCEDURE", "TEMP", "TEMPORARY", "VIRTUAL", "UNIQUE", "OR", "MATERIALIZED",
})


def is_ddl(sql: str) -> bool:
    """``CREATE TABLE/INDEX/...``, ``DROP``, ``ALTER``: schema changes rather than data writes.

    A SurrealQL ``CREATE memory SET ...`` (a record) is not DDL."""
    words = _words(sql)
    if not words:
        return False
    if words[0] in {"DROP", "ALTER", "TRUNCATE", "DEFINE", "REMOVE"}:
        return True
    return words[0] == "CREATE" and len(words) > 1 and words[1] in _DDL_OBJECTS


def is_write(sql: str) -> bool:
    """True when the statement changes data (INSERT/UPDATE/DELETE/CREATE/UPSERT/...); DDL is not a write."""
    if is_ddl(sql):
        return False
    v = verb(sql)
    if v in WRITE_VERBS:
        return True
    if v == "WITH":  # CTE followed by a write
        return any(w in WRITE_VERBS for w in _words(sql))
    return False


def is_read(sql: str) -> bool:
    """True when the statement only reads (SELECT, WITH ... SELECT, SHOW ...)."""
    v = verb(sql)
    return v in READ_VERBS and not is_write(sql)


def is_atomic_write(sql: str) -> bool:
    """A write that decides and writes in one statement: ``RETURNING``, ``ON CONFLICT``, ``UPSERT``,
    ``INSERT OR IGNORE/REPLACE``, ``ON DUPLICATE KEY``, ``MERGE``, ``REPLACE``."""
    if not is_write(sql):
        return False
    words = _words(sql)
    text = " ".join(words)
    if words and words[0] in {"UPSERT", "MERGE", "REPLACE"}:
        return True
    return (
        "RETURNING" in words
        or "ON CONFLICT" in text
        or "ON DUPLICATE KEY" in text
        or "INSERT OR IGNORE" in text
        or "INSERT OR REPLACE" in text
        or "WHERE NOT EXISTS" in text
    )


def begins_transaction(sql: str) -> bool:
    """``BEGIN`` / ``BEGIN IMMEDIATE`` / ``START TRANSACTION`` / ``BEGIN TRANSACTION`` (SurrealQL too)."""
    return verb(sql) in TRANSACTION_VERBS


def has_in_list(sql: str) -> bool:
    """The query batches over many keys: ``IN (...)``, ``= ANY(...)``, ``IN $ids``."""
    text = " ".join(_words(sql))
    return bool(re.search(r"\bIN\s*[\(\$\?:]", _COMMENT.sub(" ", sql), re.I)) or " ANY " in f" {text} "


def tables_written(sql: str) -> set[str]:
    """Lower-cased table names written by the statement (``INSERT INTO t``, ``UPDATE t``, ``CREATE t``)."""
    out: set[str] = set()
    for m in re.finditer(r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|CREATE|UPSERT(?:\s+INTO)?)\s+([A-Za-z_][\w]*)", sql, re.I):
        out.add(m.group(1).lower())
    return out


def tables_read(sql: str) -> set[str]:
    """Lower-cased table names after ``FROM`` / ``JOIN``."""
    return {m.group(1).lower() for m in re.finditer(r"\b(?:FROM|JOIN)\s+([A-Za-z_][\w]*)", sql, re.I)}


# -- the fast path's twins (standard-library ``ast``) ------------------------------------------------
class Undecidable(Exception):
    """The ``ast`` cannot tell what the LibCST helper would answer: the caller should defer."""


def ast_first_arg(call: "ast.Call") -> "ast.expr | None":
    """The value of a call's first argument in source order, keyword or not (LibCST's ``call.args[0].value``)."""
    import ast

    first: ast.AST | None = None
    if call.args:
        first = call.args[0]
    if call.keywords:
        kw = call.keywords[0]
        if first is None or (kw.lineno, kw.col_offset) < (first.lineno, first.col_offset):  # type: ignore[attr-defined]
            return kw.value
    if isinstance(first, ast.Starred):
        return first.value
    return first  # type: ignore[return-value]


def ast_literal_text(node: "ast.AST | None", segment: "Callable[[ast.AST], str | None] | None" = None) -> str | None:
    """``literal_text`` on an ``ast`` expression. A plain or implicitly concatenated string is exact; an
    f-string (whose LibCST text keeps the raw source of its constant parts) is re-read with LibCST from
    its source ``segment``; without one, ``Undecidable`` is raised."""
    import ast

    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            return value
        if isinstance(value, bytes):
            return value.decode("latin-1", "replace")
        return None
    if isinstance(node, ast.JoinedStr):
        text = segment(node) if segment is not None else None
        if text is None:
            raise Undecidable
        try:
            expr = cst.parse_expression(f"(\n{text}\n)")
        except Exception as exc:
            raise Undecidable from exc
        return literal_text(expr)
    return None


_LINES: "weakref.WeakKeyDictionary[object, list[bytes]]" = weakref.WeakKeyDictionary()


def ast_segment(ctx: object, node: "ast.AST") -> str | None:
    """The source text of ``node`` (``ast`` positions are UTF-8 byte offsets); ``ctx`` is an AstContext."""
    lines = ast_source_lines(ctx)
    if lines is None:
        return None
    start, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
    col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
    if start is None or end is None or col is None or end_col is None or not (0 < start <= end <= len(lines)):
        return None
    if start == end:
        data = lines[start - 1][col:end_col]
    else:
        data = lines[start - 1][col:] + b"".join(lines[start:end - 1]) + lines[end - 1][:end_col]
    return data.decode("utf-8", "replace")


def ast_source_lines(ctx: object) -> list[bytes] | None:
    """The file's physical lines as UTF-8 bytes (what ``ast`` byte columns index), for an AstContext."""
    lines = _LINES.get(ctx)
    if lines is None:
        source: bytes = getattr(ctx, "source", b"") or b""
        try:
            encoding = tokenize.detect_encoding(io.BytesIO(source).readline)[0]
            text = source.decode(encoding)
        except (SyntaxError, LookupError, UnicodeDecodeError):
            return None
        if text.startswith("\ufeff"):
            text = text[1:]
        lines = _LINES[ctx] = text.encode("utf-8").splitlines(keepends=True)
    return lines
