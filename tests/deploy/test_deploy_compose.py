"""The compose stack: valid for docker-compose and the compose spec, wired to grafana/."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from deploy_support import COMPOSE, REPO, load_yaml, require_binary

COMPOSE_FILE = COMPOSE / "compose.yaml"
LIVE_FILE = COMPOSE / "compose.live.yaml"
PROMETHEUS_CONFIG = REPO / "grafana" / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = REPO / "grafana" / "alertmanager" / "alertmanager.yml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    services: dict[str, Any] = load_yaml(COMPOSE_FILE)["services"]
    return services


def docker_compose(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    binary = require_binary("docker-compose")
    return subprocess.run(
        [binary, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_docker_compose_accepts_the_stack() -> None:
    result = docker_compose("-f", str(COMPOSE_FILE), "config", "-q")
    assert result.returncode == 0, result.stderr


def test_docker_compose_accepts_the_live_override(tmp_path: Path) -> None:
    token = tmp_path / "api-token.txt"
    token.write_text("toggl_sk_example", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_FOCUS_")}
    files = ["-f", str(COMPOSE_FILE), "-f", str(LIVE_FILE)]
    missing = docker_compose(*files, "config", "-q", env=env)
    assert missing.returncode != 0
    assert "TOGGL_FOCUS_ORGANIZATION_ID" in missing.stderr
    env |= {
        "TOGGL_FOCUS_ORGANIZATION_ID": "1",
        "TOGGL_FOCUS_WORKSPACE_ID": "2",
        "TOGGL_FOCUS_API_TOKEN_PATH": str(token),
    }
    result = docker_compose(*files, "config", env=env)
    assert result.returncode == 0, result.stderr
    import yaml

    exporter = yaml.safe_load(result.stdout)["services"]["exporter"]
    assert "--demo" not in exporter["command"]
    assert exporter["environment"]["TOGGL_FOCUS_API_TOKEN_FILE"] == (
        "/run/secrets/toggl_focus_api_token"
    )
    assert "TOGGL_FOCUS_API_TOKEN" not in exporter["environment"]
    assert "toggl_sk_example" not in result.stdout


def test_compose_spec_schema_accepts_the_files() -> None:
    cli = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(cli), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE), str(LIVE_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_exporter_runs_the_repository_image_in_demo_mode(services: dict[str, Any]) -> None:
    exporter = services["exporter"]
    context = (COMPOSE / exporter["build"]["context"]).resolve()
    assert context == REPO
    assert (context / exporter["build"]["dockerfile"]).is_file()
    assert exporter["command"] == ["--demo"]
    assert exporter["read_only"] is True
    assert exporter["cap_drop"] == ["ALL"]
    assert not str(exporter["user"]).startswith("0")
    assert "10019:10019" in exporter["ports"]
    for name, service in services.items():
        if "image" in service and name != "exporter":
            assert ":" in service["image"], name
            assert not service["image"].endswith(":latest"), name


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """Map a path inside a service's container to the repository file bind-mounted there."""
    target = PurePosixPath(os.path.normpath(container_path))
    best: tuple[int, Path] | None = None
    for volume in service.get("volumes", []):
        source, mount = volume.split(":")[:2]
        if not source.startswith((".", "/")):
            continue  # named volume
        mount_path = PurePosixPath(mount)
        if target == mount_path or mount_path in target.parents:
            depth = len(mount_path.parts)
            if best is None or depth > best[0]:
                best = (depth, (COMPOSE / source).resolve() / target.relative_to(mount_path))
    assert best is not None, f"{container_path} is not mounted from the repository"
    return best[1]


def flag(service: dict[str, Any], name: str) -> str:
    for arg in service["command"]:
        if arg.startswith(f"{name}="):
            return str(arg.split("=", 1)[1])
    raise AssertionError(f"{name} not set")


def test_prometheus_runs_the_shipped_config_and_rules(services: dict[str, Any]) -> None:
    prometheus = services["prometheus"]
    config_in_container = flag(prometheus, "--config.file")
    assert host_path(prometheus, config_in_container) == PROMETHEUS_CONFIG
    config = load_yaml(PROMETHEUS_CONFIG)
    config_dir = PurePosixPath(config_in_container).parent
    loaded: set[Path] = set()
    for pattern in config.get("rule_files", []):
        in_container = config_dir / pattern
        loaded |= {
            Path(p).resolve() for p in glob.glob(str(host_path(prometheus, str(in_container))))
        }
    shipped = {
        p.resolve()
        for p in (REPO / "grafana" / "rules").glob("*.y*ml")
        if "groups" in (load_yaml(p) or {})
    }
    assert shipped
    assert shipped <= loaded
    targets = {
        t
        for job in config["scrape_configs"]
        for sc in job.get("static_configs", [])
        for t in sc["targets"]
    }
    assert "exporter:10019" in targets
    alertmanagers = {
        t
        for am in config["alerting"]["alertmanagers"]
        for sc in am.get("static_configs", [])
        for t in sc["targets"]
    }
    assert "alertmanager:9093" in alertmanagers


def test_alertmanager_runs_the_shipped_config(services: dict[str, Any]) -> None:
    alertmanager = services["alertmanager"]
    path = host_path(alertmanager, flag(alertmanager, "--config.file"))
    assert path == ALERTMANAGER_CONFIG
    assert "route" in load_yaml(path)


def test_grafana_provisions_datasource_and_dashboards(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    provisioning = host_path(grafana, "/etc/grafana/provisioning")
    datasources = load_yaml(provisioning / "datasources" / "datasources.yaml")["datasources"]
    prometheus = next(d for d in datasources if d["type"] == "prometheus")
    assert prometheus["url"] == "http://prometheus:9090"
    assert prometheus["isDefault"] is True
    assert "9090:9090" in services["prometheus"]["ports"]
    alertmanager = next(d for d in datasources if d["type"] == "alertmanager")
    assert alertmanager["url"] == "http://alertmanager:9093"
    (provider,) = load_yaml(provisioning / "dashboards" / "dashboards.yaml")["providers"]
    dashboards_dir = host_path(grafana, provider["options"]["path"])
    shipped = sorted(p.name for p in (REPO / "grafana" / "dashboards").glob("*.json"))
    assert shipped
    assert sorted(p.name for p in dashboards_dir.glob("*.json")) == shipped
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path(grafana, home).is_file()
