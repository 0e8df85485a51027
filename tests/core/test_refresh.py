"""The refresh loop through real HTTP: batching, budget, quota pause, retries, staleness."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from datetime import date

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import ExporterProcess, base_env, wait_for

from exporter.focus.batching import plan_batches
from exporter.focus.query import CapacityQuery
from exporter.simulator import Fault, Simulator

Start = Callable[..., ExporterProcess]


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of one metric family, keyed by their sorted labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str) -> float | None:
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def entity_ids(text: str) -> set[str]:
    return {dict(k)["entity_id"] for k in samples(text, "toggl_focus_capacity_working_seconds")}


def capacity_queries(sim: Simulator) -> list[list[tuple[str, str]]]:
    return [r.query for r in sim.requests if r.endpoint == "capacities"]


@pytest.mark.parametrize("array_format", ["csv", "repeat"])
def test_batches_cover_every_entity_once_within_url_limit(
    make_simulator: Callable[..., Simulator], exporters: Start, array_format: str
) -> None:
    sim = make_simulator(users=150, ghosts=40)
    users = ",".join(str(i) for i in range(1001, 1151))
    ghosts = ",".join(str(i) for i in range(5001, 5041))
    exporter = exporters(
        base_env(
            sim.base_url,
            user_ids=users,
            ghost_ids=ghosts,
            max_url_length=700,
            array_format=array_format,
            refresh_interval=3600,
            request_budget=3600,
        ),
        ready_path="/readyz",  # waits for the first successful refresh
    )
    queries = capacity_queries(sim)
    asked: list[str] = []
    for query in queries:
        for key, raw in query:
            if key in ("user_id", "ghost_id"):
                asked += raw.split(",")
        if array_format == "csv":
            assert sum(1 for k, _ in query if k == "user_id") == 1
    # Every entity asked for exactly once (ghost-only batches repeat the first user).
    assert sorted(set(asked)) == sorted(set(users.split(",") + ghosts.split(",")))
    expected = plan_batches(
        CapacityQuery(array_format=array_format, max_url_length=700),
        len(f"{sim.base_url}/organizations/1/workspaces/1/capacities/users?"),
        list(range(1001, 1151)),
        list(range(5001, 5041)),
        date.today(),
        date.today(),
    )
    assert len(queries) == len(expected) > 1
    for request in sim.requests:
        assert len(request.path) + 1 + len("&".join(f"{k}={v}" for k, v in request.query)) <= 700
    text = exporter.metrics()
    assert len(entity_ids(text)) == 190


def test_budget_limits_requests_and_scrapes_cost_nothing(
    simulator: Simulator, exporters: Start
) -> None:
    # 720 requests/hour and one request per refresh: at most one refresh every 5 s,
    # whatever the configured interval (the 120/h -> 30 s, scaled down).
    exporter = exporters(
        base_env(
            simulator.base_url,
            user_ids="1001,1002",
            refresh_interval=1,
            request_budget=720,
        )
    )
    started = time.monotonic()
    wait_for(lambda: simulator.count("capacities") >= 1, what="first request")
    for _ in range(100):
        exporter.metrics()
    time.sleep(max(0.0, 11 - (time.monotonic() - started)))
    assert 2 <= simulator.count("capacities") <= 3
    assert value(exporter.metrics(), "toggl_focus_refresh_interval_seconds") == 5.0


def test_quota_402_stops_all_calls_until_reset_and_keeps_data(
    simulator: Simulator, exporters: Start
) -> None:
    exporter = exporters(
        base_env(
            simulator.base_url,
            user_ids="1001,1002",
            ghost_ids="5001",
            refresh_interval=1,
            request_budget=3600,
        ),
        ready_path="/readyz",  # waits for the first successful refresh
    )
    before = samples(exporter.metrics(), "toggl_focus_capacity_working_seconds")
    simulator.set_fault(Fault.QUOTA_EXHAUSTED, count=1, resets_in=4)
    wait_for(lambda: any(r.status == 402 for r in simulator.requests), what="the 402")
    paused_at = time.monotonic()
    count_at_402 = len(simulator.requests)
    wait_for(lambda: value(exporter.metrics(), "toggl_focus_up") == 0.0, what="up 0")
    text = exporter.metrics()
    assert value(text, "toggl_focus_api_quota_exhausted") == 1.0
    assert samples(text, "toggl_focus_capacity_working_seconds") == before
    assert 'toggl_focus_api_requests_total{code="402",endpoint="capacities"} 1.0' in text
    # Silence until the reset: no request at all for the next 3.5 s.
    while time.monotonic() - paused_at < 3.5:
        assert len(simulator.requests) == count_at_402
        time.sleep(0.1)
    wait_for(
        lambda: value(exporter.metrics(), "toggl_focus_up") == 1.0, timeout=10, what="recovery"
    )
    assert value(exporter.metrics(), "toggl_focus_api_quota_exhausted") == 0.0
    assert "quota exhausted (HTTP 402)" in exporter.logs()


def test_5xx_is_retried_a_bounded_number_of_times_then_last_data_kept(
    simulator: Simulator, exporters: Start
) -> None:
    exporter = exporters(
        base_env(
            simulator.base_url,
            user_ids="1001",
            refresh_interval=3,
            request_budget=3600,
            max_retries=2,
        ),
        ready_path="/readyz",  # waits for the first successful refresh
    )
    before = samples(exporter.metrics(), "toggl_focus_capacity_estimated_seconds")
    first = simulator.count("capacities")
    simulator.set_fault(Fault.STATUS, status=503)
    wait_for(lambda: value(exporter.metrics(), "toggl_focus_up") == 0.0, what="up 0")
    attempts = [r.status for r in simulator.requests[first:] if r.endpoint == "capacities"]
    assert attempts[:3] == [503, 503, 503]  # one try and two retries, then the refresh fails
    simulator.set_fault(None)
    assert samples(exporter.metrics(), "toggl_focus_capacity_estimated_seconds") == before
    wait_for(lambda: value(exporter.metrics(), "toggl_focus_up") == 1.0, what="recovery")
    assert 'code="503",endpoint="capacities"' in exporter.metrics()


def test_stale_entities_expire_and_vanished_entities_disappear(
    simulator: Simulator, exporters: Start
) -> None:
    exporter = exporters(
        base_env(
            simulator.base_url,
            user_ids="1001,1002,1003",
            refresh_interval=1,
            request_budget=3600,
            max_staleness=3,
            max_retries=0,
        ),
        ready_path="/readyz",  # waits for the first successful refresh
    )
    assert entity_ids(exporter.metrics()) == {"1001", "1002", "1003"}
    # The upstream stops returning 1003: its series vanish at the next refresh.
    simulator.set_entities(users=[1001, 1002])
    wait_for(lambda: entity_ids(exporter.metrics()) == {"1001", "1002"}, what="1003 gone")
    # Failing upstream: data kept while younger than MAX_STALENESS, then dropped.
    simulator.set_fault(Fault.STATUS, status=500)
    failing_since = time.monotonic()
    wait_for(lambda: value(exporter.metrics(), "toggl_focus_up") == 0.0, what="up 0")
    assert entity_ids(exporter.metrics()) == {"1001", "1002"}
    wait_for(lambda: entity_ids(exporter.metrics()) == set(), timeout=10, what="expiry")
    assert time.monotonic() - failing_since >= 2.0
    simulator.set_fault(None)
    wait_for(lambda: entity_ids(exporter.metrics()) == {"1001", "1002"}, what="recovery")


def test_sigterm_shuts_down_cleanly_within_5_seconds(
    simulator: Simulator, exporters: Start
) -> None:
    exporter = exporters(base_env(simulator.base_url, user_ids="1001"))
    started = time.monotonic()
    assert exporter.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5
    assert "stopped" in exporter.logs()


def test_readyz_is_503_until_the_first_successful_refresh(
    simulator: Simulator, exporters: Start
) -> None:
    simulator.set_fault(Fault.STATUS, status=500)
    exporter = exporters(
        base_env(
            simulator.base_url,
            user_ids="1001",
            refresh_interval=1,
            request_budget=3600,
            max_retries=0,
        )
    )
    assert exporter.get("/healthz").status_code == 200
    assert exporter.get("/readyz").status_code == 503
    assert value(exporter.metrics(), "toggl_focus_up") == 0.0
    simulator.set_fault(None)
    wait_for(lambda: exporter.get("/readyz").status_code == 200, what="ready")
