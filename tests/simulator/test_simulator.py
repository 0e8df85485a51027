"""The Focus API simulator, exercised over real HTTP on loopback."""

from __future__ import annotations

import base64
import datetime
import json
import math
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from support import REPO, wait_for

from exporter.simulator import Fault, Simulator, SimulatorOptions, SimulatorThread

CAPACITIES = "/organizations/1/workspaces/1/capacities/users"
BEARER = {"Authorization": "Bearer demo-token"}
TODAY = datetime.date(2030, 1, 7)  # a Monday
START, END = "2030-01-07", "2030-02-03"  # 28 days, Monday .. Sunday
MakeSimulator = Callable[..., Simulator]
# One client for the module: creating a client per request costs tens of milliseconds.
HTTP = httpx.Client(timeout=10)


@pytest.fixture(autouse=True, scope="module")
def _close_client() -> Iterator[None]:
    yield
    HTTP.close()


def get(sim: Simulator, path: str, **params: Any) -> httpx.Response:
    return HTTP.get(sim.base_url + path, params=params, headers=BEARER)


def capacities(sim: Simulator, query: Any = None, **params: Any) -> httpx.Response:
    """GET capacities; query (a list of pairs) wins over keyword parameters."""
    params = {"user_id": "1001,1002", "start_date": START, "end_date": END, **params}
    return HTTP.get(sim.base_url + CAPACITIES, params=query or params, headers=BEARER)


