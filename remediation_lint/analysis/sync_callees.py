"""Which call expressions go to a plain ``def`` that returns nothing awaitable (RMD201, RMD202).

Resolution goes through the project pass (``ProjectIndex``): module functions, ``self.method``,
``self.attr.method`` where a method assigns ``self.attr = SomeClass(...)``, imported functions and
``Class.method``, plus local variables assigned once from a project class's constructor in the same
function. When the file is not on disk (an in-memory source), the module itself is summarised so that
calls within it still resolve. Anything unresolved gives None: the rules never guess.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from remediation_lint.analysis.names import ast_dotted as _ast_dotted, dotted_name
from remediation_lint.project import ClassInfo, FunctionInfo, ModuleRef, summarize_source

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.context import FileContext

#: decorators that keep a function's calling convention (anything else may return a coroutine)
_NEUTRAL_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "abstractmethod", "abc.abstractmethod", "override", "typing.override", "typing_extensions.override"}
)

_LOCAL_REFS: "weakref.WeakKeyDictionary[FileContext, ModuleRef | None]" = weakref.WeakKeyDictionary()


def module_ref(ctx: "FileContext") -> ModuleRef | None:
    """The project's summary of the current file, or a summary of the in-memory source."""
    if ctx.project is None:
        return None
    ref = ctx.module_ref
    if ref is not None:
        return ref
    if ctx in _LOCAL_REFS:
        return _LOCAL_REFS[ctx]
    summary = summarize_source(ctx.path, ctx.module.code)
    local = ModuleRef(ctx.project, Path(ctx.path).resolve(), summary) if summary.parsed else None
    if local is not None:
        for cls in summary.classes.values():
            for info in cls.methods.values():
                info.module = summary
        for info in summary.functions.values():
            info.module = summary
    _LOCAL_REFS[ctx] = local
    return local


def _resolve_class(ref: ModuleRef, dotted: str) -> ClassInfo | None:
    found = ref.index.lookup(ref, dotted)
    return found if isinstance(found, ClassInfo) else None


def _attribute_class(ref: ModuleRef, cls: ClassInfo, attr: str, depth: int = 0) -> ClassInfo | None:
    callee = cls.attribute_types.get(attr)
    if callee is not None:
        if cls.module is not None and cls.module is not ref.summary:
            return ref.index.resolve_class(cls.module, callee)
        return _resolve_class(ref, callee)
    if depth > 8:
        return None
    bases = _local_bases(ref, cls) if cls.module is ref.summary else ref.index.class_bases(cls)
    for base in bases:
        if base is None:
            return None
        found = _attribute_class(ref, base, attr, depth + 1)
        if found is not None:
            return found
    return None


def _local_bases(ref: ModuleRef, cls: ClassInfo) -> list[ClassInfo | None]:
    out: list[ClassInfo | None] = []
    for base in cls.bases:
        if base in ("object", "Generic", "Protocol", "ABC", "abc.ABC") or base.startswith("typing."):
            continue
        out.append(_resolve_class(ref, base))
    return out


def _find_method(ref: ModuleRef, cls: ClassInfo, name: str, depth: int = 0) -> FunctionInfo | None:
    if name in cls.methods:
        return cls.methods[name]
    if depth > 8:
        return None
    bases = _local_bases(ref, cls) if cls.module is ref.summary else ref.index.class_bases(cls)
    for base in bases:
        if base is None:
            return None
        found = _find_method(ref, base, name, depth + 1)
        if found is not None:
            return found
    return None


def _local_constructor(ctx: "FileContext", name: str) -> str | None:
    """``name = SomeClass(...)`` assigned exactly once in the enclosing function: the callee text."""
    func = ctx.enclosing_function()
    if not isinstance(func, cst.FunctionDef):
        return None
    found: list[str | None] = []

    class _Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is func

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                if isinstance(target.target, cst.Name) and target.target.value == name:
                    value = node.value
                    found.append(dotted_name(value.func) if isinstance(value, cst.Call) else None)
                elif any(isinstance(n, cst.Name) and n.value == name for n in _names_in(target.target)):
                    found.append(None)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if isinstance(node.target, cst.Name) and node.target.value == name:
                value = node.value
                found.append(dotted_name(value.func) if isinstance(value, cst.Call) else None)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.target, cst.Name) and node.target.value == name:
                found.append(None)

        def visit_For(self, node: cst.For) -> None:
            if any(isinstance(n, cst.Name) and n.value == name for n in _names_in(node.target)):
                found.append(None)

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None and any(
                isinstance(n, cst.Name) and n.value == name for n in _names_in(node.asname.name)
            ):
                found.append(None)

    params = func.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            return None
    func.visit(_Finder())
    if len(found) != 1:
        return None
    return found[0]


