"""Validation of the query parameters of the simulated endpoints."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass

from multidict import MultiMapping

from .data import UNITS

TASK_SOURCES = ("focus", "google_calendar", "outlook_calendar")
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 50
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
Query = MultiMapping[str]
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class ApiError(Exception):
    """A request that is answered with an error status and the Focus error body."""

    def __init__(self, status: int, description: str, values: Mapping[str, object]) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.values = dict(values)


class ValidationError(ApiError):
    """A request parameter is missing or invalid (answered with 400)."""

    def __init__(self, description: str, values: Mapping[str, object]) -> None:
        super().__init__(400, description, values)


@dataclass(frozen=True)
class CapacityQuery:
    """The validated parameters of a capacities request."""

    user_ids: tuple[int, ...]
    ghost_ids: tuple[int, ...]
    start: datetime.date
    end: datetime.date
    unit: str
    private: bool | None
    task_sources: tuple[str, ...]
    include_drafts: bool | None


def _values(query: Query, name: str, repeated: bool) -> list[str]:
    """All values of a parameter (only the first one unless repeated keys are accepted)."""
    values = query.getall(name, [])
    return values if repeated else values[:1]


def csv_values(query: Query, name: str, repeated: bool = True) -> list[str]:
    """The comma-separated parts of every value of a parameter."""
    return [part for value in _values(query, name, repeated) for part in value.split(",")]


def id_list(query: Query, name: str, repeated: bool = True, required: bool = False) -> list[int]:
    """Integers given as csv (user_id=1,2) and, if accepted, as repeated keys."""
    parts = csv_values(query, name, repeated)
    if required and not [part for part in parts if part.strip()]:
        raise ValidationError(f"{name} is required", {"field": name})
    ids: list[int] = []
    for part in parts:
        text = part.strip()
        if not re.fullmatch(r"[0-9]{1,18}", text) or int(text) < 1:
            raise ValidationError(f"{name} must be a list of positive integers", {"field": name})
        if int(text) not in ids:
            ids.append(int(text))
    return ids


def single(query: Query, name: str) -> str | None:
    """The first value of a parameter, if any."""
    values = query.getall(name, [])
    return values[0] if values else None


def boolean(query: Query, name: str) -> bool | None:
    """An optional boolean parameter (true/false/1/0)."""
    text = single(query, name)
    if text is None:
        return None
    if text.lower() not in _BOOLEANS:
        raise ValidationError(f"{name} must be true or false", {"field": name, "value": text})
    return _BOOLEANS[text.lower()]


def integer(query: Query, name: str, default: int, minimum: int, maximum: int | None) -> int:
    """An optional integer parameter within bounds."""
    text = single(query, name)
    if text is None or text == "":
        return default
    if not re.fullmatch(r"-?[0-9]{1,9}", text):
        raise ValidationError(f"{name} must be an integer", {"field": name, "value": text})
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ValidationError(f"{name} must be {bounds}", {"field": name, "value": value})
    return value


def date(query: Query, name: str) -> datetime.date:
    """A required YYYY-MM-DD date."""
    text = single(query, name)
    if text is None or text == "":
        raise ValidationError(f"{name} is required", {"field": name})
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{name} must be a date in the format YYYY-MM-DD", {"field": name, "value": text}
        ) from None


def capacity_query(query: Query, accept_repeated_ids: bool) -> CapacityQuery:
    """Validate a capacities query; raises ValidationError."""
    user_ids = id_list(query, "user_id", accept_repeated_ids, required=True)
    ghost_ids = id_list(query, "ghost_id", accept_repeated_ids)
    start, end = date(query, "start_date"), date(query, "end_date")
    if start > end:
        raise ValidationError(
            "start_date must not be after end_date",
            {"start_date": start.isoformat(), "end_date": end.isoformat()},
        )
    unit = single(query, "unit") or "day"
    if unit not in UNITS:
        raise ValidationError(f"unit must be one of {', '.join(UNITS)}", {"field": "unit"})
    sources = [part for part in csv_values(query, "task_source") if part]
    wrong = [part for part in sources if part not in TASK_SOURCES]
    if wrong:
        raise ValidationError(
            f"task_source must be a list of {', '.join(TASK_SOURCES)}",
            {"field": "task_source", "value": wrong},
        )
    return CapacityQuery(
        user_ids=tuple(user_ids),
        ghost_ids=tuple(ghost_ids),
        start=start,
        end=end,
        unit=unit,
        private=boolean(query, "private"),
        task_sources=tuple(sources),
        include_drafts=boolean(query, "include_drafts"),
    )


def paging(query: Query) -> tuple[int, int]:
    """page (from 1) and per_page (1..100) of a listing."""
    page = integer(query, "page", 1, 1, None)
    per_page = integer(query, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    return page, per_page
