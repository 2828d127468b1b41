"""The result cache (ruff's model): a checked file whose content, rule pack and configuration are
unchanged is not parsed again.

An entry is keyed by the file's path and bytes, the rule-pack version, the effective configuration and
the output options. Project-wide analysis records what it read from other files (the modules it asked
the project pass about, or the whole project for import-graph and duplicate rules); the entry stores
those files' hashes and is invalid as soon as one of them changes, so editing a callee re-checks its
callers. Entries are small JSON files under ``.remediation_lint_cache/`` written atomically, so worker
processes and concurrent runs can share the directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from remediation_lint import __version__

DEFAULT_DIR = ".remediation_lint_cache"
ALL_FILES = "*"


def _digest(*parts: bytes | str) -> str:
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


class Cache:
    def __init__(self, directory: Path, salt: str) -> None:
        self.root = Path(directory)
        self.dir = self.root / f"v{__version__}"
        self.salt = salt
        self._hashes: dict[str, str | None] = {}
        self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        ignore = self.root / ".gitignore"
        if not ignore.exists():
            try:
                ignore.write_text("# created by remediation-lint\n*\n")
                (self.root / "CACHEDIR.TAG").write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n# remediation-lint cache directory\n"
                )
            except OSError:
                pass
        self._ready = True

    def key(self, path: str, data: bytes) -> str:
        return _digest(__version__, self.salt, os.path.abspath(path), data)

    def file_hash(self, path: str) -> str | None:
        if path not in self._hashes:
            try:
                self._hashes[path] = _digest(Path(path).read_bytes())
            except OSError:
                self._hashes[path] = None
        return self._hashes[path]

    def project_hash(self, files: Iterable[Path]) -> str:
        names = sorted(str(f) for f in files)
        return _digest(*names, *[self.file_hash(n) or "-" for n in names])

    def _entry_path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str, project_files: Any = None) -> dict[str, Any] | None:
        try:
            entry = json.loads(self._entry_path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        for dep, digest in entry.get("deps", {}).items():
            if dep == ALL_FILES:
                if project_files is None or self.project_hash(project_files()) != digest:
                    return None
            elif self.file_hash(dep) != digest:
                return None
        return entry

    def put(self, key: str, findings: list[dict[str, Any]], deps: dict[str, str]) -> None:
        try:
            self._prepare()
            target = self._entry_path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=str(target.parent), suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"findings": findings, "deps": deps}, handle)
            os.replace(tmp, target)
        except OSError:
            pass  # a cache that cannot be written is only slower


class SummaryCache:
    """Project-pass summaries of modules, keyed by the module's path and bytes, the rule pack's code and
    the summary extras asked for: a module that did not change is not parsed again to summarise it.

    Entries are JSON (never pickle: a cache directory inside a checked-out repository is not trusted
    input), written atomically beside the result cache (``<cache dir>/v<version>/summaries``). The CLI
    and the flake8 plugin share them, so neither repeats the other's project pass.
    """

    def __init__(self, directory: Path | str, salt: str) -> None:
        self._results = Cache(Path(directory), salt)
        self.dir = self._results.dir / "summaries"
        self.salt = salt

    def key(self, path: str, source: bytes, extras: Iterable[str]) -> str:
        return _digest(__version__, self.salt, os.path.abspath(path), ",".join(sorted(extras)), source)

    def get(self, key: str) -> Any:
        from remediation_lint.project import decode_summary

        try:
            data = json.loads((self.dir / key[:2] / f"{key}.json").read_text(encoding="utf-8"))
            return decode_summary(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, summary: Any) -> None:
        from remediation_lint.project import encode_summary

        try:
            self._results._prepare()
            target = self.dir / key[:2] / f"{key}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=str(target.parent), suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(encode_summary(summary), handle, separators=(",", ":"))
            os.replace(tmp, target)
        except (OSError, TypeError, ValueError):
            pass  # a cache that cannot be written is only slower
