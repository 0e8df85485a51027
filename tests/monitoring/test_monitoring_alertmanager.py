"""The example Alertmanager configuration, checked and routed by the real amtool."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from monitoring_support import ALERTMANAGER_CONFIG, load_yaml


def amtool(binary: Callable[[str], str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary("amtool"), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_amtool_check_config(binary: Callable[[str], str]) -> None:
    result = amtool(binary, "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_placeholder_receivers_are_valid_once_uncommented(
    binary: Callable[[str], str], tmp_path: Path
) -> None:
    """Uncommenting the webhook, e-mail and Slack examples gives a valid configuration."""
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    filled = re.sub(r"^( +)# ", r"\1", text, flags=re.M)
    path = tmp_path / "alertmanager.yml"
    path.write_text(filled, encoding="utf-8")
    config = load_yaml(path)
    receivers = {r["name"]: r for r in config["receivers"]}
    for name in ("toggl-focus-critical", "toggl-focus-warning"):
        assert {"webhook_configs", "email_configs", "slack_configs"} <= set(receivers[name])
    result = amtool(binary, "check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            ["alertname=TogglFocusSustainedOvercapacity", "severity=critical"],
            "toggl-focus-critical",
        ),
        (["alertname=TogglFocusOvercapacity", "severity=warning"], "toggl-focus-warning"),
        (["alertname=TogglFocusExporterDown", "severity=warning"], "toggl-focus-warning"),
        (["alertname=SomethingElse"], "default"),
    ],
)
def test_routes_by_severity(binary: Callable[[str], str], labels: list[str], receiver: str) -> None:
    result = amtool(
        binary, "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [receiver]


def test_groups_notifications_per_entity() -> None:
    route = load_yaml(ALERTMANAGER_CONFIG)["route"]
    assert {"alertname", "entity_type", "entity_id"} <= set(route["group_by"])
    assert all("group_by" not in child for child in route["routes"])
