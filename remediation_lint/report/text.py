"""``path:line:col: CODE message``, one finding per line (flake8/ruff convention)."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from remediation_lint.engine import Finding


def render(findings: Sequence[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}")
    return "\n".join(lines) + ("\n" if lines else "")


def statistics(findings: Sequence[Finding]) -> str:
    counts = Counter(f.code for f in findings)
    fixable = Counter(f.code for f in findings if f.fix_applicable)
    messages: dict[str, str] = {}
    from remediation_lint.registry import all_rules

    rules = all_rules()
    for code in counts:
        rule = rules.get(code)
        messages[code] = rule.name if rule else "parse-error"
    rows = []
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        mark = "[*]" if fixable[code] else "   "
        rows.append(f"{n:>5}\t{code}\t{mark} {messages[code]}")
    return "\n".join(rows) + ("\n" if rows else "")