def _names_in(node: cst.CSTNode) -> list[cst.CSTNode]:
    if isinstance(node, (cst.Tuple, cst.List)):
        out: list[cst.CSTNode] = []
        for el in node.elements:
            out.extend(_names_in(el.value))
        return out
    if isinstance(node, cst.StarredElement):
        return _names_in(node.value)
    return [node]


def resolve_function(ctx: "FileContext", func: cst.BaseExpression) -> FunctionInfo | None:
    """The project function a call's callee names, or None when anything cannot be resolved."""
    ref = module_ref(ctx)
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
            return _find_method(ref, cls, parts[1])
        if len(parts) == 3:
            attr_cls = _attribute_class(ref, cls, parts[1])
            if attr_cls is None:
                return None
            return _find_method(ref, attr_cls, parts[2])
        return None
    if len(parts) == 2 and parts[0] not in ref.summary.imports and parts[0] not in ref.summary.classes:
        callee = _local_constructor(ctx, parts[0])
        if callee is None:
            return None
        cls = _resolve_class(ref, callee)
        return _find_method(ref, cls, parts[1]) if cls is not None else None
    if len(parts) == 1 and ctx.enclosing_function() is not None and _shadowed(ctx, parts[0]):
        return None
    found = ref.index.lookup(ref, dotted)
    return found if isinstance(found, FunctionInfo) else None


def _shadowed(ctx: "FileContext", name: str) -> bool:
    func = ctx.enclosing_function()
    if not isinstance(func, cst.FunctionDef):
        return False
    params = func.params
    return any(p.name.value == name for p in (*params.posonly_params, *params.params, *params.kwonly_params))


def is_plain_sync(info: FunctionInfo) -> bool:
    """A plain ``def`` whose call gives nothing awaitable (no async, no awaitable return, no odd decorator)."""
    if info.is_async or info.returns_awaitable:
        return False
    node = info.node
    for dec in getattr(node, "decorator_list", ()) or ():
        target = dec.func if hasattr(dec, "func") else dec
        name = _ast_dotted(target)
        if name not in _NEUTRAL_DECORATORS:
            return False
    if node is not None:
        import ast

        for sub in ast.walk(node):
            if isinstance(sub, (ast.Yield, ast.YieldFrom)):
                return False  # a generator: leave generator-based coroutines alone
    return True


def sync_callee(ctx: "FileContext", call: cst.BaseExpression) -> FunctionInfo | None:
    """When ``call`` is a call of a plain sync project function: its FunctionInfo; else None."""
    if not isinstance(call, cst.Call):
        return None
    info = resolve_function(ctx, call.func)
    if info is None or not is_plain_sync(info):
        return None
    return info


def asyncio_name(ctx: "FileContext") -> tuple[str, bool]:
    """The local name of the ``asyncio`` module and whether an ``import asyncio`` must be added."""
    names = ctx.imports.local_names_for("asyncio")
    if names:
        return ("asyncio" if "asyncio" in names else names[0]), False
    return "asyncio", True


def to_thread_call(ctx: "FileContext", call: cst.Call) -> tuple[cst.Call, bool]:
    """``f(a, k=b)`` -> ``asyncio.to_thread(f, a, k=b)``; also says whether ``import asyncio`` is needed."""
    module, needs_import = asyncio_name(ctx)
    first = cst.Arg(call.func, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) if call.args else cst.Arg(call.func)
    fixed = [first, *call.args]
    new = cst.Call(
        func=cst.Attribute(cst.Name(module), cst.Name("to_thread")),
        args=fixed,
        lpar=call.lpar,
        rpar=call.rpar,
    )
    return new, needs_import


def suggest(callee: str, call: cst.Call) -> str:
    """``asyncio.to_thread(f)`` or ``asyncio.to_thread(f, ...)`` for the message."""
    return f"asyncio.to_thread({callee}, ...)" if call.args else f"asyncio.to_thread({callee})"


# -- the ``ast`` twins (the fast path: ``astcheck.AstContext``) ----------------------------------------
# Same answers as the LibCST functions above, for the rules' ``ast`` checkers.
import ast as _ast
from remediation_lint.analysis.ast_walk import child_nodes

_AST_FUNCS = (_ast.FunctionDef, _ast.AsyncFunctionDef)
_AST_LOCAL_REFS: "weakref.WeakKeyDictionary[object, ModuleRef | None]" = weakref.WeakKeyDictionary()


