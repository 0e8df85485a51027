"""The refresh plan: which entities, which window, how many requests, how often."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .config import Settings
from .focus.batching import Batch, plan_batches
from .focus.client import capacities_prefix
from .focus.query import CapacityQuery
from .focus.quota import effective_interval
from .focus.window import day_start_timestamp, periods, window

#: Discovery requests assumed per round before the first one has run (users + ghosts).
DEFAULT_DISCOVERY_REQUESTS = 2


@dataclass(frozen=True, slots=True)
class RefreshPlan:
    """What one refresh asks for and how often refreshes may run."""

    user_ids: tuple[int, ...]
    ghost_ids: tuple[int, ...]
    first: date
    last: date
    periods: tuple[tuple[date, float], ...]
    batches: tuple[Batch, ...]
    interval: float

    @property
    def entity_ids(self) -> set[int]:
        """Every user and ghost ID the plan asks for."""
        return {*self.user_ids, *self.ghost_ids}

    @property
    def requests(self) -> int:
        """Capacities requests per refresh."""
        return len(self.batches)

    def describe(self, settings: Settings) -> str:
        """One line for the log and ``--check-config``."""
        discovery = (
            f"discovery every {settings.discovery_interval:g} s"
            if settings.discover
            else "discovery off"
        )
        return (
            f"{len(self.user_ids)} user(s), {len(self.ghost_ids)} ghost(s); window "
            f"{self.first}..{self.last} ({settings.horizon_days} days, unit {settings.unit}, "
            f"{settings.timezone}); {self.requests} request(s) per refresh; effective interval "
            f"{self.interval:g} s (configured {settings.refresh_interval:g} s, budget "
            f"{settings.request_budget}/h, {discovery})"
        )


def capacity_query(settings: Settings) -> CapacityQuery:
    """The optional capacities parameters from the settings."""
    return CapacityQuery(
        unit=settings.unit,
        private=settings.private,
        task_sources=tuple(settings.task_sources),
        include_drafts=settings.include_drafts,
        array_format=settings.array_format,
        max_url_length=settings.max_url_length,
    )


def make_plan(
    settings: Settings,
    now: float,
    user_ids: Sequence[int],
    ghost_ids: Sequence[int],
    discovery_requests: int = DEFAULT_DISCOVERY_REQUESTS,
    strict: bool = True,
) -> RefreshPlan:
    """Plan a refresh at Unix time ``now``; raise ``ValueError`` if the budget cannot hold it."""
    zone = settings.zone
    first, last = window(now, zone, settings.horizon_days)
    starts = tuple((p, day_start_timestamp(p, zone)) for p in periods(first, last, settings.unit))
    prefix = capacities_prefix(settings.api_url, settings.organization_id, settings.workspace_id)
    batches = plan_batches(capacity_query(settings), len(prefix), user_ids, ghost_ids, first, last)
    interval = effective_interval(
        settings.refresh_interval,
        settings.request_budget,
        max(1, len(batches)),
        discovery_requests if settings.discover else 0,
        settings.discovery_interval,
        strict,
    )
    return RefreshPlan(
        tuple(user_ids), tuple(ghost_ids), first, last, starts, tuple(batches), interval
    )
