"""Data faults: capacities replies with wrong content but valid JSON."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable

from .data import period_start
from .faults import ArmedFault, Fault

Entity = dict[str, object]
Computations = Callable[[int], list[dict[str, object]]]  # computations of an unknown id

# Bad values, cycled over the computations: (field, value).
_BAD_VALUES: tuple[tuple[str, object], ...] = (
    ("working_minutes", -480),
    ("estimated_minutes", "NaN"),
    ("estimated_minutes", 1e308),
    ("assigned_tasks_count", 2.5),
    ("working_minutes", -0.5),
    ("estimated_minutes", "Infinity"),
)


def corrupt(
    entities: list[Entity],
    armed: ArmedFault,
    start: datetime.date,
    end: datetime.date,
    unit: str,
    unknown: Computations,
) -> list[Entity]:
    """Apply a data fault to the entities of a capacities reply."""
    if armed.fault is Fault.DUPLICATE_ENTITIES:
        return [copy.deepcopy(entity) for entity in entities for _ in range(2)]
    if armed.fault is Fault.UNKNOWN_ENTITIES:
        extra: list[Entity] = [
            {"id": int(i), "type": "user", "computations": unknown(int(i))}
            for i in armed.params["ids"]
        ]
        return entities + extra
    if armed.fault is Fault.BAD_NUMBERS:
        for entity in entities:
            for index, computation in enumerate(_computations(entity)):
                field, value = _BAD_VALUES[index % len(_BAD_VALUES)]
                computation[field] = value
        return entities
    if armed.fault is Fault.DATES_OUTSIDE_WINDOW:
        days = datetime.timedelta(days=int(armed.params["days"]))
        before = period_start(period_start(start, unit) - days, unit)
        after = period_start(end + days, unit) if unit == "day" else _next_period(end, unit)
        for entity in entities:
            computations = _computations(entity)
            if computations:
                first = {**computations[0], "date": before.isoformat()}
                last = {**computations[-1], "date": after.isoformat()}
                entity["computations"] = [first, *computations, last]
        return entities
    raise ValueError(f"{armed.fault} is not a data fault")


def _computations(entity: Entity) -> list[dict[str, object]]:
    value = entity.get("computations")
    return value if isinstance(value, list) else []


def _next_period(day: datetime.date, unit: str) -> datetime.date:
    """First day of the period after the one that contains day."""
    probe = period_start(day, unit)
    while period_start(probe, unit) == period_start(day, unit):
        probe += datetime.timedelta(days=1)
    return probe
