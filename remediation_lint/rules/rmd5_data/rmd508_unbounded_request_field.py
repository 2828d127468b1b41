from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.handlers import AST_SIMPLE_STATEMENTS, line_starts, utf8_source
from remediation_lint.analysis.names import dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.analysis.names import ast_dotted_as_cst as _cdotted
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

_CONSTRAINED = {"conint", "constr", "conlist", "StringConstraints", "Field", "Len", "MaxLen", "Interval", "Le", "Lt"}


class _Defer(Exception):
    pass


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not node.name.endswith(tuple(self.opts["model_suffixes"])):
            return
        bases = [b.value if isinstance(b, ast.Starred) else b for b in node.bases]
        if not any((_cdotted(b) or "").rsplit(".", 1)[-1] == "BaseModel" for b in bases):
            return
        first = node.body[0]
        source = utf8_source(self.context.source)
        start = line_starts(source)[first.lineno - 1]
        if source[start : start + first.col_offset].strip():
            return  # a one-line suite (`class A(BaseModel): x: int`): LibCST's rule looks at indented blocks
        try:
            for small in node.body:
                if isinstance(small, AST_SIMPLE_STATEMENTS) and isinstance(small, ast.AnnAssign) and isinstance(small.target, ast.Name):
                    self._field(node.name, small)
        except _Defer:
            self.defer()

    def _field(self, model: str, node: ast.AnnAssign) -> None:
        name = node.target.id  # type: ignore[attr-defined]
        if name == "email" or name.endswith("_email"):
            return
        kind, metadata = _ast_base_kind(node.annotation)
        if kind is None:
            return
        kwargs: set[str] = set()
        for call in [*metadata, node.value]:
            if isinstance(call, ast.Call) and (_cdotted(call.func) or "").rsplit(".", 1)[-1] in _CONSTRAINED:
                kwargs |= {k.arg for k in call.keywords if k.arg is not None}
        if kind == "int":
            missing = []
            if not kwargs & {"ge", "gt"}:
                missing.append("lower bound")
            if not kwargs & {"le", "lt"}:
                missing.append("upper bound")
            if missing:
                self.report(node, model=model, field=name, kind="int", missing=" or ".join(missing), hint="ge=..., le=...")
        elif "max_length" not in kwargs:
            self.report(node, model=model, field=name, kind="str", missing="max_length", hint="max_length=...")


def _ast_base_kind(ann: ast.expr) -> tuple[str | None, list[ast.expr]]:
    if isinstance(ann, ast.Name) and ann.id in {"int", "str"}:
        return ann.id, []
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        rest = [s for s in (ann.left, ann.right) if not (isinstance(s, ast.Constant) and s.value is None)]
        if len(rest) == 1:
            return _ast_base_kind(rest[0])
        return None, []
    if isinstance(ann, ast.Subscript):
        head = (_cdotted(ann.value) or "").rsplit(".", 1)[-1]
        if head not in ("Optional", "Annotated"):
            return None, []
        index = ann.slice
        if isinstance(index, ast.Tuple):
            if any(isinstance(e, ast.Starred) for e in index.elts):
                raise _Defer
            if index.elts and (index.lineno, index.col_offset) != (index.elts[0].lineno, index.elts[0].col_offset):
                raise _Defer  # `X[(a, b)]` is one element for LibCST; `X[(a), b]` two
            items = [e for e in index.elts if not isinstance(e, ast.Slice)]
        else:
            items = [] if isinstance(index, ast.Slice) else [index]
        if head == "Optional" and len(items) == 1:
            return _ast_base_kind(items[0])
        if head == "Annotated" and items:
            kind, meta = _ast_base_kind(items[0])
            return kind, [*meta, *items[1:]]
    return None, []


