"""The pre-commit hooks, run by the real pre-commit against a throwaway repository that points at this
checkout (its committed HEAD, as pre-commit clones it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BAD = "def detect():\n    try:\n        return open('/proc/cpuinfo').read()\n    except:\n        pass\n"


def _git(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def head_sha() -> str:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("this checkout is not a git repository; pre-commit needs one to clone")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if not sha:
        pytest.skip("this checkout has no commit yet")
    return sha


def test_hooks_block_the_commit_and_fix_the_file(tmp_path, head_sha):
    env = dict(os.environ)
    env.update(
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid",
        PRE_COMMIT_COLOR="never",
    )
    env.pop("PYTHONPATH", None)
    repo = tmp_path / "project"
    repo.mkdir()
    _git("init", "-q", cwd=repo, env=env)
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {ROOT}\n"
        f"    rev: {head_sha}\n"
        "    hooks:\n"
        "      - id: remediation-lint-fix\n"
        "      - id: remediation-lint\n"
    )
    (repo / "detect.py").write_text(BAD)
    pre_commit = [sys.executable, "-m", "pre_commit"]
    installed = subprocess.run([*pre_commit, "install"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    _git("add", ".", cwd=repo, env=env)
    commit = _git("commit", "-m", "add detection", cwd=repo, env=env)
    output = commit.stdout + commit.stderr
    assert commit.returncode != 0, output
    assert "remediation-lint" in output
    assert "RMD401" in output  # the silent handler remains: the check hook blocks the commit
    fixed = (repo / "detect.py").read_text()
    assert "except Exception:" in fixed and "except:" not in fixed  # the fix hook rewrote the file
    log = _git("log", "--oneline", cwd=repo, env=env)
    assert log.stdout.strip() == "" or log.returncode != 0  # nothing was committed
