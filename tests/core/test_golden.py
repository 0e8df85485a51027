"""Golden exposition files: recorded upstream replies -> the exact /metrics text.

Regenerate after an intended metric change with ``UPDATE_GOLDEN=1 scripts/test.sh -k golden``
and review the diff. Volatile values (durations, Python version) are masked.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from replay import ReplayServer
from support import InProcessExporter, wait_for

from exporter.config import load_settings

HERE = Path(__file__).resolve().parent.parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
#: Monday 2026-03-02 09:00 in Europe/Berlin.
FIXED_NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp()
VOLATILE = re.compile(
    r"^(toggl_focus_refresh_duration_seconds|toggl_focus_api_request_duration_seconds_sum)"
    r"((?:\{[^}]*\})?) \S+$",
    re.M,
)
PYTHON_VERSION = re.compile(r'python_version="[^"]*"')

CASES = {
    "seed": ("capacities_seed.json", {"user_ids": "101,102", "ghost_ids": "7"}),
    "spec": ("capacities_spec.json", {"user_ids": "101,102"}),
}


def normalise(text: str) -> str:
    """Mask values that differ between runs (durations, interpreter version)."""
    text = VOLATILE.sub(r"\1\2 <volatile>", text)
    text = PYTHON_VERSION.sub('python_version="<volatile>"', text)
    # Histogram buckets of request durations depend on timing: keep only their count.
    return re.sub(
        r'^(toggl_focus_api_request_duration_seconds_bucket\{[^}]*le="[^"]*"\}) \S+$',
        r"\1 <volatile>",
        text,
        flags=re.M,
    )


def scrape_case(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, str], list]:
    fixture, ids = CASES[name]
    for key in list(os.environ):
        if key.startswith("TOGGL_FOCUS_"):
            monkeypatch.delenv(key)
    with ReplayServer.from_file(FIXTURES / fixture) as upstream:
        settings = load_settings(
            api_url=upstream.url,
            api_token="golden-token",
            organization_id=11,
            workspace_id=22,
            horizon_days=7,
            timezone="Europe/Berlin",
            listen_address="127.0.0.1:0",
            refresh_interval=3600,
            **ids,
        )
        with InProcessExporter(settings, clock=lambda: FIXED_NOW) as running:
            wait_for(lambda: running.get("/readyz").status_code == 200, what="first refresh")
            bodies = {
                "text": running.get("/metrics").text,
                "openmetrics": running.get(
                    "/metrics", headers={"Accept": "application/openmetrics-text"}
                ).text,
            }
            raw = running.get("/metrics", headers={"Accept-Encoding": "gzip"})
            bodies["gzip"] = raw.text  # httpx decodes the gzip body
            assert raw.headers["content-encoding"] == "gzip"
        return bodies, upstream.requests


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_exposition(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    bodies, requests = scrape_case(name, monkeypatch)
    assert bodies["gzip"] == bodies["text"]
    for fmt, suffix in (("text", "txt"), ("openmetrics", "openmetrics.txt")):
        path = GOLDEN / f"{name}.{suffix}"
        actual = normalise(bodies[fmt])
        if os.environ.get("UPDATE_GOLDEN"):
            path.write_text(actual)
        assert path.exists(), f"missing {path}; run with UPDATE_GOLDEN=1"
        assert actual == path.read_text(), f"{path.name} differs; review, then UPDATE_GOLDEN=1"
    # One capacities request for the whole window, in the configured zone.
    capacity_calls = [q for p, q, _ in requests if p.endswith("/capacities/users")]
    assert len(capacity_calls) == 1
    query = dict(capacity_calls[0])
    assert query["start_date"] == "2026-03-02"
    assert query["end_date"] == "2026-03-08"
    assert query["user_id"] == "101,102"
    assert requests[0][0] == "/api/organizations/11/workspaces/22/capacities/users"
    assert requests[0][2]["Authorization"] == "Bearer golden-token"
    assert requests[0][2]["User-Agent"].startswith("toggl-focus-exporter/")


def test_golden_values_are_the_upstream_values_in_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bodies, _ = scrape_case("seed", monkeypatch)
    text = bodies["text"]
    labels = 'date="2026-03-02",entity_id="101",entity_type="user",workspace_id="22"'
    assert f"toggl_focus_capacity_working_seconds{{{labels}}} 28800.0" in text
    assert f"toggl_focus_capacity_estimated_seconds{{{labels}}} 30600.0" in text
    assert f"toggl_focus_capacity_allocated_seconds{{{labels}}} 7230.0" in text
    assert f"toggl_focus_capacity_assigned_tasks{{{labels}}} 3.0" in text
    ghost = 'date="2026-03-03",entity_id="7",entity_type="ghost",workspace_id="22"'
    assert f"toggl_focus_capacity_estimated_seconds{{{ghost}}} 42000.0" in text
    # An absent field is absent, not zero; a date outside the window is dropped.
    absent = 'date="2026-03-06",entity_id="102",entity_type="user"'
    assert f"toggl_focus_capacity_allocated_seconds{{{absent}" not in text
    assert f"toggl_focus_capacity_working_seconds{{{absent}" in text
    assert "2026-03-09" not in text
    # Fields the seed shape lacks produce no series at all.
    assert "toggl_focus_capacity_time_off_seconds{" not in text


@pytest.mark.skipif(
    shutil.which("promtool") is None and not os.environ.get("CI"), reason="promtool not installed"
)
@pytest.mark.parametrize("name", sorted(CASES))
def test_promtool_check_metrics_is_clean(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    bodies, _ = scrape_case(name, monkeypatch)
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=bodies["text"].encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == ""
    assert result.stderr.decode().strip() == ""


def test_gzip_body_is_valid_gzip(monkeypatch: pytest.MonkeyPatch) -> None:
    fixture, ids = CASES["spec"]
    with ReplayServer.from_file(FIXTURES / fixture) as upstream:
        settings = load_settings(
            api_url=upstream.url,
            api_token="t0ken",
            organization_id=1,
            workspace_id=1,
            listen_address="127.0.0.1:0",
            **ids,
        )
        with InProcessExporter(settings, clock=lambda: FIXED_NOW) as running:
            wait_for(lambda: running.get("/readyz").status_code == 200, what="first refresh")
            import httpx

            with httpx.stream(
                "GET", running.url + "/metrics", headers={"Accept-Encoding": "gzip"}
            ) as response:
                compressed = b"".join(response.iter_raw())
            plain = running.get("/metrics", headers={"Accept-Encoding": "identity"}).content
    assert gzip.decompress(compressed) == plain
