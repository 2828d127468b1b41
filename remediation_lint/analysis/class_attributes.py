"""Which attributes a class (with its project bases) can be shown to assign (RMD603).

Built on the project pass's class summaries (``ClassInfo.attributes``: ``self.x = ...`` anywhere in the
class, class-body names; ``methods``), completed from the class's ``ast`` node with what the summary
leaves out: names bound in nested class-body blocks (``if``/``try``/``with``), attribute stores through
any object inside the class (``obj = cls(); obj.x = ...`` in a factory), attribute stores anywhere in
the defining module (``agent.endpoint = ...``), and names guarded by ``hasattr(self, "x")`` /
``getattr(self, "x", ...)``.

A class is *opaque* (its attribute set cannot be known, so nothing is reported) when it or a project
base: has a base that cannot be resolved inside the project (library classes, ``Exception``, ``Enum``,
subscripted or computed bases), uses ``setattr``/``__dict__``/``__setattr__``/``vars()`` or passes ``self`` to ``parse_args``, declares ``__slots__``,
defines ``__getattr__``/``__getattribute__`` or ``__new__``, has a metaclass other than ``ABCMeta``, or
carries a class decorator that may add attributes (anything but ``dataclass``, ``attrs``, ``total_ordering``,
``final`` and the like).

Subclasses are found by screening the project's files for the class name (bytes) and summarising only
the files that contain it. For an in-memory source (no file on disk) only the source itself is
searched.
"""

from __future__ import annotations

import ast
from remediation_lint.analysis.ast_walk import ast_walk
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from remediation_lint.astcheck import walk as _walk
from remediation_lint.analysis.sync_callees import module_ref
from remediation_lint.project import CACHEABLE, SUMMARY_EXTRAS, ClassInfo, ModuleRef, ModuleSummary, ProjectIndex, summarize_source
from remediation_lint.analysis.names import ast_dotted as _dotted

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.astcheck import AstContext
    from remediation_lint.context import FileContext

#: class decorators that add no instance attributes the class body does not declare
NEUTRAL_CLASS_DECORATORS = frozenset(
    {
        "dataclass", "dataclasses.dataclass", "attr.s", "attr.attrs", "attrs", "attr.define", "attrs.define",
        "define", "attr.frozen", "attrs.frozen", "frozen", "attr.mutable", "attrs.mutable", "mutable",
        "total_ordering", "functools.total_ordering", "final", "typing.final", "typing_extensions.final",
        "runtime_checkable", "typing.runtime_checkable", "unique", "enum.unique", "dataclass_json",
    }
)
#: bases that contribute nothing (or only typing) to the attribute set
NEUTRAL_BASES = frozenset({"object", "ABC", "abc.ABC", "Generic", "typing.Generic"})
#: bases that make a class a structural declaration rather than a concrete class
PROTOCOL_BASES = frozenset({"Protocol", "typing.Protocol", "typing_extensions.Protocol"})
#: calls that set attributes on an object passed to them (``parser.parse_args(argv, namespace=self)``)
NAMESPACE_FILLERS = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args", "parse_known_intermixed_args"})
NEUTRAL_METACLASSES = frozenset({"ABCMeta", "abc.ABCMeta", "type"})


@dataclass
class ClassFacts:
    """What the ``ast`` node says beyond the summary."""

    names: set[str] = field(default_factory=set)
    bases: list[str | None] = field(default_factory=list)  # None: a base expression that is not a name
    opaque: bool = False
    protocol: bool = False


_FACTS: dict[int, tuple[ClassInfo, ClassFacts]] = {}
_MODULE_STORES: dict[int, tuple[ModuleSummary, frozenset[str]]] = {}
#: file bytes per project, read once, to screen files before summarising them
_PROJECT_TEXTS: "weakref.WeakKeyDictionary[ProjectIndex, dict[Path, bytes]]" = weakref.WeakKeyDictionary()


