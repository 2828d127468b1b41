"""The project pass: per-module summaries that let rules ask about other modules.

Summaries come from the standard library's ``ast`` (about ten times faster than a LibCST parse), are
built lazily (only for modules a rule asks about, or all of them for project-wide rules) and cached per
process. Rules never walk other files themselves; they ask this index:

- ``resolve_call(ctx, call.func)``: the ``FunctionInfo`` a call goes to (module function, method through
  ``self``, ``self.attr`` whose class is known from a constructor assignment, imported function), or
  None when anything on the way cannot be resolved. Unresolved means "do not report".
- ``resolve_module(name, from_path)`` / ``resolve_symbol(qualified, from_path)``.
- ``class_attributes(module, class)``: every attribute a class (with its project bases) assigns.
- ``import_graph()``: module-level import edges for cycle detection.

Module names are matched by path suffix (``transport.grpc_server`` matches
``.../model_ops_coordinator/transport/grpc_server.py``), preferring the candidate closest to the
importing file, so projects work without being installed and without ``__init__.py`` files.
"""

from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk
from collections import OrderedDict
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import libcst as cst

from remediation_lint.astcheck import walk as _walk
from remediation_lint.analysis.names import ast_dotted as _ast_dotted, dotted_name
from remediation_lint.guard import MAX_FILE_BYTES

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.cache import SummaryCache
    from remediation_lint.context import FileContext

PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
AWAITABLE_RETURNS = {"Coroutine", "Awaitable", "Future", "Task", "Generator"}
DEFAULT_EXCLUDED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "env", ".env", "__pycache__", "node_modules",
        "build", "dist", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".remediation_lint_cache", "site-packages",
        ".eggs", "_build", "buck-out", "__pypackages__",
    }
)


