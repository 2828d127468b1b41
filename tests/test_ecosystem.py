"""SARIF (validated by Microsoft's SARIF multitool), GitHub annotations, baselines, --add-noqa, the plan
report, the bandit plugin and the progress line, each end to end through the real CLI or tool."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, run_cli

PICKLE = "import pickle\n\n\ndef handle(sock):\n    return pickle.loads(sock.recv())\n"
BARE = "def detect():\n    try:\n        return probe()\n    except:\n        pass\n"
TOOLS = Path(os.environ.get("RMD_TEST_TOOLS", Path.home() / ".cache" / "remediation-lint-test-tools"))


# -- SARIF -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sarif_multitool() -> Path:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("Node.js/npm is not installed: the SARIF schema validation (Microsoft SARIF multitool from npm) cannot run")
    prefix = TOOLS / "sarif-multitool"
    binary = prefix / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"
    if not binary.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), "@microsoft/sarif-multitool@5"],
            capture_output=True, text=True, timeout=900,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    if not binary.exists():
        pytest.skip(f"the multitool package has no Linux binary at {binary}")
    binary.chmod(0o755)  # npm may skip the package's postinstall chmod
    return binary


def validate_sarif(binary: Path, path: Path, tmp_path: Path) -> list[dict]:
    out = tmp_path / f"validation-{path.stem}.sarif"
    if out.exists():
        out.unlink()
    proc = subprocess.run(
        [str(binary), "validate", str(path), "--output", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"},
    )
    assert out.exists(), proc.stdout + proc.stderr
    results = json.loads(out.read_text(encoding="utf-8-sig"))["runs"][0].get("results", [])
    return [r for r in results if r.get("level") == "error"]


def test_sarif_is_valid_and_complete(tmp_path, sarif_multitool):
    out = tmp_path / "report.sarif"
    proc = run_cli("--format", "sarif", "--output", str(out), "--preview", "fixtures/ai_system")
    assert proc.returncode == 1, proc.stderr
    errors = validate_sarif(sarif_multitool, out, tmp_path)
    assert errors == [], [e["message"] for e in errors]
    log = json.loads(out.read_text())
    run = log["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    r101 = rules["RMD101"]
    assert r101["name"] == "untrusted-pickle"
    assert r101["shortDescription"]["text"] and r101["fullDescription"]["text"]
    assert r101["helpUri"].endswith("docs/rules/RMD101.md")
    assert "security" in r101["properties"]["tags"] and "external/cwe/cwe-502" in r101["properties"]["tags"]
    assert r101["defaultConfiguration"]["level"] == "error"
    results = run["results"]
    assert {r["ruleId"] for r in results} >= {"RMD101", "RMD401"}
    first = next(r for r in results if r["ruleId"] == "RMD101")
    loc = first["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("fused_audio_preprocessor.py")
    assert loc["region"]["startLine"] == 63
    fixes = [r for r in results if r.get("fixes")]
    assert fixes, "fixable findings carry SARIF fixes"
    replacement = fixes[0]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert "deletedRegion" in replacement and "insertedContent" in replacement
    pickle_fix = first["fixes"][0]["artifactChanges"][0]["replacements"]
    assert any("json.loads(message)" in r["insertedContent"]["text"] for r in pickle_fix)


def test_sarif_validator_rejects_a_broken_log(tmp_path, sarif_multitool):
    broken = tmp_path / "broken.sarif"
    broken.write_text(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"ruleId": 5}]}]}))
    assert validate_sarif(sarif_multitool, broken, tmp_path), "the validator must catch schema errors"


# -- GitHub ----------------------------------------------------------------------------------------
def test_github_annotations(tmp_path):
    (tmp_path / "net.py").write_text(PICKLE)
    (tmp_path / "util.py").write_text(BARE)
    proc = run_cli("--format", "github", ".", cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("::error file=net.py,line=5,col=12,endLine=5,endColumn=37,title=RMD101::pickle.loads()")
    assert lines[1].startswith("::warning file=util.py,line=4,col=5,")
    assert "title=RMD401::" in lines[1]


# -- baselines -------------------------------------------------------------------------------------
def test_baseline_survives_unrelated_edits_and_catches_new_instances(tmp_path):
    src = tmp_path / "net.py"
    src.write_text(PICKLE)
    (tmp_path / "util.py").write_text(BARE)
    written = run_cli("--write-baseline", "baseline.json", ".", cwd=tmp_path)
    assert written.returncode == 0 and "Wrote 2 finding(s)" in written.stderr
    assert run_cli("--baseline", "baseline.json", ".", cwd=tmp_path).returncode == 0
    # lines inserted above the baselined finding: still suppressed
    src.write_text('"""Network helpers."""\nimport logging\n\nlog = logging.getLogger(__name__)\n' + PICKLE)
    proc = run_cli("--baseline", "baseline.json", "--format", "json", ".", cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout) == []
    # a new instance of the same bug in the same file: reported
    src.write_text(src.read_text() + "\n\ndef handle_again(conn):\n    return pickle.loads(conn.recv(4096))\n")
    proc = run_cli("--baseline", "baseline.json", "--format", "json", ".", cwd=tmp_path)
    new = json.loads(proc.stdout)
    assert proc.returncode == 1 and [(d["code"], d["line"]) for d in new] == [("RMD101", 13)]


def test_baseline_errors(tmp_path):
    (tmp_path / "x.py").write_text(PICKLE)
    assert run_cli("--baseline", "missing.json", ".", cwd=tmp_path).returncode == 2
    (tmp_path / "bad.json").write_text("{}")
    assert run_cli("--baseline", "bad.json", ".", cwd=tmp_path).returncode == 2


# -- --add-noqa ------------------------------------------------------------------------------------
def test_add_noqa_silences_everything_and_merges(tmp_path):
    (tmp_path / "net.py").write_text(PICKLE.replace("sock.recv())", "sock.recv())  # noqa: E501"))
    (tmp_path / "util.py").write_text(BARE)
    proc = run_cli("--add-noqa", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "# noqa: E501, RMD101" in (tmp_path / "net.py").read_text()
    assert "except:  # noqa: RMD401" in (tmp_path / "util.py").read_text()
    after = run_cli(".", cwd=tmp_path)
    assert after.returncode == 0, after.stdout
    again = run_cli("--add-noqa", ".", cwd=tmp_path)
    assert "Added noqa comments to 0 line(s)" in again.stderr


# -- plan ------------------------------------------------------------------------------------------
def test_plan_for_ai_system_matches_findings(tmp_path):
    findings = json.loads(run_cli("--format", "json", "fixtures/ai_system").stdout)
    proc = run_cli("--format", "plan", "--output", str(tmp_path / "plan.md"), "fixtures/ai_system")
    assert proc.returncode == 1
    plan = (tmp_path / "plan.md").read_text()
    assert plan == run_cli("--format", "plan", "fixtures/ai_system").stdout  # deterministic
    headings = re.findall(r"^## Phase (\d): (\w+) \((\d+) finding\(s\)\)$", plan, re.M)
    assert [(n, name) for n, name, _ in headings] == [("1", "Critical"), ("2", "High"), ("3", "Medium"), ("4", "Low")]
    by_severity = {}
    for f in findings:
        by_severity[f["severity"]] = by_severity.get(f["severity"], 0) + 1
    assert {name.lower(): int(count) for _, name, count in headings if int(count)} == by_severity
    boxes = re.findall(r"^  - \[ \] `([^`]+):(\d+)`", plan, re.M)
    assert sorted((p, int(line)) for p, line in boxes) == sorted((f["path"], f["line"]) for f in findings)
    for code in {f["code"] for f in findings}:
        assert re.search(rf"^### Task \d+: {code} ", plan, re.M), code
    assert f"| **Total** | | **{len(findings)}** | |" in plan
    assert "--fix --unsafe-fixes" in plan  # RMD101's proposed fix says how it is applied


# -- bandit ----------------------------------------------------------------------------------------
def test_real_bandit_reports_the_security_rules():
    proc = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", "fixtures/ai_system", "-f", "json", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    data = json.loads(proc.stdout)
    ours = {(Path(r["filename"]).name, r["line_number"], r["test_id"]) for r in data["results"] if r["test_id"].startswith("RMD")}
    assert ("fused_audio_preprocessor.py", 63, "RMD101") in ours
    assert ("streaming_interrupt_handler.py", 38, "RMD101") in ours
    assert any(t == "RMD102" for _, _, t in ours)
    r101 = next(r for r in data["results"] if r["test_id"] == "RMD101")
    assert r101["issue_severity"] == "HIGH" and r101["issue_confidence"] == "HIGH"


def test_every_security_rule_has_a_bandit_entry_point():
    from importlib.metadata import entry_points

    from remediation_lint.registry import all_rules

    names = {e.name for e in entry_points(group="bandit.plugins")}
    for code in all_rules():
        if code.startswith("RMD1"):
            assert code.lower() in names, code


# -- progress --------------------------------------------------------------------------------------
def _many_files(tmp_path: Path, n: int = 40) -> None:
    for i in range(n):
        (tmp_path / f"m{i:02d}.py").write_text(PICKLE)


def test_progress_line_on_a_terminal_only(tmp_path):
    _many_files(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS")}
    master, slave = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "remediation_lint", "-j", "1", "."], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=slave, timeout=300,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    tty = b"".join(chunks).decode(errors="replace")
    assert "40/40 files, 40 finding(s)" in tty
    assert "\r" in tty
    assert proc.stdout.count(b"RMD101") == 40
    piped = subprocess.run([sys.executable, "-m", "remediation_lint", "-j", "1", "."], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "files," not in piped.stderr
    in_ci = subprocess.run(
        [sys.executable, "-m", "remediation_lint", "-j", "1", "."], cwd=tmp_path, env={**env, "CI": "true"},
        stdout=subprocess.PIPE, stderr=os.open(os.devnull, os.O_WRONLY), timeout=300,
    )
    assert in_ci.returncode == 1
