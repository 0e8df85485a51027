"""The chunked exposition: the same bytes as one piece, gzip forked per format."""

from __future__ import annotations

import gzip
from datetime import date, timedelta

import pytest
from prometheus_client import CollectorRegistry

from exporter import exposition
from exporter.focus.models import Computation
from exporter.snapshot import EntityRecord, Snapshot

DAY = date(2026, 3, 2)


def snapshot(entities: int, days: int) -> Snapshot:
    records = []
    for n in range(entities):
        computations = tuple(
            Computation(
                DAY + timedelta(days=d),
                tuple(None if (n + d + i) % 7 == 0 else float((n * d + i) % 500) for i in range(6)),
            )
            for d in range(days)
        )
        records.append(EntityRecord("user", 100 + n, 0.0, computations))
    periods = tuple((DAY + timedelta(days=d), 1.77e9 + d * 86400) for d in range(days))
    return Snapshot(7, tuple(records), {}, periods, 1.77e9)


def test_chunk_size_does_not_change_the_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    snap = snapshot(40, 9)
    whole = exposition.render(snap, CollectorRegistry())
    monkeypatch.setattr(exposition, "CHUNK_LINES", 5)
    chunked = exposition.render(snap, CollectorRegistry())
    assert len(chunked.capacity) > 6 * 40 * 9 // 5 // 2
    assert len(whole.capacity) == 6  # one chunk per family
    assert chunked.text == whole.text
    assert chunked.openmetrics == whole.openmetrics
    samples = [line for line in chunked.text.splitlines() if line.startswith(b"toggl_focus_cap")]
    assert len(samples) == snap.series_count


def test_gzip_forms_decompress_to_the_plain_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exposition, "CHUNK_LINES", 7)
    rendered = exposition.render(snapshot(25, 5), CollectorRegistry())
    for openmetrics in (False, True):
        (compressed,) = rendered.parts(openmetrics, compressed=True)
        assert gzip.decompress(compressed) == rendered.body(openmetrics, compressed=False)
    assert rendered.gzip_ready
    assert rendered.openmetrics.endswith(b"# EOF\n")
    assert rendered.size(False, False) == len(rendered.text)


def test_empty_snapshot_has_headers_and_valid_gzip() -> None:
    rendered = exposition.render(Snapshot(1), CollectorRegistry())
    assert rendered.text.count(b"# TYPE toggl_focus_capacity_") == len(exposition.CAPACITY_METRICS)
    assert gzip.decompress(rendered.parts(True, True)[0]) == rendered.openmetrics
