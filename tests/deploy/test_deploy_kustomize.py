"""The kustomize manifests, rendered with `kubectl kustomize` and validated strictly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from deploy_support import (
    KUSTOMIZE,
    Obj,
    assert_pod_hardened,
    assert_token_mounted_as_file,
    by_kind,
    containers,
    dashboards,
    expected_rule_groups,
    kustomize,
    load_yaml,
    one,
    validate_strict,
)
from support import run_cli

import exporter
from exporter.config import Settings, env_name

BASE = KUSTOMIZE / "base"
OVERLAY = KUSTOMIZE / "overlays" / "example"
SECRET_NAME = "toggl-focus-exporter-credentials"


@pytest.fixture(scope="module")
def base() -> list[Obj]:
    return kustomize(BASE)


@pytest.fixture(scope="module")
def overlay() -> list[Obj]:
    return kustomize(OVERLAY)


def test_base_renders_the_core_objects(base: list[Obj]) -> None:
    kinds = sorted(obj["kind"] for obj in base)
    assert kinds == ["ConfigMap", "Deployment", "Service", "ServiceAccount"]
    # The base never carries a Secret: applying it cannot overwrite the operator's token.
    assert by_kind(base, "Secret") == []


@pytest.mark.parametrize("which", ["base", "overlay"])
def test_every_object_validates_strictly(which: str, request: pytest.FixtureRequest) -> None:
    objects: list[Obj] = request.getfixturevalue(which)
    validated = {obj["kind"] for obj in objects if validate_strict(obj)}
    assert {"Deployment", "Service", "ServiceAccount", "ConfigMap"} <= validated


@pytest.mark.parametrize("which", ["base", "overlay"])
def test_pod_is_hardened_and_reads_the_token_from_a_file(
    which: str, request: pytest.FixtureRequest
) -> None:
    objects: list[Obj] = request.getfixturevalue(which)
    deployment = one(objects, "Deployment")
    assert_pod_hardened(deployment)
    assert_token_mounted_as_file(deployment, SECRET_NAME, "api-token")
    assert one(objects, "ServiceAccount")["automountServiceAccountToken"] is False
    (container,) = containers(deployment)
    config_map = one(
        [o for o in objects if "grafana_dashboard" not in o["metadata"].get("labels", {})],
        "ConfigMap",
    )
    assert container["envFrom"] == [{"configMapRef": {"name": config_map["metadata"]["name"]}}]
    service = one(objects, "Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_image_tag_is_the_package_version(base: list[Obj]) -> None:
    (container,) = containers(one(base, "Deployment"))
    assert container["image"].endswith(f":{exporter.__version__}")


def test_overlay_sets_namespace_and_monitoring(overlay: list[Obj]) -> None:
    assert {obj["metadata"].get("namespace") for obj in overlay} == {"monitoring"}
    rule = one(overlay, "PrometheusRule")
    assert rule["spec"]["groups"] == expected_rule_groups()
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    monitor = one(overlay, "ServiceMonitor")
    service = one(overlay, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    expected = dashboards()
    maps = [
        m
        for m in by_kind(overlay, "ConfigMap")
        if m["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    assert {name for m in maps for name in m["data"]} == set(expected)
    for cm in maps:
        for name, text in cm["data"].items():
            assert json.loads(text) == expected[name]


def test_config_names_are_exporter_settings(overlay: list[Obj], tmp_path: Path) -> None:
    """The overlay's ConfigMap holds only real settings, and the exporter accepts them."""
    data = one(
        [
            o
            for o in overlay
            if o["metadata"]["name"].startswith("toggl-focus-exporter-")
            and "grafana_dashboard" not in o["metadata"]["labels"]
        ],
        "ConfigMap",
    )["data"]
    known = {env_name(field) for field in Settings.model_fields}
    assert set(data) <= known
    token = tmp_path / "api-token"
    token.write_text("toggl_sk_example", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_FOCUS_")}
    env.update(data)
    (container,) = containers(one(overlay, "Deployment"))
    for entry in container["env"]:
        env[entry["name"]] = entry["value"]
    assert env.pop("TOGGL_FOCUS_API_TOKEN_FILE") == "/etc/toggl-focus-exporter/secrets/api-token"
    env["TOGGL_FOCUS_API_TOKEN_FILE"] = str(token)
    result = run_cli("--check-config", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_secret_example_matches_what_the_deployment_mounts() -> None:
    example = load_yaml(BASE / "secret.example.yaml")
    assert example["kind"] == "Secret"
    assert example["metadata"]["name"] == SECRET_NAME
    assert set(example["stringData"]) == {"api-token"}
    assert validate_strict(example)
    kustomization = load_yaml(BASE / "kustomization.yaml")
    assert "secret.example.yaml" not in kustomization["resources"]
    assert "secretGenerator" not in kustomization
