from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.code_exec import ast_constant_text, constant_text
from remediation_lint.analysis.secrets import is_secret_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity, Valid

_ENV_READERS = {"os.getenv": "getenv", "os.environ.get": "get", "os.environ.setdefault": "setdefault"}
_JWT_CALLS = frozenset({"jwt.encode", "jwt.decode", "jose.jwt.encode", "jose.jwt.decode"})
_SETTINGS_BASES = ("BaseSettings",)
_SETTINGS_SUFFIXES = ("Settings", "Config", "Configuration")


def _ast_args(call: ast.Call) -> list[tuple[str | None, ast.expr]]:
    """The call's arguments in source order as LibCST lists them: (keyword or None, value); a ``*x``/``**x``
    argument gives x with keyword None/"**"."""
    items: list[tuple[tuple[int, int], str | None, ast.expr]] = []
    for arg in call.args:
        value = arg.value if isinstance(arg, ast.Starred) else arg
        items.append(((arg.lineno, arg.col_offset), "*" if isinstance(arg, ast.Starred) else None, value))
    for kw in call.keywords:
        items.append(((kw.lineno, kw.col_offset), kw.arg if kw.arg is not None else "**", kw.value))
    items.sort(key=lambda item: item[0])
    return [(name, value) for _, name, value in items]


def _ast_default(args: list[tuple[str | None, ast.expr]], position: int = 1) -> ast.expr | None:
    for name, value in args:
        if name == "default":
            return value
    positional = [value for name, value in args if name is None]
    return positional[position] if len(positional) > position else None


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not (node.args or node.keywords):
            return
        if isinstance(func, ast.Attribute):
            if func.attr not in self._last_parts():
                return  # qualified and dotted names end with the attribute's name
        elif not isinstance(func, ast.Name):
            return
        dotted = self.context.dotted(func)
        if dotted is None:
            return
        qualified = self.context.qualified(func)
        if qualified in _JWT_CALLS:
            self._check_jwt(node, qualified, _ast_args(node))
            return
        env = _ENV_READERS.get(qualified or "")
        if env is None and dotted not in self.opts["config_getters"]:
            return
        args = _ast_args(node)
        name, first = args[0]
        key = ast_constant_text(first) if name in (None, "*") else None
        if key is None or not is_secret_name(key):
            return
        default_value = _ast_default(args)
        if default_value is None:
            return
        default = ast_constant_text(default_value)
        if default is None or len(default) >= self.opts["min_length"]:
            return
        fix = None
        head = _ast_os_head(func)
        if env in ("getenv", "get") and len(args) == 2 and head is not None and self.context.imports.qualify(head) == "os":
            fix = FixSafety.UNSAFE
        self.report(node, setting=repr(key), default=repr(default), min_length=self.opts["min_length"], fix=fix)

    _lasts: frozenset[str] | None = None

    def _last_parts(self) -> frozenset[str]:
        if self._lasts is None:
            names = [*_JWT_CALLS, *_ENV_READERS, *self.opts["config_getters"]]
            self._lasts = frozenset(str(name).rsplit(".", 1)[-1] for name in names)
        return self._lasts

    def _check_jwt(self, node: ast.Call, qualified: str, args: list[tuple[str | None, ast.expr]]) -> None:
        key_value = None
        for name, value in args:
            if name == "key":
                key_value = value
        if key_value is None and len(args) >= 2 and args[1][0] in (None, "*", "**"):
            key_value = args[1][1]
        if key_value is None:
            return
        key = ast_constant_text(key_value)
        if key is None or len(key) >= self.opts["min_length"]:
            return
        self.report(node, message=f"{qualified}() with the literal key {key!r}: anyone can forge these tokens; "
                    f"use a required secret of at least {self.opts['min_length']} characters from configuration")

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is None or not isinstance(node.target, ast.Name):
            return
        cls = self.context.enclosing_class()
        if cls is None or self.context.enclosing_function() is not None or not self._is_settings_class(cls):
            return
        name = node.target.id
        if not is_secret_name(name):
            return
        value = node.value
        if isinstance(value, ast.Call) and (self.context.dotted(value.func) or "").rsplit(".", 1)[-1] in ("Field", "SecretStr"):
            default_value = _ast_default(_ast_args(value), position=0)
            if default_value is None:
                return
            value = default_value
        default = ast_constant_text(value)
        if default is None or len(default) >= self.opts["min_length"]:
            return
        self.report(node, setting=f"field {name!r}", default=repr(default), min_length=self.opts["min_length"])

    def _is_settings_class(self, cls: ast.ClassDef) -> bool:
        for base in cls.bases:
            if isinstance(base, ast.Starred):
                base = base.value
            dotted = self.context.dotted(base) or ""
            if dotted.rsplit(".", 1)[-1] in _SETTINGS_BASES:
                return True
        return cls.name.endswith(_SETTINGS_SUFFIXES)


