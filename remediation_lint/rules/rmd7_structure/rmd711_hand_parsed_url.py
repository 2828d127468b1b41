from __future__ import annotations

import libcst as cst

from remediation_lint.analysis.names import dotted_name
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

SPLITTERS = {"split", "rsplit", "partition", "rpartition"}
#: separators that only make sense on a URL-like string
URL_SEPARATORS = {":", "/", "?", "#", "@"}
#: parts of variable names that say the string is a URL (or its host:port part)
URL_NAME_HINTS = ("url", "uri", "endpoint", "netloc", "host_port", "hostport")


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
