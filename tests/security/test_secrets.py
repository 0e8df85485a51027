"""Secrets never leave the process: not in logs, tracebacks, metrics, the landing page,
``--check-config``, error messages or process arguments, even when the upstream echoes them."""

from __future__ import annotations

import base64
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from secsupport import EchoUpstream
from support import ExporterProcess, base_env, run_cli, start_exporter, wait_for

from exporter.logs import setup_logging
from exporter.simulator import SimulatorOptions, SimulatorThread

TOKEN = "toggl_sk_live_4f9c2e7d1b8a6035"
EMAIL = "owner-8812@example.org"
PASSWORD = "pa55-w0rd-x7q9"
BLOB = base64.b64encode(f"{EMAIL}:{PASSWORD}".encode()).decode()
TOKEN_FORMS = (TOKEN,)
BASIC_FORMS = (EMAIL, PASSWORD, BLOB)


def token_env(url: str, **extra: object) -> dict[str, str]:
    env = base_env(url, user_ids="1001,1002", refresh_interval=1, request_budget=3600, **extra)
    env["TOGGL_FOCUS_API_TOKEN"] = TOKEN
    return env


def basic_env(url: str, **extra: object) -> dict[str, str]:
    env = base_env(url, user_ids="1001,1002", refresh_interval=1, request_budget=3600, **extra)
    del env["TOGGL_FOCUS_API_TOKEN"]
    env.update(TOGGL_FOCUS_EMAIL=EMAIL, TOGGL_FOCUS_PASSWORD=PASSWORD)
    return env


def wait_up(process: ExporterProcess) -> None:
    wait_for(lambda: "toggl_focus_up 1" in process.metrics(), what="a successful refresh")


def outputs(process: ExporterProcess) -> dict[str, str]:
    """Everything the process shows to the outside."""
    pid = process.proc.pid
    return {
        "log": process.logs(),
        "metrics": process.get("/metrics").text,
        "openmetrics": process.get(
            "/metrics", headers={"Accept": "application/openmetrics-text"}
        ).text,
        "landing": process.get("/").text,
        "readyz": process.get("/readyz").text,
        "404": process.get("/nope").text,
        "cmdline": Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"),
    }


def assert_clean(texts: dict[str, str], secrets: tuple[str, ...]) -> None:
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"secret found in {where}"


@pytest.fixture(params=["401", "500", "json"])
def echo(request: pytest.FixtureRequest) -> Iterator[EchoUpstream]:
    with EchoUpstream(request.param) as upstream:
        yield upstream


@pytest.mark.parametrize("form", ["token", "basic"])
def test_upstream_echoing_credentials_leaks_nothing(echo: EchoUpstream, form: str) -> None:
    make_env, secrets = (token_env, TOKEN_FORMS) if form == "token" else (basic_env, BASIC_FORMS)
    process = start_exporter(make_env(echo.url, max_retries=0))
    try:
        wait_for(lambda: echo.hits >= 2, what="failed refreshes")
        wait_for(lambda: "Last error" in process.get("/").text, what="landing page")
        texts = outputs(process)
        assert "toggl_focus_up 0" in texts["metrics"]
        assert "none" not in texts["landing"].split("Last error")[1][:40]  # an error is shown
        assert_clean(texts, secrets)
    finally:
        process.stop()
    assert_clean({"log after stop": process.logs()}, secrets)


def test_healthy_run_with_debug_logging_leaks_nothing() -> None:
    options = SimulatorOptions(users=2, ghosts=0, token=TOKEN, email=EMAIL, password=PASSWORD)
    with SimulatorThread(options) as sim:
        for make_env, secrets in ((token_env, TOKEN_FORMS), (basic_env, BASIC_FORMS)):
            process = start_exporter(make_env(sim.base_url, discover="true"))
            try:
                wait_up(process)
                assert_clean(outputs(process), secrets)
            finally:
                process.stop()


def test_secret_files_are_read_and_not_shown(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    with SimulatorThread(SimulatorOptions(users=2, ghosts=0, token=TOKEN)) as sim:
        env = token_env(sim.base_url)
        del env["TOGGL_FOCUS_API_TOKEN"]
        env["TOGGL_FOCUS_API_TOKEN_FILE"] = str(token_file)
        process = start_exporter(env)
        try:
            wait_up(process)
            assert_clean(outputs(process), TOKEN_FORMS)
        finally:
            process.stop()


def run_cli_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env)