def _class_node(cls: ClassInfo) -> ast.ClassDef | None:
    tree = cls.module.tree if cls.module is not None else None
    if tree is None:
        return None
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.ClassDef) and stmt.name == cls.name and stmt.lineno == cls.lineno:
            return stmt
        if isinstance(stmt, ast.If):
            stack.extend(stmt.body)
            stack.extend(stmt.orelse)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            for block in (stmt.body, stmt.orelse, stmt.finalbody):  # type: ignore[attr-defined]
                stack.extend(block)
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                stack.extend(handler.body)
    return None


def _body_names(body: list[ast.stmt], out: set[str]) -> None:
    """Names bound directly in a class body, through nested ``if``/``try``/``with``/``for`` blocks."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                for sub in ast_walk(target):
                    if isinstance(sub, ast.Name):
                        out.add(sub.id)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                out.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(stmt, (ast.If, ast.For, ast.While, ast.With)):
            if isinstance(stmt, ast.For):
                for sub in ast_walk(stmt.target):
                    if isinstance(sub, ast.Name):
                        out.add(sub.id)
            if isinstance(stmt, ast.With):
                for item in stmt.items:
                    if item.optional_vars is not None:
                        for sub in ast_walk(item.optional_vars):
                            if isinstance(sub, ast.Name):
                                out.add(sub.id)
            _body_names(stmt.body, out)
            _body_names(getattr(stmt, "orelse", []), out)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            for block in (stmt.body, stmt.orelse, stmt.finalbody):  # type: ignore[attr-defined]
                _body_names(block, out)
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                _body_names(handler.body, out)


def _summary_extras(summary: ModuleSummary, tree: ast.Module) -> None:
    """Facts of every top-level class and the module's attribute stores, computed while the summariser
    has the tree (``project.SUMMARY_EXTRAS``), so that no tree is parsed again to answer them."""
    by_class: dict[tuple[str, int], ClassFacts] = {}
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.ClassDef):
            cls = summary.classes.get(stmt.name)
            if cls is not None and cls.lineno == stmt.lineno:
                facts = ClassFacts()
                _compute(cls, stmt, facts)
                by_class[(stmt.name, stmt.lineno)] = facts
        elif isinstance(stmt, ast.If):
            stack.extend(stmt.body)
            stack.extend(stmt.orelse)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            for block in (stmt.body, stmt.orelse, stmt.finalbody):  # type: ignore[attr-defined]
                stack.extend(block)
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                stack.extend(handler.body)
    summary.extra["class_facts"] = by_class
    summary.extra["module_stores"] = _stores_in(tree)


SUMMARY_EXTRAS["class_facts"] = _summary_extras
CACHEABLE["ClassFacts"] = ClassFacts


def class_facts(cls: ClassInfo) -> ClassFacts:
    cached = _FACTS.get(id(cls))
    if cached is not None and cached[0] is cls:
        return cached[1]
    precomputed = cls.module.extra.get("class_facts") if cls.module is not None else None
    if precomputed is not None:
        found = precomputed.get((cls.name, cls.lineno))
        if found is not None:
            _FACTS[id(cls)] = (cls, found)
            return found
    facts = ClassFacts()
    node = _class_node(cls)
    if node is None:
        facts.opaque = True
    else:
        _compute(cls, node, facts)
    _FACTS[id(cls)] = (cls, facts)
    return facts


def _compute(cls: ClassInfo, node: ast.ClassDef, facts: ClassFacts) -> None:
    if cls.uses_setattr or cls.has_slots or cls.has_getattr or "__new__" in cls.methods:
        facts.opaque = True
    for dec in node.decorator_list:
        name = _dotted(dec.func if isinstance(dec, ast.Call) else dec)
        if name not in NEUTRAL_CLASS_DECORATORS:
            facts.opaque = True
    for kw in node.keywords:
        if kw.arg == "metaclass" and _dotted(kw.value) not in NEUTRAL_METACLASSES:
            facts.opaque = True
    for base in node.bases:
        target = base.value if isinstance(base, ast.Subscript) else base
        name = _dotted(target)
        if name in PROTOCOL_BASES:
            facts.protocol = True
        elif name in NEUTRAL_BASES or (name or "").startswith("typing."):
            continue
        facts.bases.append(name)
    _body_names(node.body, facts.names)
    for sub in _walk(node):
        if isinstance(sub, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Delete)):
            targets = sub.targets if isinstance(sub, (ast.Assign, ast.Delete)) else [sub.target]
            for target in targets:
                for t in ast_walk(target):
                    if isinstance(t, ast.Attribute):
                        facts.names.add(t.attr)
        elif isinstance(sub, ast.Call):
            callee = _dotted(sub.func) or ""
            if callee in ("hasattr", "getattr") and len(sub.args) >= 2:
                arg = sub.args[1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    facts.names.add(arg.value)
            elif callee == "vars" or callee.endswith("__setattr__"):
                facts.opaque = True
            elif callee.rsplit(".", 1)[-1] in NAMESPACE_FILLERS and any(
                isinstance(a, ast.Name) and a.id == "self" for a in (*sub.args, *(k.value for k in sub.keywords))
            ):
                facts.opaque = True  # ``parser.parse_args(argv, self)`` sets attributes on ``self``
            elif isinstance(sub.func, ast.Attribute) and sub.func.attr == "__setattr__":
                facts.opaque = True


def _stores_in(tree: ast.Module) -> frozenset[str]:
    names: set[str] = set()
    for sub in _walk(tree):
        if isinstance(sub, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
            for target in targets:
                for t in ast_walk(target):
                    if isinstance(t, ast.Attribute):
                        names.add(t.attr)
        elif isinstance(sub, ast.Call) and _dotted(sub.func) == "setattr":
            names.add("*")
    return frozenset(names)


def module_stores(summary: ModuleSummary) -> frozenset[str]:
    """Attribute names stored through any object anywhere in the module (``agent.endpoint = ...``)."""
    cached = _MODULE_STORES.get(id(summary))
    if cached is not None and cached[0] is summary:
        return cached[1]
    result = summary.extra.get("module_stores")
    if result is None:
        tree = summary.tree
        result = _stores_in(tree) if tree is not None else frozenset()
    _MODULE_STORES[id(summary)] = (summary, result)
    return result


_AST_LOCAL_REFS: "weakref.WeakKeyDictionary[AstContext, ModuleRef | None]" = weakref.WeakKeyDictionary()


def ast_module_ref(ctx: "AstContext") -> ModuleRef | None:
    """``sync_callees.module_ref`` for the fast path's ``AstContext`` (an in-memory source is summarised)."""
    project = ctx.project
    if project is None:
        return None
    ref = ctx.module_ref
    if ref is not None:
        return ref
    if ctx in _AST_LOCAL_REFS:
        return _AST_LOCAL_REFS[ctx]
    try:
        text: bytes | str = ctx.source.decode("utf-8")
    except UnicodeDecodeError:
        text = ctx.source
    summary = summarize_source(ctx.path, text)
    local = ModuleRef(project, Path(ctx.path).resolve(), summary) if summary.parsed else None
    if local is not None:
        for cls in summary.classes.values():
            for info in cls.methods.values():
                info.module = summary
        for info in summary.functions.values():
            info.module = summary
    _AST_LOCAL_REFS[ctx] = local
    return local


