"""Faults that need the exporter in process: the clock crossing midnight in the configured
time zone, and discovery failing while capacities keep working."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from faultsupport import capacity, parse, value
from support import InProcessExporter, wait_for

from exporter.config import load_settings
from exporter.simulator import Fault, Simulator, SimulatorOptions, SimulatorThread

ZONE = "America/New_York"
DATE_START = "toggl_focus_date_start_timestamp_seconds"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("TOGGL_FOCUS_"):
            monkeypatch.delenv(key)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with SimulatorThread(SimulatorOptions(users=2, ghosts=1)) as simulator:
        yield simulator


class Clock:
    """Wall time shifted by an adjustable offset (the exporter's only clock for dates)."""

    def __init__(self, start: float) -> None:
        self._offset = start - time.time()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def jump(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


def dates(samples: dict, name: str | None = None) -> set[str]:
    keys = capacity(samples) if name is None else {k: v for k, v in samples.items() if k[0] == name}
    return {dict(labels)["date"] for _, labels in keys}


def test_midnight_in_the_configured_time_zone_moves_the_window(sim: Simulator) -> None:
    zone = ZoneInfo(ZONE)
    day = date(2026, 3, 7)  # the night before the DST change: a 23-hour day follows
    before_midnight = datetime(2026, 3, 7, 23, 59, 50, tzinfo=zone).timestamp()
    clock = Clock(before_midnight)
    settings = load_settings(
        api_url=sim.base_url,
        api_token="demo-token",
        organization_id=1,
        workspace_id=1,
        user_ids="1001,1002",
        ghost_ids="5001",
        timezone=ZONE,
        horizon_days=7,
        refresh_interval=1,
        request_budget=3600,
        listen_address="127.0.0.1:0",
    )
    with InProcessExporter(settings, clock=clock) as running:
        wait_for(lambda: running.get("/readyz").status_code == 200, what="first refresh")
        old = parse(running.get("/metrics").text)
        window = {(day + timedelta(days=i)).isoformat() for i in range(7)}
        assert dates(old) == window
        assert dates(old, DATE_START) == window

        clock.jump(20)  # 00:00:10 on March 8th in New York (05:00:10 UTC)
        moved = {(day + timedelta(days=i)).isoformat() for i in range(1, 8)}

        def crossed() -> dict | None:
            samples = parse(running.get("/metrics").text)
            return samples if dates(samples) == moved else None

        new = wait_for(crossed, 10, what="the window to move past midnight")
        assert dates(new, DATE_START) == moved
        assert day.isoformat() not in running.get("/metrics").text
        march_8 = datetime(2026, 3, 8, tzinfo=zone).timestamp()
        march_9 = datetime(2026, 3, 9, tzinfo=zone).timestamp()
        assert value(new, DATE_START, date="2026-03-08") == march_8
        assert march_9 - march_8 == 23 * 3600  # DST: the period starts follow the zone
        assert value(new, DATE_START, date="2026-03-09") == march_9
        assert value(new, "toggl_focus_up") == 1
        # the upstream was asked for the new window
        last = [r for r in sim.requests if r.endpoint == "capacities"][-1]
        query = dict(last.query)
        assert query["start_date"] == "2026-03-08"
        assert query["end_date"] == "2026-03-14"


def test_discovery_failing_while_capacities_work(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = load_settings(
        api_url=sim.base_url,
        api_token="demo-token",
        organization_id=1,
        workspace_id=1,
        discover=True,
        discovery_interval=600,
        horizon_days=7,
        refresh_interval=1,
        request_budget=3600,
        max_retries=0,
        listen_address="127.0.0.1:0",
    )
    with InProcessExporter(settings) as running:
        collector = running.exporter.collector

        def named() -> dict | None:
            samples = parse(running.get("/metrics").text)
            infos = [k for k in samples if k[0] == "toggl_focus_entity_info"]
            return samples if len(infos) == 3 and capacity(samples) else None

        before = wait_for(named, 15, what="discovered names and data")
        sim.set_fault(Fault.STATUS, status=500, endpoint="users")
        caplog.clear()
        collector._next_discovery = 0.0  # the next discovery round is due now
        failed_at = time.monotonic()

        def discovery_failed() -> dict | None:
            samples = parse(running.get("/metrics").text)
            code = value(samples, "toggl_focus_api_requests_total", endpoint="users", code="500")
            return samples if code >= 1 else None

        during = wait_for(discovery_failed, 10, what="a failed discovery")
        # capacities keep flowing for the entities found before; names are kept
        stamp = value(during, "toggl_focus_last_refresh_success_timestamp_seconds")
        during = wait_for(
            lambda: (
                s
                if value(
                    s := parse(running.get("/metrics").text),
                    "toggl_focus_last_refresh_success_timestamp_seconds",
                )
                > stamp
                else None
            ),
            10,
            what="a refresh after the failed discovery",
        )
        assert value(during, "toggl_focus_up") == 1
        assert capacity(during).keys() == capacity(before).keys()
        infos = {k for k in during if k[0] == "toggl_focus_entity_info"}
        assert infos == {k for k in before if k[0] == "toggl_focus_entity_info"}
        # no hammering: the retry waits (at least a minute), within the request budget
        assert collector._next_discovery - failed_at >= 60
        errors = [r.getMessage() for r in caplog.records if r.getMessage().startswith("discovery:")]
        assert len(errors) == 1
        assert "HTTP 500" in errors[0]

        sim.set_fault(None)
        caplog.clear()
        collector._next_discovery = 0.0
        wait_for(
            lambda: any(
                "discovery: 2 user(s), 1 ghost(s)" in r.getMessage() for r in caplog.records
            ),
            10,
            what="discovery to recover",
        )
        assert any("upstream answering again" in r.getMessage() for r in caplog.records)
