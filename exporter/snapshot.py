"""Immutable data of one refresh and the staleness bookkeeping between refreshes.

Compact on purpose: an entity's figures are one flat array of doubles and a tuple of
dates, so a snapshot of 100,000 series is a few thousand Python objects, not hundreds of
thousands. That keeps memory proportional to the series at ~8 bytes a value and keeps
the garbage collector from pausing the event loop to walk the data after each refresh.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from .focus.models import ABSENT, FIELDS, Computation, EntityCapacity

EntityKey = tuple[str, int]
#: Values per date in :attr:`EntityRecord.values`, in the order of :data:`FIELDS`.
WIDTH = len(FIELDS)


@dataclass(frozen=True, slots=True, init=False)
class EntityRecord:
    """One entity's figures and the wall-clock time they were fetched."""

    entity_type: str
    entity_id: int
    fetched_at: float
    #: The dates (periods), in the upstream's order.
    days: tuple[date, ...]
    #: ``WIDTH`` values per date, :data:`ABSENT` where the field was omitted.
    values: array[float]

    def __init__(
        self,
        entity_type: str,
        entity_id: int,
        fetched_at: float,
        computations: Iterable[Computation] = (),
    ) -> None:
        rows = tuple(computations)
        flat = [ABSENT if v is None else v for c in rows for v in c.values]
        self._set(entity_type, entity_id, fetched_at, tuple(c.day for c in rows), array("d", flat))

    def _set(
        self,
        entity_type: str,
        entity_id: int,
        fetched_at: float,
        days: tuple[date, ...],
        values: array[float],
    ) -> None:
        for name, value in (
            ("entity_type", entity_type),
            ("entity_id", entity_id),
            ("fetched_at", fetched_at),
            ("days", days),
            ("values", values),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def of(
        cls,
        entity_type: str,
        entity_id: int,
        fetched_at: float,
        days: tuple[date, ...],
        values: array[float],
    ) -> EntityRecord:
        """A record from its compact parts (``len(values) == WIDTH * len(days)``)."""
        record = cls.__new__(cls)
        record._set(entity_type, entity_id, fetched_at, days, values)
        return record

    @property
    def key(self) -> EntityKey:
        """``(entity_type, entity_id)``."""
        return (self.entity_type, self.entity_id)

    @property
    def computations(self) -> tuple[Computation, ...]:
        """The figures as :class:`Computation` objects (built on demand; tests and tools)."""
        values = self.values
        return tuple(
            Computation(
                day,
                tuple(None if v == ABSENT else v for v in values[i * WIDTH : (i + 1) * WIDTH]),
            )
            for i, day in enumerate(self.days)
        )

    @property
    def series_count(self) -> int:
        """Number of values present."""
        return len(self.values) - self.values.count(ABSENT)

    def within(self, window: frozenset[date]) -> EntityRecord | None:
        """This record without the dates outside ``window``; ``None`` if none is left."""
        if window.issuperset(self.days):
            return self if self.days else None
        kept = [i for i, day in enumerate(self.days) if day in window]
        if not kept:
            return None
        values: array[float] = array("d")
        for i in kept:
            values += self.values[i * WIDTH : (i + 1) * WIDTH]
        days = tuple(self.days[i] for i in kept)
        return EntityRecord.of(self.entity_type, self.entity_id, self.fetched_at, days, values)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one exposition shows; replaced whole on every refresh, never mutated."""

    workspace_id: int
    entities: tuple[EntityRecord, ...] = ()
    names: Mapping[EntityKey, str] = field(default_factory=dict)
    #: Each period of the window and the Unix time at which it starts.
    periods: tuple[tuple[date, float], ...] = ()
    taken_at: float = 0.0
    #: Number of capacity samples (all gauges together), counted once when built.
    series_count: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        count = sum(entity.series_count for entity in self.entities)
        object.__setattr__(self, "series_count", count)


def merge(
    previous: Snapshot | None,
    fetched: Iterable[EntityCapacity],
    failed: set[int],
    wanted: set[int],
    periods: tuple[tuple[date, float], ...],
    names: Mapping[EntityKey, str],
    now: float,
    max_staleness: float,
    workspace_id: int,
) -> Snapshot:
    """Build the next snapshot.

    Entities fetched now replace their old values. An entity whose batch failed keeps
    its previous values while they are younger than ``max_staleness``. Entities not
    wanted, not returned by a successful batch, or whose dates left the window vanish.
    ``failed`` and ``wanted`` hold entity IDs: the type comes from the upstream's reply.
    """
    in_window = frozenset(period for period, _ in periods)
    records: dict[EntityKey, EntityRecord] = {}
    for entity in fetched:
        key = (entity.entity_type, entity.entity_id)
        if entity.entity_id in wanted:
            records[key] = EntityRecord.of(*key, now, entity.days, entity.values)
    if previous is not None:
        for old in previous.entities:
            if (
                old.entity_id in failed
                and old.key not in records
                and (now - old.fetched_at <= max_staleness)
            ):
                records[old.key] = old
    entities = []
    for key in sorted(records):
        record = records[key].within(in_window)
        if record is not None:
            entities.append(record)
    shown_names = {key: name for key, name in names.items() if key[1] in wanted and name}
    return Snapshot(workspace_id, tuple(entities), shown_names, periods, now)
