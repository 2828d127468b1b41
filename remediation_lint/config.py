"""Configuration: ``[tool.remediation-lint]`` in ``pyproject.toml`` plus command-line overrides.

Keys (ruff's meanings): ``select``, ``ignore``, ``extend-select``, ``preview``, ``exclude``,
``extend-exclude``, ``per-file-ignores`` and ``[tool.remediation-lint.options.<CODE>]`` tables of per-rule
options. Unknown keys, unknown codes and unknown or mistyped options are errors (exit 2), never silence.

Selection: a code or prefix (``RMD1``, ``RMD101``, ``RMD``, ``ALL``) selects rules. Preview rules run when
preview is on, or when selected by their exact code.
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

if sys.version_info >= (3, 11):  # pragma: no cover - depends on the interpreter
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from remediation_lint.project import DEFAULT_EXCLUDED_DIRS
from remediation_lint.registry import all_rules
from remediation_lint.rule import Default, Rule

SECTION = "remediation-lint"
KNOWN_KEYS = {
    "select", "ignore", "extend-select", "extend-ignore", "preview", "exclude", "extend-exclude",
    "per-file-ignores", "options",
}


class ConfigError(Exception):
    """A configuration problem the user must fix; the CLI prints it and exits 2."""


@dataclass
class Config:
    select: list[str] = field(default_factory=lambda: ["RMD"])
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    preview: bool = False
    exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    #: code -> option name (underscored) -> value
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: Path | None = None
    #: directory the config's relative patterns are anchored to
    root: Path = field(default_factory=Path.cwd)

    # -- selection -----------------------------------------------------------------------------------
    def enabled_rules(self) -> list[type[Rule]]:
        rules = all_rules()
        chosen = []
        selectors = [*self.select, *self.extend_select]
        for rule in rules.values():
            if not _matches(rule.code, selectors):
                continue
            if _specificity(rule.code, self.ignore) >= max(1, _specificity(rule.code, selectors)) and _matches(
                rule.code, self.ignore
            ):
                continue
            if rule.default is Default.PREVIEW and not self.preview and rule.code not in selectors:
                continue
            chosen.append(rule)
        return chosen

    def ignored_for(self, path: str) -> list[str]:
        out: list[str] = []
        rel = _relative(path, self.root)
        for pattern, codes in self.per_file_ignores.items():
            if _glob_match(rel, pattern):
                out.extend(codes)
        return out

    def is_excluded(self, path: Path) -> bool:
        rel = _relative(str(path), self.root)
        name = path.name
        for pattern in self.exclude:
            if _glob_match(rel, pattern) or fnmatch.fnmatch(name, pattern):
                return True
        return False

    def rule_options(self, code: str) -> dict[str, Any]:
        return self.options.get(code, {})

    def fingerprint(self) -> str:
        """A stable text of the effective configuration (for the cache key)."""
        import json

        return json.dumps(
            {
                "select": self.select, "ignore": self.ignore, "extend": self.extend_select, "preview": self.preview,
                "pfi": self.per_file_ignores, "options": self.options,
            },
            sort_keys=True,
            default=str,
        )


def _relative(path: str, root: Path) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return p.as_posix()


def _glob_match(rel: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, pattern + "/*"):
        return True
    parts = rel.split("/")
    # a pattern without a slash matches any path component (like .gitignore)
    if "/" not in pattern:
        return any(fnmatch.fnmatch(part, pattern) for part in parts)
    return False


def _matches(code: str, selectors: Iterable[str]) -> bool:
    return any(sel == "ALL" or code.startswith(sel) for sel in selectors)


def _specificity(code: str, selectors: Iterable[str]) -> int:
    best = 0
    for sel in selectors:
        if sel == "ALL":
            best = max(best, 1)
        elif code.startswith(sel):
            best = max(best, len(sel))
    return best


def semgrep_only_codes() -> list[str]:
    """Codes of the bundled Semgrep rules that have no LibCST twin (front end, Rust): RMD-TS-..., RMD-RS-..."""
    try:
        from remediation_lint.semgrep_adapter import rules_dir

        root = rules_dir()
    except Exception:  # the pack is optional data; without it there are no such codes
        return []
    return sorted({p.stem.upper() for p in root.rglob("rmd-*.yaml")})


def validate_codes(codes: Sequence[str], where: str) -> list[str]:
    known = list(all_rules())
    out = []
    for raw in codes:
        code = raw.strip().upper()
        if not code:
            continue
        if code.startswith("RMD-"):
            known = known + semgrep_only_codes()
        if code == "ALL" or code == "RMD000" or any(k.startswith(code) for k in known):
            out.append(code)
        else:
            raise ConfigError(f"{where}: unknown rule code or prefix {raw!r} (see `remediation-lint --list-rules`)")
    return out


def _as_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [v for v in (part.strip() for part in value.split(",")) if v]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: expected a list of strings, got {value!r}")


def find_config(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.remediation-lint]`` table, searching upwards."""
    start = start.resolve()
    if start.is_file():
        start = start.parent
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if SECTION in data.get("tool", {}):
                return candidate
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get(SECTION)
        if table is None:
            return Config(source=path, root=path.parent)
    else:
        # a dedicated file may hold the table at top level or under [tool.remediation-lint]
        table = data.get("tool", {}).get(SECTION, data)
    return config_from_table(table, path)