class ClassResolver:
    """Answers attribute questions for the classes of one file (on disk or in memory)."""

    @staticmethod
    def is_mixin_like(cls: ClassInfo) -> bool:
        """Named ``*Mixin`` or a ``Protocol``: its reads are meant for the classes that use it."""
        return cls.name.endswith("Mixin") or class_facts(cls).protocol

    def __init__(self, ctx: "FileContext | AstContext") -> None:
        self.ctx = ctx
        from remediation_lint.astcheck import AstContext

        self.ref: ModuleRef | None = ast_module_ref(ctx) if isinstance(ctx, AstContext) else module_ref(ctx)
        self.in_memory = ctx.module_ref is None

    def class_info(self, name: str) -> ClassInfo | None:
        if self.ref is None:
            return None
        return self.ref.summary.classes.get(name)

    def _resolve(self, module: ModuleSummary | None, dotted: str) -> ClassInfo | None:
        ref = self.ref
        if ref is None or module is None:
            return None
        if module is ref.summary:
            found = ref.index.lookup(ref, dotted)
            return found if isinstance(found, ClassInfo) else None
        return ref.index.resolve_class(module, dotted)

    def bases(self, cls: ClassInfo) -> list[ClassInfo | None]:
        return [self._resolve(cls.module, b) if b else None for b in class_facts(cls).bases]

    def assigned(self, cls: ClassInfo, depth: int = 0, stores: bool = False) -> set[str] | None:
        """Every attribute the class and its project bases may set or define; None when unknowable.

        With ``stores``, attribute stores anywhere in the defining modules count too (a whole-module
        walk, so callers ask for it only when something is missing without it).
        """
        if depth > 8:
            return None
        facts = class_facts(cls)
        if facts.opaque:
            return None
        names = set(cls.attributes) | set(cls.methods) | facts.names
        if stores and cls.module is not None:
            stored = module_stores(cls.module)
            if "*" in stored:
                return None
            names |= stored
        for base in self.bases(cls):
            if base is None:
                return None
            inherited = self.assigned(base, depth + 1, stores)
            if inherited is None:
                return None
            names |= inherited
        return names

    # -- subclasses ---------------------------------------------------------------------------------
    def _candidates(self, name: str) -> list[ClassInfo]:
        """Project classes with a base whose last part is ``name``.

        Only files whose bytes contain ``name`` are summarised (a cheap screen, so that a question
        about one class does not parse the whole project in every worker process).
        """
        ref = self.ref
        assert ref is not None
        if self.in_memory:
            summaries = [ref.summary]
        else:
            index = ref.index
            if index.recording is not None:
                index.recording.add("*")
            texts = _PROJECT_TEXTS.get(index)
            if texts is None:
                texts = _PROJECT_TEXTS[index] = {}
            needle = name.encode()
            summaries = []
            for path in index.files():
                data = texts.get(path)
                if data is None:
                    try:
                        data = texts[path] = path.read_bytes()
                    except OSError:
                        data = texts[path] = b""
                if needle in data and b"class" in data:
                    module = index.module_for_path(path)
                    if module is not None:
                        summaries.append(module.summary)
        out: list[ClassInfo] = []
        for summary in summaries:
            for cls in summary.classes.values():
                if any(base.rsplit(".", 1)[-1] == name for base in cls.bases):
                    out.append(cls)
        return out

    def subclasses(self, cls: ClassInfo) -> list[ClassInfo]:
        """Project classes deriving from ``cls``, directly or not (a base that names it but cannot be
        resolved counts, so as not to miss one)."""
        if self.ref is None:
            return []
        found: list[ClassInfo] = []
        todo = [cls]
        seen = {id(cls)}
        while todo and len(found) < 200:
            current = todo.pop()
            for sub in self._candidates(current.name):
                if id(sub) in seen:
                    continue
                names_current = [
                    b for b in sub.bases if b.rsplit(".", 1)[-1] == current.name
                ]
                if not any(self._is(sub.module, b, current) for b in names_current):
                    continue
                seen.add(id(sub))
                found.append(sub)
                todo.append(sub)
        return found

    def _is(self, module: ModuleSummary | None, dotted: str, cls: ClassInfo) -> bool:
        resolved = self._resolve(module, dotted)
        if resolved is None:
            return True
        return resolved is cls or (resolved.name == cls.name and resolved.lineno == cls.lineno
                                   and Path(resolved.module.path if resolved.module else "") == Path(cls.module.path if cls.module else ""))

    def subclass_names(self, cls: ClassInfo) -> tuple[bool, set[str] | None]:
        """(has subclasses, names they may set: None when one of them is opaque)."""
        subs = self.subclasses(cls)
        if not subs:
            return False, set()
        names: set[str] = set()
        for sub in subs:
            facts = class_facts(sub)
            if facts.opaque:
                return True, None
            names |= set(sub.attributes) | set(sub.methods) | facts.names
        return True, names