@pytest.mark.parametrize("form", ["token", "basic"])
def test_check_config_masks_credentials(form: str) -> None:
    env = (
        token_env("http://127.0.0.1:9/api")
        if form == "token"
        else basic_env("http://127.0.0.1:9/api")
    )
    result = run_cli_env(env, "--check-config")
    assert result.returncode == 0, result.stderr
    assert "********" in result.stdout
    assert_clean({"stdout": result.stdout, "stderr": result.stderr}, TOKEN_FORMS + BASIC_FORMS)


@pytest.mark.parametrize(
    "change",
    [
        {"TOGGL_FOCUS_ORGANIZATION_ID": TOKEN},  # the token pasted into the wrong variable
        {"TOGGL_FOCUS_USER_IDS": f"1,{PASSWORD}"},
        {"TOGGL_FOCUS_EMAIL": EMAIL},  # token and e-mail both set
        {"TOGGL_FOCUS_API_TOKEN_FILE": "/nonexistent/token"},  # both forms of the token
        {"TOGGL_FOCUS_PASSWORD": PASSWORD},  # token and password both set
        {"TOGGL_FOCUS_API_URL": f"https://{EMAIL}:{PASSWORD}@focus.example/api"},
    ],
)
def test_configuration_errors_do_not_echo_secrets(change: dict[str, str]) -> None:
    env = token_env("http://127.0.0.1:9/api")
    env.update(change)
    result = run_cli_env(env, "--check-config")
    assert result.returncode == 2
    assert result.stderr.startswith("configuration error: ")
    assert "Traceback" not in result.stderr
    assert_clean({"stderr": result.stderr, "stdout": result.stdout}, TOKEN_FORMS + BASIC_FORMS)


def test_secrets_are_refused_as_flags_without_being_echoed() -> None:
    env = base_env("http://127.0.0.1:9/api", user_ids="1")
    for args in (("--api-token", TOKEN), (f"--api-token={TOKEN}",), ("--password", PASSWORD)):
        result = run_cli_env(env, *args)
        assert result.returncode == 2
        assert "unrecognized" in result.stderr
        assert_clean({"stderr": result.stderr}, TOKEN_FORMS + BASIC_FORMS)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_tracebacks_are_redacted(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("debug", fmt, [TOKEN, EMAIL, PASSWORD, BLOB])
        log = logging.getLogger("exporter.test")
        try:
            raise RuntimeError(f"upstream said Authorization: Bearer {TOKEN} / {BLOB}")
        except RuntimeError:
            log.exception("refresh failed for %s", EMAIL)
        log.warning("password %s", PASSWORD)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    text = stream.getvalue()
    assert "RuntimeError" in text
    assert "Traceback" in text
    assert text.count("***") >= 4
    if fmt == "json":
        assert all(json.loads(line) for line in text.splitlines())
    assert_clean({"log": text}, TOKEN_FORMS + BASIC_FORMS)


def test_web_basic_auth_password_is_not_logged(tmp_path: Path) -> None:
    from tlscerts import bcrypt_hash

    web = tmp_path / "web.yml"
    hashed = bcrypt_hash(PASSWORD)
    web.write_text(f"basic_auth_users:\n  prometheus: {hashed}\n")
    with SimulatorThread(SimulatorOptions(users=2, ghosts=0)) as sim:
        env = base_env(sim.base_url, user_ids="1001", refresh_interval=1, request_budget=3600)
        process = start_exporter(env, ("--web.config.file", str(web)))
        try:
            url = process.url + "/metrics"
            assert httpx.get(url, auth=("prometheus", PASSWORD)).status_code == 200
            assert httpx.get(url, auth=("prometheus", PASSWORD + "x")).status_code == 401
            assert httpx.get(url, auth=(PASSWORD, PASSWORD)).status_code == 401
            body = httpx.get(url, auth=("prometheus", PASSWORD)).text
        finally:
            process.stop()
    assert "basic auth without TLS" in process.logs()
    assert_clean({"log": process.logs(), "metrics": body}, (PASSWORD, hashed))


def test_broken_config_file_is_not_quoted(tmp_path: Path) -> None:
    """PyYAML quotes the offending lines in its errors; they may hold a pasted secret."""
    config = tmp_path / "config.yml"
    config.write_text(f'horizon_days: 14\napi_token: "{TOKEN}\nunit: [day\n')
    result = run_cli_env(token_env("http://127.0.0.1:9/api"), "--config", str(config))
    assert result.returncode == 2
    assert "invalid YAML" in result.stderr
    assert "line" in result.stderr
    assert_clean({"stderr": result.stderr}, TOKEN_FORMS)
