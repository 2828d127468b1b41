from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk
import re
from pathlib import Path

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

_OVERRIDE_CALLS = frozenset({"setenv", "setattr", "setitem", "delenv", "patch", "patch.object", "patch.dict", "setdefault", "update"})


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode); outside test files it does nothing."""

    __test__ = False  # not a pytest class

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._active = context.is_test_file()
        self._patterns = [re.compile(p) for p in self.opts["config_patterns"]]
        self._override = False
        self._pending: list[tuple[ast.AST, str]] = []
        self._lines: list[bytes] | None = None
        self._ascii = context.source.isascii()

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._active and any(isinstance(t, ast.Subscript) and ast_dotted(t.value) == "os.environ" for t in node.targets):
            self._override = True
            self._check_ascii(node)

    def visit_Call(self, node: ast.Call) -> None:
        if not self._active:
            return
        name = self.context.call_name(node) or ""
        last = name.rsplit(".", 1)[-1]
        if last in _OVERRIDE_CALLS and (name.startswith(("monkeypatch.", "mock.", "unittest.mock.", "os.environ.")) or name in {"patch", "unittest.mock.patch"} or name.startswith("patch.")):
            self._override = True
            self._check_ascii(node)
            return
        has_args = bool(node.args or node.keywords)
        if name in {"dotenv.load_dotenv", "load_dotenv"} and not has_args:
            self._check_ascii(node)
            self._pending.append((node, "load_dotenv() reads the real .env"))
            return
        if last in {"open", "Path", "connect", "read_text", "read_bytes", "load_dotenv"} and has_args:
            items: list[ast.AST] = [*node.args, *node.keywords]
            if node.args and node.keywords:
                items.sort(key=lambda n: (n.lineno, n.col_offset))  # type: ignore[attr-defined]
            arg = items[0]
            value_node = arg.value if isinstance(arg, (ast.keyword, ast.Starred)) else arg
            if not isinstance(value_node, ast.Constant) or not isinstance(value_node.value, (str, bytes)):
                return
            value = value_node.value
            if isinstance(value, bytes):
                return
            if not _is_single_literal(self._text(value_node)):
                return
            if any(p.search(value) for p in self._patterns):
                self._check_ascii(node)
                self._pending.append((node, f"{last}({value!r}) reads a real config file or database"))

    def visit_Import(self, node: ast.Import) -> None:
        if self._active:
            for alias in node.names:
                self._check_import(node, alias.name, 0)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if self._active and node.module is not None:
            self._check_import(node, node.module, node.level or 0)

    def _check_import(self, node: ast.stmt, module: str, level: int) -> None:
        project = self.context.project
        if project is None or not module:
            return
        ref = _resolve(project, module, Path(self.context.path), level)
        if ref is None:
            return
        found = _reads_config_at_import(project, ref, self._patterns, depth=2, seen=set())
        if found is not None:
            self._check_ascii(node)
            self._pending.append((node, f"importing `{module}` reads {found} at import time"))

    def finish(self) -> None:
        if self._override:
            return
        for node, what in self._pending:
            self.report(node, what=what)

    def _text(self, node: ast.AST) -> bytes:
        if self._lines is None:
            self._lines = self.context.source.splitlines(keepends=True)
        lines = self._lines
        line, col, end_line, end_col = node.lineno, node.col_offset, node.end_lineno, node.end_col_offset  # type: ignore[attr-defined]
        if line == end_line:
            return lines[line - 1][col:end_col]
        return lines[line - 1][col:] + b"".join(lines[line: end_line - 1]) + lines[end_line - 1][:end_col]

    def _check_ascii(self, node: ast.AST) -> None:
        # ast normalises non-ASCII identifiers (NFKC), LibCST keeps them as written: names that only
        # match after normalisation are left to LibCST
        if not self._ascii and not self._text(node).isascii():
            self.defer()


def _is_single_literal(text: bytes) -> bool:
    i = 0
    while i < len(text) and text[i:i + 1] in b"rRbBuU":
        i += 1
    quote = text[i:i + 3] if text[i:i + 3] in (b'"""', b"\'\'\'") else text[i:i + 1]
    if quote not in (b'"', b"\'", b'"""', b"\'\'\'"):
        return False
    j = i + len(quote)
    while j < len(text):
        if text[j:j + 1] == b"\\":
            j += 2
            continue
        if text[j:j + len(quote)] == quote:
            return j + len(quote) == len(text)
        j += 1
    return False


