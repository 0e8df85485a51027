"""Errors of the Focus API client; each says in ``reason`` what kind of failure it is."""

from __future__ import annotations


class FocusError(Exception):
    """A request to the Focus API failed; ``reason`` is a short machine-friendly word."""

    reason = "error"


class BudgetSpent(FocusError):
    """Not sent: the hourly request budget is spent or the upstream quota is paused."""

    reason = "budget"


class QuotaExhausted(FocusError):
    """The upstream answered 402 or 429; no call until ``pause`` seconds have passed."""

    reason = "quota"

    def __init__(self, status: int, pause: float) -> None:
        super().__init__(f"upstream quota exhausted (HTTP {status}); pausing {pause:.0f} s")
        self.status = status
        self.pause = pause


class AuthFailed(FocusError):
    """401 or 403: bad credentials or missing permission; never retried."""

    reason = "auth"

    def __init__(self, status: int, description: str, trace_id: str) -> None:
        what = "invalid credentials" if status == 401 else "insufficient permissions"
        super().__init__(
            f"HTTP {status} ({what}): {description or 'no description'}"
            f" (trace_id {trace_id or 'none'})"
        )
        self.status = status


class UpstreamFailed(FocusError):
    """An HTTP error status other than auth and quota, after retries where allowed."""

    reason = "http"

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"HTTP {status}: {description or 'no description'}")
        self.status = status


class TransportFailed(FocusError):
    """Connection refused or reset, timeout, oversized or truncated body."""

    reason = "transport"


class BadReply(FocusError):
    """The body is not valid JSON of the expected shape."""

    reason = "invalid_reply"
