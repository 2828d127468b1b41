from __future__ import annotations

import ast
import re

import libcst as cst

from remediation_lint.analysis.subprocesses import (
    ast_keyword,
    ast_positional,
    ast_string_value,
    keyword,
    positional,
    string_value,
)
from remediation_lint.astcheck import AstChecker
from remediation_lint.rule import Invalid, Provenance, Rule, Severity, Valid

#: ``re`` functions taking a pattern first, and the position of their ``flags`` argument
_RE_FUNCTIONS: dict[str, int] = {
    "re.search": 2, "re.match": 2, "re.fullmatch": 2, "re.findall": 2, "re.finditer": 2, "re.compile": 1,
    "re.split": 3, "re.sub": 4, "re.subn": 4,
}

#: a character class that matches everything, newlines included (``[\s\S]``, ``[\w\W]``, ``[^]``...)
_ANY_CLASS = r"\[(?:\\s\\S|\\S\\s|\\w\\W|\\W\\w|\\d\\D|\\D\\d)\]"
#: an open brace/bracket, a greedy "anything", a close brace/bracket
_GREEDY_ALWAYS = re.compile(r"(\\?\{|\\\[)" + _ANY_CLASS + r"[*+](?![?+])")
_GREEDY_DOT = re.compile(r"(\\?\{|\\\[)\.[*+](?![?+])")
_CLOSE = {"{": ("}", "\\}"), "\\{": ("}", "\\}"), "\\[": ("\\]",)}


def greedy_json_span(pattern: str, dotall: bool) -> str | None:
    """The greedy ``{...}``/``[...]`` piece of ``pattern`` when it runs from the first opener to the last closer."""
    if "(?s" in pattern:
        dotall = True
    found = [(m, True) for m in _GREEDY_ALWAYS.finditer(pattern)]
    if dotall:
        found += [(m, False) for m in _GREEDY_DOT.finditer(pattern)]
    for match, _ in found:
        rest = pattern[match.end():]
        # the closer may follow directly or after a group close: ``(\{[\s\S]*\})``
        tail = rest.lstrip(")")
        for closer in _CLOSE[match.group(1)]:
            if tail.startswith(closer):
                return pattern[match.start():match.end()] + closer
    return None


class _Fast(AstChecker):
    """The ``ast`` twin of the rule below (check mode)."""

    def visit_Call(self, node: ast.Call) -> None:
        qualified = self.context.qualified(node.func)
        flags_index = _RE_FUNCTIONS.get(qualified or "")
        if flags_index is None:
            return
        args = ast_positional(node)
        pattern_arg = ast_keyword(node, "pattern")
        pattern_expr = args[0] if args else (pattern_arg.value if pattern_arg else None)
        pattern = ast_string_value(pattern_expr) if pattern_expr is not None else None
        if pattern is None:
            return
        flags_arg = ast_keyword(node, "flags")
        flags = flags_arg.value if flags_arg is not None else (args[flags_index] if len(args) > flags_index else None)
        span = greedy_json_span(pattern, self._dotall(flags))
        if span is not None:
            self.report(node, span=span)

    def _dotall(self, flags: ast.expr | None) -> bool:
        if flags is None:
            return False
        if isinstance(flags, ast.BinOp):
            return self._dotall(flags.left) or self._dotall(flags.right)
        name = self.context.qualified(flags) or self.context.dotted(flags) or ""
        return name.rsplit(".", 1)[-1] in ("DOTALL", "S")


