"""Snapshot -> exposition bytes, rendered once per refresh and served as they are.

The capacity gauges (nearly all series) are written by a fast path that produces the
same bytes as ``prometheus_client.generate_latest`` would; the few other families go
through ``prometheus_client`` itself. Prometheus text, OpenMetrics and their gzip
forms are all produced here, so a scrape does no per-series work.

Both formats share the capacity part, which is kept once, as chunks of about 1 MB:
no single step holds the GIL long enough to stall the event loop, and the bodies are
never copied into one large buffer. The gzip forms are compressed once up to the end
of that shared part (zlib releases the GIL while it works), then forked.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import compress

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from .focus.models import ABSENT, FIELDS
from .selfmetrics import CACHED, NAMESPACE
from .snapshot import WIDTH, Snapshot

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
#: zlib level of the gzip forms: 1 compresses ~4x faster than 6 for ~30% more bytes.
GZIP_LEVEL = 1
#: Samples per rendered chunk (about 1 MB of text).
CHUNK_LINES = 8192
EOF_LINE = b"# EOF\n"
_ZERO = 0.0
#: Compresses rendered chunks while the next ones render; one worker keeps them in order.
_COMPRESSOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gzip")

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


def cached_help(text: str) -> str:
    """The HELP text of a data family: its description and the caching note."""
    return f"{text}. {CACHED}"


@dataclass(frozen=True, slots=True)
class Exposition:
    """The rendered bytes of one snapshot; immutable, so scrapes need no lock."""

    #: The capacity families, identical in both formats, in chunks.
    capacity: tuple[bytes, ...]
    #: What follows them in Prometheus text and in OpenMetrics (with ``# EOF``).
    text_tail: bytes
    openmetrics_tail: bytes
    #: ``(text, openmetrics)`` gzip bodies; compressed in the background after rendering.
    gzip_bodies: Future[tuple[bytes, bytes]]

    @property
    def gzip_ready(self) -> bool:
        """Whether the gzip bodies are ready (a fraction of a second after rendering)."""
        return self.gzip_bodies.done()

    def parts(self, openmetrics: bool, compressed: bool) -> tuple[bytes, ...]:
        """The body for the negotiated format and encoding, as chunks to write in order.

        A compressed body that is not ready yet is waited for: check :attr:`gzip_ready`
        first where waiting is not an option.
        """
        if compressed:
            text_gzip, openmetrics_gzip = self.gzip_bodies.result()
            return (openmetrics_gzip if openmetrics else text_gzip,)
        return (*self.capacity, self.openmetrics_tail if openmetrics else self.text_tail)

    def size(self, openmetrics: bool, compressed: bool) -> int:
        """Length of that body in bytes."""
        return sum(map(len, self.parts(openmetrics, compressed)))

    def body(self, openmetrics: bool, compressed: bool) -> bytes:
        """That body in one piece (a copy: the server writes :meth:`parts` instead)."""
        return b"".join(self.parts(openmetrics, compressed))

    @property
    def text(self) -> bytes:
        """The Prometheus text body in one piece (a copy)."""
        return self.body(openmetrics=False, compressed=False)

    @property
    def openmetrics(self) -> bytes:
        """The OpenMetrics body in one piece (a copy)."""
        return self.body(openmetrics=True, compressed=False)


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class _DateLabels(dict[date, str]):
    """``{date="YYYY-MM-DD`` per date, formatted once."""

    def __missing__(self, day: date) -> str:
        text = self[day] = f'{{date="{day.isoformat()}'
        return text


def _rows(snapshot: Snapshot) -> tuple[list[str], array[float]]:
    """The label set of every row (with the space before the value) and all the values."""
    workspace = _escape(str(snapshot.workspace_id))
    dates = _DateLabels()
    labels: list[str] = []
    values: array[float] = array("d")
    for entity in snapshot.entities:
        tail = (
            f'",entity_id="{entity.entity_id}",entity_type="{_escape(entity.entity_type)}"'
            f',workspace_id="{workspace}"}} '
        )
        labels += [dates[day] + tail for day in entity.days]
        values += entity.values
    return labels, values


def _family(name: str, labels: list[str], column: array[float], factor: float) -> Iterator[str]:
    """One family's samples, ``CHUNK_LINES`` lines per string; absent values skipped."""
    present = set(column)
    if ABSENT in present:
        present.discard(ABSENT)
        mask = list(map(_ZERO.__le__, column))
        labels = list(compress(labels, mask))
        column = array("d", compress(column, mask))
    shown = {value: f"{floatToGoString(value * factor)}\n" for value in present}  # type: ignore[no-untyped-call]
    for start in range(0, len(labels), CHUNK_LINES):
        chunk = labels[start : start + CHUNK_LINES]
        parts = [name] * (3 * len(chunk))
        parts[1::3] = chunk
        parts[2::3] = map(shown.__getitem__, column[start : start + CHUNK_LINES])
        yield "".join(parts)


def render_capacity_chunks(snapshot: Snapshot) -> Iterator[bytes]:
    """The capacity gauge families in exposition text (same bytes in both formats)."""
    labels, values = _rows(snapshot)
    for index, (name, text, factor) in enumerate(CAPACITY_METRICS):
        full = f"{NAMESPACE}_{name}"
        pending = f"# HELP {full} {cached_help(text)}\n# TYPE {full} gauge\n"
        for chunk in _family(full, labels, values[index::WIDTH], factor):
            yield (pending + chunk).encode() if pending else chunk.encode()
            pending = ""
        if pending:
            yield pending.encode()


def render_capacity(snapshot: Snapshot) -> str:
    """The capacity families as one string (tests and tools; the server uses chunks)."""
    return b"".join(render_capacity_chunks(snapshot)).decode()


class _SnapshotInfo(Collector):
    """Entity names and period starts: few series, rendered by prometheus_client."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        if snap.names:
            info = GaugeMetricFamily(
                f"{NAMESPACE}_entity_info",
                cached_help(
                    "Display name of a user or ghost from discovery; the value is always 1"
                ),
                labels=["workspace_id", "entity_type", "entity_id", "name"],
            )
            for (entity_type, entity_id), name in sorted(snap.names.items()):
                info.add_metric([str(snap.workspace_id), entity_type, str(entity_id), name], 1)
            yield info
        if snap.periods:
            starts = GaugeMetricFamily(
                f"{NAMESPACE}_date_start_timestamp_seconds",
                cached_help(
                    "Unix time at which each date (period) of the window starts in the "
                    "configured time zone"
                ),
                labels=["date"],
            )
            for period, start in snap.periods:
                starts.add_metric([period.isoformat()], start)
            yield starts


def _fork(
    compressor: zlib._Compress, pending: list[Future[bytes]], tails: tuple[bytes, bytes]
) -> tuple[bytes, bytes]:
    """Finish the gzip stream once per tail, after the shared chunks (runs last in its queue)."""
    prefix = [future.result() for future in pending]
    text, openmetrics = (
        b"".join((*prefix, fork.compress(tail), fork.flush()))
        for fork, tail in zip((compressor.copy(), compressor), tails, strict=True)
    )
    return text, openmetrics


def render(snapshot: Snapshot, self_metrics: CollectorRegistry) -> Exposition:
    """Render ``snapshot`` and the self-metrics in every served format.

    Returns once the plain bodies are ready. The shared capacity part is gzipped once,
    chunk by chunk in a worker thread while the next chunks render (zlib releases the
    GIL), then the stream is forked per format; :attr:`Exposition.gzip_ready` says when.
    """
    info_registry = CollectorRegistry(auto_describe=False)
    info_registry.register(_SnapshotInfo(snapshot))
    text_tail = generate_latest(info_registry) + generate_latest(self_metrics)
    info_om: bytes = generate_openmetrics(info_registry)  # type: ignore[no-untyped-call]
    self_om: bytes = generate_openmetrics(self_metrics)  # type: ignore[no-untyped-call]
    openmetrics_tail = info_om.removesuffix(EOF_LINE) + self_om
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    capacity: list[bytes] = []
    pending: list[Future[bytes]] = []
    for chunk in render_capacity_chunks(snapshot):
        capacity.append(chunk)
        pending.append(_COMPRESSOR.submit(compressor.compress, chunk))
    # The queue has one worker, so this runs after every chunk above is compressed.
    bodies = _COMPRESSOR.submit(_fork, compressor, pending, (text_tail, openmetrics_tail))
    return Exposition(tuple(capacity), text_tail, openmetrics_tail, bodies)
