"""One test per fault of the upstream (issue 6's fault table), through the real exporter.

Each shows: the process keeps serving, the last good data stays while fresh, the
self-metrics tell the story (``toggl_focus_up`` 0, ``toggl_focus_api_requests_total``
by code), one clear log line explains it, and ``toggl_focus_up`` returns to 1 when the
fault clears. One exporter process serves every test of this module (faults are
cleared and a healthy refresh awaited before each), so the suite stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from faultsupport import (
    GHOSTS,
    USERS,
    Rig,
    capacity,
    rss_kib,
    running_rig,
    sane,
    timed,
    value,
)
from support import wait_for

from exporter.simulator import Fault

REQUESTS = "toggl_focus_api_requests_total"


@pytest.fixture(scope="module")
def shared_rig() -> Iterator[Rig]:
    with running_rig(healthy=False) as rig:
        yield rig


@pytest.fixture
def rig(shared_rig: Rig) -> Rig:
    shared_rig.healthy()
    return shared_rig


def outage(
    rig: Rig,
    start: Callable[[], None],
    stop: Callable[[], None],
    code: str,
    phrase: str,
    endpoint: str = "capacities",
) -> None:
    """Start a fault, check the exporter's behaviour during it, stop it, check recovery."""
    before = rig.healthy()
    cursor = rig.cursor()
    counted = value(before, REQUESTS, endpoint=endpoint, code=code)
    start()
    try:
        # at least two failed attempts, so "one log line" means one for the whole outage
        during = wait_for(
            lambda: (
                samples
                if value(samples := rig.scrape(), REQUESTS, endpoint=endpoint, code=code)
                >= counted + 2
                and value(samples, "toggl_focus_up") == 0
                else None
            ),
            20,
            what=f"failed requests with code {code}",
        )
        assert capacity(during).keys() == capacity(before).keys(), "last good data dropped"
        explained = cursor.lines(phrase)
        assert len(explained) == 1, f"want one log line with {phrase!r}:\n{cursor.text()}"
        assert rig.exporter.get("/healthz").status_code == 200
        assert rig.exporter.get("/readyz").status_code == 200
    finally:
        stop()
    after = rig.wait_up(1, timeout=20)
    assert capacity(after).keys() == capacity(before).keys()
    assert cursor.lines("upstream answering again")
    assert rig.exporter.proc.poll() is None


def fault(rig: Rig, kind: Fault, **params: object) -> tuple[Callable[[], None], Callable[[], None]]:
    return (lambda: rig.sim.set_fault(kind, **params)), (lambda: rig.sim.set_fault(None))


# --- latency and timeouts ----------------------------------------------------------------


def test_latency_spike_below_the_timeout_is_no_outage(rig: Rig) -> None:
    cursor = rig.cursor()
    rig.sim.set_fault(Fault.LATENCY, seconds=0.6)
    try:
        # while a slow refresh is in flight, scrapes answer from the cache at once
        for _ in range(10):
            assert timed(rig.exporter.metrics) < 0.3
        samples = wait_for(
            lambda: (
                s
                if value(s := rig.scrape(), "toggl_focus_refresh_duration_seconds") >= 0.6
                else None
            ),
            10,
            what="a slow refresh",
        )
        assert value(samples, "toggl_focus_up") == 1
    finally:
        rig.sim.set_fault(None)
    assert not cursor.lines("WARNING")


def test_timeout(rig: Rig) -> None:
    outage(rig, *fault(rig, Fault.HANG, seconds=30), "timeout", "timed out after 1 s")


# --- transport ---------------------------------------------------------------------------


def test_connection_refused(rig: Rig) -> None:
    outage(rig, rig.thread.go_offline, rig.thread.go_online, "connection_error", "ConnectError")


def test_connection_reset_mid_body(rig: Rig) -> None:
    outage(rig, *fault(rig, Fault.RESET), "connection_error", "capacities: ")


