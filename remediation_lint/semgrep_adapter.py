"""``remediation-lint --semgrep``: run the bundled Semgrep rule pack and merge its findings.

The rule pack (``rules/`` in the repository, the package data ``remediation_lint.semgrep_rules`` in a
wheel) holds the Semgrep twins of the Python rules and the front-end (TypeScript) and Rust rules that
only Semgrep reaches. Semgrep always runs offline on the bundled configuration: ``--metrics=off
--disable-version-check``, ``SEMGREP_ENABLE_VERSION_CHECK=0``, ``--config`` a local directory.

Targets are given to Semgrep file by file: the Python files the engine discovered (so ``exclude`` and
the default excluded directories apply exactly as for the LibCST rules, and Semgrep's own default
ignores, such as ``tests/``, do not hide files) and the TypeScript/Rust files found the same way.

A finding's code is the rule's ``metadata.rmd-code`` (``RMD101`` for a twin, ``RMD-TS-TOKEN-IN-URL``
for a front-end rule). A twin's finding is dropped when the LibCST rule reported the same code on the
same line of the same file, and obeys the same selection (``select``/``ignore``/preview,
per-file-ignores, ``# noqa``) as its LibCST rule.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from remediation_lint.config import Config, ConfigResolver, _matches, _specificity
from remediation_lint.engine import Finding, fingerprint
from remediation_lint.noqa import is_suppressed
from remediation_lint.project import DEFAULT_EXCLUDED_DIRS

INSTALL_HINT = "Semgrep is not installed; install it with: pip install 'remediation-lint[semgrep]'"
#: flags that keep every run offline and quiet (without them a run can wait ~100 s on the network)
OFFLINE_FLAGS = ("--metrics=off", "--disable-version-check")
#: file suffixes of the non-Python languages the pack has rules for
OTHER_SUFFIXES = (".ts", ".tsx", ".rs")
SEVERITY_MAP = {"ERROR": "high", "WARNING": "medium", "INFO": "low"}
#: arguments per Semgrep invocation (well below any ARG_MAX)
CHUNK = 2000


class SemgrepError(Exception):
    """Semgrep is missing or failed; the message says what to do."""


def rules_dir() -> Path:
    """The bundled rule pack: the installed package data, else ``rules/`` of a source checkout."""
    try:
        from importlib.resources import files

        root = files("remediation_lint.semgrep_rules")
        path = Path(str(root))
        if path.is_dir() and any(path.glob("*/*/*.yaml")):
            return path
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    checkout = Path(__file__).resolve().parent.parent / "rules"
    if checkout.is_dir():
        return checkout
    raise SemgrepError("the bundled Semgrep rules are missing from this installation (reinstall remediation-lint)")


def _fallback_dirs() -> list[str]:
    """Where to look when ``semgrep`` is not on PATH: the running interpreter's scripts directory
    (a virtualenv used without activating it)."""
    scripts = sysconfig.get_path("scripts")
    return [scripts] if scripts else []


def find_semgrep() -> str | None:
    found = shutil.which("semgrep")
    if found:
        return found
    for directory in _fallback_dirs():
        found = shutil.which("semgrep", path=directory)
        if found:
            return found
    return None


def semgrep_env() -> dict[str, str]:
    env = dict(os.environ)
    env["SEMGREP_ENABLE_VERSION_CHECK"] = "0"
    env["SEMGREP_SEND_METRICS"] = "off"
    return env


def scan(targets: Sequence[str], config: Path | None = None, *, semgrep: str | None = None,
         timeout: float | None = None) -> dict[str, Any]:
    """Run ``semgrep scan --json`` over ``targets`` (files) with ``config`` (default: the bundled rules).

    Returns Semgrep's JSON with the results and errors of every chunk merged."""
    exe = semgrep or find_semgrep()
    if exe is None:
        raise SemgrepError(INSTALL_HINT)
    config = config or rules_dir()
    out: dict[str, Any] = {"results": [], "errors": []}
    targets = list(targets)
    for start in range(0, len(targets), CHUNK):
        chunk = targets[start : start + CHUNK]
        cmd = [exe, "scan", *OFFLINE_FLAGS, "--config", str(config), "--json", "--quiet", "--no-git-ignore",
               "--", *chunk]
        try:
            proc = subprocess.run(cmd, capture_output=True, env=semgrep_env(), timeout=timeout, check=False)
        except FileNotFoundError as exc:
            raise SemgrepError(INSTALL_HINT) from exc
        except subprocess.TimeoutExpired as exc:
            raise SemgrepError(f"semgrep did not finish within {timeout} s") from exc
        try:
            data = json.loads(proc.stdout.decode("utf-8", "replace") or "{}")
        except json.JSONDecodeError:
            data = {}
        if proc.returncode not in (0, 1) or "results" not in data:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SemgrepError(f"semgrep failed (exit {proc.returncode}): {detail[-1] if detail else 'no output'}")
        out["results"].extend(data.get("results", []))
        out["errors"].extend(data.get("errors", []))
    return out


# -- targets -------------------------------------------------------------------------------------------
def other_targets(paths: Sequence[str], resolver: Config | ConfigResolver,
                  excluded_dirs: frozenset[str] = DEFAULT_EXCLUDED_DIRS) -> list[str]:
    """TypeScript and Rust files under ``paths``, found by the engine's own discovery."""
    from remediation_lint.engine import discover

    return [d.path for d in discover(paths, resolver, excluded_dirs, suffixes=OTHER_SUFFIXES) if d.path.endswith(OTHER_SUFFIXES)]


