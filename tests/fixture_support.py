"""Running the linter over the fixture repositories, shared by the fixture tests and update_golden.py."""

from __future__ import annotations

from pathlib import Path

from remediation_lint.config import Config
from remediation_lint.engine import Linter

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
GOLDEN = ROOT / "tests" / "golden"
PROJECTS = ["khala", "orchestration_engine", "hyperion", "tasker", "ai_system"]


def python_files(project: str) -> list[Path]:
    return sorted(p for p in (FIXTURES / project).rglob("*.py") if "__pycache__" not in p.parts)


_LINTER: list[Linter] = []


def linter() -> Linter:
    """One linter (all rules, preview on) for the whole session, so project summaries are built once."""
    if not _LINTER:
        _LINTER.append(Linter(Config(preview=True)))
    return _LINTER[0]


def fix_file(path: Path, unsafe: bool) -> bytes | None:
    """The fixed bytes of a fixture file (all rules, preview on), or None when nothing is fixable."""
    result = linter().check(path.read_bytes(), str(path), fix=True, unsafe_fixes=unsafe)
    return result.fixed


def golden_path(path: Path, unsafe: bool) -> Path:
    rel = path.relative_to(FIXTURES)
    return GOLDEN / rel.parent / (rel.name + (".unsafe.fixed" if unsafe else ".fixed"))
