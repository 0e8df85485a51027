"""The refresh loop: plans batches, calls the client, builds and publishes snapshots."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from .config import Settings
from .focus.client import FocusClient
from .focus.errors import AuthFailed, BudgetSpent, FocusError, QuotaExhausted
from .focus.models import EntityCapacity, Person
from .plan import RefreshPlan, capacity_query, make_plan
from .selfmetrics import SelfMetrics
from .snapshot import EntityKey, Snapshot, merge

log = logging.getLogger(__name__)

#: Longest sleep between two looks at the clock (midnight, staleness expiry).
HOUSEKEEPING_SECONDS = 60.0
#: Retry delay of a failed discovery when nothing is known yet.
DISCOVERY_RETRY_SECONDS = 300.0

Publish = Callable[[Snapshot], Awaitable[None]]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause automatic garbage collection during a refresh.

    Replies and snapshots hold no reference cycles, and a full collection over the
    hundreds of thousands of objects a large refresh allocates holds the GIL for 100 ms
    or more, stalling the event loop (see docs/performance.md).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _drain(items: list[EntityCapacity]) -> None:
    """Drop parsed replies one entity at a time, in a worker thread.

    Freeing a large reply (a million small objects) is C work that holds the GIL for tens
    of milliseconds when done at once; in small steps the event loop gets it in between.
    """
    while items:
        items.pop()


@dataclass
class RefreshOutcome:
    """What one refresh achieved."""

    succeeded: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every batch succeeded."""
        return self.failed == 0


