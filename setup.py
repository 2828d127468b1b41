"""Packaging beyond what ``pyproject.toml`` can say.

The Semgrep rule pack in ``rules/`` ships inside the wheel as the package data of
``remediation_lint.semgrep_rules`` (one copy of the rules in the repository; see ``rules/README.md``).
The files to include are listed under ``[tool.setuptools.package-data]`` in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import find_packages, setup

RULES = Path(__file__).parent / "rules"


def rule_packages() -> list[str]:
    """``rules/`` and each directory below it that Python could import (``python``, ``typescript``),
    declared as packages so that setuptools does not warn about data in an undeclared package;
    hyphenated family directories (``rmd1-security``) are plain data directories."""
    out = ["remediation_lint.semgrep_rules"]
    for d in sorted(p for p in RULES.rglob("*") if p.is_dir()):
        parts = d.relative_to(RULES).parts
        if all(part.isidentifier() for part in parts) and not any(part.startswith("__") for part in parts):
            out.append(".".join(("remediation_lint.semgrep_rules", *parts)))
    return out


setup(
    packages=[*find_packages(include=["remediation_lint*"]), *rule_packages()],
    package_dir={"remediation_lint.semgrep_rules": "rules"},
)
