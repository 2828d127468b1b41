"""Whether a name denotes a secret (a key, token, password) rather than a count, limit or label.

``is_secret_name`` follows the catalogue for RMD106: name parts ``SECRET``, ``PASSWORD``, ``PASSWD``,
``API_KEY``, a trailing ``_KEY``, or ``TOKEN`` as a whole part; counts, limits, durations, paths, URLs
and header names are not secrets (``MAX_TOKENS``, ``prompt_tokens``, ``TOKEN_TTL_SECONDS``).
``is_credential_name`` is the looser test RMD105 uses for the configured key an auth check compares.
"""

from __future__ import annotations

import re

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")

#: parts that make a name secret wherever they occur
SECRET_PARTS: frozenset[str] = frozenset({"secret", "password", "passwd", "apikey", "token"})

#: parts that mean the value describes a secret (its size, lifetime, location, name) instead of holding it
NOT_SECRET_PARTS: frozenset[str] = frozenset(
    {
        "max", "min", "limit", "limits", "count", "counts", "size", "length", "len", "num", "number", "total",
        "ttl", "seconds", "secs", "minutes", "mins", "hours", "days", "expire", "expires", "expiry", "expiration",
        "lifetime", "age", "timeout", "interval", "url", "uri", "endpoint", "path", "file", "filename", "dir",
        "header", "name", "type", "prefix", "suffix", "algorithm", "alg", "algo", "env", "var", "field", "param",
        "cookie", "scheme", "policy", "rotation", "regex", "pattern", "hint", "reset", "usage", "budget",
        "rate", "ratio", "enabled", "required", "id", "version", "format",
    }
)

#: words before a trailing ``_KEY`` that make it a lookup key, not a secret
LOOKUP_KEY_PARTS: frozenset[str] = frozenset(
    {
        "cache", "sort", "primary", "foreign", "partition", "lock", "redis", "dict", "lookup", "idempotency",
        "group", "hash", "map", "index", "row", "composite", "routing", "shard", "metric", "config", "setting",
        "settings", "state", "queue", "stream", "bucket", "object", "field", "column", "table", "unique",
        "dedupe", "dedup", "join", "public", "s3", "storage", "registry", "event", "message", "task", "job",
        "user", "order", "record", "item", "entry", "context", "request", "result", "memory", "namespace",
        "payload", "data", "json", "response", "label", "tag", "attr", "attribute", "property", "prop", "match",
        "sort", "ordering", "output", "input", "template", "translation", "i18n", "node", "parent", "child",
    }
)


def name_parts(name: str) -> list[str]:
    """``AUTH_SECRET_KEY`` / ``authSecretKey`` / ``auth.secret_key`` -> ``["auth", "secret", "key"]``."""
    parts: list[str] = []
    for chunk in _SPLIT.split(name):
        if chunk:
            parts.extend(p.lower() for p in _CAMEL.split(chunk) if p)
    # ``api_key`` counts as one part
    joined: list[str] = []
    for part in parts:
        if part in ("key", "keys") and joined and joined[-1] == "api":
            joined[-1] = "api" + part
        else:
            joined.append(part)
    return joined


def is_secret_name(name: str) -> bool:
    parts = name_parts(name)
    if not parts or any(p in NOT_SECRET_PARTS for p in parts):
        return False
    if any(p in SECRET_PARTS for p in parts):
        return True
    return len(parts) >= 2 and parts[-1] in ("key", "apikey") and parts[-2] not in LOOKUP_KEY_PARTS


def is_credential_name(name: str) -> bool:
    """A configured credential for an auth check: the secret names plus ``tokens``/``keys``/``credentials``."""
    if is_secret_name(name):
        return True
    parts = name_parts(name)
    if any(p in NOT_SECRET_PARTS for p in parts):
        return False
    return any(p in ("apikeys", "tokens", "credentials", "credential", "keys", "key") for p in parts) and not any(
        p in LOOKUP_KEY_PARTS for p in parts
    )
