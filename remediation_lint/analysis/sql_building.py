"""How a SQL string is built: which interpolated values could carry input (RMD109).

A value is *safe* when it cannot carry caller data into the SQL text: literals, module constants
(UPPER_CASE names or names bound to a literal at module level), identifiers looked up in or checked
against a constant allow-list, placeholder lists built from counts (``",".join("?" for _ in ids)``,
``["?"] * len(ids)``), ``len()``/``int()`` results, and joins of lists that only ever receive literals.
Everything else (parameters, attributes of request bodies, results of unknown calls) may carry input.

The per-function facts (assignments, ``.append`` arguments, allow-list membership checks) are recorded
by the rule while the shared traversal goes, so only what precedes a query is known, which is what runs
before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from remediation_lint.analysis.names import dotted_name

SQL_WORDS = re.compile(
    r"\b(select|insert\s+into|update|delete\s+from|from|where|values|pragma|create\s+table|drop|alter|upsert|"
    r"match|like|join|order\s+by|group\s+by|limit|returning)\b",
    re.I,
)
SAFE_CALLS = frozenset({"len", "int", "float", "bool", "abs", "min", "max", "round", "quote_identifier", "quote_ident"})


@dataclass
class Scope:
    assigns: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    appends: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    #: names checked with ``x in ALLOWED`` / ``x not in ALLOWED``
    checked: set[str] = field(default_factory=set)


def is_constant_name(name: str) -> bool:
    core = name.strip("_")
    return bool(core) and core.upper() == core and any(c.isalpha() for c in core)


def string_text(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_text(node.left), string_text(node.right)
        return None if left is None or right is None else left + right
    return None


def literal_parts(node: cst.CSTNode) -> str:
    """The constant text of a string expression (f-string text parts, operands of ``+``/``%``)."""
    text = string_text(node)
    if text is not None:
        return text
    if isinstance(node, cst.FormattedString):
        return "".join(p.value if isinstance(p, cst.FormattedStringText) else " ? " for p in node.parts)
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.Modulo):
            return literal_parts(node.left)
        return literal_parts(node.left) + literal_parts(node.right)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
        return literal_parts(node.func.value)
    return ""


def looks_like_sql(text: str) -> bool:
    return bool(SQL_WORDS.search(text))


class Builder:
    """Answers questions about string expressions inside one function."""

    def __init__(self, scope: Scope, module_constants: set[str]) -> None:
        self.scope = scope
        self.constants = module_constants

    # -- values ----------------------------------------------------------------------------------
    def safe(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        if depth > 6:
            return False
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
            return True
        if isinstance(node, cst.Name):
            name = node.value
            if name in ("None", "True", "False") or is_constant_name(name) or name in self.constants:
                return True
            if name in self.scope.checked:
                return True
            values = self.scope.assigns.get(name)
            if not values:
                return False
            return all(self.safe(v, depth + 1) for v in values)
        if isinstance(node, cst.Attribute):
            head = node
            while isinstance(head, cst.Attribute):
                head = head.value
            return isinstance(head, cst.Name) and (head.value in ("self", "cls") or is_constant_name(head.value)) or (
                is_constant_name(node.attr.value)
            )
        if isinstance(node, cst.Subscript):
            base = dotted_name(node.value)
            return base is not None and is_constant_name(base.rsplit(".", 1)[-1])
        if isinstance(node, cst.FormattedString):
            return all(
                self.safe(p.expression, depth + 1) for p in node.parts if isinstance(p, cst.FormattedStringExpression)
            )
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Multiply):
                # ``"?, " * n`` / ``["?"] * len(ids)``
                return self._literal_seq(node.left) or self._literal_seq(node.right)
            return self.safe(node.left, depth + 1) and self.safe(node.right, depth + 1)
        if isinstance(node, cst.BooleanOperation):
            return self.safe(node.left, depth + 1) and self.safe(node.right, depth + 1)
        if isinstance(node, cst.IfExp):
            return self.safe(node.body, depth + 1) and self.safe(node.orelse, depth + 1)
        if isinstance(node, (cst.List, cst.Tuple)):
            return all(isinstance(e, cst.Element) and self.safe(e.value, depth + 1) for e in node.elements)
        if isinstance(node, cst.Call):
            return self._safe_call(node, depth)
        return False

    def _literal_seq(self, node: cst.BaseExpression) -> bool:
        if string_text(node) is not None:
            return True
        return isinstance(node, (cst.List, cst.Tuple)) and all(
            isinstance(e, cst.Element) and string_text(e.value) is not None for e in node.elements
        )

    def _safe_call(self, node: cst.Call, depth: int) -> bool:
        func = node.func
        name = dotted_name(func) or ""
        last = name.rsplit(".", 1)[-1]
        if last in SAFE_CALLS:
            return True
        if last == "str" and node.args:
            return self.safe(node.args[0].value, depth + 1)
        if isinstance(func, cst.Attribute):
            base = func.value
            if func.attr.value == "join" and string_text(base) is not None and node.args:
                return self._safe_iterable(node.args[0].value, depth)
            if func.attr.value == "get" and is_constant_name((dotted_name(base) or "").rsplit(".", 1)[-1]):
                return True
            if func.attr.value in ("upper", "lower", "strip") and not node.args:
                return self.safe(base, depth + 1)
        return False

    def _safe_iterable(self, node: cst.BaseExpression, depth: int) -> bool:
        if isinstance(node, (cst.GeneratorExp, cst.ListComp)):
            # ``f":p{i}" for i in range(len(ids))``: counters hold no values
            counters = set()
            comp = node.for_in
            while comp is not None:
                iterator = comp.iter
                if isinstance(iterator, cst.Call) and dotted_name(iterator.func) == "range" and isinstance(comp.target, cst.Name):
                    counters.add(comp.target.value)
                comp = comp.inner_for_in
            added = counters - self.scope.checked
            self.scope.checked |= added
            try:
                return self.safe(node.elt, depth + 1)
            finally:
                self.scope.checked -= added
        if isinstance(node, (cst.List, cst.Tuple)):
            return all(isinstance(e, cst.Element) and self.safe(e.value, depth + 1) for e in node.elements)
        if isinstance(node, cst.Name):
            if is_constant_name(node.value) or node.value in self.constants:
                return True
            appended = self.scope.appends.get(node.value, [])
            assigned = self.scope.assigns.get(node.value, [])
            if not assigned and not appended:
                return False
            return all(self._safe_iterable(v, depth + 1) for v in assigned) and all(
                self.safe(v, depth + 1) for v in appended
            )
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
            return self._literal_seq(node.left) or self._literal_seq(node.right)
        return False

    # -- query text ------------------------------------------------------------------------------
    def unsafe_part(self, node: cst.BaseExpression, depth: int = 0) -> cst.BaseExpression | None:
        """The first interpolated value of a built query string that may carry input, or None."""
        if depth > 6:
            return None
        if isinstance(node, cst.FormattedString):
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression) and not self.safe(part.expression):
                    return part.expression
            return None
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Modulo) and string_text(node.left) is not None:
                right = node.right
                values = (
                    [e.value for e in right.elements if isinstance(e, cst.Element)]
                    if isinstance(right, cst.Tuple)
                    else [e.value for e in right.elements if isinstance(e, cst.DictElement)]
                    if isinstance(right, cst.Dict)
                    else [right]
                )
                for value in values:
                    if not self.safe(value):
                        return value
                return None
            if isinstance(node.operator, cst.Add):
                return self.unsafe_part(node.left, depth + 1) or self._unsafe_operand(node.right, depth)
            return None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
            if string_text(node.func.value) is None:
                return None
            for arg in node.args:
                if not self.safe(arg.value):
                    return arg.value
            return None
        if isinstance(node, cst.Name):
            for value in self.scope.assigns.get(node.value, []):
                found = self.unsafe_part(value, depth + 1)
                if found is not None:
                    return found
        return None

    def _unsafe_operand(self, node: cst.BaseExpression, depth: int) -> cst.BaseExpression | None:
        if isinstance(node, (cst.FormattedString, cst.BinaryOperation)) or (
            isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format"
        ):
            return self.unsafe_part(node, depth + 1)
        return None if self.safe(node) else node

    def query_text(self, node: cst.BaseExpression, depth: int = 0) -> str:
        """The constant text of a query argument, through local names."""
        if isinstance(node, cst.Name) and depth < 4:
            return " ".join(self.query_text(v, depth + 1) for v in self.scope.assigns.get(node.value, []))
        text = literal_parts(node)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            text = self.query_text(node.left, depth + 1) + self.query_text(node.right, depth + 1)
        return text

    def is_built(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """True when the query argument is built (f-string, ``%``, ``.format``, ``+``), not a literal."""
        if isinstance(node, cst.FormattedString):
            return any(isinstance(p, cst.FormattedStringExpression) for p in node.parts)
        if isinstance(node, cst.BinaryOperation):
            return isinstance(node.operator, (cst.Modulo, cst.Add))
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
            return True
        if isinstance(node, cst.Name) and depth < 4:
            return any(self.is_built(v, depth + 1) for v in self.scope.assigns.get(node.value, []))
        return False


# -- ast side: source text as LibCST prints it (used by the fast-path checkers of RMD109/RMD112/RMD113) --
import ast as _ast  # noqa: E402
import io as _io  # noqa: E402
import keyword as _keyword  # noqa: E402
import re as _re  # noqa: E402
import tokenize as _tokenize  # noqa: E402

_LINE_END = _re.compile(r"\r\n|\r|\n")


class AstSource:
    """The text of ``ast`` nodes: ``code(node)`` is what LibCST's ``code_for_node`` gives for the twin node
    (its own parentheses included); None when that cannot be told for sure (the caller defers)."""

    def __init__(self, source: bytes) -> None:
        try:
            encoding = _tokenize.detect_encoding(_io.BytesIO(source).readline)[0]
        except (SyntaxError, LookupError):
            encoding = "utf-8"
        try:
            text = source.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            text = source.decode("utf-8", "replace")
        if text.startswith("\ufeff"):
            text = text[1:]
        self.text = text
        starts = [0]
        for match in _LINE_END.finditer(text):
            starts.append(match.end())
        self._starts = starts

    def _offset(self, line: int, byte_col: int) -> int:
        start = self._starts[line - 1] if 0 < line <= len(self._starts) else len(self.text)
        end = self._starts[line] if line < len(self._starts) else len(self.text)
        row = self.text[start:end]
        if row.isascii():
            return start + byte_col
        return start + len(row.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def bounds(self, node: _ast.AST) -> tuple[int, int]:
        return (
            self._offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self._offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def segment(self, node: _ast.AST) -> str:
        start, end = self.bounds(node)
        return self.text[start:end]

    def code(self, node: _ast.AST) -> str | None:
        """The node's text with its own parentheses (``(a / b)``), as LibCST's ``code_for_node``."""
        start, end = self.bounds(node)
        text = self.text
        opens: list[int] = []
        i = start - 1
        while i >= 0:
            ch = text[i]
            if ch in " \t\f":
                i -= 1
            elif ch == "(":
                opens.append(i)
                i -= 1
            elif ch in "\r\n":
                line_start = max(text.rfind("\n", 0, i), text.rfind("\r", 0, i)) + 1
                before = text[line_start:i].rstrip()
                if before.endswith(("(", "\\")) or "#" in before:
                    return None  # parentheses may open on the line before
                break
            else:
                break
        closes: list[int] = []
        j = end
        while j < len(text):
            ch = text[j]
            if ch in " \t\f":
                j += 1
            elif ch == ")":
                closes.append(j)
                j += 1
            elif ch in "\r\n#\\":
                rest = text[j:].lstrip()
                while rest.startswith("#") or rest.startswith("\\"):
                    cut = _LINE_END.search(rest)
                    rest = rest[cut.end():].lstrip() if cut else ""
                if rest.startswith(")"):
                    return None  # parentheses may close on a later line
                break
            else:
                break
        if opens:
            # the outermost "(" is a call's when an expression ends right before it
            k = opens[-1] - 1
            while k >= 0 and text[k] in " \t\f":
                k -= 1
            if k >= 0:
                ch = text[k]
                if ch in ")]}\"'":
                    opens.pop()
                elif ch.isalnum() or ch == "_" or not ch.isascii():
                    w = k
                    while w >= 0 and (text[w].isalnum() or text[w] == "_" or not text[w].isascii()):
                        w -= 1
                    if not _keyword.iskeyword(text[w + 1 : k + 1]):
                        opens.pop()
        own = min(len(opens), len(closes))
        if own == 0:
            return text[start:end]
        return text[opens[own - 1] : closes[own - 1] + 1]

    def single_literal(self, node: _ast.AST) -> bool | None:
        """A Constant/JoinedStr written as one string literal (LibCST SimpleString/FormattedString), not an
        implicit concatenation; None when it cannot be told."""
        segment = self.segment(node)
        try:
            tokens = [
                t for t in _tokenize.generate_tokens(_io.StringIO(segment).readline)
                if t.type not in (_tokenize.NEWLINE, _tokenize.NL, _tokenize.ENDMARKER, _tokenize.COMMENT, _tokenize.INDENT, _tokenize.DEDENT)
            ]
        except (_tokenize.TokenError, SyntaxError, IndentationError):
            return None
        if not tokens or any(t.type != _tokenize.STRING for t in tokens):
            return None
        return len(tokens) == 1


def source_args(call: _ast.Call) -> list[tuple[str | None, _ast.expr]]:
    """A call's arguments in source order, as LibCST's ``Call.args``: (keyword or None, value); ``*x`` and
    ``**x`` give (None, x)."""
    items: list[tuple[tuple[int, int], str | None, _ast.expr]] = []
    for arg in call.args:
        value = arg.value if isinstance(arg, _ast.Starred) else arg
        items.append(((arg.lineno, arg.col_offset), None, value))
    for kw in call.keywords:
        items.append(((kw.lineno, kw.col_offset), kw.arg, kw.value))
    if call.keywords and call.args:
        items.sort(key=lambda item: item[0])
    return [(kw, value) for _, kw, value in items]