def _ast_os_head(func: ast.expr) -> str | None:
    node = func
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) and node is not func else None


class WeakSecretDefault(Rule):
    """A secret setting read with an empty or short default: a missing value silently becomes a guessable key.

    ## What it does
    Finds settings whose name says they hold a secret (name parts `SECRET`, `PASSWORD`, `PASSWD`,
    `API_KEY`, a trailing `_KEY`, or `TOKEN` as a whole part; not counts and limits such as
    `MAX_TOKENS`, `prompt_tokens`, `TOKEN_TTL_SECONDS`) read with a literal default that is empty or
    shorter than `min_length` characters: `os.getenv("AUTH_SECRET_KEY", "")`,
    `os.environ.get("DB_PASSWORD", "changeme")`, `cfg("auth.secret_key", "")` (the config getters are an
    option), a field `secret_key: str = ""` of a pydantic `BaseSettings` or a `*Settings`/`*Config`
    class, and `jwt.encode(...)`/`jwt.decode(...)` given a short literal key.

    ## Why is this bad?
    When the setting is missing the application starts anyway, with a secret everyone can guess. The
    Orchestration Engine plan (Phase 1, §1.1) found `AUTH_SECRET_KEY` defaulting to `""` in
    `config.py`: PyJWT signed tokens with an empty key, so anyone could forge a login.

    ## Fix
    Require the value (`os.environ["AUTH_SECRET_KEY"]`, a pydantic field without a default) and validate
    at startup that it is present and at least 32 characters long, failing fast with a clear message.

    ## Fix safety
    Unsafe: `os.getenv("X", "")` and `os.environ.get("X", "...")` become `os.environ["X"]`, so a missing
    variable now stops the program with `KeyError` at the read instead of running with a weak secret.
    """

    code = "RMD106"
    ast_checker = _Fast
    name = "weak-secret-default"
    message = "secret setting {setting} read with default {default}: require it (no default) and check at startup that it is at least {min_length} characters"
    severity = Severity.CRITICAL
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 1, §1.1 (AUTH_SECRET_KEY defaults to an empty string)", "orchestration_engine"),
    )
    fix_safety = FixSafety.UNSAFE
    triggers = (b"getenv", b"environ", b"jwt", b"SECRET", b"secret", b"KEY", b"key", b"PASSWORD", b"password", b"TOKEN", b"token", b"PASSWD", b"passwd")
    cwe = (1188, 321)
    options = {
        "min_length": 32,
        "config_getters": ("cfg", "get_config", "get_setting", "config.get", "settings.get", "conf.get", "CONFIG.get", "_config.get", "self.config.get", "self.settings.get", "env.str"),
    }
    option_docs = {
        "min_length": "defaults shorter than this are weak (the plan asks for at least 32 characters)",
        "config_getters": "dotted names of project config readers taking (key, default)",
    }

    VALID = [
        Valid(
            """
            import os

            AUTH_SECRET_KEY = os.environ["AUTH_SECRET_KEY"]

            def validate_config() -> None:
                if len(AUTH_SECRET_KEY) < 32:
                    raise RuntimeError("FATAL: auth.secret_key is missing or too short in config.json")
            """
        ),
        Valid(
            """
            import os

            MAX_TOKENS = os.getenv("MAX_TOKENS", "4096")
            TOKEN_TTL_SECONDS = os.getenv("TOKEN_TTL_SECONDS", "3600")
            AUTH_ALGORITHM = os.getenv("AUTH_ALGORITHM", "HS256")
            API_KEY_HEADER = os.getenv("API_KEY_HEADER", "X-API-Key")
            CACHE_KEY = os.getenv("CACHE_KEY", "jobs")
            """
        ),
        Valid(
            """
            import os

            SECRET_KEY = os.getenv("SECRET_KEY")
            if not SECRET_KEY:
                raise RuntimeError("SECRET_KEY must be set")
            """
        ),
        Valid(
            """
            from pydantic import BaseModel

            class LoginRequest(BaseModel):
                email: str
                password: str = ""
            """
        ),
        Valid(
            """
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                secret_key: str
                prompt_tokens: int = 0
                database_password: str | None = None
            """
        ),
        Valid(
            """
            def read(payload: dict):
                return payload.get("password", "")
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import os

            AUTH_SECRET_KEY = os.getenv("AUTH_SECRET_KEY", "")
            AUTH_ALGORITHM = "HS256"
            """,
            fixed="""
            import os

            AUTH_SECRET_KEY = os.environ["AUTH_SECRET_KEY"]
            AUTH_ALGORITHM = "HS256"
            """,
            line=3,
        ),
        Invalid(
            """
            import os as _os

            class Database:
                def __init__(self):
                    self.password = _os.environ.get("DB_PASSWORD", "changeme")
            """,
            fixed="""
            import os as _os

            class Database:
                def __init__(self):
                    self.password = _os.environ["DB_PASSWORD"]
            """,
            line=5,
        ),
        Invalid(
            """
            from backend.config import cfg

            AUTH_SECRET_KEY = cfg("auth.secret_key", "")
            ANTHROPIC_API_KEY = cfg("anthropic.api_key", default="sk-dev")
            """,
            line=3,
            count=2,
        ),
        Invalid(
            """
            from pydantic import Field
            from pydantic_settings import BaseSettings

            class Settings(BaseSettings):
                jwt_secret: str = "dev-secret"
                github_token: str = Field(default="")
            """,
            line=5,
            count=2,
        ),
        Invalid(
            """
            import jwt

            def issue(user_id: str) -> str:
                return jwt.encode({"sub": user_id}, "", algorithm="HS256")
            """,
            line=4,
        ),
        Invalid(
            """
            from os import getenv

            async def connect():
                token = getenv("SLACK_BOT_TOKEN", "xoxb-test")
                return token
            """,
            line=4,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, (cst.Name, cst.Attribute)) or not node.args:
            return
        dotted = self.context.dotted(func)
        if dotted is None:
            return
        qualified = self.context.qualified(func)
        if qualified in _JWT_CALLS:
            self._check_jwt(node, qualified)
            return
        env = _ENV_READERS.get(qualified or "")
        if env is None and dotted not in self.opts["config_getters"]:
            return
        key = constant_text(node.args[0].value) if node.args[0].keyword is None else None
        if key is None or not is_secret_name(key):
            return
        default_arg = _default_arg(node)
        if default_arg is None:
            return
        default = constant_text(default_arg.value)
        if default is None or len(default) >= self.opts["min_length"]:
            return
        fix = None
        head = _os_head(func)
        if env in ("getenv", "get") and len(node.args) == 2 and head is not None and self.context.imports.qualify(head) == "os":
            replacement = cst.Subscript(
                value=cst.Attribute(cst.Name(head), cst.Name("environ")),
                slice=[cst.SubscriptElement(cst.Index(node.args[0].value))],
            )
            fix = self.make_fix((node, replacement))
        self.report(node, setting=repr(key), default=repr(default), min_length=self.opts["min_length"], fix=fix)

    def _check_jwt(self, node: cst.Call, qualified: str) -> None:
        key_arg = None
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "key":
                key_arg = arg
        if key_arg is None and len(node.args) >= 2 and node.args[1].keyword is None:
            key_arg = node.args[1]
        if key_arg is None:
            return
        key = constant_text(key_arg.value)
        if key is None or len(key) >= self.opts["min_length"]:
            return
        self.report(node, message=f"{qualified}() with the literal key {key!r}: anyone can forge these tokens; "
                    f"use a required secret of at least {self.opts['min_length']} characters from configuration")

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is None or not isinstance(node.target, cst.Name):
            return
        cls = self.context.enclosing_class()
        if cls is None or self.context.enclosing_function() is not None or not self._is_settings_class(cls):
            return
        name = node.target.value
        if not is_secret_name(name):
            return
        value = node.value
        if isinstance(value, cst.Call) and (self.context.dotted(value.func) or "").rsplit(".", 1)[-1] in ("Field", "SecretStr"):
            default_arg = _default_arg(value, position=0)
            if default_arg is None:
                return
            value = default_arg.value
        default = constant_text(value)
        if default is None or len(default) >= self.opts["min_length"]:
            return
        self.report(node, setting=f"field {name!r}", default=repr(default), min_length=self.opts["min_length"])

    def _is_settings_class(self, cls: cst.ClassDef) -> bool:
        for base in cls.bases:
            if base.keyword is not None:
                continue
            dotted = self.context.dotted(base.value) or ""
            if dotted.rsplit(".", 1)[-1] in _SETTINGS_BASES:
                return True
        return cls.name.value.endswith(_SETTINGS_SUFFIXES)


def _default_arg(call: cst.Call, position: int = 1) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "default":
            return arg
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[position] if len(positional) > position else None


def _os_head(func: cst.BaseExpression) -> str | None:
    """The local name of the ``os`` module in ``os.getenv`` / ``os.environ.get`` (aliases kept)."""
    node = func
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) and node is not func else None