def entities(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    items: list[dict[str, Any]] = body["items"] if isinstance(body, dict) else body
    return items


def by_date(entity: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["date"]: c for c in entity["computations"]}


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert {"error", "error_description", "error_values", "trace_id"} <= body.keys()
    assert int(body["trace_id"], 16) >= 0
    return body


@pytest.fixture
def sim(make_simulator: MakeSimulator) -> Simulator:
    return make_simulator(today=TODAY)


# --- authentication --------------------------------------------------------------------------


def test_bearer_and_basic_auth_are_accepted(sim: Simulator) -> None:
    assert capacities(sim).status_code == 200
    basic = HTTP.get(
        sim.base_url + CAPACITIES,
        params={"user_id": "1001", "start_date": START, "end_date": START},
        auth=("demo@example.com", "demo-password"),
    )
    assert basic.status_code == 200
    assert [e["id"] for e in entities(basic)] == [1001]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer wrong-token",
        "Bearer",
        "Basic " + base64.b64encode(b"demo@example.com:wrong").decode(),
        "Basic " + base64.b64encode(b"other@example.com:demo-password").decode(),
        "Basic not-base64!",
        "Token demo-token",
    ],
)
def test_missing_or_wrong_credentials_get_401(sim: Simulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = HTTP.get(sim.base_url + "/organizations/1/users", headers=headers)
    body = assert_error(response, 401)
    assert body["error"] == "unauthorized"
    assert "X-Toggl-Quota-Remaining" in response.headers


def test_disabled_auth_forms_are_rejected(make_simulator: MakeSimulator) -> None:
    no_basic = make_simulator(email=None, password=None)
    assert get(no_basic, "/organizations/1/users").status_code == 200
    basic = HTTP.get(
        no_basic.base_url + "/organizations/1/users", auth=("demo@example.com", "demo-password")
    )
    assert_error(basic, 401)
    no_token = make_simulator(token=None)
    assert_error(get(no_token, "/organizations/1/users"), 401)


def test_credentials_are_never_recorded(sim: Simulator) -> None:
    capacities(sim)
    HTTP.get(sim.base_url + "/organizations/1/users", auth=("demo@example.com", "demo-password"))
    recorded = HTTP.get(sim.base_url.removesuffix("/api") + "/_simulator/requests").text
    assert len(json.loads(recorded)) == 2
    for secret in ("demo-token", "demo-password", "ZGVtb0"):
        assert secret not in recorded
        assert secret not in repr(sim.requests)


# --- capacities: encodings, shapes, fields -------------------------------------------------


def test_csv_and_repeated_ids(sim: Simulator) -> None:
    csv = capacities(sim, user_id="1001,1002,1003", ghost_id="5001,5002")
    repeated = capacities(
        sim,
        query=[
            ("user_id", "1001"),
            ("user_id", "1002"),
            ("user_id", "1003"),
            ("ghost_id", "5001"),
            ("ghost_id", "5002"),
            ("start_date", START),
            ("end_date", END),
        ],
    )
    ids = [(e["type"], e["id"]) for e in entities(csv)]
    assert ids == [("user", 1001), ("user", 1002), ("user", 1003), ("ghost", 5001), ("ghost", 5002)]
    assert entities(repeated) == entities(csv)


def test_repeated_ids_can_be_refused(make_simulator: MakeSimulator) -> None:
    strict = make_simulator(accept_repeated_ids=False)
    query = [("user_id", "1001"), ("user_id", "1002"), ("start_date", START), ("end_date", END)]
    assert [e["id"] for e in entities(capacities(strict, query=query))] == [1001]
    assert [e["id"] for e in entities(capacities(strict))] == [1001, 1002]


def test_response_shapes(make_simulator: MakeSimulator) -> None:
    items = capacities(make_simulator(response_shape="items")).json()
    array = capacities(make_simulator(response_shape="array")).json()
    assert isinstance(items, dict)
    assert list(items) == ["items"]
    assert isinstance(array, list)
    assert items["items"] == array


@pytest.mark.parametrize(
    ("fields", "present", "absent"),
    [
        ("seed", {"allocated_minutes"}, {"estimated_remaining_minutes", "time_off_minutes"}),
        ("spec", {"estimated_remaining_minutes", "time_off_minutes"}, {"allocated_minutes"}),
        ("all", {"allocated_minutes", "estimated_remaining_minutes", "time_off_minutes"}, set()),
    ],
)
def test_field_sets(
    make_simulator: MakeSimulator, fields: str, present: set[str], absent: set[str]
) -> None:
    entity = entities(capacities(make_simulator(fields=fields)))[0]
    common = {"date", "working_minutes", "estimated_minutes", "assigned_tasks_count"}
    for computation in entity["computations"]:
        keys = set(computation)
        assert common | present <= keys
        assert not keys & absent


def test_unknown_ids_are_not_returned_and_extra_fields_appear(
    make_simulator: MakeSimulator,
) -> None:
    found = entities(capacities(make_simulator(), user_id="1001,424242", ghost_id="5001,9999"))
    assert [(e["type"], e["id"]) for e in found] == [("user", 1001), ("ghost", 5001)]
    known_entity = {"id", "type", "computations"}
    known_computation = {
        "date",
        "working_minutes",
        "estimated_minutes",
        "assigned_tasks_count",
        "allocated_minutes",
        "estimated_remaining_minutes",
        "time_off_minutes",
    }
    assert set(found[0]) - known_entity, "an unknown field that clients must ignore"
    assert set(found[0]["computations"][0]) - known_computation
    plain = entities(capacities(make_simulator(extra_fields=False)))[0]
    assert set(plain) == known_entity
    assert set(plain["computations"][0]) == known_computation


# --- validation ------------------------------------------------------------------------------


def window(**extra: str) -> dict[str, str]:
    """Capacities parameters: user 1001 over the test window, plus extra."""
    return {"user_id": "1001", "start_date": START, "end_date": END, **extra}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (CAPACITIES, {"start_date": START, "end_date": END}, "user_id"),
        (CAPACITIES, window(user_id=""), "user_id"),
        (CAPACITIES, window(user_id="1001,x"), "user_id"),
        (CAPACITIES, window(ghost_id="-1"), "ghost_id"),
        (CAPACITIES, {"user_id": "1001", "end_date": END}, "start_date"),
        (CAPACITIES, window(start_date="2030/01/07"), "start_date"),
        (CAPACITIES, window(end_date="2030-02-30"), "end_date"),
        (CAPACITIES, window(start_date=END, end_date=START), None),
        (CAPACITIES, window(unit="year"), "unit"),
        (CAPACITIES, window(task_source="focus,jira"), "task_source"),
        (CAPACITIES, window(private="maybe"), "private"),
        (CAPACITIES, window(include_drafts="yes"), "include_drafts"),
        (CAPACITIES.replace("users", "teams"), window(), "group"),
        ("/organizations/1/users", {"per_page": "101"}, "per_page"),
        ("/organizations/1/users", {"page": "0"}, "page"),
        ("/organizations/1/users", {"sort_dir": "up"}, "sort_dir"),
        ("/organizations/1/teams", {}, "workspace_id"),
        ("/organizations/x/users", {}, "organization_id"),
    ],
)
def test_bad_parameters_get_400(
    sim: Simulator, path: str, params: dict[str, str], field: str | None
) -> None:
    body = assert_error(get(sim, path, **params), 400)
    assert body["error"] == "validation"
    if field is not None:
        assert body["error_values"]["field"] == field


