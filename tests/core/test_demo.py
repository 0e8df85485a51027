"""``toggl-focus-exporter --demo``: real metrics from the built-in simulator, no account."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import ExporterProcess, wait_for


def test_demo_mode_serves_every_simulated_entity(
    exporters: Callable[..., ExporterProcess],
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_FOCUS_")}
    exporter = exporters(env, args=("--demo",))
    wait_for(lambda: exporter.get("/readyz").status_code == 200, what="first refresh")
    text = exporter.metrics()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    working = families["toggl_focus_capacity_working_seconds"].samples
    entities = {(s.labels["entity_type"], s.labels["entity_id"]) for s in working}
    assert entities == {("user", str(i)) for i in range(1001, 1007)} | {
        ("ghost", "5001"),
        ("ghost", "5002"),
    }
    assert len({s.labels["date"] for s in working}) == 28
    names = {
        s.labels["entity_id"]: s.labels["name"] for s in families["toggl_focus_entity_info"].samples
    }
    assert len(names) == 8
    assert all(names.values())
    assert families["toggl_focus_up"].samples[0].value == 1.0
    # Some entity is overbooked somewhere in the window (the demo shows the story).
    estimated = {
        tuple(sorted(s.labels.items())): s.value
        for s in families["toggl_focus_capacity_estimated_seconds"].samples
    }
    assert any(estimated[tuple(sorted(s.labels.items()))] > s.value > 0 for s in working)
    page = exporter.get("/").text
    assert "6 user(s), 2 ghost(s)" in page
    assert "demo-token" not in page + text + exporter.logs()
    if shutil.which("promtool") or os.environ.get("CI"):
        check = subprocess.run(
            ["promtool", "check", "metrics"],
            input=text.encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert not check.stdout.strip()
        assert not check.stderr.strip()
    else:
        pytest.skip("promtool not installed")


def test_unknown_environment_variable_is_reported_by_name(
    exporters: Callable[..., ExporterProcess],
) -> None:
    from support import base_env

    from exporter.simulator import SimulatorOptions, SimulatorThread

    with SimulatorThread(SimulatorOptions()) as sim:
        env = base_env(sim.base_url, user_ids="1001")
        env["TOGGL_FOCUS_REFRESH_INTERVALL"] = "60"  # typo
        exporter = exporters(env)
        wait_for(lambda: "TOGGL_FOCUS_REFRESH_INTERVALL" in exporter.logs(), what="warning")
    assert "unknown environment variable TOGGL_FOCUS_REFRESH_INTERVALL" in exporter.logs()