class Collector:
    """Owns the current snapshot; refreshes it on the quota-aware schedule."""

    def __init__(
        self,
        settings: Settings,
        client: FocusClient,
        metrics: SelfMetrics,
        publish: Publish,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.client = client
        self.metrics = metrics
        self._publish = publish
        self._clock = clock
        self._query = capacity_query(settings)
        self._people: dict[EntityKey, str] = {}
        self._discovered_users: tuple[int, ...] = ()
        self._discovered_ghosts: tuple[int, ...] = ()
        self._discovery_requests = 2
        self._next_discovery = 0.0
        self.snapshot = Snapshot(settings.workspace_id)
        self.ready = False
        self.last_error: str | None = None
        self._logged: set[str] = set()
        self.plan = make_plan(settings, clock(), *self._entities())
        metrics.status.interval = self.plan.interval

    # -- planning ---------------------------------------------------------------------

    def _entities(self) -> tuple[list[int], list[int]]:
        users = list(dict.fromkeys([*self.settings.user_ids, *self._discovered_users]))
        ghosts = list(dict.fromkeys([*self.settings.ghost_ids, *self._discovered_ghosts]))
        return users, ghosts

    def _make_plan(self) -> RefreshPlan:
        users, ghosts = self._entities()
        try:
            plan = make_plan(self.settings, self._clock(), users, ghosts, self._discovery_requests)
        except ValueError as exc:
            if "budget" not in self._logged:
                self._logged.add("budget")
                log.error("%s: raise TOGGL_FOCUS_REQUEST_BUDGET; refreshes stay partial", exc)
            plan = make_plan(
                self.settings, self._clock(), users, ghosts, self._discovery_requests, strict=False
            )
        self.metrics.status.interval = plan.interval
        return plan

    @property
    def max_staleness(self) -> float:
        """How long a failed entity keeps its last values (default 3 intervals)."""
        return self.settings.max_staleness or 3 * self.plan.interval

    # -- discovery --------------------------------------------------------------------

    async def discover(self) -> None:
        """Refresh the list of users and ghosts and their names; keep the old list on error."""
        mono = time.monotonic()
        requests_before = self.client.guard.used_in_window()
        try:
            users = await self.client.users(self.settings.discovery_id_field)
            ghosts = await self.client.ghosts()
        except FocusError as exc:
            self._note_error("discovery", exc)
            retry = min(
                self.settings.discovery_interval, max(self.plan.interval, DISCOVERY_RETRY_SECONDS)
            )
            self._next_discovery = mono + retry
            return
        self._clear_error("discovery")
        found: list[Person] = users + (ghosts or [])
        self._people = {(p.entity_type, p.entity_id): p.name for p in found if p.name}
        self._discovered_users = tuple(p.entity_id for p in users)
        self._discovered_ghosts = tuple(p.entity_id for p in ghosts or [])
        self._discovery_requests = max(1, self.client.guard.used_in_window() - requests_before)
        self._next_discovery = mono + self.settings.discovery_interval
        log.info(
            "discovery: %d user(s), %d ghost(s)%s",
            len(users),
            len(ghosts or []),
            "" if ghosts is not None else " (ghosts endpoint unavailable)",
        )

    # -- refresh ----------------------------------------------------------------------

    async def refresh(self) -> RefreshOutcome:
        """Fetch every batch (concurrently, bounded) and publish the merged snapshot."""
        with gc_paused():
            return await self._refresh()

    async def _refresh(self) -> RefreshOutcome:
        started = time.monotonic()
        self.plan = plan = self._make_plan()
        outcome = RefreshOutcome()
        fetched: list[EntityCapacity] = []
        failed: set[int] = set()
        limit = asyncio.Semaphore(self.settings.max_concurrency)
        in_window = {period for period, _ in plan.periods}

        async def one(batch_index: int) -> None:
            batch = plan.batches[batch_index]
            wanted = set(batch.user_ids) | set(batch.ghost_ids)
            async with limit:
                try:
                    reply = await self.client.capacities(self._query, batch, plan.first, plan.last)
                except FocusError as exc:
                    outcome.failed += 1
                    outcome.errors.append(self._describe(exc))
                    failed.update(wanted)
                    self._note_error("capacities", exc)
                    return
            outcome.succeeded += 1
            unknown = [e.entity_id for e in reply.entities if e.entity_id not in wanted]
            fetched.extend(e for e in reply.entities if e.entity_id in wanted)
            problems = list(reply.problems)
            if unknown:
                problems.append(f"{len(unknown)} entity(ies) not asked for, ignored")
            outside = sum(day not in in_window for e in reply.entities for day in e.days)
            if outside:
                problems.append(f"{outside} date(s) outside the window {plan.first}..{plan.last}")
            if problems:
                log.warning("capacities reply: %s", "; ".join(problems[:5]))

        await asyncio.gather(*(one(i) for i in range(len(plan.batches))))
        if outcome.succeeded:
            self._clear_error("capacities")
        await self._rebuild(fetched, failed)
        await asyncio.to_thread(_drain, fetched)
        duration = time.monotonic() - started
        status = self.metrics.status
        status.duration = duration
        status.up = outcome.complete and bool(plan.batches)
        if status.up:
            status.last_success = self._clock()
            self.last_error = None
        if outcome.errors:
            self.last_error = outcome.errors[0]
        await self._publish(self.snapshot)
        if outcome.succeeded:
            self.ready = True
        return outcome

    async def _rebuild(self, fetched: list[EntityCapacity], failed: set[int]) -> None:
        self.snapshot = await asyncio.to_thread(
            merge,
            self.snapshot,
            fetched,
            failed,
            self.plan.entity_ids,
            self.plan.periods,
            self._people,
            self._clock(),
            self.max_staleness,
            self.settings.workspace_id,
        )

    async def housekeep(self) -> None:
        """Without calling upstream: move the window, expire stale entities, republish."""
        before = self.snapshot
        self.plan = self._make_plan()
        await self._rebuild([], self.plan.entity_ids)
        after = self.snapshot
        if after.periods != before.periods or len(after.entities) != len(before.entities):
            await self._publish(after)

    # -- loop -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh until ``stop`` is set, never faster than the plan and the quota allow."""
        log.info("plan: %s", self.plan.describe(self.settings))
        next_refresh = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            discovery_due = self.settings.discover and now >= self._next_discovery
            guard = self.client.guard
            if discovery_due and guard.delay_for(self._discovery_requests, self.plan.interval) <= 0:
                await self.discover()
                self.plan = self._make_plan()
            wait_budget = guard.delay_for(self.plan.requests, self.plan.interval)
            if now >= next_refresh and wait_budget <= 0 and self.plan.batches:
                started = time.monotonic()
                await self.refresh()
                next_refresh = started + self.plan.interval
            else:
                await self.housekeep()
                if wait_budget > 0:
                    self._quota_wait(wait_budget)
            sleep = max(next_refresh - time.monotonic(), wait_budget, 0.05)
            if self.settings.discover and not self.plan.batches:
                sleep = min(sleep, max(0.05, self._next_discovery - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(sleep, HOUSEKEEPING_SECONDS))

    # -- logging ----------------------------------------------------------------------

    def _quota_wait(self, seconds: float) -> None:
        key = "quota-wait"
        if key not in self._logged:
            self._logged.add(key)
            log.warning(
                "request budget or upstream quota: next refresh in %.0f s; serving last data",
                seconds,
            )

    @staticmethod
    def _describe(exc: FocusError) -> str:
        return f"{type(exc).__name__}: {exc}"

    def _note_error(self, endpoint: str, exc: FocusError) -> None:
        """Log an error once per kind until the endpoint succeeds again."""
        key = f"{endpoint}:{exc.reason}"
        self.last_error = self._describe(exc)
        if key in self._logged:
            return
        self._logged.add(key)
        if isinstance(exc, QuotaExhausted):
            log.warning(
                "%s: %s; no upstream call until then; serving last good data", endpoint, exc
            )
        elif isinstance(exc, AuthFailed):
            log.error(
                "%s: %s; check the API token and the 'View capacities' permission", endpoint, exc
            )
        elif isinstance(exc, BudgetSpent):
            log.warning("%s: %s; serving last good data", endpoint, exc)
        else:
            log.warning(
                "%s: %s; keeping last good data for up to %.0f s", endpoint, exc, self.max_staleness
            )

    def _clear_error(self, endpoint: str) -> None:
        cleared = {k for k in self._logged if k.startswith(f"{endpoint}:") or k == "quota-wait"}
        if cleared:
            log.info("%s: upstream answering again", endpoint)
            self._logged -= cleared
