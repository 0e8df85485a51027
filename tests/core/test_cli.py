"""The command line: configuration errors exit 2 naming the variable; --check-config."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support import run_cli

from exporter import __version__


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_FOCUS_")}
    return run_cli(*args, env={**clean, **env})


VALID = {
    "TOGGL_FOCUS_API_TOKEN": "toggl_sk_secretvalue123",
    "TOGGL_FOCUS_ORGANIZATION_ID": "1",
    "TOGGL_FOCUS_WORKSPACE_ID": "2",
    "TOGGL_FOCUS_USER_IDS": "10,11,12",
}


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, ["TOGGL_FOCUS_ORGANIZATION_ID", "TOGGL_FOCUS_WORKSPACE_ID"]),
        (
            {"TOGGL_FOCUS_ORGANIZATION_ID": "1", "TOGGL_FOCUS_WORKSPACE_ID": "2"},
            ["TOGGL_FOCUS_API_TOKEN", "TOGGL_FOCUS_USER_IDS"],
        ),
    ],
)
def test_missing_settings_one_line_each(env: dict[str, str], names: list[str]) -> None:
    result = cli("--check-config", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(names)
    for line, name in zip(lines, names, strict=True):
        assert line.startswith(f"configuration error: {name}: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"TOGGL_FOCUS_WORKSPACE_ID": "abc"}, "TOGGL_FOCUS_WORKSPACE_ID"),
        ({"TOGGL_FOCUS_ORGANIZATION_ID": "-3"}, "TOGGL_FOCUS_ORGANIZATION_ID"),
        ({"TOGGL_FOCUS_USER_IDS": "1,x"}, "TOGGL_FOCUS_USER_IDS"),
        ({"TOGGL_FOCUS_TIMEZONE": "Mars/Olympus"}, "TOGGL_FOCUS_TIMEZONE"),
        ({"TOGGL_FOCUS_UNIT": "fortnight"}, "TOGGL_FOCUS_UNIT"),
        ({"TOGGL_FOCUS_ARRAY_FORMAT": "json"}, "TOGGL_FOCUS_ARRAY_FORMAT"),
        ({"TOGGL_FOCUS_TASK_SOURCES": "focus,jira"}, "TOGGL_FOCUS_TASK_SOURCES"),
        ({"TOGGL_FOCUS_REFRESH_INTERVAL": "0"}, "TOGGL_FOCUS_REFRESH_INTERVAL"),
        ({"TOGGL_FOCUS_REQUEST_BUDGET": "0"}, "TOGGL_FOCUS_REQUEST_BUDGET"),
        ({"TOGGL_FOCUS_HORIZON_DAYS": "1000"}, "TOGGL_FOCUS_HORIZON_DAYS"),
        ({"TOGGL_FOCUS_LISTEN_ADDRESS": "nowhere"}, "TOGGL_FOCUS_LISTEN_ADDRESS"),
        ({"TOGGL_FOCUS_API_URL": "ftp://example.com"}, "TOGGL_FOCUS_API_URL"),
        ({"TOGGL_FOCUS_LOG_FORMAT": "xml"}, "TOGGL_FOCUS_LOG_FORMAT"),
        ({"TOGGL_FOCUS_API_TOKEN_FILE": "/nonexistent/token"}, "TOGGL_FOCUS_API_TOKEN"),
        ({"TOGGL_FOCUS_EMAIL": "a@example.com"}, "TOGGL_FOCUS_EMAIL"),
        ({"TOGGL_FOCUS_MAX_STALENESS": "1"}, "TOGGL_FOCUS_MAX_STALENESS"),
    ],
)
def test_each_invalid_setting_exits_2_naming_it(override: dict[str, str], named: str) -> None:
    result = cli("--check-config", **{**VALID, **override})
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert VALID["TOGGL_FOCUS_API_TOKEN"] not in result.stderr + result.stdout


def test_secret_in_env_and_file_is_an_error(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    result = cli("--check-config", **VALID, TOGGL_FOCUS_API_TOKEN_FILE=str(token_file))
    assert result.returncode == 2
    assert "TOGGL_FOCUS_API_TOKEN and TOGGL_FOCUS_API_TOKEN_FILE are both set" in result.stderr


def test_check_config_prints_the_plan_with_secrets_masked() -> None:
    result = cli(
        "--check-config",
        **VALID,
        TOGGL_FOCUS_REQUEST_BUDGET="120",
        TOGGL_FOCUS_REFRESH_INTERVAL="1",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "configuration OK" in out
    assert "users: 10, 11, 12" in out
    assert "requests per refresh: 1" in out
    # 120 requests/hour allow one single-request refresh every 30 s.
    assert "effective refresh interval: 30 s" in out
    assert "toggl_sk_secretvalue123" not in out + result.stderr
    assert "********" in out


def test_token_file_and_basic_auth_files(tmp_path: Path) -> None:
    (tmp_path / "email").write_text("me@example.com\n")
    (tmp_path / "password").write_text("hunter2hunter2\n")
    env = {k: v for k, v in VALID.items() if k != "TOGGL_FOCUS_API_TOKEN"}
    result = cli(
        "--check-config",
        **env,
        TOGGL_FOCUS_EMAIL_FILE=str(tmp_path / "email"),
        TOGGL_FOCUS_PASSWORD_FILE=str(tmp_path / "password"),
    )
    assert result.returncode == 0, result.stderr
    assert "basic auth" in result.stdout
    assert "hunter2hunter2" not in result.stdout
    assert "me@example.com" not in result.stdout


def test_yaml_config_file_with_environment_precedence(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("organization_id: 5\nworkspace_id: 6\nuser_ids: [1, 2]\nhorizon_days: 14\n")
    env = {"TOGGL_FOCUS_API_TOKEN": "abcdefgh", "TOGGL_FOCUS_WORKSPACE_ID": "7"}
    result = cli("--config", str(config), "--check-config", **env)
    assert result.returncode == 0, result.stderr
    assert "organization_id: 5, workspace_id: 7" in result.stdout
    assert "(14 days" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "organization_id: 5\nworkspace_id: 6\nuser_ids: [1]\nfrobnicate: 1\n",
            "TOGGL_FOCUS_FROBNICATE: unknown setting",
        ),
        ("organization_id: [\n", "invalid YAML"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("api_token: x\n", "not allowed in files"),
    ],
)
def test_bad_config_file(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(content)
    result = cli("--config", str(config), "--check-config", TOGGL_FOCUS_API_TOKEN="abcdefgh")
    assert result.returncode == 2
    assert message in result.stderr


def test_missing_config_file() -> None:
    result = cli("--config", "/nonexistent.yaml", "--check-config", **VALID)
    assert result.returncode == 2
    assert "--config /nonexistent.yaml: cannot read" in result.stderr
