# ---- INVALID example 0 ----
import subprocess

class Worker:
    def run_checks(self, request: dict) -> bool:
        for command in request.get("checks", []):
            # ruleid: rmd114-shell-command-from-data
            result = subprocess.run(command, shell=True, capture_output=True, timeout=600)
            if result.returncode != 0:
                return False
        return True


# ---- INVALID example 1 ----
import os

def notify(user: str, message: str) -> None:
    # ruleid: rmd114-shell-command-from-data
    os.system(f"notify-send {user} '{message}'")


# ---- INVALID example 2 ----
import asyncio

async def run_hook(config: dict):
    # ruleid: rmd114-shell-command-from-data
    process = await asyncio.create_subprocess_shell(config["post_apply_hook"])
    return await process.wait()


# ---- INVALID example 3 ----
from subprocess import check_output

def grep(pattern, path):
    # ruleid: rmd114-shell-command-from-data
    return check_output("grep -rn " + pattern + " " + path, shell=True, text=True)


# ---- INVALID example 4 ----
import os as system_os

def disk_usage(directory):
    # ruleid: rmd114-shell-command-from-data
    with system_os.popen("du -sh {}".format(directory)) as pipe:
        return pipe.read()


# ---- VALID example 0 ----
# ok: rmd114-shell-command-from-data
import shlex
import subprocess

ALLOWED_CHECKS = {"pytest", "ruff", "mypy"}

def run_check(command: str, cwd: str) -> int:
    argv = shlex.split(command)
    if not argv or argv[0] not in ALLOWED_CHECKS:
        raise ValueError(f"check not allowed: {command!r}")
    return subprocess.run(argv, cwd=cwd, timeout=600, check=False).returncode


# ---- VALID example 1 ----
# ok: rmd114-shell-command-from-data
import os
import subprocess

CLEAN = "git clean -fdx && git checkout ."

def reset():
    subprocess.run("git stash list | wc -l", shell=True, check=True)
    subprocess.run(CLEAN, shell=True, check=True)
    os.system("clear")


# ---- VALID example 2 ----
# ok: rmd114-shell-command-from-data
import subprocess

def run(argv: list[str]):
    return subprocess.run(argv, check=True, timeout=60)


# ---- VALID example 3 ----
# ok: rmd114-shell-command-from-data
import shlex
import subprocess

def archive(path: str, name: str):
    subprocess.run(f"tar czf {shlex.quote(name)} {shlex.quote(path)}", shell=True, check=True)
    subprocess.run(shlex.join(["ls", "-l", path]), shell=True, check=True)


# ---- VALID example 4 ----
# ok: rmd114-shell-command-from-data
import subprocess

def run(cmd: str, use_shell: bool):
    return subprocess.run(cmd, shell=False, check=True)