@dataclass
class FunctionInfo:
    name: str
    qualname: str
    is_async: bool
    #: None until asked: computed from the annotation and the returns (a walk of the body)
    awaitable: bool | None
    lineno: int
    module: "ModuleSummary | None" = field(default=None, repr=False)
    #: ``ClassName`` for a method, else None (to find the node again)
    owner: str | None = field(default=None, repr=False)

    @property
    def node(self) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The function's ``ast`` node, found again in the module's (re-parsed) tree."""
        tree = self.module.tree if self.module is not None else None
        if tree is None:
            return None
        body: list[ast.stmt] = tree.body
        if self.owner is not None:
            body = next((s.body for s in _top_level(tree.body) if isinstance(s, ast.ClassDef) and s.name == self.owner), [])
        else:
            body = list(_top_level(body))
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == self.name and stmt.lineno == self.lineno:
                return stmt
        return None

    @property
    def returns_awaitable(self) -> bool:
        """Annotated to return an awaitable, or returning a call of an async function."""
        if self.awaitable is None:
            self.awaitable = bool(
                isinstance(self.node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and self.module is not None
                and _returns_awaitable(self.node, self.module)
            )
        return self.awaitable

    @property
    def returns_coroutine(self) -> bool:
        """True when calling it gives something awaitable."""
        return self.is_async or self.returns_awaitable


@dataclass
class ClassInfo:
    name: str
    lineno: int
    bases: list[str]  # as written (dotted), resolve with ModuleSummary.qualify
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    #: attributes assigned anywhere in the class: ``self.x = ...`` in any method, class-body names
    attributes: set[str] = field(default_factory=set)
    #: ``self.x = SomeClass(...)`` -> "SomeClass" (dotted callee text as written)
    attribute_types: dict[str, str] = field(default_factory=dict)
    decorators: list[str] = field(default_factory=list)
    uses_setattr: bool = False
    has_slots: bool = False
    has_getattr: bool = False
    end_lineno: int = 0
    module: "ModuleSummary | None" = field(default=None, repr=False)


@dataclass
class ImportEdge:
    target: str  # absolute dotted module name as written (relative imports resolved to a path later)
    lineno: int
    col: int
    level: int = 0
    names: tuple[str, ...] = ()


@dataclass
class ModuleSummary:
    path: str
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    #: local name -> (level, module, name or None); name None means ``import module``
    imports: dict[str, tuple[int, str, str | None]] = field(default_factory=dict)
    #: module-level imports outside ``if TYPE_CHECKING:`` (edges of the import graph)
    edges: list[ImportEdge] = field(default_factory=list)
    #: names bound at module level (assignments, defs, classes, imports)
    globals: set[str] = field(default_factory=set)
    parsed: bool = True
    #: names of every ``async def`` in the module (any depth)
    async_names: set[str] = field(default_factory=set)
    #: the module's bytes; its ``ast`` tree is parsed again on demand (``tree``) instead of being kept
    source: bytes | str | None = field(default=None, repr=False)
    #: (qualname, lineno, statement count, normalised body) of top-level functions and methods, when the
    #: index was asked for them (RMD706), computed while the tree was at hand
    body_keys: list[tuple[str, int, int, str]] | None = field(default=None, repr=False)
    #: other ``SUMMARY_EXTRAS`` results, by name
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def tree(self) -> ast.Module | None:
        """The module's ``ast`` tree, parsed again on demand; a few recent ones are kept."""
        if not self.parsed or self.source is None:
            return None
        key = id(self)
        found = _TREES.get(key)
        if found is not None and found[0] is self:
            _TREES.move_to_end(key)
            return found[1]
        try:
            tree = ast.parse(self.source, filename=self.path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        _TREES[key] = (self, tree)
        while len(_TREES) > _TREES_KEPT:
            _TREES.popitem(last=False)
        return tree


#: recently parsed trees of summarised modules (bounded: memory must not grow with the project)
_TREES: "OrderedDict[int, tuple[ModuleSummary, ast.Module]]" = OrderedDict()
_TREES_KEPT = 16


class _Summarizer(ast.NodeVisitor):
    def __init__(self, summary: ModuleSummary) -> None:
        self.s = summary

    def run(self, tree: ast.Module, imports: list[ast.Import | ast.ImportFrom]) -> None:
        for stmt in tree.body:
            self._top(stmt, type_checking=False)
        for stmt in imports:
            self._record_import(stmt)

    def _top(self, stmt: ast.stmt, type_checking: bool) -> None:
        s = self.s
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            s.functions[stmt.name] = _function_info(stmt, stmt.name, s)
            s.globals.add(stmt.name)
        elif isinstance(stmt, ast.ClassDef):
            s.classes[stmt.name] = _class_info(stmt, s)
            s.globals.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                s.globals.add((alias.asname or alias.name).split(".")[0])
            if not type_checking:
                self._edge(stmt)
        elif isinstance(stmt, ast.If):
            tc = type_checking or _is_type_checking(stmt.test)
            for inner in stmt.body:
                self._top(inner, tc)
            for inner in stmt.orelse:
                self._top(inner, type_checking)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            for block in (stmt.body, stmt.orelse, stmt.finalbody):  # type: ignore[attr-defined]
                for inner in block:
                    self._top(inner, type_checking)
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                for inner in handler.body:
                    self._top(inner, type_checking)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                for name in ast_walk(target):
                    if isinstance(name, ast.Name):
                        s.globals.add(name.id)

    def _edge(self, stmt: ast.Import | ast.ImportFrom) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                self.s.edges.append(ImportEdge(alias.name, stmt.lineno, stmt.col_offset))
        else:
            names = tuple(a.name for a in stmt.names)
            self.s.edges.append(ImportEdge(stmt.module or "", stmt.lineno, stmt.col_offset, stmt.level, names))

    def _record_import(self, stmt: ast.Import | ast.ImportFrom) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    self.s.imports.setdefault(alias.asname, (0, alias.name, None))
                else:
                    head = alias.name.split(".")[0]
                    self.s.imports.setdefault(head, (0, head, None))
        else:
            for alias in stmt.names:
                if alias.name == "*":
                    continue
                self.s.imports.setdefault(alias.asname or alias.name, (stmt.level, stmt.module or "", alias.name))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _function_info(node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, module: ModuleSummary) -> FunctionInfo:
    is_async = isinstance(node, ast.AsyncFunctionDef)
    owner = qualname.rsplit(".", 1)[0] if "." in qualname else None
    return FunctionInfo(node.name, qualname, is_async, False if is_async else None, node.lineno, module, owner)


def _top_level(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements as the summariser sees them (also inside top-level ``if``/``try`` blocks)."""
    for stmt in statements:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _top_level(stmt.body)
            yield from _top_level(stmt.orelse)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            for block in (stmt.body, stmt.orelse, stmt.finalbody):  # type: ignore[attr-defined]
                yield from _top_level(block)
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                yield from _top_level(handler.body)


def _returns_awaitable(node: ast.FunctionDef | ast.AsyncFunctionDef, module: ModuleSummary) -> bool:
    is_async = isinstance(node, ast.AsyncFunctionDef)
    awaitable = False
    if node.returns is not None:
        for sub in ast_walk(node.returns):
            name = sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute) else None
            if name in AWAITABLE_RETURNS:
                awaitable = True
                break
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and any(
                word in sub.value for word in AWAITABLE_RETURNS
            ):
                awaitable = True
                break
    if not is_async and not awaitable:
        awaitable = _returns_async_call(node, module)
    return awaitable


def _returns_async_call(node: ast.FunctionDef | ast.AsyncFunctionDef, module: ModuleSummary) -> bool:
    """A sync function that returns a call of something that looks like a coroutine factory.

    Only obvious shapes count: ``return asyncio.ensure_future(...)``/``create_task``/``gather``/
    ``to_thread`` or ``return self._start_async()`` where the callee is an ``async def`` of the same
    class or module (checked later lazily is overkill; we accept any name ending in ``_async``).
    """
    for sub in _walk(node):
        if isinstance(sub, ast.Return) and isinstance(sub.value, ast.Call):
            callee = _ast_dotted(sub.value.func) or ""
            last = callee.rsplit(".", 1)[-1]
            if last in {"ensure_future", "create_task", "gather", "to_thread", "run_in_executor", "wait_for", "sleep", "shield"}:
                return True
            if last.endswith("_async") or last.startswith("async_"):
                return True
            if (callee.startswith("self.") or "." not in callee) and last in module.async_names:
                return True
    return False


def _class_info(node: ast.ClassDef, module: ModuleSummary) -> ClassInfo:
    info = ClassInfo(
        node.name,
        node.lineno,
        [b for b in (_ast_dotted(base) for base in node.bases) if b],
        decorators=[d for d in (_ast_dotted(dec.func if isinstance(dec, ast.Call) else dec) for dec in node.decorator_list) if d],
        end_lineno=getattr(node, "end_lineno", node.lineno) or node.lineno,
        module=module,
    )
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            info.methods[stmt.name] = _function_info(stmt, f"{node.name}.{stmt.name}", module)
            if stmt.name in ("__getattr__", "__getattribute__"):
                info.has_getattr = True
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                for name in ast_walk(target):
                    if isinstance(name, ast.Name):
                        info.attributes.add(name.id)
                        if name.id == "__slots__":
                            info.has_slots = True
        elif isinstance(stmt, ast.ClassDef):
            info.attributes.add(stmt.name)
    for sub in _walk(node):
        if isinstance(sub, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
            for target in targets:
                for t in ast_walk(target):
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in ("self", "cls"):
                        info.attributes.add(t.attr)
                        value = sub.value
                        if isinstance(value, ast.Call) and t is target:
                            callee = _ast_dotted(value.func)
                            if callee:
                                info.attribute_types.setdefault(t.attr, callee)
        elif isinstance(sub, (ast.With, ast.AsyncWith)):
            for item in sub.items:
                t = item.optional_vars
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    info.attributes.add(t.attr)
        elif isinstance(sub, (ast.For, ast.AsyncFor)):
            for t in ast_walk(sub.target):
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    info.attributes.add(t.attr)
        elif isinstance(sub, ast.NamedExpr):
            pass
        elif isinstance(sub, ast.Call):
            callee = _ast_dotted(sub.func)
            if callee in ("setattr", "object.__setattr__") or (callee or "").endswith("__dict__.update"):
                info.uses_setattr = True
        elif isinstance(sub, ast.Attribute) and sub.attr == "__dict__":
            info.uses_setattr = True
    return info


#: extra facts a project-wide analysis computes from each module's tree while the summariser has it
#: (so that the tree need not be kept or parsed again): name -> function(summary, tree). Analyses
#: register themselves; a ``ProjectSet``/``ProjectIndex`` computes the ones its rules asked for.
SUMMARY_EXTRAS: dict[str, "Callable[[ModuleSummary, ast.Module], None]"] = {}


#: dataclasses a cached summary may hold, by name (analyses register the types of their extras)
CACHEABLE: dict[str, type] = {}
#: fields not stored: back references restored on load, and the source (the caller has the bytes)
_NOT_STORED = {"module", "source"}
CACHEABLE.update({c.__name__: c for c in (FunctionInfo, ClassInfo, ImportEdge, ModuleSummary)})


def encode_summary(value: object) -> object:
    """A JSON-able form of a summary (dataclasses by registered name, sets, tuples, non-string keys)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [encode_summary(v) for v in value]
    if isinstance(value, tuple):
        return {"t": [encode_summary(v) for v in value]}
    if isinstance(value, (set, frozenset)):  # in a stable order: equal summaries, equal entries
        return {"f" if isinstance(value, frozenset) else "s": [encode_summary(v) for v in sorted(value, key=repr)]}
    if isinstance(value, dict):
        return {"d": [[encode_summary(k), encode_summary(v)] for k, v in value.items()]}
    name = type(value).__name__
    if CACHEABLE.get(name) is type(value):
        fields = getattr(value, "__dataclass_fields__")
        return {"c": name, "v": {f: encode_summary(getattr(value, f)) for f in fields if f not in _NOT_STORED}}
    raise TypeError(f"cannot store {name} in a summary")


def decode_summary(value: object) -> object:
    """The inverse of ``encode_summary``; only registered dataclasses are built (KeyError otherwise)."""
    if isinstance(value, list):
        return [decode_summary(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "c" in value:
        cls = CACHEABLE[value["c"]]
        return cls(**{k: decode_summary(v) for k, v in value["v"].items()})
    if "t" in value:
        return tuple(decode_summary(v) for v in value["t"])
    if "s" in value:
        return {decode_summary(v) for v in value["s"]}
    if "f" in value:
        return frozenset(decode_summary(v) for v in value["f"])
    return {decode_summary(k): decode_summary(v) for k, v in value["d"]}


def _link(summary: ModuleSummary) -> None:
    """Restore the back references of a summary's functions and classes."""
    for info in summary.functions.values():
        info.module = summary
    for cls in summary.classes.values():
        cls.module = summary
        for info in cls.methods.values():
            info.module = summary


def summarize_cached(path: str, source: bytes, extras: Iterable[str], cache: "SummaryCache | None") -> ModuleSummary:
    """``summarize_source`` through the summary cache (when there is one)."""
    if cache is None or not isinstance(source, bytes):
        return summarize_source(path, source, extras)
    key = cache.key(path, source, extras)
    found = cache.get(key)
    if isinstance(found, ModuleSummary):
        found.source = source
        _link(found)
        return found
    summary = summarize_source(path, source, extras)
    cache.put(key, summary)
    return summary


def summarize_source(path: str, source: bytes | str, extras: Iterable[str] = ()) -> ModuleSummary:
    summary = ModuleSummary(path, source=source)
    limit = MAX_FILE_BYTES["bytes"]
    if limit and len(source) > limit:  # the engine skips such files; summarising one would cost as much
        summary.parsed = False
        return summary
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        summary.parsed = False
        return summary
    imports: list[ast.Import | ast.ImportFrom] = []
    for node in _walk(tree):  # one walk for what needs the whole tree
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
        elif isinstance(node, ast.AsyncFunctionDef):
            summary.async_names.add(node.name)
    _Summarizer(summary).run(tree, imports)
    for name in extras:
        compute = SUMMARY_EXTRAS.get(name)
        if compute is not None:
            compute(summary, tree)
    return summary


def find_project_root(path: Path) -> Path:
    """The nearest ancestor holding a project marker; the path's own directory when there is none."""
    start = path if path.is_dir() else path.parent
    start = start.resolve()
    for candidate in (start, *start.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    return start


def iter_python_files(root: Path, excluded: frozenset[str] = DEFAULT_EXCLUDED_DIRS) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in excluded and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            if name.endswith(".py"):
                full = Path(dirpath) / name
                if full.is_file():
                    yield full


def _module_parts(path: Path, root: Path) -> list[str]:
    try:
        rel = path.resolve().relative_to(root)
    except ValueError:
        rel = Path(path.name)
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return parts


class ModuleRef:
    """A module of the project: its summary plus how to qualify names inside it."""

    def __init__(self, index: "ProjectIndex", path: Path, summary: ModuleSummary) -> None:
        self.index = index
        self.path = path
        self.summary = summary

    def qualify(self, dotted: str) -> tuple["ModuleRef | None", str]:
        """Follow a dotted name written in this module to (module, remaining attribute path).

        Returns (self, dotted) when the head is defined here, (other, rest) when it is imported from a
        project module, (None, "") when it cannot be resolved.
        """
        head, _, rest = dotted.partition(".")
        s = self.summary
        if head in s.classes or head in s.functions:
            return self, dotted
        imported = s.imports.get(head)
        if imported is None:
            return None, ""
        level, module, name = imported
        if name is None:
            # ``import a.b`` binds ``a``; the rest of the chain names submodules and then symbols
            full = f"{module}.{rest}" if rest else module
            return self.index.split_symbol(full, self.path, 0)
        target = f"{module}.{name}" if module else name
        full = f"{target}.{rest}" if rest else target
        return self.index.split_symbol(full, self.path, level)


class ProjectIndex:
    """Lazily built index of the Python files under one or more project roots."""

    def __init__(self, roots: Iterable[Path], sources: dict[str, bytes] | None = None) -> None:
        self.roots = sorted({Path(r).resolve() for r in roots})
        self._sources = {str(Path(k).resolve()): v for k, v in (sources or {}).items()}
        self._files: list[Path] | None = None
        self._by_name: dict[str, list[Path]] | None = None
        self._refs: dict[Path, ModuleRef] = {}
        #: ``Path(p).resolve()`` of the paths asked about (resolving costs a system call per component)
        self._resolved: dict[str | Path, Path] = {}
        self._graph: dict[Path, list[tuple[Path, ImportEdge]]] | None = None
        #: names of ``SUMMARY_EXTRAS`` to compute while summarising (what the enabled rules read)
        self.extras: set[str] = set()
        #: where summaries of unchanged modules are kept between runs (None: nowhere)
        self.summary_cache: "SummaryCache | None" = None
        #: while set, the files whose summaries were read (``"*"`` for the whole project); the cache
        #: keys project-wide results on them
        self.recording: set[str] | None = None

    def _record(self, what: str) -> None:
        if self.recording is not None:
            self.recording.add(what)

    @classmethod
    def for_paths(cls, paths: Iterable[str | Path]) -> "ProjectIndex":
        return cls(find_project_root(Path(p)) for p in paths)

    # -- files and names -----------------------------------------------------------------------------
    def files(self) -> list[Path]:
        if self._files is None:
            seen: dict[Path, None] = {}
            for root in self.roots:
                for f in iter_python_files(root):
                    seen[f.resolve()] = None
            self._files = list(seen)
        return self._files

    def _root_of(self, path: Path) -> Path:
        best = None
        for root in self.roots:
            if path == root or root in path.parents:
                if best is None or len(root.parts) > len(best.parts):
                    best = root
        return best or path.parent

    def _names(self) -> dict[str, list[Path]]:
        if self._by_name is None:
            names: dict[str, list[Path]] = {}
            for f in self.files():
                parts = _module_parts(f, self._root_of(f))
                for i in range(len(parts)):
                    names.setdefault(".".join(parts[i:]), []).append(f)
            self._by_name = names
        return self._by_name

    def module_for_path(self, path: str | Path) -> ModuleRef | None:
        p = self._resolved.get(path)
        if p is None:
            p = self._resolved[path] = Path(path).resolve()
        self._record(str(p))
        if p in self._refs:
            return self._refs[p]
        if not p.is_file() and str(p) not in self._sources:
            return None
        source = self._sources.get(str(p))
        if source is None:
            try:
                source = p.read_bytes()
            except OSError:
                return None
        summary = summarize_cached(str(p), source, self.extras, self.summary_cache)
        ref = ModuleRef(self, p, summary)
        _link(summary)
        self._refs[p] = ref
        return ref

    def adopt(self, path: Path, summary: ModuleSummary) -> None:
        """Take a summary built elsewhere (another process) for one of this project's files."""
        p = path.resolve()
        if p in self._refs:
            return
        _link(summary)
        self._refs[p] = ModuleRef(self, p, summary)

    def resolve_module(self, name: str, from_path: Path | None = None, level: int = 0) -> ModuleRef | None:
        if level:
            if from_path is None:
                return None
            base = from_path.resolve().parent
            for _ in range(level - 1):
                base = base.parent
            rel = Path(*name.split(".")) if name else Path()
            for candidate in (base / rel).with_suffix(".py") if name else None, base / rel / "__init__.py":
                if candidate is not None and candidate.is_file():
                    return self.module_for_path(candidate)
            return None
        candidates = self._names().get(name, [])
        if not candidates:
            return None
        if len(candidates) > 1:
            if from_path is None:
                return None
            chosen = self._closest(name, candidates, from_path.resolve())
            return self.module_for_path(chosen) if chosen is not None else None
        return self.module_for_path(candidates[0])

    @staticmethod
    def _closest(name: str, candidates: list[Path], importer: Path) -> Path | None:
        """Pick among same-named modules the way an import from ``importer`` would.

        A candidate's base is the directory that would have to be on ``sys.path`` for ``name`` to mean
        it. Candidates whose base contains the importing file come first, the deepest base winning (so a
        ``remediated/`` copy imports its own siblings, while ``tests/`` imports the top-level package);
        then the candidate sharing the longest directory prefix with the importer. A tie is no answer.
        """
        depth = len(name.split("."))
        here = importer.parent.parts

        def base(p: Path) -> Path:
            up = depth if p.name != "__init__.py" else depth + 1
            b = p
            for _ in range(up):
                b = b.parent
            return b

        def shared(p: Path) -> int:
            n = 0
            for a, b in zip(here, p.parent.parts):
                if a != b:
                    break
                n += 1
            return n

        def rank(p: Path) -> tuple[int, int, int]:
            b = base(p)
            importable = b == importer.parent or b in importer.parents
            return (1 if importable else 0, len(b.parts) if importable else 0, shared(p))

        ranked = sorted(candidates, key=rank, reverse=True)
        if rank(ranked[0]) == rank(ranked[1]):
            return None
        return ranked[0]

    def split_symbol(self, full: str, from_path: Path | None, level: int = 0) -> tuple[ModuleRef | None, str]:
        """Split ``pkg.mod.Class.method`` into the longest module prefix and the rest."""
        parts = full.split(".") if full else []
        for cut in range(len(parts), -1 if level else 0, -1):
            mod_name = ".".join(parts[:cut])
            ref = self.resolve_module(mod_name, from_path, level)
            if ref is not None:
                return ref, ".".join(parts[cut:])
        return None, ""

    # -- symbols -------------------------------------------------------------------------------------
    def lookup(self, ref: ModuleRef, dotted: str, depth: int = 0) -> FunctionInfo | ClassInfo | ModuleRef | None:
        """What ``dotted`` (as written in ``ref``) names: a function, class, method or module."""
        if depth > 8:
            return None
        target, rest = ref.qualify(dotted)
        if target is None:
            return None
        if not rest:
            return target
        head, _, tail = rest.partition(".")
        s = target.summary
        if head in s.functions and not tail:
            return s.functions[head]
        if head in s.classes:
            cls = s.classes[head]
            if not tail:
                return cls
            if "." in tail:
                return None
            return self.find_method(cls, tail, depth + 1)
        if target is not ref and (head in s.imports):
            return self.lookup(target, rest, depth + 1)
        return None

    def resolve_class(self, module: ModuleSummary, dotted: str) -> ClassInfo | None:
        ref = self._refs.get(Path(module.path))
        if ref is None:
            return None
        found = self.lookup(ref, dotted)
        return found if isinstance(found, ClassInfo) else None

    def class_bases(self, cls: ClassInfo) -> list[ClassInfo | None]:
        """Project classes of ``cls``'s bases; None for a base that cannot be resolved."""
        out: list[ClassInfo | None] = []
        for base in cls.bases:
            if base in ("object", "Generic", "Protocol", "ABC", "abc.ABC") or base.startswith("typing."):
                continue
            out.append(self.resolve_class(cls.module, base) if cls.module else None)
        return out

    def find_method(self, cls: ClassInfo, name: str, depth: int = 0) -> FunctionInfo | None:
        if name in cls.methods:
            return cls.methods[name]
        if depth > 8:
            return None
        for base in self.class_bases(cls):
            if base is None:
                return None  # an unresolved base might define it: no guess
            found = self.find_method(base, name, depth + 1)
            if found is not None:
                return found
        return None

    def attribute_type(self, cls: ClassInfo, attr: str, depth: int = 0) -> ClassInfo | None:
        """The project class of ``self.<attr>`` when a method assigns it from a constructor call."""
        callee = cls.attribute_types.get(attr)
        if callee is not None and cls.module is not None:
            return self.resolve_class(cls.module, callee)
        if depth > 8:
            return None
        for base in self.class_bases(cls):
            if base is None:
                return None
            found = self.attribute_type(base, attr, depth + 1)
            if found is not None:
                return found
        return None

    def all_attributes(self, cls: ClassInfo, depth: int = 0) -> set[str] | None:
        """Every attribute the class and its project bases assign; None if a base is unresolved."""
        attrs = set(cls.attributes) | set(cls.methods)
        if depth > 8:
            return None
        for base in self.class_bases(cls):
            if base is None:
                return None
            inherited = self.all_attributes(base, depth + 1)
            if inherited is None:
                return None
            attrs |= inherited
        return attrs

    def resolve_call(self, ctx: "FileContext", func: cst.BaseExpression) -> FunctionInfo | None:
        """The function a call expression goes to, resolved through the project, or None."""
        ref = ctx.module_ref
        if ref is None:
            return None
        dotted = dotted_name(func)
        if dotted is None:
            return None
        parts = dotted.split(".")
        if parts[0] in ("self", "cls"):
            cls_node = ctx.enclosing_class()
            if cls_node is None:
                return None
            cls = ref.summary.classes.get(cls_node.name.value)
            if cls is None:
                return None
            if len(parts) == 2:
                return self.find_method(cls, parts[1])
            if len(parts) == 3:
                attr_cls = self.attribute_type(cls, parts[1])
                if attr_cls is None:
                    return None
                return self.find_method(attr_cls, parts[2])
            return None
        found = self.lookup(ref, dotted)
        return found if isinstance(found, FunctionInfo) else None

    # -- whole project -------------------------------------------------------------------------------
    def all_modules(self) -> list[ModuleRef]:
        self._record("*")
        refs = []
        for f in self.files():
            ref = self.module_for_path(f)
            if ref is not None:
                refs.append(ref)
        return refs

    def import_graph(self) -> dict[Path, list[tuple[Path, ImportEdge]]]:
        """Module-level import edges between project modules (``TYPE_CHECKING`` imports excluded)."""
        self._record("*")
        if self._graph is None:
            graph: dict[Path, list[tuple[Path, ImportEdge]]] = {}
            for ref in self.all_modules():
                out: list[tuple[Path, ImportEdge]] = []
                for edge in ref.summary.edges:
                    target = None
                    if edge.names and edge.level:
                        # ``from . import mod`` imports a submodule when one exists
                        for name in edge.names:
                            sub = self.resolve_module(f"{edge.target}.{name}" if edge.target else name, ref.path, edge.level)
                            if sub is not None:
                                out.append((sub.path, edge))
                        target = self.resolve_module(edge.target, ref.path, edge.level) if edge.target else None
                    elif edge.names:
                        target = self.resolve_module(edge.target, ref.path)
                        for name in edge.names:
                            sub = self.resolve_module(f"{edge.target}.{name}", ref.path)
                            if sub is not None and sub.path != ref.path:
                                out.append((sub.path, edge))
                    else:
                        target = self.resolve_module(edge.target, ref.path, edge.level)
                    if target is not None and target.path != ref.path:
                        out.append((target.path, edge))
                graph[ref.path] = out
            self._graph = graph
        return self._graph


class ProjectSet:
    """One lazily built ``ProjectIndex`` per project root; each file is answered by its own project's.

    The CLI and the flake8 plugin share this, so both see the same project for the same file.
    """

    def __init__(self, fixed_root: Path | None = None) -> None:
        self.fixed_root = fixed_root.resolve() if fixed_root else None
        self._indexes: dict[Path, ProjectIndex] = {}
        self._dir_roots: dict[Path, Path] = {}
        #: passed on to every index: the ``SUMMARY_EXTRAS`` its summaries carry
        self.extras: set[str] = set()
        self._summary_cache: "SummaryCache | None" = None

    @property
    def summary_cache(self) -> "SummaryCache | None":
        """The summary cache every index of this set reads and writes (set before or after they exist)."""
        return self._summary_cache

    @summary_cache.setter
    def summary_cache(self, cache: "SummaryCache | None") -> None:
        self._summary_cache = cache
        for index in self._indexes.values():
            index.summary_cache = cache

    def root_for(self, path: str | Path) -> Path:
        if self.fixed_root is not None:
            return self.fixed_root
        directory = Path(path).resolve().parent
        root = self._dir_roots.get(directory)
        if root is None:
            root = self._dir_roots[directory] = find_project_root(directory)
        return root

    def index_for(self, path: str | Path) -> ProjectIndex:
        root = self.root_for(path)
        index = self._indexes.get(root)
        if index is None:
            index = self._indexes[root] = ProjectIndex([root])
            index.extras = self.extras
            index.summary_cache = self.summary_cache
        return index
