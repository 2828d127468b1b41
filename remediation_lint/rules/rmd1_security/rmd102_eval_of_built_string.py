from __future__ import annotations

import ast

import libcst as cst

from remediation_lint.analysis.code_exec import (
    COMPARE_HELPER,
    COMPARE_HELPER_NAME,
    AstSource,
    ast_constant_string,
    ast_first_arg_text,
    ast_short_text,
    ast_single_fstring,
    ast_top_level_names,
    comparison_dict,
    constant_string,
    module_defines,
    short_source,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import (
    FixSafety,
    ImportSpec,
    Invalid,
    Provenance,
    Rule,
    Severity,
    Valid,
)

_BUILTINS = {"eval": "eval", "exec": "exec", "builtins.eval": "eval", "builtins.exec": "exec"}


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    _top: frozenset[str] | None = None

    def _defines(self, name: str) -> bool:
        if self._top is None:
            self._top = ast_top_level_names(self.context.tree)
        return name in self._top

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id not in ("eval", "exec"):
                return
            qualified = self.context.qualified(func)
            if qualified is not None and qualified not in _BUILTINS:
                return
            if self._defines(func.id):
                return
            builtin = func.id
        elif isinstance(func, ast.Attribute) and func.attr in ("eval", "exec"):
            builtin = _BUILTINS.get(self.context.qualified(func) or "")
            if builtin is None:
                return
        else:
            return
        if not node.args or isinstance(node.args[0], ast.Starred):
            return  # no argument, or the first one is a keyword or a star (positional after them: *args only)
        arg = node.args[0]
        if ast_constant_string(arg):
            return
        src = AstSource.of(self.context)
        text = ast_first_arg_text(src, node, arg)
        if text is None:
            self.defer()  # parenthesised argument: LibCST's text of it includes the parentheses
            return
        fix = None
        if builtin == "eval" and len(node.args) + len(node.keywords) == 1 and isinstance(arg, ast.JoinedStr):
            shape = self._comparison_shape(arg, text)
            if shape is None:
                self.defer()
                return
            fix = FixSafety.UNSAFE if shape else None
        self.report(node, func=builtin, source=ast_short_text(text, 60), fix=fix)

    @staticmethod
    def _comparison_shape(arg: ast.JoinedStr, text: str) -> bool | None:
        """Whether the LibCST fix applies (None: cannot tell here)."""
        single = ast_single_fstring(text)
        if single is None:
            return None
        if not single:
            return False  # an implicit concatenation: not a LibCST FormattedString
        exprs = 0
        for part in arg.values:
            if isinstance(part, ast.FormattedValue):
                if part.conversion != -1 or part.format_spec is not None:
                    return False
                exprs += 1
            elif isinstance(part, ast.Constant):
                if part.value.strip():
                    return False
                if "\\" in text or "{" in part.value or "}" in part.value:
                    return None  # the raw text LibCST tests differs from the value
            else:  # pragma: no cover
                return None
        return exprs in (2, 3)


class EvalOfBuiltString(Rule):
    """`eval()`/`exec()` of a string that is not a constant: whoever shapes the string runs code.

    ## What it does
    Finds calls of the builtins `eval` and `exec` (also as `builtins.eval`) whose first argument is
    anything but a constant string: f-strings, concatenations, `%`/`.format` results, names, attributes,
    calls. `ast.literal_eval` and methods that happen to be called `eval` (`model.eval()`) are not the
    builtin and are not reported; neither is a module that defines its own `eval`.

    ## Why is this bad?
    `eval` runs arbitrary Python. When any part of the string comes from configuration, a message or a
    request, a misconfiguration or a crafted value becomes code execution. The AI System plan (Phase 2,
    task 5) found alert rules checked with `eval(f"{value} {rule.condition}")` in
    `common/observability/metrics.py`: anyone who can edit an alert condition runs code in the
    metrics process.

    ## Fix
    Parse the data instead of executing it: split the condition into an operator and a literal
    threshold and apply the `operator` module (`{">": operator.gt, ...}[op](value, threshold)`); use
    `ast.literal_eval` for literals and `json` for structured data.

    ## Fix safety
    Unsafe. Only the comparison shapes are rewritten: `eval(f"{a} {op} {b}")` becomes
    `{"<": operator.lt, ...}[op](a, b)` and `eval(f"{a} {condition}")` (the condition holding an operator
    and a threshold, such as `"> 0.9"`) becomes a call of a small `_compare_condition` helper added to
    the module, which parses the condition with a regular expression and `ast.literal_eval`. A condition
    using anything but `<`, `<=`, `>`, `>=`, `==`, `!=` and a literal now raises `ValueError`/`KeyError`
    instead of being executed, which is the point; in the three-part shape `b` is compared as the
    value it is, not re-read as Python source.
    """

    code = "RMD102"
    ast_checker = _Fast
    name = "eval-of-built-string"
    message = "{func}() of a built string `{source}`: parse the data (operator lookup, ast.literal_eval, json) instead of executing it"
    severity = Severity.HIGH
    provenance = (
        Provenance("004_96ea4b1ca927ab99.txt", "Phase 2, Task 5 (eval() of alert conditions in metrics)", "ai_system"),
    )
    fix_safety = FixSafety.UNSAFE
    triggers = (b"eval(", b"exec(")
    cwe = (95,)

    VALID = [
        Valid(
            """
            import operator
            import re

            _OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}

            class AlertManager:
                def _triggered(self, value: float, condition: str) -> bool:
                    match = re.fullmatch(r"\\s*(<=|>=|==|<|>)\\s*([-+0-9.eE]+)\\s*", condition)
                    if match is None:
                        raise ValueError(f"bad alert condition {condition!r}")
                    return _OPS[match.group(1)](value, float(match.group(2)))
            """
        ),
        Valid(
            """
            import ast

            def parse_threshold(raw: str):
                return ast.literal_eval(raw)
            """
        ),
        Valid(
            """
            import torch

            def evaluate(model: torch.nn.Module, batch):
                model.eval()
                with torch.no_grad():
                    return model(batch)
            """
        ),
        Valid(
            """
            SQUARES = eval("[n * n for n in range(10)]")
            exec("import sys")
            """
        ),
        Valid(
            """
            from sympy import sympify as eval

            def simplify(expr: str):
                return eval(expr)
            """
        ),
        Valid(
            """
            class Expression:
                def eval(self, env):
                    return env[self.name]

            def run(expr, env):
                return expr.eval(env)
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import logging

            logger = logging.getLogger(__name__)

            class AlertManager:
                def __init__(self, rules):
                    self.rules = rules

                def check(self, name: str, value: float) -> bool:
                    rule = self.rules[name]
                    if eval(f"{value} {rule.condition}"):
                        logger.warning("alert %s fired at %s", name, value)
                        return True
                    return False
            """,
            fixed='''
            import logging
            import operator
            import re
            import ast

            def _compare_condition(value, condition):
                """Apply an alert condition such as "> 0.9" to value without executing it."""
                ops = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
                match = re.fullmatch(r"\\s*(<=|>=|==|!=|<|>)\\s*(.+?)\\s*", str(condition))
                if match is None:
                    raise ValueError(f"unsupported condition: {condition!r}")
                return ops[match.group(1)](value, ast.literal_eval(match.group(2)))

            logger = logging.getLogger(__name__)

            class AlertManager:
                def __init__(self, rules):
                    self.rules = rules

                def check(self, name: str, value: float) -> bool:
                    rule = self.rules[name]
                    if _compare_condition(value, rule.condition):
                        logger.warning("alert %s fired at %s", name, value)
                        return True
                    return False
            ''',
            line=11,
        ),
        Invalid(
            """
            import operator

            def crossed(current, op, threshold):
                return eval(f"{current} {op} {threshold}")
            """,
            fixed="""
            import operator

            def crossed(current, op, threshold):
                return {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}[op](current, threshold)
            """,
            line=4,
        ),
        Invalid(
            """
            def run_hook(payload: dict):
                exec(payload["code"])
            """,
            line=2,
        ),
        Invalid(
            """
            import builtins

            def compute(expression: str, variables: dict):
                return builtins.eval("(" + expression + ")", {"__builtins__": {}}, variables)
            """,
            line=4,
        ),
        Invalid(
            """
            async def apply_rule(metric, rule):
                template = "{} {}".format(metric.value, rule["condition"])
                return eval(template)
            """,
            line=3,
        ),
        Invalid(
            """
            class Collector:
                def evaluate_all(self, values, conditions):
                    return [eval(f"{v}{c}") for v, c in zip(values, conditions)]
            """,
            fixed='''
            import operator
            import re
            import ast

            def _compare_condition(value, condition):
                """Apply an alert condition such as "> 0.9" to value without executing it."""
                ops = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
                match = re.fullmatch(r"\\s*(<=|>=|==|!=|<|>)\\s*(.+?)\\s*", str(condition))
                if match is None:
                    raise ValueError(f"unsupported condition: {condition!r}")
                return ops[match.group(1)](value, ast.literal_eval(match.group(2)))

            class Collector:
                def evaluate_all(self, values, conditions):
                    return [_compare_condition(v, c) for v, c in zip(values, conditions)]
            ''',
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            if func.value not in ("eval", "exec"):
                return
            qualified = self.context.qualified(func)
            if qualified is not None and qualified not in _BUILTINS:
                return  # imported under that name from somewhere else
            if module_defines(self.context.module, func.value):
                return
            builtin = func.value
        elif isinstance(func, cst.Attribute) and func.attr.value in ("eval", "exec"):
            builtin = _BUILTINS.get(self.context.qualified(func) or "")
            if builtin is None:
                return  # model.eval(), expr.eval(env)
        else:
            return
        if not node.args or node.args[0].keyword is not None or node.args[0].star:
            return
        arg = node.args[0].value
        if constant_string(arg):
            return
        fix = None
        if builtin == "eval" and len(node.args) == 1:
            fix = self._comparison_fix(node, arg)
        self.report(node, func=builtin, source=short_source(self.context.module, arg), fix=fix)

    def _comparison_fix(self, node: cst.Call, arg: cst.BaseExpression):
        if not isinstance(arg, cst.FormattedString):
            return None
        parts: list[cst.BaseExpression | str] = []
        for part in arg.parts:
            if isinstance(part, cst.FormattedStringExpression):
                if part.conversion is not None or part.format_spec is not None or part.equal is not None:
                    return None
                parts.append(part.expression)
            elif isinstance(part, cst.FormattedStringText):
                if part.value.strip():
                    return None  # literal text such as an operator in the template: not the shape
            else:  # pragma: no cover
                return None
        exprs = [p for p in parts if not isinstance(p, str)]
        if len(exprs) == 3:
            left, op, right = exprs
            lookup = cst.Subscript(
                value=comparison_dict(),
                slice=[cst.SubscriptElement(cst.Index(op))],
            )
            replacement = cst.Call(func=lookup, args=[cst.Arg(left), cst.Arg(right)])
            return self.make_fix((node, replacement), imports=[ImportSpec("operator")])
        if len(exprs) == 2:
            value, condition = exprs
            replacement = cst.Call(
                func=cst.Name(COMPARE_HELPER_NAME), args=[cst.Arg(value), cst.Arg(condition)]
            )
            if module_defines(self.context.module, COMPARE_HELPER_NAME):
                return self.make_fix((node, replacement))
            return self.make_fix(
                (node, replacement),
                imports=[ImportSpec("operator"), ImportSpec("re"), ImportSpec("ast")],
                prelude=[(COMPARE_HELPER_NAME, COMPARE_HELPER)],
            )
        return None
