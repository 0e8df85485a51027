"""The request budget and the upstream quota: pure logic with a fake clock, then for real."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from support import ExporterProcess, base_env

from exporter.focus.quota import QuotaGuard, effective_interval, parse_seconds
from exporter.simulator import Simulator


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_caps_requests_per_hour() -> None:
    clock = FakeClock()
    guard = QuotaGuard(budget=3, default_pause=900, clock=clock)
    assert [guard.try_acquire() for _ in range(4)] == [True, True, True, False]
    assert guard.delay_for(1, 60) == pytest.approx(3600)
    clock.now += 3599
    assert not guard.try_acquire()
    clock.now += 1
    assert guard.try_acquire()


def test_402_pauses_for_resets_in_then_retry_after_then_default() -> None:
    clock = FakeClock()
    guard = QuotaGuard(budget=100, default_pause=900, clock=clock)
    assert (
        guard.observe(402, {"x-toggl-quota-remaining": "0", "x-toggl-quota-resets-in": "120"})
        == 120
    )
    assert not guard.try_acquire()
    assert guard.state().paused_for == pytest.approx(120)
    clock.now += 120
    assert guard.try_acquire()
    assert guard.observe(429, {"retry-after": "30", "x-toggl-quota-resets-in": "500"}) == 30
    clock.now += 30
    assert guard.observe(402, {"x-toggl-quota-resets-in": "soon"}) == 900


def test_remaining_quota_that_would_not_last_stretches_the_interval() -> None:
    clock = FakeClock()
    guard = QuotaGuard(budget=1000, default_pause=900, clock=clock)
    guard.observe(200, {"x-toggl-quota-remaining": "500", "x-toggl-quota-resets-in": "600"})
    assert guard.delay_for(1, 60) == 0  # 10 refreshes until the reset, 500 left
    guard.observe(200, {"x-toggl-quota-remaining": "4", "x-toggl-quota-resets-in": "600"})
    assert guard.delay_for(1, 60) == pytest.approx(150)  # 4 left for 600 s: one per 150 s
    guard.observe(200, {"x-toggl-quota-remaining": "1", "x-toggl-quota-resets-in": "600"})
    assert guard.delay_for(2, 60) == pytest.approx(600)  # not enough for a refresh: wait


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "1e9", "", "abc"])
def test_malformed_seconds_are_ignored(raw: str) -> None:
    assert parse_seconds(raw) is None


def test_effective_interval() -> None:
    assert effective_interval(1, 120, 1) == 30
    assert effective_interval(300, 20, 1) == 300
    assert effective_interval(60, 20, 2, discovery_requests=2, discovery_interval=3600) == 400
    with pytest.raises(ValueError, match="budget"):
        effective_interval(60, 2, 3)


def test_exporter_slows_down_when_the_upstream_quota_runs_low(
    make_simulator: Callable[..., Simulator], exporters: Callable[..., ExporterProcess]
) -> None:
    # The upstream allows 3 requests an hour; our own budget would allow 3600.
    sim = make_simulator(hourly_quota=3)
    exporter = exporters(
        base_env(sim.base_url, user_ids="1001", refresh_interval=1, request_budget=3600),
        ready_path="/readyz",  # waits for the first successful refresh
    )
    time.sleep(4)
    # Two requests left for ~3600 s: the next refresh is spread out, never a 402.
    assert sim.count("capacities") == 1
    assert all(r.status == 200 for r in sim.requests)
    text = exporter.metrics()
    assert "toggl_focus_api_quota_remaining 2.0" in text
    assert "toggl_focus_api_quota_resets_in_seconds" in text
