"""Snapshot -> exposition bytes, rendered once per refresh and served as they are.

The capacity gauges (nearly all series) are written by a fast path that produces the
same bytes as ``prometheus_client.generate_latest`` would; the few other families go
through ``prometheus_client`` itself. Prometheus text, OpenMetrics and their gzip
forms are all produced here, so a scrape does no per-series work.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from .focus.models import FIELDS
from .selfmetrics import CACHED, NAMESPACE
from .snapshot import Snapshot

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
GZIP_LEVEL = 6

#: (metric name, help, multiplier) per entry of :data:`FIELDS`.
CAPACITY_METRICS: tuple[tuple[str, str, float], ...] = (
    ("capacity_working_seconds", "Working time of the entity in the period", 60.0),
    ("capacity_estimated_seconds", "Planned (estimated) work of the entity in the period", 60.0),
    (
        "capacity_allocated_seconds",
        "Time-blocked (allocated) time of the entity in the period",
        60.0,
    ),
    (
        "capacity_estimated_remaining_seconds",
        "Unfinished planned work placed from today on in the period",
        60.0,
    ),
    (
        "capacity_time_off_seconds",
        "Time off already deducted from the working time in the period",
        60.0,
    ),
    ("capacity_assigned_tasks", "Tasks assigned to the entity in the period", 1.0),
)
assert len(CAPACITY_METRICS) == len(FIELDS)


def _help(text: str) -> str:
    return f"{text}. {CACHED}"


@dataclass(frozen=True, slots=True)
class Exposition:
    """The rendered bytes of one snapshot."""

    text: bytes
    openmetrics: bytes
    text_gzip: bytes
    openmetrics_gzip: bytes

    def body(self, openmetrics: bool, compressed: bool) -> bytes:
        """The bytes for the negotiated format and encoding."""
        if openmetrics:
            return self.openmetrics_gzip if compressed else self.openmetrics
        return self.text_gzip if compressed else self.text


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render_capacity(snapshot: Snapshot) -> str:
    """The capacity gauge families in exposition text (same bytes in both formats)."""
    workspace = _escape(str(snapshot.workspace_id))
    labels: list[str] = []
    rows: list[tuple[float | None, ...]] = []
    for entity in snapshot.entities:
        tail = (
            f'",entity_id="{entity.entity_id}",entity_type="{_escape(entity.entity_type)}"'
            f',workspace_id="{workspace}"}} '
        )
        for computation in entity.computations:
            labels.append(f'{{date="{computation.day.isoformat()}{tail}')
            rows.append(computation.values)
    formatted: dict[float, str] = {}
    out: list[str] = []
    for index, (name, text, factor) in enumerate(CAPACITY_METRICS):
        full = f"{NAMESPACE}_{name}"
        out.append(f"# HELP {full} {_help(text)}\n# TYPE {full} gauge\n")
        for label, values in zip(labels, rows, strict=True):
            raw = values[index]
            if raw is None:
                continue
            value = raw * factor
            shown = formatted.get(value)
            if shown is None:
                shown = formatted[value] = floatToGoString(value)  # type: ignore[no-untyped-call]
            out.append(f"{full}{label}{shown}\n")
    return "".join(out)


class _SnapshotInfo(Collector):
    """Entity names and period starts: few series, rendered by prometheus_client."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        if snap.names:
            info = GaugeMetricFamily(
                f"{NAMESPACE}_entity_info",
                _help("Display name of a user or ghost from discovery; the value is always 1"),
                labels=["workspace_id", "entity_type", "entity_id", "name"],
            )
            for (entity_type, entity_id), name in sorted(snap.names.items()):
                info.add_metric([str(snap.workspace_id), entity_type, str(entity_id), name], 1)
            yield info
        if snap.periods:
            starts = GaugeMetricFamily(
                f"{NAMESPACE}_date_start_timestamp_seconds",
                _help(
                    "Unix time at which each date (period) of the window starts in the "
                    "configured time zone"
                ),
                labels=["date"],
            )
            for period, start in snap.periods:
                starts.add_metric([period.isoformat()], start)
            yield starts


def render(snapshot: Snapshot, self_metrics: CollectorRegistry) -> Exposition:
    """Render ``snapshot`` and the self-metrics in every served format."""
    info_registry = CollectorRegistry(auto_describe=False)
    info_registry.register(_SnapshotInfo(snapshot))
    capacity = render_capacity(snapshot).encode()
    info_text = generate_latest(info_registry)
    self_text = generate_latest(self_metrics)
    info_om = generate_openmetrics(info_registry)  # type: ignore[no-untyped-call]
    self_om = generate_openmetrics(self_metrics)  # type: ignore[no-untyped-call]
    eof = b"# EOF\n"
    text = b"".join((capacity, info_text, self_text))
    openmetrics = b"".join((capacity, info_om.removesuffix(eof), self_om.removesuffix(eof), eof))
    return Exposition(
        text,
        openmetrics,
        gzip.compress(text, GZIP_LEVEL, mtime=0),
        gzip.compress(openmetrics, GZIP_LEVEL, mtime=0),
    )
