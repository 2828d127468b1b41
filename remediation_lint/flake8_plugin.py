"""flake8 plugin: ``flake8 --select RMD`` reports what the CLI reports, from the same engine.

flake8 hands the plugin the file's lines and its ``ast`` tree; the plugin runs every rule that is on
(``--rmd-preview`` adds the preview rules) on that tree where the rule has an ``ast`` checker, and parses
with LibCST only for the others. flake8 itself applies ``--select``/``--ignore``,
``per-file-ignores`` and ``# noqa``. Rule options come from ``[tool.remediation-lint]`` in the nearest
``pyproject.toml``. Project-wide rules index the project whose root (the nearest directory holding
``pyproject.toml``, ``setup.py``, ``setup.cfg`` or ``.git``, or ``--rmd-project-root``) contains the
file; fixes are the CLI's job.

Results are cached like the CLI's (``--rmd-cache-dir``, default ``.remediation_lint_cache``; off with
``--rmd-no-cache``): keyed by the file's text, the rule pack and the configuration, and invalid as soon as
a file the project-wide analysis read changes. A warm run checks nothing that did not change.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any, Iterator

from remediation_lint import __version__
from remediation_lint.project import ProjectSet

_STATE: dict[str, Any] = {
    "preview": False, "project_root": None, "linters": {}, "configs": {}, "projects": None, "cache_dir": None,
}


class RemediationLintPlugin:
    name = "remediation-lint"
    version = __version__

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        self.tree = tree
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, manager: Any) -> None:
        manager.add_option(
            "--rmd-preview",
            action="store_true",
            parse_from_config=True,
            default=False,
            help="remediation-lint: also run the rules that are still in preview",
        )
        manager.add_option(
            "--rmd-project-root",
            parse_from_config=True,
            default=None,
            help="remediation-lint: the project root for cross-module rules (default: found from each file)",
        )

        manager.add_option(
            "--rmd-cache-dir",
            parse_from_config=True,
            default=os.environ.get("REMEDIATION_LINT_CACHE_DIR", ".remediation_lint_cache"),
            help="remediation-lint: where results and project summaries are kept between runs (shared with the CLI)",
        )
        manager.add_option(
            "--rmd-no-cache",
            action="store_true",
            parse_from_config=True,
            default=False,
            help="remediation-lint: neither read nor write the cache",
        )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        _STATE["preview"] = bool(getattr(options, "rmd_preview", False))
        _STATE["project_root"] = getattr(options, "rmd_project_root", None)
        _STATE["cache_dir"] = None if getattr(options, "rmd_no_cache", False) else getattr(options, "rmd_cache_dir", None)
        _STATE["linters"] = {}
        _STATE["configs"] = {}
        _STATE["projects"] = None
        try:
            _prebuild(options)
        except Exception:  # only an optimisation: the workers summarise for themselves
            _STATE["projects"] = None

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        source = "".join(self.lines)
        if not source and self.filename not in ("stdin", "-"):
            try:
                source = Path(self.filename).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return
        linter, cache = _linter_for(self.filename)
        findings = None
        if cache is not None:
            from remediation_lint.engine import cached_findings

            data = _key_bytes(source)
            findings = cached_findings(cache, linter, self.filename, data)
        if findings is None:
            # flake8's tree is the standard parser's tree of these very lines: the fast path uses it as is
            tree = self.tree if isinstance(self.tree, ast.Module) and self.lines else None
            result = linter.check(source, self.filename, tree=tree)
            findings = result.findings
            if cache is not None and not result.parse_error:
                from remediation_lint.engine import store_findings

                store_findings(cache, linter, self.filename, Path(self.filename), data, result)
        for finding in sorted(findings, key=lambda f: f.sort_key()):
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)


def _key_bytes(text: str) -> bytes:
    """The bytes a result is cached under: the text flake8 hands over (decoded, no BOM), as UTF-8."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.encode("utf-8", "surrogateescape")


def _disk_key_bytes(path: str) -> bytes | None:
    """``_key_bytes`` of a file as flake8 will read it (its declared encoding), for sampling the cache."""
    import tokenize

    try:
        with open(path, "rb") as handle:
            encoding, _ = tokenize.detect_encoding(handle.readline)
            handle.seek(0)
            return _key_bytes(handle.read().decode(encoding))
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
        return None


