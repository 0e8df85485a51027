"""The common pattern, for comparison: ``python -m exporter.bench.common DATA_FILE``.

A ``prometheus_client`` custom collector that builds ``GaugeMetricFamily`` objects from
data held in memory on every scrape, served by ``prometheus_client.start_http_server``
(which renders with ``generate_latest`` per request). It serves the capacity rows the
exporter under test dumped, with the same names, help texts and label order, so its
body is byte-identical to the capacity part of the exporter's body.

Prints ``{"port": N}`` once listening; exits on EOF of stdin.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..exposition import CAPACITY_METRICS, cached_help
from ..selfmetrics import NAMESPACE

LABELS = ["date", "entity_id", "entity_type", "workspace_id"]
Row = tuple[str, int, str, list[float | None]]


class CapacityCollector(Collector):
    """Builds every capacity family anew on each scrape, as typical exporters do."""

    def __init__(self, workspace_id: int, rows: list[Row]) -> None:
        self.workspace_id = str(workspace_id)
        self.rows = rows

    def collect(self) -> Iterator[Metric]:
        """One gauge family per capacity field."""
        families = [
            GaugeMetricFamily(f"{NAMESPACE}_{name}", cached_help(text), labels=LABELS)
            for name, text, _ in CAPACITY_METRICS
        ]
        for entity_type, entity_id, day, values in self.rows:
            labels = [day, str(entity_id), entity_type, self.workspace_id]
            for family, (_, _, factor), value in zip(
                families, CAPACITY_METRICS, values, strict=True
            ):
                if value is not None:
                    family.add_metric(labels, value * factor)
        yield from families


def main(argv: list[str]) -> int:
    """Load the rows, serve them until stdin closes."""
    data = json.loads(Path(argv[0]).read_text())
    rows: list[Row] = [(str(t), int(i), str(d), list(v)) for t, i, d, v in data["rows"]]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CapacityCollector(int(data["workspace_id"]), rows))
    server, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    print(json.dumps({"port": server.server_port}), flush=True)
    sys.stdin.read()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
