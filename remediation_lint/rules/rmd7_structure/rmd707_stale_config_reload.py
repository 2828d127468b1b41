from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst

from remediation_lint.rule import Default, FixSafety, Invalid, Provenance, Rule, Severity, Valid


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
            for node in ast.walk(tree):
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
