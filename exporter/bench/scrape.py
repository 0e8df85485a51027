"""Scrape timing over loopback HTTP with the standard library's keep-alive client.

A scrape is timed from sending the request to having read the whole body (compressed
bodies are not decompressed: that is the scraper's cost, the same for every server).
"""

from __future__ import annotations

import http.client
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

PLAIN = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}
TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Latency:
    """Summary of a set of timings, in seconds."""

    count: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Latency:
        """Nearest-rank percentiles of ``samples`` (at least one)."""
        ordered = sorted(samples)
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 99), ordered[-1])


def percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


class Scraper:
    """One keep-alive connection to a server; reconnects if the server closes it."""

    def __init__(self, base_url: str, path: str = "/metrics") -> None:
        parts = urlsplit(base_url)
        self._conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=TIMEOUT_SECONDS
        )
        self.path = path

    def fetch(self, headers: dict[str, str], path: str | None = None) -> tuple[float, bytes, str]:
        """One request: seconds taken, raw body, Content-Encoding."""
        started = time.perf_counter()
        try:
            self._conn.request("GET", path or self.path, headers=headers)
            response = self._conn.getresponse()
            body = response.read()
        except (http.client.HTTPException, ConnectionError):
            self._conn.close()  # a server that closed a kept-alive connection: retry once
            started = time.perf_counter()
            self._conn.request("GET", path or self.path, headers=headers)
            response = self._conn.getresponse()
            body = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"GET {path or self.path}: HTTP {response.status}")
        if response.will_close:
            self._conn.close()
        return elapsed, body, response.getheader("Content-Encoding") or "identity"

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
