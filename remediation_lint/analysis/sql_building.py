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

import ast as _ast
import io as _io
import keyword as _keyword
import re
import re as _re
import tokenize as _tokenize
from dataclasses import dataclass, field

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name

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


# -- ast side: the twin of ``Builder`` (RMD109's fast path) ------------------------------------------
class CannotTell(Exception):
    """Raised by the ast twins when a case cannot be decided exactly on ``ast`` (the checker defers)."""


class AstStrings:
    """How LibCST sees the ``ast`` string nodes of one file: a ``JoinedStr`` is a ``FormattedString`` when
    it is one literal and a ``ConcatenatedString`` otherwise; f-string text parts as LibCST keeps them."""

    def __init__(self, source: bytes) -> None:
        self._source_bytes = source
        self._source: AstSource | None = None
        self._kinds: dict[int, bool] = {}

    @property
    def source(self) -> AstSource:
        if self._source is None:
            self._source = AstSource(self._source_bytes)
        return self._source

    def is_fstring(self, node: _ast.AST) -> bool:
        """A JoinedStr that is one f-string literal (LibCST FormattedString)."""
        if not isinstance(node, _ast.JoinedStr):
            return False
        single = self._kinds.get(id(node))
        if single is None:
            found = self.source.single_literal(node)
            if found is None:
                raise CannotTell("string literal")
            single = self._kinds[id(node)] = found
        return single

    def is_concat(self, node: _ast.AST) -> bool:
        """A JoinedStr that LibCST sees as a ConcatenatedString (with an f-string part)."""
        return isinstance(node, _ast.JoinedStr) and not self.is_fstring(node)

    def text_parts(self, node: _ast.JoinedStr) -> list[str | _ast.expr]:
        """LibCST's parts of a one-literal f-string: raw text (str, escapes and ``{{`` kept as written)
        and expressions."""
        texts = _raw_fstring_texts(self.source.segment(node))
        values = [v.value for v in node.values if isinstance(v, _ast.FormattedValue)]
        if texts is None or len(texts) != len(values) + 1:
            raise CannotTell("f-string text")
        out: list[str | _ast.expr] = []
        for i, text in enumerate(texts):
            if text:
                out.append(text)
            if i < len(values):
                out.append(values[i])
        return out

    def code(self, node: _ast.AST) -> str:
        """LibCST's ``code_for_node`` of the twin node, checked by parsing it back."""
        code = self.source.code(node)
        if code is None:
            raise CannotTell("parentheses")
        try:
            back = _ast.parse("(\n" + code + "\n)", mode="eval").body
        except SyntaxError:
            raise CannotTell("position") from None
        if _ast.dump(back) != _ast.dump(node):
            raise CannotTell("position")
        return code


def _raw_fstring_texts(segment: str) -> list[str] | None:
    """The raw text runs of one f-string literal around its replacement fields (n fields: n + 1 runs,
    possibly empty), as LibCST's FormattedStringText values; None when the literal is not understood."""
    i = 0
    while i < len(segment) and segment[i] in "fFrRbBuU":
        i += 1
    body = segment[i:]
    for quote in ('"""', "'''", '"', "'"):
        if body.startswith(quote) and body.endswith(quote) and len(body) >= 2 * len(quote):
            body = body[len(quote) : len(body) - len(quote)]
            break
    else:
        return None
    texts: list[str] = []
    current: list[str] = []
    j = 0
    n = len(body)
    while j < n:
        ch = body[j]
        if ch == "\\":
            current.append(body[j : j + 2])
            j += 2
            continue
        if ch == "{" and body[j + 1 : j + 2] == "{":
            current.append("{{")
            j += 2
            continue
        if ch == "}" and body[j + 1 : j + 2] == "}":
            current.append("}}")
            j += 2
            continue
        if ch == "}":
            return None
        if ch == "{":
            texts.append("".join(current))
            current = []
            depth = 0
            j += 1
            while j < n:
                c = body[j]
                if c in "'\"":
                    end = body.find(c, j + 1)
                    if end < 0:
                        return None
                    j = end + 1
                    continue
                if c == "\\":
                    return None
                if c in "([{":
                    depth += 1
                elif c in ")]":
                    depth -= 1
                elif c == "}":
                    if depth == 0:
                        break
                    depth -= 1
                j += 1
            else:
                return None
            j += 1
            continue
        current.append(ch)
        j += 1
    texts.append("".join(current))
    return texts


