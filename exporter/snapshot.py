"""Immutable data of one refresh and the staleness bookkeeping between refreshes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from .focus.models import Computation, EntityCapacity

EntityKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class EntityRecord:
    """One entity's computations and the wall-clock time they were fetched."""

    entity_type: str
    entity_id: int
    fetched_at: float
    computations: tuple[Computation, ...]

    @property
    def key(self) -> EntityKey:
        """``(entity_type, entity_id)``."""
        return (self.entity_type, self.entity_id)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one exposition shows; replaced whole on every refresh, never mutated."""

    workspace_id: int
    entities: tuple[EntityRecord, ...] = ()
    names: Mapping[EntityKey, str] = field(default_factory=dict)
    #: Each period of the window and the Unix time at which it starts.
    periods: tuple[tuple[date, float], ...] = ()
    taken_at: float = 0.0

    @property
    def series_count(self) -> int:
        """Number of capacity samples (all gauges together)."""
        return sum(
            sum(v is not None for v in c.values) for e in self.entities for c in e.computations
        )


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
    in_window = {period for period, _ in periods}
    records: dict[EntityKey, EntityRecord] = {}
    for entity in fetched:
        key = (entity.entity_type, entity.entity_id)
        if entity.entity_id in wanted:
            records[key] = EntityRecord(*key, now, entity.computations)
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
        record = records[key]
        kept = tuple(c for c in record.computations if c.day in in_window)
        if kept:
            if len(kept) != len(record.computations):
                record = EntityRecord(*key, record.fetched_at, kept)
            entities.append(record)
    shown_names = {key: name for key, name in names.items() if key[1] in wanted and name}
    return Snapshot(workspace_id, tuple(entities), shown_names, periods, now)
