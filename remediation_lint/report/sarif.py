"""SARIF 2.1.0 for GitHub code scanning and other consumers.

The run's tool lists every rule (id, name, short and full description, help URI to the rule's page,
tags such as ``security`` and ``external/cwe/cwe-502``, default level); results carry the rule id and
index, the message, a physical location with its region, and ``fixes`` with replacement text for
findings that have a fix.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, Sequence

from remediation_lint import __version__
from remediation_lint.engine import PARSE_ERROR_CODE, Finding
from remediation_lint.registry import all_rules
from remediation_lint.rule import Rule, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
DOCS_BASE = "https://github.com/remediation-lint/remediation-lint/blob/main/docs/rules/"
LEVELS = {
    Severity.CRITICAL.value: "error",
    Severity.HIGH.value: "error",
    Severity.MEDIUM.value: "warning",
    Severity.LOW.value: "note",
}
FAMILY_TAGS = {
    "RMD1": "security",
    "RMD2": "concurrency",
    "RMD3": "concurrency",
    "RMD4": "reliability",
    "RMD5": "correctness",
    "RMD6": "reliability",
    "RMD7": "maintainability",
    "RMD8": "testing",
}


def _full_description(rule: type[Rule]) -> str:
    doc = inspect.cleandoc(rule.__doc__ or "")
    body = "\n".join(doc.splitlines()[1:]).strip()
    return body or rule.message


def _rule_descriptor(rule: type[Rule]) -> dict[str, Any]:
    summary = rule.summary()
    tags = [FAMILY_TAGS.get(rule.code[:4], "quality")]
    tags += [f"external/cwe/cwe-{c}" for c in rule.cwe]
    if rule.default.value == "preview":
        tags.append("preview")
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": _full_description(rule)},
        "helpUri": f"{DOCS_BASE}{rule.code}.md",
        "help": {"text": summary, "markdown": f"[{rule.code} {rule.name}]({DOCS_BASE}{rule.code}.md): {summary}"},
        "defaultConfiguration": {"level": LEVELS[rule.severity.value]},
        "properties": {
            "tags": tags,
            "precision": "medium" if rule.default.value == "preview" else "high",
            "problem.severity": LEVELS[rule.severity.value],
            **({"security-severity": {"critical": "9.0", "high": "7.5", "medium": "5.0", "low": "3.0"}[rule.severity.value]} if rule.code.startswith("RMD1") else {}),
        },
    }


PARSE_ERROR_DESCRIPTOR = {
    "id": PARSE_ERROR_CODE,
    "name": "parse-error",
    "shortDescription": {"text": "A file could not be parsed and was skipped."},
    "fullDescription": {"text": "Syntax errors, Python 2 code, NUL bytes or undecodable bytes stop the parser; the file is reported and skipped."},
    "helpUri": f"{DOCS_BASE}../index.md",
    "defaultConfiguration": {"level": "error"},
    "properties": {"tags": ["parse-error"]},
}


def _uri(path: str) -> str:
    return Path(path).as_posix().removeprefix("./")


def _region(f: Finding) -> dict[str, int]:
    region = {"startLine": f.line, "startColumn": f.column}
    if f.end_line >= f.line:
        region["endLine"] = f.end_line
        if f.end_line > f.line or f.end_column > f.column:
            region["endColumn"] = f.end_column
    return region


def _fixes(f: Finding) -> list[dict[str, Any]]:
    if not f.edits:
        return []
    replacements = []
    for edit in f.edits:
        replacements.append(
            {
                "deletedRegion": {
                    "startLine": edit["start_line"], "startColumn": 1, "endLine": edit["end_line"], "endColumn": 1,
                },
                "insertedContent": {"text": edit["text"]},
            }
        )
    safety = f.fix_safety or "safe"
    return [
        {
            "description": {"text": f"{'Safe' if safety == 'safe' else 'Unsafe'} fix for {f.code} (remediation-lint --fix{' --unsafe-fixes' if safety == 'unsafe' else ''})"},
            "artifactChanges": [{"artifactLocation": {"uri": _uri(f.path)}, "replacements": replacements}],
        }
    ]


def render(findings: Sequence[Finding]) -> str:
    rules = all_rules()
    descriptors = [_rule_descriptor(r) for r in rules.values()]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    if any(f.code == PARSE_ERROR_CODE for f in findings):
        index[PARSE_ERROR_CODE] = len(descriptors)
        descriptors.append(PARSE_ERROR_DESCRIPTOR)
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index.get(f.code, 0),
            "level": LEVELS.get(f.severity, "warning"),
            "message": {"text": f.message},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": _uri(f.path)}, "region": _region(f)}}
            ],
        }
        if f.fingerprint:
            result["partialFingerprints"] = {"remediationLint/v1": f.fingerprint}
        fixes = _fixes(f)
        if fixes:
            result["fixes"] = fixes
        results.append(result)
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "remediation-lint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/remediation-lint/remediation-lint",
                        "rules": descriptors,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
