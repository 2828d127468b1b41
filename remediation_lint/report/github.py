"""GitHub Actions workflow commands: one annotation per finding.

``::error file=app.py,line=5,col=12,endLine=5,endColumn=30,title=RMD101::message``;
critical and high findings are errors, medium warnings, low notices.
"""

from __future__ import annotations

from typing import Sequence

from remediation_lint.engine import Finding

COMMANDS = {"critical": "error", "high": "error", "medium": "warning", "low": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: Sequence[Finding]) -> str:
    lines = []
    for f in findings:
        props = [
            f"file={_escape_property(f.path)}",
            f"line={f.line}",
            f"col={f.column}",
            f"endLine={f.end_line}",
            f"endColumn={f.end_column}",
            f"title={_escape_property(f.code)}",
        ]
        lines.append(f"::{COMMANDS.get(f.severity, 'warning')} {','.join(props)}::{_escape_data(f.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
