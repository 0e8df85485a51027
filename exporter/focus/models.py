"""Reply shapes of the Focus API and their tolerant parsing.

Both capacities shapes are accepted: the seed page's ``{"items": [...]}`` and the newer
spec's bare array. Unknown fields are ignored; an absent field stays absent (``None``),
never zero. Invalid pieces are dropped and reported as problems; a reply that is not
a capacities reply at all raises :class:`InvalidReply`.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

#: Computation fields, in the order of :attr:`Computation.values`.
FIELDS: tuple[str, ...] = (
    "working_minutes",
    "estimated_minutes",
    "allocated_minutes",
    "estimated_remaining_minutes",
    "time_off_minutes",
    "assigned_tasks_count",
)

#: Marks a field the upstream omitted in compact value arrays (valid values are >= 0).
ABSENT = -1.0
#: Upper bound for any number (a quarter holds ~131,000 minutes); larger values are absurd.
MAX_VALUE = 1e7
_ENTITY_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class InvalidReply(Exception):
    """The upstream's body is not a reply of the expected shape."""


@dataclass(frozen=True, slots=True)
class Computation:
    """One entity's numbers for one date; ``values`` follows :data:`FIELDS`."""

    day: date
    values: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class EntityCapacity:
    """Capacity computations of one user or ghost, compact: a date tuple and one flat array
    of ``len(FIELDS)`` values per date, :data:`ABSENT` where the upstream omitted a field."""

    entity_type: str
    entity_id: int
    days: tuple[date, ...]
    values: array[float]

    @property
    def computations(self) -> tuple[Computation, ...]:
        """The same data as one :class:`Computation` per date (convenience, not fast)."""
        width = len(FIELDS)
        return tuple(
            Computation(
                day,
                tuple(None if v == ABSENT else v for v in self.values[i * width : (i + 1) * width]),
            )
            for i, day in enumerate(self.days)
        )


