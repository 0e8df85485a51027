"""The request budget: a sliding one-hour window, the upstream's quota headers and pauses.

Every upstream request, of any endpoint, passes :meth:`QuotaGuard.try_acquire` first. The
guard refuses a request when the configured hourly budget is spent or while the upstream
said the quota is exhausted (402/429), so the exporter never spends more than its share
of the quota that the key's owner shares with everything else.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

WINDOW_SECONDS = 3600.0
#: A pause longer than this in a header is treated as malformed.
MAX_PAUSE_SECONDS = 2 * WINDOW_SECONDS


@dataclass(frozen=True, slots=True)
class QuotaState:
    """The upstream's quota as last reported (``None`` until a header was seen)."""

    remaining: int | None
    resets_in: float | None
    paused_for: float


def parse_seconds(value: str | None) -> float | None:
    """A non-negative number of seconds from a header, or ``None`` if absent or malformed."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_PAUSE_SECONDS:
        return None
    return seconds


class QuotaGuard:
    """Tracks the hourly budget and the upstream's quota; decides when calls may happen."""

    def __init__(
        self,
        budget: int,
        default_pause: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._budget = budget
        self._default_pause = default_pause
        self._clock = clock
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._remaining: int | None = None
        self._resets_at: float | None = None

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - WINDOW_SECONDS:
            self._sent.popleft()

    def try_acquire(self) -> bool:
        """Count one request if the budget and the upstream's quota allow it now."""
        now = self._clock()
        self._expire(now)
        if now < self._paused_until or len(self._sent) >= self._budget:
            return False
        self._sent.append(now)
        return True

    def used_in_window(self) -> int:
        """Requests counted in the last hour."""
        self._expire(self._clock())
        return len(self._sent)

    def paused_for(self) -> float:
        """Seconds left of a pause ordered by a 402/429 (0 when not paused)."""
        return max(0.0, self._paused_until - self._clock())

    def observe(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Read quota headers from any reply; on 402/429 pause and return the pause length."""
        now = self._clock()
        remaining = headers.get("x-toggl-quota-remaining")
        resets_in = parse_seconds(headers.get("x-toggl-quota-resets-in"))
        if remaining is not None and remaining.strip().isdigit():
            self._remaining = int(remaining.strip())
            self._resets_at = now + resets_in if resets_in is not None else None
        if status not in (402, 429):
            return None
        pause = parse_seconds(headers.get("retry-after"))
        if pause is None:
            pause = resets_in
        if pause is None:
            pause = self._default_pause
        pause = max(pause, 1.0)
        self._paused_until = max(self._paused_until, now + pause)
        self._remaining = 0
        self._resets_at = now + pause
        return pause

    def state(self) -> QuotaState:
        """The quota as last reported, for self-metrics."""
        resets_in = None
        if self._resets_at is not None:
            resets_in = max(0.0, self._resets_at - self._clock())
        return QuotaState(self._remaining, resets_in, self.paused_for())

    def delay_for(self, requests: int, interval: float) -> float:
        """How long to wait before a refresh of ``requests`` calls, given ``interval``.

        Waits out a pause, waits until the budget window has room for the whole refresh,
        and stretches the interval when the upstream's remaining quota would not last
        until its reset at the planned pace.
        """
        now = self._clock()
        self._expire(now)
        delay = self.paused_for()
        free = self._budget - len(self._sent)
        if requests > free:
            needed = min(requests, self._budget) - free
            if 0 < needed <= len(self._sent):
                delay = max(delay, self._sent[needed - 1] + WINDOW_SECONDS - now)
        if self._remaining is not None and self._resets_at is not None:
            until_reset = self._resets_at - now
            if until_reset > 0:
                if self._remaining < requests:
                    delay = max(delay, until_reset)
                else:
                    refreshes_left = self._remaining // requests
                    needed_refreshes = math.ceil(until_reset / interval)
                    if needed_refreshes > refreshes_left:
                        delay = max(delay, until_reset / refreshes_left)
        return max(0.0, delay)


def effective_interval(
    refresh_interval: float,
    budget: int,
    requests_per_refresh: int,
    discovery_requests: int = 0,
    discovery_interval: float = 0.0,
    strict: bool = True,
) -> float:
    """The refresh interval that keeps all calls within ``budget`` per hour.

    Raises :class:`ValueError` when the budget cannot hold one refresh an hour; with
    ``strict=False`` returns the slowest sensible interval instead.
    """
    discovery_per_hour = 0.0
    if discovery_requests and discovery_interval > 0:
        discovery_per_hour = discovery_requests * max(1.0, WINDOW_SECONDS / discovery_interval)
    available = budget - discovery_per_hour
    if available < 1 or requests_per_refresh > available:
        if not strict:
            return max(refresh_interval, WINDOW_SECONDS * requests_per_refresh / budget)
        raise ValueError(
            f"a refresh needs {requests_per_refresh} request(s) and discovery "
            f"{discovery_per_hour:g} per hour, more than the budget of {budget} per hour"
        )
    return max(refresh_interval, WINDOW_SECONDS * requests_per_refresh / available)