def test_all_optional_parameters_are_accepted(sim: Simulator) -> None:
    response = capacities(
        sim,
        private="true",
        include_drafts="false",
        task_source="focus,google_calendar,outlook_calendar",
        unit="day",
    )
    assert len(entities(response)[0]["computations"]) == 28


def test_other_organization_or_workspace(sim: Simulator) -> None:
    assert_error(get(sim, "/organizations/2/users"), 403)
    assert_error(get(sim, CAPACITIES.replace("workspaces/1", "workspaces/2")), 404)
    assert_error(get(sim, "/organizations/1/workspaces/2/ghosts"), 404)
    assert_error(get(sim, "/organizations/1/teams", workspace_id=2), 403)
    assert_error(get(sim, "/no/such/endpoint"), 404)
    assert sim.count("other") == 1


# --- data --------------------------------------------------------------------------------------


def test_values_are_deterministic_and_depend_on_the_seed(make_simulator: MakeSimulator) -> None:
    one = capacities(make_simulator(today=TODAY), user_id="1001,1002,1003,1004").content
    two = capacities(make_simulator(today=TODAY), user_id="1001,1002,1003,1004").content
    other = capacities(make_simulator(today=TODAY, seed=7), user_id="1001,1002,1003,1004")
    assert one == two
    assert other.content != one


def test_values_are_realistic(sim: Simulator) -> None:
    ids = ",".join(str(i) for i in range(1001, 1007))
    found = entities(capacities(sim, user_id=ids, ghost_id="5001,5002", end_date="2030-03-31"))
    overbooked: dict[tuple[str, int], int] = {}
    fractional = time_off = 0
    for entity in found:
        for c in entity["computations"]:
            day = datetime.date.fromisoformat(c["date"])
            if day.weekday() >= 5:
                assert c["working_minutes"] == c["estimated_minutes"] == 0
                continue
            assert c["working_minutes"] + c["time_off_minutes"] in (240, 360, 480)
            assert 0 <= c["estimated_remaining_minutes"] <= c["estimated_minutes"]
            assert 0 <= c["assigned_tasks_count"] <= 8
            assert 0 <= c["allocated_minutes"] <= c["estimated_minutes"]
            assert isinstance(c["estimated_minutes"], int)
            fractional += c["allocated_minutes"] != int(c["allocated_minutes"])
            time_off += c["time_off_minutes"] > 0
            key = (entity["type"], entity["id"])
            overbooked[key] = overbooked.get(key, 0) + (
                c["estimated_minutes"] > c["working_minutes"]
            )
    assert {k for k, v in overbooked.items() if v > 20} == {
        ("user", 1001),
        ("user", 1002),
        ("ghost", 5001),
    }
    assert fractional > 0
    assert time_off > 0
    part_time = {e["id"]: e["computations"][0]["working_minutes"] for e in found}
    assert part_time[1004] in (0, 360)
    assert part_time[1006] in (0, 240)


