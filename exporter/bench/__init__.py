"""Benchmark: ``python -m exporter.bench`` (see docs/performance.md).

Runs the real exporter against the Focus API simulator and compares its scrapes with
the common ``prometheus_client`` pattern and with nginx serving the same bytes.
"""
