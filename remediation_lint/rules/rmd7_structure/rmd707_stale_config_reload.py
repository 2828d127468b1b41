from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk
import re
from pathlib import Path
from typing import Iterator

import libcst as cst

from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Default, FixSafety, Invalid, Provenance, Rule, Severity, Valid

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPOUND = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While, ast.With,
    ast.AsyncWith, ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()), *((ast.Match,) if hasattr(ast, "Match") else ()),
)


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode): the whole rule works on the module's top level."""

    def finish(self) -> None:
        tree = self.context.tree
        names = set(self.opts["loader_names"])
        loaders: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for stmt in tree.body:
            if isinstance(stmt, _DEFS) and stmt.name in names:
                loaders[stmt.name] = stmt
        if not loaders:
            return
        if not self.context.source.isascii():
            self.defer()  # ast normalises non-ASCII identifiers; LibCST keeps them as written
            return
        for name, func in loaders.items():
            constants = _ast_import_time_constants(tree, name)
            if not constants:
                continue
            where = self._name_node(func)
            if where is None:
                self.defer()
                return
            shown = ", ".join(constants[:3]) + (" ..." if len(constants) > 3 else "")
            self.report(where, name=name, constants=shown, fix=self._fix(name))

    def _name_node(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST | None:
        lines = self.context.source.splitlines()
        line = lines[func.lineno - 1].decode("utf-8") if func.lineno <= len(lines) else ""
        match = re.compile(r"(?:async\s+)?def\s+" + re.escape(func.name) + r"\b").match(line, func.col_offset)
        if match is None:
            return None
        node = ast.AST()
        node.lineno = node.end_lineno = func.lineno
        node.end_col_offset = match.end()
        node.col_offset = match.end() - len(func.name)
        return node

    def _fix(self, name: str) -> FixSafety | None:
        tree = self.context.tree
        new = f"_{name}"
        if _ast_bound_at_module_level(tree, new) or self._exported(tree, name) or _ast_imported(tree, name):
            return None
        if self.rule._used_elsewhere(self, name):  # type: ignore[attr-defined]
            return None
        return FixSafety.SAFE

    def _exported(self, tree: ast.Module, name: str) -> bool:
        source = self.context.source
        for small in _ast_small_statements(tree):
            if "__all__" in _ast_targets(small):
                text = ast.get_source_segment(source.decode("utf-8"), small) or ""
                if f'"{name}"' in text.replace("'", '"'):
                    return True
        return False


def _ast_small_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    for stmt in tree.body:
        if not isinstance(stmt, _COMPOUND):
            yield stmt


def _ast_targets(small: ast.stmt) -> list[str]:
    if isinstance(small, ast.Assign):
        return [t.id for t in small.targets if isinstance(t, ast.Name)]
    if isinstance(small, ast.AnnAssign) and isinstance(small.target, ast.Name) and small.value is not None:
        return [small.target.id]
    return []


def _ast_identifiers(node: ast.AST) -> Iterator[str]:
    """Every identifier under ``node`` (LibCST's ``Name`` nodes: names, attributes, parameters, keywords...)."""
    for sub in ast_walk(node):
        if isinstance(sub, ast.Name):
            yield sub.id
        elif isinstance(sub, ast.Attribute):
            yield sub.attr
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield sub.name
        elif isinstance(sub, ast.arg):
            yield sub.arg
        elif isinstance(sub, ast.keyword):
            if sub.arg:
                yield sub.arg
        elif isinstance(sub, ast.alias):
            yield from sub.name.split(".")
            if sub.asname:
                yield sub.asname
        elif isinstance(sub, ast.ImportFrom):
            if sub.module:
                yield from sub.module.split(".")
        elif isinstance(sub, (ast.Global, ast.Nonlocal)):
            yield from sub.names
        elif isinstance(sub, ast.ExceptHandler):
            if sub.name:
                yield sub.name
        elif type(sub).__name__ in ("MatchAs", "MatchStar"):
            if sub.name:  # type: ignore[attr-defined]
                yield sub.name  # type: ignore[attr-defined]
        elif type(sub).__name__ == "MatchMapping":
            if sub.rest:  # type: ignore[attr-defined]
                yield sub.rest  # type: ignore[attr-defined]
        elif type(sub).__name__ == "MatchClass":
            yield from sub.kwd_attrs  # type: ignore[attr-defined]


def _ast_mentions(node: ast.AST, names: set[str]) -> bool:
    return bool(names) and any(ident in names for ident in _ast_identifiers(node))


def _ast_calls(node: ast.AST, name: str) -> bool:
    return any(
        isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == name for sub in ast_walk(node)
    )


def _ast_import_time_constants(tree: ast.Module, loader: str) -> list[str]:
    tainted: set[str] = set()
    helpers: set[str] = set()
    constants: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, _DEFS):
            if any(_ast_mentions(s, tainted) for s in stmt.body):
                helpers.add(stmt.name)
            continue
        if isinstance(stmt, _COMPOUND):
            continue
        targets = _ast_targets(stmt)
        if not targets:
            continue
        value = stmt.value  # type: ignore[attr-defined]
        uses_config = _ast_calls(value, loader) or any(_ast_calls(value, h) for h in helpers)
        if not uses_config:
            uses_config = _ast_mentions(value, tainted)
        if not uses_config:
            continue
        for target in targets:
            tainted.add(target)
            if target.isupper():
                constants.append(target)
    if not any(not _ast_is_direct_call(tree, c, loader) for c in constants):
        return []
    return constants


