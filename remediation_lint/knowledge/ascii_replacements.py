"""ASCII spellings of the non-ASCII characters that creep into source code (RMD709's fix)."""

ASCII_REPLACEMENTS = {
    "\u2192": "->",   # RIGHTWARDS ARROW
    "\u2190": "<-",   # LEFTWARDS ARROW
    "\u2265": ">=",   # GREATER-THAN OR EQUAL TO
    "\u2264": "<=",   # LESS-THAN OR EQUAL TO
    "\u2260": "!=",   # NOT EQUAL TO
    "\u201c": '"',    # LEFT DOUBLE QUOTATION MARK
    "\u201d": '"',    # RIGHT DOUBLE QUOTATION MARK
    "\u2018": "'",    # LEFT SINGLE QUOTATION MARK
    "\u2019": "'",    # RIGHT SINGLE QUOTATION MARK
    "\u2026": "...",  # HORIZONTAL ELLIPSIS
    "\u2014": "--",   # EM DASH
}

#: lead bytes of multi-byte UTF-8 sequences: a file without any of them is pure ASCII
UTF8_LEAD_BYTES = tuple(bytes([b]) for b in range(0xC2, 0xF5))
