"""End to end, no mocks: simulator -> exporter -> Prometheus -> Alertmanager -> webhook.

The simulator overbooks exactly one user and one ghost; the shipped rules (with their `for:`
shortened, in a copy) must make `TogglFocusOvercapacity` reach a webhook receiver for exactly
those entities and dates, and resolve once their load is reduced. Every dashboard query must
return data from that Prometheus.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from monitoring_support import (
    ALERTMANAGER_CONFIG,
    PROMETHEUS_CONFIG,
    RULE_FILES,
    load_dashboard,
    load_yaml,
    queries,
    substitute,
)
from support import ExporterProcess, base_env, free_port, start_exporter, wait_for

from exporter.simulator import Simulator, SimulatorOptions, SimulatorThread

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

USERS = [1001, 1002, 1003]
GHOSTS = [5001, 5002]
OVERBOOKED = {("user", 1002), ("ghost", 5001)}
HORIZON_DAYS = 28  # the exporter's default window: today .. today+27
CAPACITY_ALERTS = {"TogglFocusOvercapacity", "TogglFocusSustainedOvercapacity"}

Obj = dict[str, Any]


# --- the webhook receiver ------------------------------------------------------------------


class Webhook:
    """Alertmanager's webhook notifications, collected by an HTTP server on 127.0.0.1."""

    def __init__(self) -> None:
        self.notifications: list[Obj] = []
        self._lock = threading.Lock()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with webhook._lock:
                    webhook.notifications.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def alerts(self) -> list[Obj]:
        """Every alert of every notification so far, in arrival order."""
        with self._lock:
            return [alert for n in self.notifications for alert in n["alerts"]]

    def latest(self, alertname: str) -> dict[tuple[str, str, str], str]:
        """(entity_type, entity_id, date) -> last notified status, for one alert name."""
        status: dict[tuple[str, str, str], str] = {}
        for alert in self.alerts():
            labels = alert["labels"]
            if labels["alertname"] == alertname:
                key = (labels["entity_type"], labels["entity_id"], labels.get("date", ""))
                status[key] = alert["status"]
        return status

    def firing(self, alertname: str) -> set[tuple[str, str, str]]:
        """(entity_type, entity_id, date) whose last notification says firing."""
        return {key for key, status in self.latest(alertname).items() if status == "firing"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- real programs -------------------------------------------------------------------------


@dataclass
class Program:
    """A started binary with its log file."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


def start_program(args: list[str], port: int, log: Path) -> Program:
    """Start a Prometheus-style server and wait until /-/ready answers 200."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    program = Program(proc, f"http://127.0.0.1:{port}", log)

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"{args[0]} exited {proc.returncode}:\n{program.logs()}")
        try:
            return httpx.get(program.url + "/-/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, timeout=30, what=f"{args[0]} to be ready")
    except BaseException:
        program.stop()
        raise
    return program


def shortened_rules(tmp_path: Path) -> list[Path]:
    """The shipped rule files with the capacity alerts' `for:` shortened, and no keep_firing_for.

    The exporter health alerts keep their shipped durations (they must not fire here).
    """
    paths = []
    for source in RULE_FILES:
        data = load_yaml(source)
        for group in data["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") in CAPACITY_ALERTS:
                    rule["for"] = "2s"
                    rule.pop("keep_firing_for", None)
        path = tmp_path / source.name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


def prometheus_config(tmp_path: Path, rule_files: list[Path], exporter: str, am: str) -> Path:
    """grafana/prometheus/prometheus.yml with addresses, intervals and rule paths substituted."""
    config = load_yaml(PROMETHEUS_CONFIG)
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(p) for p in rule_files]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [am]}]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [exporter]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def alertmanager_config(tmp_path: Path, webhook_url: str) -> Path:
    """grafana/alertmanager/alertmanager.yml, every receiver -> the webhook, short timers."""
    config = load_yaml(ALERTMANAGER_CONFIG)
    for receiver in config["receivers"]:
        receiver["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
    config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


# --- what the upstream says ----------------------------------------------------------------


def upstream_days(sim: Simulator) -> dict[tuple[str, int], list[Obj]]:
    """The simulator's own reply for the exporter's window: entity -> computations."""
    today = sim.today()
    last = today + datetime.timedelta(days=HORIZON_DAYS - 1)
    reply = httpx.get(
        f"{sim.base_url}/organizations/1/workspaces/1/capacities/users",
        params={
            "user_id": ",".join(map(str, USERS)),
            "ghost_id": ",".join(map(str, GHOSTS)),
            "start_date": today.isoformat(),
            "end_date": last.isoformat(),
        },
        headers={"Authorization": "Bearer demo-token"},
        timeout=10,
    )
    reply.raise_for_status()
    body = reply.json()
    items = body["items"] if isinstance(body, dict) else body
    return {(item["type"], item["id"]): item["computations"] for item in items}


def overbooked_dates(days: dict[tuple[str, int], list[Obj]]) -> dict[tuple[str, str], set[str]]:
    """(entity_type, entity_id) -> dates with estimated > working (tolerance 1.0)."""
    found: dict[tuple[str, str], set[str]] = {}
    for (kind, ident), computations in days.items():
        dates = {c["date"] for c in computations if c["estimated_minutes"] > c["working_minutes"]}
        if dates:
            found[(kind, str(ident))] = dates
    return found


def sustained(days: dict[tuple[str, int], list[Obj]]) -> set[tuple[str, str]]:
    """Entities over capacity on at least 3 of their next 5 working days."""
    found = set()
    for (kind, ident), computations in days.items():
        working = sorted(
            (c for c in computations if c["working_minutes"] > 0), key=lambda c: c["date"]
        )[:5]
        if sum(c["estimated_minutes"] > c["working_minutes"] for c in working) >= 3:
            found.add((kind, str(ident)))
    return found


# --- the stack -----------------------------------------------------------------------------


@dataclass
class Stack:
    sim: Simulator
    exporter: ExporterProcess
    prometheus: Program
    alertmanager: Program
    webhook: Webhook

    def query(self, expr: str) -> list[Obj]:
        reply = httpx.get(self.prometheus.url + "/api/v1/query", params={"query": expr}, timeout=10)
        assert reply.status_code == 200, f"{expr}: {reply.text}"
        result: list[Obj] = reply.json()["data"]["result"]
        return result

    def diagnostics(self) -> str:
        return (
            f"webhook alerts: {self.webhook.alerts()}\n"
            f"--- prometheus log:\n{self.prometheus.logs()}\n"
            f"--- alertmanager log:\n{self.alertmanager.logs()}"
        )


@pytest.fixture
def stack(tmp_path: Path, binary: Callable[[str], str]) -> Iterator[Stack]:
    prometheus_bin = binary("prometheus")
    alertmanager_bin = binary("prometheus-alertmanager")
    options = SimulatorOptions(
        users=len(USERS), ghosts=len(GHOSTS), overbooked_users=0, overbooked_ghosts=0
    )
    webhook = Webhook()
    started: list[Program | ExporterProcess] = []
    try:
        with SimulatorThread(options) as sim:
            # everybody is under capacity; these two have twice their planned work
            for kind, ident in OVERBOOKED:
                sim.set_load(kind, ident, 2.0)
            env = base_env(
                sim.base_url,
                user_ids=",".join(map(str, USERS)),
                ghost_ids=",".join(map(str, GHOSTS)),
                refresh_interval=1,
                request_budget=3600,
            )
            exporter = start_exporter(env)
            started.append(exporter)
            am_port, prom_port = free_port(), free_port()
            alertmanager = start_program(
                [
                    alertmanager_bin,
                    f"--config.file={alertmanager_config(tmp_path, webhook.url)}",
                    f"--storage.path={tmp_path / 'alertmanager'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
                am_port,
                tmp_path / "alertmanager.log",
            )
            started.append(alertmanager)
            config = prometheus_config(
                tmp_path,
                shortened_rules(tmp_path),
                f"127.0.0.1:{exporter.port}",
                f"127.0.0.1:{am_port}",
            )
            prometheus = start_program(
                [
                    prometheus_bin,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'prometheus'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                prom_port,
                tmp_path / "prometheus.log",
            )
            started.append(prometheus)
            yield Stack(sim, exporter, prometheus, alertmanager, webhook)
    finally:
        for program in reversed(started):
            program.stop()
        webhook.close()


def test_overcapacity_reaches_the_webhook_for_exactly_the_overbooked_entities(
    stack: Stack,
) -> None:
    days = upstream_days(stack.sim)
    expected = overbooked_dates(days)
    assert set(expected) == {(k, str(i)) for k, i in OVERBOOKED}, "simulator set-up"
    expected_keys = {(k, i, d) for (k, i), dates in expected.items() for d in dates}

    def all_firing() -> bool:
        return stack.webhook.firing("TogglFocusOvercapacity") >= expected_keys

    try:
        wait_for(all_firing, timeout=60, interval=0.25, what="every overbooked entity-day")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.diagnostics()}") from None

    # exactly those entities and dates, and nobody else, in any alert
    assert set(stack.webhook.latest("TogglFocusOvercapacity")) == expected_keys
    for alert in stack.webhook.alerts():
        labels = alert["labels"]
        assert labels["alertname"] in CAPACITY_ALERTS, alert
        assert (labels["entity_type"], labels["entity_id"]) in expected, alert
    overcapacity = [
        a for a in stack.webhook.alerts() if a["labels"]["alertname"] == "TogglFocusOvercapacity"
    ]
    for alert in overcapacity:
        labels, annotations = alert["labels"], alert["annotations"]
        assert labels["severity"] == "warning"
        assert annotations["runbook_url"].endswith("#togglfocusovercapacity")
        # no discovery here, so no names: "<type> <id> (...) has X h ... but only Y h ..."
        assert annotations["description"].startswith(
            f"{labels['entity_type']} {labels['entity_id']} ("
        )
        assert " h of work planned but only " in annotations["description"]
        assert labels["date"] in annotations["description"]
    # grouped per entity: no notification mixes two entities
    for notification in stack.webhook.notifications:
        entities = {
            (a["labels"]["entity_type"], a["labels"]["entity_id"]) for a in notification["alerts"]
        }
        assert len(entities) == 1, notification

    # the critical alert for the entities over capacity on most of their next 5 working days
    wanted = sustained(days)

    def sustained_firing() -> bool:
        found = stack.webhook.firing("TogglFocusSustainedOvercapacity")
        return {(kind, ident) for kind, ident, _ in found} >= wanted

    wait_for(sustained_firing, timeout=30, interval=0.25, what="TogglFocusSustainedOvercapacity")

    check_dashboard_queries(stack)

    # the planners fix the plan: every alert resolves
    for kind, ident in OVERBOOKED:
        stack.sim.set_load(kind, ident, 0.5)
    assert overbooked_dates(upstream_days(stack.sim)) == {}

    def all_resolved() -> bool:
        latest = stack.webhook.latest("TogglFocusOvercapacity")
        return all(latest.get(key) == "resolved" for key in expected_keys)

    try:
        wait_for(all_resolved, timeout=60, interval=0.25, what="resolved notifications")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.diagnostics()}") from None


def check_dashboard_queries(stack: Stack) -> None:
    """Every dashboard query, variables set to real values, returns data from Prometheus."""
    ((_, ident), *_) = sorted(OVERBOOKED)
    values = {
        "workspace": "1",
        "entity_type": "(user|ghost)",
        "entity": str(ident),
        "__interval": "15s",
        "__rate_interval": "1m",
        "__range": "1h",
        "__range_s": "3600",
    }
    dashboard = load_dashboard()
    empty = []
    for query in queries(dashboard):
        expr = substitute(query.expr, values)
        try:
            wait_for(partial(stack.query, expr), timeout=10, interval=0.5, what=expr)
        except AssertionError:
            empty.append(f"{query.where}: {expr}")
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)
