"""The result cache: warm runs reuse results, and every kind of change invalidates what it must."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

PICKLE = "import pickle\n\n\ndef handle(sock):\n    return pickle.loads(sock.recv())\n"
SERVER_SYNC = "class Server:\n    def start(self):\n        return None\n"
SERVER_ASYNC = "class Server:\n    async def start(self):\n        return None\n"
APP = (
    "import asyncio\n\nfrom pkg.server import Server\n\n\n"
    "class App:\n    def __init__(self):\n        self.server = Server()\n\n"
    "    async def run(self):\n        asyncio.create_task(self.server.start())\n"
)


def lint(cwd: Path, *extra: str) -> list[tuple[str, int, str]]:
    proc = run_cli("--format", "json", "-j", "1", *extra, ".", cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return [(d["path"], d["line"], d["code"]) for d in json.loads(proc.stdout)]


def entries(cwd: Path) -> int:
    """Result entries (project summaries, kept beside them, are counted by their own tests)."""
    return len([p for p in (cwd / ".remediation_lint_cache").rglob("*.json") if "summaries" not in p.parts])


def test_warm_run_reuses_and_edit_invalidates(tmp_path):
    (tmp_path / "a.py").write_text(PICKLE)
    (tmp_path / "b.py").write_text("x = 1\n")
    cold = lint(tmp_path)
    assert cold == [("a.py", 5, "RMD101")]
    assert entries(tmp_path) == 2
    assert (tmp_path / ".remediation_lint_cache" / ".gitignore").exists()
    # warm: same answer; make the cached entry the only possible source by corrupting nothing and
    # checking the entry count did not grow
    assert lint(tmp_path) == cold
    assert entries(tmp_path) == 2
    (tmp_path / "a.py").write_text("import json\n\n\ndef handle(sock):\n    return json.loads(sock.recv())\n")
    assert lint(tmp_path) == []
    assert entries(tmp_path) == 3


def test_cached_results_are_what_is_served(tmp_path):
    (tmp_path / "a.py").write_text(PICKLE)
    lint(tmp_path)
    # tamper with the stored entry: a warm run must serve it, proving the cache is really read
    entry = next(p for p in (tmp_path / ".remediation_lint_cache").rglob("*.json") if "summaries" not in p.parts)
    data = json.loads(entry.read_text())
    data["findings"][0]["message"] = "from the cache"
    entry.write_text(json.dumps(data))
    proc = run_cli("--format", "json", "-j", "1", ".", cwd=tmp_path)
    assert json.loads(proc.stdout)[0]["message"] == "from the cache"
    proc = run_cli("--format", "json", "-j", "1", "--no-cache", ".", cwd=tmp_path)
    assert json.loads(proc.stdout)[0]["message"] != "from the cache"


def test_changed_config_invalidates(tmp_path):
    (tmp_path / "a.py").write_text(PICKLE)
    (tmp_path / "pyproject.toml").write_text("[tool.remediation-lint]\nselect = [\"RMD1\"]\n")
    assert lint(tmp_path) == [("a.py", 5, "RMD101")]
    (tmp_path / "pyproject.toml").write_text("[tool.remediation-lint]\nignore = [\"RMD101\"]\n")
    assert lint(tmp_path) == []
    assert lint(tmp_path, "--select", "RMD101") == [("a.py", 5, "RMD101")]


def test_changed_dependency_module_rechecks_its_callers(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "server.py").write_text(SERVER_SYNC)
    (pkg / "app.py").write_text(APP)
    assert ("pkg/app.py", 11, "RMD201") in lint(tmp_path)
    assert ("pkg/app.py", 11, "RMD201") in lint(tmp_path)  # warm
    (pkg / "server.py").write_text(SERVER_ASYNC)  # only the callee changes
    assert ("pkg/app.py", 11, "RMD201") not in lint(tmp_path)
    (pkg / "server.py").write_text(SERVER_SYNC)
    assert ("pkg/app.py", 11, "RMD201") in lint(tmp_path)


def test_cache_dir_option_and_fix_bypass(tmp_path):
    (tmp_path / "a.py").write_text(PICKLE)
    lint(tmp_path, "--cache-dir", "custom")
    assert (tmp_path / "custom").is_dir() and not (tmp_path / ".remediation_lint_cache").exists()
    lint(tmp_path, "--no-cache")
    assert not (tmp_path / ".remediation_lint_cache").exists()


# -- the summary cache --------------------------------------------------------------------------------
def _summaries(tmp_path: Path, extras=("body_keys", "class_facts")):
    import remediation_lint.analysis.class_attributes  # noqa: F401  (registers its extra)
    import remediation_lint.analysis.duplicates  # noqa: F401
    from remediation_lint.cache import SummaryCache
    from remediation_lint.project import ProjectSet

    projects = ProjectSet()
    projects.extras.update(extras)
    projects.summary_cache = SummaryCache(tmp_path / ".remediation_lint_cache", "salt")
    return projects


def test_summaries_are_reused_from_the_cache_and_redone_when_the_module_changes(tmp_path, monkeypatch):
    import remediation_lint.project as project

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "server.py").write_text(SERVER_ASYNC + "\n\nclass Base:\n    def __init__(self):\n        self.x = 1\n")
    first = _summaries(tmp_path).index_for(tmp_path / "server.py").module_for_path(tmp_path / "server.py")
    assert first is not None and first.summary.classes["Server"].methods["start"].is_async
    stored = list((tmp_path / ".remediation_lint_cache").rglob("summaries/*/*.json"))
    assert len(stored) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("summarised again although the module did not change")

    monkeypatch.setattr(project, "summarize_source", refuse)
    again = _summaries(tmp_path).index_for(tmp_path / "server.py").module_for_path(tmp_path / "server.py")
    assert project.encode_summary(again.summary) == project.encode_summary(first.summary)
    assert again.summary.classes["Server"].methods["start"].module is again.summary  # links restored
    assert again.summary.tree is not None  # the tree can still be had (from the bytes at hand)
    (tmp_path / "server.py").write_text(SERVER_SYNC)
    with __import__("pytest").raises(AssertionError, match="summarised again"):
        _summaries(tmp_path).index_for(tmp_path / "server.py").module_for_path(tmp_path / "server.py")


def test_a_tampered_summary_entry_is_ignored_not_executed(tmp_path):
    from remediation_lint.project import decode_summary

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    _summaries(tmp_path).index_for(tmp_path / "m.py").module_for_path(tmp_path / "m.py")
    (entry,) = list((tmp_path / ".remediation_lint_cache").rglob("summaries/*/*.json"))
    entry.write_text(json.dumps({"c": "Popen", "v": {"args": ["touch", str(tmp_path / "pwned")]}}))
    with __import__("pytest").raises(KeyError):
        decode_summary(json.loads(entry.read_text()))
    ref = _summaries(tmp_path).index_for(tmp_path / "m.py").module_for_path(tmp_path / "m.py")
    assert ref is not None and "f" in ref.summary.functions  # summarised afresh
    assert not (tmp_path / "pwned").exists()


def test_cli_and_flake8_plugin_share_summaries(tmp_path):
    import subprocess
    import sys

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "a.py").write_text(PICKLE)
    (tmp_path / "b.py").write_text("import a\n")
    lint(tmp_path, "--preview")
    stored = {p.name: p.stat().st_mtime_ns for p in (tmp_path / ".remediation_lint_cache").rglob("summaries/*/*.json")}
    assert len(stored) == 2
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "RMD", "--rmd-preview", "a.py", "b.py"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert "RMD101" in proc.stdout, proc.stdout + proc.stderr
    # the plugin read the CLI's summaries: nothing new, nothing rewritten
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / ".remediation_lint_cache").rglob("summaries/*/*.json")} == stored


# -- the flake8 plugin's result cache ------------------------------------------------------------------
def flake8(cwd: Path, *args: str) -> list[str]:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "RMD", "--rmd-preview", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout.splitlines()


def test_flake8_plugin_serves_cached_results_and_edits_invalidate(tmp_path):
    (tmp_path / "a.py").write_text(PICKLE)
    cold = flake8(tmp_path, "a.py")
    assert len(cold) == 1 and cold[0].startswith("a.py:5:12: RMD101 ")
    stored = [p for p in (tmp_path / ".remediation_lint_cache").rglob("*.json") if "summaries" not in p.parts]
    assert len(stored) == 1
    data = json.loads(stored[0].read_text())
    data["findings"][0]["message"] = "from the cache"
    stored[0].write_text(json.dumps(data))
    assert flake8(tmp_path, "a.py") == ["a.py:5:12: RMD101 from the cache"]  # the entry is really read
    assert flake8(tmp_path, "--rmd-no-cache", "a.py") == cold
    (tmp_path / "a.py").write_text("import json\n\n\ndef handle(sock):\n    return json.loads(sock.recv())\n")
    assert flake8(tmp_path, "a.py") == []
    (tmp_path / "a.py").write_text(PICKLE)
    assert flake8(tmp_path, "a.py") == ["a.py:5:12: RMD101 from the cache"]  # same bytes, same entry


def test_flake8_plugin_changed_rule_options_invalidate(tmp_path):
    (tmp_path / "a.py").write_text("import subprocess\n\n\ndef status():\n    return subprocess.run(['git', 'status'], check=True)\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")

    def codes(*args: str) -> set[str]:
        return {line.split()[1] for line in flake8(tmp_path, *args, "a.py")}

    assert "RMD103" in codes()
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n[tool.remediation-lint.options.RMD103]\nallowed-programs = ['git']\n"
    )
    assert "RMD103" not in codes()
    assert "RMD103" not in codes("--rmd-cache-dir", "other")
    assert (tmp_path / "other").is_dir()


def test_flake8_plugin_changed_dependency_module_rechecks_its_callers(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "server.py").write_text(SERVER_SYNC)
    (pkg / "app.py").write_text(APP)

    def rmd201(*args: str) -> bool:
        return any(line.startswith("pkg/app.py:11:") and " RMD201 " in line for line in flake8(tmp_path, *args, "pkg"))

    for jobs in ("1", "2"):
        assert rmd201("-j", jobs)
        assert rmd201("-j", jobs)  # warm
        (pkg / "server.py").write_text(SERVER_ASYNC)  # only the callee changes
        assert not rmd201("-j", jobs)
        (pkg / "server.py").write_text(SERVER_SYNC)


def test_flake8_plugin_warm_parallel_run_matches_a_cold_one(tmp_path):
    """Several modules with project-wide findings (an import cycle, a duplicated body): a warm ``-j 2``
    run, whose prebuild is skipped, reports what an uncached run reports."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    body = "    total = 0\n    for item in items:\n        if item.ready:\n            total += item.size\n    return total\n"
    (tmp_path / "a.py").write_text("import b\n\n\ndef size_of(items):\n" + body)
    (tmp_path / "b.py").write_text("import a\n\n\ndef ready_size(items):\n" + body)
    for n in range(6):
        (tmp_path / f"m{n}.py").write_text(PICKLE)
    uncached = sorted(flake8(tmp_path, "-j", "2", "--rmd-no-cache", "."))
    assert {line.split()[1] for line in uncached} >= {"RMD101", "RMD703"}
    assert sorted(flake8(tmp_path, "-j", "2", ".")) == uncached  # cold, filling the cache
    assert sorted(flake8(tmp_path, "-j", "2", ".")) == uncached  # warm