@dataclass(frozen=True, slots=True)
class CapacityReply:
    """A parsed capacities reply and the problems found in it."""

    entities: tuple[EntityCapacity, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Person:
    """An entity with a display name, found by discovery."""

    entity_type: str
    entity_id: int
    name: str


def _number(value: object) -> float | None:
    """A finite number in 0..MAX_VALUE, else ``None`` (booleans are not numbers)."""
    kind = type(value)
    if (kind is int or kind is float) and 0 <= value <= MAX_VALUE:  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    return None  # NaN fails both comparisons, infinities the upper one


def _parse_date(value: object) -> date | None:
    if not isinstance(value, str) or not _DATE.match(value):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


class _Periods(dict[object, date | None]):
    """Raw ``date`` value -> its period (or ``None`` when invalid), parsed once per reply."""

    def __init__(self, normalise: Callable[[date], date]) -> None:
        super().__init__()
        self._normalise = normalise

    def __missing__(self, raw: object) -> date | None:
        day = _parse_date(raw)
        period = None if day is None else self._normalise(day)
        if isinstance(raw, str):
            self[raw] = period
        return period


def _parse_computations(
    raw: list[object], problems: list[str], where: str, periods: _Periods
) -> tuple[tuple[date, ...], array[float]]:
    rows: dict[date, list[float]] = {}
    bad_values = 0
    for item in raw:
        if type(item) is not dict:
            problems.append(f"{where}: computation is not an object")
            continue
        raw_date = item.get("date")
        period = periods[raw_date] if isinstance(raw_date, str) else None
        if period is None:
            problems.append(f"{where}: computation without a valid date")
            continue
        values: list[float] = []
        for field in FIELDS:
            raw_value = item.get(field)
            if raw_value is None:
                values.append(ABSENT)
                continue
            number = _number(raw_value)
            if number is None:
                bad_values += 1
                number = ABSENT
            values.append(number)
        if period in rows:
            problems.append(f"{where}: duplicate date {period.isoformat()}")
        rows[period] = values
    if bad_values:
        problems.append(f"{where}: {bad_values} invalid number(s) dropped")
    flat: array[float] = array("d")
    for values in rows.values():
        flat.extend(values)
    return tuple(rows), flat


def _identity(day: date) -> date:
    return day


def capacity_items(payload: object) -> list[object]:
    """The items of a decoded capacities body of either shape."""
    if isinstance(payload, dict):
        items = payload.get("items")
        if not isinstance(items, list):
            raise InvalidReply("object without an 'items' array")
        return items
    if isinstance(payload, list):
        return payload
    raise InvalidReply(f"expected an object or array, got {type(payload).__name__}")


class CapacityParser:
    """Parses the items of one capacities reply, fed in one or more pieces, in order."""

    def __init__(self, normalise: Callable[[date], date] = _identity) -> None:
        self._periods = _Periods(normalise)
        self._problems: list[str] = []
        self._entities: dict[tuple[str, int], EntityCapacity] = {}
        self._index = 0

    def feed(self, items: list[object]) -> None:
        """Parse the next items; invalid ones are dropped and reported as problems."""
        problems, entities = self._problems, self._entities
        for index, item in enumerate(items, self._index):
            if not isinstance(item, dict):
                problems.append(f"item {index}: not an object")
                continue
            entity_id = item.get("id")
            entity_type = item.get("type", "user")
            computations = item.get("computations")
            if isinstance(entity_id, bool) or not isinstance(entity_id, int) or entity_id <= 0:
                problems.append(f"item {index}: invalid id")
                continue
            if not isinstance(entity_type, str) or not _ENTITY_TYPE.match(entity_type):
                problems.append(f"item {index}: invalid type")
                continue
            if not isinstance(computations, list):
                problems.append(f"{entity_type} {entity_id}: 'computations' is not an array")
                continue
            key = (entity_type, entity_id)
            if key in entities:
                problems.append(f"{entity_type} {entity_id}: duplicate entity, last one kept")
            days, values = _parse_computations(
                computations, problems, f"{entity_type} {entity_id}", self._periods
            )
            entities[key] = EntityCapacity(entity_type, entity_id, days, values)
        self._index += len(items)

    def finish(self) -> CapacityReply:
        """The parsed reply; :class:`InvalidReply` when items came but none was valid."""
        if self._index and not self._entities:
            raise InvalidReply("no valid entity in the reply")
        return CapacityReply(tuple(self._entities.values()), tuple(self._problems))


def parse_capacities(
    payload: object, normalise: Callable[[date], date] = _identity
) -> CapacityReply:
    """Parse a decoded capacities body of either shape; ``normalise`` maps dates to periods."""
    parser = CapacityParser(normalise)
    parser.feed(capacity_items(payload))
    return parser.finish()


def parse_people(
    payload: object, entity_type: str, id_field: str, workspace_id: int | None = None
) -> list[Person]:
    """Parse an organization-users array or a ``{"data": [...]}`` ghosts page."""
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        rows: list[object] = payload["data"]
    elif isinstance(payload, list):
        rows = payload
    else:
        raise InvalidReply("expected an array or an object with a 'data' array")
    people: list[Person] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        if row.get("active") is False:
            continue
        if workspace_id is not None and not _in_workspace(row, workspace_id):
            continue
        entity_id = row.get(id_field)
        if isinstance(entity_id, str) and entity_id.isdigit():
            entity_id = int(entity_id)
        if isinstance(entity_id, bool) or not isinstance(entity_id, int) or entity_id <= 0:
            continue
        name = row.get("name")
        people.append(
            Person(entity_type, entity_id, name.strip()[:200] if isinstance(name, str) else "")
        )
    return people


def _in_workspace(row: dict[str, object], workspace_id: int) -> bool:
    workspaces = row.get("workspaces")
    if not isinstance(workspaces, list):
        return True
    for entry in workspaces:
        ws_id = entry.get("workspace_id", entry.get("id")) if isinstance(entry, dict) else entry
        if ws_id == workspace_id:
            return True
    return False
