"""Semgrep test for rmd606-git-apply-unchecked: cases drawn from RMD606's examples."""

# ---- invalid example 0
import subprocess

def apply_patch(repo: str, patch_path: str) -> None:
    # ruleid: rmd606-git-apply-unchecked
    subprocess.run(["git", "apply", "--index", patch_path], cwd=repo, check=True, timeout=120)


# ---- invalid example 1
import shlex
import subprocess

class Applier:
    def apply(self, repo, patch_path):
        cmd = shlex.split(f"git -C {repo} apply --whitespace=fix {patch_path}")
        # ruleid: rmd606-git-apply-unchecked
        return subprocess.call(cmd, timeout=60)


# ---- invalid example 2
import asyncio

async def apply_change(repo, patch_path):
    # ruleid: rmd606-git-apply-unchecked
    proc = await asyncio.create_subprocess_exec("git", "-C", repo, "apply", patch_path)
    return await asyncio.wait_for(proc.wait(), 120)


# ---- invalid example 3
import subprocess

def apply_all(repo, patches):
    for patch in patches:
        command = ["git", "apply", patch]
        # ruleid: rmd606-git-apply-unchecked
        subprocess.run(command, cwd=repo, check=True, timeout=60)
    subprocess.run(["git", "apply", "--check", patches[-1]], cwd=repo, timeout=60)


# ---- invalid example 4
def apply_agent_patch(repo, patch_path):
    # ruleid: rmd606-git-apply-unchecked
    repo.git.apply("--index", patch_path)


# ---- invalid example 5
import shutil
import subprocess

GIT = shutil.which("git") or "/usr/bin/git"

def apply(repo, patch_path):
    # ruleid: rmd606-git-apply-unchecked
    subprocess.run([GIT, "-C", repo, "apply", patch_path], check=True, timeout=60)


# ---- invalid example 6
import os

def apply_batch(patch_file):
    # ruleid: rmd606-git-apply-unchecked
    os.system(f"cd /srv/repo && git apply {patch_file}")


# ---- valid example 0
import subprocess

# ok: rmd606-git-apply-unchecked
APPLY_TIMEOUT = 120

def apply_patch(repo: str, patch_path: str) -> None:
    check = subprocess.run(
        ["git", "-C", repo, "apply", "--check", patch_path],
        capture_output=True, text=True, timeout=APPLY_TIMEOUT,
    )
    if check.returncode != 0:
        raise ValueError(f"patch does not apply: {check.stderr.strip()}")
    subprocess.run(["git", "-C", repo, "apply", "--index", patch_path], check=True, timeout=APPLY_TIMEOUT)


# ---- valid example 1
import subprocess

# ok: rmd606-git-apply-unchecked
def apply_with_conflicts(repo, patch_path):
    return subprocess.run(["git", "apply", "--3way", patch_path], cwd=repo, timeout=60)


# ---- valid example 2
import subprocess

# ok: rmd606-git-apply-unchecked
def diffstat(patch_path):
    return subprocess.run(["git", "apply", "--numstat", patch_path], capture_output=True, timeout=30)


# ---- valid example 3
import os

# ok: rmd606-git-apply-unchecked
def dry_run(patch):
    return os.system(f"git apply --check {patch}") == 0


# ---- valid example 4
import subprocess

# ok: rmd606-git-apply-unchecked
class Applier:
    def _git_apply(self, *args: str, timeout: float):
        return subprocess.run([self.git, "-C", str(self.repo), "apply", *args], timeout=timeout)


# ---- valid example 5
# ok: rmd606-git-apply-unchecked
def apply(func, *args):
    return func(*args)

def run(df):
    return df.apply(len)
