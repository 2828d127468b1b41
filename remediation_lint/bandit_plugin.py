"""bandit plugin: ``bandit -r PATH`` reports the RMD1xx security rules with bandit's severity and
confidence. The rules' logic stays in the rule modules: the plugin runs the shared engine once per file
(cached) and hands bandit each finding when bandit visits a node on the finding's line.

Severity maps critical/high -> HIGH, medium -> MEDIUM, low -> LOW; confidence is HIGH for rules that are
on by default and MEDIUM for preview rules (which run only with ``RMD_BANDIT_PREVIEW=1``).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Callable

from bandit.core import test_properties as test

#: the security family of the catalogue; a code without a registered rule never reports
SECURITY_CODES = [f"RMD1{n:02d}" for n in range(1, 15)]
#: node types on which findings of the security rules sit
NODE_TYPES = (
    "Call", "FunctionDef", "AsyncFunctionDef", "Assign", "AnnAssign", "AugAssign", "Expr", "Return", "arg",
    "keyword", "Attribute", "Subscript", "Name", "Await", "If", "With", "AsyncWith", "Raise", "JoinedStr",
    "BinOp", "Dict", "List", "Compare", "ExceptHandler",
)
# bandit's ranking values (bandit.core.constants); bandit is still importing itself when it loads plugins
SEVERITY = {"critical": "HIGH", "high": "HIGH", "medium": "MEDIUM", "low": "LOW"}

_CACHE: dict[str, Any] = {"key": None, "by_line": {}, "reported": set()}


def _findings(filename: str, data: bytes) -> dict[tuple[str, int], list[Any]]:
    key = (filename, hashlib.sha1(data).hexdigest())
    if _CACHE["key"] != key:
        from remediation_lint.config import Config
        from remediation_lint.engine import Linter

        config = Config(select=["RMD1"], preview=os.environ.get("RMD_BANDIT_PREVIEW") == "1")
        result = Linter(config).check(data, filename)
        by_line: dict[tuple[str, int], list[Any]] = {}
        for finding in result.findings:
            by_line.setdefault((finding.code, finding.line), []).append(finding)
        _CACHE.update(key=key, by_line=by_line, reported=set())
    return _CACHE["by_line"]


def _make(code: str) -> Callable[[Any], Any]:
    def check(context: Any) -> Any:
        node = context.node
        line = getattr(node, "lineno", None)
        if line is None:
            return None
        data = context.file_data
        if hasattr(data, "seek"):
            data.seek(0)
            raw = data.read()
        else:
            raw = data
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        found = _findings(str(context.filename), raw).get((code, line))
        if not found:
            return None
        mark = (code, line)
        if mark in _CACHE["reported"]:
            return None
        _CACHE["reported"].add(mark)
        finding = found[0]
        from bandit.core.issue import Issue

        from remediation_lint.registry import get_rule

        rule = get_rule(code)
        preview = rule is not None and rule.default.value == "preview"
        return Issue(
            severity=SEVERITY.get(finding.severity, "MEDIUM"),
            confidence="MEDIUM" if preview else "HIGH",
            cwe=rule.cwe[0] if rule is not None and rule.cwe else 0,
            text=f"{code} {finding.message}",
            lineno=line,
        )

    check.__name__ = code.lower()
    return test.test_id(code)(test.checks(*NODE_TYPES)(check))


for _code in SECURITY_CODES:
    globals()[_code.lower()] = _make(_code)
