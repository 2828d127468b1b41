"""``# noqa`` comments with flake8's meaning: bare ``# noqa`` silences every code on the line,
``# noqa: RMD101, RMD2`` silences the listed codes and every code they prefix."""

from __future__ import annotations

import re

# flake8's own inline pattern (flake8.defaults.NOQA_INLINE_REGEXP): "# noqa", optionally ":" and codes
NOQA_RE = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
SEP_RE = re.compile(r"[,\s]+")


def parse_noqa(line: str) -> frozenset[str] | None:
    """None when the line has no noqa; an empty set for a bare noqa; else the listed codes."""
    if "noqa" not in line.lower():
        return None
    match = NOQA_RE.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    if not codes:
        return frozenset()
    return frozenset(c.upper() for c in SEP_RE.split(codes) if c)


def is_suppressed(code: str, line: str) -> bool:
    codes = parse_noqa(line)
    if codes is None:
        return False
    if not codes:
        return True
    return any(code.startswith(c) for c in codes)
