"""Capacities query building and batching of entity IDs into as few URLs as fit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from .query import CapacityQuery

QueryPairs = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Batch:
    """The users and ghosts asked for in one capacities request."""

    user_ids: tuple[int, ...]
    ghost_ids: tuple[int, ...]

    @property
    def size(self) -> int:
        """Number of entities in the batch."""
        return len(self.user_ids) + len(self.ghost_ids)


def _ids(name: str, ids: Sequence[int], array_format: str) -> QueryPairs:
    if not ids:
        return []
    if array_format == "repeat":
        return [(name, str(i)) for i in ids]
    return [(name, ",".join(map(str, ids)))]


def capacity_query_string(query: CapacityQuery, batch: Batch, start: date, end: date) -> str:
    """The encoded query string of one capacities request (commas kept literal)."""
    pairs: QueryPairs = _ids("user_id", batch.user_ids, query.array_format)
    if not batch.user_ids:
        pairs.append(("user_id", ""))
    pairs += _ids("ghost_id", batch.ghost_ids, query.array_format)
    pairs += [("start_date", start.isoformat()), ("end_date", end.isoformat())]
    if query.unit != "day":
        pairs.append(("unit", query.unit))
    if query.private is not None:
        pairs.append(("private", "true" if query.private else "false"))
    if query.task_sources:
        pairs += _ids_str("task_source", query.task_sources, query.array_format)
    if query.include_drafts is not None:
        pairs.append(("include_drafts", "true" if query.include_drafts else "false"))
    return urlencode(pairs, safe=",")


def _ids_str(name: str, values: Sequence[str], array_format: str) -> QueryPairs:
    if array_format == "repeat":
        return [(name, v) for v in values]
    return [(name, ",".join(values))]


def plan_batches(
    query: CapacityQuery,
    url_prefix_length: int,
    user_ids: Sequence[int],
    ghost_ids: Sequence[int],
    start: date,
    end: date,
) -> list[Batch]:
    """Split the entities into the fewest batches whose URLs fit ``query.max_url_length``.

    ``url_prefix_length`` is the length of the URL up to and including the ``?``. Users
    come first; a batch without users repeats the first user, since ``user_id`` is
    required upstream.
    """
    entities = [("user", i) for i in user_ids] + [("ghost", i) for i in ghost_ids]
    filler = tuple(user_ids[:1])
    budget = query.max_url_length - url_prefix_length

    def make(chunk: Sequence[tuple[str, int]]) -> Batch:
        users = tuple(i for kind, i in chunk if kind == "user")
        ghosts = tuple(i for kind, i in chunk if kind == "ghost")
        return Batch(users or (filler if ghosts else ()), ghosts)

    def fits(chunk: Sequence[tuple[str, int]]) -> bool:
        return len(capacity_query_string(query, make(chunk), start, end)) <= budget

    batches: list[Batch] = []
    position = 0
    while position < len(entities):
        low, high = 1, len(entities) - position
        if not fits(entities[position : position + 1]):
            raise ValueError(
                f"a single entity does not fit in {query.max_url_length} URL characters"
            )
        while low < high:
            middle = (low + high + 1) // 2
            if fits(entities[position : position + middle]):
                low = middle
            else:
                high = middle - 1
        batches.append(make(entities[position : position + low]))
        position += low
    return batches
