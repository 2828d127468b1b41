from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

SPLITTERS = {"split", "rsplit", "partition", "rpartition"}
#: separators that only make sense on a URL-like string
URL_SEPARATORS = {":", "/", "?", "#", "@"}
#: parts of variable names that say the string is a URL (or its host:port part)
URL_NAME_HINTS = ("url", "uri", "endpoint", "netloc", "host_port", "hostport")


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    _lines: list[bytes] | None = None

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in SPLITTERS or not (node.args or node.keywords):
            return
        sep = self._first_literal(node)
        if sep is None or not self._is_url_split(func.value, sep):
            return
        inner = _ast_strip_subscripts(func.value)
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr in SPLITTERS:
            inner_sep = self._first_literal(inner) if (inner.args or inner.keywords) else None
            if inner_sep is not None and self._is_url_split(inner.func.value, inner_sep):
                return
        receiver = ast_dotted(func.value)
        if receiver is not None and not receiver.isascii():
            self.defer()  # ast normalises non-ASCII identifiers (NFKC), LibCST keeps them as written
            return
        self.report(node, call=f"{receiver or 'the string'}.{func.attr}({sep!r})")

    def _first_literal(self, call: ast.Call) -> str | None:
        """The value of the call's first argument (in source order) when it is one plain string literal."""
        first: ast.AST | None = None
        if call.keywords:
            candidates: list[ast.AST] = [*call.args, *call.keywords]
            first = min(candidates, key=lambda n: (n.lineno, n.col_offset))
        else:
            first = call.args[0]
        value = first.value if isinstance(first, (ast.Starred, ast.keyword)) else first
        if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
            return None
        if not self._single_literal(value):
            return None
        return value.value

    def _is_url_split(self, receiver: ast.expr, sep: str) -> bool:
        if "://" in sep:
            return True
        if sep not in URL_SEPARATORS:
            return False
        return self._url_like(receiver)

    def _url_like(self, expr: ast.expr) -> bool:
        base = _ast_strip_subscripts(expr)
        if isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and base.func.attr in SPLITTERS:
            sep = self._first_literal(base) if (base.args or base.keywords) else None
            return sep is not None and ("://" in sep or (sep in URL_SEPARATORS and self._url_like(base.func.value)))
        name = ast_dotted(base)
        if name is None:
            return False
        if not name.isascii():
            self.defer()
            return False
        last = name.rsplit(".", 1)[-1].lower()
        return any(hint in last for hint in URL_NAME_HINTS)

    def _single_literal(self, node: ast.Constant) -> bool:
        """Whether a string constant is one literal (a LibCST SimpleString), not an implicit concatenation."""
        if node.lineno != node.end_lineno:
            return _is_single_literal(_segment(self.context.source, node))
        lines = self._lines
        if lines is None:
            lines = self._lines = self.context.source.splitlines(keepends=True)
        line = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else b""
        return _is_single_literal(line[node.col_offset: node.end_col_offset])


def _segment(source: bytes, node: ast.AST) -> bytes:
    lines = source.splitlines(keepends=True)
    first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined]
    if first == last:
        return lines[first][node.col_offset: node.end_col_offset]  # type: ignore[attr-defined]
    return lines[first][node.col_offset:] + b"".join(lines[first + 1: last]) + lines[last][: node.end_col_offset]  # type: ignore[attr-defined]


def _is_single_literal(text: bytes) -> bool:
    i = 0
    while i < len(text) and text[i:i + 1] in b"rRbBuUfF":
        i += 1
    quote = text[i:i + 3] if text[i:i + 3] in (b'"""', b"'''") else text[i:i + 1]
    if quote not in (b'"', b"'", b'"""', b"'''"):
        return False
    j = i + len(quote)
    while j < len(text):
        if text[j:j + 1] == b"\\":
            j += 2
            continue
        if text[j:j + len(quote)] == quote:
            return j + len(quote) == len(text)
        j += 1
    return False


def _ast_strip_subscripts(expr: ast.expr) -> ast.expr:
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    return expr


