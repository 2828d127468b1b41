"""``# noqa`` comments with flake8's meaning: bare ``# noqa`` silences every code on the line,
``# noqa: RMD101, RMD2`` silences the listed codes and every code they prefix."""

from __future__ import annotations

import re

# flake8's own inline pattern (flake8.defaults.NOQA_INLINE_REGEXP): "# noqa", optionally ":" and codes
NOQA_RE = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
SEP_RE = re.compile(r"[,\s]+")


def parse_noqa(line: str) -> frozenset[str] | None:
    """None when the line has no noqa; an empty set for a bare noqa; else the listed codes."""
    if "noqa" not in line.lower():
        return None
    match = NOQA_RE.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    if not codes:
        return frozenset()
    return frozenset(c.upper() for c in SEP_RE.split(codes) if c)


def is_suppressed(code: str, line: str) -> bool:
    codes = parse_noqa(line)
    if codes is None:
        return False
    if not codes:
        return True
    return any(code.startswith(c) for c in codes)


def add_noqa(source: bytes, codes_by_line: dict[int, set[str]]) -> tuple[bytes, int, list[int]]:
    """Add ``# noqa: CODES`` to the given lines, merging with existing noqa comments.

    Returns the new source, the number of lines changed, and the lines that could not take a comment
    (inside a multi-line string, or continued with a backslash). The result is verified to parse.
    """
    import ast
    import io
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return source, 0, sorted(codes_by_line)
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    unsafe_lines: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                unsafe_lines.update(range(tok.start[0], tok.end[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source, 0, sorted(codes_by_line)
    lines = re.split(r"(?<=\n)|(?<=\r)(?!\n)", text)
    changed = 0
    skipped: list[int] = []
    for lineno, codes in sorted(codes_by_line.items()):
        if not (0 < lineno <= len(lines)):
            continue
        raw = lines[lineno - 1]
        body = raw.rstrip("\r\n")
        ending = raw[len(body):]
        if lineno in unsafe_lines or body.rstrip().endswith("\\"):
            skipped.append(lineno)
            continue
        existing = parse_noqa(body)
        if existing is not None and not existing:
            continue  # a bare noqa already silences everything
        wanted = sorted(c for c in codes if not (existing and any(c.startswith(e) for e in existing)))
        if not wanted:
            continue
        match = NOQA_RE.search(body)
        if existing and match is not None:
            merged = ", ".join([*(match.group("codes").replace(",", " ").split()), *wanted])
            body = body[: match.start()] + f"# noqa: {merged}" + body[match.end():]
        else:
            body = body.rstrip() + f"  # noqa: {', '.join(wanted)}"
        lines[lineno - 1] = body + ending
        changed += 1
    new_text = "".join(lines)
    try:
        ast.parse(new_text)
    except SyntaxError:
        return source, 0, sorted(codes_by_line)
    out = new_text.encode(encoding if encoding != "utf-8-sig" else "utf-8")
    if bom or encoding == "utf-8-sig":
        out = b"\xef\xbb\xbf" + out if not out.startswith(b"\xef\xbb\xbf") else out
    return out, changed, skipped
