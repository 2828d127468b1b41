"""A JSON list of findings: code, message, path, line, column, end_line, end_column, severity, fix."""

from __future__ import annotations

import json
from typing import Sequence

from remediation_lint.engine import Finding


def render(findings: Sequence[Finding]) -> str:
    return json.dumps([f.as_dict() for f in findings], indent=2) + "\n"
