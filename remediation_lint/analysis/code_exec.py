"""Questions about code that runs strings or programs: is an argument a constant string, does a module
define a name itself, and the pieces of the RMD102 comparison fix."""

from __future__ import annotations

import ast as _ast
import io as _io
import tokenize as _tokenize

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


# -- the fast path's twins (standard library ``ast``) ---------------------------------------------------


def ast_constant_string(node: _ast.AST) -> bool:
    """``constant_string`` on ``ast``: a str/bytes literal, or an f-string without placeholders."""
    if isinstance(node, _ast.Constant):
        return isinstance(node.value, (str, bytes))
    if isinstance(node, _ast.JoinedStr):
        return all(isinstance(v, _ast.Constant) for v in node.values)
    return False


def ast_constant_text(node: _ast.AST) -> str | None:
    """``constant_text`` on ``ast`` (an f-string, even without placeholders, is not constant text)."""
    if isinstance(node, _ast.Constant):
        value = node.value
        if isinstance(value, str):
            return value
        if isinstance(value, bytes):
            return value.decode("latin-1")
    return None


def ast_top_level_names(tree: _ast.Module) -> frozenset[str]:
    """``top_level_names`` on ``ast``."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, _ast.Assign):
            for target in stmt.targets:
                if isinstance(target, _ast.Name):
                    names.add(target.id)
        elif isinstance(stmt, _ast.AnnAssign) and isinstance(stmt.target, _ast.Name):
            names.add(stmt.target.id)
    return frozenset(names)


def ast_module_constant_text(tree: _ast.Module, name: str) -> tuple[bool, str | None]:
    """The first top-level ``name = <value>`` with a single Name target: (found, constant text of the value).

    The twin of the loops of RMD103/RMD114 over the module's simple statements."""
    for stmt in tree.body:
        if isinstance(stmt, _ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, _ast.Name) and target.id == name:
                return True, ast_constant_text(stmt.value)
    return False, None


class AstSource:
    """Byte offsets and text of ``ast`` positions in a file's source (built once per file, on demand)."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        bom = 3 if source.startswith(b"\xef\xbb\xbf") else 0  # ast columns of line 1 do not count it
        starts = [bom]
        for line in source.splitlines(keepends=True):
            starts.append(starts[-1] + len(line) - bom)
            bom = 0
        self.starts = starts

    @classmethod
    def of(cls, ctx) -> AstSource:
        cached = getattr(ctx, "_rmd_code_exec_source", None)
        if cached is None:
            cached = ctx._rmd_code_exec_source = cls(ctx.source)
        return cached

    def offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col

    def start(self, node: _ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)

    def end(self, node: _ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[arg-type]

    def text(self, start: int, end: int) -> str | None:
        try:
            return self.source[start:end].decode("utf-8")
        except UnicodeDecodeError:
            return None

    def between(self, start: int, end: int) -> bytes:
        return self.source[start:end]


def ast_short_text(text: str, limit: int) -> str:
    """``short_source``'s shortening of a node's source text."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def ast_first_arg_text(src: AstSource, call: _ast.Call, value: _ast.AST) -> str | None:
    """The source of the call's first argument ``value`` (positional, first in the source), or None when it
    is parenthesised or otherwise not plainly placed (LibCST's node text would then include its parentheses)."""
    gap = src.between(src.end(call.func), src.start(value))
    if gap.strip() != b"(":
        return None
    return src.text(src.start(value), src.end(value))


def ast_keyword_text(src: AstSource, keyword: _ast.keyword) -> str | None:
    """The source of a keyword argument's value, or None when it is parenthesised or oddly placed."""
    if keyword.arg is None or getattr(keyword, "lineno", None) is None:
        return None
    gap = src.between(src.start(keyword) + len(keyword.arg), src.start(keyword.value))
    if gap.strip() != b"=":
        return None
    return src.text(src.start(keyword.value), src.end(keyword.value))


def ast_single_fstring(text: str) -> bool | None:
    """Whether ``text`` (the source of a string or f-string node) is one literal, not an implicit
    concatenation (None: cannot tell)."""
    try:
        tokens = list(_tokenize.generate_tokens(_io.StringIO("(" + text + ")").readline))
    except (_tokenize.TokenError, SyntaxError):
        return None
    start = getattr(_tokenize, "FSTRING_START", None)  # 3.12+ tokenizes inside f-strings
    end = getattr(_tokenize, "FSTRING_END", None)
    depth = literals = 0
    for token in tokens:
        if token.type == start:
            literals += depth == 0
            depth += 1
        elif token.type == end:
            depth -= 1
        elif token.type == _tokenize.STRING and depth == 0:
            literals += 1
    return literals == 1


def ast_fstring_leading_text(src: AstSource, node: _ast.JoinedStr) -> str | None | bool:
    """The source text of the literal part an f-string starts with (LibCST's ``FormattedStringText``).

    None when the node is not one f-string starting with literal text (an implicit concatenation, a
    leading placeholder); False when that cannot be told on ``ast`` (escapes, doubled braces)."""
    text = src.text(src.start(node), src.end(node))
    if text is None:
        return False
    single = ast_single_fstring(text)
    if single is None:
        return False
    if not single or not node.values or not isinstance(node.values[0], _ast.Constant):
        return None
    i = 0
    while i < len(text) and text[i] in "rRfFbBuU":
        i += 1
    quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else text[i : i + 1]
    content = text[i + len(quote) : len(text) - len(quote)]
    brace = content.find("{")
    raw = content if brace < 0 else content[:brace]
    if "\\" in raw or "}" in raw or content[brace : brace + 2] == "{{":
        return False
    if raw != node.values[0].value:
        return False
    return raw
