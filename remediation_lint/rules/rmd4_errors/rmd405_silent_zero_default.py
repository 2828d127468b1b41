from __future__ import annotations

import re

import ast
from remediation_lint.analysis.ast_walk import ast_walk

import libcst as cst

from remediation_lint.analysis.handlers import ast_is_single_string, ast_node_code, count_literals, line_starts, source_segment, utf8_source
from remediation_lint.analysis.names import ast_dotted, dotted_name
from remediation_lint.astcheck import AstChecker
from remediation_lint.analysis.names import ast_arg_values as _ast_args
from remediation_lint.rule import Default, Invalid, Provenance, Rule, Severity, Valid

_SPLIT = re.compile(r"[_\W]+|(?<=[a-z0-9])(?=[A-Z])")


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    _source: tuple[bytes, list[int]] | None = None

    def _src(self) -> tuple[bytes, list[int]]:
        if self._source is None:
            source = utf8_source(self.context.source)
            self._source = (source, line_starts(source))
        return self._source

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr != "get" or len(node.args) + len(node.keywords) != 2:
            return
        args = _ast_args(node)
        default = args[1]
        receiver = func.value
        table: str | None = None
        if self._is_zero(default) or self._is_zero_dict(default):
            if not self._is_string_literal(args[0]):
                table = _price_table(receiver, self.opts)
            if table is None and isinstance(receiver, ast.Call):
                inner = receiver.func
                if (
                    isinstance(inner, ast.Attribute)
                    and inner.attr == "get"
                    and len(receiver.args) + len(receiver.keywords) == 2
                    and _ast_is_empty_dict(_ast_args(receiver)[1])
                ):
                    table = _price_table(inner.value, self.opts)
        if table is None or self._guarded(table):
            return
        text = ast_node_code(node, self.context.stack, *self._src())
        if text is None:
            self.defer()
            return
        text = text.strip()
        if len(text) > 60:
            text = text[:57] + "..."
        self.report(node, expr=text, table=f"`{table}`")

    def _is_string_literal(self, expr: ast.expr) -> bool:
        """LibCST ``SimpleString`` or ``ConcatenatedString`` (an f-string alone is neither)."""
        if isinstance(expr, ast.Constant):
            return isinstance(expr.value, (str, bytes))
        if isinstance(expr, ast.JoinedStr):
            return count_literals(source_segment(expr, *self._src())) != 1
        return False

    def _is_zero(self, expr: ast.expr) -> bool:
        if isinstance(expr, ast.Constant):
            if type(expr.value) not in (int, float):
                return False
            try:
                return float(source_segment(expr, *self._src()).replace("_", "")) == 0.0
            except ValueError:
                return False
        if isinstance(expr, ast.Call) and (ast_dotted(expr.func) or "").rsplit(".", 1)[-1] == "Decimal" and len(expr.args) + len(expr.keywords) == 1:
            arg = _ast_args(expr)[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, (str, bytes)) and ast_is_single_string(arg, *self._src()):
                try:
                    return float(arg.value) == 0.0
                except (ValueError, TypeError):
                    return False
            return self._is_zero(arg)
        return False

    def _is_zero_dict(self, expr: ast.expr) -> bool:
        if not isinstance(expr, ast.Dict) or not expr.keys:
            return False
        return all(key is not None and self._is_zero(value) for key, value in zip(expr.keys, expr.values))

    def _guarded(self, table: str) -> bool:
        func = self.context.enclosing_function()
        if func is None:
            return False
        for sub in ast_walk(func):
            if isinstance(sub, ast.Compare):
                for op, comparator in zip(sub.ops, sub.comparators):
                    if isinstance(op, (ast.In, ast.NotIn)) and ast_dotted(comparator) == table:
                        return True
        return False


def _ast_is_empty_dict(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Dict):
        return not expr.keys
    return isinstance(expr, ast.Call) and ast_dotted(expr.func) == "dict" and not expr.args and not expr.keywords


