"""The Semgrep rule pack, installed as ``remediation_lint.semgrep_rules`` (package data only; see README.md)."""
