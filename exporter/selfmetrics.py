"""The exporter's own metrics: refresh outcome, upstream requests and quota.

Values are kept in a small private registry and rendered with the exposition once per
refresh, so they carry the same "cached as of the last refresh" meaning as the data.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import __version__
from .focus.quota import QuotaState

disable_created_metrics()  # type: ignore[no-untyped-call]

NAMESPACE = "toggl_focus"
CACHED = "Cached: as of the last refresh, not fetched on scrape."


@dataclass(slots=True)
class RefreshStatus:
    """Outcome of the latest refresh, updated by the collector."""

    up: bool = False
    last_success: float | None = None
    duration: float | None = None
    interval: float = 0.0


class SelfMetrics(Collector):
    """Registry of the exporter's self-metrics; also the client's request observer."""

    def __init__(self, quota: Callable[[], QuotaState]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.status = RefreshStatus()
        self._quota = quota
        self.requests = Counter(
            "api_requests",
            f"Requests made to the Toggl Focus API by endpoint and outcome code. {CACHED}",
            ["endpoint", "code"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.durations = Histogram(
            "api_request_duration_seconds",
            f"Duration of requests to the Toggl Focus API. {CACHED}",
            ["endpoint"],
            namespace=NAMESPACE,
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.registry.register(self)

    def request_done(self, endpoint: str, code: str, seconds: float) -> None:
        """Count one upstream request (the client's observer interface)."""
        self.requests.labels(endpoint, code).inc()
        self.durations.labels(endpoint).observe(seconds)

    def describe(self) -> list[Metric]:
        """No fixed description: the gauges below come and go."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Gauges derived from the refresh status and the quota state."""
        status = self.status
        yield _gauge(
            "exporter_build_info",
            "Build information of the exporter; the value is always 1.",
            1,
            {"version": __version__, "python_version": platform.python_version()},
        )
        yield _gauge(
            "up",
            f"1 when the last refresh of every entity succeeded, else 0. {CACHED}",
            1 if status.up else 0,
        )
        if status.last_success is not None:
            yield _gauge(
                "last_refresh_success_timestamp_seconds",
                "Unix time of the last fully successful refresh.",
                status.last_success,
            )
        if status.duration is not None:
            yield _gauge(
                "refresh_duration_seconds",
                f"Wall time the last refresh took. {CACHED}",
                status.duration,
            )
        yield _gauge(
            "refresh_interval_seconds",
            "Effective refresh interval after the request budget and the quota.",
            status.interval,
        )
        quota = self._quota()
        if quota.remaining is not None:
            yield _gauge(
                "api_quota_remaining",
                f"Requests left in the upstream's hourly quota (X-Toggl-Quota-Remaining). {CACHED}",
                quota.remaining,
            )
        if quota.resets_in is not None:
            yield _gauge(
                "api_quota_resets_in_seconds",
                f"Seconds until the upstream quota resets (X-Toggl-Quota-Resets-In). {CACHED}",
                quota.resets_in,
            )
        yield _gauge(
            "api_quota_exhausted",
            f"1 while upstream calls are suspended after a 402 or 429 reply, else 0. {CACHED}",
            1 if quota.paused_for > 0 else 0,
        )


def _gauge(
    name: str, documentation: str, value: float, labels: dict[str, str] | None = None
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        f"{NAMESPACE}_{name}", documentation, labels=list(labels) if labels else None
    )
    family.add_metric(list(labels.values()) if labels else [], value)
    return family