def test_an_index_made_before_the_summary_cache_is_set_still_uses_it(tmp_path):
    from remediation_lint.cache import SummaryCache
    from remediation_lint.project import ProjectSet

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "server.py").write_text(SERVER_SYNC)
    projects = ProjectSet()
    index = projects.index_for(tmp_path / "server.py")  # e.g. to list the project's files
    projects.summary_cache = SummaryCache(tmp_path / ".remediation_lint_cache", "salt")
    assert index.summary_cache is projects.summary_cache
    index.module_for_path(tmp_path / "server.py")
    assert len(list((tmp_path / ".remediation_lint_cache").rglob("summaries/*/*.json"))) == 1


def test_flake8_parallel_workers_read_summaries_from_the_cache(tmp_path):
    """A -j 2 run re-checking one edited module takes the other modules' summaries from the cache: a
    tampered callee summary (``start`` made async) is what decides RMD201 in the caller."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "server.py").write_text(SERVER_SYNC)
    (pkg / "app.py").write_text(APP)
    for n in range(18):  # enough modules for the parallel project pass
        (pkg / f"m{n:02d}.py").write_text(f"from pkg import server\n\nVALUE = {n}\n")  # import-graph rules read the whole project

    def rmd201() -> bool:
        return any(line.startswith("pkg/app.py:11:") and " RMD201 " in line for line in flake8(tmp_path, "-j", "2", "pkg"))

    assert rmd201()
    tampered = 0
    for entry in (tmp_path / ".remediation_lint_cache").rglob("summaries/*/*.json"):
        text = entry.read_text()
        if '"Server"' in text and '"is_async":false' in text:
            entry.write_text(text.replace('"is_async":false', '"is_async":true'))
            tampered += 1
    assert tampered
    (pkg / "app.py").write_text(APP + "# edited\n")
    assert not rmd201()