class HandParsedUrl(Rule):
    """A URL taken apart with string methods: use `urllib.parse.urlsplit`.

    ## What it does
    Finds `split`/`rsplit`/`partition`/`rpartition` on `"://"` (any string), and on `":"`, `"/"`, `"?"`,
    `"#"` or `"@"` when the string is evidently a URL: a variable or attribute whose name says so
    (`url`, `base_url`, `self.endpoint`, `netloc`, `host_port`) or the result of such a split. One
    finding per expression: a chain such as `url.split("://", 1)[1].split("/", 1)[0]` is reported once.

    ## Why is this bad?
    Hand-written URL parsing gets the edge cases wrong: URLs without a scheme or port, IPv6 hosts
    (`http://[::1]:8080`), user info (`user:pass@host`), query strings and fragments, default ports per
    scheme. The Orchestration Engine's resource monitor derived host and port with
    `url.split("://", 1)[1]...` (plan item 3.4: "use `urllib.parse.urlparse` instead of string
    splitting").

    ## Fix
    `parts = urllib.parse.urlsplit(url)` and use `parts.hostname`, `parts.port`, `parts.path`,
    `parts.query`; or `httpx.URL(url)`.
    """

    code = "RMD711"
    ast_checker = _Fast
    name = "hand-parsed-url"
    message = "URL taken apart with {call}: use urllib.parse.urlsplit() (or httpx.URL) and its hostname/port/path"
    severity = Severity.MEDIUM
    default = Default.PREVIEW
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 3, item 3.4 (resource monitor splits URLs by hand)", "orchestration_engine"),
    )
    triggers = (b"split", b"partition")

    VALID = [
        Valid(
            """
            from urllib.parse import urlsplit

            def host_and_port(url: str) -> tuple[str, int]:
                parts = urlsplit(url)
                return parts.hostname or "localhost", parts.port or 80
            """
        ),
        Valid(
            """
            import httpx

            def base(url: str) -> str:
                parsed = httpx.URL(url)
                return f"{parsed.scheme}://{parsed.host}"
            """
        ),
        Valid(
            """
            def parse_header(line: str) -> tuple[str, str]:
                key, _, value = line.partition(":")
                return key.strip(), value.strip()

            def words(text: str) -> list[str]:
                return text.split("/")
            """
        ),
        Valid(
            """
            def build(host: str, port: int) -> str:
                return "http://" + host + ":" + str(port)

            def module_path(name: str) -> list[str]:
                return name.rsplit(".", 1)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            class ResourceMonitor:
                def _split(self, url: str) -> tuple[str, int]:
                    host_port = url.split("://", 1)[1].split("/", 1)[0]
                    host, _, port = host_port.partition(":")
                    return host, int(port or 80)
            """,
            line=3,
            count=2,
        ),
        Invalid(
            """
            def image_name(image_url):
                return image_url.rsplit("/", 1)[-1]
            """,
        ),
        Invalid(
            """
            class OllamaTool:
                def __init__(self, base_url: str) -> None:
                    self.base_url = base_url

                def port(self) -> int:
                    return int(self.base_url.split(":")[-1])
            """,
            line=6,
        ),
        Invalid(
            """
            def scheme_of(address: str) -> str:
                scheme, _, rest = address.partition("://")
                return scheme
            """,
        ),
        Invalid(
            """
            def strip_query(endpoint: str) -> str:
                return endpoint.split("?")[0]
            """,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in SPLITTERS or not node.args:
            return
        sep = _literal(node.args[0].value)
        if sep is None or not self._is_url_split(func.value, sep):
            return
        # a split of a split: the inner one is reported
        inner = _strip_subscripts(func.value)
        if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) and inner.func.attr.value in SPLITTERS:
            inner_sep = _literal(inner.args[0].value) if inner.args else None
            if inner_sep is not None and self._is_url_split(inner.func.value, inner_sep):
                return
        receiver = dotted_name(func.value) or "the string"
        self.report(node, call=f"{receiver}.{func.attr.value}({sep!r})")

    def _is_url_split(self, receiver: cst.BaseExpression, sep: str) -> bool:
        if "://" in sep:
            return True
        if sep not in URL_SEPARATORS:
            return False
        return _url_like(receiver)


def _literal(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _strip_subscripts(expr: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(expr, cst.Subscript):
        expr = expr.value
    return expr


def _url_like(expr: cst.BaseExpression) -> bool:
    """A name that says it holds a URL, or a piece of a URL split."""
    base = _strip_subscripts(expr)
    if isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute) and base.func.attr.value in SPLITTERS:
        sep = _literal(base.args[0].value) if base.args else None
        return sep is not None and ("://" in sep or (sep in URL_SEPARATORS and _url_like(base.func.value)))
    name = dotted_name(base)
    if name is None:
        return False
    last = name.rsplit(".", 1)[-1].lower()
    return any(hint in last for hint in URL_NAME_HINTS)
