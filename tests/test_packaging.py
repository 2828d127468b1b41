"""What the wheel needs: every package directory is a regular package (setup.py's find_packages skips
namespace directories, which then vanish from an installed wheel, as the pre-commit hook showed)."""

from __future__ import annotations

from tests.conftest import ROOT


def test_every_package_directory_has_an_init():
    package = ROOT / "remediation_lint"
    missing = [
        str(d.relative_to(ROOT))
        for d in [package, *package.rglob("*")]
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").exists()
    ]
    assert missing == []
