from __future__ import annotations

import libcst as cst

from remediation_lint.analysis.names import dotted_name
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

_CONSTRAINED = {"conint", "constr", "conlist", "StringConstraints", "Field", "Len", "MaxLen", "Interval", "Le", "Lt"}


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