# -- findings --------------------------------------------------------------------------------------------
def rule_code(result: dict[str, Any]) -> str:
    """The finding code of a Semgrep result: ``metadata.rmd-code``, else the rule id upper-cased."""
    meta = result.get("extra", {}).get("metadata", {}) or {}
    code = meta.get("rmd-code")
    if code:
        return str(code)
    rule_id = str(result.get("check_id", "")).rsplit(".", 1)[-1]
    return rule_id.upper()


def _severity(result: dict[str, Any], code: str) -> str:
    from remediation_lint.registry import get_rule

    rule = get_rule(code)
    if rule is not None:
        return rule.severity.value
    extra = result.get("extra", {})
    meta = extra.get("metadata", {}) or {}
    if meta.get("rmd-severity") in ("critical", "high", "medium", "low"):
        return str(meta["rmd-severity"])
    return SEVERITY_MAP.get(str(extra.get("severity", "")).upper(), "medium")


def _message(result: dict[str, Any]) -> str:
    return " ".join(str(result.get("extra", {}).get("message", "")).split())


@dataclass
class _Selection:
    """Whether a code is enabled for a file: the LibCST rule's own selection for twins; the
    ``select``/``ignore`` prefixes (and per-file-ignores) for Semgrep-only codes."""

    resolver: Config | ConfigResolver
    _enabled: dict[int, frozenset[str]] = field(default_factory=dict)

    def config(self, path: str) -> Config:
        r = self.resolver
        return r.for_path(Path(path)) if isinstance(r, ConfigResolver) else r

    def enabled(self, code: str, path: str) -> bool:
        from remediation_lint.registry import get_rule

        cfg = self.config(path)
        if any(code.startswith(i) for i in cfg.ignored_for(path)):
            return False
        if get_rule(code) is not None:
            key = id(cfg)
            if key not in self._enabled:
                self._enabled[key] = frozenset(r.code for r in cfg.enabled_rules())
            return code in self._enabled[key]
        selectors = [*cfg.select, *cfg.extend_select]
        if not _matches(code, selectors):
            return False
        return not (_matches(code, cfg.ignore)
                    and _specificity(code, cfg.ignore) >= max(1, _specificity(code, selectors)))


def to_findings(data: dict[str, Any], resolver: Config | ConfigResolver | None = None,
                shown: dict[str, str] | None = None) -> list[Finding]:
    """Semgrep results as engine findings (selection, noqa and ``nosemgrep`` applied).

    ``shown`` maps a normalised path to the path as the engine shows it."""
    shown = shown or {}
    selection = _Selection(resolver) if resolver is not None else None
    lines_cache: dict[str, list[str]] = {}
    out: list[Finding] = []
    seen: set[tuple[str, str, int, int]] = set()
    for result in data.get("results", []):
        raw_path = str(result.get("path", ""))
        path = shown.get(os.path.normpath(raw_path), raw_path)
        code = rule_code(result)
        start = result.get("start", {})
        end = result.get("end", {})
        line, col = int(start.get("line", 1)), int(start.get("col", 1))  # 1-based, as the engine's
        key = (path, code, line, col)
        if key in seen:
            continue
        seen.add(key)
        if selection is not None and not selection.enabled(code, path):
            continue
        if path not in lines_cache:
            try:
                lines_cache[path] = Path(raw_path).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines_cache[path] = []
        lines = lines_cache[path]
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        if path.endswith(".py") and is_suppressed(code, text):
            continue
        out.append(Finding(
            code=code, message=_message(result), path=path, line=line, column=col,
            end_line=int(end.get("line", line)), end_column=int(end.get("col", col)),
            severity=_severity(result, code), fingerprint=fingerprint(code, lines, line),
        ))
    return out


def merge(findings: Iterable[Finding], extra: Iterable[Finding]) -> list[Finding]:
    """``findings`` plus those of ``extra`` whose (code, path, line) none of ``findings`` has, sorted."""
    base = list(findings)
    have = {(f.code, os.path.normpath(f.path), f.line) for f in base}
    merged = base + [f for f in extra if (f.code, os.path.normpath(f.path), f.line) not in have]
    merged.sort(key=lambda f: f.sort_key())
    return merged


def semgrep_findings(python_files: Sequence[str], paths: Sequence[str],
                     resolver: Config | ConfigResolver) -> tuple[list[Finding], list[str]]:
    """Run the bundled pack over the engine's Python files and the other-language files under ``paths``.

    Returns the findings and notes (files Semgrep could not analyse)."""
    targets = [*python_files, *other_targets(paths, resolver)]
    if not targets:
        return [], []
    data = scan(targets)
    shown = {os.path.normpath(t): t for t in targets}
    notes = []
    for err in data.get("errors", []):
        where = err.get("path") or ", ".join(str(s.get("path", "")) for s in err.get("spans", []) or [])
        message = " ".join(str(err.get("message", err.get("type", "error"))).split())
        notes.append(f"semgrep: {where + ': ' if where else ''}{message[:200]}")
    return to_findings(data, resolver, shown), notes


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - a debugging aid
    """``python -m remediation_lint.semgrep_adapter PATH...``: the raw Semgrep findings, one per line."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        data = scan(args)
    except SemgrepError as exc:
        print(f"remediation-lint: error: {exc}", file=sys.stderr)
        return 2
    for f in to_findings(data):
        print(f"{f.path}:{f.line}:{f.column + 1}: {f.code} {f.message}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