def ast_string_text(node: _ast.AST) -> str | None:
    """``string_text``: a str literal (one or implicitly concatenated, no f-string part)."""
    if isinstance(node, _ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _elements(node: _ast.AST) -> list[_ast.expr]:
    """The values of a List/Tuple/Set's plain elements (LibCST ``Element``), starred ones left out."""
    return [e for e in node.elts if not isinstance(e, _ast.Starred)]  # type: ignore[attr-defined]


def _all_plain(node: _ast.AST) -> bool:
    return not any(isinstance(e, _ast.Starred) for e in node.elts)  # type: ignore[attr-defined]


def ast_literal_parts(node: _ast.AST, strings: AstStrings) -> str:
    text = ast_string_text(node)
    if text is not None:
        return text
    if strings.is_fstring(node):
        return "".join(p if isinstance(p, str) else " ? " for p in strings.text_parts(node))  # type: ignore[arg-type]
    if isinstance(node, _ast.BinOp):
        if isinstance(node.op, _ast.Mod):
            return ast_literal_parts(node.left, strings)
        return ast_literal_parts(node.left, strings) + ast_literal_parts(node.right, strings)
    if isinstance(node, _ast.Call) and isinstance(node.func, _ast.Attribute) and node.func.attr == "format":
        return ast_literal_parts(node.func.value, strings)
    return ""


@dataclass
class AstScope:
    assigns: dict[str, list[_ast.expr]] = field(default_factory=dict)
    appends: dict[str, list[_ast.expr]] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)


def _is_format_call(node: _ast.AST) -> bool:
    return isinstance(node, _ast.Call) and isinstance(node.func, _ast.Attribute) and node.func.attr == "format"


