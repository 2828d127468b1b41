from __future__ import annotations

import re

import ast

import libcst as cst

from remediation_lint.analysis.handlers import AST_SIMPLE_STATEMENTS, ast_is_single_string, line_starts, source_segment, utf8_source
from remediation_lint.analysis.names import dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.analysis.names import ast_dotted_as_cst as _cdotted, ast_arg_values as _ast_args
from remediation_lint.rule import FixSafety, Invalid, Provenance, Rule, Severity, Valid

_MODEL_BASES = ("BaseModel", "TypedDict", "NamedTuple", "SQLModel", "BaseSettings")
_NUMERIC = re.compile(r"^-?\d+$")
_STATS = re.compile(r"(stats|metrics|counters|usage)$")


class _Defer(Exception):
    pass


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def __init__(self, rule, context, options) -> None:
        super().__init__(rule, context, options)
        self._models: set[str] = set()
        self._source: tuple[bytes, list[int]] | None = None

    def _src(self) -> tuple[bytes, list[int]]:
        if self._source is None:
            source = utf8_source(self.context.source)
            self._source = (source, line_starts(source))
        return self._source

    def _count_like(self, name: str) -> bool:
        low = name.lower()
        if low.endswith(("_id", "_code", "_name", "_label", "_key", "_unit")):
            return False
        return (
            low in set(self.opts["count_names"])
            or low.endswith(tuple(self.opts["count_suffixes"]))
            or low.startswith(tuple(self.opts["count_prefixes"]))
        )

    def _is_model(self, node: ast.ClassDef) -> bool:
        for dec in node.decorator_list:
            expr = dec.func if isinstance(dec, ast.Call) else dec
            name = self.context.qualified(expr) or _cdotted(expr) or ""
            if name.rsplit(".", 1)[-1] in {"dataclass", "define", "frozen", "attrs"}:
                return True
        for base in node.bases:
            name = _cdotted(base.value if isinstance(base, ast.Starred) else base) or ""
            last = name.rsplit(".", 1)[-1]
            if last in _MODEL_BASES or last in self._models:
                return True
        return False

    def _string(self, value: ast.AST | None) -> str | None:
        """The source text of a LibCST ``SimpleString`` (one string literal), else None."""
        if isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes)) and ast_is_single_string(value, *self._src()):
            return source_segment(value, *self._src())
        return None

    def _numeric_string(self, value: ast.AST | None) -> str | None:
        if self._string(value) is not None and isinstance(value.value, str) and _NUMERIC.match(value.value):  # type: ignore[union-attr]
            return str(int(value.value))  # type: ignore[union-attr]
        return None

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not self._is_model(node):
            return
        self._models.add(node.name)
        if not self._indented(node.body[0]):
            return
        for small in node.body:
            if not isinstance(small, AST_SIMPLE_STATEMENTS):
                continue
            try:
                if isinstance(small, ast.AnnAssign) and isinstance(small.target, ast.Name):
                    self._field(small, small.target.id)
                elif isinstance(small, ast.Assign) and len(small.targets) == 1 and isinstance(small.targets[0], ast.Name):
                    name = small.targets[0].id
                    if self._count_like(name) and self._numeric_string(small.value):
                        self.report(small, what=f"field `{name}` defaults to the string {self._string(small.value)}", fix=FixSafety.UNSAFE)
            except _Defer:
                self.defer()
                return

    def _indented(self, stmt: ast.stmt) -> bool:
        """The block's first statement starts its line (an indented block, not a one-line suite)."""
        source, starts = self._src()
        return not source[starts[stmt.lineno - 1] : starts[stmt.lineno - 1] + stmt.col_offset].strip()

    def _field(self, node: ast.AnnAssign, name: str) -> None:
        ann = node.annotation
        if _STATS.search(name.lower()) and self._dict_of_dict_of_str(ann):
            self.report(node, what=f"stats field `{name}` keeps its numbers as strings (Dict[str, Dict[str, str]])")
            return
        if not self._count_like(name):
            return
        is_str = isinstance(ann, ast.Name) and ann.id == "str"
        text = self._string(ann)
        quoted = text is not None and text.strip("\"'") == "str"
        default = self._numeric_string(node.value) if node.value is not None else None
        if not (is_str or quoted or default):
            return
        if is_str and node.value is not None and not default:
            self.report(node, what=f"field `{name}` is annotated str")
            return
        with_default = bool(default and (is_str or (isinstance(ann, ast.Name) and ann.id == "int")))
        replacements = bool(is_str) or with_default
        what = f"field `{name}` is annotated str" if (is_str or quoted) else f"field `{name}` defaults to a numeric string"
        self.report(node, what=what, fix=FixSafety.UNSAFE if replacements else None)

    def _dict_of_dict_of_str(self, ann: ast.expr) -> bool:
        def args(node: ast.expr) -> list[ast.expr] | None:
            if isinstance(node, ast.Subscript) and (_cdotted(node.value) or "").rsplit(".", 1)[-1] in {"Dict", "dict", "Mapping"}:
                index = node.slice
                if isinstance(index, ast.Tuple):
                    if any(isinstance(e, ast.Starred) for e in index.elts):
                        raise _Defer
                    if index.elts and (index.lineno, index.col_offset) != (index.elts[0].lineno, index.elts[0].col_offset):
                        raise _Defer  # `Dict[(a, b)]` (one element for LibCST) or `Dict[(a), b]`
                    return [e for e in index.elts if not isinstance(e, ast.Slice)]
                return [] if isinstance(index, ast.Slice) else [index]
            return None

        outer = args(ann)
        if not outer or len(outer) != 2:
            return False
        inner = args(outer[1])
        return bool(inner) and len(inner) == 2 and _cdotted(inner[1]) == "str" and isinstance(inner[1], ast.Name)  # type: ignore[index]

    def visit_Call(self, node: ast.Call) -> None:
        if not (isinstance(node.func, ast.Name) and node.func.id == "str" and len(node.args) + len(node.keywords) == 1):
            return
        arg = _ast_args(node)[0]
        if not isinstance(arg, ast.BinOp) or not isinstance(arg.op, (ast.Add, ast.Sub)):
            return
        inner = arg.left
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "int" and (inner.args or inner.keywords):
            target = _ast_args(inner)[0]
            label = self._label(target)
            if label is not None and self._count_like(label.strip("[]`'\"").rsplit(".", 1)[-1]):
                self.report(node, what=f"counter {label} is bumped through str(int(...) + ...)")

    def _label(self, target: ast.expr) -> str | None:
        if isinstance(target, ast.Subscript):
            text = self._string(target.slice)
            return f"[{text}]" if text is not None else None
        if isinstance(target, ast.Attribute):
            return f"`{_cdotted(target) or target.attr}`"
        name = _cdotted(target)
        if isinstance(target, (ast.Name, ast.Constant)) and name is not None:
            return f"`{name}`"
        return None


