"""Shared test helpers: lint a source with chosen rules, apply fixes, read fixture markers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from remediation_lint.config import Config
from remediation_lint.engine import FileResult, Linter

MARKER_RE = re.compile(r"#\s*(expect|ok):\s*((?:RMD\d{3}|RMD-TS-[A-Z-]+)(?:\s*,\s*(?:RMD\d{3}))*)")


def lint(source: str, code: str, *, options: Mapping[str, Any] | None = None, filename: str = "example.py",
         fix: bool = False, unsafe: bool = False) -> FileResult:
    config = Config(select=[code], preview=True, options={code: dict(options or {})})
    return Linter(config).check(source, filename, fix=fix, unsafe_fixes=unsafe)


def markers(path: Path) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
    """(expected, ok) sets of (line, code) from ``# expect: RMDxxx`` / ``# ok: RMDxxx`` comments."""
    expected: set[tuple[int, str]] = set()
    ok: set[tuple[int, str]] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        for kind, codes in MARKER_RE.findall(line):
            target = expected if kind == "expect" else ok
            for code in re.split(r"\s*,\s*", codes.strip()):
                target.add((lineno, code))
    return expected, ok