class AstBuilder:
    """``Builder`` on ``ast`` nodes (same answers; raises CannotTell where it cannot be sure)."""

    def __init__(self, scope: AstScope, module_constants: set[str], strings: AstStrings) -> None:
        self.scope = scope
        self.constants = module_constants
        self.strings = strings

    def safe(self, node: _ast.AST, depth: int = 0) -> bool:
        if depth > 6:
            return False
        if isinstance(node, _ast.Constant):
            # str/bytes (Simple/ConcatenatedString), int, float; True/False/None are Names in LibCST
            return not isinstance(node.value, complex) and node.value is not Ellipsis
        if isinstance(node, _ast.JoinedStr):
            if self.strings.is_concat(node):
                return True
            return all(
                self.safe(p.value, depth + 1) for p in node.values if isinstance(p, _ast.FormattedValue)
            )
        if isinstance(node, _ast.Name):
            name = node.id
            if is_constant_name(name) or name in self.constants:
                return True
            if name in self.scope.checked:
                return True
            values = self.scope.assigns.get(name)
            if not values:
                return False
            return all(self.safe(v, depth + 1) for v in values)
        if isinstance(node, _ast.Attribute):
            head = node
            while isinstance(head, _ast.Attribute):
                head = head.value
            return isinstance(head, _ast.Name) and (head.id in ("self", "cls") or is_constant_name(head.id)) or (
                is_constant_name(node.attr)
            )
        if isinstance(node, _ast.Subscript):
            base = ast_dotted(node.value)
            return base is not None and is_constant_name(base.rsplit(".", 1)[-1])
        if isinstance(node, _ast.BinOp):
            if isinstance(node.op, _ast.Mult):
                return self._literal_seq(node.left) or self._literal_seq(node.right)
            return self.safe(node.left, depth + 1) and self.safe(node.right, depth + 1)
        if isinstance(node, _ast.BoolOp):
            return self._bool_safe(node.values, depth)
        if isinstance(node, _ast.IfExp):
            return self.safe(node.body, depth + 1) and self.safe(node.orelse, depth + 1)
        if isinstance(node, (_ast.List, _ast.Tuple)):
            return _all_plain(node) and all(self.safe(e, depth + 1) for e in node.elts)
        if isinstance(node, _ast.Call):
            return self._safe_call(node, depth)
        return False

    def _bool_safe(self, values: list[_ast.expr], depth: int) -> bool:
        # LibCST nests ``a or b or c`` as ``(a or b) or c``
        if len(values) == 1:
            return self.safe(values[0], depth)
        if depth > 6:
            return False
        return self._bool_safe(values[:-1], depth + 1) and self.safe(values[-1], depth + 1)

    def _literal_seq(self, node: _ast.AST) -> bool:
        if ast_string_text(node) is not None:
            return True
        return isinstance(node, (_ast.List, _ast.Tuple)) and _all_plain(node) and all(
            ast_string_text(e) is not None for e in node.elts
        )

    def _safe_call(self, node: _ast.Call, depth: int) -> bool:
        func = node.func
        name = ast_dotted(func) or ""
        last = name.rsplit(".", 1)[-1]
        if last in SAFE_CALLS:
            return True
        args = source_args(node)
        if last == "str" and args:
            return self.safe(args[0][1], depth + 1)
        if isinstance(func, _ast.Attribute):
            base = func.value
            if func.attr == "join" and ast_string_text(base) is not None and args:
                return self._safe_iterable(args[0][1], depth)
            if func.attr == "get" and is_constant_name((ast_dotted(base) or "").rsplit(".", 1)[-1]):
                return True
            if func.attr in ("upper", "lower", "strip") and not args:
                return self.safe(base, depth + 1)
        return False

    def _safe_iterable(self, node: _ast.AST, depth: int) -> bool:
        if isinstance(node, (_ast.GeneratorExp, _ast.ListComp)):
            counters = set()
            for comp in node.generators:
                iterator = comp.iter
                if isinstance(iterator, _ast.Call) and ast_dotted(iterator.func) == "range" and isinstance(comp.target, _ast.Name):
                    counters.add(comp.target.id)
            added = counters - self.scope.checked
            self.scope.checked |= added
            try:
                return self.safe(node.elt, depth + 1)
            finally:
                self.scope.checked -= added
        if isinstance(node, (_ast.List, _ast.Tuple)):
            return _all_plain(node) and all(self.safe(e, depth + 1) for e in node.elts)
        if isinstance(node, _ast.Name):
            if is_constant_name(node.id) or node.id in self.constants:
                return True
            appended = self.scope.appends.get(node.id, [])
            assigned = self.scope.assigns.get(node.id, [])
            if not assigned and not appended:
                return False
            return all(self._safe_iterable(v, depth + 1) for v in assigned) and all(
                self.safe(v, depth + 1) for v in appended
            )
        if isinstance(node, _ast.BinOp) and isinstance(node.op, _ast.Mult):
            return self._literal_seq(node.left) or self._literal_seq(node.right)
        return False

    def unsafe_part(self, node: _ast.AST, depth: int = 0) -> _ast.AST | None:
        if depth > 6:
            return None
        if self.strings.is_fstring(node):
            for part in node.values:  # type: ignore[attr-defined]
                if isinstance(part, _ast.FormattedValue) and not self.safe(part.value):
                    return part.value
            return None
        if isinstance(node, _ast.BinOp):
            if isinstance(node.op, _ast.Mod) and ast_string_text(node.left) is not None:
                right = node.right
                if isinstance(right, _ast.Tuple):
                    values = _elements(right)
                elif isinstance(right, _ast.Dict):
                    values = [v for k, v in zip(right.keys, right.values) if k is not None]
                else:
                    values = [right]
                for value in values:
                    if not self.safe(value):
                        return value
                return None
            if isinstance(node.op, _ast.Add):
                return self.unsafe_part(node.left, depth + 1) or self._unsafe_operand(node.right, depth)
            return None
        if _is_format_call(node):
            if ast_string_text(node.func.value) is None:  # type: ignore[attr-defined]
                return None
            for _, value in source_args(node):  # type: ignore[arg-type]
                if not self.safe(value):
                    return value
            return None
        if isinstance(node, _ast.Name):
            for value in self.scope.assigns.get(node.id, []):
                found = self.unsafe_part(value, depth + 1)
                if found is not None:
                    return found
        return None

    def _unsafe_operand(self, node: _ast.AST, depth: int) -> _ast.AST | None:
        if self.strings.is_fstring(node) or isinstance(node, _ast.BinOp) or _is_format_call(node):
            return self.unsafe_part(node, depth + 1)
        return None if self.safe(node) else node

    def query_text(self, node: _ast.AST, depth: int = 0) -> str:
        if isinstance(node, _ast.Name) and depth < 4:
            return " ".join(self.query_text(v, depth + 1) for v in self.scope.assigns.get(node.id, []))
        text = ast_literal_parts(node, self.strings)
        if isinstance(node, _ast.BinOp) and isinstance(node.op, _ast.Add):
            text = self.query_text(node.left, depth + 1) + self.query_text(node.right, depth + 1)
        return text

    def is_built(self, node: _ast.AST, depth: int = 0) -> bool:
        if self.strings.is_fstring(node):
            return any(isinstance(p, _ast.FormattedValue) for p in node.values)  # type: ignore[attr-defined]
        if isinstance(node, _ast.BinOp):
            return isinstance(node.op, (_ast.Mod, _ast.Add))
        if _is_format_call(node):
            return True
        if isinstance(node, _ast.Name) and depth < 4:
            return any(self.is_built(v, depth + 1) for v in self.scope.assigns.get(node.id, []))
        return False
