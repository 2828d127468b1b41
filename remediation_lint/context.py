"""Per-file state shared by every rule during the single traversal.

The engine's dispatcher keeps ``stack`` (the ancestors of the node being visited, the node itself last),
the import map, and the enclosing function/class; rules read them instead of walking the tree again.
Metadata providers are resolved lazily, only when a rule asks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

import libcst as cst
from libcst.metadata import MetadataWrapper

from remediation_lint.analysis.names import ImportMap, dotted_name

if TYPE_CHECKING:  # pragma: no cover
    from remediation_lint.project import ModuleRef, ProjectIndex
    from remediation_lint.rule import Report

FunctionLike = (cst.FunctionDef, cst.Lambda)


class FileContext:
    def __init__(
        self,
        path: str,
        module: cst.Module,
        project: "ProjectIndex | None" = None,
    ) -> None:
        self.path = path
        self.module = module
        self.project = project
        self.imports = ImportMap()
        self.imports.add_all(module.body)
        #: ancestors of the node being visited, the node itself last
        self.stack: list[cst.CSTNode] = []
        #: enclosing FunctionDef/Lambda/ClassDef nodes, innermost last
        self.scopes: list[cst.CSTNode] = []
        self.reports: list["Report"] = []
        self._wrapper: MetadataWrapper | None = None
        self._module_ref: "ModuleRef | None | bool" = False
        #: index in ``module.body`` of the top-level statement being visited (-1 before the first)
        self.top_index = -1
        #: the standard library's parse of the same source, when the engine has it (fast positions)
        self.ast_tree: "object | None" = None
        #: the file's bytes, for cheap screens inside shared analyses (empty when unknown)
        self.source: bytes = b""
        #: report -> index of the top-level statement that holds its node (None: unknown)
        self.report_tops: dict[int, int | None] = {}

    # -- reports -------------------------------------------------------------------------------------
    def add_report(self, report: "Report") -> None:
        self.reports.append(report)
        # during the traversal a report almost always concerns the statement being visited; positions()
        # verifies that and falls back to the full provider when it is not so
        self.report_tops[id(report)] = self.top_index if self.stack and self.top_index >= 0 else None

    # -- where are we? -------------------------------------------------------------------------------
    @property
    def filename(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]

    def is_test_file(self) -> bool:
        name = self.filename
        parts = self.path.replace("\\", "/").split("/")
        return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py" or "tests" in parts[:-1]

    def enclosing_function(self) -> cst.FunctionDef | cst.Lambda | None:
        for node in reversed(self.scopes):
            if isinstance(node, FunctionLike):
                return node
            if isinstance(node, cst.ClassDef):
                return None
        return None

    def in_async_function(self) -> bool:
        func = self.enclosing_function()
        return isinstance(func, cst.FunctionDef) and func.asynchronous is not None

    def enclosing_class(self) -> cst.ClassDef | None:
        """The class whose method (or body) we are in; None inside a nested plain function."""
        seen_function = False
        for node in reversed(self.scopes):
            if isinstance(node, cst.ClassDef):
                return node
            if isinstance(node, FunctionLike):
                if seen_function:
                    return None
                seen_function = True
        return None

    def ancestors(self) -> Iterator[cst.CSTNode]:
        """Ancestors of the current node, innermost first (the current node excluded)."""
        return reversed(self.stack[:-1])

    def parent(self) -> cst.CSTNode | None:
        return self.stack[-2] if len(self.stack) >= 2 else None

    def inside(self, *types: type) -> cst.CSTNode | None:
        """The innermost ancestor of one of ``types`` within the current function, or None."""
        for node in self.ancestors():
            if isinstance(node, types):
                return node
            if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return None
        return None

    # -- names ---------------------------------------------------------------------------------------
    def qualified(self, node: cst.CSTNode | None) -> str | None:
        """The qualified name of an imported Name/Attribute chain (``pk.loads`` -> ``pickle.loads``)."""
        return self.imports.resolve(node)

    def call_name(self, call: cst.Call) -> str | None:
        """Qualified name of a call's callee, or its dotted text when the head is not imported."""
        return self.imports.resolve_or_local(call.func)

    @staticmethod
    def dotted(node: cst.CSTNode | None) -> str | None:
        return dotted_name(node)

    # -- project -------------------------------------------------------------------------------------
    @property
    def module_ref(self) -> "ModuleRef | None":
        if self._module_ref is False:
            self._module_ref = self.project.module_for_path(self.path) if self.project else None
        return self._module_ref  # type: ignore[return-value]

    # -- metadata ------------------------------------------------------------------------------------
    @property
    def wrapper(self) -> MetadataWrapper:
        if self._wrapper is None:
            self._wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        return self._wrapper

    def positions(self) -> dict[cst.CSTNode, Any]:
        """Positions of the reported nodes: only the statements holding them are rendered when the
        standard parser's tree is at hand and every report knows its statement; else the full provider."""
        from libcst.metadata import PositionProvider

        tops = [self.report_tops.get(id(r)) for r in self.reports]
        if any(t is None for t in tops):
            tops = [t if t is not None else self._top_of(r.node) for r, t in zip(self.reports, tops)]
        if self.ast_tree is not None and self._wrapper is None and tops and all(t is not None for t in tops):
            from remediation_lint.positions import positions_in, statement_code_lines

            lines = statement_code_lines(self.module, self.ast_tree)  # type: ignore[arg-type]
            if lines is not None:
                found = positions_in(self.module, sorted(set(tops)), lines)  # type: ignore[arg-type]
                if all(r.node in found for r in self.reports):
                    return found
        return self.wrapper.resolve(PositionProvider)

    def _top_of(self, node: cst.CSTNode) -> int | None:
        """The top-level statement holding ``node`` when that is cheap to see (the statement itself, one
        of its small statements, or the header of a compound statement), else None."""
        for i, stmt in enumerate(self.module.body):
            if stmt is node:
                return i
            if isinstance(stmt, cst.SimpleStatementLine) and any(small is node for small in stmt.body):
                return i
        return None

    def metadata(self, provider: Any, node: cst.CSTNode, default: Any = None) -> Any:
        """Lazily resolve ``provider`` over the module and return its value for ``node``."""
        return self.wrapper.resolve(provider).get(node, default)
