"""Helpers of the deploy tests: render the chart and the kustomizations, validate objects."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from support import require_binary

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "toggl-focus-exporter"
KUSTOMIZE = REPO / "deploy" / "kubernetes"
COMPOSE = REPO / "deploy" / "compose"
RELEASE = "tfe"
NAMESPACE = "monitoring"
# Oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest known schema.
KUBE_VERSIONS = ("1.25", kubernetes_validate.latest_version())
# Objects of the Prometheus Operator: no schema in kubernetes-validate, checked by hand.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}

Obj = dict[str, Any]


def ci_values_files() -> list[Path]:
    """The chart's ``ci/*-values.yaml`` files."""
    return sorted((CHART / "ci").glob("*-values.yaml"))


def load_yaml(path: Path) -> Any:
    """Parse one YAML document."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def render_chart(
    values: dict[str, Any] | None = None, *, namespace: str = NAMESPACE
) -> dict[str, str]:
    """Render the chart with the Helm engine: template path -> rendered text (NOTES included)."""
    import helm_python

    with helm_python.Chart.load(CHART) as chart:
        return chart.render(values or {}, name=RELEASE, namespace=namespace)


def manifests(rendered: dict[str, str]) -> list[Obj]:
    """The Kubernetes objects of a chart rendering (NOTES.txt left out)."""
    objects: list[Obj] = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def kustomize(path: Path) -> list[Obj]:
    """``kubectl kustomize path`` parsed into objects."""
    kubectl = require_binary("kubectl")
    result = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def validate_strict(obj: Obj) -> bool:
    """Validate ``obj`` strictly for every KUBE_VERSIONS; False for operator CRD kinds."""
    if obj["kind"] in CRD_KINDS:
        return False
    for version in KUBE_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            pytest.fail(
                f"{obj['kind']}/{obj['metadata']['name']} ({version}) {where}: {exc.message}"
            )
    return True


def by_kind(objects: list[Obj], kind: str) -> list[Obj]:
    """Objects of one kind."""
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: list[Obj], kind: str) -> Obj:
    """The single object of ``kind``."""
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def containers(deployment: Obj) -> list[Obj]:
    """Containers of a Deployment's pod template."""
    result: list[Obj] = deployment["spec"]["template"]["spec"]["containers"]
    return result


def expected_rule_groups() -> list[Obj]:
    """Every rule group of grafana/rules/*.yml (Prometheus rule files), in file name order."""
    groups: list[Obj] = []
    for path in sorted((REPO / "grafana" / "rules").glob("*.y*ml")):
        doc = load_yaml(path)
        if isinstance(doc, dict) and "groups" in doc:
            groups.extend(doc["groups"])
    assert groups, "grafana/rules holds no rule file"
    return groups


def dashboards() -> dict[str, Any]:
    """grafana/dashboards/*.json by file name, parsed."""
    import json

    found = {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((REPO / "grafana" / "dashboards").glob("*.json"))
    }
    assert found, "grafana/dashboards holds no dashboard"
    return found


def secret_strings(obj: Obj) -> Iterator[str]:
    """Decoded values of a Secret."""
    for value in (obj.get("data") or {}).values():
        yield base64.b64decode(value).decode("utf-8")
    yield from (obj.get("stringData") or {}).values()


def assert_pod_hardened(deployment: Obj) -> None:
    """The Deployment's pod runs non-root, read-only, without capabilities or SA token."""
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    pod_ctx = pod["securityContext"]
    assert pod_ctx["runAsNonRoot"] is True
    assert pod_ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod_ctx.get("runAsUser", 65532) != 0
    for container in containers(deployment):
        ctx = container["securityContext"]
        assert ctx["runAsNonRoot"] is True
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"]["drop"] == ["ALL"]
        assert not ctx["capabilities"].get("add")
        assert ctx.get("privileged", False) is False
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
        assert ctx.get("runAsUser", 65532) != 0
        assert container["resources"]["requests"]
        assert container["resources"]["limits"]
        liveness = container["livenessProbe"]["httpGet"]
        readiness = container["readinessProbe"]["httpGet"]
        assert (liveness["path"], liveness["port"]) == ("/healthz", "http")
        assert (readiness["path"], readiness["port"]) == ("/readyz", "http")
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert "http" in ports


def assert_token_mounted_as_file(deployment: Obj, secret_name: str, key: str) -> str:
    """The token reaches the container only as a file from ``secret_name``/``key``.

    Returns the path that TOGGL_FOCUS_API_TOKEN_FILE names.
    """
    pod = deployment["spec"]["template"]["spec"]
    (container,) = containers(deployment)
    env = {e["name"]: e for e in container.get("env", [])}
    assert "TOGGL_FOCUS_API_TOKEN" not in env
    for entry in container.get("env", []):
        assert "valueFrom" not in entry or "secretKeyRef" not in entry["valueFrom"], entry
    for source in container.get("envFrom", []):
        assert "secretRef" not in source, source
    token_file = env["TOGGL_FOCUS_API_TOKEN_FILE"]["value"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = [
        m
        for m in container["volumeMounts"]
        if "secret" in volumes[m["name"]]
        and volumes[m["name"]]["secret"]["secretName"] == secret_name
    ]
    assert len(mounts) == 1, mounts
    mount = mounts[0]
    assert mount.get("readOnly") is True
    secret = volumes[mount["name"]]["secret"]
    items = {i["key"]: i["path"] for i in secret.get("items", [])}
    relative = items.get(key, key)
    assert token_file == f"{mount['mountPath'].rstrip('/')}/{relative}"
    mode = secret.get("defaultMode", 0o644)
    assert mode & 0o007 == 0, f"secret files readable by others: {oct(mode)}"
    return token_file
