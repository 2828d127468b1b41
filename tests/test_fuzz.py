"""Property tests of the linter and its fixes (ruff-style fix fuzzing).

For generated programs (hypothesmith's grammar-based generator) and for mutations of the fixture files
(deleted tokens, truncated files, swapped indentation, duplicated and swapped lines), with every rule on
(preview included) and ``--fix --unsafe-fixes``:

* the linter never raises and no rule reports an internal error;
* a fixed file still parses (LibCST and CPython) and compiles when the original did;
* every line outside the edits of the fixes that were applied is kept byte for byte;
* fixing is a fixpoint: a second run changes nothing.

Seeds are fixed (``derandomize=True``) and the example counts small, so CI time stays bounded; set
``RMD_FUZZ_EXAMPLES`` (e.g. 2000) for a longer run with the same properties.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import io
import os
import random
import tokenize
import warnings
from functools import lru_cache
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from remediation_lint import engine
from remediation_lint.config import Config
from remediation_lint.engine import Linter
from tests.conftest import FIXTURES

EXAMPLES = int(os.environ.get("RMD_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FIXTURE_FILES = sorted(p for p in FIXTURES.rglob("*.py") if "remediated" not in p.parts)


@lru_cache(maxsize=1)
def linter() -> Linter:
    lint = Linter(Config(preview=True))
    lint.want_edits = True  # each finding carries the line edits of its own fix
    return lint


def _compiles(code: bytes) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(code, "<fuzz>", "exec", dont_inherit=True)
        return True
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False


def _edit_ranges(source: bytes, path: str) -> list[tuple[int, int]]:
    """0-based half-open line ranges that the applicable fixes of one round touch, each widened by a
    line (an insertion sits between two lines)."""
    result = linter().check(source, path, unsafe_fixes=True)
    ranges = []
    for finding in result.findings:
        if finding.fix_applicable:
            for edit in finding.edits or []:
                ranges.append((edit["start_line"] - 2, edit["end_line"]))
    return ranges


@contextlib.contextmanager
def _one_round():
    saved = engine.MAX_FIX_ROUNDS
    engine.MAX_FIX_ROUNDS = 1
    try:
        yield
    finally:
        engine.MAX_FIX_ROUNDS = saved


def _assert_changes_within(before_text: bytes, after_text: bytes, allowed: list[tuple[int, int]]) -> None:
    before, after = before_text.splitlines(keepends=True), after_text.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        lines = range(i1, i2) if i2 > i1 else [i1]
        outside = [i for i in lines if not any(lo <= i <= hi for lo, hi in allowed)]
        assert not outside, (
            f"lines {i1 + 1}-{i2} changed outside every fix's edits {allowed}:\n"
            + "".join(l.decode("utf-8", "replace") for l in before[i1:i2])
            + "---\n" + "".join(l.decode("utf-8", "replace") for l in after[j1:j2])
        )


def check_properties(source: bytes, path: str) -> None:
    lint = linter()
    result = lint.check(source, path, fix=True, unsafe_fixes=True)
    internal = [n for n in result.notes if "internal error" in n]
    assert not internal, internal
    if result.fixed is None or result.fixed == source:
        return
    fixed = result.fixed
    cst.parse_module(fixed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ast.parse(fixed)
    if _compiles(source):
        assert _compiles(fixed), "the fixed file no longer compiles"
    # untouched lines, byte for byte: replay the rounds one at a time; every line a round changes lies
    # within the edits of that round's applicable fixes (a fix may enable another in the next round)
    current = source
    for _ in range(engine.MAX_FIX_ROUNDS):
        allowed = _edit_ranges(current, path)
        with _one_round():
            step = lint.check(current, path, fix=True, unsafe_fixes=True).fixed
        if step is None or step == current:
            break
        _assert_changes_within(current, step, allowed)
        current = step
    assert current == fixed, "replaying the fix rounds one by one gives a different result"
    # fixpoint
    again = lint.check(fixed, path, fix=True, unsafe_fixes=True)
    assert again.fixed is None or again.fixed == fixed, "a second --fix --unsafe-fixes changed the file again"


# -- the fixture files as they are -------------------------------------------------------------------
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_files_fix_properties(path: Path):
    check_properties(path.read_bytes(), str(path))


# -- mutations of the fixture files ------------------------------------------------------------------
def _tokens(source: bytes) -> list[tokenize.TokenInfo]:
    try:
        return [t for t in tokenize.tokenize(io.BytesIO(source).readline) if t.type not in (tokenize.ENCODING, tokenize.ENDMARKER)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []


def delete_token(source: bytes, rng: random.Random) -> bytes:
    lines = source.splitlines(keepends=True)
    toks = [t for t in _tokens(source) if t.start[0] == t.end[0] and t.string]
    if not toks:
        return source
    tok = rng.choice(toks)
    row = tok.start[0] - 1
    text = lines[row].decode("utf-8", "replace")
    lines[row] = (text[: tok.start[1]] + text[tok.end[1]:]).encode("utf-8")
    return b"".join(lines)


def truncate(source: bytes, rng: random.Random) -> bytes:
    return source[: rng.randrange(len(source) + 1)]


def truncate_lines(source: bytes, rng: random.Random) -> bytes:
    lines = source.splitlines(keepends=True)
    return b"".join(lines[: rng.randrange(len(lines) + 1)])


def swap_indentation(source: bytes, rng: random.Random) -> bytes:
    lines = source.splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines)) if lines else 0
        if lines and lines[i].startswith(b"    "):
            lines[i] = rng.choice([b"\t" + lines[i][4:], lines[i][4:], b"  " + lines[i], b"    " + lines[i]])
    return b"".join(lines)


def tabs_for_spaces(source: bytes, rng: random.Random) -> bytes:
    return b"".join(l.replace(b"    ", b"\t") if rng.random() < 0.5 else l for l in source.splitlines(keepends=True))


def shuffle_lines(source: bytes, rng: random.Random) -> bytes:
    lines = source.splitlines(keepends=True)
    if len(lines) > 2:
        i = rng.randrange(len(lines) - 1)
        if rng.random() < 0.5:
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        else:
            lines.insert(i, lines[i])
    return b"".join(lines)


def newlines(source: bytes, rng: random.Random) -> bytes:
    lines = source.splitlines(keepends=True)
    return b"".join(l.replace(b"\n", b"\r\n") if rng.random() < 0.3 else l for l in lines)


MUTATORS = [delete_token, truncate, truncate_lines, swap_indentation, tabs_for_spaces, shuffle_lines, newlines]


@FUZZ
@given(
    path=st.sampled_from(FIXTURE_FILES),
    mutators=st.lists(st.sampled_from(MUTATORS), min_size=1, max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_mutated_fixture_files(path: Path, mutators, seed: int):
    rng = random.Random(seed)
    source = path.read_bytes()
    for mutate in mutators:
        source = mutate(source, rng)
    check_properties(source, str(path))


# -- generated programs ------------------------------------------------------------------------------
hypothesmith = pytest.importorskip("hypothesmith")


@FUZZ
@given(source=hypothesmith.from_grammar())
@example(source="A\n\n \n\n#\u2026")  # LibCST drops a blank line of this footer: no fix may be written
def test_generated_programs(source: str):
    check_properties(source.encode("utf-8"), "generated.py")


@FUZZ
@given(source=hypothesmith.from_node(cst.Module))
@example(source="try:\n pass\nexcept :\n pass\n")  # two rounds: `except Exception:`, then the logging body
def test_generated_libcst_modules(source: str):
    check_properties(source.encode("utf-8"), "generated_cst.py")
