"""Semgrep test for rmd605-greedy-json-regex: cases drawn from RMD605's examples."""

# ---- invalid example 0
import json
import re

def _parse_plan(response_text: str) -> dict:
    # ruleid: rmd605-greedy-json-regex
    match = re.search(r"\{[\s\S]*\}", response_text)
    if not match:
        raise ValueError("no JSON in response")
    return json.loads(match.group())


# ---- invalid example 1
import re

# ruleid: rmd605-greedy-json-regex
_JSON_BLOCK = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)


# ---- invalid example 2
import re as regex

class Decomposer:
    def tasks(self, text):
        # ruleid: rmd605-greedy-json-regex
        found = regex.findall(r"(?s)\[.*\]", text)
        return found[0] if found else "[]"


# ---- invalid example 3
from re import DOTALL, MULTILINE, search

async def ask(client, prompt):
    answer = await client.complete(prompt)
    # ruleid: rmd605-greedy-json-regex
    return search("{.+}", answer, flags=DOTALL | MULTILINE)


# ---- invalid example 4
import re

def tool_args(text):
    # ruleid: rmd605-greedy-json-regex
    return re.match(r"^.*?(\{[\w\W]+\})", text)


# ---- valid example 0
import json
import re

# ok: rmd605-greedy-json-regex
_FENCE = re.compile(r"```(?:json)?\s*|```\s*$", re.MULTILINE)

def extract_json(response_text: str) -> dict:
    cleaned = _FENCE.sub("", response_text).strip()
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError:
        start = cleaned.index("{")
        obj, _ = json.JSONDecoder().raw_decode(cleaned, start)
        return obj


# ---- valid example 1
import re

# ok: rmd605-greedy-json-regex
def first_object(text: str) -> str | None:
    match = re.search(r"\{[\s\S]*?\}", text)
    return match.group(0) if match else None


# ---- valid example 2
import re

# ok: rmd605-greedy-json-regex
def inline_object(line: str):
    return re.search(r"\{.*\}", line)


# ---- valid example 3
import re

# ok: rmd605-greedy-json-regex
PLACEHOLDER = re.compile(r"\{(\w+)\}")
SECTION = re.compile(r"\[[^\]]*\]", re.DOTALL)


# ---- valid example 4
# ok: rmd605-greedy-json-regex
class Finder:
    def search(self, pattern, text):
        return pattern in text

Finder().search(r"\{[\s\S]*\}", "{}")
