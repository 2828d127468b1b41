"""Benchmark remediation-lint against its peers on one corpus, in one session, and write the figures.

    python bench/bench.py [--runs 3] [--large] [--no-write]

The corpus is the running interpreter's top-level standard library modules (``--large`` adds the
environment's site-packages). Tools run alternating, round after round, and each figure is the median
of the rounds: remediation-lint cold (all rules, preview on, no cache), remediation-lint warm (cache on,
nothing changed), bandit (our plugin's tests skipped), ruff ``--select ALL``, flake8 without and with our
plugin (same ``-j``; with the plugin three ways: cache on and nothing changed, every file re-checked with
the project summaries cached, no cache at all), and Semgrep with our ``rules/python`` when that
directory exists. Then it measures
how remediation-lint's time grows with the corpus (x1, x2, x4) and its peak memory (all processes of the
run together). Results go to stdout and to ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BIN = Path(PY).parent


def build_corpus(dest: Path, large: bool) -> tuple[int, int]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py") if p.is_file())
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy2(f, dest / f.name)
    if large:
        site = Path(sysconfig.get_paths()["purelib"])
        for f in site.rglob("*.py"):
            if "remediation_lint" in f.parts:
                continue
            target = dest / "site" / f.relative_to(site)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
    n_files = n_lines = 0
    for f in dest.rglob("*.py"):
        n_files += 1
        n_lines += f.read_bytes().count(b"\n")
    return n_files, n_lines


def replicate(src: Path, dest: Path, times: int) -> None:
    for i in range(times):
        shutil.copytree(src, dest / f"copy{i}")


class TreeMemory(threading.Thread):
    """Samples the summed RSS of a process and its descendants (Linux /proc)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.running = True

    @staticmethod
    def _children() -> dict[int, list[int]]:
        tree: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
                tree.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
        return tree

    def run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while self.running:
            tree = self._children()
            todo, total = [self.pid], 0
            while todo:
                pid = todo.pop()
                try:
                    with open(f"/proc/{pid}/statm") as handle:
                        total += int(handle.read().split()[1]) * page
                except (OSError, ValueError, IndexError):
                    pass
                todo.extend(tree.get(pid, []))
            self.peak = max(self.peak, total)
            time.sleep(0.05)


def timed(cmd: list[str], cwd: Path, env: dict | None = None, memory: bool = False) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    sampler = TreeMemory(proc.pid) if memory else None
    if sampler:
        sampler.start()
    proc.wait()
    elapsed = time.perf_counter() - start
    if sampler:
        sampler.running = False
        sampler.join()
    return elapsed, (sampler.peak if sampler else 0)


RECHECK = "flake8 + remediation-lint, results not cached"


def forget_results(cache: Path) -> None:
    """Drop a cache directory's result entries and keep its project summaries (``v<ver>/summaries``)."""
    for version in cache.glob("v*"):
        for entry in version.iterdir():
            if entry.is_dir() and entry.name != "summaries":
                shutil.rmtree(entry, ignore_errors=True)


