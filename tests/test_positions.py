"""Fast positions (only the statements holding findings are rendered) equal LibCST's PositionProvider."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from remediation_lint.positions import positions_in, statement_code_lines
from tests.fixture_support import FIXTURES

STDLIB = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))[:30]
SOURCES = [
    "x = 1; y = 2\n\n\n# comment\n@dec\n\n# between\n@other(1)\nclass A:\n    def f(self):\n        return 1\n",
    b"\xef\xbb\xbfimport os\r\nif os:\r\n    pass\r\n",
    "async def f():\n    async with a:\n        await b\n\n\n\n@x\nasync def g(): ...\n",
    "def f(\n    a,\n    b,\n):\n    return (a +\n            b)  # tail\n# footer\n",
]


def assert_same(source: bytes | str) -> None:
    module = cst.parse_module(source)
    lines = statement_code_lines(module, ast.parse(source))
    assert lines is not None
    fast = positions_in(module, range(len(module.body)), lines)
    full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    compared = 0
    for node, rng in full.items():
        if node in fast:
            assert fast[node] == rng, (type(node).__name__, rng, fast[node])
            compared += 1
        else:  # only the module and its header/footer trivia live outside the statements
            assert isinstance(node, (cst.Module, cst.EmptyLine, cst.Comment, cst.Newline, cst.SimpleWhitespace, cst.TrailingWhitespace))
    assert compared > 0 or not module.body


@pytest.mark.parametrize("source", SOURCES)
def test_shapes(source):
    assert_same(source)


@pytest.mark.parametrize("path", STDLIB + [p for p in sorted(FIXTURES.rglob("*.py")) if p.stat().st_size][:60], ids=lambda p: p.name)
def test_real_files(path):
    assert_same(path.read_bytes())
