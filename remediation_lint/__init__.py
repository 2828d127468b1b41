"""remediation-lint: a rule pack that finds the bug classes of real remediation plans."""

__version__ = "0.1.0"