def test_truncated_body(rig: Rig) -> None:
    outage(rig, *fault(rig, Fault.TRUNCATED), "connection_error", "capacities: ")


# --- HTTP errors -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_bursts(rig: Rig, status: int) -> None:
    outage(rig, *fault(rig, Fault.STATUS, status=status), str(status), f"HTTP {status}")


def test_server_error_burst_heals_itself(rig: Rig) -> None:
    """A burst of four 503s (two refreshes with one retry each), then normal replies."""
    cursor = rig.cursor()
    before = rig.requests("capacities", "503")
    rig.sim.set_fault(Fault.STATUS, count=4, status=503)
    wait_for(lambda: rig.requests("capacities", "503") >= before + 4, 20, what="the burst")
    rig.wait_up(1)
    assert len(cursor.lines("HTTP 503")) == 1


@pytest.mark.parametrize(
    ("status", "meaning"), [(401, "invalid credentials"), (403, "insufficient permissions")]
)
def test_revoked_key_or_missing_permission(rig: Rig, status: int, meaning: str) -> None:
    start, stop = fault(rig, Fault.STATUS, status=status)
    outage(rig, start, stop, str(status), f"HTTP {status} ({meaning})")
    assert "check the API token" in rig.exporter.logs()


# --- quota ---------------------------------------------------------------------------------


def quiet_period(rig: Rig, status: int, expected_pause: float) -> None:
    """After one 402/429 reply: no upstream call for the whole pause, then recovery."""
    cursor = rig.cursor()
    recorded = len(rig.sim.requests)
    refused = wait_for(
        lambda: next((r for r in rig.sim.requests[recorded:] if r.status == status), None),
        10,
        what=f"a {status} reply",
    )
    samples = rig.wait_up(0)
    assert value(samples, "toggl_focus_api_quota_exhausted") == 1
    assert value(samples, REQUESTS, endpoint="capacities", code=str(status)) >= 1
    assert capacity(samples), "last good data dropped"
    rig.wait_up(1, timeout=expected_pause + 5)
    later = [r for r in rig.sim.requests if r.time > refused.time]
    assert later, "no request after the pause"
    assert later[0].time - refused.time >= expected_pause - 0.1, "called during the pause"
    samples = rig.scrape()
    assert value(samples, "toggl_focus_api_quota_exhausted") == 0
    assert len(cursor.lines(f"upstream quota exhausted (HTTP {status})")) == 1
    assert cursor.lines("no upstream call until then; serving last good data")


def test_quota_exhausted_402_with_headers(rig: Rig) -> None:
    rig.sim.set_fault(Fault.QUOTA_EXHAUSTED, count=1, resets_in=4)
    quiet_period(rig, 402, 4)


@pytest.fixture
def own_rig() -> Iterator[Rig]:
    """A process of its own: a failing quota test must not leave the shared one paused."""
    with running_rig() as rig:
        yield rig


def test_quota_exhausted_402_without_headers(own_rig: Rig) -> None:
    own_rig.sim.set_fault(Fault.QUOTA_HEADERS_MISSING, count=1)
    quiet_period(own_rig, 402, 3)  # TOGGL_FOCUS_QUOTA_PAUSE


def test_quota_exhausted_402_with_malformed_headers(own_rig: Rig) -> None:
    own_rig.sim.set_fault(Fault.QUOTA_HEADERS_MALFORMED, count=1)
    quiet_period(own_rig, 402, 3)


def test_rate_limited_429_with_retry_after(own_rig: Rig) -> None:
    own_rig.sim.set_fault(Fault.RATE_LIMITED, count=1, retry_after=2)
    quiet_period(own_rig, 429, 2)


# --- bodies --------------------------------------------------------------------------------


def test_invalid_json(rig: Rig) -> None:
    outage(rig, *fault(rig, Fault.INVALID_JSON), "200", "invalid JSON")


