"""The Helm chart, rendered and linted by the real Helm engine (helm-python-sdk)."""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import (
    CHART,
    NAMESPACE,
    REPO,
    Obj,
    assert_pod_hardened,
    assert_token_mounted_as_file,
    by_kind,
    ci_values_files,
    containers,
    dashboards,
    expected_rule_groups,
    load_yaml,
    manifests,
    one,
    render_chart,
    require_binary,
    validate_strict,
)
from support import run_cli

import exporter

helm_python = pytest.importorskip("helm_python")

CANARY_TOKEN = "toggl_sk_CANARY_7f3a9c1e_do_not_leak"
REQUIRED = {"config": {"organizationId": 111, "workspaceId": 222, "discover": True}}
# Settings of exporter.config.Settings that the chart sets by other means than `config`.
NOT_IN_CONFIG = {
    "api_token",
    "api_token_file",
    "email",
    "email_file",
    "password",
    "password_file",
    "listen_address",
    "web_config_file",
}

CI_CASES = [pytest.param(load_yaml(p) or {}, id=p.name) for p in ci_values_files()]
ALL_CASES = [pytest.param({}, id="default"), *CI_CASES]


def camel(field: str) -> str:
    """``max_url_length`` -> ``maxUrlLength``."""
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)


def merged(*parts: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of value dictionaries, later ones win."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merged(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def test_ci_values_cover_the_required_scenarios() -> None:
    names = {p.name for p in ci_values_files()}
    assert {
        "monitoring-values.yaml",
        "existing-secret-values.yaml",
        "custom-resources-values.yaml",
    } <= names
    monitoring = load_yaml(CHART / "ci" / "monitoring-values.yaml")
    for section in ("serviceMonitor", "prometheusRule", "grafanaDashboard"):
        assert monitoring[section]["enabled"] is True


def test_app_version_is_the_package_version() -> None:
    chart = load_yaml(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == exporter.__version__
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert f"ARG VERSION={exporter.__version__}\n" in dockerfile


@pytest.mark.parametrize("values", ALL_CASES)
def test_strict_lint_has_no_findings(values: dict[str, Any]) -> None:
    report = helm_python.lint(CHART, values, strict=True, namespace=NAMESPACE)
    assert report["errors"] == []
    serious = [m for m in report["messages"] if m["severity"] >= 2]
    assert serious == []


@pytest.mark.parametrize("values", ALL_CASES)
def test_every_object_validates_strictly(values: dict[str, Any]) -> None:
    objects = manifests(render_chart(values))
    validated = [obj["kind"] for obj in objects if validate_strict(obj)]
    assert {"Deployment", "Service", "ServiceAccount", "ConfigMap"} <= set(validated)
    for obj in objects:
        assert obj["metadata"]["namespace"] in {NAMESPACE, "grafana"}
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == "toggl-focus-exporter"


def test_kubernetes_validate_cli_passes_on_a_rendering(tmp_path: Path) -> None:
    """The `kubernetes-validate --strict` command itself accepts the monitoring rendering."""
    values = load_yaml(CHART / "ci" / "monitoring-values.yaml")
    text = "\n---\n".join(
        t for p, t in sorted(render_chart(values).items()) if not p.endswith(".txt")
    )
    path = tmp_path / "rendered.yaml"
    path.write_text(text, encoding="utf-8")
    cli = Path(sys.executable).with_name("kubernetes-validate")
    result = subprocess.run(
        [str(cli), "--strict", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout
    assert result.stdout.count("passed") >= 5


@pytest.mark.parametrize("values", ALL_CASES)
def test_pod_is_hardened_and_probed(values: dict[str, Any]) -> None:
    objects = manifests(render_chart(values))
    deployment = one(objects, "Deployment")
    assert_pod_hardened(deployment)
    account = one(objects, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"]
        == (account["metadata"]["name"])
    )
    service = one(objects, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_custom_resources_and_optional_objects() -> None:
    values = load_yaml(CHART / "ci" / "custom-resources-values.yaml")
    objects = manifests(render_chart(values))
    (container,) = containers(one(objects, "Deployment"))
    assert container["resources"] == values["resources"]
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == values["nodeSelector"]
    assert pod["tolerations"] == values["tolerations"]
    policy = one(objects, "NetworkPolicy")
    assert policy["spec"]["ingress"][0]["from"] == values["networkPolicy"]["ingressFrom"]
    assert {"port": 443, "protocol": "TCP"} in policy["spec"]["egress"][-1]["ports"]
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"] == one(objects, "Deployment")["spec"]["selector"]
    default = manifests(render_chart({}))
    assert not by_kind(default, "NetworkPolicy")
    assert not by_kind(default, "PodDisruptionBudget")


def test_token_never_appears_in_plain_text() -> None:
    values = merged(
        REQUIRED,
        {
            "auth": {"apiToken": CANARY_TOKEN},
            "serviceMonitor": {"enabled": True},
            "prometheusRule": {"enabled": True},
            "grafanaDashboard": {"enabled": True},
        },
    )
    rendered = render_chart(values)
    encoded = base64.b64encode(CANARY_TOKEN.encode()).decode()
    for path, text in rendered.items():
        assert CANARY_TOKEN not in text, path
        if not path.endswith("/secret.yaml"):
            assert encoded not in text, path
    objects = manifests(rendered)
    secret = one(objects, "Secret")
    assert secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["api-token"]).decode() == CANARY_TOKEN
    assert "stringData" not in secret
    deployment = one(objects, "Deployment")
    assert_token_mounted_as_file(deployment, secret["metadata"]["name"], "api-token")
    args = containers(deployment)[0].get("args", [])
    assert not any(CANARY_TOKEN in a for a in args)


def test_existing_secret_is_mounted_and_no_secret_is_rendered() -> None:
    values = load_yaml(CHART / "ci" / "existing-secret-values.yaml")
    objects = manifests(render_chart(values))
    assert by_kind(objects, "Secret") == []
    deployment = one(objects, "Deployment")
    assert_token_mounted_as_file(deployment, "toggl-focus", "token")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/secret" not in annotations


def test_basic_auth_credentials_are_files_too() -> None:
    values = load_yaml(CHART / "ci" / "basic-auth-values.yaml")
    rendered = render_chart(values)
    for text in rendered.values():
        assert values["auth"]["password"] not in text
    objects = manifests(rendered)
    (container,) = containers(one(objects, "Deployment"))
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TOGGL_FOCUS_EMAIL_FILE"].endswith("/email")
    assert env["TOGGL_FOCUS_PASSWORD_FILE"].endswith("/password")
    assert env["TOGGL_FOCUS_WEB_CONFIG_FILE"] == "/etc/toggl-focus-exporter/web/web-config.yml"
    assert "TOGGL_FOCUS_API_TOKEN_FILE" not in env
    assert container["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"
    monitor = one(objects, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["scheme"] == "https"


def test_no_credentials_renders_no_secret_and_warns() -> None:
    rendered = render_chart({})
    assert by_kind(manifests(rendered), "Secret") == []
    notes = next(t for p, t in rendered.items() if p.endswith("NOTES.txt"))
    assert "no credentials configured" in notes
    assert "create secret generic" in notes
    ready = render_chart(merged(REQUIRED, {"auth": {"apiToken": "x"}}))
    notes = next(t for p, t in ready.items() if p.endswith("NOTES.txt"))
    assert "WARNING" not in notes


def test_demo_mode_passes_the_flag() -> None:
    objects = manifests(render_chart({"demo": True}))
    (container,) = containers(one(objects, "Deployment"))
    assert container["args"] == ["--demo"]


def test_every_exporter_setting_is_configurable() -> None:
    from exporter.config import Settings, env_name

    fields = set(Settings.model_fields) - NOT_IN_CONFIG
    chart_keys = set(load_yaml(CHART / "values.yaml")["config"])
    assert {camel(f) for f in fields} == chart_keys
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    assert set(schema["properties"]["config"]["properties"]) == chart_keys
    objects = manifests(render_chart())
    data = one(objects, "ConfigMap")["data"]
    assert data["TOGGL_FOCUS_LISTEN_ADDRESS"] == "0.0.0.0:10019"
    assert set(data) <= {env_name(f) for f in Settings.model_fields}


def test_rendered_settings_are_accepted_by_the_exporter(tmp_path: Path) -> None:
    """Every setting, rendered by the chart, passes the exporter's own --check-config."""
    config = {
        "apiUrl": "https://focus.example.test/api",
        "organizationId": 1234567,
        "workspaceId": 7654321,
        "userIds": [10000001, 2],
        "ghostIds": [3],
        "discover": True,
        "discoveryInterval": 7200,
        "discoveryIdField": "id",
        "horizonDays": 14,
        "timezone": "Europe/Tallinn",
        "unit": "week",
        "private": False,
        "taskSources": ["focus", "outlook_calendar"],
        "includeDrafts": True,
        "arrayFormat": "repeat",
        "refreshInterval": 600,
        "requestBudget": 60,
        "maxStaleness": 1800.5,
        "quotaPause": 1200,
        "maxConcurrency": 2,
        "maxUrlLength": 2000,
        "requestTimeout": 12.5,
        "maxRetries": 3,
        "maxResponseBytes": 8388608,
        "logLevel": "debug",
        "logFormat": "json",
    }
    chart_keys = set(load_yaml(CHART / "values.yaml")["config"])
    assert set(config) == chart_keys, "set every chart setting in this test"
    objects = manifests(render_chart({"auth": {"apiToken": CANARY_TOKEN}, "config": config}))
    data = one(objects, "ConfigMap")["data"]
    assert data["TOGGL_FOCUS_USER_IDS"] == "10000001,2"
    assert data["TOGGL_FOCUS_ORGANIZATION_ID"] == "1234567"
    assert data["TOGGL_FOCUS_TASK_SOURCES"] == "focus,outlook_calendar"
    assert data["TOGGL_FOCUS_MAX_STALENESS"] == "1800.5"
    from exporter.config import Settings, env_name

    fields = set(Settings.model_fields) - NOT_IN_CONFIG
    assert set(data) == {env_name(f) for f in fields} | {"TOGGL_FOCUS_LISTEN_ADDRESS"}
    # Simulate the pod: ConfigMap as environment, the Secret's key as the mounted file.
    secret = one(objects, "Secret")
    token_file = tmp_path / "api-token"
    token_file.write_bytes(base64.b64decode(secret["data"]["api-token"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_FOCUS_")}
    env.update(data)
    env["TOGGL_FOCUS_API_TOKEN_FILE"] = str(token_file)
    result = run_cli("--check-config", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert CANARY_TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"replicaCount": "one"}, id="wrong-type-int"),
        pytest.param({"demo": "yes"}, id="wrong-type-bool"),
        pytest.param({"unknownKey": 1}, id="unknown-top-level"),
        pytest.param({"config": {"workspaceID": 1}}, id="unknown-setting"),
        pytest.param({"config": {"workspaceId": "abc"}}, id="setting-not-int"),
        pytest.param({"config": {"unit": "year"}}, id="setting-not-in-enum"),
        pytest.param({"config": {"userIds": "1,2"}}, id="ids-not-a-list"),
        pytest.param({"auth": {"method": "oauth"}}, id="auth-method"),
        pytest.param({"image": {"tag": 1}}, id="tag-not-string"),
        pytest.param(
            {"prometheusRule": {"thresholds": {"overcapacityTolerance": "high"}}},
            id="threshold-not-number",
        ),
        pytest.param({"prometheusRule": {"thresholds": {"bogus": 1}}}, id="unknown-threshold"),
        pytest.param(
            {"prometheusRule": {"rules": {"TogglFocusOvercapacity": {"for": "soon"}}}},
            id="bad-duration",
        ),
    ],
)
def test_schema_rejects_bad_values(bad: dict[str, Any]) -> None:
    with pytest.raises(helm_python.HelmValuesError):
        render_chart(bad)
    report = helm_python.lint(CHART, bad, strict=True)
    assert report["errors"]


def test_shipped_values_pass_the_schema() -> None:
    with helm_python.Chart.load(CHART) as chart:
        chart.validate_schema(chart.values)
        for path in ci_values_files():
            chart.validate_schema(chart.merge_values(load_yaml(path)))


def prometheus_rule(values: dict[str, Any]) -> Obj:
    return one(manifests(render_chart(values)), "PrometheusRule")


def test_prometheus_rule_equals_grafana_rules() -> None:
    values = load_yaml(CHART / "ci" / "monitoring-values.yaml")
    rule = prometheus_rule(values)
    assert rule["spec"]["groups"] == expected_rule_groups()
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert prometheus_rule({"prometheusRule": {"enabled": True}})["spec"]["groups"] == (
        expected_rule_groups()
    )
    assert by_kind(manifests(render_chart({})), "PrometheusRule") == []


def rules_by_name(groups: list[Obj]) -> dict[str, Obj]:
    return {r.get("alert") or r["record"]: r for g in groups for r in g["rules"]}


def test_rule_overrides_change_only_their_rules() -> None:
    shipped = rules_by_name(expected_rule_groups())
    alert = next(name for name, rule in shipped.items() if "alert" in rule)
    values = {
        "prometheusRule": {
            "enabled": True,
            "additionalAlertLabels": {"team": "planning"},
            "rules": {
                alert: {
                    "for": "2h",
                    "keep_firing_for": "30m",
                    "labels": {"severity": "info"},
                    "annotations": {"extra": "x"},
                },
                "TogglFocusApiAuthFailing": {"disabled": True},
            },
        }
    }
    got = rules_by_name(prometheus_rule(values)["spec"]["groups"])
    assert "TogglFocusApiAuthFailing" not in got
    assert got[alert]["for"] == "2h"
    assert got[alert]["keep_firing_for"] == "30m"
    assert got[alert]["labels"] == {"severity": "info", "team": "planning"}
    assert got[alert]["annotations"] == {**shipped[alert]["annotations"], "extra": "x"}
    for name, rule in got.items():
        if name == alert:
            continue
        if "alert" in rule:
            assert rule["labels"] == {**shipped[name].get("labels", {}), "team": "planning"}
            rule = {**rule, "labels": shipped[name].get("labels")}
            if shipped[name].get("labels") is None:
                del rule["labels"]
        assert rule == shipped[name]
    with pytest.raises(helm_python.HelmRenderError, match="NoSuchAlert"):
        prometheus_rule(
            {"prometheusRule": {"enabled": True, "rules": {"NoSuchAlert": {"for": "1m"}}}}
        )


THRESHOLDS = {
    # key: (rule, value, text expected in that rule's expression)
    "overcapacityTolerance": (
        "toggl_focus:capacity_overbooked:bool",
        1.15,
        "toggl_focus_capacity_working_seconds * 1.15",
    ),
    "nextWorkingDays": ("toggl_focus:capacity_next_working_days:offset_days", 10, "(10,"),
    "sustainedOvercapacityDays": ("TogglFocusSustainedOvercapacity", 4, ">= 4"),
    "staleRefreshIntervals": ("TogglFocusDataStale", 5, "toggl_focus_refresh_interval_seconds * 5"),
    "staleMinimumSeconds": ("TogglFocusDataStale", 3600000, ", 3600000)"),
}


def test_every_threshold_is_tunable(tmp_path: Path) -> None:
    values_keys = set(load_yaml(CHART / "values.yaml")["prometheusRule"]["thresholds"])
    assert set(THRESHOLDS) == values_keys
    shipped = rules_by_name(expected_rule_groups())
    values = {
        "prometheusRule": {"enabled": True, "thresholds": {k: v[1] for k, v in THRESHOLDS.items()}}
    }
    groups = prometheus_rule(values)["spec"]["groups"]
    got = rules_by_name(groups)
    touched = {rule for rule, _, _ in THRESHOLDS.values()}
    for rule, _, text in THRESHOLDS.values():
        assert text in got[rule]["expr"], (rule, got[rule]["expr"])
        assert text not in shipped[rule]["expr"]
    for name in set(shipped) - touched:
        assert got[name] == shipped[name]
    # The tuned rules are still valid Prometheus rules.
    promtool = require_binary("promtool")
    path = tmp_path / "tuned.yml"
    path.write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shipped_threshold_values_are_documented() -> None:
    """values.yaml names the shipped value of each threshold in brackets: keep it true."""
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    shipped = rules_by_name(expected_rule_groups())
    patterns = {
        "overcapacityTolerance": r"working_seconds \* ([0-9.]+)",
        "nextWorkingDays": r"bottomk without \(date\) \(([0-9]+)",
        "sustainedOvercapacityDays": r">= ([0-9]+)",
        "staleRefreshIntervals": r"interval_seconds \* ([0-9.]+)",
        "staleMinimumSeconds": r"clamp_min\([^,]+, ([0-9.]+)",
    }
    for key, pattern in patterns.items():
        match = re.search(pattern, shipped[THRESHOLDS[key][0]]["expr"])
        assert match, key
        block = text.split(f"{key}: null")[0].rsplit("# --", 1)[1]
        assert f"[{match.group(1)}]" in block, (key, match.group(1))


def test_dashboard_config_map_for_the_grafana_sidecar() -> None:
    values = load_yaml(CHART / "ci" / "monitoring-values.yaml")
    maps = [
        m
        for m in by_kind(manifests(render_chart(values)), "ConfigMap")
        if "grafana_dashboard" in m["metadata"]["labels"]
    ]
    expected = dashboards()
    assert len(maps) == len(expected)
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["namespace"] == "grafana"
        assert cm["metadata"]["annotations"] == {"grafana_folder": "Toggl Focus"}
        ((name, text),) = cm["data"].items()
        assert json.loads(text) == expected[name]
        # kubectl apply keeps a copy in an annotation limited to 256 KiB.
        assert len(json.dumps(cm)) < 256 * 1024
    custom = {
        "grafanaDashboard": {"enabled": True, "labelKey": "dashboards", "labelValue": "toggl"}
    }
    cm = next(
        m
        for m in by_kind(manifests(render_chart(custom)), "ConfigMap")
        if "dashboards" in m["metadata"]["labels"]
    )
    assert cm["metadata"]["labels"]["dashboards"] == "toggl"
    assert "grafana_dashboard" not in cm["metadata"]["labels"]
    assert cm["metadata"]["namespace"] == NAMESPACE


def test_service_monitor_scrapes_the_service() -> None:
    values = load_yaml(CHART / "ci" / "monitoring-values.yaml")
    objects = manifests(render_chart(values))
    monitor = one(objects, "ServiceMonitor")
    service = one(objects, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
