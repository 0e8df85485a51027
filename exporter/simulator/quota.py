"""Sliding-window request quota, reported in the X-Toggl-Quota-* headers."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

REMAINING_HEADER = "X-Toggl-Quota-Remaining"
RESETS_IN_HEADER = "X-Toggl-Quota-Resets-In"
UNLIMITED = 1_000_000  # the limit reported when no quota is configured


class SlidingQuota:
    """Counts requests in a sliding window; rejected requests are not counted."""

    def __init__(
        self,
        limit: int | None,
        window_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """Count one request if the quota allows it; False when over quota."""
        with self._lock:
            now = self._prune()
            if self.limit is not None and len(self._times) >= self.limit:
                return False
            self._times.append(now)
            return True

    def remaining(self) -> int:
        """Requests left in the current window."""
        with self._lock:
            self._prune()
            return max(0, (self.limit if self.limit is not None else UNLIMITED) - len(self._times))

    def resets_in(self) -> int:
        """Whole seconds until the oldest counted request leaves the window (0 if none)."""
        with self._lock:
            now = self._prune()
            if not self._times:
                return 0
            return max(0, math.ceil(self._times[0] + self.window - now))

    def headers(self) -> dict[str, str]:
        """The quota headers of a reply."""
        return {REMAINING_HEADER: str(self.remaining()), RESETS_IN_HEADER: str(self.resets_in())}

    def reset(self) -> None:
        """Forget every counted request."""
        with self._lock:
            self._times.clear()

    def _prune(self) -> float:
        now = self._clock()
        while self._times and self._times[0] + self.window <= now:
            self._times.popleft()
        return now
