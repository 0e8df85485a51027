"""Property-based tests: arbitrary upstream replies and arbitrary settings yield a value or a
clear error (``InvalidReply`` / ``ConfigError``), never another exception."""

from __future__ import annotations

import json
import math
import os
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.config import ConfigError, Settings, env_name, load_settings
from exporter.focus.models import (
    FIELDS,
    MAX_VALUE,
    InvalidReply,
    parse_capacities,
    parse_people,
)
from exporter.focus.window import period_start

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)
numbers = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["480", "NaN", "", "1e3"])
)
dates = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(
    date.isoformat
) | st.text(max_size=12)
computations = st.fixed_dictionaries(
    {},
    optional={"date": dates, **{f: numbers for f in FIELDS}, "extra": json_values},
)
entities = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers(min_value=-3, max_value=2**40) | scalars,
        "type": st.sampled_from(["user", "ghost", "User", "", "x" * 40]) | scalars,
        "computations": st.lists(computations | json_values, max_size=5) | json_values,
    },
)
replies = (
    st.lists(entities | json_values, max_size=5)
    | st.fixed_dictionaries({"items": st.lists(entities | json_values, max_size=5)})
    | json_values
)


def check_reply(payload: object, unit: str = "day") -> None:
    try:
        reply = parse_capacities(payload, lambda day: period_start(day, unit))
    except InvalidReply as exc:
        error: InvalidReply | None = exc
    else:
        error = None
    if error is not None:
        assert str(error), "an InvalidReply explains itself"
        return
    keys = [(e.entity_type, e.entity_id) for e in reply.entities]
    assert len(keys) == len(set(keys))
    for entity in reply.entities:
        assert entity.entity_id > 0
        days = [c.day for c in entity.computations]
        assert len(days) == len(set(days))
        for computation in entity.computations:
            assert period_start(computation.day, unit) == computation.day
            assert len(computation.values) == len(FIELDS)
            for value in computation.values:
                assert value is None or (math.isfinite(value) and 0 <= value <= MAX_VALUE)
    assert all(isinstance(p, str) for p in reply.problems)


@EXAMPLES
@given(replies, st.sampled_from(["day", "week", "month", "quarter"]))
def test_capacities_parser_never_raises_anything_else(payload: object, unit: str) -> None:
    check_reply(payload, unit)


@EXAMPLES
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_capacities_from_raw_bytes(body: bytes) -> None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return
    check_reply(payload)


people_rows = st.fixed_dictionaries(
    {},
    optional={
        "id": scalars,
        "user_account_id": st.integers(min_value=-5, max_value=2**40) | scalars,
        "name": scalars,
        "active": scalars,
        "workspaces": json_values,
    },
)


@EXAMPLES
@given(
    st.lists(people_rows | json_values, max_size=6)
    | st.fixed_dictionaries({"data": st.lists(people_rows | json_values, max_size=6)})
    | json_values,
    st.sampled_from(["user_account_id", "id"]),
    st.none() | st.integers(min_value=1, max_value=5),
)
def test_people_parser_never_raises_anything_else(
    payload: object, id_field: str, workspace: int | None
) -> None:
    try:
        people = parse_people(payload, "user", id_field, workspace)
    except InvalidReply:
        return
    for person in people:
        assert person.entity_id > 0
        assert len(person.name) <= 200


# --- configuration -----------------------------------------------------------------------

env_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30
)
FIELD_NAMES = sorted(set(Settings.model_fields) - {"api_token_file", "email_file", "password_file"})
special = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1e309",
        "nan",
        "inf",
        "true",
        "yes",
        "1,2,,3",
        "[1]",
        "{}",
        "UTC",
        "Mars/Olympus",
        "127.0.0.1:99999",
        "::",
        "day",
        "csv",
        "http://x",
        "https://@x",
    ]
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("TOGGL_FOCUS_"):
            monkeypatch.delenv(key)


@EXAMPLES
@given(st.dictionaries(st.sampled_from(FIELD_NAMES), env_text | special, max_size=8))
def test_settings_from_arbitrary_environment(values: dict[str, str]) -> None:
    base = {
        "TOGGL_FOCUS_API_TOKEN": "t0ken-value",
        "TOGGL_FOCUS_ORGANIZATION_ID": "1",
        "TOGGL_FOCUS_WORKSPACE_ID": "1",
        "TOGGL_FOCUS_USER_IDS": "1",
    }
    environ = {**base, **{env_name(k): v for k, v in values.items()}}
    saved = {k: os.environ.get(k) for k in environ}
    os.environ.update(environ)
    try:
        result: Settings | ConfigError = load_settings()
    except ConfigError as exc:
        result = exc
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if isinstance(result, ConfigError):
        assert_clear(result)
    else:
        assert result.credentials is not None


def assert_clear(error: ConfigError) -> None:
    """One line per problem, each naming the variable at fault."""
    assert error.problems
    for problem in error.problems:
        assert problem.startswith("TOGGL_FOCUS_"), problem
        assert "\n" not in problem


@EXAMPLES
@given(
    st.dictionaries(
        st.sampled_from(FIELD_NAMES), scalars | st.lists(scalars, max_size=3), max_size=6
    )
)
def test_settings_from_arbitrary_keyword_values(values: dict[str, Any]) -> None:
    """Flags and the YAML file deliver typed values (numbers, lists, None) as well."""
    values = {"api_token": "t0ken-value", "organization_id": 1, "workspace_id": 1, **values}
    try:
        load_settings(**values)
    except ConfigError as exc:
        error: ConfigError | None = exc
    else:
        error = None
    if error is not None:
        assert_clear(error)