def flake8_only_python(work: Path) -> str | None:
    """A virtualenv with flake8 alone (no remediation-lint plugin), for the 'without' figure."""
    venv = work / "flake8-only"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([PY, "-m", "venv", str(venv)], check=True)
        proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "flake8"], capture_output=True, text=True)
        if proc.returncode != 0:
            return None
    return str(python)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="add the environment's site-packages to the corpus")
    parser.add_argument("--no-write", action="store_true", help="print only; do not update docs/performance.md")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rmd-bench-"))
    corpus = work / "corpus"
    n_files, n_lines = build_corpus(corpus, args.large)
    cache = work / "cache"
    rmd = [PY, "-m", "remediation_lint", "--preview", "--select", "ALL", "--exit-zero", "-q", "-j", str(args.jobs)]
    bandit_skip = ",".join(f"RMD1{n:02d}" for n in range(1, 15))
    tools: dict[str, list[str]] = {
        "remediation-lint cold": [*rmd, "--no-cache", "corpus"],
        "remediation-lint warm": [*rmd, "--cache-dir", str(cache), "corpus"],
        "bandit": [PY, "-m", "bandit", "-r", "corpus", "-q", "-f", "json", "-o", os.devnull, "-s", bandit_skip],
    }
    ruff = shutil.which("ruff", path=str(BIN)) or shutil.which("ruff")
    if ruff:
        tools["ruff --select ALL"] = [ruff, "check", "--select", "ALL", "--no-cache", "--exit-zero", "-q", "corpus"]
    plain = flake8_only_python(work)
    if plain:
        tools["flake8 (without plugin)"] = [plain, "-m", "flake8", "-j", str(args.jobs), "--exit-zero", "corpus"]
    flake8_rmd = [PY, "-m", "flake8", "-j", str(args.jobs), "--exit-zero", "--rmd-preview"]
    # as users run it: the cache on, nothing changed since the last run
    tools["flake8 + remediation-lint"] = [*flake8_rmd, "corpus"]
    # every file checked again, the project's summaries from the cache (as after editing every file)
    recheck_cache = work / "flake8-recheck-cache"
    tools[RECHECK] = [*flake8_rmd, "--rmd-cache-dir", str(recheck_cache), "corpus"]
    # no cache at all: what the very first run on a project costs
    tools["flake8 + remediation-lint, no cache"] = [*flake8_rmd, "--rmd-no-cache", "corpus"]
    semgrep = shutil.which("semgrep", path=str(BIN)) or shutil.which("semgrep")
    rules = ROOT / "rules" / "python"
    if semgrep and rules.is_dir():
        tools["semgrep rules/python"] = [
            semgrep, "scan", "--metrics=off", "--disable-version-check", "--quiet", "--config", str(rules), "corpus",
        ]
    env = {**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0"}
    env.pop("CI", None)
    # Python's default: compiled modules are cached (a sandbox may turn that off; every tool would then
    # compile its whole code base on every run, which no user pays)
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    for warm_up in ("remediation-lint warm", "flake8 + remediation-lint", RECHECK):  # fill their caches
        subprocess.run(tools[warm_up], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples: dict[str, list[float]] = {name: [] for name in tools}
    for round_no in range(args.runs):
        for name, cmd in tools.items():
            if name == RECHECK:
                forget_results(recheck_cache)
            elapsed, _ = timed(cmd, work, env)
            samples[name].append(elapsed)
        print(f"round {round_no + 1}/{args.runs} done", file=sys.stderr)
    median = {name: statistics.median(values) for name, values in samples.items()}

    growth = []
    for factor in (1, 2, 4):
        scaled = work / f"x{factor}"
        replicate(corpus, scaled, factor)
        times, peaks = [], []
        for _ in range(args.runs):
            elapsed, peak = timed([*rmd, "--no-cache", str(scaled)], work, env, memory=True)
            times.append(elapsed)
            peaks.append(peak)
        growth.append((factor, n_lines * factor, statistics.median(times), max(peaks)))
        shutil.rmtree(scaled)

    cold, warm = median["remediation-lint cold"], median["remediation-lint warm"]
    lines = [
        f"Corpus: {n_files} files, {n_lines} lines ({'stdlib + site-packages' if args.large else 'top-level stdlib modules'} of Python {sys.version.split()[0]}); "
        f"{os.cpu_count()} cores; median of {args.runs} alternating rounds; -j {args.jobs}.",
        "",
        "| Tool | Median time (s) | Lines/s | vs remediation-lint cold |",
        "|---|---|---|---|",
    ]
    for name, t in median.items():
        lines.append(f"| {name} | {t:.2f} | {n_lines / t:,.0f} | {t / cold:.2f}x |")
    lines += ["", "| Target | Figure | Holds |", "|---|---|---|"]
    checks = []
    if "bandit" in median:
        ratio = cold / median["bandit"]
        checks.append(("cold full pack <= 1.0x bandit (stretch 0.5x)", f"{ratio:.2f}x", ratio <= 1.0))
    if "ruff --select ALL" in median:
        ratio = warm / median["ruff --select ALL"]
        checks.append(("warm re-run <= 0.5x ruff --select ALL cold", f"{ratio:.2f}x", ratio <= 0.5))
    if "flake8 (without plugin)" in median:
        ratio = median["flake8 + remediation-lint"] / median["flake8 (without plugin)"]
        checks.append(("flake8 with plugin <= 1.3x without", f"{ratio:.2f}x", ratio <= 1.3))
        recheck = median[RECHECK] / median["flake8 (without plugin)"]
        checks.append(("(every file re-checked, summaries cached; not a target)", f"{recheck:.2f}x", None))
        first = median["flake8 + remediation-lint, no cache"] / median["flake8 (without plugin)"]
        checks.append(("(--rmd-no-cache, a first run; not a target)", f"{first:.2f}x", None))
    base = growth[0][2]
    ratio4 = growth[2][2] / base
    checks.append(("4x the lines costs <= 4.4x the time", f"{ratio4:.2f}x", ratio4 <= 4.4))
    peak = max(g[3] for g in growth) / 2**20
    checks.append(("peak memory (all processes, 4x corpus) <= 500 MB", f"{peak:.0f} MB", peak <= 500))
    for target, figure, ok in checks:
        lines.append(f"| {target} | {figure} | {'-' if ok is None else 'yes' if ok else 'NO'} |")
    lines += ["", "| Corpus size | Lines | Median time (s) | Time ratio | Peak memory (MB) |", "|---|---|---|---|---|"]
    for factor, n, t, mem in growth:
        lines.append(f"| x{factor} | {n} | {t:.2f} | {t / base:.2f}x | {mem / 2**20:.0f} |")
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        doc = ROOT / "docs" / "performance.md"
        text = doc.read_text(encoding="utf-8") if doc.exists() else ""
        start, end = "<!-- bench-start -->", "<!-- bench-end -->"
        block = f"{start}\n{table}\n{end}"
        if start in text and end in text:
            text = text.split(start)[0] + block + text.split(end, 1)[1]
        else:
            text = text + ("\n" if text else "") + block + "\n"
        doc.write_text(text, encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(ok for _, _, ok in checks if ok is not None) else 1


if __name__ == "__main__":
    raise SystemExit(main())