def ast_module_ref(ctx) -> ModuleRef | None:
    """``module_ref`` for an ``AstContext``."""
    if ctx.project is None:
        return None
    ref = ctx.module_ref
    if ref is not None:
        return ref
    if ctx in _AST_LOCAL_REFS:
        return _AST_LOCAL_REFS[ctx]
    summary = summarize_source(ctx.path, ctx.source)
    local = ModuleRef(ctx.project, Path(ctx.path).resolve(), summary) if summary.parsed else None
    if local is not None:
        for cls in summary.classes.values():
            for info in cls.methods.values():
                info.module = summary
        for info in summary.functions.values():
            info.module = summary
    _AST_LOCAL_REFS[ctx] = local
    return local


def _ast_params(func) -> list[str]:
    args = func.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def _ast_names_in(node) -> list:
    if isinstance(node, (_ast.Tuple, _ast.List)):
        out: list = []
        for el in node.elts:
            out.extend(_ast_names_in(el))
        return out
    if isinstance(node, _ast.Starred):
        return _ast_names_in(node.value)
    return [node]


def _ast_binds(node, name: str) -> bool:
    return any(isinstance(n, _ast.Name) and n.id == name for n in _ast_names_in(node))


def _ast_ctor(value) -> str | None:
    return _ast_dotted(value.func) if isinstance(value, _ast.Call) else None


def _ast_local_constructor(ctx, name: str) -> str | None:
    func = ctx.enclosing_function()
    if not isinstance(func, _AST_FUNCS):
        return None
    if name in _ast_params(func):
        return None
    found: list[str | None] = []
    todo: list = list(reversed(func.body))
    while todo:
        node = todo.pop()
        if isinstance(node, (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.Lambda, _ast.ClassDef)):
            continue
        if isinstance(node, _ast.Assign):
            for target in node.targets:
                if isinstance(target, _ast.Name) and target.id == name:
                    found.append(_ast_ctor(node.value))
                elif _ast_binds(target, name):
                    found.append(None)
        elif isinstance(node, _ast.AnnAssign):
            if isinstance(node.target, _ast.Name) and node.target.id == name:
                found.append(_ast_ctor(node.value))
        elif isinstance(node, _ast.AugAssign):
            if isinstance(node.target, _ast.Name) and node.target.id == name:
                found.append(None)
        elif isinstance(node, (_ast.For, _ast.AsyncFor)):
            if _ast_binds(node.target, name):
                found.append(None)
        elif isinstance(node, _ast.withitem):
            if node.optional_vars is not None and _ast_binds(node.optional_vars, name):
                found.append(None)
        todo.extend(reversed(list(child_nodes(node))))
    if len(found) != 1:
        return None
    return found[0]


def _ast_shadowed(ctx, name: str) -> bool:
    func = ctx.enclosing_function()
    if not isinstance(func, _AST_FUNCS):
        return False
    return name in _ast_params(func)


def ast_resolve_function(ctx, func) -> FunctionInfo | None:
    """``resolve_function`` for an ``AstContext`` and an ``ast`` callee expression."""
    ref = ast_module_ref(ctx)
    if ref is None:
        return None
    dotted = _ast_dotted(func)
    if dotted is None:
        return None
    parts = dotted.split(".")
    if parts[0] in ("self", "cls"):
        cls_node = ctx.enclosing_class()
        if cls_node is None:
            return None
        cls = ref.summary.classes.get(cls_node.name)
        if cls is None:
            return None
        if len(parts) == 2:
            return _find_method(ref, cls, parts[1])
        if len(parts) == 3:
            attr_cls = _attribute_class(ref, cls, parts[1])
            if attr_cls is None:
                return None
            return _find_method(ref, attr_cls, parts[2])
        return None
    if len(parts) == 2 and parts[0] not in ref.summary.imports and parts[0] not in ref.summary.classes:
        callee = _ast_local_constructor(ctx, parts[0])
        if callee is None:
            return None
        cls = _resolve_class(ref, callee)
        return _find_method(ref, cls, parts[1]) if cls is not None else None
    if len(parts) == 1 and ctx.enclosing_function() is not None and _ast_shadowed(ctx, parts[0]):
        return None
    found = ref.index.lookup(ref, dotted)
    return found if isinstance(found, FunctionInfo) else None


def ast_sync_callee(ctx, call) -> FunctionInfo | None:
    """``sync_callee`` for an ``AstContext`` and an ``ast`` expression."""
    if not isinstance(call, _ast.Call):
        return None
    info = ast_resolve_function(ctx, call.func)
    if info is None or not is_plain_sync(info):
        return None
    return info


def ast_suggest(callee: str, call) -> str:
    """``suggest`` for an ``ast.Call``."""
    return f"asyncio.to_thread({callee}, ...)" if (call.args or call.keywords) else f"asyncio.to_thread({callee})"