class UnboundedRequestField(Rule):
    """A request model's `int` with no `ge`/`le`, or `str` with no `max_length`: bound what clients send.

    ## What it does
    Finds fields of pydantic request models (classes deriving from `BaseModel` whose names end in
    `Request`, `Create`, `Update`, configurable) annotated `int` (or `int | None`) without both a lower
    (`ge`/`gt`) and an upper (`le`/`lt`) bound, and `str` (or `str | None`) without `max_length`, through
    `Field(...)`, `conint`/`constr` or `Annotated[..., Field(...)]`. Response models are left alone, and
    so are e-mail fields (RMD111 covers them).

    ## Why is this bad?
    A client can send `max_tokens=10**9`, a negative priority or a megabyte-long title: costs explode,
    sorting breaks, storage fills. The Orchestration Engine's `TaskUpdate.max_tokens`, `priority`,
    `title`, `description` and `RegisterRequest.password` had no bounds (plan item 4.1).

    ## Fix
    `max_tokens: int = Field(ge=1, le=32768)`, `title: str = Field(min_length=1, max_length=500)`.
    """

    code = "RMD508"
    ast_checker = _Fast
    name = "unbounded-request-field"
    message = "request field `{model}.{field}: {kind}` has no {missing}: bound it with Field({hint})"
    severity = Severity.MEDIUM
    default = Default.PREVIEW
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 4, item 4.1 (add bounds to TaskUpdate and other schemas)", "orchestration_engine"),)
    triggers = (b"BaseModel",)
    options = {"model_suffixes": ("Request", "Create", "Update")}
    option_docs = {"model_suffixes": "class-name endings of request models"}

    VALID = [
        Valid(
            """
            from pydantic import BaseModel, Field

            class TaskUpdate(BaseModel):
                max_tokens: int | None = Field(None, ge=1, le=32768)
                priority: int | None = Field(None, ge=0, le=100)
                title: str | None = Field(None, min_length=1, max_length=500)
                description: str | None = Field(None, max_length=10000)
            """
        ),
        Valid(
            """
            from pydantic import BaseModel

            class TaskResponse(BaseModel):
                id: str
                priority: int
                title: str
            """
        ),
        Valid(
            """
            from typing import Annotated
            from pydantic import BaseModel, Field, conint, constr

            class SearchRequest(BaseModel):
                query: Annotated[str, Field(max_length=200)]
                limit: conint(ge=1, le=100) = 20
                cursor: constr(max_length=64) | None = None
                include_archived: bool = False
            """
        ),
        Valid(
            """
            from pydantic import BaseModel, EmailStr

            class InviteCreate(BaseModel):
                email: str
                role: EmailStr
            """
        ),
        Valid(
            """
            from dataclasses import dataclass

            @dataclass
            class RetryRequest:
                task_id: str
                attempts: int
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from pydantic import BaseModel, Field

            class TaskUpdate(BaseModel):
                max_tokens: int | None = None
                priority: int | None = Field(None, ge=0)
                title: str | None = None
            """,
            line=4,
            count=3,
        ),
        Invalid(
            """
            import pydantic

            class RegisterRequest(pydantic.BaseModel):
                username: str = pydantic.Field(..., min_length=3)
            """,
            line=4,
        ),
        Invalid(
            """
            from typing import Optional
            from pydantic import BaseModel

            class ProjectCreate(BaseModel):
                name: Optional[str] = None
                budget_cents: int
            """,
            line=5,
            count=2,
        ),
        Invalid(
            """
            from typing import Annotated
            from pydantic import BaseModel, Field

            class ChatRequest(BaseModel):
                message: Annotated[str, Field(min_length=1)]
                temperature: float = 0.7
            """,
            line=5,
        ),
    ]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not node.name.value.endswith(tuple(self.opts["model_suffixes"])):
            return
        if not any((dotted_name(b.value) or "").rsplit(".", 1)[-1] == "BaseModel" for b in node.bases):
            return
        if not isinstance(node.body, cst.IndentedBlock):
            return
        for stmt in node.body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    self._field(node.name.value, small)

    def _field(self, model: str, node: cst.AnnAssign) -> None:
        name = node.target.value  # type: ignore[attr-defined]
        if name == "email" or name.endswith("_email"):
            return
        ann = node.annotation.annotation
        kind, metadata = _base_kind(ann)
        if kind is None:
            return
        kwargs: set[str] = set()
        for call in [*metadata, node.value]:
            if isinstance(call, cst.Call) and (dotted_name(call.func) or "").rsplit(".", 1)[-1] in _CONSTRAINED:
                kwargs |= {a.keyword.value for a in call.args if a.keyword is not None}
        if kind == "int":
            missing = []
            if not kwargs & {"ge", "gt"}:
                missing.append("lower bound")
            if not kwargs & {"le", "lt"}:
                missing.append("upper bound")
            if missing:
                self.report(node, model=model, field=name, kind="int", missing=" or ".join(missing), hint="ge=..., le=...")
        elif "max_length" not in kwargs:
            self.report(node, model=model, field=name, kind="str", missing="max_length", hint="max_length=...")


def _base_kind(ann: cst.BaseExpression) -> tuple[str | None, list[cst.BaseExpression]]:
    """("int"/"str", Annotated metadata) for int/str, Optional[...] and X | None; (None, []) otherwise."""
    if isinstance(ann, cst.Name) and ann.value in {"int", "str"}:
        return ann.value, []
    if isinstance(ann, cst.BinaryOperation) and isinstance(ann.operator, cst.BitOr):
        sides = [ann.left, ann.right]
        rest = [s for s in sides if not (isinstance(s, cst.Name) and s.value == "None")]
        if len(rest) == 1:
            return _base_kind(rest[0])
        return None, []
    if isinstance(ann, cst.Subscript):
        head = (dotted_name(ann.value) or "").rsplit(".", 1)[-1]
        items = [e.slice.value for e in ann.slice if isinstance(e.slice, cst.Index)]
        if head == "Optional" and len(items) == 1:
            return _base_kind(items[0])
        if head == "Annotated" and items:
            kind, meta = _base_kind(items[0])
            return kind, [*meta, *items[1:]]
    return None, []