def _ast_is_direct_call(tree: ast.Module, name: str, loader: str) -> bool:
    for small in _ast_small_statements(tree):
        if name in _ast_targets(small):
            value = small.value  # type: ignore[attr-defined]
            return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == loader
    return False


def _ast_bound_at_module_level(tree: ast.Module, name: str) -> bool:
    for stmt in tree.body:
        if isinstance(stmt, (*_DEFS, ast.ClassDef)) and stmt.name == name:
            return True
        if name in _ast_targets(stmt):
            return True
    return False


def _ast_imported(tree: ast.Module, name: str) -> bool:
    for small in _ast_small_statements(tree):
        if isinstance(small, ast.ImportFrom):
            for alias in small.names:
                if alias.name == "*":
                    break
                if (alias.asname or alias.name) == f"_{name}":
                    return True
    return False


class StaleConfigReload(Rule):
    """A public `load_config()` in a module whose constants are snapshots taken at import time.

    ## What it does
    Finds a public module-level `load_config()` / `reload_config()` (names configurable) in a module
    that calls it at import time and then computes UPPER_CASE constants from the result. Private
    loaders (`_load_config`) are left alone.

    ## Why is this bad?
    A public loader invites callers to reload the configuration, but every module that already did
    `from config import HOST` keeps the old value: the reload silently changes nothing, or changes only
    the modules that read the config later. The Orchestration Engine's `backend/config.py` exposed
    `load_config(path)` next to import-time constants (plan item 6.8) and made it private.

    ## Fix
    Rename the loader to `_load_config` and say that the constants are import-time snapshots; if
    hot reload is needed, read the values at the point of use (`cfg("ollama.url")`) instead of
    through constants.

    ## Fix safety
    Safe: the loader and every use of it in its module are renamed, and only when no other module of
    the project mentions the name (checked through the project index).
    """

    code = "RMD707"
    ast_checker = _Fast
    name = "stale-config-reload"
    message = "public {name}() looks reloadable but {constants} are computed from the config at import time: make it private (_{name})"
    severity = Severity.LOW
    default = Default.PREVIEW
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 6, item 6.8 (stale public load_config() in backend/config.py)", "orchestration_engine"),
    )
    fix_safety = FixSafety.SAFE
    triggers = (b"load", b"config", b"settings")
    needs_project = True
    options = {"loader_names": ("load_config", "reload_config")}
    option_docs = {"loader_names": "names of configuration loaders that must stay private when constants snapshot them (files are screened for `load`, `config` or `settings`)"}

    VALID = [
        Valid(
            """
            import json
            from pathlib import Path

            def _load_config(path: Path) -> dict:
                return json.loads(path.read_text())

            # Module-level constants: evaluated once at import time. Do not call _load_config() after import.
            _config = _load_config(Path("config.json"))
            HOST = _config.get("host", "127.0.0.1")
            """
        ),
        Valid(
            """
            import json

            def load_config(path):
                with open(path) as handle:
                    return json.load(handle)
            """
        ),
        Valid(
            """
            import json

            def load_config(path):
                return json.load(open(path))

            class Settings:
                def __init__(self, path):
                    self.values = load_config(path)

                @property
                def host(self):
                    return self.values["host"]
            """
        ),
        Valid(
            """
            def load_config(path):
                return {}

            config = load_config("config.json")
            DEBUG = False
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import json
            from pathlib import Path

            def load_config(path: Path) -> dict:
                return json.loads(path.read_text())

            _config = load_config(Path("config.json"))
            HOST = _config.get("host", "127.0.0.1")
            PORT = int(_config.get("port", 8000))
            """,
            fixed="""
            import json
            from pathlib import Path

            def _load_config(path: Path) -> dict:
                return json.loads(path.read_text())

            _config = _load_config(Path("config.json"))
            HOST = _config.get("host", "127.0.0.1")
            PORT = int(_config.get("port", 8000))
            """,
            line=4,
        ),
        Invalid(
            """
            import os
            import tomllib

            def reload_config():
                with open(os.environ.get("APP_CONFIG", "app.toml"), "rb") as handle:
                    return tomllib.load(handle)

            SETTINGS = reload_config()
            DATABASE_URL = SETTINGS["database"]["url"]
            """,
            fixed="""
            import os
            import tomllib

            def _reload_config():
                with open(os.environ.get("APP_CONFIG", "app.toml"), "rb") as handle:
                    return tomllib.load(handle)

            SETTINGS = _reload_config()
            DATABASE_URL = SETTINGS["database"]["url"]
            """,
        ),
        Invalid(
            """
            import yaml

            def load_config(path="settings.yaml"):
                with open(path) as handle:
                    return yaml.safe_load(handle)

            __all__ = ["load_config", "TIMEOUT"]

            TIMEOUT = load_config()["timeout"]
            """,
        ),
        Invalid(
            """
            import json

            def load_settings(path):
                return json.load(open(path))

            CONFIG = load_settings("config.json")
            MODEL = CONFIG["model"]
            """,
            options={"loader_names": ("load_settings",)},
            fixed="""
            import json

            def _load_settings(path):
                return json.load(open(path))

            CONFIG = _load_settings("config.json")
            MODEL = CONFIG["model"]
            """,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._names: dict[str, list[cst.Name]] = {}
        self._loaders: dict[str, cst.FunctionDef] = {}

    def visit_Module(self, node: cst.Module) -> None:
        names = set(self.opts["loader_names"])
        for stmt in node.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value in names:
                self._loaders[stmt.name.value] = stmt

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self._loaders:
            parent = self.context.parent()
            if isinstance(parent, cst.Attribute) and parent.attr is node:
                return
            self._names.setdefault(node.value, []).append(node)

    def finish(self) -> None:
        for name, func in self._loaders.items():
            constants = _import_time_constants(self.context.module, name)
            if not constants:
                continue
            shown = ", ".join(constants[:3]) + (" ..." if len(constants) > 3 else "")
            self.report(func.name, name=name, constants=shown, fix=self._fix(name))

    def _fix(self, name: str):
        new = f"_{name}"
        module = self.context.module
        if _bound_at_module_level(module, new) or _exported(module, name) or _imported(module, name):
            return None
        if self._used_elsewhere(name):
            return None
        replacements = [(n, n.with_changes(value=new)) for n in self._names.get(name, [])]
        return self.make_fix(replacements) if replacements else None

    def _used_elsewhere(self, name: str) -> bool:
        """True when another module of the project mentions ``name`` (or we cannot tell)."""
        ctx = self.context
        ref = ctx.module_ref
        if ref is None:
            # a source that is not a file on disk (an example, stdin without a real path) has no importers
            return Path(ctx.path).exists()
        if ctx.project is None:
            return True
        for other in ctx.project.all_modules():
            if other.path == ref.path:
                continue
            tree = other.summary.tree
            if tree is None:
                if not other.summary.parsed:
                    continue
                return True
            for node in ast_walk(tree):
                if (isinstance(node, ast.Name) and node.id == name) or (isinstance(node, ast.Attribute) and node.attr == name):
                    return True
                if isinstance(node, ast.alias) and node.name == name:
                    return True
        return False


def _calls(expr: cst.CSTNode, name: str) -> bool:
    finder = _CallFinder(name)
    expr.visit(finder)
    return finder.found


class _CallFinder(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == self.name:
            self.found = True


class _NameFinder(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.found = True


def _targets(small: cst.BaseSmallStatement) -> list[str]:
    if isinstance(small, cst.Assign):
        return [t.target.value for t in small.targets if isinstance(t.target, cst.Name)]
    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
        return [small.target.value]
    return []


def _import_time_constants(module: cst.Module, loader: str) -> list[str]:
    """UPPER_CASE module constants computed (directly or through a config variable) from ``loader()``."""
    tainted: set[str] = set()
    helpers: set[str] = set()
    constants: list[str] = []
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            # functions reading a tainted config variable (``cfg(key)``) count as config lookups
            finder = _NameFinder(tainted)
            stmt.body.visit(finder)
            if finder.found:
                helpers.add(stmt.name.value)
            continue
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            targets = _targets(small)
            if not targets:
                continue
            value = small.value  # type: ignore[union-attr]
            uses_config = _calls(value, loader) or any(_calls(value, h) for h in helpers)
            if not uses_config:
                finder = _NameFinder(tainted)
                value.visit(finder)
                uses_config = finder.found
            if not uses_config:
                continue
            for target in targets:
                tainted.add(target)
                if target.isupper():
                    constants.append(target)
    # ``SETTINGS = load_config()`` alone is the config object itself; a snapshot needs a constant derived
    # from it (``HOST = SETTINGS["host"]``, ``OLLAMA_URL = cfg("ollama.url")``)
    if not any(not _is_direct_call(module, c, loader) for c in constants):
        return []
    return constants


def _is_direct_call(module: cst.Module, name: str, loader: str) -> bool:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if name in _targets(small):
                    value = small.value  # type: ignore[union-attr]
                    return isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == loader
    return False


def _bound_at_module_level(module: cst.Module, name: str) -> bool:
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.name.value == name:
            return True
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if name in _targets(small):
                    return True
    return False


def _exported(module: cst.Module, name: str) -> bool:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if "__all__" in _targets(small) and f'"{name}"' in module.code_for_node(small).replace("'", '"'):
                    return True
    return False


def _imported(module: cst.Module, name: str) -> bool:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                    for alias in small.names:
                        local = alias.asname.name if alias.asname else alias.name
                        if isinstance(local, cst.Name) and local.value == f"_{name}":
                            return True
    return False
