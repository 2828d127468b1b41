from __future__ import annotations

import ast
import re

import libcst as cst

from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import FixSafety, ImportSpec, Invalid, Provenance, Rule, Severity, Valid

_MODEL_BASES = frozenset({"BaseModel", "SQLModel", "BaseSettings", "RootModel"})
#: a ``min_length`` at or below this is implied by any address EmailStr accepts (``a@b.c``)
_IMPLIED_MIN_LENGTH = 5


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._field_re = re.compile(self.opts["field_pattern"])
        self._models: set[str] = set()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            if isinstance(base, ast.Starred):
                base = base.value
            name = ast_dotted(base) or ""
            last = name.rsplit(".", 1)[-1]
            if last in _MODEL_BASES or name in self._models:
                self._models.add(node.name)
                return

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        cls = self.context.enclosing_class()
        if cls is None or cls.name not in self._models or self.context.enclosing_function() is not None:
            return
        if not isinstance(node.target, ast.Name) or not self._field_re.match(node.target.id):
            return
        if not _ast_email_annotation(node.annotation):
            return
        self.report(node, cls=cls.name, field=node.target.id, fix=FixSafety.SAFE)


def _is_name(node: ast.AST, name: str) -> bool:
    if name == "None":
        return isinstance(node, ast.Constant) and node.value is None
    return isinstance(node, ast.Name) and node.id == name


def _ast_email_annotation(annotation: ast.AST) -> bool:
    if _is_name(annotation, "str"):
        return True
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        left, right = annotation.left, annotation.right
        return (_is_name(left, "str") and _is_name(right, "None")) or (_is_name(right, "str") and _is_name(left, "None"))
    if isinstance(annotation, ast.Subscript) and (ast_dotted(annotation.value) or "").rsplit(".", 1)[-1] == "Optional":
        return _is_name(annotation.slice, "str")
    return False


