"""The shipped Prometheus rules: promtool check/test, coverage of the unit tests, metadata."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import promql_parser
import pytest
from monitoring_support import (
    DOCS,
    PROMETHEUS_CONFIG,
    RULE_FILES,
    RULE_TESTS,
    RULES_DIR,
    load_yaml,
    rules,
)

SEVERITIES = {"warning", "critical"}
RUNBOOK_BASE = (
    "https://github.com/toggl-focus-exporter/toggl-focus-exporter/blob/main/docs/monitoring.md#"
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_the_bundle_ships_rule_files_and_unit_tests() -> None:
    assert [p.name for p in RULE_FILES] == ["toggl-focus-alerts.yml", "toggl-focus-recording.yml"]
    assert RULE_TESTS, "no promtool unit tests in grafana/rules/tests/"


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_file_is_a_plain_prometheus_rule_file(path: Path) -> None:
    data = load_yaml(path)
    assert set(data) == {"groups"}, "plain rule file: only `groups:` (the chart wraps it)"
    for group in data["groups"]:
        assert group["name"].startswith("toggl-focus-")
        assert group["rules"]


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(binary: Callable[[str], str], path: Path) -> None:
    result = run(binary("promtool"), "check", "rules", "--lint=all", "--lint-fatal", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_unit_tests(binary: Callable[[str], str], path: Path) -> None:
    result = run(binary("promtool"), "test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_can_fail(binary: Callable[[str], str], tmp_path: Path) -> None:
    """A wrong expectation makes promtool fail (so the passing runs above mean something)."""
    source = RULES_DIR / "tests" / "capacity-alerts.test.yml"
    text = source.read_text(encoding="utf-8").replace("../", f"{RULES_DIR}/")
    broken = text.replace("h of work planned but only 8.0 h", "h of work planned but only 7.0 h")
    assert broken != text
    path = tmp_path / "broken.test.yml"
    path.write_text(broken, encoding="utf-8")
    result = run(binary("promtool"), "test", "rules", str(path))
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def _tested() -> tuple[str, set[str], set[str]]:
    """All promql_expr_test expressions (joined), alerts tested firing, alerts tested silent."""
    exprs: list[str] = []
    firing: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            exprs += [t["expr"] for t in case.get("promql_expr_test", [])]
            for test in case.get("alert_rule_test", []):
                (firing if test.get("exp_alerts") else silent).add(test["alertname"])
    return "\n".join(exprs), firing, silent


def test_every_recording_rule_has_a_unit_test() -> None:
    exprs, _, _ = _tested()
    for rule in rules("record"):
        name = rule["record"]
        assert re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", exprs), (
            f"no promql_expr_test queries {name}"
        )


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    _, firing, silent = _tested()
    for rule in rules("alert"):
        assert rule["alert"] in firing, f"{rule['alert']}: no test where it fires"
        assert rule["alert"] in silent, f"{rule['alert']}: no test where it stays silent"


def test_recording_rule_names_follow_the_convention() -> None:
    for rule in rules("record"):
        assert re.fullmatch(r"toggl_focus:[a-z0-9_]+(:[a-z0-9_]+)?", rule["record"]), rule["record"]


def test_every_expression_parses() -> None:
    for rule in rules():
        promql_parser.parse(rule["expr"])


def test_alerts_never_match_a_job_or_instance_by_value() -> None:
    """The job name is the operator's choice: no rule may select on it."""
    for rule in rules():
        assert not re.search(r"\b(job|instance)\s*(=|!=|=~|!~)\s*\"", rule["expr"]), rule


def test_every_alert_carries_severity_summary_description_and_runbook() -> None:
    alerts = rules("alert")
    assert {a["alert"] for a in alerts} == {
        "TogglFocusOvercapacity",
        "TogglFocusSustainedOvercapacity",
        "TogglFocusExporterDown",
        "TogglFocusDataStale",
        "TogglFocusApiQuotaExhausted",
        "TogglFocusApiAuthFailing",
    }
    for alert in alerts:
        name = alert["alert"]
        assert alert["labels"]["severity"] in SEVERITIES, name
        assert alert.get("for"), f"{name}: no `for:` (flaps on one evaluation)"
        assert alert.get("keep_firing_for"), f"{name}: no `keep_firing_for:`"
        annotations = alert["annotations"]
        assert annotations["summary"].strip(), name
        assert annotations["description"].strip(), name
        assert annotations["runbook_url"] == RUNBOOK_BASE + name.lower(), name


def test_capacity_alert_severities() -> None:
    severity = {a["alert"]: a["labels"]["severity"] for a in rules("alert")}
    assert severity["TogglFocusOvercapacity"] == "warning"
    assert severity["TogglFocusSustainedOvercapacity"] == "critical"


def test_every_alert_has_a_runbook_section_and_a_thresholds_row() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    headings = set(re.findall(r"^### (\w+)\s*$", docs, re.M))
    for alert in rules("alert"):
        name = alert["alert"]
        assert name in headings, f"docs/monitoring.md has no '### {name}' runbook section"
        rows = [line for line in docs.splitlines() if line.startswith("|") and name in line]
        assert any(f"`{alert['for']}`" in row for row in rows), (
            f"docs/monitoring.md thresholds table lacks {name} with for `{alert['for']}`"
        )


def test_prometheus_example_config(binary: Callable[[str], str]) -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    loaded = sorted((PROMETHEUS_CONFIG.parent / p).resolve() for p in config["rule_files"])
    assert loaded == [p.resolve() for p in RULE_FILES]
    result = run(binary("promtool"), "check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
