"""Deterministic synthetic capacity figures per (entity, date), overrides and aggregation.

Every figure is derived from a hash of (seed, entity type, entity id, date) only, so the same
inputs give the same numbers in every run. The wall clock matters only for the past-date rule,
and the caller passes "today" in.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import struct
from collections.abc import Iterator

# Order of the figures in a day tuple, and the JSON field names.
FIELD_NAMES: tuple[str, ...] = (
    "working_minutes",
    "estimated_minutes",
    "assigned_tasks_count",
    "allocated_minutes",
    "estimated_remaining_minutes",
    "time_off_minutes",
)
WORKING, ESTIMATED, TASKS, ALLOCATED, REMAINING, TIME_OFF = range(6)
FIELDS_BY_MODE: dict[str, tuple[int, ...]] = {
    "seed": (WORKING, ESTIMATED, TASKS, ALLOCATED),
    "spec": (WORKING, ESTIMATED, TASKS, REMAINING, TIME_OFF),
    "all": (WORKING, ESTIMATED, TASKS, ALLOCATED, REMAINING, TIME_OFF),
}
UNITS = ("day", "week", "month", "quarter")
# Fixed public holidays (month, day): no working time, no planned work.
HOLIDAYS = frozenset({(1, 1), (12, 25)})
# Users at these positions (id - first id) % 6 work part time (minutes per day).
PART_TIME_SLOTS = {3: 360, 5: 240}
FULL_DAY = 480
EXTRA_COMPUTATION_FIELD = "planned_events_minutes"  # unknown to clients: must be ignored

Figure = float | int
Day = tuple[int, int, int, Figure, int, int]
Values = list[Figure | None]  # one day or period, FIELD_NAMES order, None = field omitted
ZERO_DAY: Day = (0, 0, 0, 0, 0, 0)
_KIND_CODES = {"user": 1, "ghost": 2}
_CACHE_LIMIT = 2_000_000  # rendered computations kept; cleared when reached


def period_start(day: datetime.date, unit: str) -> datetime.date:
    """First day of the period (Monday, 1st of month, 1st of quarter) that contains day."""
    if unit == "week":
        return day - datetime.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return day


def is_day_off(day: datetime.date) -> bool:
    """Weekends and the fixed public holidays: no working time and no planned work."""
    return day.weekday() >= 5 or (day.month, day.day) in HOLIDAYS


def number(value: Figure) -> Figure:
    """A float that is a whole number as int (37.0 -> 37), other values unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class Generator:
    """Synthetic base figures of one entity on one date (a pure function of its inputs)."""

    def __init__(self, seed: int, overbooked: set[tuple[str, int]], first_user_id: int) -> None:
        self._seed = seed
        self._overbooked = overbooked
        self._first_user_id = first_user_id

    def daily_minutes(self, entity_type: str, entity_id: int) -> int:
        """Contracted working minutes per weekday."""
        if entity_type != "user":
            return FULL_DAY
        return PART_TIME_SLOTS.get((entity_id - self._first_user_id) % 6, FULL_DAY)

    def day(self, entity_type: str, entity_id: int, day: datetime.date) -> Day:
        """Base figures of one entity on one date."""
        if is_day_off(day):
            return ZERO_DAY
        key = (_KIND_CODES.get(entity_type, 9), entity_id, day.toordinal())
        return self._generate(entity_type, entity_id, key)

    def _generate(self, entity_type: str, entity_id: int, key: tuple[int, int, int]) -> Day:
        b = hashlib.blake2b(
            struct.pack("<qqqq", self._seed, *key), digest_size=8, person=b"focus-sim"
        ).digest()
        base = self.daily_minutes(entity_type, entity_id)
        time_off = 0
        if entity_type == "user" and b[0] < 13:  # about one weekday in twenty
            time_off = base if b[1] < 154 else base // 2
        working = base - time_off
        if (entity_type, entity_id) in self._overbooked and b[2] < 205:  # most weekdays
            ratio = 1.10 + 0.50 * b[3] / 255
        else:
            ratio = 0.50 + 0.45 * b[3] / 255
        estimated = round(working * ratio)
        if estimated == 0:
            return (working, 0, 0, 0, 0, time_off)
        remaining = int(estimated * (0.6 + 0.4 * b[4] / 255))
        allocated = number(round(estimated * (0.2 + 0.6 * b[5] / 255) / 7.5) * 7.5)
        tasks = 1 + b[6] % 8
        return (working, estimated, tasks, allocated, remaining, time_off)