class TestReadsRealConfig(Rule):
    """A test reads the developer's real `config.json`, `.env` or database, so it passes or fails by machine.

    ## What it does
    In test files (and `conftest.py`), finds:

    - `open("config.json")`, `Path("settings.json")`, `json.load(open(".env"))`, `load_dotenv()`,
      `sqlite3.connect("data/app.db")`: a literal path naming a real config file or database (the
      patterns are configurable); `tmp_path`-based and `":memory:"` paths are not literals and are
      not reported;
    - an import of a project module that reads such a file at import time (a module-level statement
      mentioning `config.json`/`.env`, followed through the project's own imports).

    A file that overrides the configuration (`os.environ["X"] = ...` / `os.environ.setdefault`,
    `monkeypatch.setenv/setattr`, `mock.patch(...)`, `patch.dict(os.environ, ...)`) is not reported.

    The rule is in preview: the import-time check is a heuristic over the project's modules.

    ## Why is this bad?
    The Orchestration Engine's `tests/conftest.py` (seed 001, 6.6) imported the app, whose
    `backend/config.py` read `config.json` at import time, and built the real tool registry (with RAG
    database access): the suite depended on the developer's files and could touch real data.

    ## Fix
    Point the configuration at a test file before importing (`os.environ.setdefault("ORCH_CONFIG",
    ...)` in `conftest.py`), or patch the loaded config in a fixture; create files and databases
    under `tmp_path`.
    """

    __test__ = False  # not a pytest class

    code = "RMD802"
    ast_checker = _Fast
    name = "test-reads-real-config"
    message = "{what}: point the test at a fixture config (tmp_path, monkeypatch, env override) instead"
    severity = Severity.LOW
    default = Default.PREVIEW
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 6, item 6.6 (conftest depends on the real config.json and RAG database)", "orchestration_engine"),
    )
    fix_safety = None
    triggers = (b"config", b".env", b".db", b"dotenv", b"settings", b"sqlite")
    needs_project = True
    options = {
        "config_patterns": (r"(^|/)config\.(json|ya?ml|toml|ini)$", r"(^|/)settings\.(json|ya?ml|toml)$", r"(^|/)\.env(\.[a-z]+)?$", r"\.(db|sqlite3?)$"),
    }
    option_docs = {"config_patterns": "regexes for literal paths that name a real config file or database"}
    limitations = "The import-time check follows the project's own imports two levels deep, from the project root the file belongs to."

    VALID = [
        Valid(
            """
            import json

            def test_loads_config(tmp_path, monkeypatch):
                cfg = tmp_path / "config.json"
                cfg.write_text(json.dumps({"auth": {"secret_key": "x" * 32}}))
                monkeypatch.setenv("ORCH_CONFIG", str(cfg))
                assert json.loads(cfg.read_text())["auth"]
            """,
            filename="tests/test_config.py",
        ),
        Valid(
            """
            import sqlite3

            def test_schema():
                conn = sqlite3.connect(":memory:")
                conn.execute("CREATE TABLE t (x)")
            """,
            filename="tests/test_schema.py",
        ),
        Valid(
            """
            import json

            def load_config():
                with open("config.json") as fh:
                    return json.load(fh)
            """,
            filename="backend/config.py",
        ),
        Valid(
            """
            import os

            os.environ.setdefault("ORCH_CONFIG", os.path.join(os.path.dirname(__file__), "config.test.json"))

            with open("config.json") as fh:
                pass
            """,
            filename="tests/conftest.py",
        ),
        Valid(
            """
            def test_reads_fixture(datadir):
                with open(datadir / "config.json") as fh:
                    assert fh.read()
            """,
            filename="tests/test_datadir.py",
        ),
    ]

    INVALID = [
        Invalid(
            """
            import json

            import pytest

            @pytest.fixture
            def config():
                with open("config.json") as fh:
                    return json.load(fh)
            """,
            line=7,
            filename="tests/conftest.py",
        ),
        Invalid(
            """
            from dotenv import load_dotenv

            load_dotenv()

            def test_key_present():
                import os
                assert os.getenv("ANTHROPIC_API_KEY")
            """,
            line=3,
            filename="tests/test_env.py",
        ),
        Invalid(
            """
            import sqlite3 as sq

            class TestRag:
                def test_search(self):
                    conn = sq.connect("data/knowledge.db")
                    assert conn.execute("SELECT 1").fetchone()
            """,
            line=5,
            filename="tests/integration/test_rag.py",
        ),
        Invalid(
            """
            from pathlib import Path

            def test_settings_parse():
                text = Path("config/settings.yaml").read_text()
                assert "models" in text
            """,
            line=4,
            filename="tests/test_settings.py",
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._active = context.is_test_file()
        self._patterns = [re.compile(p) for p in self.opts["config_patterns"]]
        self._override = False
        self._pending: list[tuple[cst.CSTNode, str]] = []

    # -- overrides -------------------------------------------------------------------------------------
    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if self._active and isinstance(node.target, cst.Subscript) and dotted_name(node.target.value) == "os.environ":
            self._override = True

    # -- reads -----------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if not self._active:
            return
        name = self.context.call_name(node) or ""
        last = name.rsplit(".", 1)[-1]
        if last in _OVERRIDE_CALLS and (name.startswith(("monkeypatch.", "mock.", "unittest.mock.", "os.environ.")) or name in {"patch", "unittest.mock.patch"} or name.startswith("patch.")):
            self._override = True
            return
        if name in {"dotenv.load_dotenv", "load_dotenv"} and not node.args:
            self._pending.append((node, "load_dotenv() reads the real .env"))
            return
        if last in {"open", "Path", "connect", "read_text", "read_bytes", "load_dotenv"} and node.args:
            arg = node.args[0].value
            if isinstance(arg, cst.SimpleString):
                value = arg.evaluated_value
                if isinstance(value, bytes):
                    return
                if any(p.search(value) for p in self._patterns):
                    self._pending.append((node, f"{last}({value!r}) reads a real config file or database"))

    def visit_Import(self, node: cst.Import) -> None:
        if self._active:
            for alias in node.names:
                self._check_import(node, dotted_name(alias.name) or "", 0)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if self._active and node.module is not None:
            self._check_import(node, dotted_name(node.module) or "", len(node.relative))

    def _check_import(self, node: cst.CSTNode, module: str, level: int) -> None:
        project = self.context.project
        if project is None or not module:
            return
        ref = _resolve(project, module, Path(self.context.path), level)
        if ref is None:
            return
        found = _reads_config_at_import(project, ref, self._patterns, depth=2, seen=set())
        if found is not None:
            self._pending.append((node, f"importing `{module}` reads {found} at import time"))

    def finish(self) -> None:
        if self._override:
            return
        for node, what in self._pending:
            self.report(node, what=what)


def _resolve(project, name: str, from_path: Path, level: int):
    """The module as Python would import it with a project root on sys.path, else the index's answer."""
    if not level:
        rel = Path(*name.split("."))
        for root in getattr(project, "roots", ()):
            for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
                if candidate.is_file():
                    return project.module_for_path(candidate)
    try:
        return project.resolve_module(name, from_path, level)
    except Exception:  # pragma: no cover - unresolvable import
        return None


def _reads_config_at_import(project, ref, patterns, depth: int, seen: set) -> str | None:
    cache = getattr(project, "_rmd802_cache", None)
    if cache is None:
        cache = {}
        try:
            project._rmd802_cache = cache
        except AttributeError:  # pragma: no cover
            pass
    key = str(ref.path)
    if key in cache:
        return cache[key]
    if key in seen:
        return None
    seen.add(key)
    result = _module_level_config(ref.summary.tree, patterns)
    if result is None and depth > 0:
        for edge in ref.summary.edges:
            target = _resolve(project, edge.target, ref.path, edge.level)
            if target is None:
                continue
            result = _reads_config_at_import(project, target, patterns, depth - 1, seen)
            if result is not None:
                break
    if depth == 2:
        cache[key] = result
    return result


def _module_level_config(tree: ast.Module | None, patterns) -> str | None:
    """A config-file literal at module level, and a module-level call that reads (open/load/read/connect)."""
    if tree is None:
        return None
    literal = None
    calls = False
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            continue
        for node in ast_walk(stmt):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and any(p.search(node.value) for p in patterns):
                literal = literal or node.value
            elif isinstance(node, ast.Call) and _is_read_call(node):
                calls = True
    if literal is not None and calls:
        return f"`{literal}`"
    return None


def _is_read_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    lowered = name.lower()
    return any(word in lowered for word in ("open", "load", "read", "connect", "dotenv"))