def config_from_table(table: Mapping[str, Any], path: Path | None) -> Config:
    where = str(path) if path else "config"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: [tool.{SECTION}] must be a table")
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) in [tool.{SECTION}]: {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})"
        )
    cfg = Config(source=path, root=path.parent if path else Path.cwd())
    if "select" in table:
        cfg.select = validate_codes(_as_list(table["select"], f"{where}: select"), f"{where}: select")
    cfg.extend_select = validate_codes(_as_list(table.get("extend-select", []), where), f"{where}: extend-select")
    cfg.ignore = validate_codes(
        _as_list(table.get("ignore", []), where) + _as_list(table.get("extend-ignore", []), where), f"{where}: ignore"
    )
    preview = table.get("preview", False)
    if not isinstance(preview, bool):
        raise ConfigError(f"{where}: preview must be true or false, got {preview!r}")
    cfg.preview = preview
    cfg.exclude = _as_list(table.get("exclude", []), f"{where}: exclude") + _as_list(
        table.get("extend-exclude", []), f"{where}: extend-exclude"
    )
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, Mapping):
        raise ConfigError(f"{where}: per-file-ignores must be a table of pattern = [codes]")
    cfg.per_file_ignores = {
        str(pattern): validate_codes(_as_list(codes, f"{where}: per-file-ignores"), f"{where}: per-file-ignores.{pattern}")
        for pattern, codes in pfi.items()
    }
    cfg.options = parse_options(table.get("options", {}), where)
    return cfg


def parse_options(raw: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: options must be a table of rule codes")
    rules = all_rules()
    by_name = {r.name: r for r in rules.values()}
    out: dict[str, dict[str, Any]] = {}
    for key, values in raw.items():
        rule = rules.get(str(key).upper()) or by_name.get(str(key))
        if rule is None:
            raise ConfigError(f"{where}: options for unknown rule {key!r}")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{where}: options.{key} must be a table")
        parsed: dict[str, Any] = {}
        for opt, value in values.items():
            name = str(opt).replace("-", "_")
            if name not in rule.options:
                known = ", ".join(o.replace("_", "-") for o in rule.options) or "none"
                raise ConfigError(f"{where}: {rule.code} has no option {opt!r} (known: {known})")
            default = rule.options[name]
            parsed[name] = _coerce(value, default, f"{where}: options.{key}.{opt}")
        out[rule.code] = parsed
    return out


def _coerce(value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if isinstance(default, (list, tuple, frozenset, set)):
        items = _as_list(value, where)
        return type(default)(items) if not isinstance(default, tuple) else tuple(items)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


EXCLUDED_DIRS = DEFAULT_EXCLUDED_DIRS


@dataclass
class Overrides:
    """Command-line settings applied on top of every configuration file."""

    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    preview: bool = False

    def apply(self, cfg: Config) -> Config:
        """Layer the command line over a file's settings, as ruff does: ``--select`` starts the
        selection afresh (the file's select, extend-select and ignore no longer apply)."""
        from dataclasses import replace

        if self.select is not None:
            return replace(
                cfg, select=list(self.select), extend_select=list(self.extend_select), ignore=list(self.ignore),
                preview=cfg.preview or self.preview,
            )
        return replace(
            cfg,
            select=list(self.select) if self.select is not None else list(cfg.select),
            extend_select=[*cfg.extend_select, *self.extend_select],
            ignore=[*cfg.ignore, *self.ignore],
            preview=cfg.preview or self.preview,
        )


class ConfigResolver:
    """Which configuration applies to a file: ruff's model.

    With ``--config`` or ``--isolated`` one configuration applies everywhere. Otherwise each file gets
    the nearest ``pyproject.toml`` with a ``[tool.remediation-lint]`` table above it, falling back to the
    one found from the working directory, then to the defaults. Command-line overrides apply on top.
    """

    def __init__(self, overrides: Overrides, fixed: Config | None = None) -> None:
        self.overrides = overrides
        self._fixed = overrides.apply(fixed) if fixed is not None else None
        self._by_file: dict[Path | None, Config] = {}
        self._by_dir: dict[Path, Path | None] = {}
        self._fallback: Path | None | bool = False

    def _nearest(self, directory: Path) -> Path | None:
        if directory in self._by_dir:
            return self._by_dir[directory]
        found = find_config(directory)
        self._by_dir[directory] = found
        return found

    def for_path(self, path: Path) -> Config:
        if self._fixed is not None:
            return self._fixed
        p = Path(path).absolute()
        directory = p if p.is_dir() else p.parent
        source = self._nearest(directory)
        if source is None:
            if self._fallback is False:
                self._fallback = find_config(Path.cwd())
            source = self._fallback  # type: ignore[assignment]
        cfg = self._by_file.get(source)
        if cfg is None:
            cfg = self._by_file[source] = self.overrides.apply(load_config(source))
        return cfg

    def configs(self) -> list[Config]:
        """Every configuration resolved so far (to validate them up front)."""
        return [self._fixed] if self._fixed is not None else list(self._by_file.values())
