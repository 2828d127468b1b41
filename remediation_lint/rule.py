"""The rule model: what a rule declares, what it reports, and how it proposes a fix.

A rule is a class in its own module under ``remediation_lint/rules/<family>/``. It declares its metadata
as class attributes, explains itself in a docstring laid out like a ruff rule page, carries VALID and
INVALID examples that the test suite runs, and implements ``visit_<Node>`` / ``leave_<Node>`` methods
that the engine calls during the single shared traversal of each file.

One instance of every active rule is created per file, so rules may keep per-file state on ``self``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

import libcst as cst

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.context import FileContext


class Severity(str, Enum):
    """How bad the bug class is. The plan report groups findings by it; SARIF maps it to a level."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class FixSafety(str, Enum):
    """``safe`` fixes keep behaviour and run with ``--fix``; ``unsafe`` ones need ``--unsafe-fixes``."""

    SAFE = "safe"
    UNSAFE = "unsafe"


class Default(str, Enum):
    """``on`` rules run unless deselected; ``preview`` rules only with ``--preview`` or explicit selection."""

    ON = "on"
    PREVIEW = "preview"


@dataclass(frozen=True)
class Provenance:
    """Where a rule comes from: the seed plan, the item in it, and the project it reviewed."""

    seed: str
    item: str
    project: str


@dataclass(frozen=True)
class Valid:
    """Code the rule must leave alone."""

    code: str
    options: Mapping[str, Any] = field(default_factory=dict)
    filename: str = "example.py"

    @property
    def source(self) -> str:
        return _clean(self.code)


@dataclass(frozen=True)
class Invalid:
    """Code the rule must report, on ``line`` when given, and what its fix turns it into.

    ``fixed`` is the whole expected module after the rule's fixes are applied (unsafe fixes included
    when the rule's fix safety is unsafe). ``None`` means the rule offers no fix for this example.
    ``count`` is the number of findings expected.
    """

    code: str
    fixed: str | None = None
    line: int | None = None
    count: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)
    filename: str = "example.py"

    @property
    def source(self) -> str:
        return _clean(self.code)

    @property
    def fixed_source(self) -> str | None:
        return None if self.fixed is None else _clean(self.fixed)


def _clean(code: str) -> str:
    text = textwrap.dedent(code)
    if text.startswith("\n"):
        text = text[1:]
    return text


@dataclass(frozen=True)
class ImportSpec:
    """An import a fix needs: ``import module`` (name None) or ``from module import name``."""

    module: str
    name: str | None = None


@dataclass
class Fix:
    """A proposed edit: node replacements in the current tree plus module-level additions.

    ``replacements`` maps original nodes (by identity) to their replacements. ``imports`` are added to
    the module's import block when missing. ``prelude`` holds ``(name, statement)`` pairs inserted after
    the imports when ``name`` is not yet bound at module level (e.g. a module logger).
    """

    replacements: list[tuple[cst.CSTNode, Any]]
    safety: FixSafety
    imports: Sequence[ImportSpec] = ()
    prelude: Sequence[tuple[str, str]] = ()
    description: str = ""


@dataclass
class Report:
    """A finding as a rule raises it, before positions are resolved."""

    code: str
    message: str
    node: cst.CSTNode
    fix: Fix | None = None


class Rule:
    """Base class of every rule. Subclasses set the metadata below and implement visitor methods."""

    code: ClassVar[str]
    name: ClassVar[str]
    #: one line that says what is wrong and what to do; ``{placeholders}`` are filled by ``report``.
    message: ClassVar[str]
    severity: ClassVar[Severity]
    default: ClassVar[Default] = Default.ON
    provenance: ClassVar[tuple[Provenance, ...]]
    fix_safety: ClassVar[FixSafety | None] = None
    #: byte strings of which at least one must occur in a file for the rule to run on it; empty: always.
    triggers: ClassVar[tuple[bytes, ...]] = ()
    #: per-rule options with their defaults; config may override them under ``[tool.remediation-lint.options.CODE]``.
    options: ClassVar[Mapping[str, Any]] = {}
    #: one line per option for the docs.
    option_docs: ClassVar[Mapping[str, str]] = {}
    #: rules that ask the project pass about other modules.
    needs_project: ClassVar[bool] = False
    #: names of ``project.SUMMARY_EXTRAS`` the rule reads: computed while each module is summarised,
    #: from the tree at hand, so that no tree is kept or parsed twice
    summary_extras: ClassVar[tuple[str, ...]] = ()
    #: CWE ids, where one applies (security rules).
    cwe: ClassVar[tuple[int, ...]] = ()
    #: what the flake8 plugin cannot do for this rule, for the docs (project-wide rules).
    limitations: ClassVar[str] = ""
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()
    #: the fast path's twin (``astcheck.AstChecker`` subclass) that finds the same mistakes on the standard
    #: library's ``ast`` when no fix is wanted; None: the rule always runs on LibCST.
    ast_checker: ClassVar[Any] = None

    def __init__(self, context: "FileContext", options: Mapping[str, Any]) -> None:
        self.context = context
        self.opts: dict[str, Any] = {**self.options, **options}

    # -- reporting -----------------------------------------------------------------------------------
    def report(self, node: cst.CSTNode, message: str | None = None, *, fix: Fix | None = None, **fmt: Any) -> None:
        text = message if message is not None else self.message
        if fmt:
            text = text.format(**fmt)
        self.context.add_report(Report(self.code, text, node, fix))

    def make_fix(
        self,
        replacements: list[tuple[cst.CSTNode, Any]] | tuple[cst.CSTNode, Any],
        *,
        safety: FixSafety | None = None,
        imports: Sequence[ImportSpec] = (),
        prelude: Sequence[tuple[str, str]] = (),
        description: str = "",
    ) -> Fix:
        if isinstance(replacements, tuple):
            replacements = [replacements]
        chosen = safety or self.fix_safety
        if chosen is None:
            raise TypeError(f"{self.code} declares no fix safety but proposes a fix")
        return Fix(list(replacements), chosen, imports, prelude, description)

    # -- hooks ---------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Called once after the traversal, for rules that decide at the end of the module."""

    # -- metadata helpers ----------------------------------------------------------------------------
    @classmethod
    def metadata(cls) -> dict[str, Any]:
        return {
            "code": cls.code,
            "name": cls.name,
            "message": cls.message,
            "severity": cls.severity.value,
            "default": cls.default.value,
            "fix_safety": cls.fix_safety.value if cls.fix_safety else None,
            "provenance": [
                {"seed": p.seed, "item": p.item, "project": p.project} for p in cls.provenance
            ],
            "options": dict(cls.options),
            "cwe": list(cls.cwe),
            "needs_project": cls.needs_project,
        }

    @classmethod
    def summary(cls) -> str:
        doc = textwrap.dedent(cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else cls.message
