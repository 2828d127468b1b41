from __future__ import annotations

import ast
import re

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.analysis.sql_building import AstSource, source_args
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg"})
#: containers that carry credentials when logged whole
_WHOLE_CARRIERS = frozenset({"headers", "request_headers", "auth_headers"})
_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def secret_name(name: str) -> bool:
    """Whole name parts mark it secret: ``api_key``, ``access_token``, ``password``, ``client_secret``,
    ``authorization``; not ``token_count``, ``max_tokens``, ``tokens``, a bare ``key``."""
    parts = [p.lower() for p in _SPLIT.split(name) if p]
    if not parts:
        return False
    if any(p in ("password", "passwd", "pwd", "secret", "authorization", "apikey", "credentials", "bearer") for p in parts):
        return not (parts[-1] in ("len", "length", "count", "name", "names", "id", "field", "fields", "env", "var", "path", "file"))
    for a, b in zip(parts, parts[1:]):
        if (a, b) in (("api", "key"), ("private", "key"), ("secret", "key"), ("access", "key")):
            return True
    return parts[-1] == "token"


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._secret_dicts: list[set[str]] = [set()]
        self._source: AstSource | None = None

    def _single(self, node: ast.AST) -> bool:
        """Whether a Constant/JoinedStr is one literal (LibCST SimpleString/FormattedString); defers when unsure."""
        if self._source is None:
            self._source = AstSource(self.context.source)
        single = self._source.single_literal(node)
        if single is None:
            self.defer()
            return False
        return single

    def _string(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and self._single(node):
            return node.value
        return None

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self._secret_dicts.append(set())

    visit_AsyncFunctionDef = visit_FunctionDef

    def leave_FunctionDef(self, node: ast.AST) -> None:
        self._secret_dicts.pop()

    leave_AsyncFunctionDef = leave_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.value, ast.Dict) and self._dict_secret_key(node.value) is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self._secret_dicts[-1].add(target.id)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id != "print":
                return
            label = "print"
        elif isinstance(func, ast.Attribute) and func.attr in LOG_METHODS:
            owner = (ast_dotted(func.value) or "").rsplit(".", 1)[-1].lower()
            module = (self.context.qualified(func.value) or "").split(".", 1)[0]
            if not ("log" in owner or module in ("logging", "structlog", "loguru")):
                return
            label = ast_dotted(func) or func.attr
        else:
            return
        for keyword, value in source_args(node):
            what = self._secret(value)
            if what is None and keyword is not None and secret_name(keyword) and self._plain(value):
                what = f"`{keyword}`"
            if what is not None:
                self.report(node, call=label, what=what)
                return

    def _plain(self, value: ast.AST) -> bool:
        if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript)):
            return True
        return isinstance(value, ast.JoinedStr) and self._single(value)

    def _secret(self, value: ast.AST) -> str | None:
        if isinstance(value, ast.JoinedStr):
            found = None
            for part in value.values:
                if isinstance(part, ast.FormattedValue):
                    found = self._secret(part.value)
                    if found is not None:
                        break
            if found is not None and not self._single(value):
                return None  # implicit concatenation: LibCST's ConcatenatedString is not looked into
            return found
        if isinstance(value, ast.Name):
            if secret_name(value.id):
                return f"`{value.id}`"
            if value.id in self._secret_dicts[-1]:
                return f"`{value.id}`, which holds a secret-named key"
            if value.id in _WHOLE_CARRIERS:
                return f"`{value.id}` whole (Authorization included)"
            return None
        if isinstance(value, ast.Attribute):
            attr = value.attr
            if secret_name(attr):
                return f"`{ast_dotted(value) or attr}`"
            if attr in _WHOLE_CARRIERS:
                return f"`{ast_dotted(value) or attr}` whole (Authorization included)"
            return None
        if isinstance(value, ast.Subscript):
            key = value.slice
            if isinstance(key, ast.Tuple) and len(key.elts) == 1 and isinstance(key.elts[0], ast.Constant):
                if isinstance(key.elts[0].value, str) and secret_name(key.elts[0].value):
                    self.defer()  # ``x["token",]``: LibCST sees one subscript element
                return None
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and secret_name(key.value) and self._single(key):
                return f"the `{key.value}` entry"
            return None
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "get" and (value.args or value.keywords):
            key = source_args(value)[0][1]
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and secret_name(key.value) and self._single(key):
                return f"the `{key.value}` entry"
            return None
        if isinstance(value, ast.Dict):
            key = self._dict_secret_key(value)
            if key is not None:
                return f"a dict with the `{key}` key"
        return None

    def _dict_secret_key(self, node: ast.Dict) -> str | None:
        for key, value in zip(node.keys, node.values):
            if key is None:
                continue
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str) and secret_name(key.value)):
                continue
            if not self._single(key):
                continue
            if isinstance(value, ast.Call):
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes)) and self._single(value):
                continue  # a SimpleString (a ConcatenatedString does not count)
            return key.value
        return None


