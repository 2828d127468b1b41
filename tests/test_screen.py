"""The trigger screen answers exactly what a plain ``trigger in data`` test for every trigger answers.

``engine.screen`` looks for word triggers in the file's word list, for triggers that differ only in their
last byte in one search, and for non-ASCII triggers only in non-ASCII files; none of that may change
which rules run on a file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from remediation_lint import engine
from remediation_lint.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
RULES = sorted(all_rules().values(), key=lambda r: r.code)
TRIGGERS = sorted({t for r in RULES for t in r.triggers})


def naive(rule_classes, data: bytes):
    return [r for r in rule_classes if not r.triggers or any(t in data for t in r.triggers)]


def test_the_pack_uses_every_kind_of_plan() -> None:
    engine._plan_triggers(TRIGGERS)
    kinds = {engine._TRIGGER_PLANS[t][0] for t in TRIGGERS}
    # if a kind disappears from the pack, the property tests below no longer exercise it
    assert {"word", "core", "family", "ascii"} <= kinds


@pytest.mark.parametrize("path", sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "remediation_lint").rglob("*.py")), ids=str)
def test_same_rules_as_a_plain_search_on_real_files(path: Path) -> None:
    data = path.read_bytes()
    assert engine.screen(RULES, data) == naive(RULES, data)


# text built from pieces of the triggers themselves, so that near-misses and overlaps are common
_pieces = st.sampled_from([*TRIGGERS, *(t[:-1] for t in TRIGGERS if len(t) > 1), *(t[1:] for t in TRIGGERS if len(t) > 1),
                           b" ", b"\n", b"=", b'"', b"'", b"_", b"x", b"0", b"(", b".", b"\xc3\xa9", b"\xff"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_pieces, max_size=12).map(b"".join))
@example(b'x = "= "5')  # a family prefix hidden inside another match of it
@example(b"a= '= '= '7")
@example(b"cPickle")
@example(b"9pickle")
@example(b"\xc3")
def test_same_triggers_as_a_plain_search(data: bytes) -> None:
    screen = engine._Screen(data)
    for trigger in TRIGGERS:
        assert screen.has(trigger) == (trigger in data), trigger
    assert engine.screen(RULES, data) == naive(RULES, data)


def test_a_new_trigger_is_planned_on_first_use() -> None:
    screen = engine._Screen(b"value = compute(x) # done")
    assert screen.has(b"compute(x)")
    assert screen.has(b"= c")
    assert not screen.has(b"compute(y)")
