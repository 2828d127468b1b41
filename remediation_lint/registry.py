"""Finds every rule: each module under ``remediation_lint.rules`` that defines a ``Rule`` subclass."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from remediation_lint.rule import Rule


@lru_cache(maxsize=1)
def _load() -> dict[str, type[Rule]]:
    import remediation_lint.rules as package

    found: dict[str, type[Rule]] = {}
    for info in sorted(pkgutil.walk_packages(package.__path__, package.__name__ + "."), key=lambda i: i.name):
        if info.ispkg:
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module.__name__:
                code = getattr(value, "code", None)
                if not code:
                    continue
                if code in found:
                    raise RuntimeError(f"duplicate rule code {code}: {found[code].__module__} and {module.__name__}")
                found[code] = value
    return dict(sorted(found.items()))


def all_rules() -> dict[str, type[Rule]]:
    """Every registered rule by code, in code order."""
    return _load()


def get_rule(code: str) -> type[Rule] | None:
    return _load().get(code.upper())