class SecretInLog(Rule):
    """Logging or printing a secret (API key, token, password) or a request that carries one.

    ## What it does
    Finds logger calls (`logger.info(...)`, `logging.debug(...)`, `log.error(...)`) and `print()` whose
    arguments (including the values interpolated in an f-string message) are names, attributes or keys
    that mark a secret by whole name parts (`api_key`, `access_token`, `token`, `password`, `secret`,
    `authorization`; not `token_count`, `tokens`, `max_tokens` or a bare `key`), request headers logged
    whole, or a dict (literal, or a local built as one) that holds a secret-named key, such as the whole
    request an agent harness is about to send.

    Redacted values are left alone: anything passed through a call (`redact(api_key)`, `len(token)`),
    sliced (`token[:4]`) or compared.

    ## Why is this bad?
    Logs are copied to aggregators, tickets and terminals that many more people and systems can read
    than the secret store. Hyperion's backlog (agent harness safety) asks for prompt redaction rules to
    prevent secret leakage: its harness logged the full provider request, API key included.

    ## Fix
    Log a redacted form (`key[:4] + "..."`, a fingerprint) or leave the secret out; build log records
    from an allow-list of fields instead of whole requests.
    """

    code = "RMD113"
    ast_checker = _Fast
    name = "secret-in-log"
    message = "{call}() logs {what}: log a redacted form or leave the secret out"
    severity = Severity.MEDIUM
    default = Default.PREVIEW
    provenance = (Provenance("002_cc3ae69c69bad11e.txt", "Agent Harness Safety (prompt redaction rules to prevent secret leakage)", "hyperion"),)
    triggers = (b"log", b"print")
    cwe = (532,)

    VALID = [
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            def _redact(value: str) -> str:
                return value[:4] + "..." if value else "<unset>"

            def call_provider(api_key: str, prompt: str) -> None:
                logger.info("calling provider with key %s (%d prompt chars)", _redact(api_key), len(prompt))
            """
        ),
        Valid(
            """
            import logging

            def report_usage(max_tokens: int, token_count: int, tokens: list) -> None:
                logging.info("used %d of %d tokens (%d chunks)", token_count, max_tokens, len(tokens))
            """
        ),
        Valid(
            """
            def show(config: dict, key: str) -> None:
                print(f"{key} = {config[key]}")
                print("token set:", config.get("token") is not None)
            """
        ),
        Valid(
            """
            import logging

            log = logging.getLogger("harness")

            def send(client, prompt: str, api_key: str):
                request = {"model": "m", "prompt": prompt}
                log.debug("request: %s", request)
                return client.post(request, headers={"Authorization": f"Bearer {api_key}"})
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import logging

            logger = logging.getLogger(__name__)

            def call_provider(api_key: str, prompt: str) -> None:
                logger.debug("calling provider with key %s", api_key)
            """,
            line=6,
        ),
        Invalid(
            """
            import logging as lg

            class Harness:
                def run(self, prompt: str) -> None:
                    lg.info(f"running agent with token={self.access_token} prompt={prompt!r}")
            """,
            line=5,
        ),
        Invalid(
            """
            import logging

            log = logging.getLogger("harness")

            def send(client, prompt: str, key: str):
                request = {"model": "m", "prompt": prompt, "api_key": key}
                log.debug("request: %s", request)
                return client.post(request)
            """,
            line=7,
        ),
        Invalid(
            """
            def login(session, settings):
                print("connecting with password", settings["db_password"])
                print("headers:", session.headers)
            """,
            count=2,
        ),
        Invalid(
            """
            import structlog

            logger = structlog.get_logger()

            async def refresh(client, refresh_token: str):
                logger.warning("refresh failed", token=refresh_token)
            """,
            line=6,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        #: per function: names bound to a dict literal holding a secret-named key
        self._secret_dicts: list[set[str]] = [set()]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._secret_dicts.append(set())

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._secret_dicts.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        if isinstance(node.value, cst.Dict) and _dict_secret_key(node.value) is not None:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self._secret_dicts[-1].add(target.target.value)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            if func.value != "print":
                return
            label = "print"
        elif isinstance(func, cst.Attribute) and func.attr.value in LOG_METHODS:
            owner = (dotted_name(func.value) or "").rsplit(".", 1)[-1].lower()
            module = (self.context.qualified(func.value) or "").split(".", 1)[0]
            if not ("log" in owner or module in ("logging", "structlog", "loguru")):
                return
            label = dotted_name(func) or func.attr.value
        else:
            return
        for arg in node.args:
            what = self._secret(arg.value)
            if what is None and arg.keyword is not None and secret_name(arg.keyword.value) and _plain(arg.value):
                what = f"`{arg.keyword.value}`"
            if what is not None:
                self.report(node, call=label, what=what)
                return

    def _secret(self, value: cst.BaseExpression) -> str | None:
        if isinstance(value, cst.FormattedString):
            for part in value.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    found = self._secret(part.expression)
                    if found is not None:
                        return found
            return None
        if isinstance(value, cst.Name):
            if secret_name(value.value):
                return f"`{value.value}`"
            if value.value in self._secret_dicts[-1]:
                return f"`{value.value}`, which holds a secret-named key"
            if value.value in _WHOLE_CARRIERS:
                return f"`{value.value}` whole (Authorization included)"
            return None
        if isinstance(value, cst.Attribute):
            attr = value.attr.value
            if secret_name(attr):
                return f"`{dotted_name(value) or attr}`"
            if attr in _WHOLE_CARRIERS:
                return f"`{dotted_name(value) or attr}` whole (Authorization included)"
            return None
        if isinstance(value, cst.Subscript):
            key = _subscript_key(value)
            if key is not None and secret_name(key):
                return f"the `{key}` entry"
            return None
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "get" and value.args:
            key = _string(value.args[0].value)
            if key is not None and secret_name(key):
                return f"the `{key}` entry"
            return None
        if isinstance(value, cst.Dict):
            key = _dict_secret_key(value)
            if key is not None:
                return f"a dict with the `{key}` key"
        return None


def _plain(value: cst.BaseExpression) -> bool:
    return isinstance(value, (cst.Name, cst.Attribute, cst.Subscript, cst.FormattedString))


def _subscript_key(node: cst.Subscript) -> str | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    return _string(node.slice[0].slice.value)


def _dict_secret_key(node: cst.Dict) -> str | None:
    for element in node.elements:
        if isinstance(element, cst.DictElement):
            key = _string(element.key)
            if key is not None and secret_name(key) and not isinstance(element.value, (cst.SimpleString, cst.Call)):
                return key
    return None


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None