@pytest.mark.parametrize(
    ("variant", "phrase"),
    [("object", "object without an 'items' array"), ("strings", "no valid entity")],
)
def test_valid_json_of_the_wrong_shape(rig: Rig, variant: str, phrase: str) -> None:
    outage(rig, *fault(rig, Fault.WRONG_SHAPE, variant=variant), "200", phrase)


def test_wrong_content_type(rig: Rig) -> None:
    outage(rig, *fault(rig, Fault.WRONG_CONTENT_TYPE), "200", "invalid JSON")


def test_empty_reply(rig: Rig) -> None:
    outage(rig, *fault(rig, Fault.EMPTY), "200", "invalid JSON")


def test_endless_body_is_cut_at_the_cap(rig: Rig) -> None:
    before = rss_kib(rig.exporter.proc.pid)
    start, stop = fault(rig, Fault.HUGE_BODY, size=0)
    outage(rig, start, stop, "invalid_body", "exceeds the 262144-byte cap")
    assert rss_kib(rig.exporter.proc.pid) - before < 50_000


def test_huge_declared_body_is_refused_unread(rig: Rig) -> None:
    start, stop = fault(rig, Fault.HUGE_BODY, size=50_000_000, content_length=True)
    outage(rig, start, stop, "invalid_body", "exceeds the 262144-byte cap")


# --- data ------------------------------------------------------------------------------------


def data_fault(rig: Rig, kind: Fault, phrase: str, **params: object) -> dict:
    """A reply with odd content: still a refresh, odd parts dropped, a warning logged."""
    cursor = rig.cursor()
    rig.sim.set_fault(kind, **params)
    try:
        rig.wait_refreshes(2)
        samples = rig.scrape()
        assert value(samples, "toggl_focus_up") == 1
        sane(samples)
        assert cursor.lines(phrase), cursor.text()
    finally:
        rig.sim.set_fault(None)
    rig.wait_refreshes(2)  # the second request starts after a clean refresh was published
    return samples


def entity_ids(samples: dict) -> set[str]:
    return {dict(labels)["entity_id"] for _, labels in capacity(samples)}


def test_duplicate_entities(rig: Rig) -> None:
    before = rig.scrape()
    samples = data_fault(rig, Fault.DUPLICATE_ENTITIES, "duplicate entity")
    assert capacity(samples).keys() == capacity(before).keys()  # parse() rejects duplicates


def test_unknown_entities(rig: Rig) -> None:
    samples = data_fault(rig, Fault.UNKNOWN_ENTITIES, "not asked for, ignored")
    assert entity_ids(samples) == {str(i) for i in (*USERS, *GHOSTS)}


def test_negative_fractional_nan_and_absurd_numbers(rig: Rig) -> None:
    before = rig.scrape()
    samples = data_fault(rig, Fault.BAD_NUMBERS, "invalid number(s) dropped")
    assert len(capacity(samples)) < len(capacity(before))  # dropped, never exported as 0


def test_dates_outside_the_window(rig: Rig) -> None:
    before = rig.scrape()
    samples = data_fault(rig, Fault.DATES_OUTSIDE_WINDOW, "outside the window")
    window = {dict(labels)["date"] for _, labels in capacity(before)}
    assert {dict(labels)["date"] for _, labels in capacity(samples)} <= window
    assert capacity(samples).keys() == capacity(before).keys()


# --- staleness -------------------------------------------------------------------------------


def test_stale_data_expires_but_the_exporter_keeps_serving() -> None:
    with running_rig(max_staleness=3) as rig:
        rig.thread.go_offline()
        samples = wait_for(
            lambda: s if not capacity(s := rig.scrape()) else None, 15, what="stale data dropped"
        )
        assert value(samples, "toggl_focus_up") == 0
        assert value(samples, "toggl_focus_last_refresh_success_timestamp_seconds") > 0
        assert "keeping last good data for up to 3 s" in rig.exporter.logs()
        rig.thread.go_online()
        assert capacity(rig.wait_up(1))
