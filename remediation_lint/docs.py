"""Documentation generated from rule metadata: ``docs/rules/RMDxxx.md``, ``docs/index.md`` and the
README's rule table. ``python -m remediation_lint.docs`` rewrites them; a test fails when they are stale.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

from remediation_lint.registry import all_rules
from remediation_lint.rule import Default, Rule

TABLE_START = "<!-- rules-table-start -->"
TABLE_END = "<!-- rules-table-end -->"
FAMILIES = {
    "RMD1": "Security",
    "RMD2": "asyncio",
    "RMD3": "Threads and shared state",
    "RMD4": "Error handling",
    "RMD5": "Data integrity and databases",
    "RMD6": "Resources and sockets",
    "RMD7": "Configuration and structure",
    "RMD8": "Tests",
}


def _doc_body(rule: type[Rule]) -> tuple[str, str]:
    doc = textwrap.dedent(rule.__doc__ or "").strip()
    lines = doc.splitlines()
    summary = lines[0].strip() if lines else rule.message
    body = textwrap.dedent("\n".join(lines[1:])).strip()
    return summary, body


def _fix_safety_text(rule: type[Rule]) -> str:
    if rule.fix_safety is None:
        return "No automatic fix: the message says what to do."
    if rule.fix_safety.value == "safe":
        return "The fix is **safe**: it keeps behaviour and is applied by `--fix`."
    return "The fix is **unsafe**: it changes behaviour on purpose and is applied only with `--fix --unsafe-fixes`."


def rule_page(rule: type[Rule]) -> str:
    summary, body = _doc_body(rule)
    out = [f"# {rule.code} {rule.name}", "", summary, ""]
    out += [
        "| | |",
        "|---|---|",
        f"| Code | `{rule.code}` |",
        f"| Name | `{rule.name}` |",
        f"| Severity | {rule.severity.value} |",
        f"| Default | {'on' if rule.default is Default.ON else 'preview (enable with `--preview` or select it by code)'} |",
        f"| Fix | {rule.fix_safety.value if rule.fix_safety else 'none'} |",
        f"| Message | `{rule.message}` |",
    ]
    if rule.cwe:
        out.append(f"| CWE | {', '.join(f'CWE-{c}' for c in rule.cwe)} |")
    out.append("")
    # ruff's layout: What it does / Why is this bad? come from the docstring; a "## Fix" section there
    # is the remediation advice; "## Fix safety" is generated below unless the docstring has one.
    if body:
        out += [body, ""]
    if rule.INVALID:
        example = rule.INVALID[0]
        out += ["## Example", "", "```python", example.source.rstrip("\n"), "```", ""]
        if example.fixed_source is not None:
            out += ["## Fixed by `--fix`" + (" --unsafe-fixes" if rule.fix_safety and rule.fix_safety.value == "unsafe" else ""), ""]
            out += ["```python", example.fixed_source.rstrip("\n"), "```", ""]
    if rule.VALID:
        out += ["## Use instead", "", "```python", rule.VALID[0].source.rstrip("\n"), "```", ""]
    if "## Fix safety" not in body:
        out += ["## Fix safety", "", _fix_safety_text(rule), ""]
    out += ["## Options", ""]
    if rule.options:
        out.append(f"Set under `[tool.remediation-lint.options.{rule.code}]` in `pyproject.toml`.")
        out.append("")
        for key, default in rule.options.items():
            note = rule.option_docs.get(key, "")
            value = list(default) if isinstance(default, (tuple, frozenset, set)) else default
            out.append(f"- `{key.replace('_', '-')}` (default `{value!r}`){': ' + note if note else ''}")
    else:
        out.append("None.")
    out.append("")
    if rule.limitations:
        out += ["## Limitations", "", rule.limitations, ""]
    out += ["## Source", ""]
    for p in rule.provenance:
        out.append(f"- Seed `{p.seed}` ({p.project}): {p.item}")
    out.append("")
    return "\n".join(out)


def rules_table(link_prefix: str = "docs/rules/") -> str:
    rows = ["| Code | Name | Severity | Default | Fix | What it finds |", "|---|---|---|---|---|---|"]
    for rule in all_rules().values():
        summary, _ = _doc_body(rule)
        summary = summary.replace("|", "\\|")
        fix = rule.fix_safety.value if rule.fix_safety else ""
        rows.append(
            f"| [{rule.code}]({link_prefix}{rule.code}.md) | `{rule.name}` | {rule.severity.value} | "
            f"{rule.default.value} | {fix} | {summary} |"
        )
    return "\n".join(rows)


def index_page() -> str:
    rules = all_rules()
    out = [
        "# remediation-lint rules",
        "",
        f"{len(rules)} rules. Each page is generated from the rule's own metadata, docstring and examples",
        "(`python -m remediation_lint.docs`); a test fails when a page is stale.",
        "",
        "`RMD000` is not a rule: it reports a file that could not be parsed (syntax error, NUL bytes,",
        "undecodable bytes); the file is skipped and the run goes on.",
        "",
        rules_table(link_prefix="rules/"),
        "",
    ]
    return "\n".join(out)


def expected_files(root: Path) -> dict[Path, str]:
    files = {root / "docs" / "rules" / f"{code}.md": rule_page(rule) for code, rule in all_rules().items()}
    files[root / "docs" / "index.md"] = index_page()
    readme = root / "README.md"
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        pattern = re.compile(re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END), re.S)
        files[readme] = pattern.sub(lambda _: f"{TABLE_START}\n{rules_table()}\n{TABLE_END}", text)
    return files


def stale_files(root: Path) -> list[Path]:
    stale = []
    for path, content in expected_files(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            stale.append(path)
    rules_dir = root / "docs" / "rules"
    if rules_dir.exists():
        known = {f"{code}.md" for code in all_rules()}
        stale += [p for p in rules_dir.glob("RMD*.md") if p.name not in known]
    return stale


def write(root: Path) -> list[Path]:
    written = []
    for path, content in expected_files(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            written.append(path)
    rules_dir = root / "docs" / "rules"
    known = {f"{code}.md" for code in all_rules()}
    for p in rules_dir.glob("RMD*.md"):
        if p.name not in known:
            p.unlink()
            written.append(p)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and (args[0].startswith("-") or not Path(args[0]).is_dir()):
        print("usage: python -m remediation_lint.docs [PROJECT_ROOT]  (regenerates docs/ and the README table)")
        return 0 if args[0] in ("-h", "--help") else 2
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    for path in write(root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
