"""flake8 plugin: ``flake8 --select RMD`` reports what the CLI reports, from the same engine.

flake8 hands the plugin the file's lines and its ``ast`` tree; the plugin runs every rule that is on
(``--rmd-preview`` adds the preview rules) on that tree where the rule has an ``ast`` checker, and parses
with LibCST only for the others. flake8 itself applies ``--select``/``--ignore``,
``per-file-ignores`` and ``# noqa``. Rule options come from ``[tool.remediation-lint]`` in the nearest
``pyproject.toml``. Project-wide rules index the project whose root (the nearest directory holding
``pyproject.toml``, ``setup.py``, ``setup.cfg`` or ``.git``, or ``--rmd-project-root``) contains the
file; fixes are the CLI's job.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any, Iterator

from remediation_lint import __version__
from remediation_lint.project import ProjectSet

_STATE: dict[str, Any] = {"preview": False, "project_root": None, "linters": {}, "projects": None, "cache_dir": None}


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
            help="remediation-lint: where project summaries are kept between runs (shared with the CLI)",
        )
        manager.add_option(
            "--rmd-no-cache",
            action="store_true",
            parse_from_config=True,
            default=False,
            help="remediation-lint: neither read nor write the summary cache",
        )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        _STATE["preview"] = bool(getattr(options, "rmd_preview", False))
        _STATE["project_root"] = getattr(options, "rmd_project_root", None)
        _STATE["cache_dir"] = None if getattr(options, "rmd_no_cache", False) else getattr(options, "rmd_cache_dir", None)
        _STATE["linters"] = {}
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
        linter = _linter_for(self.filename)
        # flake8's tree is the standard parser's tree of these very lines: the fast path uses it as is
        tree = self.tree if isinstance(self.tree, ast.Module) and self.lines else None
        result = linter.check(source, self.filename, tree=tree)
        for finding in sorted(result.findings, key=lambda f: f.sort_key()):
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)


def _linter_for(filename: str) -> Any:
    from remediation_lint.config import Config, ConfigError, find_config, load_config
    from remediation_lint.engine import Linter

    path = Path(filename) if filename not in ("stdin", "-") else Path.cwd() / "stdin.py"
    config_dir = path.resolve().parent if path.exists() else Path.cwd()
    key = str(config_dir)
    linter = _STATE["linters"].get(key)
    if linter is None:
        try:
            config = load_config(find_config(path.resolve().parent if path.exists() else Path.cwd()))
        except ConfigError:
            config = Config()
        # flake8 does selection, ignores and per-file-ignores itself
        config = Config(
            select=["RMD"], preview=_STATE["preview"], options=config.options, source=config.source, root=config.root
        )
        projects = _STATE.get("projects")
        if projects is None:
            from remediation_lint.engine import _summary_cache

            root_opt = _STATE["project_root"]
            projects = _STATE["projects"] = ProjectSet(Path(root_opt) if root_opt else None)
            projects.summary_cache = _summary_cache(_STATE.get("cache_dir"))
        linter = _STATE["linters"][key] = Linter(config, projects)
    return linter


def _prebuild(options: Any) -> None:
    """Summarise the checked projects once, spread over flake8's job count, before flake8 forks its
    workers (they inherit the summaries). Without it every worker summarises the whole project for itself
    the first time a project-wide rule asks."""
    import multiprocessing

    from remediation_lint.config import Config
    from remediation_lint.engine import MAX_FILE_BYTES, _prebuild_projects, discover

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
    items = [(path, path, False, False, 0) for path in files]
    root_opt = _STATE["project_root"]
    _STATE["projects"] = _prebuild_projects(
        items, [config], jobs, multiprocessing.get_context("fork"), None, False, MAX_FILE_BYTES["bytes"],
        projects=ProjectSet(Path(root_opt)) if root_opt else None, summary_cache_dir=_STATE.get("cache_dir"),
    )