def test_holidays_and_past_dates_are_zero(make_simulator: MakeSimulator) -> None:
    sim = make_simulator(today=datetime.date(2030, 1, 9))
    days = by_date(entities(capacities(sim, start_date="2029-12-30", end_date="2030-01-10"))[0])
    for date in ("2029-12-31", "2030-01-01", "2030-01-08"):  # past, holiday, past
        assert days[date]["working_minutes"] == days[date]["estimated_minutes"] == 0
    assert days["2030-01-09"]["working_minutes"] > 0
    keep = make_simulator(today=datetime.date(2030, 1, 9), zero_past=False)
    kept = by_date(entities(capacities(keep, start_date="2030-01-08", end_date="2030-01-08"))[0])
    assert kept["2030-01-08"]["working_minutes"] > 0


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # UTC+14, UTC-11
def test_today_follows_the_configured_time_zone(make_simulator: MakeSimulator, zone: str) -> None:
    before = datetime.datetime.now(ZoneInfo(zone)).date()
    today = make_simulator(timezone=zone).today()
    after = datetime.datetime.now(ZoneInfo(zone)).date()
    assert today in (before, after)


@pytest.mark.parametrize(
    ("unit", "starts"),
    [
        ("week", ["2030-01-07", "2030-01-14", "2030-01-21", "2030-01-28"]),
        ("month", ["2030-01-01", "2030-02-01"]),
        ("quarter", ["2030-01-01"]),
    ],
)
def test_units_aggregate_days_into_periods(sim: Simulator, unit: str, starts: list[str]) -> None:
    daily = entities(capacities(sim))[0]["computations"]
    periods = entities(capacities(sim, unit=unit))[0]["computations"]
    assert [p["date"] for p in periods] == starts
    for field in ("working_minutes", "estimated_minutes", "allocated_minutes", "time_off_minutes"):
        assert sum(p[field] for p in periods) == sum(d[field] for d in daily)
    first_week = [d for d in daily if d["date"] < "2030-01-14"]
    if unit == "week":
        assert periods[0]["estimated_minutes"] == sum(d["estimated_minutes"] for d in first_week)


def test_set_values_load_and_entities(sim: Simulator) -> None:
    sim.set_values("user", 1001, estimated_minutes=100, allocated_minutes=37.5)
    sim.set_values(
        "user", 1001, datetime.date(2030, 1, 8), working_minutes=0, time_off_minutes=None
    )
    days = by_date(entities(capacities(sim, user_id="1001"))[0])
    assert days["2030-01-07"]["estimated_minutes"] == 100
    assert days["2030-01-07"]["allocated_minutes"] == 37.5
    assert days["2030-01-08"]["working_minutes"] == 0
    assert "time_off_minutes" not in days["2030-01-08"]
    assert "time_off_minutes" in days["2030-01-09"]

    before = by_date(entities(capacities(sim, user_id="1002"))[0])
    sim.set_load("user", 1002, 0.5)
    after = by_date(entities(capacities(sim, user_id="1002"))[0])
    for date, c in after.items():
        assert c["estimated_minutes"] == round(before[date]["estimated_minutes"] * 0.5)
        assert c["estimated_minutes"] <= c["working_minutes"]
    with pytest.raises(ValueError, match="unknown field"):
        sim.set_values("user", 1001, estimated=1)

    sim.set_entities(users=[1002, 7777], ghosts=[])
    found = entities(capacities(sim, user_id="1001,1002,7777", ghost_id="5001"))
    assert [e["id"] for e in found] == [1002, 7777]
    names = sim.entity_names()
    assert set(names) == {("user", 1002), ("user", 7777)}
    assert names[("user", 1002)] == "Grace Hopper"