def _config_for(filename: str) -> Any:
    """The configuration the plugin checks ``filename`` with: rule options from the nearest
    ``pyproject.toml``; selection, ignores and per-file ignores are flake8's. One per directory."""
    from remediation_lint.config import Config, ConfigError, find_config, load_config

    path = Path(filename) if filename not in ("stdin", "-") else Path.cwd() / "stdin.py"
    config_dir = path.resolve().parent if path.exists() else Path.cwd()
    key = str(config_dir)
    config = _STATE["configs"].get(key)
    if config is None:
        try:
            found = load_config(find_config(config_dir))
        except ConfigError:
            found = Config()
        config = _STATE["configs"][key] = Config(
            select=["RMD"], preview=_STATE["preview"], options=found.options, source=found.source, root=found.root
        )
    return config


def _linter_for(filename: str) -> tuple[Any, Any]:
    """The linter for ``filename``'s configuration and its result cache (None when caching is off)."""
    from remediation_lint.engine import Linter, _cache_for, _summary_cache

    config = _config_for(filename)
    entry = _STATE["linters"].get(id(config))
    if entry is None:
        projects = _STATE.get("projects")
        if projects is None:
            root_opt = _STATE["project_root"]
            projects = _STATE["projects"] = ProjectSet(Path(root_opt) if root_opt else None)
            projects.summary_cache = _summary_cache(_STATE.get("cache_dir"))
        cache_dir = _STATE.get("cache_dir")
        cache = _cache_for(config, False, cache_dir) if cache_dir else None
        entry = _STATE["linters"][id(config)] = (Linter(config, projects), cache)
    return entry


def _prebuild(options: Any) -> None:
    """Summarise the checked projects once, spread over flake8's job count, before flake8 forks its
    workers (they inherit the summaries). Without it every worker summarises the whole project for itself
    the first time a project-wide rule asks. Skipped when a sample of the files has cached results (a
    warm run hardly needs summaries)."""
    import multiprocessing

    from remediation_lint.config import Config
    from remediation_lint.engine import MAX_FILE_BYTES, _prebuild_projects, _summary_cache, discover

    jobs_opt = getattr(options, "jobs", None)
    if jobs_opt is None or getattr(jobs_opt, "is_auto", False):
        jobs = os.cpu_count() or 1
    else:
        jobs = int(getattr(jobs_opt, "n_jobs", jobs_opt) or 1)
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return
    config = Config(select=["RMD"], preview=_STATE["preview"])
    if not any(rule.needs_project for rule in config.enabled_rules()):
        return
    paths = list(getattr(options, "filenames", None) or ["."])
    files = [d.path for d in discover([p for p in paths if p not in ("-", "stdin")], config)]
    if len(files) < 2:
        return
    root_opt = _STATE["project_root"]
    projects = ProjectSet(Path(root_opt) if root_opt else None)
    projects.summary_cache = _summary_cache(_STATE.get("cache_dir"))
    _freeze_in_workers()
    if _results_cached(files, projects):
        _STATE["projects"] = projects  # the workers share its file lists (the dependency hashes need them)
        return
    items = [(path, path, False, False, 0) for path in files]
    _STATE["projects"] = _prebuild_projects(
        items, [config], jobs, multiprocessing.get_context("fork"), None, False, MAX_FILE_BYTES["bytes"],
        projects=projects, summary_cache_dir=_STATE.get("cache_dir"),
    )


def _results_cached(files: list[str], projects: ProjectSet) -> bool:
    """Whether a sample of the files (up to 8, spread over the run) all have valid cached results."""
    if not _STATE.get("cache_dir"):
        return False
    from remediation_lint.engine import _cache_for, sample_of

    for path in sample_of(files):
        data = _disk_key_bytes(path)
        if data is None:
            return False
        cache = _cache_for(_config_for(path), False, _STATE["cache_dir"])
        if cache.get(cache.key(path, data), lambda p=path: projects.index_for(p).files()) is None:
            return False
    return True


_AT_FORK = {"registered": False}


def _freeze_in_workers() -> None:
    """flake8 forks its workers after ``parse_options``: each one inherits the prebuilt summaries and
    should not walk them in every full garbage collection (``engine.freeze_inherited``). flake8 offers
    no worker hook, so this runs at fork, in the child only; the parent process is left as it is."""
    if _AT_FORK["registered"] or not hasattr(os, "register_at_fork"):
        return
    from remediation_lint.engine import freeze_inherited

    os.register_at_fork(after_in_child=freeze_inherited)
    _AT_FORK["registered"] = True