class EmailAsPlainStr(Rule):
    """A pydantic `email` field typed `str`: any string passes, use `EmailStr`.

    ## What it does
    Finds fields named `email` or `*_email` (configurable) of pydantic models (classes deriving from
    `BaseModel`, `SQLModel`, or another model of the module) annotated `str`, `str | None` or
    `Optional[str]`, with or without `Field(..., min_length=...)`.

    ## Why is this bad?
    A `str` field accepts `"abc"` or `"@"` as an address: junk accounts, failed deliveries, and
    addresses that later break code expecting a real email. The Orchestration Engine's `RegisterRequest`
    accepted any 3-character string (plan item 1.6) and was moved to `EmailStr` for RFC 5322 validation
    at the API boundary.

    ## Fix
    Annotate the field `EmailStr` (`from pydantic import EmailStr`, with the `email-validator` package).

    ## Fix safety
    Safe: the annotation becomes `EmailStr` and the import is added (merged into an existing
    `from pydantic import ...`). A `min_length` of 5 or less is dropped, since every address `EmailStr`
    accepts is longer; a `Field(...)` left with nothing else is removed. Other constraints stay.
    Remember to install `email-validator` (`pydantic[email]`).
    """

    code = "RMD111"
    ast_checker = _Fast
    name = "email-as-plain-str"
    message = "{cls}.{field} is a plain str: annotate it EmailStr so malformed addresses are rejected"
    severity = Severity.MEDIUM
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 1, item 1.6 (validate email format)", "orchestration_engine"),)
    fix_safety = FixSafety.SAFE
    triggers = (b"email",)
    cwe = (20,)
    options = {"field_pattern": r"^(email|.+_email)$"}
    option_docs = {"field_pattern": "regular expression for the names of fields that hold an email address"}

    VALID = [
        Valid(
            """
            from pydantic import BaseModel, EmailStr, Field

            class RegisterRequest(BaseModel):
                email: EmailStr
                password: str = Field(..., min_length=8)
            """
        ),
        Valid(
            """
            from pydantic import BaseModel

            class UserOut(BaseModel):
                email_verified: bool = False
                emails_sent: int = 0
            """
        ),
        Valid(
            """
            from dataclasses import dataclass

            @dataclass
            class Recipient:
                email: str
            """
        ),
        Valid(
            """
            import pydantic

            class Invite(pydantic.BaseModel):
                inviter_email: pydantic.EmailStr
                note: str | None = None
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from pydantic import BaseModel, Field

            class RegisterRequest(BaseModel):
                email: str = Field(..., min_length=3)
                password: str = Field(..., min_length=8)
            """,
            fixed="""
            from pydantic import BaseModel, Field, EmailStr

            class RegisterRequest(BaseModel):
                email: EmailStr
                password: str = Field(..., min_length=8)
            """,
            line=4,
        ),
        Invalid(
            """
            import pydantic

            class Contact(pydantic.BaseModel):
                name: str
                billing_email: str | None = None
            """,
            fixed="""
            import pydantic
            from pydantic import EmailStr

            class Contact(pydantic.BaseModel):
                name: str
                billing_email: EmailStr | None = None
            """,
            line=5,
        ),
        Invalid(
            """
            from typing import Optional

            from pydantic import BaseModel, Field

            class Base(BaseModel):
                id: int

            class UserUpdate(Base):
                email: Optional[str] = Field(None, max_length=254, description="new address")
            """,
            fixed="""
            from typing import Optional

            from pydantic import BaseModel, Field, EmailStr

            class Base(BaseModel):
                id: int

            class UserUpdate(Base):
                email: Optional[EmailStr] = Field(None, max_length=254, description="new address")
            """,
            line=9,
        ),
        Invalid(
            """
            from sqlmodel import SQLModel

            class Account(SQLModel, table=True):
                email: str
                recovery_email: str
            """,
            fixed="""
            from sqlmodel import SQLModel
            from pydantic import EmailStr

            class Account(SQLModel, table=True):
                email: EmailStr
                recovery_email: EmailStr
            """,
            count=2,
        ),
        Invalid(
            """
            from pydantic import BaseModel, Field

            class Invite(BaseModel):
                email: str = Field(..., min_length=0x3)
                backup_email: str = Field(..., min_length=0x10)
            """,
            fixed="""
            from pydantic import BaseModel, Field, EmailStr

            class Invite(BaseModel):
                email: EmailStr
                backup_email: EmailStr = Field(..., min_length=0x10)
            """,
            count=2,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._field_re = re.compile(self.opts["field_pattern"])
        self._models: set[str] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        for base in node.bases:
            name = dotted_name(base.value) or ""
            last = name.rsplit(".", 1)[-1]
            if last in _MODEL_BASES or name in self._models:
                self._models.add(node.name.value)
                return

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        cls = self.context.enclosing_class()
        if cls is None or cls.name.value not in self._models or self.context.enclosing_function() is not None:
            return
        if not isinstance(node.target, cst.Name) or not self._field_re.match(node.target.value):
            return
        new_annotation = _email_annotation(node.annotation.annotation)
        if new_annotation is None:
            return
        replacement = node.with_changes(annotation=node.annotation.with_changes(annotation=new_annotation))
        value = _simplify_default(node.value)
        if value is not node.value:
            if value is None:
                replacement = replacement.with_changes(value=None, equal=cst.MaybeSentinel.DEFAULT)
            else:
                replacement = replacement.with_changes(value=value)
        fix = self.make_fix((node, replacement), imports=[ImportSpec("pydantic", "EmailStr")])
        self.report(node, cls=cls.name.value, field=node.target.value, fix=fix)


def _email_annotation(annotation: cst.BaseExpression) -> cst.BaseExpression | None:
    """The annotation with its ``str`` replaced by ``EmailStr``; None when it is not (optional) ``str``."""
    if isinstance(annotation, cst.Name) and annotation.value == "str":
        return cst.Name("EmailStr")
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        left, right = annotation.left, annotation.right
        if isinstance(left, cst.Name) and left.value == "str" and isinstance(right, cst.Name) and right.value == "None":
            return annotation.with_changes(left=cst.Name("EmailStr"))
        if isinstance(right, cst.Name) and right.value == "str" and isinstance(left, cst.Name) and left.value == "None":
            return annotation.with_changes(right=cst.Name("EmailStr"))
        return None
    if isinstance(annotation, cst.Subscript) and (dotted_name(annotation.value) or "").rsplit(".", 1)[-1] == "Optional":
        if len(annotation.slice) == 1 and isinstance(annotation.slice[0].slice, cst.Index):
            inner = annotation.slice[0].slice.value
            if isinstance(inner, cst.Name) and inner.value == "str":
                element = annotation.slice[0]
                return annotation.with_changes(
                    slice=[element.with_changes(slice=element.slice.with_changes(value=cst.Name("EmailStr")))]
                )
    return None


def _simplify_default(value: cst.BaseExpression | None) -> cst.BaseExpression | None:
    """Drop a ``min_length`` that EmailStr implies; drop ``Field(...)`` when nothing else is left."""
    if not isinstance(value, cst.Call) or (dotted_name(value.func) or "").rsplit(".", 1)[-1] != "Field":
        return value
    kept = []
    dropped = False
    for arg in value.args:
        if arg.keyword is not None and arg.keyword.value == "min_length" and isinstance(arg.value, cst.Integer):
            if arg.value.evaluated_value <= _IMPLIED_MIN_LENGTH:  # 5, 0x5, 0b101, 1_0
                dropped = True
                continue
        kept.append(arg)
    if not dropped:
        return value
    if len(kept) == 1 and kept[0].keyword is None and isinstance(kept[0].value, cst.Ellipsis):
        return None
    if kept:
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return value.with_changes(args=kept)
