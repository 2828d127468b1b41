"""The pack against its specification: every row of ../shared/catalog.md is a registered rule with the
catalogue's code, name, default and fix safety (skipped, with the reason, where shared/ is absent)."""

from __future__ import annotations

import re

import pytest

from remediation_lint.registry import all_rules
from tests.conftest import ROOT

CATALOGUE = ROOT.parent / "shared" / "catalog.md"


def catalogue_rows() -> dict[str, dict[str, str]]:
    rows = {}
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and re.fullmatch(r"RMD\d{3}", cells[0]):
            rows[cells[0]] = {"name": cells[1], "fix": cells[-3], "sg": cells[-2], "default": cells[-1]}
    return rows


@pytest.fixture(scope="module")
def rows():
    if not CATALOGUE.exists():
        pytest.skip(f"the catalogue is not beside this checkout ({CATALOGUE})")
    return catalogue_rows()


def test_every_catalogue_row_is_a_rule_with_its_metadata(rows):
    rules = all_rules()
    assert len(rows) >= 60
    missing = sorted(set(rows) - set(rules))
    assert not missing, f"catalogue rules without an implementation: {missing}"
    for code, row in rows.items():
        rule = rules[code]
        assert rule.name == row["name"], code
        assert rule.default.value == row["default"], code
        first = row["fix"].split()[0].rstrip(":").lower()
        expected = None if first == "none" else first
        assert (rule.fix_safety.value if rule.fix_safety else None) == expected, (code, row["fix"])


def test_no_rule_outside_the_catalogue(rows):
    assert sorted(set(all_rules()) - set(rows)) == []
