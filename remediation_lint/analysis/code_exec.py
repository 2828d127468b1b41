"""Questions about code that runs strings or programs: is an argument a constant string, does a module
define a name itself, and the pieces of the RMD102 comparison fix."""

from __future__ import annotations

import libcst as cst

#: the helper the RMD102 fix adds for ``eval(f"{value} {condition}")`` (condition like ``"> 0.9"``)
COMPARE_HELPER_NAME = "_compare_condition"
COMPARE_HELPER = '''def _compare_condition(value, condition):
    """Apply an alert condition such as "> 0.9" to value without executing it."""
    ops = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
    match = re.fullmatch(r"\\s*(<=|>=|==|!=|<|>)\\s*(.+?)\\s*", str(condition))
    if match is None:
        raise ValueError(f"unsupported condition: {condition!r}")
    return ops[match.group(1)](value, ast.literal_eval(match.group(2)))
'''

_COMPARISONS = (("<", "lt"), ("<=", "le"), (">", "gt"), (">=", "ge"), ("==", "eq"), ("!=", "ne"))


def comparison_dict() -> cst.Dict:
    """``{"<": operator.lt, "<=": operator.le, ...}``"""
    elements = []
    for i, (symbol, func) in enumerate(_COMPARISONS):
        last = i == len(_COMPARISONS) - 1
        elements.append(
            cst.DictElement(
                key=cst.SimpleString(f'"{symbol}"'),
                value=cst.Attribute(cst.Name("operator"), cst.Name(func)),
                comma=cst.MaybeSentinel.DEFAULT if last else cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
            )
        )
    return cst.Dict(elements=elements)


def constant_string(node: cst.BaseExpression) -> bool:
    """A string literal (implicitly concatenated or an f-string without placeholders)."""
    if isinstance(node, cst.SimpleString):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return constant_string(node.left) and constant_string(node.right)
    if isinstance(node, cst.FormattedString):
        return all(isinstance(p, cst.FormattedStringText) for p in node.parts)
    return False


def constant_text(node: cst.BaseExpression) -> str | None:
    """The value of a constant string literal, else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else value.decode("latin-1") if isinstance(value, bytes) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = constant_text(node.left), constant_text(node.right)
        return None if left is None or right is None else left + right
    return None


def module_defines(module: cst.Module, name: str) -> bool:
    """Whether the module binds ``name`` itself at top level (def, class, assignment)."""
    return name in top_level_names(module)


def top_level_names(module: cst.Module) -> frozenset[str]:
    """Names bound at the top level of the module (called only when a candidate is found)."""
    return _collect(module)


def _collect(module: cst.Module) -> frozenset[str]:
    names: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            names.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            names.add(target.target.value)
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    names.add(small.target.value)
    return frozenset(names)


def short_source(module: cst.Module, node: cst.CSTNode, limit: int = 60) -> str:
    """The node's source on one line, shortened for a message."""
    text = " ".join(module.code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
