"""What the simulator remembers about each request it received."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RecordedRequest:
    """One API request (never its headers, so never its credentials)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    endpoint: str  # capacities | users | teams | ghosts | other
    status: int  # status sent; 0 while pending or when no status line was sent (hang)
    time: float  # time.monotonic() on arrival

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "method": self.method,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "endpoint": self.endpoint,
            "status": self.status,
            "time": self.time,
        }
