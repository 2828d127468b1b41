"""[tool.remediation-lint] in pyproject.toml: selection, preview, exclude, per-file-ignores, options, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from remediation_lint.config import Config, ConfigError, config_from_table
from tests.conftest import run_cli

PICKLE = "import pickle\n\n\ndef handle(sock):\n    return pickle.loads(sock.recv())\n"
BARE = "def f():\n    try:\n        g()\n    except:\n        pass\n"


def write_project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.remediation-lint]\n" + table)
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "net.py").write_text(PICKLE)
    (tmp_path / "src" / "util.py").write_text(BARE)
    (tmp_path / "tests").mkdir(exist_ok=True)
    (tmp_path / "tests" / "test_net.py").write_text(PICKLE)
    return tmp_path


def codes(proc) -> list[tuple[str, str]]:
    return [(d["path"], d["code"]) for d in json.loads(proc.stdout)]


def test_select_and_ignore_from_pyproject(tmp_path):
    write_project(tmp_path, 'select = ["RMD1"]\n')
    assert {c for _, c in codes(run_cli("--format", "json", ".", cwd=tmp_path))} == {"RMD101"}
    write_project(tmp_path, 'ignore = ["RMD101"]\n')
    assert {c for _, c in codes(run_cli("--format", "json", ".", cwd=tmp_path))} == {"RMD401"}


def test_config_found_from_a_subdirectory_path(tmp_path):
    write_project(tmp_path, 'ignore = ["RMD4"]\n')
    proc = run_cli("--format", "json", str(tmp_path / "src"), cwd="/")
    assert {c for _, c in codes(proc)} == {"RMD101"}


def test_per_file_ignores_and_exclude(tmp_path):
    write_project(tmp_path, 'per-file-ignores = { "tests/*" = ["RMD101"] }\nexclude = ["util.py"]\n')
    found = codes(run_cli("--format", "json", ".", cwd=tmp_path))
    assert found == [("src/net.py", "RMD101")]


def test_command_line_overrides_config(tmp_path):
    write_project(tmp_path, 'select = ["RMD1"]\n')
    found = {c for _, c in codes(run_cli("--format", "json", "--select", "RMD4", ".", cwd=tmp_path))}
    assert found == {"RMD401"}


def test_isolated_and_explicit_config(tmp_path):
    write_project(tmp_path, 'select = ["RMD1"]\n')
    assert {c for _, c in codes(run_cli("--format", "json", "--isolated", ".", cwd=tmp_path))} == {"RMD101", "RMD401"}
    other = tmp_path / "other.toml"
    other.write_text('[tool.remediation-lint]\nselect = ["RMD4"]\n')
    assert {c for _, c in codes(run_cli("--format", "json", "--config", str(other), ".", cwd=tmp_path))} == {"RMD401"}


@pytest.mark.parametrize(
    "table, message",
    [
        ('selekt = ["RMD1"]\n', "unknown key"),
        ('select = ["RMD999"]\n', "unknown rule code"),
        ('ignore = ["XYZ"]\n', "unknown rule code"),
        ("preview = 'yes'\n", "preview must be true or false"),
        ('[tool.remediation-lint.options.RMD101]\nfoo = 1\n', "has no option"),
        ('[tool.remediation-lint.options.RMD999]\nfoo = 1\n', "unknown rule"),
        ('per-file-ignores = { "a.py" = ["NOPE1"] }\n', "unknown rule code"),
    ],
)
def test_config_errors_exit_2(tmp_path, table, message):
    write_project(tmp_path, table)
    proc = run_cli(".", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_invalid_toml_is_a_clear_error(tmp_path):
    other = tmp_path / "bad.toml"
    other.write_text("[tool.remediation-lint\nselect = \n")
    proc = run_cli("--config", str(other), ".", cwd=tmp_path)
    assert proc.returncode == 2 and "invalid TOML" in proc.stderr


def test_specific_selector_beats_general_ignore():
    from remediation_lint.registry import all_rules

    cfg = Config(select=["RMD101"], ignore=["RMD1"])
    assert [r.code for r in cfg.enabled_rules()] == ["RMD101"]
    cfg = Config(select=["RMD"], ignore=["RMD101"])
    assert "RMD101" not in [r.code for r in cfg.enabled_rules()]
    assert len(Config(select=["ALL"]).enabled_rules()) >= 1 and all_rules()


def test_preview_rules_need_preview_or_exact_selection(monkeypatch):
    from remediation_lint.registry import all_rules
    from remediation_lint.rule import Default

    preview = [r.code for r in all_rules().values() if r.default is Default.PREVIEW]
    if not preview:
        pytest.skip("no preview rule registered yet")
    code = preview[0]
    assert code not in [r.code for r in Config().enabled_rules()]
    assert code in [r.code for r in Config(preview=True).enabled_rules()]
    assert code in [r.code for r in Config(select=[code]).enabled_rules()]
    assert code not in [r.code for r in Config(select=[code[:4]]).enabled_rules()]


def test_options_are_type_checked():
    from remediation_lint.registry import all_rules

    with_options = [r for r in all_rules().values() if r.options]
    if not with_options:
        pytest.skip("no rule with options registered yet")
    rule = with_options[0]
    name, default = next(iter(rule.options.items()))
    bad = "not-a-number" if isinstance(default, (int, float)) and not isinstance(default, bool) else 12345
    with pytest.raises(ConfigError):
        config_from_table({"options": {rule.code: {name.replace("_", "-"): bad}}}, None)
    good = list(default) if isinstance(default, (tuple, list, frozenset, set)) else default
    cfg = config_from_table({"options": {rule.code: {name.replace("_", "-"): good}}}, None)
    assert rule.code in cfg.options


def test_front_end_codes_of_the_semgrep_pack_can_be_selected():
    from remediation_lint.config import semgrep_only_codes, validate_codes

    codes = semgrep_only_codes()
    assert "RMD-TS-TOKEN-IN-URL" in codes and "RMD-RS-GIT-APPLY-UNCHECKED" in codes
    assert validate_codes(["rmd-ts-token-in-url", "RMD-TS"], "--select") == ["RMD-TS-TOKEN-IN-URL", "RMD-TS"]
    with pytest.raises(ConfigError):
        validate_codes(["RMD-TS-NOPE"], "--select")