def _price_table(expr: ast.expr, opts) -> str | None:
    name = ast_dotted(expr)
    if name is None:
        return None
    last = name.rsplit(".", 1)[-1]
    parts = {p.lower() for p in _SPLIT.split(last) if p}
    if parts & set(opts["exclude_parts"]):
        return None
    if parts & set(opts["name_parts"]):
        return name
    return None


class SilentZeroDefault(Rule):
    """A price/cost/rate lookup that quietly yields zero for an unknown key records free usage.

    ## What it does
    Finds `.get(key, 0)` / `.get(key, 0.0)` (and a default dict whose values are all zero) on a
    mapping whose name says it holds prices, costs or rates (`MODEL_PRICING`, `self._costs`,
    `token_rates`; the name parts are configurable), and the chained shape
    `PRICING.get(model, {}).get("input", 0)`. A function that also tests membership of the same
    mapping (`if model not in MODEL_PRICING: logger.warning(...)`) handles the miss and is not reported.

    This rule is in preview: a zero default is sometimes intended (free local models); say so with an
    explicit entry in the table rather than a silent default.

    ## Why is this bad?
    The Orchestration Engine's `calculate_cost` (seed 001, 4.3) returned 0.0 for any model missing
    from `MODEL_PRICING`: a renamed or new model was billed at $0.00, budgets never tripped, and
    nothing in the logs said why.

    ## Fix
    Index the table (`MODEL_PRICING[model]`) so a miss raises, or check membership and log a warning
    (once per model) before falling back; validate at startup that every configured model has a price.
    """

    code = "RMD405"
    ast_checker = _Fast
    name = "silent-zero-default"
    message = "`{expr}` yields zero for an unknown key: raise, or log a warning, when {table} has no entry"
    severity = Severity.MEDIUM
    default = Default.PREVIEW
    provenance = (
        Provenance("001_0845f576a88221b4.txt", "Phase 4, item 4.3 (calculate_cost silently returns 0.0 for models missing from MODEL_PRICING)", "orchestration_engine"),
    )
    fix_safety = None
    triggers = (b".get(",)
    options = {
        "name_parts": ("price", "prices", "pricing", "cost", "costs", "rate", "rates", "fee", "fees", "tariff", "tariffs"),
        "exclude_parts": ("limit", "limits", "limiter", "count", "counts", "counter", "counters"),
    }
    option_docs = {
        "name_parts": "name parts (split on `_` and case) that mark a mapping of prices, costs or rates",
        "exclude_parts": "name parts that mark a mapping of something else (`RATE_LIMITS`, `cost_counter`)",
    }

    VALID = [
        Valid(
            """
            import logging

            logger = logging.getLogger(__name__)

            MODEL_PRICING = {"claude-sonnet": {"input": 3.0, "output": 15.0}}
            _warned_models: set[str] = set()

            def calculate_cost(model, input_tokens, output_tokens):
                if model not in MODEL_PRICING:
                    if model not in _warned_models:
                        _warned_models.add(model)
                        logger.warning("Unknown model '%s' - cost will be recorded as $0.00", model)
                    return 0.0
                pricing = MODEL_PRICING.get(model, {})
                return (input_tokens * pricing.get("input", 0) + output_tokens * pricing.get("output", 0)) / 1e6
            """
        ),
        Valid(
            """
            MODEL_PRICING = {"gpt-4o": (2.5, 10.0)}

            def calculate_cost(model, tokens_in, tokens_out):
                price_in, price_out = MODEL_PRICING[model]
                return (tokens_in * price_in + tokens_out * price_out) / 1e6
            """
        ),
        Valid(
            """
            RATE_LIMITS = {"free": 10}
            usage_counts = {}

            def allowed(plan, user):
                return usage_counts.get(user, 0) < RATE_LIMITS.get(plan, 0)
            """
        ),
        Valid(
            """
            def price_of(prices, sku):
                price = prices.get(sku)
                if price is None:
                    raise KeyError(f"no price for {sku}")
                return price
            """
        ),
        Valid(
            """
            def total(order, prices):
                return sum(prices.get(item, 1.0) * qty for item, qty in order.items())
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            MODEL_PRICING = {"claude-sonnet": {"input": 3.0, "output": 15.0}}

            def calculate_cost(model, input_tokens, output_tokens):
                pricing = MODEL_PRICING.get(model, {"input": 0.0, "output": 0.0})
                return (input_tokens * pricing["input"] + output_tokens * pricing["output"]) / 1_000_000
            """,
            line=4,
        ),
        Invalid(
            """
            from backend.config import MODEL_PRICING as pricing_table

            def input_cost(model, tokens):
                return tokens * pricing_table.get(model, {}).get("input", 0) / 1e6
            """,
            line=4,
        ),
        Invalid(
            """
            class Billing:
                def __init__(self, rates):
                    self._token_rates = rates

                def charge(self, model, tokens):
                    return tokens * self._token_rates.get(model, 0.0)
            """,
            line=6,
        ),
        Invalid(
            """
            from decimal import Decimal

            GPU_COSTS = {"a100": Decimal("1.10")}

            async def hourly(gpu):
                return GPU_COSTS.get(gpu, Decimal("0"))
            """,
            line=6,
        ),
        Invalid(
            """
            def fee(settings, kind):
                return settings.transferFees.get(kind, 0)
            """,
            line=2,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "get" or len(node.args) != 2:
            return
        default = node.args[1].value
        receiver = func.value
        table: str | None = None
        if _is_zero(default) or _is_zero_dict(default):
            if not isinstance(node.args[0].value, (cst.SimpleString, cst.ConcatenatedString)):
                table = self._price_table(receiver)  # a literal key is a field of one entry, not an unknown key
            if table is None and isinstance(receiver, cst.Call):
                inner = receiver.func
                if (
                    isinstance(inner, cst.Attribute)
                    and inner.attr.value == "get"
                    and len(receiver.args) == 2
                    and _is_empty_dict(receiver.args[1].value)
                ):
                    table = self._price_table(inner.value)
        if table is None or self._guarded(table):
            return
        text = self.context.module.code_for_node(node).strip()
        if len(text) > 60:
            text = text[:57] + "..."
        self.report(node, expr=text, table=f"`{table}`")

    def _price_table(self, expr: cst.BaseExpression) -> str | None:
        name = dotted_name(expr)
        if name is None:
            return None
        last = name.rsplit(".", 1)[-1]
        parts = {p.lower() for p in _SPLIT.split(last) if p}
        if parts & set(self.opts["exclude_parts"]):
            return None
        if parts & set(self.opts["name_parts"]):
            return name
        return None

    def _guarded(self, table: str) -> bool:
        """The enclosing function tests `key in TABLE` / `key not in TABLE`: the miss is handled."""
        func = self.context.enclosing_function()
        if func is None:
            return False
        finder = _MembershipFinder(table)
        func.visit(finder)
        return finder.found


class _MembershipFinder(cst.CSTVisitor):
    def __init__(self, table: str) -> None:
        self.table = table
        self.found = False

    def visit_ComparisonTarget(self, node: cst.ComparisonTarget) -> None:
        if isinstance(node.operator, (cst.In, cst.NotIn)) and dotted_name(node.comparator) == self.table:
            self.found = True


def _is_zero(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, (cst.Integer, cst.Float)):
        try:
            return float(expr.value.replace("_", "")) == 0.0
        except ValueError:
            return False
    if isinstance(expr, cst.Call) and (dotted_name(expr.func) or "").rsplit(".", 1)[-1] == "Decimal" and len(expr.args) == 1:
        arg = expr.args[0].value
        if isinstance(arg, cst.SimpleString):
            try:
                return float(arg.evaluated_value) == 0.0
            except (ValueError, TypeError):
                return False
        return _is_zero(arg)
    return False


def _is_zero_dict(expr: cst.BaseExpression) -> bool:
    if not isinstance(expr, cst.Dict) or not expr.elements:
        return False
    return all(isinstance(el, cst.DictElement) and _is_zero(el.value) for el in expr.elements)


def _is_empty_dict(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Dict):
        return not expr.elements
    return isinstance(expr, cst.Call) and dotted_name(expr.func) == "dict" and not expr.args
