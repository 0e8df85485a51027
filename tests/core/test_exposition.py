"""The fast capacity renderer produces exactly what prometheus_client would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.registry import Collector

from exporter.exposition import CAPACITY_METRICS, cached_help, render, render_capacity
from exporter.focus.models import Computation
from exporter.focus.quota import QuotaState
from exporter.selfmetrics import SelfMetrics
from exporter.snapshot import EntityRecord, Snapshot

DAY = date(2026, 1, 5)
VALUES = [480, 0, 37.5, None, 131_040, 0.1, 1e-3, 7]


def snapshot() -> Snapshot:
    entities = []
    for n, entity_type in enumerate(["ghost", "user", "resource_pool"]):
        computations = tuple(
            Computation(
                DAY + timedelta(days=d), tuple(VALUES[(d + i + n) % len(VALUES)] for i in range(6))
            )
            for d in range(5)
        )
        entities.append(EntityRecord(entity_type, 10 + n, 0.0, computations))
    names = {("user", 11): 'Ann "the planner" \\ O\'Neil\nII', ("ghost", 10): "Désirée"}
    periods = tuple((DAY + timedelta(days=d), 1.7e9 + d * 86400) for d in range(5))
    return Snapshot(42, tuple(entities), names, periods, 1.7e9)


class Reference(Collector):
    """The common pattern: GaugeMetricFamily per family, labels in the same order."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        for index, (name, text, factor) in enumerate(CAPACITY_METRICS):
            family = GaugeMetricFamily(
                f"toggl_focus_{name}",
                cached_help(text),
                labels=["workspace_id", "entity_type", "entity_id", "date"],
            )
            for entity in self.snap.entities:
                for computation in entity.computations:
                    raw = computation.values[index]
                    if raw is not None:
                        family.add_metric(
                            [
                                str(self.snap.workspace_id),
                                entity.entity_type,
                                str(entity.entity_id),
                                computation.day.isoformat(),
                            ],
                            raw * factor,
                        )
            yield family


def test_capacity_fast_path_is_byte_identical_to_prometheus_client() -> None:
    snap = snapshot()
    registry = CollectorRegistry()
    registry.register(Reference(snap))
    assert render_capacity(snap).encode() == generate_latest(registry)


def test_openmetrics_output_parses_and_ends_with_eof() -> None:
    metrics = SelfMetrics(lambda: QuotaState(None, None, 0.0))
    exposition = render(snapshot(), metrics.registry)
    text = exposition.openmetrics.decode()
    assert text.endswith("# EOF\n")
    assert text.count("# EOF") == 1
    families = {f.name: f for f in parse_om(text)}
    info = families["toggl_focus_entity_info"]
    names = {s.labels["entity_id"]: s.labels["name"] for s in info.samples}
    assert names["11"] == 'Ann "the planner" \\ O\'Neil\nII'
    assert names["10"] == "Désirée"
    assert len(families["toggl_focus_capacity_working_seconds"].samples) > 0


def test_empty_snapshot_still_renders_self_metrics() -> None:
    metrics = SelfMetrics(lambda: QuotaState(None, None, 0.0))
    exposition = render(Snapshot(1), metrics.registry)
    assert b"toggl_focus_up 0.0" in exposition.text
    assert b"toggl_focus_api_quota_remaining" not in exposition.text