class GreedyJsonRegex(Rule):
    """A greedy regex grabs "the JSON" from the first `{` to the last `}` of a model's answer.

    ## What it does
    Finds regular expressions passed to `re.search`/`match`/`fullmatch`/`findall`/`finditer`/`split`/
    `sub` or compiled with `re.compile` (under any import alias) that contain a greedy "anything"
    between braces or brackets: `\\{[\\s\\S]*\\}`, `\\{[\\w\\W]+\\}`, and `\\{.*\\}`/`\\[.*\\]` when `.`
    matches newlines (`re.DOTALL`/`re.S` in the flags, or an inline `(?s)`). The call that holds the
    pattern is reported.

    ## Why is this bad?
    `*` is greedy: the match starts at the first opening brace of the text and ends at the last closing
    brace, so prose with braces before or after the JSON, two JSON objects, or a second code block all
    end up in one string that `json.loads` rejects, or worse, accepts as the wrong object. The
    Orchestration Engine's planner extracted plans with `re.search(r"\\{[\\s\\S]*\\}", response_text)`
    (plan item 4.5).

    ## Fix
    Strip the code fences, try `json.loads` on the whole answer, then fall back to a real parser from
    the first brace: `obj, end = json.JSONDecoder().raw_decode(text, text.index("{"))` reads exactly one
    balanced JSON value and tells you where it ended.
    """

    code = "RMD605"
    ast_checker = _Fast
    name = "greedy-json-regex"
    message = "greedy regex {span} spans from the first opener to the last closer: parse with json.JSONDecoder().raw_decode(text, text.index(\"{{\")) instead"
    severity = Severity.MEDIUM
    provenance = (Provenance("001_0845f576a88221b4.txt", "Phase 4, item 4.5 (Fix JSON Extraction Regex in Planner)", "orchestration_engine"),)
    triggers = (b"re.", b"from re ", b"import re")

    VALID = [
        Valid(
            r'''
            import json
            import re

            _FENCE = re.compile(r"```(?:json)?\s*|```\s*$", re.MULTILINE)

            def extract_json(response_text: str) -> dict:
                cleaned = _FENCE.sub("", response_text).strip()
                try:
                    return json.loads(cleaned)
                except json.JSONDecodeError:
                    start = cleaned.index("{")
                    obj, _ = json.JSONDecoder().raw_decode(cleaned, start)
                    return obj
            '''
        ),
        Valid(
            r'''
            import re

            def first_object(text: str) -> str | None:
                match = re.search(r"\{[\s\S]*?\}", text)
                return match.group(0) if match else None
            '''
        ),
        Valid(
            r'''
            import re

            def inline_object(line: str):
                return re.search(r"\{.*\}", line)
            '''
        ),
        Valid(
            r'''
            import re

            PLACEHOLDER = re.compile(r"\{(\w+)\}")
            SECTION = re.compile(r"\[[^\]]*\]", re.DOTALL)
            '''
        ),
        Valid(
            r'''
            class Finder:
                def search(self, pattern, text):
                    return pattern in text

            Finder().search(r"\{[\s\S]*\}", "{}")
            '''
        ),
    ]

    INVALID = [
        Invalid(
            r'''
            import json
            import re

            def _parse_plan(response_text: str) -> dict:
                match = re.search(r"\{[\s\S]*\}", response_text)
                if not match:
                    raise ValueError("no JSON in response")
                return json.loads(match.group())
            ''',
            line=5,
        ),
        Invalid(
            r'''
            import re

            _JSON_BLOCK = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)
            ''',
            line=3,
        ),
        Invalid(
            r'''
            import re as regex

            class Decomposer:
                def tasks(self, text):
                    found = regex.findall(r"(?s)\[.*\]", text)
                    return found[0] if found else "[]"
            ''',
        ),
        Invalid(
            r'''
            from re import DOTALL, MULTILINE, search

            async def ask(client, prompt):
                answer = await client.complete(prompt)
                return search("{.+}", answer, flags=DOTALL | MULTILINE)
            ''',
        ),
        Invalid(
            r'''
            import re

            def tool_args(text):
                return re.match(r"^.*?(\{[\w\W]+\})", text)
            ''',
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.context.qualified(node.func)
        flags_index = _RE_FUNCTIONS.get(qualified or "")
        if flags_index is None:
            return
        args = positional(node)
        pattern_arg = keyword(node, "pattern")
        pattern_expr = args[0].value if args else (pattern_arg.value if pattern_arg else None)
        pattern = string_value(pattern_expr) if pattern_expr is not None else None
        if pattern is None:
            return
        flags_arg = keyword(node, "flags")
        flags = flags_arg.value if flags_arg is not None else (args[flags_index].value if len(args) > flags_index else None)
        span = greedy_json_span(pattern, self._dotall(flags))
        if span is not None:
            self.report(node, span=span)

    def _dotall(self, flags: cst.BaseExpression | None) -> bool:
        if flags is None:
            return False
        if isinstance(flags, cst.BinaryOperation):
            return self._dotall(flags.left) or self._dotall(flags.right)
        name = self.context.qualified(flags) or self.context.dotted(flags) or ""
        return name.rsplit(".", 1)[-1] in ("DOTALL", "S")
