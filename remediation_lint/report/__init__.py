"""Output formats, one module each. ``FORMATS`` maps a ``--format`` name to its renderer."""

from __future__ import annotations

from typing import Callable, Sequence

from remediation_lint.engine import Finding
from remediation_lint.report import github, json_format, sarif, text

Renderer = Callable[[Sequence[Finding]], str]

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
}