def test_large_request_is_fast(make_simulator: MakeSimulator) -> None:
    """1,000 ids x 28 days: generous bounds, as the suite shares two cores with other work."""
    sim = make_simulator(users=1000, ghosts=0, response_shape="array")
    ids = ",".join(str(i) for i in range(1001, 2001))
    elapsed = []
    for _ in range(3):
        began = time.perf_counter()
        response = capacities(sim, user_id=ids)
        elapsed.append(time.perf_counter() - began)
    found = entities(response)
    assert len(found) == 1000
    assert all(len(e["computations"]) == 28 for e in found)
    assert elapsed[0] < 3.0, elapsed  # first request: generated
    assert min(elapsed[1:]) < 0.5, elapsed  # then cached


# --- discovery -------------------------------------------------------------------------------


def test_users_are_paged(make_simulator: MakeSimulator) -> None:
    sim = make_simulator(users=7)
    pages = [get(sim, "/organizations/1/users", page=p, per_page=3).json() for p in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    users = [u for page in pages for u in page]
    assert [u["user_account_id"] for u in users] == list(range(1001, 1008))
    first = users[0]
    assert isinstance(first["user_id"], str)
    assert isinstance(first["id"], int)
    assert first["name"] == "Ada Lovelace"
    assert first["email"] == "ada.lovelace@example.com"
    assert first["active"] is True
    assert first["working_hours"] == 8
    assert first["workspaces"][0]["id"] == 1
    assert get(sim, "/organizations/1/users", per_page=100).json() == users
    assert get(sim, "/organizations/1/users", workspaces="2").json() == []
    assert get(sim, "/organizations/1/users", active_status="inactive").json() == []
    listed = get(sim, "/organizations/1/users", user_account_ids="1003,1001", sort_dir="desc")
    assert [u["user_account_id"] for u in listed.json()] == [1003, 1001]


def test_teams_and_ghosts(sim: Simulator) -> None:
    teams = get(sim, "/organizations/1/teams", workspace_id=1).json()
    assert teams["total"] == 2
    assert teams["page"] == 1
    members = [u["user_account_id"] for team in teams["data"] for u in team["users"]]
    assert members == list(range(1001, 1007))
    ghosts = get(sim, "/organizations/1/workspaces/1/ghosts").json()
    assert {"data", "page", "rows", "total"} <= ghosts.keys()
    assert [(g["id"], g["name"]) for g in ghosts["data"]] == [
        (5001, "Backend developer (placeholder 1)"),
        (5002, "Designer (placeholder 2)"),
    ]
    assert {"id", "name", "user_id", "embodied_at"} <= ghosts["data"][0].keys()
    assert sim.count() == 2
    assert sim.count("teams") == 1
    assert sim.count("ghosts") == 1


# --- quota -------------------------------------------------------------------------------------


def test_quota_headers_and_402(make_simulator: MakeSimulator) -> None:
    sim = make_simulator(hourly_quota=3)
    remaining = []
    for _ in range(3):
        response = get(sim, "/organizations/1/users")
        assert response.status_code == 200
        remaining.append(int(response.headers["X-Toggl-Quota-Remaining"]))
        assert 3590 <= int(response.headers["X-Toggl-Quota-Resets-In"]) <= 3600
    assert remaining == [2, 1, 0]
    over = get(sim, CAPACITIES)
    assert assert_error(over, 402)["error"] == "quota_exceeded"
    assert over.headers["X-Toggl-Quota-Remaining"] == "0"
    assert int(over.headers["X-Toggl-Quota-Resets-In"]) > 0
    sim.reset_quota()
    assert capacities(sim).headers["X-Toggl-Quota-Remaining"] == "2"


def test_quota_window_slides(make_simulator: MakeSimulator) -> None:
    sim = make_simulator(hourly_quota=1, quota_window_seconds=0.5)
    assert get(sim, "/organizations/1/users").status_code == 200
    assert get(sim, "/organizations/1/users").status_code == 402
    wait_for(lambda: get(sim, "/organizations/1/users").status_code == 200, timeout=5)


def test_unlimited_quota_still_sends_headers(sim: Simulator) -> None:
    response = capacities(sim)
    assert int(response.headers["X-Toggl-Quota-Remaining"]) > 1000
    assert response.headers["X-Toggl-Quota-Resets-In"].isdigit()


# --- faults ------------------------------------------------------------------------------------


def test_latency(make_simulator: MakeSimulator) -> None:
    sim = make_simulator(latency_seconds=0.2)
    sim.set_fault(Fault.LATENCY, seconds=0.3, count=1)
    began = time.monotonic()
    assert capacities(sim).status_code == 200
    assert time.monotonic() - began >= 0.5
    began = time.monotonic()
    assert capacities(sim).status_code == 200
    assert 0.2 <= time.monotonic() - began < 0.5


def test_hang_until_the_client_times_out(sim: Simulator) -> None:
    sim.set_fault(Fault.HANG, count=1)
    with pytest.raises(httpx.ReadTimeout):
        HTTP.get(sim.base_url + CAPACITIES, headers=BEARER, timeout=0.3)
    assert capacities(sim).status_code == 200
    assert sim.requests[0].status == 0


@pytest.mark.parametrize("status", [500, 502, 503, 401, 403])
def test_status_fault(sim: Simulator, status: int) -> None:
    sim.set_fault(Fault.STATUS, status=status, count=2)
    assert_error(capacities(sim), status)
    assert_error(get(sim, "/organizations/1/users"), status)
    assert capacities(sim).status_code == 200
    assert [r.status for r in sim.requests] == [status, status, 200]


def test_quota_faults(sim: Simulator) -> None:
    sim.set_fault(Fault.QUOTA_EXHAUSTED, resets_in=42, count=1)
    response = capacities(sim)
    assert_error(response, 402)
    assert response.headers["X-Toggl-Quota-Remaining"] == "0"
    assert response.headers["X-Toggl-Quota-Resets-In"] == "42"

    sim.set_fault(Fault.QUOTA_HEADERS_MISSING, count=1)
    response = capacities(sim)
    assert_error(response, 402)
    assert "X-Toggl-Quota-Remaining" not in response.headers
    assert "X-Toggl-Quota-Resets-In" not in response.headers

    sim.set_fault(Fault.QUOTA_HEADERS_MALFORMED, count=1)
    response = capacities(sim)
    assert_error(response, 402)
    assert not response.headers["X-Toggl-Quota-Remaining"].isdigit()
    assert not response.headers["X-Toggl-Quota-Resets-In"].isdigit()

    sim.set_fault(Fault.RATE_LIMITED, retry_after=7, count=1)
    response = capacities(sim)
    assert_error(response, 429)
    assert response.headers["Retry-After"] == "7"


def test_body_faults(sim: Simulator) -> None:
    sim.set_fault(Fault.INVALID_JSON, count=1)
    response = capacities(sim)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)

    sim.set_fault(Fault.WRONG_SHAPE, count=1)
    assert capacities(sim).json() == {"foo": 1}
    sim.set_fault(Fault.WRONG_SHAPE, variant="strings", count=1)
    assert capacities(sim).json() == ["a", "b"]

    sim.set_fault(Fault.WRONG_CONTENT_TYPE, count=1)
    response = capacities(sim)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")

    sim.set_fault(Fault.EMPTY, count=1)
    response = capacities(sim)
    assert response.status_code == 200
    assert response.content == b""