class CapacityModel:
    """Generated figures plus the load factors and overrides that tests set.

    Computations are produced as JSON text: an untouched (entity, date) is rendered once and
    cached, which keeps replies for thousands of entities cheap.
    """

    def __init__(
        self, generator: Generator, fields: str, zero_past: bool, extra_fields: bool
    ) -> None:
        self.generator = generator
        self._fields = FIELDS_BY_MODE[fields]
        self._names = [FIELD_NAMES[i] for i in self._fields]
        self._zero_past = zero_past
        self._extra = extra_fields
        self._loads: dict[tuple[str, int], float] = {}
        self._overrides: dict[tuple[str, int], dict[datetime.date | None, dict[int, Figure | None]]]
        self._overrides = {}
        self._cache: dict[int, str] = {}
        # JSON of one plain day: the field names are encoded once, the numbers per day.
        members = ['"date":"%s"'] + [f"{json.dumps(FIELD_NAMES[i])}:%s" for i in self._fields]
        if extra_fields:
            members.append(f"{json.dumps(EXTRA_COMPUTATION_FIELD)}:0")
        self._template = "{" + ",".join(members) + "}"

    def set_load(self, entity_type: str, entity_id: int, factor: float) -> None:
        """Scale planned work (estimated, remaining, allocated) of one entity."""
        if factor < 0:
            raise ValueError("load factor must not be negative")
        loads = dict(self._loads)  # copy on write: replies may be built in another thread
        if factor == 1:
            loads.pop((entity_type, entity_id), None)
        else:
            loads[(entity_type, entity_id)] = factor
        self._loads = loads

    def set_values(
        self,
        entity_type: str,
        entity_id: int,
        date: datetime.date | None,
        fields: dict[str, Figure | None],
    ) -> None:
        """Override figures of one entity (every date if date is None); None omits a field."""
        indexed: dict[int, Figure | None] = {}
        for name, value in fields.items():
            if name not in FIELD_NAMES:
                raise ValueError(f"unknown field {name!r}; expected one of {FIELD_NAMES}")
            indexed[FIELD_NAMES.index(name)] = value
        key = (entity_type, entity_id)
        per_date = dict(self._overrides.get(key, {}))  # copy on write, as in set_load
        per_date[date] = {**per_date.get(date, {}), **indexed}
        self._overrides = {**self._overrides, key: per_date}

    def clear(self) -> None:
        """Forget every load factor and override."""
        self._loads = {}
        self._overrides = {}

    def computations(
        self,
        entity_type: str,
        entity_id: int,
        start: datetime.date,
        end: datetime.date,
        unit: str,
        today: datetime.date | None,
    ) -> list[dict[str, object]]:
        """The computations of one entity for an inclusive date range, as objects."""
        text = self.computations_json(entity_type, entity_id, start, end, unit, today)
        result: list[dict[str, object]] = json.loads(text)
        return result

    def computations_json(
        self,
        entity_type: str,
        entity_id: int,
        start: datetime.date,
        end: datetime.date,
        unit: str,
        today: datetime.date | None,
    ) -> str:
        """The computations of one entity for an inclusive date range, as a JSON array."""
        key = (entity_type, entity_id)
        if unit == "day" and key not in self._loads and key not in self._overrides:
            # no load factor, no override: every day is plain and its JSON cacheable
            return "[" + ",".join(self._plain_days(entity_type, entity_id, start, end, today)) + "]"
        days = self._days(entity_type, entity_id, start, end, today)
        if unit == "day":
            return _dumps([self._render(day, values) for day, values in days])
        periods: dict[datetime.date, Values] = {}
        for day, values in days:
            period = period_start(day, unit)
            total = periods.get(period)
            if total is None:
                periods[period] = list(values)
                continue
            for i, value in enumerate(values):
                current = total[i]
                total[i] = None if value is None or current is None else current + value
        return _dumps([self._render(day, values) for day, values in periods.items()])

    def _plain_days(
        self,
        entity_type: str,
        entity_id: int,
        start: datetime.date,
        end: datetime.date,
        today: datetime.date | None,
    ) -> Iterator[str]:
        """Cached JSON of each day of an entity that has no load factor and no override."""
        cache = self._cache
        entity_key = ((_KIND_CODES.get(entity_type, 9) << 64) | entity_id) << 22  # ordinal < 2**22
        past_end = today if today is not None and self._zero_past else start
        for ordinal in range(start.toordinal(), end.toordinal() + 1):
            day = datetime.date.fromordinal(ordinal)
            zero = ordinal < past_end.toordinal() or is_day_off(day)
            key = ordinal if zero else entity_key | ordinal
            text = cache.get(key)
            if text is None:
                base = ZERO_DAY if zero else self.generator.day(entity_type, entity_id, day)
                numbers = tuple(number(base[i]) for i in self._fields)  # finite ints and floats
                text = self._template % (day.isoformat(), *numbers)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[key] = text
            yield text

    def _days(
        self,
        entity_type: str,
        entity_id: int,
        start: datetime.date,
        end: datetime.date,
        today: datetime.date | None,
    ) -> Iterator[tuple[datetime.date, Values]]:
        """Each day's figures after load factor, past-date rule and overrides."""
        key = (entity_type, entity_id)
        load = self._loads.get(key, 1.0)
        overrides = self._overrides.get(key, {})
        every_day = overrides.get(None)
        one_day = datetime.timedelta(days=1)
        day = start
        while day <= end:
            base = self.generator.day(entity_type, entity_id, day)
            if today is not None and self._zero_past and day < today:
                base = ZERO_DAY
            values: Values = [None] * 6
            for i in self._fields:
                values[i] = base[i]
            if load != 1.0 and base is not ZERO_DAY:
                self._scale(values, base, load)
            for table in (every_day, overrides.get(day)):
                if table:
                    for i, value in table.items():
                        values[i] = value
            yield day, values
            day += one_day

    @staticmethod
    def _scale(values: Values, base: Day, load: float) -> None:
        estimated = round(base[ESTIMATED] * load)
        values[ESTIMATED] = estimated
        if values[REMAINING] is not None:
            values[REMAINING] = min(round(base[REMAINING] * load), estimated)
        if values[ALLOCATED] is not None:
            values[ALLOCATED] = number(round(base[ALLOCATED] * load / 7.5) * 7.5)

    def _render(self, day: datetime.date, values: Values) -> dict[str, object]:
        out: dict[str, object] = {"date": day.isoformat()}
        for name, value in zip(FIELD_NAMES, values, strict=True):
            if value is not None:
                out[name] = number(value)
        if self._extra:
            out[EXTRA_COMPUTATION_FIELD] = 0
        return out


_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _dumps(value: object) -> str:
    return _ENCODER.encode(value)