class NumberStoredAsString(Rule):
    """A count, size or duration kept as a string: store it as `int`.

    ## What it does
    Finds fields of models (dataclasses, pydantic models, TypedDicts, NamedTuples) whose name says they
    hold a number (`*_count`, `tokens`, `*_tokens`, `total*`, `*_ms`, `latency*`, `size`, `*_size`,
    `calls`, names configurable) but are annotated `str` or default to a numeric string such as `"0"`;
    stats fields typed `Dict[str, Dict[str, str]]`; and counters bumped by a string round trip,
    `d["usage_count"] = str(int(d["usage_count"]) + 1)`. Identifiers and codes (`*_id`, `*_code`) are
    left alone.

    ## Why is this bad?
    Every read needs an `int()` that can fail, sorting and comparisons are lexicographic (`"9" > "10"`),
    and arithmetic silently turns into concatenation. khala's `ModelMetrics` stored integers as strings
    (seed 000, high 5: "Refactor `ModelMetrics` to use native `int`").

    ## Fix safety
    Unsafe: the annotation `str` becomes `int` and a numeric default `"0"` becomes `0`; code that reads
    or writes the field as a string must change with it.
    """

    code = "RMD506"
    ast_checker = _Fast
    name = "number-stored-as-string"
    message = "{what}: store it as int"
    severity = Severity.HIGH
    provenance = (Provenance("000_18f8732ba4a86cc0.txt", "HIGH, item 5 (Fix Model Metrics: integers stored as strings in ModelMetrics)", "khala"),)
    fix_safety = FixSafety.UNSAFE
    triggers = (
        b": str", b': "str"', b"str(int(", b"Dict[str, str]", b"dict[str, str]",
        *(f'= {q}{d}'.encode() for q in "\"'" for d in "0123456789"),
    )
    options = {
        "count_suffixes": ("_count", "_tokens", "_ms", "_size", "_calls", "_bytes", "_seconds"),
        "count_prefixes": ("total", "latency", "num_"),
        "count_names": ("tokens", "size", "calls", "count", "latency", "total"),
    }
    option_docs = {
        "count_suffixes": "field-name endings that mean a number",
        "count_prefixes": "field-name beginnings that mean a number",
        "count_names": "whole field names that mean a number",
    }

    limitations = (
        "The Semgrep twin `rmd506-number-stored-as-string` recognises models only by a direct "
        "`BaseModel`/`TypedDict` base or `@dataclass`; a model deriving from a project base class (`class "
        "Usage(Base)`) is found by this rule alone."
    )

    VALID = [
        Valid(
            """
            from pydantic import BaseModel

            class ModelMetrics(BaseModel):
                model_name: str
                request_count: int = 0
                total_tokens: int = 0
                latency_ms: int = 0
            """
        ),
        Valid(
            """
            from dataclasses import dataclass

            @dataclass
            class Task:
                task_id: str
                error_code: str
                token: str
                status_count_label: str = "pending"
            """
        ),
        Valid(
            """
            class Formatter:
                total_tokens: str = "0"

                def render(self, n):
                    return str(n)
            """
        ),
        Valid(
            """
            from typing import TypedDict

            class Usage(TypedDict):
                prompt_tokens: int
                completion_tokens: int
                model: str
            """
        ),
        Valid(
            """
            def bump(stats):
                stats["usage_count"] = stats.get("usage_count", 0) + 1
                return str(stats["usage_count"])
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            from pydantic import BaseModel

            class ModelMetrics(BaseModel):
                model_name: str
                request_count: str = "0"
                total_tokens: str
            """,
            fixed="""
            from pydantic import BaseModel

            class ModelMetrics(BaseModel):
                model_name: str
                request_count: int = 0
                total_tokens: int
            """,
            line=5,
            count=2,
        ),
        Invalid(
            """
            import dataclasses

            @dataclasses.dataclass
            class CallStats:
                name: str
                latency_ms: str = ""
                calls = "0"
            """,
            fixed="""
            import dataclasses

            @dataclasses.dataclass
            class CallStats:
                name: str
                latency_ms: str = ""
                calls = 0
            """,
            line=6,
            count=2,
        ),
        Invalid(
            """
            class GeminiClient:
                def record(self, model):
                    metrics = self._metrics[model]
                    metrics["usage_count"] = str(int(metrics["usage_count"]) + 1)
            """,
            line=4,
        ),
        Invalid(
            """
            from typing import Dict, TypedDict

            class Snapshot(TypedDict):
                model_stats: Dict[str, Dict[str, str]]
            """,
            line=4,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class Base(BaseModel):
                pass

            class EmbeddingUsage(Base):
                input_tokens: "str"
                size: str = "1536"
            """,
            fixed="""
            from pydantic import BaseModel

            class Base(BaseModel):
                pass

            class EmbeddingUsage(Base):
                input_tokens: "str"
                size: int = 1536
            """,
            line=7,
            count=2,
        ),
    ]

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self._models: set[str] = set()

    def _count_like(self, name: str) -> bool:
        low = name.lower()
        if low.endswith(("_id", "_code", "_name", "_label", "_key", "_unit")):
            return False
        return (
            low in set(self.opts["count_names"])
            or low.endswith(tuple(self.opts["count_suffixes"]))
            or low.startswith(tuple(self.opts["count_prefixes"]))
        )

    def _is_model(self, node: cst.ClassDef) -> bool:
        for dec in node.decorators:
            expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            name = self.context.qualified(expr) or dotted_name(expr) or ""
            if name.rsplit(".", 1)[-1] in {"dataclass", "define", "frozen", "attrs"}:
                return True
        for base in node.bases:
            name = dotted_name(base.value) or ""
            last = name.rsplit(".", 1)[-1]
            if last in _MODEL_BASES or last in self._models:
                return True
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not self._is_model(node):
            return
        self._models.add(node.name.value)
        if not isinstance(node.body, cst.IndentedBlock):
            return
        for stmt in node.body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    self._field(small, small.target.value)
                elif isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    name = small.targets[0].target.value
                    if self._count_like(name) and _numeric_string(small.value):
                        self.report(small, what=f"field `{name}` defaults to the string {small.value.value}",  # type: ignore[attr-defined]
                                    fix=self.make_fix((small.value, _int_node(_numeric_string(small.value)))))  # type: ignore[arg-type]

    def _field(self, node: cst.AnnAssign, name: str) -> None:
        ann = node.annotation.annotation
        if _STATS.search(name.lower()) and _dict_of_dict_of_str(ann):
            self.report(node, what=f"stats field `{name}` keeps its numbers as strings (Dict[str, Dict[str, str]])")
            return
        if not self._count_like(name):
            return
        is_str = isinstance(ann, cst.Name) and ann.value == "str"
        quoted = isinstance(ann, cst.SimpleString) and ann.value.strip("\"'") == "str"
        default = _numeric_string(node.value) if node.value is not None else None
        if not (is_str or quoted or default):
            return
        replacements: list[tuple[cst.CSTNode, cst.CSTNode]] = []
        if is_str and node.value is not None and not default:
            # `latency_ms: str = ""`: no int default to put in its place; the message says what to do
            self.report(node, what=f"field `{name}` is annotated str")
            return
        if is_str:
            replacements.append((ann, cst.Name("int")))
        if default and (is_str or (isinstance(ann, cst.Name) and ann.value == "int")):
            replacements.append((node.value, _int_node(default)))  # type: ignore[arg-type]
        what = f"field `{name}` is annotated str" if (is_str or quoted) else f"field `{name}` defaults to a numeric string"
        self.report(node, what=what, fix=self.make_fix(replacements) if replacements else None)

    def visit_Call(self, node: cst.Call) -> None:
        # str(int(x) + 1): a counter bumped by a string round trip
        if not (isinstance(node.func, cst.Name) and node.func.value == "str" and len(node.args) == 1):
            return
        arg = node.args[0].value
        if not isinstance(arg, cst.BinaryOperation) or not isinstance(arg.operator, (cst.Add, cst.Subtract)):
            return
        inner = arg.left
        if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Name) and inner.func.value == "int" and inner.args:
            target = inner.args[0].value
            label = _label(target)
            if label is not None and self._count_like(label.strip("[]`'\"").rsplit(".", 1)[-1]):
                self.report(node, what=f"counter {label} is bumped through str(int(...) + ...)")


def _int_node(text: str) -> cst.BaseExpression:
    """The integer literal for ``text``; a negative number is a unary minus in LibCST's tree."""
    if text.startswith("-"):
        return cst.UnaryOperation(cst.Minus(), cst.Integer(text[1:]))
    return cst.Integer(text)


def _numeric_string(value: cst.BaseExpression | None) -> str | None:
    if isinstance(value, cst.SimpleString):
        try:
            text = value.evaluated_value
        except Exception:  # pragma: no cover
            return None
        if isinstance(text, str) and _NUMERIC.match(text):
            return str(int(text))
    return None


def _dict_of_dict_of_str(ann: cst.BaseExpression) -> bool:
    def args(node: cst.BaseExpression) -> list[cst.BaseExpression] | None:
        if isinstance(node, cst.Subscript) and (dotted_name(node.value) or "").rsplit(".", 1)[-1] in {"Dict", "dict", "Mapping"}:
            return [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]  # type: ignore[union-attr]
        return None

    outer = args(ann)
    if not outer or len(outer) != 2:
        return False
    inner = args(outer[1])
    return bool(inner) and len(inner) == 2 and isinstance(inner[1], cst.Name) and inner[1].value == "str"  # type: ignore[arg-type]


def _label(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            return f"[{index.value.value}]"
        return None
    if isinstance(target, cst.Attribute):
        return f"`{dotted_name(target) or target.attr.value}`"
    if isinstance(target, cst.Name):
        return f"`{target.value}`"
    return None