def test_truncated_and_reset(sim: Simulator) -> None:
    sim.set_fault(Fault.TRUNCATED, count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        capacities(sim)
    sim.set_fault(Fault.RESET, count=1)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        capacities(sim, user_id=",".join(str(i) for i in range(1001, 1007)))
    assert capacities(sim).status_code == 200


@pytest.mark.parametrize("announce", [False, True])
def test_huge_body(sim: Simulator, announce: bool) -> None:
    sim.set_fault(Fault.HUGE_BODY, size=3_000_000, content_length=announce, count=1)
    response = capacities(sim)
    assert 2_900_000 < len(response.content) <= 3_000_000
    assert ("content-length" in response.headers) == announce
    assert len(entities(response)) > 1000


def test_endless_body_stops_when_the_client_does(sim: Simulator) -> None:
    sim.set_fault(Fault.HUGE_BODY, size=0, count=1)
    read = 0
    with HTTP.stream("GET", sim.base_url + CAPACITIES, headers=BEARER) as response:
        for chunk in response.iter_bytes():
            read += len(chunk)
            if read > 5_000_000:
                break
    assert read > 5_000_000
    assert capacities(sim).status_code == 200


def test_data_faults(sim: Simulator) -> None:
    sim.set_fault(Fault.DUPLICATE_ENTITIES, count=1)
    assert [e["id"] for e in entities(capacities(sim))] == [1001, 1001, 1002, 1002]

    sim.set_fault(Fault.UNKNOWN_ENTITIES, ids=[31337], count=1)
    assert [e["id"] for e in entities(capacities(sim))] == [1001, 1002, 31337]

    sim.set_fault(Fault.BAD_NUMBERS, count=1)
    values = [v for e in entities(capacities(sim)) for c in e["computations"] for v in c.values()]
    assert "NaN" in values
    assert 1e308 in values
    assert 2.5 in values
    assert any(isinstance(v, int | float) and v < 0 for v in values)

    sim.set_fault(Fault.DATES_OUTSIDE_WINDOW, count=1)
    dates = [c["date"] for c in entities(capacities(sim))[0]["computations"]]
    assert dates[0] == "2030-01-06"
    assert dates[-1] == "2030-02-04"
    assert len(dates) == 30

    sim.set_fault(Fault.DATES_OUTSIDE_WINDOW, count=1)
    weeks = [c["date"] for c in entities(capacities(sim, unit="week"))[0]["computations"]]
    assert weeks[0] == "2029-12-31"
    assert weeks[-1] == "2030-02-04"
    assert len(entities(capacities(sim))[0]["computations"]) == 28


def test_fault_count_and_endpoint_filter(sim: Simulator) -> None:
    sim.set_fault(Fault.STATUS, status=503, endpoint="users", count=2)
    assert capacities(sim).status_code == 200  # not counted down: another endpoint
    assert get(sim, "/organizations/1/users").status_code == 503
    assert get(sim, "/organizations/1/users").status_code == 503
    assert get(sim, "/organizations/1/users").status_code == 200

    sim.set_fault(Fault.BAD_NUMBERS)  # data faults only ever hit capacities
    assert get(sim, "/organizations/1/users").status_code == 200
    for _ in range(3):
        assert "NaN" in capacities(sim).text
    sim.set_fault(None)
    assert "NaN" not in capacities(sim).text

    with pytest.raises(ValueError, match="no parameter"):
        sim.set_fault(Fault.STATUS, code=500)
    with pytest.raises(ValueError, match="at least 1"):
        sim.set_fault(Fault.EMPTY, count=0)


def test_connection_refused_while_offline(make_simulator: MakeSimulator) -> None:
    thread = SimulatorThread(SimulatorOptions())
    with thread as sim:
        assert capacities(sim).status_code == 200
        thread.go_offline()
        with pytest.raises(httpx.ConnectError):
            capacities(sim)
        thread.go_online()
        assert capacities(sim).status_code == 200
        assert sim.count("capacities") == 2


# --- control endpoint and command line -------------------------------------------------------


def test_control_endpoint(sim: Simulator) -> None:
    control = sim.base_url.removesuffix("/api") + "/_simulator"

    def post(path: str, body: object) -> httpx.Response:
        return HTTP.post(control + path, json=body)

    assert post("/fault", {"fault": "status", "count": 1, "status": 503}).json() == {"ok": True}
    assert capacities(sim).status_code == 503
    assert capacities(sim).status_code == 200
    post("/values", {"entity_type": "user", "entity_id": 1001, "fields": {"working_minutes": 1}})
    post("/load", {"entity_type": "user", "entity_id": 1002, "factor": 0})
    found = entities(capacities(sim))
    assert all(c["working_minutes"] == 1 for c in found[0]["computations"])
    assert all(c["estimated_minutes"] == 0 for c in found[1]["computations"])
    post("/entities", {"users": [1002]})
    assert [e["id"] for e in entities(capacities(sim))] == [1002]
    listed = HTTP.get(control + "/requests").json()
    assert [r["endpoint"] for r in listed] == ["capacities"] * 4
    assert listed[0]["status"] == 503
    assert ["user_id", "1001,1002"] in listed[0]["query"]
    assert HTTP.get(control + "/entities").json() == [
        {"type": "user", "id": 1002, "name": "Grace Hopper"},
        {"type": "ghost", "id": 5001, "name": "Backend developer (placeholder 1)"},
        {"type": "ghost", "id": 5002, "name": "Designer (placeholder 2)"},
    ]
    assert post("/reset", {}).json() == {"ok": True}
    assert sim.requests == []
    assert [e["id"] for e in entities(capacities(sim))] == [1001, 1002]
    assert post("/quota/reset", {}).status_code == 200
    bad_requests: list[tuple[str, object]] = [
        ("/fault", {"fault": "nope"}),
        ("/fault", {"fault": "status", "code": 1}),
        ("/fault", {"fault": "status", "status": "five hundred"}),
        ("/fault", [1]),
        ("/values", {"entity_id": 1}),
        ("/values", {"entity_type": "user", "entity_id": 1, "fields": {"minutes": 1}}),
        ("/load", {"entity_type": "robot", "entity_id": 1, "factor": 1}),
    ]
    for path, bad in bad_requests:
        response = post(path, bad)
        assert response.status_code == 400, (path, bad)
        assert response.json()["ok"] is False
    assert sim.count() == 1  # control requests are not recorded


@pytest.fixture
def cli() -> Iterator[tuple[subprocess.Popen[str], str]]:
    args = ["--listen", "127.0.0.1:0", "--users", "3", "--shape", "array", "--quota", "5"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "exporter.simulator", *args, "--today", "2030-01-07"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"SIMULATOR_TOKEN": "from-env", "PATH": "/usr/bin:/bin"},
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_command_line(cli: tuple[subprocess.Popen[str], str]) -> None:
    proc, url = cli
    assert url.startswith("http://127.0.0.1:")
    assert url.endswith("/api")
    headers = {"Authorization": "Bearer from-env"}
    params = {"user_id": "1001,1002,1003,1004", "start_date": START, "end_date": START}
    response = HTTP.get(url + CAPACITIES, params=params, headers=headers)
    assert [e["id"] for e in response.json()] == [1001, 1002, 1003]
    assert response.headers["X-Toggl-Quota-Remaining"] == "4"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0


def test_recorded_requests(sim: Simulator) -> None:
    began = time.monotonic()
    capacities(sim, user_id="1001")
    get(sim, "/organizations/1/users", page=2)
    first, second = sim.requests
    assert (first.method, first.endpoint, first.status) == ("GET", "capacities", 200)
    assert first.path == "/api" + CAPACITIES
    assert ("user_id", "1001") in first.query
    assert second.query == [("page", "2")]
    assert second.endpoint == "users"
    assert began <= first.time <= second.time <= time.monotonic()
    assert sim.count() == 2
    assert sim.count("capacities") == 1
    assert sim.count("ghosts") == 0
    assert math.isfinite(first.time)
