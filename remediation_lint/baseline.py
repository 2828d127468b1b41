"""Baselines for legacy code: record today's findings, report only new ones.

A finding is identified by its code, its path (relative to the baseline file) and a fingerprint of the
normalised text of the flagged line and its neighbours, never by its line number: inserting lines above
a baselined finding keeps it suppressed. Identical fingerprints are counted, so a second copy of the
same bug in the same file is reported.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Sequence

from remediation_lint import __version__
from remediation_lint.engine import Finding

VERSION = 1


class BaselineError(Exception):
    pass


def _key(finding: Finding, base: Path) -> tuple[str, str, str]:
    rel = os.path.relpath(os.path.abspath(finding.path), base)
    return Path(rel).as_posix(), finding.code, finding.fingerprint


def write_baseline(path: Path, findings: Sequence[Finding]) -> int:
    base = path.resolve().parent
    entries = []
    for f in sorted(findings, key=lambda f: f.sort_key()):
        rel, code, fp = _key(f, base)
        entries.append({"path": rel, "code": code, "fingerprint": fp, "line": f.line, "message": f.message})
    data = {"version": VERSION, "generator": f"remediation-lint {__version__}", "findings": entries}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return len(entries)


def load_baseline(path: Path) -> Counter[tuple[str, str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline file {path} does not exist (create it with --write-baseline)") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("findings"), list):
        raise BaselineError(f"{path} is not a remediation-lint baseline (version {VERSION})")
    counts: Counter[tuple[str, str, str]] = Counter()
    for entry in data["findings"]:
        try:
            counts[(entry["path"], entry["code"], entry["fingerprint"])] += 1
        except (KeyError, TypeError):
            raise BaselineError(f"{path}: malformed entry {entry!r}") from None
    return counts


def filter_new(findings: Sequence[Finding], baseline: Counter[tuple[str, str, str]], path: Path) -> list[Finding]:
    """Findings not covered by the baseline (each baseline entry absorbs one matching finding)."""
    base = path.resolve().parent
    remaining = Counter(baseline)
    out = []
    for f in sorted(findings, key=lambda f: f.sort_key()):
        key = _key(f, base)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            out.append(f)
    return out
